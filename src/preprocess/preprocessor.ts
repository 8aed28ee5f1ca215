import { median } from 'simple-statistics';
import { tableFromRows, type Column, type ColumnTable } from '../data/columns';
import { dateFieldsOfMs, type DateFields } from '../data/dates';
import type { TypedRow } from '../data/validate';
import { categoryReader, dateReader, namesOf, numberReader, rowForMessage, selectionSize, type OnInvalid, type RowSelection } from './cells';
import { featureSpec, OTHER, type DatePart, type FeatureSpecInput } from './spec';
import { meanStd } from './values';

export { parseDateFields } from '../data/dates';
export type { RowSelection } from './cells';

/** Thrown when data does not fit the features: names the feature (and row) at fault. */
export class FeatureError extends Error {
  readonly feature: string;
  readonly row?: number;
  constructor(feature: string, message: string, row?: number) {
    super(`feature '${feature}'${row !== undefined ? ` (row ${row + 1})` : ''}: ${message}`);
    this.name = 'FeatureError';
    this.feature = feature;
    this.row = row;
  }
}

export interface FittedNumeric {
  kind: 'numeric';
  name: string;
  /** How the imputation value was chosen, and the value. */
  imputeRule: 'mean' | 'median' | 'constant';
  impute: number;
  scale: 'standard' | 'none';
  /** Mean and population std of the imputed training column (std 0 is stored as 1). */
  mean: number;
  std: number;
  missingInTraining: number;
}

export interface FittedCategorical {
  kind: 'categorical';
  name: string;
  imputeRule: 'most_frequent' | 'constant';
  impute: string;
  /** Kept categories, sorted; each has a one-hot column, followed by the '__other__' column. */
  categories: string[];
  /** Training count of each kept category, and of the values sent to '__other__'. */
  counts: number[];
  otherCount: number;
  maxCategories: number | null;
  missingInTraining: number;
}

export interface FittedDate {
  kind: 'date';
  name: string;
  parts: DatePart[];
  /** For the 'year' part: mean and population std of the training years (std 0 stored as 1). */
  yearMean: number;
  yearStd: number;
  missingInTraining: number;
}

export type FittedFeature = FittedNumeric | FittedCategorical | FittedDate;

/** Everything fitted on the training rows; plain JSON, stored next to the model. */
export interface FittedPreprocessor {
  format: 'perennial-preprocessor';
  version: 1;
  features: FittedFeature[];
  /** Output column names, in order (e.g. 'temp_max', 'weather=rain', 'date:month_sin'). */
  columns: string[];
  rowsFitted: number;
}

export interface TransformOptions {
  /**
   * A fitted column absent from the table (from every row of a batch of row
   * objects): 'error' (default, a clear FeatureError) or 'impute' (serving a
   * client that omits a field).
   */
  absentColumns?: 'error' | 'impute';
  /** A value of the wrong type (text in a numeric column, a malformed date): 'error' (default) or 'impute'. */
  invalidValues?: 'error' | 'impute';
}

const PREPROCESSOR_VERSION = 1 as const;

// ---------------------------------------------------------------- helpers

function datePartColumns(name: string, part: DatePart): string[] {
  if (part === 'year') return [`${name}:year`];
  const base = part.replace('_cyclic', '');
  return [`${name}:${base}_sin`, `${name}:${base}_cos`];
}

function columnsOf(f: FittedFeature): string[] {
  switch (f.kind) {
    case 'numeric':
      return [f.name];
    case 'categorical':
      return [...f.categories.map((c) => `${f.name}=${c}`), `${f.name}=${OTHER}`];
    case 'date':
      return f.parts.flatMap((p) => datePartColumns(f.name, p));
  }
}

/** The feature's column; absent: a FeatureError, or undefined (every value missing) with absentColumns 'impute'. */
function featureColumn(table: ColumnTable, name: string, absent: 'error' | 'impute'): Column | undefined {
  const column = table.columns.get(name);
  if (column || absent === 'impute' || table.rows === 0) return column;
  throw new FeatureError(
    name,
    `column is absent from the data (the rows have: ${namesOf(table) || 'no columns'}); add it or remove the feature from the model spec`,
  );
}

/** A column with every value missing (a feature absent from a batch, imputed). */
function missingColumn(rows: number): Column {
  return { kind: 'number', values: new Float64Array(rows).fill(NaN) };
}

function invalidNumber(table: ColumnTable, name: string, invalid: 'error' | 'impute'): OnInvalid {
  if (invalid === 'impute') return () => {};
  return (row, value) => {
    throw new FeatureError(
      name,
      `expected a number, found ${JSON.stringify(value)}; fix the data or declare the feature as categorical`,
      rowForMessage(table, row),
    );
  };
}

function invalidDate(table: ColumnTable, name: string, invalid: 'error' | 'impute'): OnInvalid {
  if (invalid === 'impute') return () => {};
  return (row, value) => {
    throw new FeatureError(name, `expected an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found ${JSON.stringify(value)}`, rowForMessage(table, row));
  };
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
/** Most frequent first, ties alphabetical. */
const byFrequency = (a: [string, number], b: [string, number]) => b[1] - a[1] || byName(a[0], b[0]);

// ---------------------------------------------------------------- fit

/**
 * Fits imputation values, scalers, category lists and date scalers on the
 * training rows `rows` of `table` (default every row). `features` is
 * validated with `featureSpec` (defaults applied). Memory: one Float64Array of
 * the selected rows per numeric or date feature at a time, never row objects.
 */
export function fitTablePreprocessor(table: ColumnTable, features: FeatureSpecInput, rows?: RowSelection): FittedPreprocessor {
  const parsed = featureSpec.safeParse(features);
  if (!parsed.success) {
    throw new Error(`invalid feature spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const n = selectionSize(table, rows);
  if (n === 0) throw new Error('cannot fit a preprocessor on zero rows');
  const rowAt = rows ? (k: number) => rows[k]! : (k: number) => k;
  const fitted: FittedFeature[] = parsed.data.map((f): FittedFeature => {
    const column = featureColumn(table, f.name, 'error')!;
    switch (f.kind) {
      case 'numeric': {
        const read = numberReader(column, invalidNumber(table, f.name, 'error'));
        // Present values first, in row order, then the imputed ones: the order the row-based code summed them in.
        const values = new Float64Array(n);
        let present = 0;
        for (let k = 0; k < n; k++) {
          const v = read(rowAt(k));
          if (!Number.isNaN(v)) values[present++] = v;
        }
        const missing = n - present;
        if (present === 0 && typeof f.impute !== 'number') {
          throw new FeatureError(
            f.name,
            `every training value is missing, so its ${f.impute} cannot be computed; give a constant impute value or drop the feature`,
          );
        }
        const observed = values.subarray(0, present);
        // simple-statistics' median (the mean of the two middle values for an even count) selects on a typed copy.
        const impute = typeof f.impute === 'number' ? f.impute : f.impute === 'mean' ? meanStd(observed).mean : median(observed as unknown as number[]);
        values.fill(impute, present);
        const { mean, std } = meanStd(values);
        return {
          kind: 'numeric',
          name: f.name,
          imputeRule: typeof f.impute === 'number' ? 'constant' : f.impute,
          impute,
          scale: f.scale,
          mean,
          std,
          missingInTraining: missing,
        };
      }
      case 'categorical': {
        const reader = categoryReader(column);
        const slotCounts: number[] = [];
        let missing = 0;
        for (let k = 0; k < n; k++) {
          const slot = reader.slotOf(rowAt(k));
          if (slot < 0) missing++;
          else slotCounts[slot] = (slotCounts[slot] ?? 0) + 1;
        }
        const counts = new Map<string, number>();
        reader.names().forEach((name, slot) => {
          if (slotCounts[slot]) counts.set(name, slotCounts[slot]);
        });
        let impute: string;
        if (f.impute === 'most_frequent') {
          const top = [...counts.entries()].sort(byFrequency)[0];
          if (top === undefined) throw new FeatureError(f.name, 'every training value is missing; give a constant impute value or drop the feature');
          impute = top[0];
        } else impute = f.impute;
        if (missing > 0) counts.set(impute, (counts.get(impute) ?? 0) + missing);
        const ranked = [...counts.entries()].sort(byFrequency);
        const kept = f.maxCategories !== undefined ? ranked.slice(0, f.maxCategories) : ranked;
        kept.sort((a, b) => byName(a[0], b[0]));
        const otherCount = ranked.slice(kept.length).reduce((s, [, c]) => s + c, 0);
        return {
          kind: 'categorical',
          name: f.name,
          imputeRule: f.impute === 'most_frequent' ? 'most_frequent' : 'constant',
          impute,
          categories: kept.map(([c]) => c),
          counts: kept.map(([, c]) => c),
          otherCount,
          maxCategories: f.maxCategories ?? null,
          missingInTraining: missing,
        };
      }
      case 'date': {
        const read = dateReader(column, invalidDate(table, f.name, 'error'));
        const years = new Float64Array(n);
        let present = 0;
        for (let k = 0; k < n; k++) {
          const ms = read(rowAt(k));
          if (!Number.isNaN(ms)) years[present++] = new Date(ms).getUTCFullYear();
        }
        if (present === 0) throw new FeatureError(f.name, 'every training value is missing; drop the feature or fix the data');
        const { mean, std } = meanStd(years.subarray(0, present));
        return { kind: 'date', name: f.name, parts: [...f.parts], yearMean: mean, yearStd: std, missingInTraining: n - present };
      }
    }
  });
  return {
    format: 'perennial-preprocessor',
    version: PREPROCESSOR_VERSION,
    features: fitted,
    columns: fitted.flatMap(columnsOf),
    rowsFitted: n,
  };
}

/** `fitTablePreprocessor` on row objects (small inputs: tests, requests). */
export function fitPreprocessor(rows: TypedRow[], features: FeatureSpecInput): FittedPreprocessor {
  return fitTablePreprocessor(tableFromRows(rows), features);
}

// ---------------------------------------------------------------- transform

/** Checks a stored preprocessor before use (a JSON file read back from the store). */
export function assertPreprocessor(pre: unknown): asserts pre is FittedPreprocessor {
  const p = pre as Partial<FittedPreprocessor> | null;
  if (!p || p.format !== 'perennial-preprocessor') throw new Error("not a fitted preprocessor (missing format: 'perennial-preprocessor')");
  if (p.version !== PREPROCESSOR_VERSION) {
    throw new Error(`preprocessor version ${String(p.version)} is not supported (this code reads version ${PREPROCESSOR_VERSION}); refit it`);
  }
  if (!Array.isArray(p.features) || !Array.isArray(p.columns)) throw new Error('preprocessor has no features or columns');
}

const TWO_PI = 2 * Math.PI;

/** Writes a date's parts from x[c] on; a missing date (undefined) gives 0 for sin/cos and the mean year (0 once scaled). */
function writeDateParts(x: Float32Array, c: number, f: FittedDate, d: DateFields | undefined): void {
  for (const part of f.parts) {
    if (part === 'year') {
      x[c++] = d === undefined ? 0 : (d.year - f.yearMean) / f.yearStd;
      continue;
    }
    if (d === undefined) {
      x[c++] = 0;
      x[c++] = 0;
      continue;
    }
    const angle =
      part === 'month_cyclic'
        ? (TWO_PI * (d.month - 1)) / 12
        : part === 'dayofyear_cyclic'
          ? (TWO_PI * (d.dayOfYear - 1)) / d.daysInYear
          : part === 'dayofweek_cyclic'
            ? (TWO_PI * d.dayOfWeek) / 7
            : (TWO_PI * (d.hour + d.minute / 60)) / 24;
    x[c++] = Math.sin(angle);
    x[c++] = Math.cos(angle);
  }
}

/** Writes one feature's output columns for `n` rows: row k's values go from x[k * cols + offset] on. */
type FeatureWriter = (rowAt: (k: number) => number, n: number, x: Float32Array, cols: number, offset: number) => void;

function featureWriter(f: FittedFeature, column: Column, table: ColumnTable, invalid: 'error' | 'impute'): FeatureWriter {
  switch (f.kind) {
    case 'numeric': {
      const read = numberReader(column, invalidNumber(table, f.name, invalid));
      const scale = f.scale === 'standard';
      return (rowAt, n, x, cols, offset) => {
        for (let k = 0; k < n; k++) {
          let v = read(rowAt(k));
          if (Number.isNaN(v)) v = f.impute;
          x[k * cols + offset] = scale ? (v - f.mean) / f.std : v;
        }
      };
    }
    case 'categorical': {
      const reader = categoryReader(column);
      const index = new Map(f.categories.map((c, j) => [c, j]));
      const other = f.categories.length;
      const imputed = index.get(f.impute) ?? other;
      // Output column of each category slot, found once per distinct value.
      const outOfSlot: number[] = [];
      return (rowAt, n, x, cols, offset) => {
        for (let k = 0; k < n; k++) {
          const slot = reader.slotOf(rowAt(k));
          let j = imputed;
          if (slot >= 0) {
            j = outOfSlot[slot] ?? -1;
            if (j < 0) j = outOfSlot[slot] = index.get(reader.names()[slot]!) ?? other;
          }
          x[k * cols + offset + j] = 1;
        }
      };
    }
    case 'date': {
      const read = dateReader(column, invalidDate(table, f.name, invalid));
      return (rowAt, n, x, cols, offset) => {
        for (let k = 0; k < n; k++) {
          const ms = read(rowAt(k));
          writeDateParts(x, k * cols + offset, f, Number.isNaN(ms) ? undefined : dateFieldsOfMs(ms));
        }
      };
    }
  }
}

function widthOf(f: FittedFeature): number {
  return f.kind === 'numeric' ? 1 : f.kind === 'categorical' ? f.categories.length + 1 : f.parts.reduce((s, p) => s + (p === 'year' ? 1 : 2), 0);
}

/** Encodes rows of one table; see `tableEncoder`. */
export type TableEncoder = (rows?: RowSelection, into?: Float32Array) => { x: Float32Array; rows: number; cols: number };

/**
 * Prepares the transform of one table (checks columns, parses each text
 * dictionary once) and returns a function that encodes any rows of it: call it
 * chunk by chunk with a reused `into` (zeroed, then filled for rows.length x
 * cols values) to keep memory bounded.
 */
export function tableEncoder(pre: FittedPreprocessor, table: ColumnTable, options: TransformOptions = {}): TableEncoder {
  assertPreprocessor(pre);
  const absent = options.absentColumns ?? 'error';
  const invalid = options.invalidValues ?? 'error';
  const cols = pre.columns.length;
  const width = pre.features.reduce((s, f) => s + widthOf(f), 0);
  if (width !== cols) throw new Error(`preprocessor is inconsistent: features give ${width} columns, columns lists ${cols}`);
  const writers = pre.features.map((f) => featureWriter(f, featureColumn(table, f.name, absent) ?? missingColumn(table.rows), table, invalid));
  return (rows, into) => {
    const n = selectionSize(table, rows);
    if (into && into.length < n * cols) throw new Error(`transform: the output array holds ${into.length} values, ${n} rows need ${n * cols}`);
    const x = into ?? new Float32Array(n * cols);
    if (into) x.fill(0, 0, n * cols);
    const rowAt = rows ? (k: number) => rows[k]! : (k: number) => k;
    let offset = 0;
    pre.features.forEach((f, i) => {
      writers[i]!(rowAt, n, x, cols, offset);
      offset += widthOf(f);
    });
    return { x, rows: n, cols };
  };
}

/**
 * Turns rows of a table into a dense row-major float32 matrix with the fitted
 * columns (`options.rows`: which rows, default all; `options.into`: an array to
 * write into). The same function serves training and serving: a missing value
 * is imputed, an unseen category goes to the feature's '__other__' column, a
 * missing date gives 0 for its sin/cos parts and the training mean year.
 */
export function transformTable(
  pre: FittedPreprocessor,
  table: ColumnTable,
  options: TransformOptions & { rows?: RowSelection; into?: Float32Array } = {},
): { x: Float32Array; rows: number; cols: number } {
  return tableEncoder(pre, table, options)(options.rows, options.into);
}

/** `transformTable` on row objects (a request's rows, a test's rows). */
export function transform(pre: FittedPreprocessor, rows: TypedRow[], options: TransformOptions = {}): { x: Float32Array; rows: number; cols: number } {
  assertPreprocessor(pre);
  return transformTable(pre, tableFromRows(rows), options);
}
