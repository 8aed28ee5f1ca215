import { formatOf, readFileBytes, readTableFile } from '../data/read';
import { readParquetSource, type SourceColumn, type SourceTable } from '../data/parquet';
import { DataError, type RawTable } from '../data/table';
import { isDateText, toNumber } from '../data/schema';
import type { ColumnSample, ColumnType, Sample } from './types';

export type { SourceTable } from '../data/parquet';

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

/**
 * A RawTable as columns (only `wanted` ones, those the table has, when given;
 * `names` lists them all). Unreadable rows are an error naming file and row.
 */
export function sourceFromTable(table: RawTable, wanted?: string[]): SourceTable {
  const first = table.rowErrors[0];
  if (first) {
    const more = table.rowErrors.length - 1;
    throw new DataError(`${first.reason}${more > 0 ? ` (and ${more} more unreadable row${more > 1 ? 's' : ''})` : ''}`, {
      source: first.source,
      row: first.row,
      column: first.column,
    });
  }
  const columns = new Map<string, SourceColumn>();
  table.columns.forEach((name, c) => {
    if (wanted && !wanted.includes(name)) return;
    columns.set(name, { kind: 'cells', cells: table.rows.map((r) => r[c] ?? null), rowNumbers: table.rowNumbers });
  });
  return { source: table.source, rows: table.rows.length, names: [...table.columns], columns };
}

/**
 * Reads any supported file (CSV, JSONL, Parquet; gzipped when named .gz) as
 * columns, only `columns` when given. A Parquet file lacking one of them is an
 * error here; for CSV and JSONL buildSamples reports it.
 */
export async function readSourceFile(path: string, options: { columns?: string[] } = {}): Promise<SourceTable> {
  if (formatOf(path) === 'parquet') return readParquetSource(await readFileBytes(path), path, { columns: options.columns });
  return sourceFromTable(await readTableFile(path), options.columns);
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
  column: SourceColumn;
  profile: Profile;
  numbers: Float64Array;
}

function parseColumn(column: SourceColumn): Parsed {
  const p: Profile = { present: 0, missing: 0, numbers: 0, integers: 0, booleans: 0, dates: 0, texts: 0 };
  if (column.kind === 'numbers') {
    for (const v of column.values) {
      if (Number.isNaN(v)) p.missing++;
      else {
        p.present++;
        p.numbers++;
        if (Number.isInteger(v)) p.integers++;
      }
    }
    return { column, profile: p, numbers: column.values };
  }
  const { cells, rowNumbers } = column;
  const numbers = new Float64Array(cells.length).fill(NaN);
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i];
    if (cell === null || cell === undefined) {
      p.missing++;
      continue;
    }
    p.present++;
    if (typeof cell === 'boolean') {
      p.booleans++;
      continue;
    }
    const n = toNumber(cell);
    if (n !== undefined) {
      numbers[i] = n;
      p.numbers++;
      if (Number.isInteger(n)) p.integers++;
      continue;
    }
    if (typeof cell === 'string' && isDateText(cell)) {
      p.dates++;
      continue;
    }
    p.texts++;
    if (p.firstText === undefined) p.firstText = { row: rowNumbers?.[i] ?? i + 1, value: String(cell) };
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

function inferType(name: string, ref: SourceTable, cur: SourceTable, refCol: Parsed, curCol: Parsed, limit: number): Inferred {
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

function toNumerical(name: string, table: SourceTable, parsed: Parsed): Float64Array {
  const { column, profile, numbers } = parsed;
  if (column.kind === 'numbers' || profile.numbers === profile.present) return numbers;
  // a present cell that is not a number (possible when the type was given)
  const i = column.cells.findIndex((cell, k) => cell !== null && cell !== undefined && Number.isNaN(numbers[k]!));
  throw new DataError(`'${String(column.cells[i])}' is not a number, and the column is numerical`, {
    source: table.source,
    row: column.rowNumbers?.[i] ?? i + 1,
    column: name,
  });
}

function toCategorical({ column, numbers }: Parsed): (string | null)[] {
  if (column.kind === 'numbers') return Array.from(numbers, (v) => (Number.isNaN(v) ? null : String(v)));
  return column.cells.map((cell, i) => {
    if (cell === null || cell === undefined) return null;
    if (typeof cell === 'string') {
      // "1" and "1.0" are the same category
      const n = numbers[i]!;
      return Number.isNaN(n) ? cell : String(n);
    }
    return String(cell);
  });
}

/**
 * The reference and current Samples for the drift engine. Columns named in
 * `options.columns` must exist in both files (else an error naming the file and
 * the column); without it, every reference column, and those absent from the
 * current file are skipped (as Evidently skips partially present columns).
 */
export function buildSamples(reference: SourceTable, current: SourceTable, options: SampleOptions = {}): SamplePair {
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
    readSourceFile(referencePath, { columns: options.columns }),
    readSourceFile(currentPath, { columns: options.columns }),
  ]);
  // both are read at once; an error in the reference is reported first
  if (reference.status === 'rejected') throw reference.reason;
  if (current.status === 'rejected') throw current.reason;
  return buildSamples(reference.value, current.value, options);
}
