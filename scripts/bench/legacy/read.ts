/** The file readers before the data engine (src/data/load.ts), kept as the read benchmark's "before". */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { parseCsv, type ParseOptions } from '../../../src/data/csv';
import { formatOf, type DataFormat } from '../../../src/data/format';
import { DataError, type RawTable } from '../../../src/data/table';
import { parseJsonl } from './jsonl';
import { readParquet } from './parquet';

/** The bytes of a file as stored: an empty file is a DataError, a .gz name is gunzipped. */
function unpack(bytes: Buffer, source: string): Buffer {
  if (bytes.length === 0) throw new DataError('the file is empty', { source });
  if (!/\.gz$/i.test(source)) return bytes;
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new DataError(`named .gz but not gzip data: ${(error as Error).message}`, { source });
  }
}

async function parseUnpacked(bytes: Buffer, source: string, format: DataFormat, options: ParseOptions): Promise<RawTable> {
  if (format === 'csv') return parseCsv(bytes, source, options);
  if (format === 'jsonl') return parseJsonl(bytes, source, options);
  return readParquet(bytes, source);
}

/** Parses bytes of any supported format, chosen by the name's extension. */
export async function parseTable(bytes: Buffer, source: string, options: ParseOptions = {}): Promise<RawTable> {
  const format = formatOf(source);
  return parseUnpacked(unpack(bytes, source), source, format, options);
}

/**
 * A local file's contents: a DataError naming the file when it cannot be read
 * or is empty; gunzipped when the name ends in .gz.
 */
export async function readFileBytes(path: string): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new DataError(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source: path });
  }
  return unpack(bytes, path);
}

/** Reads a local file of any supported format. */
export async function readTableFile(path: string, options: ParseOptions = {}): Promise<RawTable> {
  const bytes = await readFileBytes(path);
  return parseUnpacked(bytes, path, formatOf(path), options);
}
