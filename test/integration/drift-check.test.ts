/**
 * DriftCheck on the real services: the weather model is trained on Seattle
 * (bootstrap + retrain), and its prediction log is written with the model
 * server's own writer (writeLogParts, the Parquet parts `perennial serve`
 * uploads): Seattle traffic 30 to 26 hours ago, New York traffic in the last
 * three hours. A check as of 25 hours ago compares the Seattle window and
 * finds no dataset drift; `perennial drift-check --wait` (now) compares the
 * New York window and finds drift, `location` among the drifted columns.
 * The spec caps samples at 1,000 rows, so the New York window (1,461 rows) and
 * the snapshot (1,461) are compared as reservoir samples.
 *
 * Also: shadow rows (copies scored by a shadow candidate) in the Seattle
 * window carry New York inputs and must not count; a part written before
 * releases (no shadow_of column) is read with the others; the reports are in
 * S3 as JSON and HTML; with no monitor running the check records it and
 * completes; with one running (FeedbackReceiver, started as the model server
 * starts it) the `drift` signal is in its history with the DriftSignal
 * payload; a window with too few rows completes `skipped`, signalling
 * nothing; `--schedule` creates the Temporal Schedule with the spec's interval.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftCheckReport } from '../../activities/drift-check';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { publishSpec } from '../../src/spec';
import { putParts, writeParquetPart, type ColumnType } from '../../src/serve/parquet-parts';
import { writeLogParts, type PredictionRecord } from '../../src/serve/prediction-log';
import { getJsonIfExists, keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { DRIFT_SIGNAL, type DriftSignal } from '../../src/temporal/monitor-contract';
import { SA_MODEL, SA_STAGE, SA_TRIGGER } from '../../src/temporal/search-attributes';
import { FEEDBACK_SIGNAL, monitorWorkflowId, workflowIds, type FeedbackReceiverInput, type RetrainResult } from '../../workflows/definitions';
import type { DriftCheck, DriftCheckInput, DriftCheckResult } from '../../workflows/drift-check';
import { runPerennial } from '../helpers/programs';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `drift-${uniqueId()}`;
const HOUR = 3_600_000;
const T = Date.now();
const hoursAgo = (hours: number) => new Date(T - hours * HOUR);
const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
const NUMBERS = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const INPUTS = [...NUMBERS, 'location', 'date'];

let trained: RetrainResult;
/** Rows of each kind written to the log. */
const written = { seattle: 0, oldFormat: 0, shadow: 0, newYork: 0, firstTwoSeattleRequests: 0 };

type Row = Record<string, string | number | null>;

async function rowsOf(location: 'Seattle' | 'New York'): Promise<Row[]> {
  const { columns, rows } = await weatherRows(location);
  return rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i] === null ? null : NUMBERS.includes(c) ? Number(r[i]) : String(r[i])])));
}

/** Requests of 20 rows each, spread evenly from `from` to `to`, as the model server logs them. */
function records(rows: Row[], from: Date, to: Date, prefix: string, arm: 'champion' | 'shadow' = 'champion'): PredictionRecord[] {
  const out: PredictionRecord[] = [];
  const requests = Math.ceil(rows.length / 20);
  for (let k = 0; k < requests; k++) {
    const chunk = rows.slice(k * 20, k * 20 + 20);
    const ids = chunk.map((_, i) => `${prefix}-${k}-${i}`);
    out.push({
      model,
      version: trained.version!,
      arm,
      time: new Date(from.getTime() + ((to.getTime() - from.getTime()) * k) / requests).toISOString(),
      latency_ms: 2,
      ids,
      ...(arm === 'shadow' ? { shadowOf: ids.map((id) => `champion-of-${id}`) } : {}),
      kinds: { precipitation: 'number', temp_max: 'number', temp_min: 'number', wind: 'number', location: 'category', date: 'date' },
      inputs: Object.fromEntries(INPUTS.map((name) => [name, chunk.map((r) => r[name] ?? null)])),
      task: 'classification',
      classes: CLASSES,
      labels: chunk.map(() => 'sun'),
      probabilities: chunk.flatMap(() => [0.1, 0.1, 0.2, 0.1, 0.5]),
    });
  }
  return out;
}

async function writeLog(segment: string, list: PredictionRecord[]): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drift-check-log-'));
  try {
    await putParts(h.store, await writeLogParts(list, segment, dir));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A part as the server wrote it before releases: no shadow_of column. */
async function writeOldFormatPart(rows: Row[], at: Date): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'drift-check-old-'));
  try {
    const lines = rows.map((r, i) =>
      JSON.stringify({
        prediction_id: `old-${i}`,
        time: at.toISOString(),
        model,
        version: trained.version,
        arm: 'champion',
        latency_ms: 2,
        inputs: Object.fromEntries(INPUTS.map((n) => [n, r[n]])),
        label: 'sun',
      }),
    );
    const columns: ColumnType[] = [
      ['prediction_id', 'VARCHAR'],
      ['time', 'TIMESTAMPTZ'],
      ['model', 'VARCHAR'],
      ['version', 'VARCHAR'],
      ['arm', 'VARCHAR'],
      ['latency_ms', 'DOUBLE'],
      ['inputs', 'STRUCT(precipitation DOUBLE, temp_max DOUBLE, temp_min DOUBLE, wind DOUBLE, location VARCHAR, date TIMESTAMP)'],
      ['label', 'VARCHAR'],
    ];
    const path = await writeParquetPart(dir, 'old', lines, columns);
    await putParts(h.store, [{ model, key: keys.predictionLogPart(model, at, 'before-releases'), rows: lines.length, path }]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function check(input: Omit<DriftCheckInput, 'model'>, id = workflowIds.driftCheck(model)) {
  return h.client.workflow.start<typeof DriftCheck>('DriftCheck', {
    taskQueue: h.config.taskQueue,
    workflowId: id,
    args: [{ model, requestedBy: 'drift-check.test', ...input }],
  });
}

/** The payloads of every `drift` signal in the history of the workflow running as monitor/<model>. */
async function driftSignalsReceived(): Promise<DriftSignal[]> {
  const history = await h.client.workflow.getHandle(monitorWorkflowId(model)).fetchHistory();
  return (history.events ?? []).flatMap((e) => {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName !== DRIFT_SIGNAL) return [];
    return [defaultPayloadConverter.fromPayload<DriftSignal>(signaled.input!.payloads![0]!)];
  });
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  // The weather model on Seattle 2012-2015 (three epochs, no gate: this test is about its data).
  const { spec } = await bootstrapWeather(h.store, { model });
  await publishSpec(h.store, {
    ...spec,
    model: { ...spec.model, epochs: 3 },
    evaluation: { ...spec.evaluation, gate: {} },
    monitoring: { drift: { schedule: '15m', window: 24, minRows: 100, maxRows: 1000, method: 'auto', driftShare: 0.5 } },
  });
  const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
  trained = await handle.result();

  const seattle = await rowsOf('Seattle');
  const newYork = await rowsOf('New York');
  // Seattle traffic 30 to 26 hours ago: every third Seattle day (487 rows), 100 more in a part of the old format,
  // and 200 shadow rows with New York inputs that no client received.
  const seattleTraffic = seattle.filter((_, i) => i % 3 === 0);
  await writeLog('seattle', records(seattleTraffic, hoursAgo(30), hoursAgo(26), 'sea'));
  const oldRows = seattle.filter((_, i) => i % 3 === 1).slice(0, 100);
  await writeOldFormatPart(oldRows, hoursAgo(27));
  await writeLog('shadow', records(newYork.slice(0, 200), hoursAgo(29), hoursAgo(27), 'shadow', 'shadow'));
  // New York traffic in the last three hours: every New York day.
  await writeLog('new-york', records(newYork, hoursAgo(3), hoursAgo(1), 'ny'));
  Object.assign(written, { seattle: seattleTraffic.length, oldFormat: oldRows.length, shadow: 200, newYork: newYork.length, firstTwoSeattleRequests: 40 });
}, 120_000);

afterAll(async () => {
  await h?.client.schedule
    .getHandle(workflowIds.driftCheck(model))
    .delete()
    .catch(() => undefined);
  await h?.client.workflow
    .getHandle(monitorWorkflowId(model))
    .terminate('test over')
    .catch(() => undefined);
  await worker?.stop();
  await h?.close();
});

describe('DriftCheck', () => {
  it('Seattle traffic (as of 25 hours ago): no dataset drift; shadow rows left out; no monitor runs, so it records that and completes', async () => {
    expect(trained).toMatchObject({ outcome: 'promoted', version: 'v1' });
    const handle = await check({ now: hoursAgo(25).toISOString() });
    const result: DriftCheckResult = await handle.result();
    expect(result).toMatchObject({ status: 'checked', champion: 'v1', monitor: 'not-running' });
    expect(result.monitorError).toMatch(/not found/);
    // 487 + 100 rows in the window (the 200 shadow rows are not counted), under the 1,000-row cap: all compared.
    expect(result.rows).toEqual({ window: written.seattle + written.oldFormat, current: 587, reference: 1000, snapshot: 1461, maxRows: 1000 });
    expect(result.window).toEqual({ from: hoursAgo(49).toISOString(), to: hoursAgo(25).toISOString(), hours: 24 });
    expect(result.signal!.drift).toBe(false);
    expect(result.signal!.share).toBeLessThan(0.5);
    expect(result.drifted).not.toContain('location');
    expect(result.signal!.columns.map((c) => c.name).sort()).toEqual(['location', 'precipitation', 'temp_max', 'temp_min', 'wind']);
    expect(result.leftOut).toEqual([{ name: 'date', reason: 'datetime column (Evidently leaves dates out of data drift)' }]);
    // The reports, named by the check's time.
    expect(result.reportKey).toBe(keys.driftReport(model, hoursAgo(25), 'json'));
    expect(result.signal!.reportKey).toBe(result.reportKey);
    const report = (await getJsonIfExists<DriftCheckReport>(h.store, result.reportKey!))!.value;
    expect(report).toMatchObject({ drift: false, current_rows: 587, reference_rows: 1000, check: { champion: 'v1', current: { rows: 587 } } });
    const html = (await h.store.get(result.htmlKey!)).toString('utf8');
    expect(html).toContain('No dataset drift');
    expect(html).toContain(keys.snapshots(model));
    const description = await handle.describe();
    expect(description.typedSearchAttributes.get(SA_STAGE)).toBe('no-drift');
    expect(description.typedSearchAttributes.get(SA_TRIGGER)).toBe('drift-check');
    expect(description.typedSearchAttributes.get(SA_MODEL)).toBe(model);
    console.log(`Seattle: ${result.message}`);
  });

  it('New York traffic (perennial drift-check --wait, now): dataset drift with location among the drifted columns, signalled to the running monitor', async () => {
    // A monitor runs: FeedbackReceiver, started under monitor/<model> as the model server starts it (signal-with-start of `feedback`).
    const input: FeedbackReceiverInput = { model };
    await h.client.workflow.signalWithStart('FeedbackReceiver', {
      workflowId: monitorWorkflowId(model),
      taskQueue: h.config.taskQueue,
      args: [input],
      signal: FEEDBACK_SIGNAL,
      signalArgs: [{ items: [{ predictionId: 'p1', version: 'v1', prediction: 'sun', label: 'rain' }] }],
    });
    const run = await runPerennial(['drift-check', '--model', model, '--wait'], { env: h.env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`started: ${workflowIds.driftCheck(model)}`);
    expect(run.stdout).toMatch(/Temporal UI: http.*\/workflows\/drift-check%2Fdrift-[0-9a-f]+\/[0-9a-f-]{36}\/history/);
    expect(run.stdout).toMatch(/: dataset drift: \d of 5 column\(s\) drifted \(share [\d.]+\): .*location/);
    expect(run.stdout).toContain('1461 row(s) of the last 24 h (a sample of 1000)');
    expect(run.stdout).toContain(`signalled ${monitorWorkflowId(model)}`);
    expect(run.stdout).toMatch(/report: reports\/drift-[0-9a-f]+\/drift\/.*\.json \(HTML: .*\.html\)/);

    const result: DriftCheckResult = await h.client.workflow.getHandle(workflowIds.driftCheck(model)).result();
    expect(result).toMatchObject({ status: 'checked', champion: 'v1', monitor: 'signalled' });
    expect(result.rows).toEqual({ window: written.newYork, current: 1000, reference: 1000, snapshot: 1461, maxRows: 1000 });
    expect(result.signal!.drift).toBe(true);
    expect(result.signal!.share).toBeGreaterThanOrEqual(0.5);
    expect(result.drifted).toContain('location');
    expect(result.signal!.columns.find((c) => c.name === 'location')).toMatchObject({ drift: true });
    // The monitor received it: signal `drift` in its history, with the DriftSignal as its payload.
    expect(await driftSignalsReceived()).toEqual([result.signal]);
    // The reports are in S3.
    const report = (await getJsonIfExists<DriftCheckReport>(h.store, result.reportKey!))!.value;
    expect(report.drift).toBe(true);
    expect(report.columns.find((c) => c.name === 'location')!.unseen_categories).toEqual(['New York']);
    expect(report.check.current).toMatchObject({ rows: 1461, compared: 1000, parts: expect.any(Number) });
    expect((await h.store.get(result.htmlKey!)).toString('utf8')).toContain('Dataset drift detected');
    expect(await h.store.head(result.htmlKey!)).not.toBeNull();
    console.log(`New York: ${result.message}`);
  });

  it('a window with too few rows completes skipped with the reason, signalling nothing; so does a window with no log', async () => {
    const before = (await driftSignalsReceived()).length;
    // As of 29 h 45 min ago: only the first two Seattle requests (40 rows) are in the window.
    const few: DriftCheckResult = await (await check({ now: new Date(hoursAgo(30).getTime() + 15 * 60_000).toISOString() })).result();
    expect(few).toMatchObject({ status: 'skipped', monitor: 'not-signalled', champion: 'v1' });
    expect(few.rows.window).toBe(written.firstTwoSeattleRequests);
    expect(few.reason).toMatch(/^40 row\(s\) in the 24 h before .*, fewer than minRows \(100\)$/);
    expect(few.reportKey).toBeUndefined();
    const none: DriftCheckResult = await (await check({ now: hoursAgo(100).toISOString() })).result();
    expect(none).toMatchObject({ status: 'skipped', monitor: 'not-signalled', parts: 0 });
    expect(none.reason).toMatch(/^no prediction log in the 24 h before /);
    const description = await h.client.workflow.getHandle(workflowIds.driftCheck(model)).describe();
    expect(description.typedSearchAttributes.get(SA_STAGE)).toBe('skipped');
    expect((await driftSignalsReceived()).length).toBe(before);
  });

  it("perennial drift-check --schedule creates the Temporal Schedule with the spec's interval", async () => {
    const scheduleId = workflowIds.driftCheck(model);
    const created = await runPerennial(['drift-check', '--model', model, '--schedule'], { env: h.env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`schedule created: ${scheduleId}, every 15 minutes, overlap skip`);
    expect(created.stdout).toContain('policy: window 24 h, at least 100 rows, samples of at most 1000 rows; method auto, drift share 0.5');
    const handle = h.client.schedule.getHandle(scheduleId);
    const description = await handle.describe();
    await handle.pause('test: describe only');
    expect(description.spec.intervals).toMatchObject([{ every: 15 * 60_000 }]);
    expect(description.policies.overlap).toBe('SKIP');
    expect(description.action).toMatchObject({ type: 'startWorkflow', workflowType: 'DriftCheck', workflowId: scheduleId, taskQueue: h.config.taskQueue });
    expect(description.action.args).toEqual([{ model, requestedBy: `schedule:${scheduleId}` }]);
    // Run again with the same spec: nothing changes, and says so; a person's pause stays.
    const again = await runPerennial(['drift-check', '--model', model, '--schedule'], { env: h.env });
    expect(again.stdout).toContain(`schedule unchanged: ${scheduleId}, every 15 minutes, overlap skip`);
    expect((await handle.describe()).state.paused).toBe(true);

    const bad = await runPerennial(['drift-check', '--model', model, '--schedule', '--wait'], { env: h.env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--schedule creates or updates the Temporal Schedule of the check; it does not take --wait');
    const unknown = await runPerennial(['drift-check', '--model', `nospec-${uniqueId()}`], { env: h.env });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/has no spec at .*: upload one with/);
  });
});
