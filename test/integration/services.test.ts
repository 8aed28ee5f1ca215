/**
 * The services script as users run it: start is idempotent, and Temporal's
 * state survives a restart (persistent database under .data/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRetrain } from '../../src/temporal';
import { createHarness, expectStartedByScript, services, uniqueId, type Harness } from './harness';

let h: Harness;

beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => {
  await h?.close();
});

describe('scripts/services.sh', () => {
  it('start reuses the running services', async () => {
    const { stdout } = await services('start');
    expect(stdout).toContain(`s3: already running on ${h.config.s3.endpoint} (reused)`);
    expect(stdout).toContain(`temporal: already running on ${h.config.temporalAddress} (reused)`);
    expect(stdout).toContain(`Temporal UI: http://127.0.0.1:${process.env.TEMPORAL_UI_PORT ?? 8233}/namespaces/default/workflows`);
  });

  it('workflow histories survive a restart of the Temporal server', async () => {
    // Only a server this script started can be restarted by it (CI's always is).
    expectStartedByScript('temporal');
    const worker = await h.startWorker();
    const model = `restart-${uniqueId()}`; // no spec: the pipeline fails at once, which is all we need
    const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
    await expect(handle.result()).rejects.toThrow();
    await worker.stop();
    const before = await handle.describe();

    await services('stop', 'temporal');
    const { stdout } = await services('start');
    expect(stdout).toContain(`temporal: started on ${h.config.temporalAddress}`);

    await h.close();
    h = await createHarness();
    const after = await h.client.workflow.getHandle(handle.workflowId, before.runId).describe();
    expect(after.status.name).toBe('FAILED');
    expect(after.historyLength).toBe(before.historyLength);
    expect(after.searchAttributes.PerennialModel).toEqual([model]);
  });
});
