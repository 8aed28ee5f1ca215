/**
 * The registry's release operations on the in-memory store: startRelease,
 * setReleaseWeight and endRelease are each one conditional write of
 * aliases.json with a history entry, refuse what they cannot do (nothing
 * written), and a retry after success changes nothing.
 */
import { describe, expect, it } from 'vitest';
import { NON_RETRYABLE, ReleaseRefusedError } from '../../../src/errors';
import { Registry } from '../../../src/registry/registry';
import { releaseOf, type Aliases } from '../../../src/registry/types';
import { keys } from '../../../src/store/keys';
import { MemoryStore } from '../../../src/store/memory-store';
import type { PutOptions } from '../../../src/store/object-store';
import { MODEL, NOW, testArtifacts, testLineage } from './lineage-fixture';

const LATER = new Date(NOW.getTime() + 60_000);

/** A registry with v1 (champion), v2 and v3 registered; `writes` counts the puts of aliases.json and the If-Match each used. */
async function setup() {
  const writes: (PutOptions | undefined)[] = [];
  const store = new (class extends MemoryStore {
    override async put(key: string, body: Buffer | string, options?: PutOptions) {
      if (key === keys.aliases(MODEL)) writes.push(options);
      return super.put(key, body, options);
    }
  })();
  const registry = new Registry(store);
  for (const run of ['a', 'b', 'c']) await registry.register(MODEL, testArtifacts(run), testLineage(`run-${run}`), NOW);
  await registry.promote(MODEL, 'v1', 'retrain/weather', NOW);
  writes.length = 0;
  const etag = async () => (await store.head(keys.aliases(MODEL)))?.etag;
  return { store, registry, writes, etag };
}

const start = (candidate = 'v2', extra: Partial<Parameters<Registry['startRelease']>[1]> = {}) => ({
  candidate,
  mode: 'canary' as const,
  weight: 0.05,
  expectedChampion: 'v1',
  by: 'release/weather/v2',
  now: NOW,
  reason: 'passed the offline gate',
  ...extra,
});

async function refusal(promise: Promise<unknown>): Promise<ReleaseRefusedError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ReleaseRefusedError);
  return error as ReleaseRefusedError;
}

describe('Registry.startRelease', () => {
  it('names the candidate, its weight and the mode in one conditional write, with a release-start entry', async () => {
    const { registry, writes } = await setup();
    const a = await registry.startRelease(MODEL, start());
    expect([a.champion, a.canary, a.canaryWeight, a.release]).toEqual(['v1', 'v2', 0.05, 'canary']);
    expect(releaseOf(a)).toEqual({ candidate: 'v2', mode: 'canary', weight: 0.05 });
    expect(a.history.at(-1)).toEqual({
      at: NOW.toISOString(),
      action: 'release-start',
      from: 'v1',
      to: 'v2',
      by: 'release/weather/v2',
      reason: 'passed the offline gate',
      mode: 'canary',
      weight: 0.05,
    });
    expect(writes).toHaveLength(1);
    expect(writes[0]?.ifMatch).toBeTruthy();
    expect(await registry.getAliases(MODEL)).toEqual(a);
  });

  it('is idempotent: a retry after success writes nothing, even after the weight moved', async () => {
    const { registry, writes, etag } = await setup();
    await registry.startRelease(MODEL, start());
    await registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 0.25, by: 'x', now: LATER });
    const before = await etag();
    const again = await registry.startRelease(MODEL, start());
    expect([again.canary, again.canaryWeight]).toEqual(['v2', 0.25]);
    expect(await etag()).toBe(before);
    expect(writes).toHaveLength(2);
  });

  it('shadow: the weight is the share of requests copied to the candidate, 1 by default', async () => {
    const { registry } = await setup();
    const a = await registry.startRelease(MODEL, start('v2', { mode: 'shadow', weight: undefined }));
    expect(releaseOf(a)).toEqual({ candidate: 'v2', mode: 'shadow', weight: 1 });
  });

  it('refuses when the champion moved, naming both; nothing is written', async () => {
    const { registry, etag } = await setup();
    await registry.promote(MODEL, 'v3', 'someone', NOW);
    const before = await etag();
    const error = await refusal(registry.startRelease(MODEL, start('v2', { expectedChampion: 'v1' })));
    expect(error.kind).toBe('champion-moved');
    expect(error.message).toBe(
      'release of weather/v2 refused: it was evaluated against champion v1, but the champion is now v3: not released, since it was never compared with v3; retrain to compare it with the champion in force',
    );
    expect(await etag()).toBe(before);
  });

  it('refuses while another release is in flight, and a release with no champion', async () => {
    const { registry, etag } = await setup();
    await registry.startRelease(MODEL, start('v2'));
    const before = await etag();
    const other = await refusal(registry.startRelease(MODEL, start('v3', { by: 'release/weather/v3' })));
    expect(other.kind).toBe('release-in-flight');
    expect(other.message).toBe('release of weather/v3 refused: v2 is in canary release (weight 0.05); end that release first (promoted or rolled back)');
    // The same candidate in another mode is another release.
    expect((await refusal(registry.startRelease(MODEL, start('v2', { mode: 'shadow' })))).kind).toBe('release-in-flight');
    expect(await etag()).toBe(before);

    const lone = new Registry(new MemoryStore());
    await lone.register(MODEL, testArtifacts(), testLineage('run-a'), NOW);
    const none = await refusal(lone.startRelease(MODEL, start('v1', { expectedChampion: null })));
    expect(none.kind).toBe('no-champion');
    expect(none.message).toContain('promote the first version directly');
  });

  it('refuses a candidate that is not registered, or is the champion, and a weight outside [0, 1]', async () => {
    const { registry, writes } = await setup();
    const unknown = await refusal(registry.startRelease(MODEL, start('v9')));
    expect(unknown.kind).toBe('unknown-candidate');
    expect(unknown.message).toBe("release of weather/v9 refused: 'weather' has no version 'v9' (versions: v1, v2, v3); register it first");
    expect((await refusal(registry.startRelease(MODEL, start('v1')))).message).toContain('v1 is the champion already');
    for (const weight of [-0.1, 1.5, NaN, Infinity]) {
      const bad = await refusal(registry.startRelease(MODEL, start('v2', { weight })));
      expect(bad.kind).toBe('bad-input');
      expect(bad.message).toMatch(/the weight must be a number from 0 to 1/);
    }
    // canary and ab have no default weight.
    expect((await refusal(registry.startRelease(MODEL, start('v2', { mode: 'ab', weight: undefined })))).message).toContain('found undefined');
    expect(writes).toHaveLength(0);
  });

  it('is a permanent error for the activities (no retry)', () => {
    expect(NON_RETRYABLE).toContain('ReleaseRefusedError');
  });

  it('loses no concurrent write: a lost If-Match race is read again and decided on what is there', async () => {
    const { store, registry } = await setup();
    // Another writer starts v3's release between our read and our write.
    let raced = false;
    const original = store.put.bind(store);
    store.put = async (key: string, body: Buffer | string, options?: PutOptions) => {
      if (key === keys.aliases(MODEL) && !raced) {
        raced = true;
        const theirs = (await store.getIfExists(key))!;
        const a = JSON.parse(theirs.body.toString()) as Aliases;
        await original(key, JSON.stringify({ ...a, canary: 'v3', canaryWeight: 0.5, release: 'ab' }), { ifMatch: theirs.etag });
      }
      return original(key, body, options);
    };
    const error = await refusal(registry.startRelease(MODEL, start('v2')));
    expect(error.kind).toBe('release-in-flight');
    expect(releaseOf(await registry.getAliases(MODEL))).toEqual({ candidate: 'v3', mode: 'ab', weight: 0.5 });
  });
});

describe('Registry.setReleaseWeight', () => {
  it('moves the weight of the candidate in release, with a release-weight entry; the same weight writes nothing', async () => {
    const { registry, writes } = await setup();
    await registry.startRelease(MODEL, start());
    const a = await registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 0.25, by: 'release/weather/v2', now: LATER, reason: 'step 2 of 4' });
    expect([a.canary, a.canaryWeight, a.release]).toEqual(['v2', 0.25, 'canary']);
    expect(a.history.at(-1)).toEqual({
      at: LATER.toISOString(),
      action: 'release-weight',
      from: 'v1',
      to: 'v2',
      by: 'release/weather/v2',
      reason: 'step 2 of 4',
      weight: 0.25,
    });
    await registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 0.25, by: 'release/weather/v2', now: LATER });
    expect(writes).toHaveLength(2);
  });

  it('refuses a candidate not in release and a bad weight', async () => {
    const { registry, writes } = await setup();
    const none = await refusal(registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 0.5, by: 'x', now: NOW }));
    expect(none.kind).toBe('not-in-release');
    expect(none.message).toBe('release of weather/v2 refused: it is not in release (no release is in flight); start its release first');
    await registry.startRelease(MODEL, start());
    expect((await refusal(registry.setReleaseWeight(MODEL, { candidate: 'v3', weight: 0.5, by: 'x', now: NOW }))).message).toContain(
      'it is not in release (v2 is, in canary)',
    );
    expect((await refusal(registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 2, by: 'x', now: NOW }))).kind).toBe('bad-input');
    expect(writes).toHaveLength(1);
  });
});

describe('Registry.endRelease', () => {
  it('promoted: the candidate becomes champion and the champion previous, the release cleared, in one write', async () => {
    const { registry, writes } = await setup();
    await registry.startRelease(MODEL, start());
    await registry.setReleaseWeight(MODEL, { candidate: 'v2', weight: 1, by: 'release/weather/v2', now: NOW });
    writes.length = 0;
    const a = await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'promoted', by: 'release/weather/v2', now: LATER, reason: 'non-inferior' });
    expect(writes).toHaveLength(1);
    expect(a).toMatchObject({ champion: 'v2', previous: 'v1', canary: null, canaryWeight: 0 });
    expect(a.release).toBeUndefined();
    expect(releaseOf(a)).toBeNull();
    expect(a.history.at(-1)).toEqual({
      at: LATER.toISOString(),
      action: 'release-end',
      from: 'v1',
      to: 'v2',
      by: 'release/weather/v2',
      reason: 'non-inferior',
      outcome: 'promoted',
    });
    // A retry after success changes nothing and returns the aliases.
    const again = await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'promoted', by: 'release/weather/v2', now: LATER });
    expect(again).toEqual(a);
    expect(writes).toHaveLength(1);
    // Another outcome for a release that ended is refused.
    expect((await refusal(registry.endRelease(MODEL, { candidate: 'v2', outcome: 'rolled-back', by: 'x', now: LATER }))).kind).toBe('ended-otherwise');
  });

  it('rolled-back: the release cleared, the champion kept; idempotent', async () => {
    const { registry, writes } = await setup();
    await registry.startRelease(MODEL, start('v2', { mode: 'shadow', weight: 0.5 }));
    const a = await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'rolled-back', by: 'release/weather/v2', now: LATER, reason: 'inferior' });
    expect(a).toMatchObject({ champion: 'v1', previous: null, canary: null, canaryWeight: 0 });
    expect(releaseOf(a)).toBeNull();
    expect(a.history.at(-1)).toMatchObject({ action: 'release-end', from: 'v1', to: 'v2', outcome: 'rolled-back', reason: 'inferior' });
    const again = await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'rolled-back', by: 'release/weather/v2', now: LATER });
    expect(again).toEqual(a);
    expect(writes).toHaveLength(2);
    // A new release of the same candidate can start again.
    expect(releaseOf(await registry.startRelease(MODEL, start('v2')))).toEqual({ candidate: 'v2', mode: 'canary', weight: 0.05 });
  });

  it('refuses to promote when the champion moved during the release, and a candidate never in release', async () => {
    const { registry, etag } = await setup();
    await registry.startRelease(MODEL, start());
    await registry.promote(MODEL, 'v3', 'someone', NOW);
    const before = await etag();
    const moved = await refusal(registry.endRelease(MODEL, { candidate: 'v2', outcome: 'promoted', by: 'x', now: LATER }));
    expect(moved.kind).toBe('champion-moved');
    expect(moved.message).toBe(
      'release of weather/v2 refused: it was released against champion v1, but the champion is now v3: not promoted; end the release rolled-back',
    );
    expect(await etag()).toBe(before);
    // Rolling back is still possible.
    expect((await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'rolled-back', by: 'x', now: LATER })).champion).toBe('v3');
    expect((await refusal(registry.endRelease(MODEL, { candidate: 'v1', outcome: 'rolled-back', by: 'x', now: LATER }))).kind).toBe('not-in-release');
  });

  it('a promotion by release is one for rollback and revertPromotion: previous is found through it', async () => {
    const { registry } = await setup();
    await registry.startRelease(MODEL, start());
    await registry.endRelease(MODEL, { candidate: 'v2', outcome: 'promoted', by: 'release/weather/v2', now: NOW });
    await registry.promote(MODEL, 'v3', 'retrain/weather', NOW);
    // Rolling back from v3 to v2: v2 replaced v1 (by release), so v1 is previous again.
    const rolled = await registry.rollback(MODEL, { from: 'v3', to: 'v2', by: 'cli', now: LATER, reason: 'bad v3' });
    expect([rolled.champion, rolled.previous]).toEqual(['v2', 'v1']);

    const { registry: other } = await setup();
    await other.startRelease(MODEL, start());
    await other.endRelease(MODEL, { candidate: 'v2', outcome: 'promoted', by: 'release/weather/v2', now: NOW });
    const reverted = await other.revertPromotion(MODEL, 'v2', 'release/weather/v2', LATER);
    expect([reverted.champion, reverted.previous]).toEqual(['v1', null]);
  });
});

describe('aliases.json written before releases', () => {
  it('reads as no release (no `release` field), and a promote of the canary clears every release field', async () => {
    const { store, registry } = await setup();
    const old = { model: MODEL, champion: 'v1', previous: null, canary: null, canaryWeight: 0, history: [] };
    await store.put(keys.aliases(MODEL), JSON.stringify(old));
    const a = await registry.getAliases(MODEL);
    expect(releaseOf(a)).toBeNull();
    // A release starts on it as on any other.
    await registry.startRelease(MODEL, start());
    const promoted = await registry.promote(MODEL, 'v2', 'someone', NOW);
    expect(promoted.release).toBeUndefined();
    expect([promoted.canary, promoted.canaryWeight]).toEqual([null, 0]);
    // An unknown mode or a broken weight (a hand edit) routes nothing to the candidate.
    expect(releaseOf({ ...old, canary: 'v2', canaryWeight: 0.5, release: 'blue-green' as never })).toBeNull();
    expect(releaseOf({ ...old, canary: 'v2', canaryWeight: 7, release: 'canary' })).toEqual({ candidate: 'v2', mode: 'canary', weight: 0 });
  });
});
