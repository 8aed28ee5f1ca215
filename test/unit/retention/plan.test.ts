/**
 * The retention planner on fake listings: both sides of every rule — what goes
 * and what must stay — with the reason each object is kept.
 */
import { describe, expect, it } from 'vitest';
import {
  classifyKey,
  keptVersions,
  planRetention,
  releaseFinished,
  type LineageForRetention,
  type ListedObject,
  type RetentionInput,
  type RetentionPlan,
} from '../../../src/retention';
import { retentionPolicy, type RetentionPolicy } from '../../../src/spec';
import { keys } from '../../../src/store';

const MODEL = 'weather';
const NOW = new Date('2026-12-01T12:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const dayAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

const POLICY: RetentionPolicy = {
  ...retentionPolicy({}),
  keepVersions: 2,
  snapshotDays: 30,
  predictionLogDays: 90,
  feedbackLogDays: 60,
  reportDays: 30,
  leftoverHours: 24,
};

const object = (key: string, written: Date | undefined, size = 100): ListedObject => ({
  key,
  size,
  etag: `"${key.length}"`,
  ...(written ? { lastModified: written } : {}),
});

/** A snapshot's file and manifest, both written `days` ago. */
const snapshot = (id: string, days: number, size = 1000): ListedObject[] => [
  object(keys.snapshot(MODEL, id), dayAgo(days), size),
  object(keys.snapshotManifest(MODEL, id), dayAgo(days), 10),
];

const lineage = (version: string, snapshotId: string): LineageForRetention => ({
  version,
  createdAt: NOW.toISOString(),
  data: { snapshotSha256: snapshotId, snapshotKey: keys.snapshot(MODEL, snapshotId) },
  workflow: { runId: `run-${version}` },
});

/**
 * Seven versions: v7 and v6 are the newest two (keepVersions 2), v4 the
 * champion, v3 the previous, v5 the canary, v2 in a release that has not
 * finished; v1's release finished, so v1 is kept by nothing.
 */
function scenario(): RetentionInput {
  const snapshotOf = { v1: 'a1', v2: 'b2', v3: 'c3', v4: 'd4', v5: 'e5', v6: 'f6', v7: 'g7' };
  const objects: ListedObject[] = [
    // Every version's snapshot is older than snapshotDays but v6's.
    ...snapshot('a1', 100),
    ...snapshot('b2', 90),
    ...snapshot('c3', 80),
    ...snapshot('d4', 60),
    ...snapshot('e5', 40),
    ...snapshot('f6', 3),
    ...snapshot('g7', 31),
    // No version trained on these: one old, one young.
    ...snapshot('0ld', 45),
    ...snapshot('n3w', 29),
    // A run still training: its oldest checkpoint is 30 h old, its newest 2 h.
    object(keys.checkpoint(MODEL, 'run-live', 1), ago(30 * HOUR)),
    object(keys.checkpoint(MODEL, 'run-live', 2), ago(2 * HOUR)),
    // A run that died mid-training, and one that died before register.
    object(keys.checkpoint(MODEL, 'run-dead', 7), ago(25 * HOUR)),
    object(keys.stagedFile(MODEL, 'run-dead', 'preprocessor.json'), ago(49 * HOUR)),
    object(keys.stagedFile(MODEL, 'run-dead', 'model.json'), ago(48 * HOUR)),
    object(keys.stagedFile(MODEL, 'run-fresh', 'preprocessor.json'), ago(1 * HOUR)),
    // Log partitions are judged by their date, not by when the part was written.
    object(keys.predictionLogPart(MODEL, dayAgo(91), 'p1'), ago(HOUR)),
    object(keys.predictionLogPart(MODEL, dayAgo(90), 'p2'), dayAgo(200)),
    object(keys.predictionLogPart(MODEL, NOW, 'p3'), ago(HOUR)),
    object(keys.feedbackPart(MODEL, dayAgo(61), 'f1'), ago(HOUR)),
    object(keys.feedbackPart(MODEL, dayAgo(60), 'f2'), dayAgo(61)),
    object(keys.feedbackUnmatchedPart(MODEL, dayAgo(75), 'u1'), dayAgo(75)),
    // Reports: the champion's evaluation is old and stays; v1's goes; old drift and retention reports go.
    object(keys.evaluation(MODEL, 'run-v4'), dayAgo(60)),
    object(keys.evaluation(MODEL, 'run-v1'), dayAgo(100)),
    object(keys.evaluation(MODEL, 'run-rejected'), dayAgo(31)),
    object(keys.evaluation(MODEL, 'run-recent'), dayAgo(29)),
    object(keys.driftReport(MODEL, dayAgo(40), 'json'), dayAgo(40)),
    object(keys.driftReport(MODEL, dayAgo(40), 'html'), dayAgo(40)),
    object(keys.driftReport(MODEL, dayAgo(2), 'json'), dayAgo(2)),
    object(keys.retentionReport(MODEL, dayAgo(35)), dayAgo(35)),
    // A kind of report this code does not know: kept, whatever its age.
    object(`${keys.reports(MODEL)}reproductions/v1/run-x.json`, dayAgo(400)),
    // Prefixes retention never deletes from, however old.
    object(keys.incomingBatch(MODEL, 'seattle-2012.csv'), dayAgo(900)),
    object(keys.quarantinedBatch(MODEL, 'abcdef0123456789', 'bad.csv'), dayAgo(900)),
    object(keys.validated(MODEL, 'abcdef', '012345'), dayAgo(900)),
    object(keys.versionFile(MODEL, 'v1', 'model.json'), dayAgo(900)),
    object(keys.aliases(MODEL), dayAgo(900)),
    object(keys.publishedSpec(MODEL, 'abc'), dayAgo(900)),
    object(keys.release(MODEL, 'v1'), dayAgo(900)),
  ];
  return {
    model: MODEL,
    now: NOW,
    policy: POLICY,
    objects,
    aliases: { champion: 'v4', previous: 'v3', canary: 'v5' },
    versions: ['v1', 'v2', 'v3', 'v4', 'v5', 'v6', 'v7'],
    lineages: Object.entries(snapshotOf).map(([v, id]) => lineage(v, id)),
    releases: [
      { key: keys.release(MODEL, 'v1'), record: { version: 'v1', status: 'promoted', finishedAt: dayAgo(99).toISOString() } },
      { key: keys.release(MODEL, 'v2'), record: { version: 'v2', status: 'running', weight: 0.1 } },
    ],
  };
}

const deletedKeys = (plan: RetentionPlan) => plan.delete.map((d) => d.key).sort();
const keptAs = (plan: RetentionPlan, key: string) => plan.keep.find((k) => k.key === key)?.reason;

describe('planRetention on a model with seven versions', () => {
  const input = scenario();
  const plan = planRetention(input);

  it('keeps champion, previous, canary, the release in flight and the newest keepVersions, each with its reasons', () => {
    expect(plan.kept).toEqual([
      { version: 'v4', reasons: ['champion'] },
      { version: 'v5', reasons: ['canary'] },
      { version: 'v2', reasons: ['release-in-flight'] },
      { version: 'v3', reasons: ['previous'] },
      { version: 'v7', reasons: ['newest-versions'] },
      { version: 'v6', reasons: ['newest-versions'] },
    ]);
  });

  it('deletes exactly the old objects nothing protects', () => {
    expect(deletedKeys(plan)).toEqual(
      [
        // v1 is kept by nothing (its release finished): its snapshot goes, file and manifest together.
        keys.snapshot(MODEL, 'a1'),
        keys.snapshotManifest(MODEL, 'a1'),
        keys.snapshot(MODEL, '0ld'),
        keys.snapshotManifest(MODEL, '0ld'),
        keys.checkpoint(MODEL, 'run-dead', 7),
        keys.stagedFile(MODEL, 'run-dead', 'preprocessor.json'),
        keys.stagedFile(MODEL, 'run-dead', 'model.json'),
        keys.predictionLogPart(MODEL, dayAgo(91), 'p1'),
        keys.feedbackPart(MODEL, dayAgo(61), 'f1'),
        keys.feedbackUnmatchedPart(MODEL, dayAgo(75), 'u1'),
        keys.evaluation(MODEL, 'run-v1'),
        keys.evaluation(MODEL, 'run-rejected'),
        keys.driftReport(MODEL, dayAgo(40), 'json'),
        keys.driftReport(MODEL, dayAgo(40), 'html'),
        keys.retentionReport(MODEL, dayAgo(35)),
      ].sort(),
    );
    // Every listed object is in exactly one of the two lists.
    expect(plan.delete.length + plan.keep.length).toBe(input.objects.length);
  });

  it("keeps the champion's and the previous champion's snapshots, though older than snapshotDays", () => {
    for (const [id, reason] of [
      ['d4', 'champion'],
      ['c3', 'previous'],
    ] as const) {
      expect(keptAs(plan, keys.snapshot(MODEL, id))).toBe(reason);
      expect(keptAs(plan, keys.snapshotManifest(MODEL, id))).toBe(reason);
    }
    expect(plan.keep.find((k) => k.key === keys.snapshot(MODEL, 'd4'))!.detail).toBe('snapshot d4 of v4 (champion)');
  });

  it("keeps the canary's, the release's and the newest versions' snapshots", () => {
    expect(keptAs(plan, keys.snapshot(MODEL, 'e5'))).toBe('canary');
    expect(keptAs(plan, keys.snapshot(MODEL, 'b2'))).toBe('release-in-flight');
    expect(keptAs(plan, keys.snapshot(MODEL, 'g7'))).toBe('newest-versions');
    expect(keptAs(plan, keys.snapshot(MODEL, 'f6'))).toBe('newest-versions');
    // Young and unused: within the policy.
    expect(keptAs(plan, keys.snapshot(MODEL, 'n3w'))).toBe('within-policy');
  });

  it("deletes an old snapshot's manifest before its file", () => {
    const order = plan.delete.map((d) => d.key);
    expect(order.indexOf(keys.snapshotManifest(MODEL, 'a1'))).toBeLessThan(order.indexOf(keys.snapshot(MODEL, 'a1')));
    expect(order.indexOf(keys.snapshotManifest(MODEL, '0ld'))).toBeLessThan(order.indexOf(keys.snapshot(MODEL, '0ld')));
    const a1 = plan.delete.find((d) => d.key === keys.snapshot(MODEL, 'a1'))!;
    expect(a1).toMatchObject({ kind: 'snapshot', size: 1000, etag: expect.any(String), lastModified: dayAgo(100).toISOString() });
    expect(a1.reason).toMatch(/^snapshot a1 written .*, older than snapshotDays 30, and no kept version trained on it$/);
  });

  it('judges a run by the newest object in its folder: a fresh checkpoint keeps the older ones of its run', () => {
    expect(keptAs(plan, keys.checkpoint(MODEL, 'run-live', 1))).toBe('run-in-flight');
    expect(keptAs(plan, keys.checkpoint(MODEL, 'run-live', 2))).toBe('run-in-flight');
    expect(keptAs(plan, keys.stagedFile(MODEL, 'run-fresh', 'preprocessor.json'))).toBe('run-in-flight');
    expect(plan.delete.find((d) => d.key === keys.checkpoint(MODEL, 'run-dead', 7))!.reason).toMatch(/more than leftoverHours 24 ago: the run is gone/);
  });

  it('judges log parts by their partition date, not by when they were written', () => {
    // Written an hour ago, but in a partition 91 days old: goes. Written 200 days ago, partition 90 days old: stays.
    expect(plan.delete.find((d) => d.key === keys.predictionLogPart(MODEL, dayAgo(91), 'p1'))!.reason).toBe(
      `partition dt=${dayAgo(91).toISOString().slice(0, 10)} is 91 days old, older than predictionLogDays 90`,
    );
    expect(keptAs(plan, keys.predictionLogPart(MODEL, dayAgo(90), 'p2'))).toBe('within-policy');
    expect(keptAs(plan, keys.predictionLogPart(MODEL, NOW, 'p3'))).toBe('within-policy');
    // The feedback logs (joined and unmatched) have their own limit.
    expect(keptAs(plan, keys.feedbackPart(MODEL, dayAgo(60), 'f2'))).toBe('within-policy');
  });

  it("keeps a kept version's evaluation report, whatever its age, and young reports", () => {
    expect(keptAs(plan, keys.evaluation(MODEL, 'run-v4'))).toBe('champion');
    expect(plan.keep.find((k) => k.key === keys.evaluation(MODEL, 'run-v4'))!.detail).toBe('the evaluation of v4 (champion)');
    expect(keptAs(plan, keys.evaluation(MODEL, 'run-recent'))).toBe('within-policy');
    expect(keptAs(plan, keys.driftReport(MODEL, dayAgo(2), 'json'))).toBe('within-policy');
  });

  it('never deletes incoming, quarantine, validated, versions, aliases, specs or releases, nor what it does not recognize', () => {
    for (const key of [
      keys.incomingBatch(MODEL, 'seattle-2012.csv'),
      keys.quarantinedBatch(MODEL, 'abcdef0123456789', 'bad.csv'),
      keys.validated(MODEL, 'abcdef', '012345'),
      keys.versionFile(MODEL, 'v1', 'model.json'),
      keys.aliases(MODEL),
      keys.publishedSpec(MODEL, 'abc'),
      keys.release(MODEL, 'v1'),
    ]) {
      expect(keptAs(plan, key), key).toBe('not-swept');
    }
    expect(keptAs(plan, `${keys.reports(MODEL)}reproductions/v1/run-x.json`)).toBe('unrecognized');
  });

  it('counts what goes per kind (objects and bytes) and what stays per reason', () => {
    expect(plan.totals.delete).toEqual({
      snapshot: { objects: 4, bytes: 2020 },
      staging: { objects: 2, bytes: 200 },
      checkpoint: { objects: 1, bytes: 100 },
      'prediction-log': { objects: 1, bytes: 100 },
      'feedback-log': { objects: 2, bytes: 200 },
      'evaluation-report': { objects: 2, bytes: 200 },
      'drift-report': { objects: 2, bytes: 200 },
      'retention-report': { objects: 1, bytes: 100 },
    });
    expect(plan.totals.keep).toEqual({
      champion: 3,
      canary: 2,
      'release-in-flight': 2,
      previous: 2,
      'newest-versions': 4,
      'run-in-flight': 3,
      'within-policy': 7,
      'not-swept': 7,
      unrecognized: 1,
    });
  });
});

describe('planRetention: protection moves with the aliases', () => {
  it("a version's snapshot goes once nothing keeps it, and stays as soon as it is the canary", () => {
    const input = scenario();
    const before = planRetention({ ...input, aliases: { ...input.aliases, canary: null } });
    expect(deletedKeys(before)).toContain(keys.snapshot(MODEL, 'e5'));
    const after = planRetention({ ...input, aliases: { ...input.aliases, canary: 'v1' } });
    expect(keptAs(after, keys.snapshot(MODEL, 'a1'))).toBe('canary');
    expect(deletedKeys(after)).toContain(keys.snapshot(MODEL, 'e5'));
  });

  it('a snapshot two versions share stays while one of them is kept', () => {
    const input = scenario();
    const lineages = input.lineages.map((l) => (l.version === 'v1' ? lineage('v1', 'd4') : l));
    const plan = planRetention({ ...input, lineages });
    expect(keptAs(plan, keys.snapshot(MODEL, 'd4'))).toBe('champion');
  });

  it('an old CSV snapshot without a manifest is matched by the key its lineage names', () => {
    const input = scenario();
    const csv = 'datasets/weather/snapshots/5ha.csv';
    const plan = planRetention({
      ...input,
      objects: [...input.objects, object(csv, dayAgo(500))],
      lineages: [...input.lineages.filter((l) => l.version !== 'v4'), { ...lineage('v4', '5ha'), data: { snapshotSha256: '5ha', snapshotKey: csv } }],
    });
    expect(keptAs(plan, csv)).toBe('champion');
    // v4's former snapshot is now kept by nobody.
    expect(deletedKeys(plan)).toContain(keys.snapshot(MODEL, 'd4'));
  });

  it("a plan made again keeps the sweep's own earlier report, however old `now` makes it look", () => {
    const input = scenario();
    const own = keys.retentionReport(MODEL, NOW);
    const plan = planRetention({ ...input, objects: [...input.objects, object(own, dayAgo(40))], ownReports: [own] });
    expect(plan.keep.find((k) => k.key === own)).toMatchObject({ reason: 'within-policy', detail: "this sweep's own report" });
    expect(deletedKeys(plan)).toContain(keys.retentionReport(MODEL, dayAgo(35)));
  });

  it('an object with no time of writing is never judged old', () => {
    const input = scenario();
    const plan = planRetention({
      ...input,
      objects: [
        object(keys.snapshot(MODEL, 'x'), undefined),
        object(keys.snapshotManifest(MODEL, 'x'), dayAgo(400)),
        object(keys.checkpoint(MODEL, 'r', 1), undefined),
      ],
    });
    expect(plan.delete).toEqual([]);
    expect(plan.keep.map((k) => k.reason)).toEqual(['run-in-flight', 'within-policy', 'within-policy']);
  });

  it('with no champion and no versions, only age decides', () => {
    const plan = planRetention({ ...scenario(), aliases: { champion: null, previous: null, canary: null }, versions: [], lineages: [], releases: [] });
    expect(plan.kept).toEqual([]);
    for (const id of ['a1', 'b2', 'c3', 'd4', 'e5', 'g7', '0ld']) expect(deletedKeys(plan)).toContain(keys.snapshot(MODEL, id));
    expect(keptAs(plan, keys.snapshot(MODEL, 'f6'))).toBe('within-policy');
    expect(deletedKeys(plan)).toContain(keys.evaluation(MODEL, 'run-v4'));
  });
});

describe('keptVersions', () => {
  it('orders versions by number (v10 is newer than v9) and lists every reason of a version', () => {
    const kept = keptVersions({
      model: MODEL,
      policy: { ...POLICY, keepVersions: 2 },
      aliases: { champion: 'v10', previous: 'v9', canary: null },
      versions: ['v1', 'v2', 'v9', 'v10', 'v8'],
      releases: [],
    });
    expect(kept).toEqual([
      { version: 'v10', reasons: ['champion', 'newest-versions'] },
      { version: 'v9', reasons: ['previous', 'newest-versions'] },
    ]);
  });

  it('keeps the version of a release record that cannot be read', () => {
    const kept = keptVersions({
      model: MODEL,
      policy: { ...POLICY, keepVersions: 1 },
      aliases: { champion: null, previous: null, canary: null },
      versions: ['v1', 'v2'],
      releases: [{ key: keys.release(MODEL, 'v1'), record: null }],
    });
    expect(kept).toEqual([
      { version: 'v1', reasons: ['release-in-flight'] },
      { version: 'v2', reasons: ['newest-versions'] },
    ]);
  });
});

describe('releaseFinished', () => {
  it('is true for a record with finishedAt or a final status, false otherwise', () => {
    expect(releaseFinished({ finishedAt: '2026-11-01T00:00:00Z' })).toBe(true);
    expect(releaseFinished({ status: 'Aborted' })).toBe(true);
    expect(releaseFinished({ state: 'rolled-back' })).toBe(true);
    expect(releaseFinished({ outcome: 'promoted' })).toBe(true);
    expect(releaseFinished({ status: 'running', steps: [] })).toBe(false);
    expect(releaseFinished({ verdict: 'pass' })).toBe(false);
    expect(releaseFinished(null)).toBe(false);
    expect(releaseFinished('promoted')).toBe(false);
  });
});

describe('classifyKey', () => {
  it('reads the layout of src/store/keys.ts and nothing else', () => {
    expect(classifyKey(MODEL, keys.snapshotManifest(MODEL, 'abc'))).toEqual({ kind: 'snapshot', id: 'abc', manifest: true });
    expect(classifyKey(MODEL, 'datasets/weather/snapshots/abc.csv.gz')).toEqual({ kind: 'snapshot', id: 'abc', manifest: false });
    expect(classifyKey(MODEL, 'datasets/weather/snapshots/notes.txt')).toEqual({ kind: 'unrecognized', as: 'snapshot' });
    expect(classifyKey(MODEL, keys.checkpoint(MODEL, 'r1', 3))).toEqual({ kind: 'checkpoint', runId: 'r1' });
    expect(classifyKey(MODEL, keys.allStaging(MODEL) + 'stray.json')).toEqual({ kind: 'unrecognized', as: 'staging' });
    expect(classifyKey(MODEL, 'logs/weather/predictions/dt=2026-13-45/p.parquet')).toEqual({ kind: 'unrecognized', as: 'prediction-log' });
    expect(classifyKey(MODEL, 'logs/weather/predictions/2026-11-01/p.parquet')).toEqual({ kind: 'unrecognized', as: 'prediction-log' });
    expect(classifyKey(MODEL, 'logs/weather/feedback-unmatched/dt=2026-11-01/u.jsonl')).toEqual({ kind: 'feedback-log', day: '2026-11-01' });
    expect(classifyKey(MODEL, keys.evaluation(MODEL, 'run-1'))).toEqual({ kind: 'evaluation-report', runId: 'run-1' });
    // Another model whose name starts with this one's is not this one's.
    expect(classifyKey(MODEL, keys.snapshot('weather-2', 'abc'))).toEqual({ kind: 'not-swept' });
    expect(classifyKey(MODEL, keys.predictionLogPart('weather-2', NOW, 'p'))).toEqual({ kind: 'not-swept' });
  });
});
