/**
 * Column tables as model input: the columns cross to the child process as
 * typed arrays, and the child encodes them a chunk of rows at a time, so no
 * matrix of every row's features exists on either side.
 */
import type { Column, ColumnTable } from '../data/columns';
import { encodeTableLabels, tableEncoder, type PreprocessorArtifact, type RowSelection, type TransformOptions } from '../preprocess';
import type { RowSource } from './mlp';

/**
 * The columns a model reads (features and label), as plain data: it crosses
 * to the child process with 'advanced' serialization, typed arrays as is.
 */
export interface ColumnarData {
  /** File or object key the rows came from (named in errors). */
  source: string;
  rows: number;
  columns: Map<string, Column>;
}

/** A typed array that owns exactly its bytes (a view on a bigger buffer would send the whole buffer). */
function own<T extends Float64Array | Int32Array>(a: T): T {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : (a.slice() as T);
}

/**
 * The feature and label columns of `table` that `artifact` reads; the other
 * columns stay behind. A column the table lacks is left out (training then
 * fails naming the feature; scoring imputes it).
 */
export function columnarData(table: ColumnTable, artifact: PreprocessorArtifact): ColumnarData {
  return columnsOf(table, [...artifact.preprocessor.features.map((f) => f.name), artifact.labels.label]);
}

/** The columns `wanted` of a table as ColumnarData (a column the table lacks is left out). */
export function columnsOf(table: ColumnTable, wanted: string[]): ColumnarData {
  const columns = new Map<string, Column>();
  for (const name of wanted) {
    const c = table.columns.get(name);
    if (!c) continue;
    columns.set(name, c.kind === 'text' ? { kind: 'text', codes: own(c.codes), dictionary: c.dictionary } : { kind: c.kind, values: own(c.values) });
  }
  return { source: table.source, rows: table.rows, columns };
}

/** ColumnarData as a ColumnTable (rows numbered from 1 in errors). */
export function tableOfData(data: ColumnarData): ColumnTable {
  return { source: data.source, rows: data.rows, names: [...data.columns.keys()], columns: data.columns, rowNumber: (i) => i + 1 };
}

/**
 * Rows `rows` of a table (default every row) as a RowSource for `train`: the
 * labels are encoded once (one number a row), the features on demand, a chunk
 * at a time. `options` as for transform (training: errors; scoring: impute).
 */
export function columnarSource(table: ColumnTable, artifact: PreprocessorArtifact, rows?: RowSelection, options: TransformOptions = {}): RowSource {
  const encode = tableEncoder(artifact.preprocessor, table, options);
  const y = encodeTableLabels(artifact.labels, table, rows);
  let tableRows = new Int32Array(0);
  return {
    rows: y.length,
    cols: artifact.preprocessor.columns.length,
    y,
    features: (part, x) => {
      // Source row k is table row rows[k]; the buffer is reused from chunk to chunk.
      if (tableRows.length < part.length) tableRows = new Int32Array(part.length);
      const chunk = tableRows.subarray(0, part.length);
      for (let k = 0; k < part.length; k++) chunk[k] = rows ? rows[part[k]!]! : part[k]!;
      encode(chunk, x);
    },
  };
}
