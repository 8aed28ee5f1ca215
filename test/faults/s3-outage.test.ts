/**
 * The S3 server goes away for 60 s in the middle of runs, as a store outage
 * would. One outage, three runs, each meeting it at a different stage: one
 * starts during the outage (ingest), one is at register and one at promote
 * when the store goes. The stage that meets it retries with backoff for the
 * retry budget, and each run ends as if nothing happened — one version,
 * promoted once, every row in it, nothing left behind.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { PromoteInput, RegisterInput } from '../../activities/types';
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { createHarness, expectStartedByScript, services, uniqueId, type Harness } from '../integration/harness';
import { attemptsByActivity, expectOneCleanPromotion, OUTAGE_MS } from './faults';

let h: Harness;

beforeAll(async () => {
  expectStartedByScript('s3');
  h = await createHarness();
});

afterAll(async () => {
  await services('start'); // whatever happened, leave S3 running for the next file
  await h?.close();
});

/** A promise settled from outside, for lining the runs up at their stages. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/** Waits for `until` while heartbeating, as a live activity does (register's heartbeat timeout is 10 s). */
async function waitHeartbeating(until: Promise<void>): Promise<void> {
  let done = false;
  void until.then(() => (done = true));
  while (!done) {
    Context.current().heartbeat();
    await sleep(500);
  }
}

describe('a 60 s S3 outage in the middle of runs', { timeout: 400_000 }, () => {
  it('during ingest, during register and during promote: each stage retries until the store is back, and each run promotes one version with every row', async () => {
    const id = uniqueId();
    const models = { ingest: `outage-ingest-${id}`, register: `outage-register-${id}`, promote: `outage-promote-${id}` };
    for (const model of Object.values(models)) await bootstrapWeather(h.store, { model });
    const real = createPipelineActivities(h.deps);
    const atRegister = gate();
    const atPromote = gate();
    const storeDown = gate();
    const worker = await h.startWorker({
      activityOverrides: {
        // The first attempt of each waits at the start of its stage until the store is down, then does its real work.
        register: async (input: RegisterInput) => {
          if (input.model === models.register && Context.current().info.attempt === 1) {
            atRegister.open();
            await waitHeartbeating(storeDown.promise);
          }
          return real.register(input);
        },
        promote: async (input: PromoteInput) => {
          if (input.model === models.promote && Context.current().info.attempt === 1) {
            atPromote.open();
            await storeDown.promise;
          }
          return real.promote(input);
        },
      },
    });
    try {
      const atRegisterRun = await startRetrain(h.client, h.config, { model: models.register, trigger: 'manual' });
      const atPromoteRun = await startRetrain(h.client, h.config, { model: models.promote, trigger: 'manual' });
      await Promise.all([atRegister.promise, atPromote.promise]);

      await services('stop', 's3');
      const stoppedAt = Date.now();
      storeDown.open();
      const duringIngestRun = await startRetrain(h.client, h.config, { model: models.ingest, trigger: 'manual' });
      await sleep(OUTAGE_MS);
      await services('start');
      const outage = (Date.now() - stoppedAt) / 1000;

      const runs = { ingest: duringIngestRun, register: atRegisterRun, promote: atPromoteRun };
      const figures: string[] = [];
      for (const [stage, run] of Object.entries(runs)) {
        const result = await run.handle.result();
        expect(result, `${stage}: ${result.message}`).toMatchObject({ outcome: 'promoted', version: 'v1' });
        expect((await attemptsByActivity(h, run.workflowId)).get(stage), stage).toBeGreaterThan(1);
        await expectOneCleanPromotion(h, models[stage as keyof typeof models]);
        const { closeTime } = await run.handle.describe();
        figures.push(`${stage}: run ended ${((closeTime!.getTime() - stoppedAt) / 1000).toFixed(1)} s after the store went down`);
      }
      console.info(`s3 outage of ${outage.toFixed(1)} s; ${figures.join('; ')}`);
    } finally {
      await worker.stop();
    }
  });
});
