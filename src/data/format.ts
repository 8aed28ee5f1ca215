import { extname } from 'node:path';
import { DataError } from './table';

export type DataFormat = 'csv' | 'jsonl' | 'parquet';

/** The format a file name says (its extension, a trailing .gz ignored). */
export function formatOf(name: string): DataFormat {
  const ext = extname(name.replace(/\.gz$/i, '')).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  if (ext === '.parquet') return 'parquet';
  throw new DataError(`unsupported file type '${ext || '(none)'}': use .csv, .jsonl (or .ndjson) or .parquet`, { source: name });
}
