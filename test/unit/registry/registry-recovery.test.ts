/** Registry cases found in review: crash recovery, duplicated runs, later moves of the champion. */
import { describe, expect, it } from 'vitest';
import { Registry } from '../../../src/registry/registry';
import { keys, sha256 } from '../../../src/store';
import { MemoryStore } from '../../../src/store/memory-store';
import { putJson } from '../../../src/store/object-store';
import { MODEL, NOW, testLineage } from './lineage-fixture';

const lineage = testLineage;

describe('Registry recovery', () => {
  it('a retry after a crash between claim and commit finishes the version it claimed', async () => {
    const store = new MemoryStore();
    const registry = new Registry(store);
    // The first attempt claimed v1 and wrote one artifact, then died.
    await putJson(store, keys.versionFile(MODEL, 'v1', 'claim.json'), { runId: 'run-a', at: NOW.toISOString() });
    await store.put(keys.versionFile(MODEL, 'v1', 'model.json'), '{"m":1}');
    const record = await registry.register(MODEL, [{ name: 'model.json', body: Buffer.from('{"m":1}') }], lineage('run-a'), NOW);
    expect(record.version).toBe('v1');
    expect(await registry.listVersions(MODEL)).toEqual(['v1']);
    expect((await store.list(keys.versions(MODEL))).some((o) => o.key.includes('/v2/'))).toBe(false);
  });

  it('another run skips a folder claimed by a crashed run', async () => {
    const store = new MemoryStore();
    const registry = new Registry(store);
    await putJson(store, keys.versionFile(MODEL, 'v1', 'claim.json'), { runId: 'run-a', at: NOW.toISOString() });
    const record = await registry.register(MODEL, [{ name: 'model.json', body: Buffer.from('x') }], lineage('run-b'), NOW);
    expect(record.version).toBe('v2');
  });

  it('two attempts of one run racing with different bytes leave a version whose checksums hold', async () => {
    const store = new MemoryStore();
    const registry = new Registry(store);
    const [a, b] = await Promise.all([
      registry.register(MODEL, [{ name: 'weights.bin', body: Buffer.from('attempt one') }], lineage('run-a'), NOW),
      registry.register(MODEL, [{ name: 'weights.bin', body: Buffer.from('attempt two') }], lineage('run-a'), NOW),
    ]);
    expect(a.version).toBe('v1');
    expect(b.version).toBe('v1');
    const { artifacts, lineage: stored } = await registry.loadArtifacts(MODEL, 'v1');
    expect(sha256(artifacts.get('weights.bin')!)).toBe(stored.artifacts[0]!.sha256);
  });

  it('revertPromotion leaves the champion alone when it was moved again after this promotion', async () => {
    const store = new MemoryStore();
    const registry = new Registry(store);
    await registry.promote(MODEL, 'v1', 'A', NOW);
    await registry.promote(MODEL, 'v2', 'X', NOW);
    await registry.promote(MODEL, 'v3', 'Y', NOW);
    await registry.promote(MODEL, 'v2', 'Z', NOW); // v2 again, by someone else
    const after = await registry.revertPromotion(MODEL, 'v2', 'X', NOW);
    expect(after.champion).toBe('v2');
    expect(after.previous).toBe('v3');
    expect(after.history.at(-1)!.by).toBe('Z');
  });
});
