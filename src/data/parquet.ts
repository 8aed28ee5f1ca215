import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { DataError, type Cell, type RawTable } from './table';

export interface ParquetReadOptions {
  columns?: string[];
  rowStart?: number;
  rowEnd?: number;
}

function toArrayBuffer(bytes: Uint8Array | ArrayBuffer): ArrayBuffer {
  if (bytes instanceof ArrayBuffer) return bytes;
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

export function parquetColumnNames(bytes: Uint8Array | ArrayBuffer, source: string): { columns: string[]; rows: number } {
  try {
    const metadata = parquetMetadata(toArrayBuffer(bytes));
    return { columns: parquetSchema(metadata).children.map((c) => c.element.name), rows: Number(metadata.num_rows) };
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${(error as Error).message}`, { source });
  }
}

/** Reads Parquet into a RawTable (row numbers are 1-based record indexes). */
export async function readParquet(bytes: Uint8Array | ArrayBuffer, source: string, options: ParquetReadOptions = {}): Promise<RawTable> {
  const file = toArrayBuffer(bytes);
  const { columns: all } = parquetColumnNames(file, source);
  const columns = options.columns ?? all;
  for (const column of columns) {
    if (!all.includes(column)) throw new DataError(`no column '${column}'; the file has: ${all.join(', ')}`, { source, column });
  }
  const rows: Cell[][] = [];
  await parquetRead({
    file,
    compressors,
    columns,
    rowStart: options.rowStart,
    rowEnd: options.rowEnd,
    onComplete: (data: unknown[][]) => {
      for (const row of data) rows.push(row.map(parquetValueToCell));
    },
  });
  const start = options.rowStart ?? 0;
  return { source, columns, rows, rowNumbers: rows.map((_, i) => start + i + 1), rowErrors: [] };
}

/** A Parquet value as a table cell: INT64 as number, timestamps as ISO text. */
export function parquetValueToCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
