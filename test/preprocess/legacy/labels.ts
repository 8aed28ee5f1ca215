// The row-based implementation as it was before the columnar rewrite, kept as the reference the new code must match exactly.
import type { TypedRow } from '../../../src/data/validate';
import type { Task } from '../../../src/metrics/task';
import { isMissing, meanStd } from './values';

export interface ClassificationLabels {
  kind: 'classification';
  label: string;
  /** Class names; a class's index is its position (the model's output unit). */
  classes: string[];
  /** Training count of each class. */
  counts: number[];
}

export interface RegressionLabels {
  kind: 'regression';
  label: string;
  /** When true the model learns (y - mean) / std and `decodeRegression` inverts it. */
  standardize: boolean;
  mean: number;
  std: number;
}

export type FittedLabels = ClassificationLabels | RegressionLabels;

export class LabelError extends Error {
  readonly label: string;
  readonly row?: number;
  constructor(label: string, message: string, row?: number) {
    super(`label '${label}'${row !== undefined ? ` (row ${row + 1})` : ''}: ${message}`);
    this.name = 'LabelError';
    this.label = label;
    this.row = row;
  }
}

/** Rows whose label is present (training and evaluation drop the others). */
export function labeledRows(rows: TypedRow[], label: string): TypedRow[] {
  return rows.filter((r) => !isMissing(r[label]));
}

/**
 * Fits the label encoding. Classification: `classes` (e.g. the schema's
 * allowed values) fixes the class list and its order; otherwise the sorted
 * distinct labels seen. Regression: raw numbers, standardized when
 * `options.standardize` (mean and population std stored for the inverse).
 */
export function fitLabels(rows: TypedRow[], label: string, task: Task, classes?: string[], options: { standardize?: boolean } = {}): FittedLabels {
  if (rows.length === 0) throw new LabelError(label, 'no rows to fit the labels on');
  if (!rows.some((r) => Object.prototype.hasOwnProperty.call(r, label))) {
    throw new LabelError(label, `column is absent from the data (the rows have: ${Object.keys(rows[0] ?? {}).join(', ')})`);
  }
  if (task === 'classification') {
    const seen = new Map<string, number>();
    rows.forEach((r) => {
      const v = r[label];
      if (!isMissing(v)) seen.set(String(v), (seen.get(String(v)) ?? 0) + 1);
    });
    let list: string[];
    if (classes !== undefined) {
      if (classes.length < 2) throw new LabelError(label, `a classifier needs at least 2 classes, the list given has ${classes.length}`);
      if (new Set(classes).size !== classes.length) throw new LabelError(label, `the class list has duplicates: ${classes.join(', ')}`);
      const unknown = [...seen.keys()].filter((c) => !classes.includes(c));
      if (unknown.length > 0)
        throw new LabelError(label, `values ${unknown.map((u) => `'${u}'`).join(', ')} are not among the allowed classes (${classes.join(', ')})`);
      list = [...classes];
    } else {
      list = [...seen.keys()].sort();
      if (list.length < 2) throw new LabelError(label, `a classifier needs at least 2 classes, the data has ${list.length} (${list.join(', ')})`);
    }
    return { kind: 'classification', label, classes: list, counts: list.map((c) => seen.get(c) ?? 0) };
  }
  const values: number[] = [];
  rows.forEach((r, i) => {
    const v = r[label];
    if (isMissing(v)) return;
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw new LabelError(label, `expected a number for regression, found ${JSON.stringify(v)}`, i);
    values.push(n);
  });
  if (values.length === 0) throw new LabelError(label, 'every label is missing');
  const { mean, std } = meanStd(values);
  return { kind: 'regression', label, standardize: options.standardize ?? false, mean, std };
}

/**
 * Labels of rows as model targets: class indexes (Int32Array) for
 * classification, numbers (Float32Array, standardized if fitted so) for
 * regression. A missing label or an unknown class is an error naming the row
 * (drop unlabeled rows first with `labeledRows`).
 */
export function encodeLabels(fitted: FittedLabels, rows: TypedRow[]): Int32Array | Float32Array {
  if (fitted.kind === 'classification') {
    const index = new Map(fitted.classes.map((c, i) => [c, i]));
    const out = new Int32Array(rows.length);
    rows.forEach((r, i) => {
      const v = r[fitted.label];
      if (isMissing(v)) throw new LabelError(fitted.label, 'is missing; drop unlabeled rows (labeledRows) before encoding', i);
      const k = index.get(String(v));
      if (k === undefined) throw new LabelError(fitted.label, `'${String(v)}' is not one of the model's classes (${fitted.classes.join(', ')})`, i);
      out[i] = k;
    });
    return out;
  }
  const out = new Float32Array(rows.length);
  rows.forEach((r, i) => {
    const v = r[fitted.label];
    if (isMissing(v)) throw new LabelError(fitted.label, 'is missing; drop unlabeled rows (labeledRows) before encoding', i);
    const n = typeof v === 'number' ? v : Number(v);
    if (!Number.isFinite(n)) throw new LabelError(fitted.label, `expected a number, found ${JSON.stringify(v)}`, i);
    out[i] = fitted.standardize ? (n - fitted.mean) / fitted.std : n;
  });
  return out;
}
