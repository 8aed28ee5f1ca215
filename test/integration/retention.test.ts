/**
 * Retention on the real services: RetentionSweep on this test's worker
 * deletes a model's old snapshots, run leftovers, log partitions and reports
 * in the real S3 gateway, and keeps what the champion, the previous champion,
 * the canary, a release in flight and the newest versions need, down to what
 * `perennial reproduce` reads. `perennial retention` as a user runs it: a dry
 * run, and the Temporal Schedule it creates and then updates.
 *
 * Two versions are trained on the weather data (v4, v5); three more (v1-v3)
 * are registered as a pipeline would, on snapshots planted for them. Ages the
 * store cannot fake (an object's time of writing) are judged by a sweep made
 * as of 40 days later (the workflow's `now`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetentionActivities, type PlanRetentionInput, type RetentionReport } from '../../activities/retention';
import { bootstrapWeather } from '../../src/demo/weather';
import { loadBundle } from '../../src/registry';
import { publishSpec, readPublishedSpecBytes, type ModelSpec, type RetentionPolicy } from '../../src/spec';
import { getJsonIfExists, getVerified, keys, putJson } from '../../src/store';
import { SA_MODEL, SA_STAGE, SA_TRIGGER } from '../../src/temporal/search-attributes';
import { startRetrain } from '../../src/temporal';
import { workflowIds, type RetrainResult } from '../../workflows/definitions';
import type { RetentionInput, RetentionResult, RetentionSweep } from '../../workflows/retention';
import { runPerennial, type ProgramRun } from '../helpers/programs';
import { testArtifacts, testLineage } from '../unit/registry/lineage-fixture';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `retention-${uniqueId()}`;
const DAY = 86_400_000;
const startedAt = Date.now();
const daysAgo = (days: number) => new Date(startedAt - days * DAY);

const POLICY: RetentionPolicy = {
  schedule: 'daily',
  keepVersions: 1,
  snapshotDays: 30,
  predictionLogDays: 30,
  feedbackLogDays: 30,
  reportDays: 30,
  leftoverHours: 24,
};

/** Armed by a test: what happens right after each of the next plans is written (one action per plan). */
const afterNextPlans: (() => Promise<void>)[] = [];

const trained: RetrainResult[] = [];
const fakeRuns = { v1: `fake-v1-${uniqueId()}`, v2: `fake-v2-${uniqueId()}`, v3: `fake-v3-${uniqueId()}` };
const fakeSnapshot = { v1: 'aaaa1111', v2: 'bbbb2222', v3: 'cccc3333' } as const;
const planted = {
  orphanSnapshot: [keys.snapshotManifest(model, 'dddd4444'), keys.snapshot(model, 'dddd4444')],
  deadStaging: [keys.stagedFile(model, 'dead-run', 'preprocessor.json'), keys.stagedFile(model, 'dead-run', 'model.json')],
  deadCheckpoint: keys.checkpoint(model, 'dead-run', 3),
  liveCheckpoint: keys.checkpoint(model, 'live-run', 1),
  oldLogs: [
    keys.predictionLogPart(model, daysAgo(40), 'old'),
    keys.feedbackPart(model, daysAgo(40), 'old'),
    keys.feedbackUnmatchedPart(model, daysAgo(35), 'old'),
  ],
  youngLogs: [keys.predictionLogPart(model, daysAgo(2), 'young'), keys.feedbackPart(model, daysAgo(1), 'young')],
  driftReport: keys.driftReport(model, daysAgo(40), 'json'),
  rejectedEvaluation: keys.evaluation(model, 'rejected-run'),
  quarantined: keys.quarantinedBatch(model, '0123456789abcdef', 'bad.csv'),
};

function perennial(...args: string[]): Promise<ProgramRun> {
  return runPerennial(args, { env: h.env });
}

async function publish(spec: ModelSpec, retention: RetentionPolicy = POLICY): Promise<void> {
  // Three epochs and no gate: these versions are about their data, not their accuracy.
  await publishSpec(h.store, { ...spec, name: model, model: { ...spec.model, epochs: 3 }, evaluation: { ...spec.evaluation, gate: {} }, retention });
}

async function retrain(): Promise<RetrainResult> {
  const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
  return handle.result();
}

/** Every key of the model, in every prefix (swept or not). */
async function allKeys(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const top of ['datasets', 'models', 'reports', 'logs']) for (const o of await h.store.list(`${top}/${model}/`)) out.add(o.key);
  return out;
}

const minus = (a: Set<string>, b: Set<string>) => [...a].filter((k) => !b.has(k)).sort();

function sweep(input: Omit<RetentionInput, 'model'>): Promise<RetentionResult> {
  return h.client.workflow.execute<typeof RetentionSweep>('RetentionSweep', {
    taskQueue: h.config.taskQueue,
    workflowId: workflowIds.retention(model),
    args: [{ model, requestedBy: 'retention.test', ...input }],
  });
}

beforeAll(async () => {
  h = await createHarness();
  const real = createRetentionActivities(h.deps);
  worker = await h.startWorker({
    activityOverrides: {
      planRetention: async (input: PlanRetentionInput) => {
        const planned = await real.planRetention(input);
        await afterNextPlans.shift()?.();
        return planned;
      },
    },
  });

  // v1-v3: registered as a pipeline run would, each on a snapshot of its own (planted), with its evaluation report.
  for (const v of ['v1', 'v2', 'v3'] as const) {
    const id = fakeSnapshot[v];
    await h.store.put(keys.snapshot(model, id), `rows of ${v}`);
    await putJson(h.store, keys.snapshotManifest(model, id), {
      sha256: id,
      key: keys.snapshot(model, id),
      rows: 1,
      batches: [],
      createdAt: new Date().toISOString(),
    });
    await putJson(h.store, keys.evaluation(model, fakeRuns[v]), { runId: fakeRuns[v] });
    const base = testLineage(fakeRuns[v]);
    const { version } = await h.registry.register(
      model,
      testArtifacts(v),
      {
        ...base,
        model,
        data: { ...base.data, snapshotSha256: id, snapshotKey: keys.snapshot(model, id) },
        workflow: { id: `retrain/${model}`, runId: fakeRuns[v] },
      },
      new Date(),
    );
    expect(version).toBe(v);
  }
  // v4 on Seattle 2013-2014, then v5 with 2015.
  const { spec } = await bootstrapWeather(h.store, { model, years: [2013, 2014] });
  await publish(spec);
  trained.push(await retrain());
  await bootstrapWeather(h.store, { model, years: [2015] });
  await publish(spec);
  trained.push(await retrain());

  // A canary (v2), a release in flight (v3) and one that finished (v1's).
  await h.registry.updateAliases(model, (a) => ({ ...a, canary: 'v2', canaryWeight: 0.1 }));
  await putJson(h.store, keys.release(model, 'v3'), { version: 'v3', status: 'running', weight: 0.05 });
  await putJson(h.store, keys.release(model, 'v1'), { version: 'v1', status: 'aborted', finishedAt: daysAgo(50).toISOString() });

  // What runs that died, the model server and a drift check leave behind.
  for (const key of planted.orphanSnapshot) await h.store.put(key, 'an old snapshot no version trained on');
  for (const key of planted.deadStaging) await h.store.put(key, '{}');
  await h.store.put(planted.deadCheckpoint, 'epoch 3');
  await h.store.put(planted.liveCheckpoint, 'epoch 1');
  for (const key of [...planted.oldLogs, ...planted.youngLogs]) await h.store.put(key, 'PAR1');
  await h.store.put(planted.driftReport, '{}');
  await h.store.put(planted.rejectedEvaluation, '{}');
  await h.store.put(planted.quarantined, 'bad');
}, 120_000);

afterAll(async () => {
  await h?.client.schedule
    .getHandle(workflowIds.retention(model))
    .delete()
    .catch(() => undefined);
  await worker?.stop();
  await h?.close();
});

describe('RetentionSweep', () => {
  it('has two trained versions (champion v5, previous v4) beside v1-v3', async () => {
    expect(trained.map((t) => [t.outcome, t.version])).toEqual([
      ['promoted', 'v4'],
      ['promoted', 'v5'],
    ]);
    const aliases = await h.registry.getAliases(model);
    expect([aliases.champion, aliases.previous, aliases.canary]).toEqual(['v5', 'v4', 'v2']);
  });

  it('perennial retention --dry-run prints the plan and deletes nothing', async () => {
    const before = await allKeys();
    const run = await perennial('retention', '--model', model, '--dry-run');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`started: ${workflowIds.retention(model)}`);
    expect(run.stdout).toMatch(/Temporal UI: http.*\/workflows\/retention%2Fretention-[0-9a-f]+\/[0-9a-f-]{36}\/history/);
    expect(run.stdout).toMatch(/dry run as of .*: would delete 3 object\(s\) \(.*\): 1 prediction-log, 2 feedback-log; nothing deleted/);
    expect(run.stdout).toContain('kept versions: v5 (champion, newest-versions), v2 (canary), v3 (release-in-flight), v4 (previous)');
    const after = await allKeys();
    expect(minus(before, after)).toEqual([]);
    // Only its report is new.
    const added = minus(after, before);
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(new RegExp(`^${keys.retentionReports(model)}.*\\.json$`));
    const report = (await getJsonIfExists<RetentionReport>(h.store, added[0]!))!.value;
    expect(report.dryRun).toBe(true);
    expect(report.delete.map((d) => d.key).sort()).toEqual([...planted.oldLogs].sort());
    expect(report.applied).toBeUndefined();
  });

  it('today: deletes the log partitions older than the policy, and nothing young', async () => {
    const before = await allKeys();
    const result = await sweep({});
    expect(result.deleted).toEqual({ 'prediction-log': { objects: 1, bytes: 4 }, 'feedback-log': { objects: 2, bytes: 8 } });
    expect(result.replans).toBe(0);
    expect(minus(before, await allKeys())).toEqual([...planted.oldLogs].sort());
    // Fresh leftovers may belong to a live run: they stay today.
    for (const key of [...planted.youngLogs, planted.liveCheckpoint, planted.deadCheckpoint, ...planted.deadStaging, ...planted.orphanSnapshot]) {
      expect(before.has(key) && (await h.store.head(key)) !== null, key).toBe(true);
    }
    const description = await h.client.workflow.getHandle(workflowIds.retention(model)).describe();
    expect(description.typedSearchAttributes.get(SA_MODEL)).toBe(model);
    expect(description.typedSearchAttributes.get(SA_TRIGGER)).toBe('retention');
    expect(description.typedSearchAttributes.get(SA_STAGE)).toBe('done');
  });

  it('40 days on, with the canary moving and a snapshot written again mid-sweep: plans again, deletes exactly what nothing protects, keeps what the kept versions need', async () => {
    const lineages = Object.fromEntries(await Promise.all(['v4', 'v5'].map(async (v) => [v, (await h.registry.getLineage(model, v))!] as const)));
    const before = await allKeys();
    const retentionReportsBefore = [...before].filter((k) => k.startsWith(keys.retentionReports(model)));
    expect(retentionReportsBefore).toHaveLength(2);
    afterNextPlans.push(
      // After the first plan the canary moves from v2 to v1 (as a release starting would)...
      async () => void (await h.registry.updateAliases(model, (a) => ({ ...a, canary: 'v1', canaryWeight: 0.1 }))),
      // ...and after the second a run writes the orphan snapshot's file again (it rebuilt those rows).
      async () => void (await h.store.put(planted.orphanSnapshot[1]!, 'the same rows, built again')),
    );
    const asOf = new Date(startedAt + 40 * DAY).toISOString();
    const result = await sweep({ now: asOf });

    // The first plan counted on v2 as the canary; apply saw the canary move to v1 and deleted nothing of it.
    expect(result.replans).toBe(1);
    expect(result.kept).toEqual([
      { version: 'v5', reasons: ['champion', 'newest-versions'] },
      { version: 'v1', reasons: ['canary'] },
      { version: 'v3', reasons: ['release-in-flight'] },
      { version: 'v4', reasons: ['previous'] },
    ]);
    const after = await allKeys();
    const expectedGone = [
      // v2 is no longer kept by anything: its snapshot goes; so does the manifest of the snapshot no version
      // trained on (its file was written again after the plan: left alone).
      keys.snapshot(model, fakeSnapshot.v2),
      keys.snapshotManifest(model, fakeSnapshot.v2),
      planted.orphanSnapshot[0]!,
      // Leftovers of runs 40 days gone, live-run's included.
      ...planted.deadStaging,
      planted.deadCheckpoint,
      planted.liveCheckpoint,
      // Log partitions now over 30 days old.
      ...planted.youngLogs,
      // Reports of runs no kept version came from, the drift report and the two earlier sweeps' reports.
      keys.evaluation(model, fakeRuns.v2),
      planted.rejectedEvaluation,
      planted.driftReport,
      ...retentionReportsBefore,
    ].sort();
    expect(minus(before, after)).toEqual(expectedGone);
    // Nothing else changed but this sweep's two reports (the stale plan and the one applied).
    expect(minus(after, before)).toEqual([keys.retentionReport(model, new Date(asOf)), keys.retentionReport(model, new Date(asOf), 1)].sort());
    expect(result.skipped).toBe(1);
    expect(after.has(planted.orphanSnapshot[1]!)).toBe(true);
    expect(result.deleted).toMatchObject({
      snapshot: { objects: 3 },
      staging: { objects: 2 },
      checkpoint: { objects: 2 },
      'prediction-log': { objects: 1 },
      'feedback-log': { objects: 1 },
      'evaluation-report': { objects: 2 },
      'drift-report': { objects: 1 },
      'retention-report': { objects: 2 },
    });
    expect(result.reportKey).toBe(keys.retentionReport(model, new Date(asOf), 1));

    // The stale plan says why it stopped; the applied one what it deleted.
    const stale = (await getJsonIfExists<RetentionReport>(h.store, keys.retentionReport(model, new Date(asOf))))!.value;
    expect(stale.applied).toMatchObject({ status: 'stale', reason: 'canary v2 → v1', deleted: {} });
    expect(stale.delete.map((d) => d.key)).toContain(keys.snapshot(model, fakeSnapshot.v1));
    const applied = (await getJsonIfExists<RetentionReport>(h.store, result.reportKey))!.value;
    expect(applied.applied).toMatchObject({ status: 'done', skipped: 1, gone: 0 });
    expect(applied.keep.find((k) => k.key === keys.snapshot(model, fakeSnapshot.v1))).toMatchObject({ reason: 'canary' });

    // Never swept: incoming, validated, quarantine, versions, specs, aliases, releases.
    for (const prefix of [
      keys.incoming(model),
      keys.validatedBatches(model),
      keys.quarantine(model),
      keys.versions(model),
      `models/${model}/specs/`,
      keys.releases(model),
    ]) {
      const keysThere = [...before].filter((k) => k.startsWith(prefix));
      expect(keysThere.length, prefix).toBeGreaterThan(0);
      for (const key of keysThere) expect(after.has(key), key).toBe(true);
    }
    expect(after.has(keys.aliases(model))).toBe(true);

    // The canary's and the release's snapshots stay, and the kept versions' evaluations.
    for (const v of ['v1', 'v3'] as const) {
      expect(after.has(keys.snapshot(model, fakeSnapshot[v]))).toBe(true);
      expect(after.has(keys.snapshotManifest(model, fakeSnapshot[v]))).toBe(true);
      expect(after.has(keys.evaluation(model, fakeRuns[v]))).toBe(true);
    }
    // Everything `perennial reproduce` reads for the champion and the previous champion is there and intact:
    // the bundle (checksums verified), the snapshot file (its sha256) and manifest, the spec by hash, the batches.
    for (const v of ['v4', 'v5'] as const) {
      const lineage = lineages[v]!;
      const bundle = await loadBundle(h.registry, model, v);
      expect(bundle.lineage.version).toBe(v);
      await getVerified(h.store, lineage.data.snapshotKey, lineage.data.snapshotFileSha256!);
      expect(after.has(keys.snapshotManifest(model, lineage.data.snapshotSha256))).toBe(true);
      await readPublishedSpecBytes(h.store, model, lineage.spec.sha256);
      for (const batch of lineage.data.batches) expect(after.has(batch), batch).toBe(true);
      expect(after.has(keys.evaluation(model, lineage.workflow.runId))).toBe(true);
    }
  });
});

describe('perennial retention --schedule', () => {
  it("creates the Temporal Schedule with the spec's interval, and a second call updates it to the spec's cron", async () => {
    const scheduleId = workflowIds.retention(model);
    const created = await perennial('retention', '--model', model, '--schedule');
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`schedule created: ${scheduleId}, every day (00:00 UTC), overlap skip`);
    expect(created.stdout).toContain(
      `Temporal UI: ${h.config.temporalUiUrl}/namespaces/${h.config.temporalNamespace}/schedules/${encodeURIComponent(scheduleId)}`,
    );
    const handle = h.client.schedule.getHandle(scheduleId);
    let description = await handle.describe();
    expect(description.spec.intervals).toMatchObject([{ every: DAY }]);
    expect(description.policies.overlap).toBe('SKIP');
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'RetentionSweep', workflowId: scheduleId, taskQueue: h.config.taskQueue });
    expect(description.action.args).toEqual([{ model, requestedBy: `schedule:${scheduleId}` }]);

    const { spec } = await bootstrapWeather(h.store, { model, years: [] });
    await publish(spec, { ...POLICY, schedule: '30 3 * * 1' });
    const updated = await perennial('retention', '--model', model, '--schedule');
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toContain(`schedule updated: ${scheduleId}, cron '30 3 * * 1' (UTC), overlap skip`);
    const again = await perennial('retention', '--model', model, '--schedule');
    expect(again.stdout).toContain(`schedule unchanged: ${scheduleId}, cron '30 3 * * 1' (UTC), overlap skip`);
    description = await handle.describe();
    expect(description.spec.intervals ?? []).toEqual([]);
    expect(description.spec.calendars).toEqual([
      expect.objectContaining({
        minute: [{ start: 30, end: 30, step: 1 }],
        hour: [{ start: 3, end: 3, step: 1 }],
        dayOfWeek: [{ start: 'MONDAY', end: 'MONDAY', step: 1 }],
      }),
    ]);
    expect(description.policies.overlap).toBe('SKIP');
  });

  it('refuses bad usage with exit code 2, naming what is missing', async () => {
    const both = await perennial('retention', '--model', model, '--schedule', '--dry-run');
    expect(both.code).toBe(2);
    expect(both.stderr).toContain('--schedule creates or updates the Temporal Schedule of the sweep; it takes neither --dry-run nor --wait');
    const unknown = await perennial('retention', '--model', `nospec-${uniqueId()}`, '--dry-run');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/has no spec at .*: upload one with/);
  });
});
