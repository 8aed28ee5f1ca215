/**
 * Artifacts changed or damaged in the store after they were written: a model
 * version whose weights no longer match their sha256, a training snapshot cut
 * short. The run that meets one fails at once (no retry can fix it), names the
 * key and the reason, and the champion stays; restoring the bytes heals it.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import type { RetrainResult } from '../../workflows/definitions';
import { createHarness, uniqueId, type Harness } from '../integration/harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `corrupt-${uniqueId()}`;

async function retrain(trigger: string, force = false): Promise<RetrainResult> {
  const { handle } = await startRetrain(h.client, h.config, { model, trigger, force });
  return handle.result();
}

/** The failure of a run that was expected to fail: its error type and message, and how many attempts the failing activity took. */
async function failure(trigger: string, force = false): Promise<{ type: string | undefined; message: string; attempts: number }> {
  const { handle, workflowId } = await startRetrain(h.client, h.config, { model, trigger, force });
  const error = await handle.result().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, 'the run was expected to fail').toBeInstanceOf(WorkflowFailedError);
  const cause = (error as WorkflowFailedError).cause?.cause as (Error & { type?: string }) | undefined;
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  let attempts = 0;
  for (const event of history.events ?? []) attempts = Math.max(attempts, event.activityTaskStartedEventAttributes?.attempt ?? 0);
  return { type: cause?.type, message: cause?.message ?? '', attempts };
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model });
  expect((await retrain('manual')).outcome).toBe('promoted');
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('corrupted artifacts', () => {
  it("a champion's weights that no longer match their sha256: the run fails at once naming the key, the champion stays", async () => {
    const key = keys.versionFile(model, 'v1', 'weights.bin');
    const original = await h.store.get(key);
    await h.store.put(key, Buffer.concat([original.subarray(0, original.length - 4), Buffer.from([1, 2, 3, 4])]));
    try {
      const { type, message, attempts } = await failure('tampered', true);
      expect(type).toBe('ChecksumMismatchError');
      expect(message).toContain(`checksum mismatch for ${key}`);
      expect(message).toContain('refusing to load it');
      expect(attempts).toBe(1); // no retry for what no retry can fix
      expect((await h.registry.getAliases(model)).champion).toBe('v1');
      expect(await h.registry.listVersions(model)).toEqual(['v1']);
    } finally {
      await h.store.put(key, original);
    }
    // With the bytes restored the same forced run trains and is evaluated against v1 again.
    expect(['promoted', 'rejected']).toContain((await retrain('restored', true)).outcome);
  });

  it('a training snapshot cut short is refused, not trained on: the run names the snapshot, the champion stays', async () => {
    const champion = (await h.registry.getAliases(model)).champion!;
    const lineage = (await h.registry.getLineage(model, champion))!;
    const original = await h.store.get(lineage.data.snapshotKey);
    await h.store.put(lineage.data.snapshotKey, original.subarray(0, Math.floor(original.length / 2)));
    // New data, so the run merges the champion's snapshot with it.
    await bootstrapWeather(h.store, { model, location: 'New York', years: [2012] });
    try {
      const { type, message, attempts } = await failure('truncated');
      expect(type).toBe('ChecksumMismatchError');
      expect(message).toContain(`checksum mismatch for ${lineage.data.snapshotKey}`);
      expect(attempts).toBe(1);
      expect((await h.registry.getAliases(model)).champion).toBe(champion);
    } finally {
      await h.store.put(lineage.data.snapshotKey, original);
    }
    // Restored, the new batch is merged in: nothing was lost.
    const healed = await retrain('healed');
    expect(['promoted', 'rejected']).toContain(healed.outcome);
    expect(healed.stages.find((s) => s.stage === 'snapshot')?.detail).toMatch(/^1827 rows/); // 1,461 + 366 (2012 is a leap year)
  });
});
