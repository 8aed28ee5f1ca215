/**
 * The S3 server goes away for 60 s in the middle of a run, as a store outage
 * would: the stage that meets it retries with backoff for the retry budget,
 * and the run ends as if nothing happened — one version, promoted once,
 * every row in it, nothing left in staging.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { RegisterInput } from '../../activities/types';
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { createHarness, expectStartedByScript, services, uniqueId, type Harness } from '../integration/harness';
import { attemptsByActivity, expectOneCleanPromotion } from './faults';

const OUTAGE_MS = 60_000;

let h: Harness;

/** Stops S3 now; `back` settles once it has been started again, after the outage. */
async function outage(): Promise<{ back: Promise<void> }> {
  await services('stop', 's3');
  const stoppedAt = Date.now();
  const back = sleep(OUTAGE_MS).then(async () => {
    await services('start');
    console.info(`s3 outage: ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s`);
  });
  return { back };
}

beforeAll(async () => {
  expectStartedByScript('s3');
  h = await createHarness();
});

afterAll(async () => {
  await services('start'); // whatever happened, leave S3 running for the next file
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
      expect((await attemptsByActivity(h, workflowId)).get('ingest')).toBeGreaterThan(1);
      await expectOneCleanPromotion(h, model);
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
      expect((await attemptsByActivity(h, workflowId)).get('register')).toBeGreaterThan(1);
      await expectOneCleanPromotion(h, model);
    } finally {
      await worker.stop();
    }
  });
});
