/**
 * Training on millions of rows with bounded memory (prints figures, asserts nothing).
 *
 *   npx tsx scripts/bench/train-columns.ts [--rows 3000000] [--chunk-rows 32768] [--backend wasm] [--no-evaluate]
 *
 * Reads vega-datasets' flights-3m.parquet into columns (date, delay, distance,
 * origin, destination: typed arrays and dictionaries, no row objects), fits the
 * preprocessor and labels in this process, then trains a regression MLP in a
 * child process exactly as the worker does (runTrainingInChild: the columns
 * cross as typed arrays, the child encodes `chunkRows` rows at a time) and
 * scores every row in a second child (runEvaluateInChild). Features: distance
 * (numeric), origin and destination (categorical, 20 + other), date (hour, day
 * of week, month, cyclic); label delay (minutes, standardized); 2 epochs,
 * batch 512. Prints wall time, rows/s, and the peak RSS of this process and of
 * each child.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parquetMetadata, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import type { Column, ColumnTable } from '../../src/data/columns';
import { columnarData, runEvaluateInChild, runTrainingInChild, type BackendName } from '../../src/model';
import { fitTableLabels, fitTablePreprocessor, labeledRowIndexes, type FeatureSpecInput, type PreprocessorArtifact } from '../../src/preprocess';

const require = createRequire(import.meta.url);
const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'flights-3m.parquet');
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

/** Builds a text column a row group at a time (codes in a preallocated array, each distinct value once in the dictionary). */
class TextColumnBuilder {
  readonly codes: Int32Array;
  readonly dictionary: string[] = [];
  private readonly index = new Map<string, number>();
  constructor(rows: number) {
    this.codes = new Int32Array(rows);
  }
  set(row: number, value: string | null | undefined): void {
    if (value === null || value === undefined) {
      this.codes[row] = -1;
      return;
    }
    let code = this.index.get(value);
    if (code === undefined) {
      code = this.dictionary.length;
      this.dictionary.push(value);
      this.index.set(value, code);
    }
    this.codes[row] = code;
  }
  column(): Column {
    return { kind: 'text', codes: this.codes, dictionary: this.dictionary };
  }
}

/** The flights as columns, read one row group at a time (only one group's JS values alive at once). */
async function readFlights(limit: number): Promise<ColumnTable> {
  const bytes = readFileSync(file);
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const metadata = parquetMetadata(buffer);
  const rows = Math.min(limit, Number(metadata.num_rows));
  const date = new Float64Array(rows);
  const delay = new Float64Array(rows);
  const distance = new Float64Array(rows);
  const origin = new TextColumnBuilder(rows);
  const destination = new TextColumnBuilder(rows);
  let groupStart = 0;
  for (const group of metadata.row_groups) {
    if (groupStart >= rows) break;
    const groupEnd = Math.min(rows, groupStart + Number(group.num_rows));
    await parquetRead({
      file: buffer,
      metadata,
      compressors,
      columns: ['date', 'delay', 'distance', 'origin', 'destination'],
      rowStart: groupStart,
      rowEnd: groupEnd,
      onChunk: ({ columnName, columnData, rowStart, rowEnd }) => {
        const end = Math.min(rowEnd, rows);
        for (let i = Math.max(rowStart, groupStart); i < end; i++) {
          const v = columnData[i - rowStart] as unknown;
          if (columnName === 'date')
            date[i] = v instanceof Date ? v.getTime() : NaN; // TIMESTAMP not adjusted to UTC: the wall clock
          else if (columnName === 'delay') delay[i] = v === null ? NaN : Number(v);
          else if (columnName === 'distance') distance[i] = v === null ? NaN : Number(v);
          else if (columnName === 'origin') origin.set(i, v as string | null);
          else if (columnName === 'destination') destination.set(i, v as string | null);
        }
      },
    });
    groupStart = groupEnd;
  }
  const columns = new Map<string, Column>([
    ['date', { kind: 'date', values: date }],
    ['delay', { kind: 'number', values: delay }],
    ['distance', { kind: 'number', values: distance }],
    ['origin', origin.column()],
    ['destination', destination.column()],
  ]);
  return { source: 'flights-3m.parquet', rows, names: [...columns.keys()], columns, rowNumber: (i) => i + 1 };
}

const features: FeatureSpecInput = [
  { name: 'distance', kind: 'numeric' },
  { name: 'origin', kind: 'categorical', maxCategories: 20 },
  { name: 'destination', kind: 'categorical', maxCategories: 20 },
  { name: 'date', kind: 'date', parts: ['hour_cyclic', 'dayofweek_cyclic', 'month_cyclic'] },
];

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); chunkRows ${fmt(chunkRows)}`);
  const started = performance.now();
  const table = await readFlights(wanted);
  const readSeconds = (performance.now() - started) / 1000;
  console.log(`read ${fmt(table.rows)} rows x 5 columns from Parquet into typed columns in ${fmt(readSeconds, 1)} s`);

  const fitStarted = performance.now();
  const trainRows = labeledRowIndexes(table, 'delay');
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
