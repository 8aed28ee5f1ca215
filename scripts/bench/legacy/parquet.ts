/** The Parquet reader before the data engine (hyparquet, in JavaScript), kept as the benchmarks' "before". */
import { parquetMetadata, parquetRead, parquetSchema, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { quoteValue } from '../../../src/errors';
import { DataError, type Cell, type RawTable } from '../../../src/data/table';
import { cleanText, listNames } from '../../../src/data/text';

export interface ParquetReadOptions {
  columns?: string[];
  rowStart?: number;
  rowEnd?: number;
}

function toArrayBuffer(bytes: Uint8Array | ArrayBuffer): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

interface ParquetFile {
  file: ArrayBuffer;
  metadata: FileMetaData;
  columns: string[];
  rows: number;
}

/** Parses the metadata once (a DataError naming the file when it is not Parquet). */
function openParquet(bytes: Uint8Array | ArrayBuffer, source: string): ParquetFile {
  const file = toArrayBuffer(bytes);
  try {
    const metadata = parquetMetadata(file);
    return { file, metadata, columns: parquetSchema(metadata).children.map((c) => c.element.name), rows: Number(metadata.num_rows) };
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${cleanText((error as Error).message)}`, { source });
  }
}

/** The requested columns (all when absent), each checked against the file's. */
function wantedColumns(all: string[], requested: string[] | undefined, source: string): string[] {
  const columns = requested ?? all;
  for (const column of columns) {
    if (!all.includes(column)) throw new DataError(`no column ${quoteValue(column)}; the file has: ${listNames(all)}`, { source, column });
  }
  return columns;
}

/** Reads Parquet into a RawTable (row numbers are 1-based record indexes). */
export async function readParquet(bytes: Uint8Array | ArrayBuffer, source: string, options: ParquetReadOptions = {}): Promise<RawTable> {
  const { file, metadata, columns: all } = openParquet(bytes, source);
  const columns = wantedColumns(all, options.columns, source);
  const rows: Cell[][] = [];
  try {
    await parquetRead({
      file,
      metadata,
      compressors,
      columns,
      rowStart: options.rowStart,
      rowEnd: options.rowEnd,
      onComplete: (data: unknown[][]) => {
        for (const row of data) rows.push(row.map(parquetValueToCell));
      },
    });
  } catch (error) {
    // The footer read, the pages did not (truncated or damaged in the middle).
    throw new DataError(`not a readable Parquet file: ${cleanText((error as Error).message)}`, { source });
  }
  const start = options.rowStart ?? 0;
  return { source, columns, rows, rowNumbers: rows.map((_, i) => start + i + 1), rowErrors: [] };
}

/** A column as read: typed numbers (Parquet numeric), or cells with the file rows they came from. */
export type SourceColumn = { kind: 'numbers'; values: Float64Array } | { kind: 'cells'; cells: Cell[]; rowNumbers?: number[] };

/** A table by columns: `names` lists every column of the file, `columns` holds those read. */
export interface SourceTable {
  source: string;
  rows: number;
  names: string[];
  columns: Map<string, SourceColumn>;
}

/**
 * Reads Parquet column by column (no row objects): numeric and bigint columns
 * become Float64Array (NaN for null), the rest cells (timestamps as ISO text).
 * Only `options.columns` are read (every column when absent; a name the file
 * lacks is a DataError), but `names` lists all the file's columns.
 */
export async function readParquetSource(bytes: Uint8Array | ArrayBuffer, source: string, options: ParquetReadOptions = {}): Promise<SourceTable> {
  const { file, metadata, columns: all, rows: total } = openParquet(bytes, source);
  const wanted = wantedColumns(all, options.columns, source);
  const rowStart = options.rowStart ?? 0;
  const rowEnd = Math.min(options.rowEnd ?? total, total);
  const rows = Math.max(0, rowEnd - rowStart);
  const chunks = new Map<string, { rowStart: number; data: ArrayLike<unknown> }[]>();
  try {
    await parquetRead({
      file,
      metadata,
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
    throw new DataError(`not a readable Parquet file: ${cleanText((error as Error).message)}`, { source });
  }
  const columns = new Map<string, SourceColumn>();
  for (const name of wanted) {
    const list = chunks.get(name) ?? [];
    const firstValue = firstPresent(list);
    // a chunk may begin before rowStart (whole pages are decoded): `at` is the row in the result
    if (typeof firstValue === 'number' || typeof firstValue === 'bigint') {
      const values = new Float64Array(rows).fill(NaN);
      for (const { rowStart: start, data } of list) {
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
  return { source, rows, names: all, columns };
}

function firstPresent(list: { data: ArrayLike<unknown> }[]): unknown {
  for (const { data } of list) {
    for (let i = 0; i < data.length; i++) if (data[i] !== null && data[i] !== undefined) return data[i];
  }
  return undefined;
}

/** A Parquet value as a table cell: INT64 as number, timestamps as ISO text. */
export function parquetValueToCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
