/**
 * Training benchmark (prints figures, asserts nothing).
 *
 *   npx tsx scripts/bench/training.ts [--quick] [--backends wasm,cpu]
 *
 * For each TensorFlow.js backend that loads here (tensorflow = tfjs-node if
 * installed, wasm, cpu), trains in a child process exactly as the worker does
 * (runTrainingInChild on columns, backend forced with PERENNIAL_TF_BACKEND):
 *   - weather: Seattle rows of vega-datasets weather.csv, features
 *     precipitation, temp_max, temp_min, wind, month (cyclic) -> weather (5 classes), 10 epochs;
 *   - flights: first 200,000 rows of flights-3m.parquet, delay (regression,
 *     standardized) from distance, origin (categorical, 30 + other), hour of
 *     day and month (cyclic), 2 epochs, batch 256.
 * Reports training rows/s (rows x epochs / time inside fit), wall time
 * (fork + data transfer + backend load + training), scoring rows/s, and the
 * child-process start-up overhead. For 3,000,000 rows with the peak memory of
 * each process, see scripts/bench/train-columns.ts.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { median } from 'simple-statistics';
import { inferSchema, readColumnTable, readValidated, rowsOf, type TypedRow } from '../../src/data';
import { readParquet } from './legacy/parquet';
import { tableFromRows } from '../../src/data/columns';
import { classificationMetrics, majorityBaseline, regressionMetrics } from '../../src/metrics';
import {
  BACKENDS,
  columnarData,
  runInChild,
  runPredictInChild,
  runTrainingInChild,
  type BackendName,
  type ColumnarData,
  type ModelParamsInput,
} from '../../src/model';
import {
  decodeRegression,
  encodeTable,
  encodeTableLabels,
  fitTableLabels,
  fitTablePreprocessor,
  labeledRowIndexes,
  type FeatureSpecInput,
  type PreprocessorArtifact,
  type RegressionLabels,
} from '../../src/preprocess';
import { vegaDataPath } from '../../src/demo/weather';

// vega-datasets exports only its JS entry (build/index.js); its data folder sits next to build/.
const dataFile = vegaDataPath;
const { values: flags } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, backends: { type: 'string' } },
  strict: true,
});
const quick = flags.quick ?? false;
const only = flags.backends?.split(',').map((b) => b.trim());

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

interface Prepared {
  name: string;
  task: 'classification' | 'regression';
  /** What the training child receives: the columns, the artifact, the training rows. */
  data: ColumnarData;
  artifact: PreprocessorArtifact;
  trainRows: Int32Array;
  train: { rows: number; cols: number; y: Int32Array | Float32Array };
  test: { x: Float32Array; rows: number; cols: number; y: Int32Array | Float32Array };
  classes?: string[];
  labels?: RegressionLabels;
  params: ModelParamsInput;
  prepSeconds: number;
  prepRows: number;
}

function prepare(
  name: string,
  rows: TypedRow[],
  features: FeatureSpecInput,
  label: string,
  task: 'classification' | 'regression',
  params: ModelParamsInput,
): Prepared {
  const started = performance.now();
  const table = tableFromRows(rows);
  const labeled = labeledRowIndexes(table, label);
  const cut = Math.floor(labeled.length * 0.8);
  const trainRows = labeled.subarray(0, cut);
  const testRows = labeled.subarray(cut);
  const pre = fitTablePreprocessor(table, features, trainRows);
  const labels = fitTableLabels(table, label, task, undefined, { standardize: task === 'regression', rows: trainRows });
  const artifact: PreprocessorArtifact = { preprocessor: pre, labels };
  const test = encodeTable(artifact, table, testRows);
  const prepSeconds = (performance.now() - started) / 1000;
  return {
    name,
    task,
    data: columnarData(table, artifact),
    artifact,
    trainRows,
    train: { rows: trainRows.length, cols: pre.columns.length, y: encodeTableLabels(labels, table, trainRows) },
    test,
    classes: labels.kind === 'classification' ? labels.classes : undefined,
    labels: labels.kind === 'regression' ? labels : undefined,
    params,
    prepSeconds,
    prepRows: labeled.length,
  };
}

async function weather(): Promise<Prepared> {
  const file = dataFile('weather.csv');
  const { table } = await readValidated(file, inferSchema(await readColumnTable(file)));
  const seattle = rowsOf(table!).filter((r) => r.location === 'Seattle');
  return prepare(
    'weather',
    seattle,
    [
      { name: 'precipitation', kind: 'numeric' },
      { name: 'temp_max', kind: 'numeric' },
      { name: 'temp_min', kind: 'numeric' },
      { name: 'wind', kind: 'numeric' },
      { name: 'date', kind: 'date', parts: ['month_cyclic'] },
    ],
    'weather',
    'classification',
    { epochs: quick ? 3 : 10 },
  );
}

async function flights(): Promise<Prepared> {
  const file = dataFile('flights-3m.parquet');
  const n = quick ? 50_000 : 200_000;
  const t0 = performance.now();
  const table = await readParquet(readFileSync(file), 'flights-3m.parquet', { rowEnd: n });
  const rows: TypedRow[] = table.rows.map((r) => ({ date: r[0] as string, delay: r[1] as number, distance: r[2] as number, origin: r[3] as string }));
  console.log(`flights: read ${fmt(rows.length)} rows from Parquet in ${fmt((performance.now() - t0) / 1000, 2)} s`);
  return prepare(
    'flights',
    rows,
    [
      { name: 'distance', kind: 'numeric' },
      { name: 'origin', kind: 'categorical', maxCategories: 30 },
      { name: 'date', kind: 'date', parts: ['hour_cyclic', 'month_cyclic'] },
    ],
    'delay',
    'regression',
    { epochs: quick ? 1 : 2, batchSize: 256 },
  );
}

async function availableBackends(): Promise<BackendName[]> {
  const out: BackendName[] = [];
  for (const name of BACKENDS) {
    if (only && !only.includes(name)) continue;
    try {
      await runInChild('ping', {}, { env: { PERENNIAL_TF_BACKEND: name } });
      out.push(name);
    } catch (error) {
      console.log(`backend ${name}: not available (${(error as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}

async function startup(backend: BackendName): Promise<void> {
  const runs = quick ? 2 : 4;
  const toStart: number[] = [];
  const total: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await runInChild('ping', {}, { env: { PERENNIAL_TF_BACKEND: backend }, onStart: (s) => toStart.push(s.startupMs) });
    total.push(performance.now() - t);
  }
  console.log(
    `child start-up (${backend}): fork to first message ${fmt(median(toStart))} ms, to backend loaded and answered ${fmt(median(total))} ms (median of ${runs})`,
  );
}

async function run(p: Prepared, backend: BackendName): Promise<void> {
  const t = performance.now();
  let firstEpochAt = 0;
  const result = await runTrainingInChild(
    { data: p.data, artifact: p.artifact, trainRows: p.trainRows, params: p.params },
    { env: { PERENNIAL_TF_BACKEND: backend }, onEpoch: () => void (firstEpochAt ||= performance.now() - t) },
  );
  const wall = (performance.now() - t) / 1000;
  const fitSeconds = result.history.reduce((s, h) => s + h.seconds, 0);
  const trained = p.train.rows * result.history.length;
  const ps = performance.now();
  const scored = await runPredictInChild({ model: result.model, x: p.test.x }, { env: { PERENNIAL_TF_BACKEND: backend } });
  const predictWall = (performance.now() - ps) / 1000;
  let quality: string;
  if (p.task === 'classification') {
    const m = classificationMetrics(p.test.y, scored.output, p.classes!);
    const b = majorityBaseline(p.test.y, p.classes!, p.train.y);
    quality = `test accuracy ${fmt(m.accuracy, 3)} (majority ${fmt(b.accuracy, 3)}), macro F1 ${fmt(m.macroF1, 3)}`;
  } else {
    const m = regressionMetrics(decodeRegression(p.labels!, p.test.y), decodeRegression(p.labels!, scored.output));
    quality = `test R² ${fmt(m.r2, 3)}, RMSE ${fmt(m.rmse, 1)} min, MAE ${fmt(m.mae, 1)} min`;
  }
  console.log(
    `${p.name.padEnd(8)} ${backend.padEnd(10)} train ${fmt(p.train.rows)} rows x ${p.train.cols} cols x ${result.history.length} epochs: ` +
      `${fmt(trained / fitSeconds)} rows/s in fit (${fmt(fitSeconds, 2)} s), wall ${fmt(wall, 2)} s (first epoch done at ${fmt(firstEpochAt / 1000, 2)} s); ` +
      `scoring ${fmt(p.test.rows)} rows: ${fmt(p.test.rows / scored.seconds)} rows/s in child (model load + predict; ${fmt(predictWall, 2)} s wall with fork); ${quality}`,
  );
}

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})${quick ? ', --quick' : ''}`);
  const backends = await availableBackends();
  console.log(`backends here: ${backends.join(', ')}`);
  const datasets = [await weather(), await flights()];
  for (const d of datasets) {
    console.log(
      `${d.name}: preprocessing (fit + transform, ${fmt(d.prepRows)} rows) ${fmt(d.prepSeconds, 2)} s = ${fmt(d.prepRows / d.prepSeconds)} rows/s; ${d.train.cols} model inputs`,
    );
  }
  for (const backend of backends) await startup(backend);
  for (const d of datasets) for (const backend of backends) await run(d, backend);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
