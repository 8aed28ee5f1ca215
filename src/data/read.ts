import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseCsv, type ParseOptions } from './csv';
import { parseJsonl } from './jsonl';
import { readParquet } from './parquet';
import { DataError, type RawTable } from './table';

export type DataFormat = 'csv' | 'jsonl' | 'parquet';

export function formatOf(name: string): DataFormat {
  const ext = extname(name.replace(/\.gz$/i, '')).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new DataError(`unsupported file type '${ext || '(none)'}': use .csv, .jsonl (or .ndjson) or .parquet`, { source: name });
}

/** Parses bytes of any supported format, chosen by the name's extension. */
export async function parseTable(bytes: Buffer, source: string, options: ParseOptions = {}): Promise<RawTable> {
  const format = formatOf(source);
  if (bytes.length === 0) throw new DataError('the file is empty', { source });
  if (/\.gz$/i.test(source)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new DataError(`named .gz but not gzip data: ${(error as Error).message}`, { source });
    }
  }
  if (format === 'csv') return parseCsv(bytes, source, options);
  if (format === 'jsonl') return parseJsonl(bytes, source, options);
  return readParquet(bytes, source);
}

/** Reads a local file of any supported format. */
export async function readTableFile(path: string, options: ParseOptions = {}): Promise<RawTable> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DataError(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source: path });
  }
  return parseTable(bytes, path, options);
}
