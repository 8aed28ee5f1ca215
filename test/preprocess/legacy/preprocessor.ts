// The row-based implementation as it was before the columnar rewrite, kept as the reference the new code must match exactly.
import { median } from 'simple-statistics';
import type { TypedRow } from '../../../src/data/validate';
import { parseDateFields, type DateFields } from '../../../src/data/dates';
import { isMissing, meanStd } from './values';

import { featureSpec, OTHER, type DatePart, type FeatureSpecInput } from '../../../src/preprocess/spec';

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
   * A fitted column absent from every row of the batch: 'error' (default, a
   * clear FeatureError) or 'impute' (serving a client that omits a field).
   */
  absentColumns?: 'error' | 'impute';
  /** A value of the wrong type (text in a numeric column, a malformed date): 'error' (default) or 'impute'. */
  invalidValues?: 'error' | 'impute';
}

const PREPROCESSOR_VERSION = 1 as const;

// ---------------------------------------------------------------- helpers

/** A cell as a finite number, undefined when missing; throws (or returns NaN with impute) when not numeric. */
function numericCell(name: string, v: unknown, row: number, invalid: 'error' | 'impute'): number | undefined {
  if (isMissing(v)) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string') {
    const n = Number(v);
    if (Number.isFinite(n)) return n;
  }
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (invalid === 'impute') return undefined;
  throw new FeatureError(name, `expected a number, found ${JSON.stringify(v)}; fix the data or declare the feature as categorical`, row);
}

function categoryCell(v: unknown): string | undefined {
  if (isMissing(v)) return undefined;
  return typeof v === 'string' ? v : String(v);
}

function dateCell(name: string, v: unknown, row: number, invalid: 'error' | 'impute'): DateFields | undefined {
  if (isMissing(v)) return undefined;
  const d = parseDateFields(v);
  if (d === undefined && invalid === 'error') {
    throw new FeatureError(name, `expected an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM...), found ${JSON.stringify(v)}`, row);
  }
  return d;
}

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

function checkPresent(name: string, rows: TypedRow[], absent: 'error' | 'impute'): void {
  if (rows.length === 0 || absent === 'impute') return;
  if (!rows.some((r) => Object.prototype.hasOwnProperty.call(r, name))) {
    const have = Object.keys(rows[0] ?? {});
    throw new FeatureError(
      name,
      `column is absent from the data (the rows have: ${have.join(', ') || 'no columns'}); add it or remove the feature from the model spec`,
    );
  }
}

// ---------------------------------------------------------------- fit

/**
 * Fits imputation values, scalers, category lists and date scalers on the
 * training rows. `features` is validated with `featureSpec` (defaults applied).
 */
export function fitPreprocessor(rows: TypedRow[], features: FeatureSpecInput): FittedPreprocessor {
  const parsed = featureSpec.safeParse(features);
  if (!parsed.success) {
    throw new Error(`invalid feature spec: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (rows.length === 0) throw new Error('cannot fit a preprocessor on zero rows');
  const fitted: FittedFeature[] = parsed.data.map((f): FittedFeature => {
    checkPresent(f.name, rows, 'error');
    switch (f.kind) {
      case 'numeric': {
        const present: number[] = [];
        rows.forEach((r, i) => {
          const v = numericCell(f.name, r[f.name], i, 'error');
          if (v !== undefined) present.push(v);
        });
        const missing = rows.length - present.length;
        if (present.length === 0 && typeof f.impute !== 'number') {
          throw new FeatureError(
            f.name,
            `every training value is missing, so its ${f.impute} cannot be computed; give a constant impute value or drop the feature`,
          );
        }
        // simple-statistics' median is the mean of the two middle values for an even count.
        const impute = typeof f.impute === 'number' ? f.impute : f.impute === 'mean' ? meanStd(present).mean : median(present);
        const imputed = present.concat(new Array<number>(missing).fill(impute));
        const { mean, std } = meanStd(imputed);
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
        const counts = new Map<string, number>();
        let missing = 0;
        for (const r of rows) {
          const v = categoryCell(r[f.name]);
          if (v === undefined) missing++;
          else counts.set(v, (counts.get(v) ?? 0) + 1);
        }
        const byFrequency = (a: [string, number], b: [string, number]) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
        let impute: string;
        if (f.impute === 'most_frequent') {
          const top = [...counts.entries()].sort(byFrequency)[0];
          if (top === undefined) throw new FeatureError(f.name, 'every training value is missing; give a constant impute value or drop the feature');
          impute = top[0];
        } else impute = f.impute;
        if (missing > 0) counts.set(impute, (counts.get(impute) ?? 0) + missing);
        const ranked = [...counts.entries()].sort(byFrequency);
        const kept = f.maxCategories !== undefined ? ranked.slice(0, f.maxCategories) : ranked;
        kept.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
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
        const years: number[] = [];
        rows.forEach((r, i) => {
          const d = dateCell(f.name, r[f.name], i, 'error');
          if (d !== undefined) years.push(d.year);
        });
        if (years.length === 0) throw new FeatureError(f.name, 'every training value is missing; drop the feature or fix the data');
        const { mean, std } = meanStd(years);
        return { kind: 'date', name: f.name, parts: [...f.parts], yearMean: mean, yearStd: std, missingInTraining: rows.length - years.length };
      }
    }
  });
  return {
    format: 'perennial-preprocessor',
    version: PREPROCESSOR_VERSION,
    features: fitted,
    columns: fitted.flatMap(columnsOf),
    rowsFitted: rows.length,
  };
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

/**
 * Turns rows into a dense row-major float32 matrix with the fitted columns.
 * The same function serves training and serving: a missing value is imputed,
 * an unseen category goes to the feature's '__other__' column, a missing date
 * gives 0 for its sin/cos parts and the training mean year.
 */
export function transform(pre: FittedPreprocessor, rows: TypedRow[], options: TransformOptions = {}): { x: Float32Array; rows: number; cols: number } {
  assertPreprocessor(pre);
  const absent = options.absentColumns ?? 'error';
  const invalid = options.invalidValues ?? 'error';
  const cols = pre.columns.length;
  const n = rows.length;
  const x = new Float32Array(n * cols);
  let offset = 0;
  for (const f of pre.features) {
    checkPresent(f.name, rows, absent);
    switch (f.kind) {
      case 'numeric': {
        const scale = f.scale === 'standard';
        for (let i = 0; i < n; i++) {
          let v = numericCell(f.name, rows[i]![f.name], i, invalid);
          if (v === undefined) v = f.impute;
          x[i * cols + offset] = scale ? (v - f.mean) / f.std : v;
        }
        offset += 1;
        break;
      }
      case 'categorical': {
        const index = new Map(f.categories.map((c, j) => [c, j]));
        const other = f.categories.length;
        for (let i = 0; i < n; i++) {
          const v = categoryCell(rows[i]![f.name]) ?? f.impute;
          x[i * cols + offset + (index.get(v) ?? other)] = 1;
        }
        offset += f.categories.length + 1;
        break;
      }
      case 'date': {
        for (let i = 0; i < n; i++) {
          const d = dateCell(f.name, rows[i]![f.name], i, invalid);
          let c = i * cols + offset;
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
        offset += f.parts.reduce((s, p) => s + (p === 'year' ? 1 : 2), 0);
        break;
      }
    }
  }
  if (offset !== cols) throw new Error(`preprocessor is inconsistent: features give ${offset} columns, columns lists ${cols}`);
  return { x, rows: n, cols };
}
