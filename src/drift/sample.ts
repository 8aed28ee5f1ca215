import { cellAt, type Column, type ColumnTable } from '../data/columns';
import { readColumnTable } from '../data/read-columns';
import { DataError } from '../data/table';
import { isDateText, toNumber } from '../data/schema';
import type { ColumnSample, ColumnType, Sample } from './types';

/**
 * From files to the Samples the drift engine tests.
 *
 * Column types follow Evidently's inference (evidently.legacy.utils.
 * data_preprocessing._get_column_type), translated from pandas dtypes to the
 * cells we read:
 *   - numbers that are all integers, with at most 5 distinct values in the
 *     reference (or in the current sample when the reference has none), are
 *     categorical (Evidently's NUMBER_UNIQUE_AS_CATEGORICAL = 5);
 *   - other numbers are numerical;
 *   - booleans and text are categorical;
 *   - dates (ISO text, Parquet timestamps) are datetime: Evidently leaves them
 *     out of the drift table, so do we (listed in `skipped`). Naming one in
 *     `columns` is an error.
 * `types` overrides the inference per column (Evidently's column_mapping).
 *
 * Differences from pandas, on purpose: an integer column with a missing value
 * stays integer (pandas would make it float64 and so numerical); text in a
 * column that is mostly numbers is an error naming file, row and column
 * (pandas would silently turn the whole column into text, and Evidently would
 * then test it as categorical with one category per distinct number).
 * Rows the reader could not read (wrong number of fields, not JSON) are an
 * error naming file and row: drift on silently dropped rows would lie.
 */

export const NUMBER_UNIQUE_AS_CATEGORICAL = 5;

export interface SampleOptions {
  /** Only these columns, in this order; every column of the reference when absent. */
  columns?: string[];
  /** Type per column, overriding the inference. */
  types?: Record<string, ColumnType>;
  /** Integer columns with at most this many distinct values are categorical (default 5, as Evidently). */
  maxUniqueAsCategorical?: number;
}

export interface SkippedColumn {
  name: string;
  reason: string;
}

export interface SamplePair {
  reference: Sample;
  current: Sample;
  skipped: SkippedColumn[];
}

// ---- inference ----------------------------------------------------------

interface Profile {
  present: number;
  missing: number;
  numbers: number;
  integers: number;
  booleans: number;
  dates: number;
  texts: number;
  /** First text cell that is not a number (for the error message). */
  firstText?: { row: number; value: string };
}

/** A column parsed once: what its cells are, and the number in each row (NaN when missing or not a number). */
interface Parsed {
  column: Column;
  profile: Profile;
  numbers: Float64Array;
  rowNumber: (i: number) => number;
}

/** What one distinct text value is (each value of a text column is looked at once, not once per row). */
type TextClass = { kind: 'number'; value: number } | { kind: 'date' } | { kind: 'text' };

function classify(text: string): TextClass {
  const n = toNumber(text);
  if (n !== undefined) return { kind: 'number', value: n };
  return isDateText(text) ? { kind: 'date' } : { kind: 'text' };
}

function parseColumn(column: Column, rowNumber: (i: number) => number): Parsed {
  const p: Profile = { present: 0, missing: 0, numbers: 0, integers: 0, booleans: 0, dates: 0, texts: 0 };
  if (column.kind !== 'text') {
    for (const v of column.values) {
      if (Number.isNaN(v)) p.missing++;
      else if (column.kind === 'date') {
        p.present++;
        p.dates++;
      } else {
        p.present++;
        p.numbers++;
        if (Number.isInteger(v)) p.integers++;
      }
    }
    return { column, profile: p, numbers: column.kind === 'number' ? column.values : new Float64Array(column.values.length).fill(NaN), rowNumber };
  }
  const classes = column.dictionary.map(classify);
  const numbers = new Float64Array(column.codes.length).fill(NaN);
  for (let i = 0; i < column.codes.length; i++) {
    const code = column.codes[i]!;
    if (code < 0) {
      p.missing++;
      continue;
    }
    p.present++;
    const c = classes[code]!;
    if (c.kind === 'number') {
      numbers[i] = c.value;
      p.numbers++;
      if (Number.isInteger(c.value)) p.integers++;
    } else if (c.kind === 'date') p.dates++;
    else {
      p.texts++;
      if (p.firstText === undefined) p.firstText = { row: rowNumber(i), value: column.dictionary[code]! };
    }
  }
  // JSON booleans arrive as the text true/false: categorical, as Evidently treats bool columns.
  if (p.texts > 0 && column.dictionary.every((v, k) => classes[k]!.kind !== 'text' || v === 'true' || v === 'false')) {
    p.booleans = p.texts;
    p.texts = 0;
    p.firstText = undefined;
  }
  return { column, profile: p, numbers, rowNumber };
}

function distinctNumbers(numbers: Float64Array, limit: number): number {
  const seen = new Set<number>();
  for (const v of numbers) {
    if (!Number.isNaN(v)) {
      seen.add(v);
      if (seen.size > limit) break;
    }
  }
  return seen.size;
}

type Inferred = { type: ColumnType } | { skip: string };

function inferType(name: string, ref: ColumnTable, cur: ColumnTable, refCol: Parsed, curCol: Parsed, limit: number): Inferred {
  const pr = refCol.profile;
  const pc = curCol.profile;
  const present = pr.present + pc.present;
  const numbers = pr.numbers + pc.numbers;
  const texts = pr.texts + pc.texts;
  if (present === 0) return { type: 'numerical' }; // all missing: the engine reports it not testable
  if (pr.dates + pc.dates === present) return { skip: 'datetime column (Evidently leaves dates out of data drift)' };
  if (pr.booleans + pc.booleans === present) return { type: 'categorical' };
  if (numbers > 0 && texts > 0 && numbers >= texts) {
    // mostly numbers with some text: the text is a data error, named where it is
    const [table, p] = pr.firstText ? [ref, pr] : [cur, pc];
    throw new DataError(
      `text '${p.firstText!.value}' in a numeric column (${numbers} of ${present} values are numbers); fix the value or leave the cell empty`,
      { source: table.source, row: p.firstText!.row, column: name },
    );
  }
  if (numbers === present) {
    if (pr.integers + pc.integers === present) {
      const unique = distinctNumbers(pr.present > 0 ? refCol.numbers : curCol.numbers, limit);
      if (unique <= limit) return { type: 'categorical' };
    }
    return { type: 'numerical' };
  }
  return { type: 'categorical' };
}

function toNumerical(name: string, table: ColumnTable, parsed: Parsed): Float64Array {
  const { column, profile, numbers } = parsed;
  if (column.kind === 'number' || profile.numbers === profile.present) return numbers;
  // a present cell that is not a number (possible when the type was given)
  let i = 0;
  while (i < numbers.length && (cellAt(column, i) === null || !Number.isNaN(numbers[i]!))) i++;
  throw new DataError(`'${String(cellAt(column, i))}' is not a number, and the column is numerical`, {
    source: table.source,
    row: parsed.rowNumber(i),
    column: name,
  });
}

function toCategorical({ column, numbers }: Parsed): (string | null)[] {
  if (column.kind !== 'text') return Array.from(numbers, (v) => (Number.isNaN(v) ? null : String(v)));
  // "1" and "1.0" are the same category
  const categories = column.dictionary.map((text) => {
    const n = toNumber(text);
    return n === undefined ? text : String(n);
  });
  return Array.from(column.codes, (code) => (code < 0 ? null : categories[code]!));
}

/**
 * The reference and current Samples for the drift engine. Columns named in
 * `options.columns` must exist in both files (else an error naming the file and
 * the column); without it, every reference column, and those absent from the
 * current file are skipped (as Evidently skips partially present columns).
 */
export function buildSamples(reference: ColumnTable, current: ColumnTable, options: SampleOptions = {}): SamplePair {
  const limit = options.maxUniqueAsCategorical ?? NUMBER_UNIQUE_AS_CATEGORICAL;
  const explicit = options.columns !== undefined;
  const names = options.columns ?? reference.names;
  const skipped: SkippedColumn[] = [];
  const refColumns: ColumnSample[] = [];
  const curColumns: ColumnSample[] = [];
  for (const name of options.columns ?? []) {
    if (!reference.columns.has(name))
      throw new DataError(`no column '${name}'; the file has: ${reference.names.join(', ')}`, { source: reference.source, column: name });
    if (!current.columns.has(name))
      throw new DataError(`no column '${name}'; the file has: ${current.names.join(', ')}`, { source: current.source, column: name });
  }
  for (const name of names) {
    const curColumn = current.columns.get(name);
    if (!curColumn) {
      skipped.push({ name, reason: `not in the current file ${current.source}` });
      continue;
    }
    const refCol = parseColumn(reference.columns.get(name)!, (i) => reference.rowNumber(i));
    const curCol = parseColumn(curColumn, (i) => current.rowNumber(i));
    let type = options.types?.[name];
    if (type === undefined) {
      const inferred = inferType(name, reference, current, refCol, curCol, limit);
      if ('skip' in inferred) {
        if (explicit)
          throw new DataError(`the column holds dates; drift is tested on numerical and categorical columns`, { source: reference.source, column: name });
        skipped.push({ name, reason: inferred.skip });
        continue;
      }
      type = inferred.type;
    }
    if (type === 'numerical') {
      refColumns.push({ name, type, values: toNumerical(name, reference, refCol) });
      curColumns.push({ name, type, values: toNumerical(name, current, curCol) });
    } else {
      refColumns.push({ name, type, values: toCategorical(refCol) });
      curColumns.push({ name, type, values: toCategorical(curCol) });
    }
  }
  return { reference: { columns: refColumns }, current: { columns: curColumns }, skipped };
}

/** Both files read and turned into Samples. */
export async function readSamples(referencePath: string, currentPath: string, options: SampleOptions = {}): Promise<SamplePair> {
  const [reference, current] = await Promise.allSettled([
    readColumnTable(referencePath, { columns: options.columns }),
    readColumnTable(currentPath, { columns: options.columns }),
  ]);
  // both are read at once; an error in the reference is reported first
  if (reference.status === 'rejected') throw reference.reason;
  if (current.status === 'rejected') throw current.reason;
  return buildSamples(reference.value, current.value, options);
}
