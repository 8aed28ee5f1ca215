import { readFile } from 'node:fs/promises';
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { formatOf, readTableFile } from '../data/read';
import { parquetValueToCell } from '../data/parquet';
import { DataError, type Cell, type RawTable } from '../data/table';
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

/** A column as read: typed numbers (Parquet numeric), or cells with the file rows they came from. */
export type SourceColumn =
  | { kind: 'numbers'; values: Float64Array }
  | { kind: 'cells'; cells: Cell[]; rowNumbers?: number[] };

export interface SourceTable {
  source: string;
  rows: number;
  names: string[];
  columns: Map<string, SourceColumn>;
}

/** A RawTable as columns; unreadable rows are an error naming file and row. */
export function sourceFromTable(table: RawTable): SourceTable {
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
    columns.set(name, { kind: 'cells', cells: table.rows.map((r) => r[c] ?? null), rowNumbers: table.rowNumbers });
  });
  return { source: table.source, rows: table.rows.length, names: [...table.columns], columns };
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

/**
 * Reads Parquet column by column (no row objects): numeric and bigint columns
 * become Float64Array (NaN for null), the rest cells (timestamps as ISO text).
 * Row numbers are 1-based record indexes.
 */
export async function readParquetSource(
  bytes: Uint8Array,
  source: string,
  options: { columns?: string[]; rowStart?: number; rowEnd?: number } = {},
): Promise<SourceTable> {
  const file = toArrayBuffer(bytes);
  let all: string[];
  let total: number;
  try {
    const metadata = parquetMetadata(file);
    all = parquetSchema(metadata).children.map((c) => c.element.name);
    total = Number(metadata.num_rows);
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${(error as Error).message}`, { source });
  }
  const wanted = options.columns ?? all;
  for (const name of wanted) {
    if (!all.includes(name)) throw new DataError(`no column '${name}'; the file has: ${all.join(', ')}`, { source, column: name });
  }
  const rowStart = options.rowStart ?? 0;
  const rowEnd = Math.min(options.rowEnd ?? total, total);
  const rows = Math.max(0, rowEnd - rowStart);
  const chunks = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
  try {
    await parquetRead({
      file,
      compressors,
      columns: wanted,
      rowStart,
      rowEnd,
      onChunk: (chunk) => {
        const list = chunks.get(chunk.columnName) ?? [];
        list.push({ rowStart: chunk.rowStart, data: chunk.columnData as ArrayLike<unknown> });
        chunks.set(chunk.columnName, list);
      },
    });
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${(error as Error).message}`, { source });
  }
  const columns = new Map<string, SourceColumn>();
  for (const name of wanted) {
    const list = chunks.get(name) ?? [];
    const firstValue = firstPresent(list);
    if (typeof firstValue === 'number' || typeof firstValue === 'bigint') {
      const values = new Float64Array(rows).fill(NaN);
      for (const { rowStart: start, data } of list) {
        // a chunk may begin before rowStart (whole pages are decoded)
        for (let i = 0; i < data.length; i++) {
          const at = start + i - rowStart;
          if (at < 0 || at >= rows) continue;
          const v = data[i];
          values[at] = v === null || v === undefined ? NaN : Number(v);
        }
      }
      columns.set(name, { kind: 'numbers', values });
    } else {
      const cells: Cell[] = new Array<Cell>(rows).fill(null);
      for (const { rowStart: start, data } of list) {
        for (let i = 0; i < data.length; i++) {
          const at = start + i - rowStart;
          if (at < 0 || at >= rows) continue;
          cells[at] = parquetValueToCell(data[i]);
        }
      }
      columns.set(name, { kind: 'cells', cells });
    }
  }
  return { source, rows, names: [...wanted], columns };
}

function firstPresent(list: { data: ArrayLike<unknown> }[]): unknown {
  for (const { data } of list) {
    for (let i = 0; i < data.length; i++) if (data[i] !== null && data[i] !== undefined) return data[i];
  }
  return undefined;
}

/** Reads any supported file (CSV, JSONL, Parquet) as columns. */
export async function readSourceFile(path: string, options: { columns?: string[] } = {}): Promise<SourceTable> {
  if (formatOf(path) === 'parquet') {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (error) {
      throw new DataError(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source: path });
    }
    if (bytes.length === 0) throw new DataError('the file is empty', { source: path });
    const { columns } = options;
    // only read the columns asked for (those that exist: a missing one is reported by buildSamples)
    if (!columns) return readParquetSource(bytes, path);
    const names = parquetNames(bytes, path);
    const table = await readParquetSource(bytes, path, { columns: names.filter((n) => columns.includes(n)) });
    return { ...table, names };
  }
  return sourceFromTable(await readTableFile(path));
}

function parquetNames(bytes: Uint8Array, source: string): string[] {
  try {
    return parquetSchema(parquetMetadata(toArrayBuffer(bytes))).children.map((c) => c.element.name);
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${(error as Error).message}`, { source });
  }
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

function profile(column: SourceColumn): Profile {
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
    return p;
  }
  const { cells, rowNumbers } = column;
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
  return p;
}

function distinctNumbers(column: SourceColumn, limit: number): number {
  const seen = new Set<number>();
  if (column.kind === 'numbers') {
    for (const v of column.values) {
      if (!Number.isNaN(v)) {
        seen.add(v);
        if (seen.size > limit) break;
      }
    }
  } else {
    for (const cell of column.cells) {
      const n = toNumber(cell);
      if (n !== undefined) {
        seen.add(n);
        if (seen.size > limit) break;
      }
    }
  }
  return seen.size;
}

type Inferred = { type: ColumnType } | { skip: string };

function inferType(name: string, ref: SourceTable, cur: SourceTable, refCol: SourceColumn, curCol: SourceColumn, limit: number): Inferred {
  const pr = profile(refCol);
  const pc = profile(curCol);
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
      const unique = pr.present > 0 ? distinctNumbers(refCol, limit) : distinctNumbers(curCol, limit);
      if (unique <= limit) return { type: 'categorical' };
    }
    return { type: 'numerical' };
  }
  return { type: 'categorical' };
}

function toNumerical(name: string, table: SourceTable, column: SourceColumn): Float64Array {
  if (column.kind === 'numbers') return column.values;
  const out = new Float64Array(column.cells.length);
  column.cells.forEach((cell, i) => {
    if (cell === null || cell === undefined) {
      out[i] = NaN;
      return;
    }
    const n = typeof cell === 'boolean' ? undefined : toNumber(cell);
    if (n === undefined) {
      throw new DataError(`'${String(cell)}' is not a number, and the column is numerical`, { source: table.source, row: column.rowNumbers?.[i] ?? i + 1, column: name });
    }
    out[i] = n;
  });
  return out;
}

function toCategorical(column: SourceColumn): (string | null)[] {
  if (column.kind === 'numbers') return Array.from(column.values, (v) => (Number.isNaN(v) ? null : String(v)));
  return column.cells.map((cell) => {
    if (cell === null || cell === undefined) return null;
    if (typeof cell === 'string') {
      // "1" and "1.0" are the same category
      const n = toNumber(cell);
      return n !== undefined ? String(n) : cell;
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
    if (!reference.columns.has(name)) throw new DataError(`no column '${name}'; the file has: ${reference.names.join(', ')}`, { source: reference.source, column: name });
    if (!current.columns.has(name)) throw new DataError(`no column '${name}'; the file has: ${current.names.join(', ')}`, { source: current.source, column: name });
  }
  for (const name of names) {
    const refCol = reference.columns.get(name)!;
    const curCol = current.columns.get(name);
    if (!curCol) {
      skipped.push({ name, reason: `not in the current file ${current.source}` });
      continue;
    }
    let type = options.types?.[name];
    if (type === undefined) {
      const inferred = inferType(name, reference, current, refCol, curCol, limit);
      if ('skip' in inferred) {
        if (explicit) throw new DataError(`the column holds dates; drift is tested on numerical and categorical columns`, { source: reference.source, column: name });
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
  const [reference, current] = await Promise.all([
    readSourceFile(referencePath, { columns: options.columns }),
    readSourceFile(currentPath, { columns: options.columns }),
  ]);
  return buildSamples(reference, current, options);
}

/** Rows in a sample (the length of its first column). */
export function sampleRows(sample: Sample): number {
  return sample.columns[0]?.values.length ?? 0;
}
