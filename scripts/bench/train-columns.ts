/**
 * Training on millions of rows with bounded memory (prints figures, asserts nothing).
 *
 *   npx tsx scripts/bench/train-columns.ts [--rows 3000000] [--chunk-rows 32768] [--backend wasm] [--no-evaluate]
 *
 * Reads vega-datasets' flights-3m.parquet with the data engine into columns (date,
 * delay, distance, origin, destination: typed arrays and dictionaries), fits the
 * preprocessor and labels in this process, then trains a regression MLP in a
 * child process exactly as the worker does (runTrainingInChild: the columns
 * cross as typed arrays, the child encodes `chunkRows` rows at a time) and
 * scores every row in a second child (runEvaluateInChild). Features: distance
 * (numeric), origin and destination (categorical, 20 + other), date (hour, day
 * of week, month, cyclic); label delay (minutes, standardized); 2 epochs,
 * batch 512. Prints wall time, rows/s, and the peak RSS of this process and of
 * each child.
 */
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { readColumnTable } from '../../src/data/read-columns';
import { columnarData, runEvaluateInChild, runTrainingInChild, type BackendName } from '../../src/model';
import { fitTableLabels, fitTablePreprocessor, labeledRowIndexes, type FeatureSpecInput, type PreprocessorArtifact } from '../../src/preprocess';
import { vegaDataPath } from '../../src/demo/weather';

const file = vegaDataPath('flights-3m.parquet');
const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '3000000' },
    'chunk-rows': { type: 'string', default: '32768' },
    backend: { type: 'string' },
    'no-evaluate': { type: 'boolean', default: false },
  },
  strict: true,
});
const wanted = Number(flags.rows);
const chunkRows = Number(flags['chunk-rows']);
const backend = flags.backend as BackendName | undefined;

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number) => `${fmt(bytes / 2 ** 20)} MB`;
const peakRss = () => process.resourceUsage().maxRSS * 1024;

const features: FeatureSpecInput = [
  { name: 'distance', kind: 'numeric' },
  { name: 'origin', kind: 'categorical', maxCategories: 20 },
  { name: 'destination', kind: 'categorical', maxCategories: 20 },
  { name: 'date', kind: 'date', parts: ['hour_cyclic', 'dayofweek_cyclic', 'month_cyclic'] },
];

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); chunkRows ${fmt(chunkRows)}`);
  const started = performance.now();
  // The engine every stage reads with; the first `--rows` rows are the ones trained on.
  const table = await readColumnTable(file, { source: 'flights-3m.parquet', columns: ['date', 'delay', 'distance', 'origin', 'destination'] });
  const readSeconds = (performance.now() - started) / 1000;
  console.log(`read ${fmt(table.rows)} rows x 5 columns from Parquet into typed columns in ${fmt(readSeconds, 1)} s`);

  const fitStarted = performance.now();
  const first = wanted < table.rows ? Int32Array.from({ length: wanted }, (_, i) => i) : undefined;
  const trainRows = labeledRowIndexes(table, 'delay', first);
  const artifact: PreprocessorArtifact = {
    preprocessor: fitTablePreprocessor(table, features, trainRows),
    labels: fitTableLabels(table, 'delay', 'regression', undefined, { standardize: true, rows: trainRows }),
  };
  const fitSeconds = (performance.now() - fitStarted) / 1000;
  console.log(
    `preprocessor and labels fitted on ${fmt(trainRows.length)} rows in ${fmt(fitSeconds, 1)} s = ${fmt(trainRows.length / fitSeconds)} rows/s; ${artifact.preprocessor.columns.length} model inputs`,
  );

  const data = columnarData(table, artifact);
  const trainStarted = performance.now();
  const trained = await runTrainingInChild(
    { data, artifact, trainRows, params: { epochs: 2, batchSize: 512 }, chunkRows, backend },
    {
      onEpoch: (epoch, logs) => console.log(`  epoch ${epoch}: loss ${fmt(logs.loss, 4)} in ${fmt(logs.seconds, 1)} s = ${fmt(logs.rowsPerSecond)} rows/s`),
    },
  );
  const trainWall = (performance.now() - trainStarted) / 1000;
  const fitTime = trained.history.reduce((s, h) => s + h.seconds, 0);
  const trainedRows = trainRows.length * trained.history.length;
  console.log(
    `train (${trained.backend}): ${fmt(trainRows.length)} rows x ${trained.history.length} epochs, wall ${fmt(trainWall, 1)} s ` +
      `(fork + columns to the child + backend + training) = ${fmt(trainedRows / trainWall)} rows/s; ${fmt(trainedRows / fitTime)} rows/s in the epochs; ` +
      `child peak RSS ${mb(trained.peakRssBytes)}`,
  );

  if (!flags['no-evaluate']) {
    const evalStarted = performance.now();
    const ev = await runEvaluateInChild({ model: trained.model, data, artifact, rows: trainRows, chunkRows, backend });
    const evalWall = (performance.now() - evalStarted) / 1000;
    const m = ev.metrics.task === 'regression' ? ev.metrics : undefined;
    console.log(
      `evaluate: ${fmt(ev.rows)} rows scored, wall ${fmt(evalWall, 1)} s = ${fmt(ev.rows / evalWall)} rows/s; ` +
        `RMSE ${fmt(m?.rmse ?? NaN, 1)} min (mean baseline ${fmt(ev.baseline.task === 'regression' ? ev.baseline.rmse : NaN, 1)}), R² ${fmt(m?.r2 ?? NaN, 4)}; child peak RSS ${mb(ev.peakRssBytes)}`,
    );
  }
  console.log(`total wall ${fmt((performance.now() - started) / 1000, 1)} s; parent peak RSS ${mb(peakRss())}`);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
