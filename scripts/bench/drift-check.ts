/**
 * The drift check on a large prediction log — prints figures, asserts nothing.
 *
 * Plants a champion of the weather model's shape in the store (a snapshot of
 * --reference rows, registered as v1; no training) and a prediction log of
 * --rows rows in parts of --part-rows (one in ten a shadow row), all in the
 * last few hours, then runs the check's activity (activities/drift-check.ts)
 * once per --max-rows value, each in a child process of its own so that its
 * peak RSS (process.resourceUsage().maxRSS) is its own. The log is read from
 * S3 as the worker reads it; the last value (5,000,000, the spec's largest)
 * compares the whole window, for contrast. Everything planted is deleted at
 * the end.
 *
 *   npx tsx scripts/bench/drift-check.ts [--rows 2000000] [--part-rows 10000] [--reference 1000000] [--max-rows 10000,100000,5000000]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createDriftCheckActivities, type DriftCheckOutput } from '../../activities/drift-check';
import { loadConfig } from '../../src/config';
import { literal, withConnection } from '../../src/data/engine';
import { loadModelSpecFile, publishSpec } from '../../src/spec';
import { Registry } from '../../src/registry';
import { deletePrefix, keys, S3Store, sha256 } from '../../src/store';
import { detectCodeVersion } from '../../src/temporal';
import { parseModelParams } from '../../src/model/params';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEATHER = join(ROOT, 'models/weather.yaml');

const { values } = parseArgs({
  options: {
    rows: { type: 'string', default: '2000000' },
    'part-rows': { type: 'string', default: '10000' },
    reference: { type: 'string', default: '1000000' },
    'max-rows': { type: 'string', default: '10000,100000,5000000' },
    check: { type: 'string' },
    at: { type: 'string' },
  },
});

const config = loadConfig();
const store = S3Store.fromConfig(config);
const registry = new Registry(store);

/** Weather-like inputs: numbers from seeded uniform draws, the location half Seattle, half New York (drift on `location`). */
const INPUT_SQL = `struct_pack(
  precipitation := round(random() * 20, 1), temp_max := round(5 + random() * 25, 1), temp_min := round(-5 + random() * 20, 1),
  wind := round(random() * 8, 1), location := CASE WHEN random() < 0.5 THEN 'Seattle' ELSE 'New York' END,
  date := TIMESTAMP '2015-01-01' + to_days(CAST(floor(random() * 365) AS INTEGER)))`;

/** In the child: the check as the training worker runs it, with its figures. */
async function runCheck(model: string, at: string): Promise<void> {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const { checkDrift } = createDriftCheckActivities({ store, registry, clock: () => new Date(), code: detectCodeVersion() });
  const rssBefore = process.memoryUsage().rss / 2 ** 20;
  const started = performance.now();
  const out: DriftCheckOutput = await env.run(checkDrift, { model, at });
  const seconds = (performance.now() - started) / 1000;
  console.log(JSON.stringify({ seconds, rssBeforeMb: rssBefore, peakRssMb: process.resourceUsage().maxRSS / 1024, out }));
}

async function plant(model: string, rows: number, partRows: number, referenceRows: number, at: Date): Promise<{ logBytes: number; parts: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-drift-check-'));
  try {
    const spec = { ...(await loadModelSpecFile(WEATHER)), name: model };
    const published = await publishSpec(store, spec);
    // The champion's snapshot: Seattle only.
    const snapshot = join(dir, 'snapshot.parquet');
    await withConnection((c) =>
      c.run(
        `COPY (SELECT 'Seattle' AS location, DATE '2012-01-01' + CAST(i % 1461 AS INTEGER) AS date, round(random() * 20, 1) AS precipitation,
           round(5 + random() * 25, 1) AS temp_max, round(-5 + random() * 20, 1) AS temp_min, round(random() * 8, 1) AS wind, 'sun' AS weather
         FROM range(${referenceRows}) t(i)) TO ${literal(snapshot)} (FORMAT parquet, COMPRESSION zstd)`,
      ),
    );
    const body = await readFile(snapshot);
    const id = sha256(body).slice(0, 32);
    await store.put(keys.snapshot(model, id), body);
    await registry.register(
      model,
      [
        { name: 'model.json', body: Buffer.from('{}') },
        { name: 'weights.bin', body: Buffer.from('bench') },
      ],
      {
        model,
        task: 'classification',
        data: {
          snapshotSha256: id,
          snapshotKey: keys.snapshot(model, id),
          snapshotFileSha256: sha256(body),
          rows: referenceRows,
          trainRows: 0,
          holdoutRows: 0,
          batches: [],
        },
        code: detectCodeVersion(),
        spec: { sha256: published.sha256, key: published.key },
        params: parseModelParams({}),
        seed: 42,
        backend: 'cpu',
        trigger: 'bench',
        workflow: { id: `bench/${model}`, runId: `bench-${model}` },
        metrics: { task: 'classification', n: 0, accuracy: 0, macroF1: 0, weightedF1: 0, logLoss: 0, perClass: [], confusion: [], classes: [] },
      },
      new Date(),
    );
    await registry.updateAliases(model, (a) => ({ ...a, champion: 'v1' }));
    // The log: parts of partRows rows, part i a minute older than part i-1, every row in its part's UTC day.
    const parts = Math.ceil(rows / partRows);
    let logBytes = 0;
    for (let i = 0; i < parts; i++) {
      const n = Math.min(partRows, rows - i * partRows);
      const end = new Date(at.getTime() - 60_000 * (i + 1));
      const dayStart = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate());
      const span = Math.min(50_000, end.getTime() - dayStart);
      const path = join(dir, `part-${i}.parquet`);
      await withConnection((c) =>
        c.run(
          `COPY (SELECT 'p${i}-' || r AS prediction_id, make_timestamptz(${(end.getTime() - span) * 1000}::BIGINT + CAST(floor(random() * ${span * 1000}) AS BIGINT)) AS time,
             ${literal(model)} AS model, 'v1' AS version, CASE WHEN r % 10 = 0 THEN 'shadow' ELSE 'champion' END AS arm, NULL::VARCHAR AS shadow_of,
             2.0 AS latency_ms, ${INPUT_SQL} AS inputs, 'sun' AS label
           FROM range(${n}) t(r)) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`,
        ),
      );
      const part = await readFile(path);
      logBytes += part.length;
      await store.put(keys.predictionLogPart(model, end, `bench-${i}`), part);
      await rm(path);
    }
    return { logBytes, parts };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (values.check) return runCheck(values.check, values.at!);
  const rows = Number(values.rows);
  const partRows = Number(values['part-rows']);
  const referenceRows = Number(values.reference);
  const maxRowsList = values['max-rows'].split(',').map(Number);
  const model = `bench-drift-${Math.random().toString(16).slice(2, 10)}`;
  const at = new Date();
  console.log(`drift check benchmark: ${rows} log rows in parts of ${partRows}, a ${referenceRows}-row snapshot; S3 ${store.description}`);
  const planting = performance.now();
  try {
    const { logBytes, parts } = await plant(model, rows, partRows, referenceRows, at);
    console.log(`planted ${parts} parts (${(logBytes / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - planting) / 1000).toFixed(1)} s`);
    console.log('maxRows     window rows  compared (cur/ref)  seconds  RSS before  peak RSS  share  drifted');
    for (const maxRows of maxRowsList) {
      const spec = { ...(await loadModelSpecFile(WEATHER)), name: model };
      await publishSpec(store, { ...spec, monitoring: { drift: { ...spec.monitoring!.drift!, maxRows, minRows: 100 } } });
      const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--check', model, '--at', at.toISOString()], {
        cwd: ROOT,
        env: { ...process.env, PERENNIAL_LOG_LEVEL: 'ERROR' },
        encoding: 'utf8',
        maxBuffer: 64 * 2 ** 20,
      });
      const line = child.stdout.split('\n').find((l) => l.startsWith('{'));
      if (child.status !== 0 || !line) throw new Error(`the check failed (maxRows ${maxRows}):\n${child.stderr.slice(-3000)}`);
      const { seconds, rssBeforeMb, peakRssMb, out } = JSON.parse(line) as { seconds: number; rssBeforeMb: number; peakRssMb: number; out: DriftCheckOutput };
      console.log(
        `${String(maxRows).padEnd(11)} ${String(out.rows.window).padStart(11)}  ${`${out.rows.current}/${out.rows.reference}`.padStart(18)}  ${seconds.toFixed(2).padStart(7)}  ` +
          `${`${rssBeforeMb.toFixed(0)} MB`.padStart(10)}  ${`${peakRssMb.toFixed(0)} MB`.padStart(8)}  ${String(out.signal?.share ?? '-').padStart(5)}  ${(out.drifted ?? []).join(', ')}`,
      );
    }
  } finally {
    for (const prefix of [`datasets/${model}/`, `models/${model}/`, `logs/${model}/`, `reports/${model}/`]) await deletePrefix(store, prefix);
  }
}

await main();
