/**
 * The worker program as users run it (a separate process), killed with
 * SIGKILL in the middle of training: a new worker resumes the training from
 * its last checkpoint in S3 and the pipeline ends with exactly one version.
 * Meanwhile, training in a child process leaves the worker free to answer
 * queries and keep heartbeating.
 */
import type { ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultPayloadConverter } from '@temporalio/common';
import type { WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishSpec } from '../../src/spec';
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { pipelineStatusQuery } from '../../workflows/definitions';
import { startProgram } from '../faults/faults';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
const model = `resume-${uniqueId()}`;
const EPOCHS = 400;
const workers: ChildProcess[] = [];

function startWorkerProcess(): ChildProcess & { output: string } {
  const child = startProgram(h, 'src/worker/main.ts');
  workers.push(child);
  return child;
}

interface TrainHeartbeat {
  epoch: number;
  checkpointKey: string;
}

async function trainingHeartbeat(handle: WorkflowHandle): Promise<{ epoch: number; at: number } | null> {
  const { raw } = await handle.describe();
  const train = raw.pendingActivities?.find((a) => a.activityType?.name === 'train');
  const payload = train?.heartbeatDetails?.payloads?.[0];
  if (!payload) return null;
  const details = defaultPayloadConverter.fromPayload<TrainHeartbeat>(payload);
  return { epoch: details.epoch, at: Number(train.lastHeartbeatTime?.seconds ?? 0) };
}

beforeAll(async () => {
  h = await createHarness();
  const { spec } = await bootstrapWeather(h.store, { model });
  // Long enough training to be killed in the middle of it: 400 epochs are about 25 s on a quiet 2-core machine
  // (the checks before the kill take up to 12 s) and three times that while the other test projects run.
  await publishSpec(h.store, { ...spec, model: { ...spec.model, epochs: EPOCHS, batchSize: 32 } });
});

afterAll(async () => {
  for (const w of workers) if (w.exitCode === null) w.kill('SIGKILL');
  await h?.close();
});

describe('worker killed during training', () => {
  it(
    'answers queries and heartbeats while training, then resumes from the checkpoint after a kill, with exactly one version',
    { timeout: 300_000 },
    async () => {
      const first = startWorkerProcess();
      const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });

      // Wait until training has checkpointed a few epochs.
      let beat: { epoch: number; at: number } | null = null;
      for (let i = 0; i < 240 && !(beat && beat.epoch >= 1); i++) {
        await sleep(500);
        beat = await trainingHeartbeat(handle);
      }
      expect(beat?.epoch).toBeGreaterThanOrEqual(1);

      // While the training child runs, the worker's event loop answers queries
      // (each is a workflow task) and heartbeats keep flowing.
      for (let i = 0; i < 5; i++) {
        const status = await handle.query(pipelineStatusQuery);
        expect(status.stage).toBe('train');
        await sleep(300);
      }
      // The SDK sends heartbeats to the server at most every 80% of the heartbeat timeout (8 s).
      let later = await trainingHeartbeat(handle);
      for (let i = 0; i < 40 && later!.epoch === beat!.epoch; i++) {
        await sleep(500);
        later = await trainingHeartbeat(handle);
      }
      expect(later!.epoch).toBeGreaterThan(beat!.epoch);

      // Crash: no graceful shutdown, no chance to report.
      const trainingPid = Number(/\(heavy work\).*; pid (\d+)/.exec(first.output)![1]);
      first.kill('SIGKILL');
      await new Promise((resolve) => first.once('exit', resolve));
      // Its training process (and the training child under it) notice and exit: no orphan keeps the task.
      const alive = () => {
        try {
          process.kill(trainingPid, 0);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 40 && alive(); i++) await sleep(250);
      expect(alive()).toBe(false);
      const killedAt = (await trainingHeartbeat(handle))!.epoch;

      startWorkerProcess();
      const result = await handle.result();
      expect(result.outcome).toBe('promoted');
      expect(result.version).toBe('v1');
      expect(await h.registry.listVersions(model)).toEqual(['v1']);
      const lineage = (await h.registry.getLineage(model, 'v1'))!;
      expect(lineage.training!.resumedFromEpoch).toBeGreaterThanOrEqual(killedAt);
      expect(lineage.training!.epochs).toBe(EPOCHS);
      // The train activity ran twice (the first attempt died with its worker).
      const history = await handle.fetchHistory();
      const trainStarts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! >= 1);
      expect(trainStarts.some((e) => e.activityTaskStartedEventAttributes!.attempt! >= 2)).toBe(true);
    },
  );
});

describe('worker program', () => {
  it('stops gracefully on SIGTERM and SIGINT', async () => {
    // Two workers at once, one per signal.
    const signals = ['SIGTERM', 'SIGINT'] as const;
    const started = signals.map(() => startWorkerProcess());
    await Promise.all(
      signals.map(async (signal, i) => {
        const worker = started[i]!;
        for (let k = 0; k < 160 && !worker.output.includes('(heavy work)'); k++) await sleep(250);
        expect(worker.output).toMatch(/task queue 'perennial-test-[0-9a-f]+' \(workflows, light activities\)/);
        expect(worker.output).toMatch(/task queue 'perennial-test-[0-9a-f]+-training' \(heavy work\); tfjs backend (tensorflow|wasm|cpu)/);
        const exited = new Promise((resolve) => worker.once('exit', resolve));
        worker.kill(signal);
        expect(await exited, signal).toBe(0);
        expect(worker.output).toContain('perennial worker: stopped');
      }),
    );
  });
});
