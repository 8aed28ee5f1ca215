/**
 * Production data becomes training data, on the real services: the weather
 * model (v1, trained on Seattle by the real pipeline) is served by
 * `createModelServer`; it answers real Seattle and New York rows of
 * weather.csv and receives their true labels (posted twice), a few flags and
 * one row with a value out of the schema. A pipeline run with the spec's
 * `feedback` source snapshots each labelled prediction once, quarantines the
 * bad row naming it, names the source in the manifest and lineage, and trains
 * v2 on New York rows. A part written again under another name and a source
 * that forgot what it pulled add nothing: the next run is `unchanged`. A
 * part of labels older than `maxAgeDays` is left out until the limit allows it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { IngestOutput } from '../../activities/types';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { createModelServer, type ModelServer } from '../../src/serve';
import { writeFeedbackParts, type JoinedFeedback } from '../../src/serve/feedback';
import { putParts } from '../../src/serve/parquet-parts';
import { publishSpec, type ModelSpec } from '../../src/spec';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { queryParquetBytes, queryStoredParts } from '../helpers/parquet-parts';
import { scrapeMetric } from '../helpers/programs';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

const model = `feedback-source-${uniqueId()}`;

let h: Harness;
let worker: { stop(): Promise<void> };
let spec: ModelSpec;
let spoolDir: string;
let server: ModelServer | undefined;

/** Rows of weather.csv as the model server receives them, with their true label. */
async function served(location: 'Seattle' | 'New York', year: number, every: number) {
  const { columns, rows } = await weatherRows(location);
  const at = (name: string) => columns.indexOf(name);
  return rows
    .filter((r) => String(r[at('date')]).startsWith(`${year}-`))
    .filter((_, i) => i % every === 0)
    .map((r) => ({
      instance: {
        location: r[at('location')] as string,
        date: r[at('date')] as string,
        precipitation: Number(r[at('precipitation')]),
        temp_max: Number(r[at('temp_max')]),
        temp_min: Number(r[at('temp_min')]),
        wind: Number(r[at('wind')]),
      },
      label: r[at('weather')] as string,
    }));
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  ({ spec } = await bootstrapWeather(h.store, { model }));
  const v1 = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(v1.outcome, v1.message).toBe('promoted');
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-feedback-source-'));
}, 600_000);

afterAll(async () => {
  await server?.close();
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describe('the feedback source', () => {
  it('turns served rows and their labels into training rows, each prediction once, New York included', async () => {
    server = await createModelServer({
      registry: h.registry,
      models: [model],
      pollMs: 250,
      predictionLog: { spoolDir, maxRows: 1000, maxSeconds: 1 },
      feedback: { maxSeconds: 0.5 },
      log: () => {},
    });
    const url = await server.listen(0, '127.0.0.1');
    const newYork = await served('New York', 2013, 12);
    const seattle = await served('Seattle', 2014, 36);
    const flagged = (await served('New York', 2014, 100)).slice(0, 2);
    // A sensor fault: served (the server does not check ranges), then refused by validate (wind max 60).
    const bad = { instance: { ...newYork[0]!.instance, date: '2014-06-15', wind: 99 }, label: 'rain' };
    const good = [...newYork, ...seattle];
    const all = [...good, bad, ...flagged];
    const answer = await fetch(`${url}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: all.map((r) => r.instance) }),
    });
    expect(answer.status).toBe(200);
    const ids = ((await answer.json()) as { prediction_ids: string[] }).prediction_ids;
    const items = [
      ...ids.slice(0, good.length + 1).map((predictionId, i) => ({ predictionId, label: all[i]!.label })),
      ...ids.slice(good.length + 1).map((predictionId) => ({ predictionId, flag: 'wrong' })),
    ];
    // The same labels twice, as a client that retries does.
    for (let i = 0; i < 2; i++) {
      const posted = await fetch(`${url}/v1/models/${model}/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      });
      expect(posted.status).toBe(200);
    }
    const labelsSent = good.length + 1;
    await waitFor('every label and flag joined', async () => (await scrapeMetric(url, 'perennial_serve_feedback_items_joined_total')) === items.length, 60);
    await server.close();
    server = undefined;
    const log = async () =>
      (await queryStoredParts<{ n: number }>(h.store, keys.feedbackLogs(model), (parts) => `SELECT count(*) AS n FROM ${parts}`)).rows[0]?.n ?? 0;
    await waitFor('the feedback parts stored', async () => (await log()) === items.length, 60);
    const logRows = await log();

    // The spec names the source; the gate only asks for a sound model: this test is about the data, not whether 40 rows beat v1.
    await publishSpec(h.store, {
      ...spec,
      data: { ...spec.data, sources: [{ kind: 'feedback', name: 'production' }] },
      evaluation: { ...spec.evaluation, gate: { minAccuracy: 0.5 } },
    });
    const v2 = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
    expect(v2.outcome, v2.message).toBe('promoted');

    const incoming = (await h.store.list(keys.incomingBatch(model, 'production/'))).map((o) => o.key);
    expect(incoming).toHaveLength(1);
    const lineage = (await h.registry.getLineage(model, v2.version!))!;
    expect(lineage.data.batches).toContain(incoming[0]);
    const manifest = JSON.parse((await h.store.get(keys.snapshotManifest(model, lineage.data.snapshotSha256))).toString());
    const fromFeedback = manifest.batches.filter((b: { source?: string }) => b.source === 'production');
    expect(fromFeedback).toMatchObject([{ key: incoming[0] }]);

    // The bad row is quarantined, named by its row in the batch (whose prediction_id column names the prediction).
    const rejected = JSON.parse((await h.store.get(keys.quarantinedRows(model, fromFeedback[0].sha256, incoming[0]!.split('/').pop()!))).toString());
    expect(rejected.errors).toHaveLength(1);
    expect(rejected.errors[0]).toMatchObject({ column: 'wind', reason: '99 is above the maximum 60' });
    const [badRow] = await queryParquetBytes(
      await h.store.get(incoming[0]!),
      (path) => `SELECT prediction_id FROM (SELECT *, row_number() OVER () AS n FROM read_parquet(${path})) WHERE n = ${rejected.errors[0].row}`,
    );
    expect(badRow!.prediction_id).toBe(ids[good.length]);

    // The snapshot v2 trained on: v1's 1461 Seattle days plus each good labelled row once; the New York rows are there.
    expect(lineage.data.rows).toBe(1461 + good.length);
    expect(good.length + rejected.errors.length).toBe(labelsSent);
    const snapshot = await h.store.get(lineage.data.snapshotKey);
    const [counts] = await queryParquetBytes(
      snapshot,
      (path) =>
        `SELECT count(*) FILTER (WHERE location = 'New York') AS ny, count(*) FILTER (WHERE location = 'New York' AND year(date) = 2013) AS ny2013 FROM read_parquet(${path})`,
    );
    expect(counts).toEqual({ ny: newYork.length, ny2013: newYork.length });
    // None in the time-based holdout (the newest rows): v2 was trained on every one of them.
    const [held] = await queryParquetBytes(
      snapshot,
      (path) =>
        `SELECT count(*) FILTER (WHERE location = 'New York') AS ny FROM (SELECT * FROM read_parquet(${path}) ORDER BY date DESC LIMIT ${lineage.data.holdoutRows})`,
    );
    expect(held).toEqual({ ny: 0 });

    // A part written again under another name, and a source that forgot what it pulled: every part is read again, nothing is new.
    const parts = (await h.store.list(keys.feedbackLogs(model))).map((o) => o.key);
    const copy = parts[0]!.replace(/[^/]+\.parquet$/, 'rewritten-copy.parquet');
    await h.store.put(copy, await h.store.get(parts[0]!));
    await h.store.delete(keys.sourceState(model, 'production'));
    const v3 = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
    expect(v3.outcome, v3.message).toBe('unchanged');
    expect((await h.store.list(keys.incomingBatch(model, 'production/'))).map((o) => o.key)).toEqual(incoming);
    const state = JSON.parse((await h.store.get(keys.sourceState(model, 'production'))).toString());
    expect(Object.keys(state.objects).sort()).toEqual([...parts, copy].sort());
    console.log(
      `feedback source: ${ids.length} predictions served (${newYork.length} New York, ${seattle.length} Seattle, 1 out of range, ${flagged.length} flagged), ` +
        `${labelsSent} labels sent twice; ${logRows} rows in ${parts.length} feedback part(s); ` +
        `batch ${incoming[0]!.split('/').pop()}: ${good.length} rows accepted, 1 quarantined (row ${rejected.errors[0].row}); ` +
        `v2 snapshot ${lineage.data.rows} rows (${newYork.length} New York), ${lineage.data.trainRows} train / ${lineage.data.holdoutRows} holdout; ` +
        `pulled again with a copy of a part (${await log()} rows in ${parts.length + 1} parts): ${v3.outcome}, still ${incoming.length} batch in incoming/production/`,
    );
  }, 900_000);

  it('leaves out parts of labels older than maxAgeDays, and pulls them once the limit allows', async () => {
    // A part of labels that arrived in January 2020, written by the server's own writer.
    const [row] = await served('New York', 2014, 1000);
    const joined = (id: string): JoinedFeedback => ({
      predictionId: id,
      feedbackTime: Date.parse('2020-01-05T12:00:00Z'),
      prediction: {
        predictionId: id,
        model,
        version: 'v1',
        arm: 'champion',
        time: Date.parse('2020-01-05T11:00:00Z'),
        inputs: row!.instance,
        task: 'classification',
        label: 'sun',
        probabilities: { drizzle: 0.1, fog: 0.1, rain: 0.2, snow: 0.1, sun: 0.5 },
      },
      label: row!.label,
    });
    const dir = await mkdtemp(join(tmpdir(), 'perennial-feedback-old-'));
    const kinds = { precipitation: 'number', temp_max: 'number', temp_min: 'number', wind: 'number', location: 'category', date: 'date' } as const;
    const old = await writeFeedbackParts([joined('old-1'), joined('old-2')], 'old-segment', dir, () => kinds);
    await putParts(h.store, old);
    await rm(dir, { recursive: true, force: true });
    expect(old[0]!.key).toContain('/feedback/dt=2020-01-05/');

    const activities = createPipelineActivities(h.deps);
    const env = new MockActivityEnvironment();
    const ingest = (): Promise<IngestOutput> => env.run((i: { model: string }) => activities.ingest(i), { model });
    const withSource = (source: { maxAgeDays?: number }) =>
      publishSpec(h.store, {
        ...spec,
        data: { ...spec.data, sources: [{ kind: 'feedback', name: 'production', ...source }] },
        evaluation: { ...spec.evaluation, gate: { minAccuracy: 0.5 } },
      });

    await withSource({ maxAgeDays: 30 });
    expect((await ingest()).batches).toEqual([]);
    const state = JSON.parse((await h.store.get(keys.sourceState(model, 'production'))).toString());
    expect(Object.keys(state.objects)).not.toContain(old[0]!.key);

    await withSource({});
    const batches = (await ingest()).batches;
    expect(batches.map((b) => b.source)).toEqual(['production']);
    const ids = await queryParquetBytes(await h.store.get(batches[0]!.key), (path) => `SELECT prediction_id, location FROM read_parquet(${path}) ORDER BY 1`);
    expect(ids).toEqual([
      { prediction_id: 'old-1', location: 'New York' },
      { prediction_id: 'old-2', location: 'New York' },
    ]);
    console.log(`maxAgeDays: a part of 2020-01-05 left out at 30 days, pulled without the limit (${ids.length} rows in ${batches[0]!.key.split('/').pop()})`);
  }, 120_000);
});
