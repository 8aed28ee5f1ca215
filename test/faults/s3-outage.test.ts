/**
 * The S3 server goes away for 60 s in the middle of a run, as a store outage
 * would: the stage that meets it retries with backoff for the retry budget,
 * and the run ends as if nothing happened — one version, promoted once,
 * every row in it, nothing left in staging.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { RegisterInput } from '../../activities/types';
import { bootstrapWeather } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { createHarness, uniqueId, type Harness } from '../integration/harness';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTAGE_MS = 60_000;

let h: Harness;

const stopS3 = () => run('bash', ['scripts/services.sh', 'stop', 's3'], { cwd: ROOT });
const startS3 = () => run('bash', ['scripts/services.sh', 'start'], { cwd: ROOT });

/** Stops S3 now; `back` settles once it has been started again, after the outage. */
async function outage(): Promise<{ back: Promise<void> }> {
  await stopS3();
  const stoppedAt = Date.now();
  const back = sleep(OUTAGE_MS).then(async () => {
    await startS3();
    console.info(`s3 outage: ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
  });
  return { back };
}

/** How many attempts each activity type took in a run, from its history. */
async function attempts(workflowId: string): Promise<Map<string, number>> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const typeBySchedule = new Map<string, string>();
  const out = new Map<string, number>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeBySchedule.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeBySchedule.get(String(started.scheduledEventId)) ?? '?';
      out.set(type, Math.max(out.get(type) ?? 0, started.attempt ?? 1));
    }
  }
  return out;
}

beforeAll(async () => {
  // Only a server this script started can be stopped by it (CI's always is).
  expect(existsSync(`${ROOT}.data/run/s3.pid`), 'S3 was not started by scripts/services.sh').toBe(true);
  h = await createHarness();
});

afterAll(async () => {
  await startS3(); // whatever happened, leave S3 running for the next file
  await h?.close();
});

describe('a 60 s S3 outage in the middle of a run', { timeout: 300_000 }, () => {
  it('during ingest: ingest retries until the store is back, and the run promotes one version with every row', async () => {
    const model = `outage-ingest-${uniqueId()}`;
    await bootstrapWeather(h.store, { model });
    const worker = await h.startWorker();
    try {
      const { back } = await outage();
      const { handle, workflowId } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
      const result = await handle.result();
      await back;
      expect(result.outcome).toBe('promoted');
      expect(await h.registry.listVersions(model)).toEqual(['v1']);
      const lineage = (await h.registry.getLineage(model, 'v1'))!;
      expect(lineage.data.rows).toBe(1461); // 2012-2015: nothing lost
      expect((await attempts(workflowId)).get('ingest')).toBeGreaterThan(1);
      expect(await h.store.list(keys.staging(model, lineage.workflow.runId))).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it('during register: register retries, and exactly one version is registered and promoted once', async () => {
    const model = `outage-register-${uniqueId()}`;
    await bootstrapWeather(h.store, { model });
    const real = createPipelineActivities(h.deps);
    let back: Promise<void> | undefined;
    const worker = await h.startWorker({
      activityOverrides: {
        // The store goes down just as register begins (first attempt only); the real register meets the outage.
        register: async (input: RegisterInput) => {
          back ??= (await outage()).back;
          return real.register(input);
        },
      },
    });
    try {
      const { handle, workflowId } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
      const result = await handle.result();
      await back;
      expect(result.outcome).toBe('promoted');
      expect((await attempts(workflowId)).get('register')).toBeGreaterThan(1);
      expect(await h.registry.listVersions(model)).toEqual(['v1']);
      const aliases = await h.registry.getAliases(model);
      expect(aliases.history.map((e) => `${e.action}:${e.from}->${e.to}`)).toEqual(['promote:null->v1']);
      expect((await h.registry.getLineage(model, 'v1'))!.data.rows).toBe(1461);
    } finally {
      await worker.stop();
    }
  });
});
