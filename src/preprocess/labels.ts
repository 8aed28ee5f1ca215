import { tableFromRows, type Column, type ColumnTable } from '../data/columns';
import type { TypedRow } from '../data/validate';
import type { Task } from '../metrics/task';
import { categoryReader, namesOf, numberReader, presentReader, rowForMessage, selectionSize, type RowSelection } from './cells';
import { meanStd } from './values';

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

/** Indexes of the rows (of `rows`, default every row) whose label is present: training and evaluation drop the others. */
export function labeledRowIndexes(table: ColumnTable, label: string, rows?: RowSelection): Int32Array {
  const column = table.columns.get(label);
  const n = selectionSize(table, rows);
  if (!column) return new Int32Array(0);
  const present = presentReader(column);
  // Counted first, so the result is one typed array of the right size (no push of millions).
  let count = 0;
  for (let k = 0; k < n; k++) if (present(rows ? rows[k]! : k)) count++;
  const out = new Int32Array(count);
  let j = 0;
  for (let k = 0; k < n; k++) {
    const row = rows ? rows[k]! : k;
    if (present(row)) out[j++] = row;
  }
  return out;
}

/** Row objects whose label is present (`labeledRowIndexes` on row objects). */
export function labeledRows(rows: TypedRow[], label: string): TypedRow[] {
  const table = tableFromRows(rows, { names: [label] });
  return Array.from(labeledRowIndexes(table, label), (i) => rows[i]!);
}

function labelColumn(table: ColumnTable, label: string): Column {
  const column = table.columns.get(label);
  if (!column) throw new LabelError(label, `column is absent from the data (the rows have: ${namesOf(table)})`);
  return column;
}

/**
 * Fits the label encoding on rows `options.rows` of a table (default every
 * row). Classification: `classes` (e.g. the schema's allowed values) fixes the
 * class list and its order; otherwise the sorted distinct labels seen.
 * Regression: raw numbers, standardized when `options.standardize` (mean and
 * population std stored for the inverse).
 */
export function fitTableLabels(
  table: ColumnTable,
  label: string,
  task: Task,
  classes?: string[],
  options: { standardize?: boolean; rows?: RowSelection } = {},
): FittedLabels {
  const { rows } = options;
  const n = selectionSize(table, rows);
  if (n === 0) throw new LabelError(label, 'no rows to fit the labels on');
  const column = labelColumn(table, label);
  const rowAt = rows ? (k: number) => rows[k]! : (k: number) => k;
  if (task === 'classification') {
    const reader = categoryReader(column);
    const slotCounts: number[] = [];
    for (let k = 0; k < n; k++) {
      const slot = reader.slotOf(rowAt(k));
      if (slot >= 0) slotCounts[slot] = (slotCounts[slot] ?? 0) + 1;
    }
    const seen = new Map<string, number>();
    reader.names().forEach((name, slot) => {
      if (slotCounts[slot]) seen.set(name, slotCounts[slot]);
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
  const read = numberReader(column, (row, value) => {
    throw new LabelError(label, `expected a number for regression, found ${JSON.stringify(value)}`, rowForMessage(table, row));
  });
  const values = new Float64Array(n);
  let present = 0;
  for (let k = 0; k < n; k++) {
    const v = read(rowAt(k));
    if (!Number.isNaN(v)) values[present++] = v;
  }
  if (present === 0) throw new LabelError(label, 'every label is missing');
  const { mean, std } = meanStd(values.subarray(0, present));
  return { kind: 'regression', label, standardize: options.standardize ?? false, mean, std };
}

/** `fitTableLabels` on row objects. */
export function fitLabels(rows: TypedRow[], label: string, task: Task, classes?: string[], options: { standardize?: boolean } = {}): FittedLabels {
  return fitTableLabels(tableFromRows(rows), label, task, classes, options);
}

/**
 * Labels of rows (`rows`, default every row) as model targets: class indexes
 * (Int32Array) for classification, numbers (Float32Array, standardized if
 * fitted so) for regression. A missing label or an unknown class is an error
 * naming the row (select labeled rows first with `labeledRowIndexes`).
 */
export function encodeTableLabels(fitted: FittedLabels, table: ColumnTable, rows?: RowSelection): Int32Array | Float32Array {
  const n = selectionSize(table, rows);
  const column = n === 0 ? undefined : labelColumn(table, fitted.label);
  const rowAt = rows ? (k: number) => rows[k]! : (k: number) => k;
  const missing = (row: number) =>
    new LabelError(fitted.label, 'is missing; drop unlabeled rows (labeledRowIndexes) before encoding', rowForMessage(table, row));
  if (fitted.kind === 'classification') {
    const out = new Int32Array(n);
    if (!column) return out;
    const reader = categoryReader(column);
    const index = new Map(fitted.classes.map((c, i) => [c, i]));
    const classOfSlot: number[] = [];
    for (let k = 0; k < n; k++) {
      const row = rowAt(k);
      const slot = reader.slotOf(row);
      if (slot < 0) throw missing(row);
      let c = classOfSlot[slot];
      if (c === undefined) {
        const name = reader.names()[slot]!;
        const found = index.get(name);
        if (found === undefined)
          throw new LabelError(fitted.label, `'${name}' is not one of the model's classes (${fitted.classes.join(', ')})`, rowForMessage(table, row));
        c = classOfSlot[slot] = found;
      }
      out[k] = c;
    }
    return out;
  }
  const out = new Float32Array(n);
  if (!column) return out;
  const read = numberReader(column, (row, value) => {
    throw new LabelError(fitted.label, `expected a number, found ${JSON.stringify(value)}`, rowForMessage(table, row));
  });
  for (let k = 0; k < n; k++) {
    const row = rowAt(k);
    const v = read(row);
    if (Number.isNaN(v)) throw missing(row);
    out[k] = fitted.standardize ? (v - fitted.mean) / fitted.std : v;
  }
  return out;
}

/** `encodeTableLabels` on row objects. */
export function encodeLabels(fitted: FittedLabels, rows: TypedRow[]): Int32Array | Float32Array {
  return encodeTableLabels(fitted, tableFromRows(rows, { names: [fitted.label] }));
}

/** Model outputs back to label units (inverts the standardization). */
export function decodeRegression(fitted: RegressionLabels, values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = fitted.standardize ? values[i]! * fitted.std + fitted.mean : values[i]!;
  return out;
}

/** Class names for predicted class indexes. */
export function decodeClasses(fitted: ClassificationLabels, indexes: ArrayLike<number>): string[] {
  return Array.from(indexes, (i) => fitted.classes[i] ?? `<unknown class ${i}>`);
}
