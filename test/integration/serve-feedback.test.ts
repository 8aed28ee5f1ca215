/**
 * The feedback log on the real services: the weather model trained through
 * the real pipeline, served by `createModelServer` on the real S3 registry
 * with a bearer token, its joined feedback forwarded to `monitor/<model>` on
 * the real Temporal server (ModelMonitor on this test's worker).
 *
 * Predictions are made; labels are posted at once (joined from memory),
 * after the server was restarted (joined from the prediction log's Parquet
 * parts in S3), and for predictions still in the spool of a server that
 * keeps none in memory (pending until the log is uploaded); duplicates are
 * posted. Then the feedback Parquet holds each prediction once with the first
 * label and its correctness, and the receiver's `status` counts them per
 * version. Also: 401 without the token, 400 naming the bad item's index.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { createModelServer, monitorForwarder, type ModelServer } from '../../src/serve';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { monitorWorkflowId } from '../../workflows/definitions';
import { monitorStatusQuery } from '../../workflows/monitor';
import { queryStoredParts } from '../helpers/parquet-parts';
import { scrapeMetric } from '../helpers/programs';
import { weatherRequestRow } from '../helpers/weather';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field
type Body = any;

const model = `weather-feedback-${uniqueId()}`;
const TOKEN = `token-${uniqueId()}-${uniqueId()}`;
const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];

let h: Harness;
let worker: { stop(): Promise<void> };
let spoolDir: string;
let server: ModelServer | undefined;
let url: string;

async function start({ logSeconds = 1, ...options }: { recentPredictions?: number; logSeconds?: number } = {}): Promise<ModelServer> {
  const s = await createModelServer({
    registry: h.registry,
    models: [model],
    pollMs: 250,
    predictionLog: { spoolDir, maxRows: 1000, maxSeconds: logSeconds },
    feedback: { maxSeconds: 0.5, forwardBatch: 7, forward: monitorForwarder(async () => h.client, h.config.taskQueue), ...options },
    token: TOKEN,
    log: () => {},
  });
  url = await s.listen(0, '127.0.0.1');
  return s;
}

/** POSTs JSON, with the server's token unless `token` is another one or null (none). */
async function post(path: string, body: unknown, token: string | null = TOKEN) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Body, headers: response.headers };
}

/** Predictions made: id → the label the client received. */
const predicted = new Map<string, string>();

async function predict(from: number, rows: number): Promise<string[]> {
  const answer = await post(`/v1/models/${model}:predict`, { instances: Array.from({ length: rows }, (_, i) => weatherRequestRow(from + i)) }, null);
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  const ids = answer.body.prediction_ids as string[];
  ids.forEach((id, i) => predicted.set(id, answer.body.predictions[i].label));
  return ids;
}

/** The label sent for prediction i of a list: the predicted one for even i (correct), another class for odd i. */
const labelFor = (id: string, i: number) => (i % 2 === 0 ? predicted.get(id)! : CLASSES.find((c) => c !== predicted.get(id))!);

async function metric(name: string): Promise<number> {
  return (await scrapeMetric(url, name)) ?? 0;
}

async function readFeedback() {
  return queryStoredParts<{
    prediction_id: string;
    version: string;
    arm: string;
    label: string | null;
    flag: string | null;
    correct: boolean | null;
    predicted_label: string;
    ft: number;
    pt: number;
    inputs: string;
  }>(
    h.store,
    keys.feedbackLogs(model),
    (parts) =>
      `SELECT prediction_id, version, arm, label, flag, correct, predicted_label, epoch_ms(feedback_time) AS ft, epoch_ms(prediction_time) AS pt, to_json(inputs) AS inputs FROM ${parts}`,
  );
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model });
  const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(result.outcome, result.message).toBe('promoted');
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-feedback-spool-'));
}, 600_000);

afterAll(async () => {
  await server?.close();
  await h?.client.workflow
    .getHandle(monitorWorkflowId(model))
    .terminate('test over')
    .catch(() => {});
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describe('feedback on perennial serve', () => {
  it('checks the token and each item, and answers once the labels are spooled', async () => {
    server = await start();
    const [id] = await predict(0, 1);
    const body = { predictionId: id, label: predicted.get(id!) };
    const none = await post(`/v1/models/${model}/feedback`, body, null);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(none.body.error).toMatch(/Authorization: Bearer <token>/);
    expect((await post(`/v1/models/${model}/feedback`, body, 'wrong-token')).status).toBe(401);
    expect((await post(`/v1/models/no-such-model/feedback`, body)).status).toBe(404);
    const bad = await post(`/v1/models/${model}/feedback`, {
      items: [
        { predictionId: id, label: 'sun' },
        { predictionId: id, label: 'hail' },
      ],
    });
    expect(bad).toMatchObject({
      status: 400,
      body: { error: "item 1 (items[1]): 'label' 'hail' is not one of the model's classes (drizzle, fog, rain, snow, sun)" },
    });
    expect((await post(`/v1/models/${model}/feedback`, { items: [{ predictionId: id }] })).body.error).toMatch(/^item 0 \(items\[0\]\): send a 'label'/);
    // Inference stays open; the good request is accepted once spooled.
    const ok = await post(`/v1/models/${model}/feedback`, body);
    expect(ok).toMatchObject({ status: 200, body: { model, accepted: 1 } });
    expect(await metric('perennial_serve_feedback_items_received_total')).toBe(1);
    expect(await metric('perennial_serve_feedback_requests_rejected_total')).toBe(5);
  });

  it('joins labels from memory, from the S3 log after a restart, and pending ones; duplicates count once; the monitor counts per version', async () => {
    const first = [...predicted.keys()][0]!;
    // Served by the first server: half labelled now (joined from memory), one flagged, one duplicated within the batch.
    const a = await predict(100, 20);
    const now = a.slice(0, 9).map((id, i) => ({ predictionId: id, label: labelFor(id, i) }));
    expect(
      (await post(`/v1/models/${model}/feedback`, { items: [...now, { predictionId: a[9], flag: 'wrong' }, { predictionId: a[0], label: 'snow' }] })).status,
    ).toBe(200);
    await waitFor('the first labels joined', async () => (await metric('perennial_serve_feedback_items_joined_total')) === 11, 30);
    expect(await metric('perennial_serve_feedback_duplicates_total')).toBe(1);
    // A clean stop: the prediction log is uploaded; the next server has none of these predictions in memory.
    await server!.close();
    // No memory, and the prediction log uploaded 3 s after an answer: the labels of its own predictions must wait.
    server = await start({ recentPredictions: 0, logSeconds: 3 });
    const later = a.slice(10).map((id, i) => ({ predictionId: id, label: labelFor(id, i + 10) }));
    const dups = a.slice(0, 3).map((id) => ({ predictionId: id, label: 'fog' }));
    expect((await post(`/v1/models/${model}/feedback`, { items: [...later, ...dups, { predictionId: first, label: 'drizzle' }] })).status).toBe(200);
    // Predictions of this server, labelled at once: they are only in its spool (no memory here), so the labels wait for the upload.
    const b = await predict(500, 5);
    expect((await post(`/v1/models/${model}/feedback`, { items: b.map((id, i) => ({ predictionId: id, label: labelFor(id, i) })) })).status).toBe(200);
    let mostPending = 0;
    await waitFor(
      'every label joined, nothing pending, everything forwarded',
      async () => {
        const pending = await metric('perennial_serve_feedback_pending_items');
        mostPending = Math.max(mostPending, pending);
        return (
          pending === 0 &&
          (await metric('perennial_serve_feedback_items_joined_total')) === 15 &&
          (await metric('perennial_serve_feedback_items_forwarded_total')) === 15
        );
      },
      60,
    );
    expect(await metric('perennial_serve_feedback_duplicates_total')).toBe(4);
    // The five labels of predictions still in the spool waited (pending), and were joined once the log had them.
    expect(mostPending).toBe(b.length);
    expect(await metric('perennial_serve_feedback_forward_failures_total')).toBe(0);

    // The feedback log: each prediction once, the first label, its correctness.
    const expected = new Map<string, { label: string | null; flag: string | null }>();
    expected.set(first, { label: predicted.get(first)!, flag: null });
    now.forEach((x) => expected.set(x.predictionId, { label: x.label, flag: null }));
    expected.set(a[9]!, { label: null, flag: 'wrong' });
    later.forEach((x) => expected.set(x.predictionId, { label: x.label, flag: null }));
    b.forEach((id, i) => expected.set(id, { label: labelFor(id, i), flag: null }));
    const log = await readFeedback();
    const counts = new Map<string, number>();
    for (const r of log.rows) counts.set(r.prediction_id, (counts.get(r.prediction_id) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(new Set(counts.keys())).toEqual(new Set(expected.keys()));
    for (const r of log.rows) {
      const want = expected.get(r.prediction_id)!;
      expect({ label: r.label, flag: r.flag }, r.prediction_id).toEqual(want);
      expect(r.predicted_label).toBe(predicted.get(r.prediction_id));
      expect(r.correct).toBe(want.label === null ? null : want.label === predicted.get(r.prediction_id));
      expect([r.version, r.arm]).toEqual(['v1', 'champion']);
      expect(r.ft).toBeGreaterThanOrEqual(r.pt);
      expect(Object.keys(JSON.parse(r.inputs)).sort()).toEqual(['date', 'location', 'precipitation', 'temp_max', 'temp_min', 'wind']);
    }
    expect(log.parts.every((k) => /\/feedback\/dt=\d{4}-\d{2}-\d{2}\/[^/]+\.parquet$/.test(k))).toBe(true);

    // The monitor (ModelMonitor, started by the first forward) has every item once, counted for v1.
    const status = await h.client.workflow.getHandle(monitorWorkflowId(model)).query(monitorStatusQuery);
    expect(status).toMatchObject({ model, champion: 'v1', counters: { items: expected.size, dropped: 0 } });
    expect(status.live.v1!.all).toMatchObject({ labels: expected.size - 1, flags: 1 });
    console.log(
      `feedback: ${expected.size} predictions labelled (${now.length + 2} from memory, ${later.length} from the S3 log after a restart, ${b.length} pending until uploaded), ` +
        `4 duplicates dropped; ${log.rows.length} rows in ${log.parts.length} Parquet part(s); monitor live figures of v1 ${JSON.stringify(status.live.v1!.all)}, ${status.counters.duplicates} duplicates at the monitor`,
    );
  });
});
