/** Synthetic data sets for the model tests (seeded, no files). */
import { textColumn, type Column, type ColumnTable } from '../../src/data/columns';
import { mulberry32 } from '../../src/model/rng';
import { fitTableLabels, fitTablePreprocessor, type PreprocessorArtifact } from '../../src/preprocess';

export function blobs(rows: number, cols = 4, seed = 1): { x: Float32Array; y: Int32Array; rows: number; cols: number } {
  const r = mulberry32(seed);
  const x = new Float32Array(rows * cols);
  const y = new Int32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) x[i * cols + j] = r() * 2 - 1;
    const a = x[i * cols]! + x[i * cols + 1]!;
    y[i] = a > 0.5 ? 2 : a > -0.3 ? 1 : 0;
  }
  return { x, y, rows, cols };
}

export function linear(rows: number, cols = 3, seed = 2): { x: Float32Array; y: Float32Array; rows: number; cols: number } {
  const r = mulberry32(seed);
  const x = new Float32Array(rows * cols);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let s = 0.5;
    for (let j = 0; j < cols; j++) {
      const v = r() * 2 - 1;
      x[i * cols + j] = v;
      s += (j + 1) * v;
    }
    y[i] = s + (r() - 0.5) * 0.1;
  }
  return { x, y, rows, cols };
}

export function maxAbsDiff(a: Float32Array[], b: Float32Array[]): number {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  a.forEach((w, i) => {
    const v = b[i]!;
    if (v.length !== w.length) d = Infinity;
    for (let j = 0; j < w.length; j++) d = Math.max(d, Math.abs(w[j]! - v[j]!));
  });
  return d;
}

export function bytesToFloats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/**
 * A dense data set as a column table (feature columns f0.., label column y)
 * and an artifact whose encoding gives back exactly its x and y: numeric
 * features without scaling (float32 values survive float64 and back), classes
 * 'a', 'b', 'c' for 0, 1, 2 (classification) or the raw target (regression).
 */
export function asTable(
  d: { x: Float32Array; y: Int32Array | Float32Array; rows: number; cols: number },
  task: 'classification' | 'regression',
): { table: ColumnTable; artifact: PreprocessorArtifact } {
  const columns = new Map<string, Column>();
  for (let j = 0; j < d.cols; j++) {
    columns.set(`f${j}`, { kind: 'number', values: Float64Array.from({ length: d.rows }, (_, i) => d.x[i * d.cols + j]!) });
  }
  columns.set(
    'y',
    task === 'classification'
      ? textColumn(
          Array.from(d.y, (v) => 'abc'[v]!),
          d.rows,
        )
      : { kind: 'number', values: Float64Array.from(d.y) },
  );
  const table: ColumnTable = { source: 'test', rows: d.rows, names: [...columns.keys()], columns, rowNumber: (i) => i + 1 };
  const features = Array.from({ length: d.cols }, (_, j) => ({ name: `f${j}`, kind: 'numeric' as const, scale: 'none' as const }));
  const artifact: PreprocessorArtifact = {
    preprocessor: fitTablePreprocessor(table, features),
    labels: fitTableLabels(table, 'y', task),
  };
  return { table, artifact };
}
