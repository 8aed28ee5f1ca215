/**
 * The Temporal server goes away for 60 s while a run trains, as a cluster
 * outage or an upgrade would: the worker keeps trying to reach it, the run's
 * state survives in the server's database, and the run ends as if nothing
 * happened — one version, promoted once, every row in it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { publishSpec } from '../../src/spec';
import { startRetrain } from '../../src/temporal';
import { pipelineStatusQuery } from '../../workflows/definitions';
import { createHarness, expectStartedByScript, services, uniqueId, type Harness } from '../integration/harness';
import { expectOneCleanPromotion, OUTAGE_MS } from './faults';

let h: Harness;

beforeAll(async () => {
  expectStartedByScript('temporal');
  h = await createHarness();
});

afterAll(async () => {
  await services('start'); // leave Temporal running for the next file
  await h?.close();
});

describe('a 60 s Temporal outage in the middle of a run', { timeout: 400_000 }, () => {
  it('during training: the run survives in the server and ends promoted with one version', async () => {
    const model = `outage-temporal-${uniqueId()}`;
    const { spec } = await bootstrapWeather(h.store, { model });
    // Long enough training that the outage falls inside it.
    await publishSpec(h.store, { ...spec, model: { ...spec.model, epochs: 150 } });
    const worker = await h.startWorker();
    try {
      const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
      for (let i = 0; i < 240; i++) {
        const status = await handle.query(pipelineStatusQuery);
        if (status.stage === 'train') break;
        await sleep(250);
      }
      expect((await handle.query(pipelineStatusQuery)).stage).toBe('train');
      await services('stop', 'temporal');
      await sleep(OUTAGE_MS);
      const { stdout } = await services('start');
      expect(stdout).toMatch(/temporal: started/);
      const result = await handle.result();
      expect(result.outcome).toBe('promoted');
      await expectOneCleanPromotion(h, model);
    } finally {
      await worker.stop();
    }
  });
});
