import { describe, expect, it } from 'vitest';
import { ChampionMovedError, RollbackRefusedError } from '../../../src/errors';
import { ChecksumMismatchError, Registry, versionNumber } from '../../../src/registry/registry';
import type { Aliases } from '../../../src/registry/types';
import { keys } from '../../../src/store/keys';
import { MemoryStore } from '../../../src/store/memory-store';
import { MODEL, NOW, testArtifacts, testLineage } from './lineage-fixture';
import { PreconditionFailedError, type PutOptions } from '../../../src/store/object-store';

const lineage = testLineage;
const artifacts = testArtifacts;

function setup() {
  const store = new MemoryStore();
  return { store, registry: new Registry(store) };
}

describe('MemoryStore conditional writes', () => {
  it('ifNoneMatch creates once, then refuses', async () => {
    const store = new MemoryStore();
    await store.put('k', 'one', { ifNoneMatch: true });
    await expect(store.put('k', 'two', { ifNoneMatch: true })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await store.get('k')).toString()).toBe('one');
  });

  it('ifMatch writes only over the ETag it names', async () => {
    const store = new MemoryStore();
    const { etag } = await store.put('k', 'one');
    const second = await store.put('k', 'two', { ifMatch: etag });
    expect(second.etag).not.toBe(etag);
    await expect(store.put('k', 'three', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    await expect(store.put('absent', 'x', { ifMatch: etag })).rejects.toBeInstanceOf(PreconditionFailedError);
    expect((await store.get('k')).toString()).toBe('two');
  });

  it('returns copies, lists by prefix in key order, and names a missing key', async () => {
    const store = new MemoryStore();
    await store.put('a/2', 'x');
    await store.put('a/1', 'y');
    await store.put('b/1', 'z');
    const body = await store.get('a/1');
    body.write('Q');
    expect((await store.get('a/1')).toString()).toBe('y');
    expect((await store.list('a/')).map((o) => o.key)).toEqual(['a/1', 'a/2']);
    await expect(store.get('nope')).rejects.toThrow("no object 'nope' in memory");
    expect(await store.getIfExists('nope')).toBeNull();
  });
});

describe('versionNumber', () => {
  it('reads vN, NaN otherwise', () => {
    expect(versionNumber('v12')).toBe(12);
    expect(versionNumber('12')).toBeNaN();
    expect(versionNumber('v1a')).toBeNaN();
  });
});

describe('Registry.register', () => {
  it('assigns v1 then v2 and records lineage with time and artifacts', async () => {
    const { registry } = setup();
    const a = await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    const b = await registry.register(MODEL, artifacts(), lineage('run-b'), NOW);
    expect([a.version, b.version]).toEqual(['v1', 'v2']);
    expect(a.createdAt).toBe('2026-11-26T12:00:00.000Z');
    expect(a.workflow.runId).toBe('run-a');
    expect(await registry.listVersions(MODEL)).toEqual(['v1', 'v2']);
    expect(await registry.getLineage(MODEL, 'v2')).toEqual(b);
    expect(await registry.listModels()).toEqual([MODEL]);
  });

  it('records each artifact with its key, sha256 and size', async () => {
    const { registry, store } = setup();
    const v = await registry.register(MODEL, [{ name: 'weights.bin', body: Buffer.from('hello') }], lineage('run-a'), NOW);
    expect(v.artifacts).toEqual([
      {
        name: 'weights.bin',
        key: 'models/weather/versions/v1/weights.bin',
        // sha256("hello"), a well-known value
        sha256: '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824',
        bytes: 5,
      },
    ]);
    expect((await store.get('models/weather/versions/v1/weights.bin')).toString()).toBe('hello');
  });

  it('returns the same version for a retry with the same run id and writes nothing', async () => {
    const { registry, store } = setup();
    const first = await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    const before = await store.list('');
    const again = await registry.register(MODEL, artifacts('different bytes'), lineage('run-a'), new Date('2026-11-27T00:00:00Z'));
    expect(again).toEqual(first);
    const after = await store.list('');
    expect(after.map((o) => [o.key, o.etag])).toEqual(before.map((o) => [o.key, o.etag]));
    expect(await registry.listVersions(MODEL)).toEqual(['v1']);
  });

  it('a retry whose run already registered does not collect the bundle again (its staging is gone)', async () => {
    const { registry } = setup();
    const first = await registry.register(MODEL, async () => artifacts(), lineage('run-a'), NOW);
    const again = await registry.register(MODEL, () => Promise.reject(new Error('staging was cleared by the first attempt')), lineage('run-a'), NOW);
    expect(again).toEqual(first);
  });

  it('gives distinct versions to different runs racing', async () => {
    // Counts lost create-once writes, to show the runs really raced for a number.
    class CountingStore extends MemoryStore {
      lostClaims = 0;
      override async put(key: string, body: Buffer | string, options?: PutOptions) {
        try {
          return await super.put(key, body, options);
        } catch (error) {
          if (error instanceof PreconditionFailedError && key.endsWith('/claim.json')) this.lostClaims += 1;
          throw error;
        }
      }
    }
    const store = new CountingStore();
    const registry = new Registry(store);
    const results = await Promise.all(['run-a', 'run-b', 'run-c'].map((run) => registry.register(MODEL, artifacts(run), lineage(run), NOW)));
    expect(results.map((r) => r.version).sort()).toEqual(['v1', 'v2', 'v3']);
    for (const r of results) {
      const stored = await registry.getLineage(MODEL, r.version);
      expect(stored?.workflow.runId).toBe(r.workflow.runId);
      // each version holds its own run's bytes
      const loaded = await registry.loadArtifacts(MODEL, r.version);
      expect(loaded.artifacts.get('weights.bin')?.toString()).toBe(r.workflow.runId);
    }
    expect(await registry.listVersions(MODEL)).toEqual(['v1', 'v2', 'v3']);
    expect(store.lostClaims).toBeGreaterThan(0);
  });

  it('gives one version to a duplicated delivery of the same run racing itself', async () => {
    const { registry } = setup();
    const [a, b] = await Promise.all([
      registry.register(MODEL, artifacts(), lineage('run-a'), NOW),
      registry.register(MODEL, artifacts(), lineage('run-a'), NOW),
    ]);
    expect(a.version).toBe('v1');
    expect(b.version).toBe('v1');
    expect(await registry.listVersions(MODEL)).toEqual(['v1']);
  });

  it('lists versions in numeric order (v2 before v10)', async () => {
    const { registry } = setup();
    for (let i = 1; i <= 11; i++) await registry.register(MODEL, artifacts(), lineage(`run-${i}`), NOW);
    const versions = await registry.listVersions(MODEL);
    expect(versions).toEqual(['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v11']);
    expect((await registry.findByRun(MODEL, 'run-10'))?.version).toBe('v10');
    expect(await registry.findByRun(MODEL, 'run-unknown')).toBeNull();
  });

  it('keeps models apart', async () => {
    const { registry } = setup();
    await registry.register('weather', artifacts(), lineage('run-a'), NOW);
    const other = await registry.register('flights', artifacts(), { ...lineage('run-a'), model: 'flights' }, NOW);
    expect(other.version).toBe('v1');
    expect(await registry.listModels()).toEqual(['flights', 'weather']);
  });
});

describe('Registry.loadArtifacts', () => {
  it('returns the artifacts whose bytes match their sha256', async () => {
    const { registry } = setup();
    await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    const { lineage: l, artifacts: loaded } = await registry.loadArtifacts(MODEL, 'v1');
    expect(l.version).toBe('v1');
    expect([...loaded.keys()]).toEqual(['model.json', 'weights.bin']);
    expect(loaded.get('model.json')?.toString()).toBe('{"layers":2}');
  });

  it('throws ChecksumMismatchError naming the object after it was changed in the store', async () => {
    const { registry, store } = setup();
    const v = await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    await store.put('models/weather/versions/v1/weights.bin', Buffer.from('tampered'));
    const error = await registry.loadArtifacts(MODEL, 'v1').catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as Error).message).toContain('models/weather/versions/v1/weights.bin');
    expect((error as Error).message).toContain(v.artifacts[1]!.sha256);
  });

  it('says which model and version are missing', async () => {
    const { registry } = setup();
    await expect(registry.loadArtifacts(MODEL, 'v9')).rejects.toThrow("model 'weather' has no version 'v9' in the registry (memory)");
  });
});

describe('Registry.unregister', () => {
  it("removes only the run's own version", async () => {
    const { registry, store } = setup();
    await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    await registry.register(MODEL, artifacts(), lineage('run-b'), NOW);
    expect(await registry.unregister(MODEL, 'v2', 'run-a')).toBe(false);
    expect(await registry.listVersions(MODEL)).toEqual(['v1', 'v2']);
    expect(await registry.unregister(MODEL, 'v2', 'run-b')).toBe(true);
    expect(await registry.listVersions(MODEL)).toEqual(['v1']);
    expect(await store.list(keys.version(MODEL, 'v2'))).toEqual([]);
    expect((await store.list(keys.version(MODEL, 'v1'))).length).toBeGreaterThan(0);
  });

  it('refuses to remove the champion or the canary', async () => {
    const { registry } = setup();
    await registry.register(MODEL, artifacts(), lineage('run-a'), NOW);
    await registry.register(MODEL, artifacts(), lineage('run-b'), NOW);
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    await expect(registry.unregister(MODEL, 'v1', 'run-a')).rejects.toThrow('refusing to remove weather/v1: it is still the champion');
    await registry.updateAliases(MODEL, (a) => ({ ...a, canary: 'v2', canaryWeight: 0.1 }));
    await expect(registry.unregister(MODEL, 'v2', 'run-b')).rejects.toThrow('refusing to remove weather/v2: it is still the canary');
    expect(await registry.listVersions(MODEL)).toEqual(['v1', 'v2']);
  });

  it('returns false for a version that does not exist', async () => {
    const { registry } = setup();
    expect(await registry.unregister(MODEL, 'v3', 'run-a')).toBe(false);
  });

  it('cleans up a claimed, never committed version of the same run', async () => {
    const store = new (class extends MemoryStore {
      override async put(key: string, body: Buffer | string, options?: PutOptions) {
        if (key.endsWith('/lineage.json')) throw new Error('connection reset');
        return super.put(key, body, options);
      }
    })();
    const registry = new Registry(store);
    await expect(registry.register(MODEL, artifacts(), lineage('run-a'), NOW)).rejects.toThrow('connection reset');
    expect((await store.list(keys.version(MODEL, 'v1'))).length).toBeGreaterThan(0);
    expect(await registry.unregister(MODEL, 'v1', 'run-b')).toBe(false);
    expect(await registry.unregister(MODEL, 'v1', 'run-a')).toBe(true);
    expect(await store.list(keys.versions(MODEL))).toEqual([]);
  });
});

describe('Registry aliases', () => {
  it('starts empty', async () => {
    const { registry } = setup();
    expect(await registry.getAliases(MODEL)).toEqual({ model: MODEL, champion: null, previous: null, canary: null, canaryWeight: 0, history: [] });
  });

  it('promote sets champion and previous and records history', async () => {
    const { registry } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW, 'first model');
    const a = await registry.promote(MODEL, 'v2', 'run-b', NOW);
    expect(a.champion).toBe('v2');
    expect(a.previous).toBe('v1');
    expect(a.history).toEqual([
      { at: NOW.toISOString(), action: 'promote', from: null, to: 'v1', by: 'run-a', reason: 'first model' },
      { at: NOW.toISOString(), action: 'promote', from: 'v1', to: 'v2', by: 'run-b' },
    ]);
    expect(await registry.getAliases(MODEL)).toEqual(a);
  });

  it('promote is idempotent: a second call writes nothing', async () => {
    const { registry, store } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    await registry.promote(MODEL, 'v2', 'run-b', NOW);
    const etag = (await store.head(keys.aliases(MODEL)))?.etag;
    const again = await registry.promote(MODEL, 'v2', 'run-b', NOW);
    expect(again.champion).toBe('v2');
    expect(again.previous).toBe('v1');
    expect(again.history).toHaveLength(2);
    expect((await store.head(keys.aliases(MODEL)))?.etag).toBe(etag);
  });

  it('promote with an expected champion is a compare-and-set: it refuses when the champion moved', async () => {
    const { registry, store } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW, undefined, null);
    // v2 and v3 were both evaluated against v1; v2 is promoted first.
    await registry.promote(MODEL, 'v2', 'run-b', NOW, undefined, 'v1');
    const etag = (await store.head(keys.aliases(MODEL)))?.etag;
    const refused = registry.promote(MODEL, 'v3', 'run-c', NOW, undefined, 'v1');
    await expect(refused).rejects.toBeInstanceOf(ChampionMovedError);
    await expect(refused).rejects.toThrow('weather/v3 was evaluated against champion v1, but the champion is now v2');
    expect((await store.head(keys.aliases(MODEL)))?.etag).toBe(etag);
    expect((await registry.getAliases(MODEL)).champion).toBe('v2');
    // A retry of the promotion that happened is still a no-op, whatever it expected.
    expect((await registry.promote(MODEL, 'v2', 'run-b', NOW, undefined, 'v1')).champion).toBe('v2');
    // The first model of a registry expects no champion.
    await expect(registry.promote('other', 'v1', 'run-d', NOW, undefined, 'v9')).rejects.toThrow('the champion is now (none)');
  });

  it('promoting the canary clears the canary and its weight', async () => {
    const { registry } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    await registry.updateAliases(MODEL, (a) => ({ ...a, canary: 'v2', canaryWeight: 0.25 }));
    const a = await registry.promote(MODEL, 'v2', 'run-b', NOW);
    expect([a.champion, a.previous, a.canary, a.canaryWeight]).toEqual(['v2', 'v1', null, 0]);
  });

  it('revertPromotion restores the former champion for the same `by` only', async () => {
    const { registry } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    await registry.promote(MODEL, 'v2', 'run-b', NOW);
    await registry.promote(MODEL, 'v3', 'run-c', NOW);

    const other = await registry.revertPromotion(MODEL, 'v3', 'run-x', NOW);
    expect([other.champion, other.previous]).toEqual(['v3', 'v2']);
    expect(other.history).toHaveLength(3);

    const reverted = await registry.revertPromotion(MODEL, 'v3', 'run-c', NOW);
    expect(reverted.champion).toBe('v2');
    expect(reverted.previous).toBe('v1');
    expect(reverted.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      action: 'revert-promotion',
      from: 'v3',
      to: 'v2',
      by: 'run-c',
      reason: 'pipeline failed after promotion',
    });
    // Once more: nothing to do.
    const again = await registry.revertPromotion(MODEL, 'v3', 'run-c', NOW);
    expect(again).toEqual(reverted);
  });

  it('revertPromotion of the first promotion leaves no champion', async () => {
    const { registry } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    const a = await registry.revertPromotion(MODEL, 'v1', 'run-a', NOW);
    expect([a.champion, a.previous]).toEqual([null, null]);
  });

  it('revertPromotion does nothing when another promotion moved the champion since', async () => {
    const { registry } = setup();
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    await registry.promote(MODEL, 'v2', 'run-b', NOW);
    await registry.promote(MODEL, 'v3', 'run-c', NOW);
    const a = await registry.revertPromotion(MODEL, 'v2', 'run-b', NOW);
    expect([a.champion, a.previous]).toEqual(['v3', 'v2']);
    expect(a.history.map((h) => h.action)).toEqual(['promote', 'promote', 'promote']);
  });

  it('updateAliases retries after a concurrent change and keeps both changes', async () => {
    // Between our read and our write, someone else sets the canary once.
    class RacingStore extends MemoryStore {
      raced = false;
      override async getIfExists(key: string) {
        const found = await super.getIfExists(key);
        if (!this.raced && key === keys.aliases(MODEL) && found) {
          this.raced = true;
          const theirs = JSON.parse(found.body.toString()) as Aliases;
          await super.put(key, JSON.stringify({ ...theirs, canary: 'v9', canaryWeight: 0.1 }), { ifMatch: found.etag });
        }
        return found;
      }
    }
    const store = new RacingStore();
    const registry = new Registry(store);
    await registry.promote(MODEL, 'v1', 'run-a', NOW);
    let calls = 0;
    const result = await registry.updateAliases(MODEL, (a) => {
      calls += 1;
      a.champion = 'v2';
      a.previous = 'v1';
      return a;
    });
    expect(store.raced).toBe(true);
    expect(calls).toBe(2);
    expect(result).toMatchObject({ champion: 'v2', previous: 'v1', canary: 'v9', canaryWeight: 0.1 });
    expect(await registry.getAliases(MODEL)).toEqual(result);
  });

  it('two promotions racing on a new model both land, one after the other', async () => {
    const { registry } = setup();
    await Promise.all([registry.promote(MODEL, 'v1', 'run-a', NOW), registry.promote(MODEL, 'v2', 'run-b', NOW)]);
    const a = await registry.getAliases(MODEL);
    expect(a.history).toHaveLength(2);
    const [first, second] = a.history;
    expect(first!.from).toBeNull();
    expect(second!.from).toBe(first!.to);
    expect(a.champion).toBe(second!.to);
    expect(a.previous).toBe(first!.to);
  });

  it('updateAliases gives up after 10 lost races with a clear message', async () => {
    class AlwaysRacing extends MemoryStore {
      override async put(key: string, body: Buffer | string, options?: PutOptions) {
        if (key === keys.aliases(MODEL) && (options?.ifMatch || options?.ifNoneMatch)) throw new PreconditionFailedError(key, 'lost the race');
        return super.put(key, body, options);
      }
    }
    const registry = new Registry(new AlwaysRacing());
    let calls = 0;
    await expect(
      registry.updateAliases(MODEL, (a) => {
        calls += 1;
        return { ...a, champion: 'v1' };
      }),
    ).rejects.toThrow("aliases of 'weather' kept changing under us (10 attempts)");
    expect(calls).toBe(10);
  });

  it('updateAliases returning null writes nothing', async () => {
    const { registry, store } = setup();
    const a = await registry.updateAliases(MODEL, () => null);
    expect(a.champion).toBeNull();
    expect(await store.head(keys.aliases(MODEL))).toBeNull();
  });
});

describe('Registry.rollback', () => {
  async function threeChampions() {
    const { registry } = setup();
    for (const [v, run] of [
      ['v1', 'run-a'],
      ['v2', 'run-b'],
      ['v3', 'run-c'],
    ] as const)
      await registry.promote(MODEL, v, run, NOW);
    return registry;
  }

  it('puts the previous champion back, records who and why, and points previous at the one before it', async () => {
    const registry = await threeChampions();
    const a = await registry.rollback(MODEL, { from: 'v3', to: 'v2', by: 'rollback/weather/r1', now: NOW, reason: 'accuracy fell' });
    expect([a.champion, a.previous]).toEqual(['v2', 'v1']);
    expect(a.history.at(-1)).toEqual({ at: NOW.toISOString(), action: 'rollback', from: 'v3', to: 'v2', by: 'rollback/weather/r1', reason: 'accuracy fell' });
    // A second rollback goes one further back.
    const b = await registry.rollback(MODEL, { from: 'v2', to: 'v1', by: 'rollback/weather/r2', now: NOW, reason: 'still bad' });
    expect([b.champion, b.previous]).toEqual(['v1', null]);
  });

  it('is idempotent: the same rollback again changes nothing (a retried activity)', async () => {
    const registry = await threeChampions();
    const once = await registry.rollback(MODEL, { from: 'v3', to: 'v2', by: 'r', now: NOW, reason: 'x' });
    const twice = await registry.rollback(MODEL, { from: 'v3', to: 'v2', by: 'r', now: NOW, reason: 'x' });
    expect(twice).toEqual(once);
    expect(twice.history.filter((h) => h.action === 'rollback')).toHaveLength(1);
  });

  it('refuses when the champion moved after the rollback was decided, naming the champion now', async () => {
    const registry = await threeChampions();
    await registry.promote(MODEL, 'v4', 'run-d', NOW);
    const error = await registry.rollback(MODEL, { from: 'v3', to: 'v2', by: 'r', now: NOW, reason: 'x' }).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(RollbackRefusedError);
    expect((error as Error).message).toBe(
      "cannot roll back 'weather': the champion is v4 now, not v3 as when the rollback was asked for; nothing changed (ask again to roll back v4)",
    );
    expect((await registry.getAliases(MODEL)).champion).toBe('v4');
  });

  it('does not leave the version rolled away from as previous', async () => {
    const registry = await threeChampions();
    // v2 -> v3 was a promotion; rolling back to v1 skips v2, and v1 replaced nobody.
    const a = await registry.rollback(MODEL, { from: 'v3', to: 'v1', by: 'r', now: NOW, reason: 'x' });
    expect([a.champion, a.previous]).toEqual(['v1', null]);
  });
});
