/**
 * The worker program SIGKILLed during each stage in turn. Nine runs, one per
 * activity of the pipeline, go through a worker process that holds each run at
 * its activity once the real work is done (holding-worker.ts; every batch of
 * validateBatch, every part of snapshotPart); one SIGKILL then takes all
 * nine down at once, with their results unreported. The real worker
 * program is started again: each stage is retried once its heartbeat (or, for
 * promote, its start-to-close) timeout passes, meets what the first attempt
 * wrote, and every run ends as if nothing had happened — one version,
 * promoted once, every row, no leftovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { createHarness, uniqueId, waitFor, type Harness } from '../integration/harness';
import { activityCompletedAt, attemptsByActivity, expectOneCleanPromotion, startProgram } from './faults';
import { KILL_STAGES, killModel, type KillStage } from './holding-worker';

let h: Harness;
const programs: ReturnType<typeof startProgram>[] = [];

beforeAll(async () => {
  h = await createHarness();
});

afterAll(async () => {
  for (const p of programs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await h?.close();
});

describe('the worker program SIGKILLed during each stage', { timeout: 420_000 }, () => {
  it('every stage is retried after its timeout, and each run promotes exactly one version with every row and no leftovers', async () => {
    const id = uniqueId();
    const modelOf = (stage: KillStage) => killModel(stage, id);
    for (const stage of KILL_STAGES) await bootstrapWeather(h.store, { model: modelOf(stage) });

    const holding = startProgram(h, 'test/faults/holding-worker.ts');
    programs.push(holding);
    await waitFor(
      'the holding worker',
      () => holding.output.includes('holding worker: ready'),
      120,
      () => holding.output,
    );
    const startedAt = Date.now();
    const runs = await Promise.all(KILL_STAGES.map((stage) => startRetrain(h.client, h.config, { model: modelOf(stage), trigger: 'manual' })));
    const held = (stage: KillStage) => holding.output.includes(`held ${stage} ${modelOf(stage)}`);
    await waitFor(
      'every stage to be held',
      () => KILL_STAGES.every(held),
      300,
      () => holding.output,
    );

    // Crash: every held stage dies with its result unreported.
    holding.kill('SIGKILL');
    await new Promise((resolve) => holding.once('exit', resolve));
    const killedAt = Date.now();
    const worker = startProgram(h, 'src/worker/main.ts');
    programs.push(worker);

    await waitFor(
      'the worker program',
      () => worker.output.includes('(heavy work)'),
      120,
      () => worker.output,
    );
    const results = await Promise.all(runs.map((run) => run.handle.result()));
    const doneAt = Date.now();
    const figures: string[] = [];
    for (const [i, stage] of KILL_STAGES.entries()) {
      const model = modelOf(stage);
      expect(results[i], `${stage}: ${results[i]?.message}`).toMatchObject({ outcome: 'promoted', version: 'v1' });
      // The killed stage ran exactly twice: the attempt that died and the one that finished.
      expect((await attemptsByActivity(h, runs[i]!.workflowId)).get(stage), stage).toBe(2);
      await expectOneCleanPromotion(h, model);
      const recoveredAt = await activityCompletedAt(h, runs[i]!.workflowId, stage);
      figures.push(`${stage} ${((recoveredAt!.getTime() - killedAt) / 1000).toFixed(1)} s`);
    }
    console.info(
      `worker SIGKILL: all nine stages held ${((killedAt - startedAt) / 1000).toFixed(1)} s after the starts; ` +
        `every run done ${((doneAt - killedAt) / 1000).toFixed(1)} s after the kill; ` +
        `kill to the stage's completion on the restarted worker: ${figures.join(', ')}`,
    );
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker.once('exit', resolve));
  });
});
