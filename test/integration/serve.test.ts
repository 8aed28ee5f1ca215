/**
 * The model server on the real services: models trained through the real
 * pipeline (weather, and flights on every 200th flight), served from the real
 * S3 registry by `createModelServer` on a free port, asked over HTTP as a
 * client would. No mock of S3, of tfjs or of the model.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshot } from '../../activities/datasets';
import { cellAt, splitByTime, type ColumnTable } from '../../src/data';
import { bootstrapFlights } from '../../src/demo/flights';
import { bootstrapWeather } from '../../src/demo/weather';
import { loadModel, predict, selectBackend } from '../../src/model';
import { decodeRegression, labeledRowIndexes, tableEncoder } from '../../src/preprocess';
import { loadBundle, type Lineage } from '../../src/registry';
import { createModelServer, type ModelServer } from '../../src/serve';
import type { BundleFile } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field by the assertions
type Body = any;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const weather = `weather-serve-${uniqueId()}`;
const flights = `flights-serve-${uniqueId()}`;
const BODY_LIMIT = 2 * 1024 * 1024;
const TRITON = findTritonPython();

let h: Harness;
let worker: { stop(): Promise<void> };
let server: ModelServer;
let url: string;
const logs: string[] = [];

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

async function get(path: string) {
  const response = await fetch(`${url}${path}`);
  const text = await response.text();
  return { status: response.status, text, body: response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : undefined };
}

/** The holdout rows of a version's snapshot, split exactly as the pipeline split them. */
async function holdoutOf(model: string, lineage: Lineage) {
  const bundle = await loadBundle(h.registry, model, lineage.version);
  const table = await readSnapshot(h.store, bundle.spec, {
    key: lineage.data.snapshotKey,
    sha256: lineage.data.snapshotSha256,
    fileSha256: lineage.data.snapshotFileSha256,
    rows: lineage.data.rows,
    batches: [], // readSnapshot reads only the key and the file's sha256
  });
  const labeled = labeledRowIndexes(table, bundle.spec.label);
  const { holdout } = splitByTime(table, labeled, bundle.spec.evaluation.holdoutFraction, bundle.spec.data.timeColumn);
  return { bundle, table, holdout };
}

/**
 * What the evaluate stage computes for these rows (src/model/tasks.ts
 * scoreTable): the saved preprocessor's encoder with its options, the tfjs
 * model loaded from the stored bytes, predict. Independent of src/serve.
 */
async function evaluateScoring(bundle: Awaited<ReturnType<typeof loadBundle>>, table: ColumnTable, rows: Int32Array): Promise<Float32Array> {
  const { tf } = await selectBackend(undefined, { log: () => {} });
  const model = await loadModel(tf, bundle.model);
  try {
    const { x } = tableEncoder(bundle.preprocessor.preprocessor, table, { invalidValues: 'impute', absentColumns: 'impute' })(rows);
    return await predict(model, x, { tf });
  } finally {
    model.dispose();
  }
}

/** Rows of a table as the V2 request a pandas-codec client sends: one tensor per feature column. */
function v2Request(table: ColumnTable, rows: Int32Array, inputs: { name: string; datatype: string }[], id = 'req-1') {
  return {
    id,
    inputs: inputs.map((input) => ({
      name: input.name,
      datatype: input.datatype,
      shape: [rows.length, 1],
      data: Array.from(rows, (r) => cellAt(table.columns.get(input.name)!, r)),
    })),
  };
}

function rowObjects(table: ColumnTable, rows: Int32Array, names: string[]) {
  return Array.from(rows, (r) => Object.fromEntries(names.map((n) => [n, cellAt(table.columns.get(n)!, r)])));
}

const WEATHER_ROW = { precipitation: 0, temp_max: 20, temp_min: 10, wind: 3, location: 'Seattle', date: '2015-06-01' };

function v2Row(row: Record<string, unknown>, datatypes: Record<string, string> = {}) {
  return {
    inputs: Object.entries(row).map(([name, value]) => ({
      name,
      datatype: datatypes[name] ?? (typeof value === 'number' ? 'FP64' : 'BYTES'),
      shape: [1],
      data: [value],
    })),
  };
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model: weather });
  await bootstrapFlights(h.store, { model: flights, everyNth: 200 });
  const results = await Promise.all(
    [weather, flights].map(async (model) => (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result()),
  );
  for (const r of results) expect(r.outcome, r.message).toBe('promoted');
  server = await createModelServer({
    registry: h.registry,
    models: [weather, flights],
    pollMs: 250,
    retryRefusedMs: 1000,
    bodyLimitBytes: BODY_LIMIT,
    log: (line) => logs.push(line),
  });
  url = await server.listen(0, '127.0.0.1');
}, 600_000);

afterAll(async () => {
  await server?.close();
  await worker?.stop();
  await h?.close();
});

describe('perennial serve on the real registry', () => {
  it('answers health and metadata: every input with its datatype, the outputs, the version', async () => {
    expect((await get('/v2/health/live')).status).toBe(200);
    expect((await get('/v2/health/ready')).body).toEqual({ ready: true });
    expect((await get(`/v2/models/${weather}/ready`)).status).toBe(200);
    const meta = (await get(`/v2/models/${weather}`)).body;
    expect(meta.name).toBe(weather);
    expect(meta.versions).toEqual(['v1']);
    expect(meta.inputs.map((i: Body) => [i.name, i.datatype])).toEqual([
      ['precipitation', 'FP64'],
      ['temp_max', 'FP64'],
      ['temp_min', 'FP64'],
      ['wind', 'FP64'],
      ['location', 'BYTES'],
      ['date', 'BYTES'],
    ]);
    expect(meta.inputs.every((i: Body) => JSON.stringify(i.shape) === '[-1,1]')).toBe(true);
    expect(meta.outputs.map((o: Body) => o.name)).toEqual(['label', 'probabilities']);
    expect(meta.outputs[1].parameters.classes).toEqual(['drizzle', 'fog', 'rain', 'snow', 'sun']);
    const flightsMeta = (await get(`/v2/models/${flights}`)).body;
    expect(flightsMeta.inputs.map((i: Body) => [i.name, i.datatype])).toEqual([
      ['distance', 'FP64'],
      ['origin', 'BYTES'],
      ['destination', 'BYTES'],
      ['date', 'BYTES'],
    ]);
    expect(flightsMeta.outputs).toEqual([{ name: 'prediction', datatype: 'FP64', shape: [-1] }]);
  });

  it('weather: V2 answers on the holdout rows equal the evaluate stage scoring within 1e-6, and their accuracy is the recorded one', async () => {
    const lineage = (await h.registry.getLineage(weather, 'v1'))!;
    const { bundle, table, holdout } = await holdoutOf(weather, lineage);
    expect(holdout.length).toBe(lineage.data.holdoutRows);
    const reference = await evaluateScoring(bundle, table, holdout);
    const meta = (await get(`/v2/models/${weather}`)).body;
    const { status, body } = await post(`/v2/models/${weather}/infer`, v2Request(table, holdout, meta.inputs, 'holdout-1'));
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.model_name).toBe(weather);
    expect(body.model_version).toBe('v1');
    expect(body.id).toBe('holdout-1');
    expect(body.parameters.prediction_ids).toHaveLength(holdout.length);
    expect(new Set(body.parameters.prediction_ids).size).toBe(holdout.length);
    const probabilities = body.outputs.find((o: Body) => o.name === 'probabilities');
    expect(probabilities.shape).toEqual([holdout.length, 5]);
    let worst = 0;
    reference.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - probabilities.data[i]))));
    expect(worst).toBeLessThanOrEqual(1e-6);
    // Accuracy from the server's labels against the true labels = what the evaluate stage recorded for v1.
    const labels: string[] = body.outputs.find((o: Body) => o.name === 'label').data;
    const truth = Array.from(holdout, (r) => cellAt(table.columns.get('weather')!, r));
    const accuracy = labels.filter((l, i) => l === truth[i]).length / labels.length;
    expect(lineage.metrics.task).toBe('classification');
    expect(accuracy).toBeCloseTo(lineage.metrics.task === 'classification' ? lineage.metrics.accuracy : NaN, 12);

    // V1 rows: the same answers for the same rows.
    const some = holdout.subarray(0, 20);
    const v1 = await post(`/v1/models/${weather}:predict`, {
      instances: rowObjects(
        table,
        some,
        meta.inputs.map((i: Body) => i.name),
      ),
    });
    expect(v1.status, JSON.stringify(v1.body)).toBe(200);
    expect(v1.body.model_version).toBe('v1');
    expect(v1.body.prediction_ids).toHaveLength(20);
    expect(v1.body.predictions.map((p: Body) => p.label)).toEqual(labels.slice(0, 20));
    expect(v1.body.predictions[3].probabilities.rain).toBe(probabilities.data[3 * 5 + 2]);
  });

  it('flights (regression): predictions on the holdout equal the evaluate stage scoring, and their RMSE is the recorded one', async () => {
    const lineage = (await h.registry.getLineage(flights, 'v1'))!;
    const { bundle, table, holdout } = await holdoutOf(flights, lineage);
    const labels = bundle.preprocessor.labels;
    if (labels.kind !== 'regression') throw new Error('flights is a regression');
    const reference = decodeRegression(labels, await evaluateScoring(bundle, table, holdout));
    const meta = (await get(`/v2/models/${flights}`)).body;
    const { status, body } = await post(`/v2/models/${flights}/versions/v1/infer`, v2Request(table, holdout, meta.inputs));
    expect(status, JSON.stringify(body)).toBe(200);
    const predicted: number[] = body.outputs[0].data;
    expect(predicted).toHaveLength(holdout.length);
    let worst = 0;
    reference.forEach((p, i) => (worst = Math.max(worst, Math.abs(p - predicted[i]!))));
    expect(worst).toBeLessThanOrEqual(1e-6);
    const delay = table.columns.get('delay')!;
    const rmse = Math.sqrt(predicted.reduce((s, p, i) => s + (p - (cellAt(delay, holdout[i]!) as number)) ** 2, 0) / predicted.length);
    expect(lineage.metrics.task).toBe('regression');
    expect(rmse).toBeCloseTo(lineage.metrics.task === 'regression' ? lineage.metrics.rmse : NaN, 6);
    const v1 = await post(`/v1/models/${flights}:predict`, {
      instances: rowObjects(table, holdout.subarray(0, 3), ['distance', 'origin', 'destination', 'date']),
    });
    expect(v1.body.predictions).toEqual(predicted.slice(0, 3));
  });

  it('refuses malformed rows with a 400 naming the column and the problem, and keeps serving', async () => {
    const infer = (body: unknown) => post(`/v2/models/${weather}/infer`, body);
    const { wind: _wind, ...noWind } = WEATHER_ROW;
    let r = await infer(v2Row(noWind));
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^missing input 'wind': the model reads precipitation, temp_max, temp_min, wind, location, date/);

    r = await infer(v2Row({ ...WEATHER_ROW, temp_max: 'warm' }));
    expect(r.body.error).toBe("input 'temp_max': the model reads it as a number and needs a number tensor (FP32, FP64, INT32 or INT64), not BYTES");
    r = await infer(v2Row({ ...WEATHER_ROW, temp_max: 'warm' }, { temp_max: 'FP64' }));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("input 'temp_max', row 1: expected a number, found 'warm'");

    r = await infer(v2Row({ ...WEATHER_ROW, date: 'yesterday' }));
    expect(r.body.error).toBe("input 'date', row 1: expected an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found 'yesterday'");
    r = await infer(v2Row({ ...WEATHER_ROW, date: null }));
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("input 'date', row 1: the date is missing, and the model's schema does not allow a missing 'date'; send a value");

    // Python's json writes NaN and Infinity as bare words: NaN is a missing value where the schema allows one (imputed as training did)...
    const nanBody = JSON.stringify(v2Row({ ...WEATHER_ROW, wind: 0.5 })).replace('[0.5]', '[NaN]');
    const withNaN = await infer(nanBody);
    expect(withNaN.status, JSON.stringify(withNaN.body)).toBe(200);
    const withNull = await infer(v2Row({ ...WEATHER_ROW, wind: null }, { wind: 'FP64' }));
    expect(withNaN.body.outputs[1].data).toEqual(withNull.body.outputs[1].data);
    // ...Infinity never is.
    r = await infer(nanBody.replace('[NaN]', '[Infinity]'));
    expect(r.body.error).toBe("input 'wind', row 1: Infinity is not a finite number");

    // An unseen category is valid: the preprocessor's '__other__' slot takes it.
    r = await infer(v2Row({ ...WEATHER_ROW, location: 'Paris' }));
    expect(r.status).toBe(200);

    r = await infer({
      inputs: [...v2Row(WEATHER_ROW).inputs.slice(0, 5), { name: 'date', datatype: 'BYTES', shape: [2], data: ['2015-06-01', '2015-06-02'] }],
    });
    expect(r.body.error).toBe("input 'date' has 2 rows and input 'precipitation' has 1: every input needs one value per row");

    r = await post(`/v1/models/${weather}:predict`, { instances: [WEATHER_ROW, { ...WEATHER_ROW, temp_min: 'cold' }] });
    expect(r.status).toBe(400);
    expect(r.body.error).toBe("column 'temp_min', row 2 (instances[1]): expected a number, found 'cold'");
    r = await post(`/v1/models/${weather}:predict`, { instances: [noWind] });
    expect(r.body.error).toMatch(/^row 1 \(instances\[0\]\) has no column 'wind'/);

    r = await infer('{"inputs": [');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatch(/^the request body is not valid JSON/);

    // 404s: an unknown model, a version not loaded, a route that does not exist.
    r = await post('/v2/models/no-such-model/infer', v2Row(WEATHER_ROW));
    expect(r.status).toBe(404);
    expect(r.body.error).toBe(`model 'no-such-model' is not served here; this server serves ${weather}, ${flights}`);
    r = await post(`/v2/models/${weather}/versions/v9/infer`, v2Row(WEATHER_ROW));
    expect(r.status).toBe(404);
    expect(r.body.error).toMatch(/^version 'v9' of model '.*' is not loaded; this server answers with v1/);
    expect((await get('/v2/nothing')).status).toBe(404);

    // 413 over the body limit, in the OIP error form.
    const big = { inputs: [{ name: 'wind', datatype: 'FP64', shape: [600_000], data: new Array(600_000).fill(1.25) }] };
    r = await infer(big);
    expect(r.status).toBe(413);
    expect(r.body.error).toBe(
      `the request body is larger than this server's limit of ${BODY_LIMIT} bytes (perennial serve --body-limit); send fewer rows per request`,
    );

    // Still serving.
    r = await infer(v2Row(WEATHER_ROW));
    expect(r.status).toBe(200);
    expect(r.body.model_version).toBe('v1');
  });

  it.skipIf(!TRITON.python && !TRITON.required)("an off-the-shelf OIP client (Triton's tritonclient.http) works unchanged", async () => {
    const python = TRITON.python;
    if (!python) throw new Error(`tritonclient is required here (PERENNIAL_REQUIRE_TRITONCLIENT=1) but ${TRITON.missing}`);
    const lineage = (await h.registry.getLineage(weather, 'v1'))!;
    const { table, holdout } = await holdoutOf(weather, lineage);
    const rows = holdout.subarray(0, 25);
    const names = ['precipitation', 'temp_max', 'temp_min', 'wind', 'location', 'date'];
    const file = join(await mkdtemp(join(tmpdir(), 'oip-')), 'rows.json');
    await writeFile(file, JSON.stringify(rowObjects(table, rows, names)));
    const ours = await post(
      `/v2/models/${weather}/infer`,
      v2Request(
        table,
        rows,
        names.map((name) => ({ name, datatype: name === 'location' || name === 'date' ? 'BYTES' : 'FP64' })),
      ),
    );
    for (const mode of [[], ['--json-data']]) {
      const { stdout } = await promisify(execFile)(
        python,
        ['scripts/reference/oip_client.py', '--url', url.replace('http://', ''), '--model', weather, '--rows', file, ...mode],
        { cwd: ROOT },
      );
      const answer = JSON.parse(stdout);
      expect(answer.live && answer.ready && answer.model_ready).toBe(true);
      expect(answer.model_version).toBe('v1');
      expect(answer.id).toBe('oip-client-1');
      expect(answer.prediction_ids).toHaveLength(25);
      expect(answer.outputs.label).toEqual(ours.body.outputs[0].data);
      expect(answer.outputs.probabilities.flat()).toEqual(ours.body.outputs[1].data);
    }
  });

  it('follows a promotion within 2 s with no failed request, refuses a tampered version and keeps traffic, heals, and follows a rollback', async () => {
    const v1 = (await h.registry.getLineage(weather, 'v1'))!;
    /** A new version with v1's files (its own run id), as register makes one. */
    const register = async (tag: string) => {
      const { version: _v, artifacts, createdAt: _c, ...rest } = v1;
      const bundle = await Promise.all(artifacts.map(async (a) => ({ name: a.name as BundleFile, body: await h.store.get(a.key) })));
      return h.registry.register(weather, bundle, { ...rest, workflow: { id: `serve-test/${tag}`, runId: `${tag}-${uniqueId()}` } }, new Date());
    };
    // A client loop keeps sending single-row requests through every switch.
    const answers: { at: number; status: number; version?: string; error?: string }[] = [];
    let running = true;
    const client = async () => {
      while (running) {
        try {
          const r = await post(`/v2/models/${weather}/infer`, v2Row(WEATHER_ROW));
          answers.push({ at: Date.now(), status: r.status, version: r.body.model_version, error: r.body.error });
        } catch (error) {
          answers.push({ at: Date.now(), status: 0, error: (error as Error).message });
        }
      }
    };
    const loops = [client(), client()];
    const servedAfter = async (version: string, since: number) => {
      await waitFor(`the server answering with ${version}`, () => answers.some((a) => a.at >= since && a.version === version), 5);
      return answers.find((a) => a.at >= since && a.version === version)!.at - since;
    };
    try {
      await new Promise((r) => setTimeout(r, 300));
      const v2 = await register('v2');
      await h.registry.promote(weather, v2.version, 'serve-test', new Date());
      const promoted = Date.now();
      const switchMs = await servedAfter(v2.version, promoted);
      expect(switchMs).toBeLessThanOrEqual(2000);
      // Once switched, never back.
      const firstV2 = answers.findIndex((a) => a.version === v2.version);
      await new Promise((r) => setTimeout(r, 300));
      expect(answers.slice(firstV2).every((a) => a.version === v2.version)).toBe(true);

      // v3 whose weights no longer match their sha256: refused, logged, traffic stays on v2.
      const v3 = await register('v3');
      const weights = v3.artifacts.find((a) => a.name === 'weights.bin')!;
      const good = await h.store.get(weights.key);
      const bad = Buffer.from(good);
      bad[100] = bad[100]! ^ 0xff;
      await h.store.put(weights.key, bad);
      await h.registry.promote(weather, v3.version, 'serve-test', new Date());
      const tampered = Date.now();
      await waitFor('the refusal of the tampered version', () => logs.some((l) => l.includes(`refused ${weather}/${v3.version}`)), 5);
      await new Promise((r) => setTimeout(r, 1500));
      expect(answers.filter((a) => a.at >= tampered).every((a) => a.version === v2.version)).toBe(true);
      const meta = (await get(`/v2/models/${weather}`)).body;
      expect(meta.versions).toEqual([v2.version]);
      expect(meta.parameters.champion).toBe(v3.version);
      expect(meta.parameters.refused[0].reason).toContain(`checksum mismatch for ${weights.key}`);
      expect((await get(`/v2/models/${weather}/ready`)).status).toBe(200);

      // The bytes restored: the version is loaded on the next try, no restart.
      await h.store.put(weights.key, good);
      const healed = Date.now();
      expect(await servedAfter(v3.version, healed)).toBeLessThanOrEqual(1000 + 2000);

      // A rollback (the champion set back to the previous version) is followed too.
      await h.registry.updateAliases(weather, (a) => ({ ...a, champion: a.previous, previous: a.champion }));
      const rolledBack = Date.now();
      expect(await servedAfter(v2.version, rolledBack)).toBeLessThanOrEqual(2000);
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const failed = answers.filter((a) => a.status !== 200);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(answers.length).toBeGreaterThan(50);
  });

  it('/metrics has requests, errors, latency and rows per request per model and version, and the loads', async () => {
    const { status, text } = await get('/metrics');
    expect(status).toBe(200);
    expect(text).toContain(`perennial_serve_requests_total{model="${weather}",version="v1",protocol="v2",code="200"}`);
    expect(text).toContain(`perennial_serve_requests_total{model="${weather}",version="v1",protocol="v1",code="200"}`);
    expect(text).toMatch(new RegExp(`perennial_serve_request_errors_total\\{model="${weather}",version="v1",protocol="v2",code="400"\\} \\d+`));
    expect(text).toContain('perennial_serve_request_errors_total{model="unknown",version="",protocol="v2",code="404"} 1');
    expect(text).toContain(`perennial_serve_request_duration_seconds_bucket{le="0.005",model="${weather}",version="v2",protocol="v2"}`);
    expect(text).toMatch(new RegExp(`perennial_serve_rows_per_request_count\\{model="${flights}",version="v1"\\} \\d+`));
    expect(text).toContain(`perennial_serve_version_loads_total{model="${weather}",version="v3",outcome="refused"}`);
    expect(text).toContain(`perennial_serve_serving_version{model="${weather}",version="v2"} 1`);
    expect(text).not.toContain(`perennial_serve_serving_version{model="${weather}",version="v1"}`);
  });
});

/**
 * A Python with tritonclient: PERENNIAL_PYTHON (.ci/run points it at the venv
 * it makes in .data/venv-ref), else .data/venv-ref or .venv-ref in the repo.
 * Where CI sets PERENNIAL_REQUIRE_TRITONCLIENT=1 a missing client fails the
 * test; elsewhere it is skipped with a message.
 */
function findTritonPython(): { python: string | null; required: boolean; missing: string } {
  const required = process.env.PERENNIAL_REQUIRE_TRITONCLIENT === '1';
  const missing = `no Python with tritonclient (set PERENNIAL_PYTHON, or: python3 -m venv .data/venv-ref && .data/venv-ref/bin/pip install 'tritonclient[http]')`;
  const candidates = [process.env.PERENNIAL_PYTHON, join(ROOT, '.data/venv-ref/bin/python'), join(ROOT, '.venv-ref/bin/python')].filter(
    (p): p is string => !!p && existsSync(p),
  );
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import tritonclient.http'], { stdio: 'ignore' });
      return { python, required, missing };
    } catch {
      // this one has no tritonclient; try the next
    }
  }
  if (!required) console.warn(`test/integration/serve.test.ts: SKIPPED the tritonclient check: ${missing}`);
  return { python: null, required, missing };
}
