/**
 * Segments in forwarded feedback, on the real services: the weather model
 * trained through the real pipeline with `monitoring.segments: [location]`,
 * served by `createModelServer` on the real S3 registry, its joined feedback
 * forwarded to `monitor/<model>` on the real Temporal server (ModelMonitor on
 * this test's worker).
 *
 * Labels of rows from Seattle, New York and with no location come back; then
 * a second version whose own spec names no segments is promoted and answers.
 * The `feedback` signals in the monitor's history carry, per item, the
 * location the served row had ("(missing)" for none) for v1, and no segment
 * for v2: the spec of the version that answered decides, not the one in force.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { createModelServer, monitorForwarder, type ModelServer } from '../../src/serve';
import { publishSpec, readPublishedSpecBytes, type ModelSpec } from '../../src/spec';
import { BUNDLE_FILES, type BundleFile } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { FEEDBACK_SIGNAL, type FeedbackSignal, type FeedbackSignalItem } from '../../src/temporal/monitor-contract';
import { monitorWorkflowId } from '../../workflows/definitions';
import { monitorStatusQuery } from '../../workflows/monitor';
import { scrapeMetric } from '../helpers/programs';
import { weatherRequestRow } from '../helpers/weather';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field
type Body = any;

const model = `weather-segments-${uniqueId()}`;

let h: Harness;
let worker: { stop(): Promise<void> };
let spoolDir: string;
let server: ModelServer | undefined;
let url: string;
let spec: ModelSpec;

async function post(path: string, body: unknown) {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Body };
}

/** Predicts `rows`; answers the ids, the version that answered, and the label each got. */
async function predict(rows: Record<string, unknown>[]): Promise<{ ids: string[]; version: string; labels: string[] }> {
  const answer = await post(`/v1/models/${model}:predict`, { instances: rows });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return { ids: answer.body.prediction_ids, version: answer.body.model_version, labels: answer.body.predictions.map((p: Body) => p.label) };
}

/** The items of every `feedback` signal in the monitor's history, by prediction id. */
async function forwardedItems(): Promise<Map<string, FeedbackSignalItem>> {
  const history = await h.client.workflow.getHandle(monitorWorkflowId(model)).fetchHistory();
  const items = new Map<string, FeedbackSignalItem>();
  for (const e of history.events ?? []) {
    const signaled = e.workflowExecutionSignaledEventAttributes;
    if (signaled?.signalName !== FEEDBACK_SIGNAL) continue;
    for (const item of defaultPayloadConverter.fromPayload<FeedbackSignal>(signaled.input!.payloads![0]!).items) items.set(item.predictionId, item);
  }
  return items;
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  // Seattle 2012-2015, three epochs, no gate: this test is about the feedback, not the model.
  const boot = await bootstrapWeather(h.store, { model });
  spec = { ...boot.spec, model: { ...boot.spec.model, epochs: 3 }, evaluation: { ...boot.spec.evaluation, gate: {} } };
  await publishSpec(h.store, { ...spec, monitoring: { ...spec.monitoring, segments: ['location'] } });
  const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(result.outcome, result.message).toBe('promoted');
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-segments-spool-'));
  server = await createModelServer({
    registry: h.registry,
    models: [model],
    pollMs: 250,
    predictionLog: { spoolDir, maxRows: 1000, maxSeconds: 1 },
    feedback: { maxSeconds: 0.5, forwardBatch: 4, forward: monitorForwarder(async () => h.client, h.config.taskQueue) },
    log: () => {},
  });
  url = await server.listen(0, '127.0.0.1');
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

describe('segments in forwarded feedback', () => {
  it("carries the served row's value of each segment column, by the answering version's own spec", async () => {
    // v1: Seattle and New York rows, and rows with no location (null).
    const rows = Array.from({ length: 9 }, (_, i) => weatherRequestRow(i) as Record<string, unknown>);
    rows.push({ ...weatherRequestRow(9), location: null }, { ...weatherRequestRow(10), location: null });
    const v1 = await predict(rows);
    expect(v1.version).toBe('v1');
    const expected = new Map<string, Record<string, string> | undefined>(
      v1.ids.map((id, i) => [id, { location: (rows[i]!.location as string | null) ?? '(missing)' }]),
    );
    expect(new Set([...expected.values()].map((s) => s!.location))).toEqual(new Set(['Seattle', 'New York', '(missing)']));
    const labelled = await post(`/v1/models/${model}/feedback`, { items: v1.ids.map((id, i) => ({ predictionId: id, label: v1.labels[i] })) });
    expect(labelled.status).toBe(200);
    const forwarded = (n: number) => async () => ((await scrapeMetric(url, 'perennial_serve_feedback_items_forwarded_total')) ?? 0) === n;
    await waitFor('the labels of v1 forwarded', forwarded(v1.ids.length), 30);

    // v2: v1's files with a spec that names no segments, promoted; the spec in force still names them.
    const v1Lineage = (await h.registry.getLineage(model, 'v1'))!;
    const plain = await publishSpec(h.store, spec);
    await publishSpec(h.store, { ...spec, monitoring: { ...spec.monitoring, segments: ['location'] } });
    const { version: _v, artifacts, createdAt: _c, ...rest } = v1Lineage;
    const files = await Promise.all(
      artifacts.map(async (a) => ({
        name: a.name as BundleFile,
        body: a.name === BUNDLE_FILES.spec ? await readPublishedSpecBytes(h.store, model, plain.sha256) : await h.store.get(a.key),
      })),
    );
    const v2 = await h.registry.register(
      model,
      files,
      { ...rest, spec: { sha256: plain.sha256, key: plain.key }, workflow: { id: `segments-test/v2`, runId: `v2-${uniqueId()}` } },
      new Date(),
    );
    await h.registry.promote(model, v2.version, 'segments-test', new Date());
    await waitFor('the server answering with v2', async () => (await predict([weatherRequestRow(0)])).version === v2.version, 10);
    const later = await predict([weatherRequestRow(20), weatherRequestRow(21), { ...weatherRequestRow(22), location: null }]);
    expect(later.version).toBe(v2.version);
    for (const id of later.ids) expected.set(id, undefined);
    expect((await post(`/v1/models/${model}/feedback`, { items: later.ids.map((id, i) => ({ predictionId: id, label: later.labels[i] })) })).status).toBe(200);
    await waitFor('the labels of v2 forwarded', forwarded(expected.size), 30);

    const items = await forwardedItems();
    expect(new Set(items.keys())).toEqual(new Set(expected.keys()));
    for (const [id, segment] of expected) {
      const item = items.get(id)!;
      expect(item.version, id).toBe(v1.ids.includes(id) ? 'v1' : v2.version);
      expect(item.segment, id).toEqual(segment);
    }
    const status = await h.client.workflow.getHandle(monitorWorkflowId(model)).query(monitorStatusQuery);
    expect(status.counters).toMatchObject({ items: expected.size, dropped: 0 });
    const count = (where: string) => [...expected.values()].filter((s) => s?.location === where).length;
    console.log(
      `segments: ${v1.ids.length} labels of v1 forwarded with their location (Seattle ${count('Seattle')}, New York ${count('New York')}, (missing) ${count('(missing)')}), ` +
        `${later.ids.length} of ${v2.version} (spec without segments) with none; the monitor counted ${status.counters.items} in ${status.counters.signals} signals`,
    );
  });
});
