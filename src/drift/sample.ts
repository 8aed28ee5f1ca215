import { cellAt, type Column, type ColumnTable } from '../data/columns';
import { readColumnTable } from '../data/read-columns';
import { DataError } from '../data/table';
import { isDateText, toNumber } from '../data/cell-values';
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
  /** First text cell that is not a number (for the error message; its row is found only if it is reported: that reads the file again). */
  firstText?: { index: number; value: string };
}

/** A column parsed once: what its cells are, and the number in each row (NaN when missing or not a number). */
interface Parsed {
  column: Column;
  profile: Profile;
  numbers: Float64Array;
}

/** What one distinct text value is (each value of a text column is looked at once, not once per row). */
type TextClass = { kind: 'number'; value: number } | { kind: 'date' } | { kind: 'text' };

function classify(text: string): TextClass {
  const n = toNumber(text);
  if (n !== undefined) return { kind: 'number', value: n };
  return isDateText(text) ? { kind: 'date' } : { kind: 'text' };
}

function parseColumn(column: Column): Parsed {
  const p: Profile = { present: 0, missing: 0, numbers: 0, integers: 0, booleans: 0, dates: 0, texts: 0 };
  if (column.kind !== 'text') {
    const values = column.values;
    let missing = 0;
    let integers = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (Number.isNaN(v)) missing++;
      else if (Number.isInteger(v)) integers++;
    }
    p.missing = missing;
    p.present = values.length - missing;
    if (column.kind === 'date') p.dates = p.present;
    else {
      p.numbers = p.present;
      p.integers = integers;
    }
    return { column, profile: p, numbers: column.kind === 'number' ? values : new Float64Array(values.length).fill(NaN) };
  }
  const classes = column.dictionary.map(classify);
  // Counted per distinct value, then added up: one pass over the codes.
  const counts = new Float64Array(column.dictionary.length);
  const codes = column.codes;
  let missing = 0;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i]!;
    if (code < 0) missing++;
    else counts[code]!++;
  }
  p.missing = missing;
  p.present = codes.length - missing;
  const anyNumber = classes.some((c) => c.kind === 'number');
  const numbers = new Float64Array(codes.length).fill(NaN);
  if (anyNumber) {
    const valueOf = Float64Array.from(classes, (c) => (c.kind === 'number' ? c.value : NaN));
    for (let i = 0; i < codes.length; i++) if (codes[i]! >= 0) numbers[i] = valueOf[codes[i]!]!;
  }
  classes.forEach((c, k) => {
    const n = counts[k]!;
    if (c.kind === 'number') {
      p.numbers += n;
      if (Number.isInteger(c.value)) p.integers += n;
    } else if (c.kind === 'date') p.dates += n;
    else p.texts += n;
  });
  if (p.texts > 0) {
    const isText = classes.map((c) => c.kind === 'text');
    const index = codes.findIndex((code) => code >= 0 && isText[code] === true);
    p.firstText = { index, value: column.dictionary[codes[index]!]! };
  }
  // JSON booleans arrive as the text true/false: categorical, as Evidently treats bool columns.
  if (p.texts > 0 && column.dictionary.every((v, k) => classes[k]!.kind !== 'text' || v === 'true' || v === 'false')) {
    p.booleans = p.texts;
    p.texts = 0;
    p.firstText = undefined;
  }
  return { column, profile: p, numbers };
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
      { source: table.source, row: table.rowNumber(p.firstText!.index), column: name },
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
    row: table.rowNumber(i),
    column: name,
  });
}

function toCategorical({ column, numbers }: Parsed): (string | null)[] {
  const out = new Array<string | null>(numbers.length);
  if (column.kind !== 'text') {
    for (let i = 0; i < numbers.length; i++) out[i] = Number.isNaN(numbers[i]!) ? null : String(numbers[i]);
    return out;
  }
  // "1" and "1.0" are the same category
  const categories = column.dictionary.map((text) => {
    const n = toNumber(text);
    return n === undefined ? text : String(n);
  });
  const codes = column.codes;
  for (let i = 0; i < codes.length; i++) out[i] = codes[i]! < 0 ? null : categories[codes[i]!]!;
  return out;
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
    const refCol = parseColumn(reference.columns.get(name)!);
    const curCol = parseColumn(curColumn);
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
