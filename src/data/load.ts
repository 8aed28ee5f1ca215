/**
 * A data file into the engine: CSV, JSON Lines or Parquet (gzipped when named
 * .gz) becomes one SQL relation with every column of the file, its readable
 * records in file order. Records that cannot be
 * read (ragged, not JSON) are row errors with their file line; a file that is
 * not one of these formats at all (not UTF-8, broken quoting, not Parquet) is
 * a DataError naming the file and line.
 *
 * CSV and JSONL columns are VARCHAR as the old readers gave them (CSV:
 * unquoted values trimmed of whitespace, tabs too, quoted ones as written
 * between the quotes; JSON strings as written; whitespace only = NULL), except
 * those asked for as numbers, which DuckDB parses while reading (the fast path);
 * a value it cannot parse sends that column back to VARCHAR, so the caller
 * sees the exact text and can say what is wrong with it.
 */
import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { open, stat } from 'node:fs/promises';
import { createGunzip, gunzipSync } from 'node:zlib';
import { parse } from 'csv-parse/sync';
import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteValue } from '../errors';
import { ident, literal, queryRows, tempName } from './engine';
import { readText, recordAt, scanQuoting, scanRecords, scanRecordStarts, WHITESPACE, type QuoteProblem, type QuotingScan, type RecordStarts } from './lines';
import { formatOf, type DataFormat } from './format';
import { DataError, type RowError } from './table';
import { cleanText, textProblem } from './text';

/** The kind of a loaded column: numbers, wall-clock dates (epoch ms), or text as written. */
export type LoadedKind = 'number' | 'date' | 'text';

export interface LoadedFile {
  source: string;
  path: string;
  format: DataFormat;
  /** The relation to select from: the file's columns, by name, records in file order. */
  relation: string;
  names: string[];
  /** SQL of each record's 0-based index in the file's order of readable records. */
  index: string;
  /** How each column reads in SQL: `sql.get(name)` is an expression of that kind. */
  kinds: Map<string, LoadedKind>;
  sql: Map<string, string>;
  /** Readable records. */
  rows: number;
  rowErrors: RowError[];
  /** The file row (1-based, as a user counts) of readable record `i`. */
  rowNumber(i: number): number;
  /** JSON Lines only: records' values as JSON has them (for messages about a few bad rows). */
  records?: (indices: number[]) => Promise<Map<number, Record<string, unknown>>>;
}

/** Longest record DuckDB accepts (its default is 2 MB; a 10 MB field is a value to reject, not a reader crash). */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;
const HEAD_BYTES = 1 << 20;

/** The first bytes of a file, gunzipped when it is named .gz. */
async function readHead(path: string, source: string): Promise<Buffer> {
  if (!/\.gz$/i.test(path)) {
    const handle = await open(path, 'r');
    try {
      const buffer = Buffer.alloc(HEAD_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await handle.close();
    }
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const input = createReadStream(path);
  const gunzip = createGunzip();
  try {
    for await (const chunk of input.pipe(gunzip) as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= HEAD_BYTES) break;
    }
  } catch (error) {
    throw new DataError(`named .gz but not gzip data: ${(error as Error).message}`, { source });
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(chunks);
}

/** Refuses what is not UTF-8 text before DuckDB reads it (UTF-16, binary), naming the line. */
function checkText(head: Buffer, complete: boolean, source: string): string {
  const utf16 = textProblem(head.subarray(0, 4));
  if (utf16 && utf16.line === undefined) throw new DataError(utf16.reason, { source });
  // A multi-byte character may be cut at the end of the head: check whole lines only.
  const end = complete ? head.length : head.lastIndexOf(0x0a) + 1;
  const problem = textProblem(head.subarray(0, end));
  if (problem) throw new DataError(problem.reason, { source, row: problem.line });
  return head
    .subarray(0, end)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
}

function loadedFile(base: Omit<LoadedFile, 'rowNumber'>, rowNumber: (i: number) => number): LoadedFile {
  return { ...base, rowNumber };
}

/**
 * Loads a local file into the connection. `source` names it in errors (an S3
 * key when the file is a download). `numbers` are columns to parse as numbers
 * while reading (others stay text); `onRowError: 'throw'` refuses the file at
 * its first unreadable record.
 */
export async function loadFile(
  connection: DuckDBConnection,
  path: string,
  options: { source?: string; numbers?: ReadonlySet<string>; onRowError?: 'collect' | 'throw' } = {},
): Promise<LoadedFile> {
  const source = options.source ?? path;
  const format = formatOf(source);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (error) {
    throw new DataError(`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { source });
  }
  if (size === 0) throw new DataError('the file is empty', { source });
  const loaded =
    format === 'parquet'
      ? await loadParquet(connection, path, source)
      : format === 'csv'
        ? await loadCsv(connection, path, source, options.numbers ?? new Set())
        : await loadJsonl(connection, path, source);
  if (options.onRowError === 'throw' && loaded.rowErrors.length > 0) {
    const first = loaded.rowErrors[0]!;
    throw new DataError(first.reason, first);
  }
  return loaded;
}

// ---------------------------------------------------------------- CSV

/** What DuckDB's CSV reader says, in a user's words (never the raw field). */
function csvRejectReason(type: string, message: string, expected: number): { reason: string; fatal: boolean } {
  switch (type) {
    case 'MISSING COLUMNS':
    case 'TOO MANY COLUMNS': {
      const found = /Found: (\d+)/.exec(message)?.[1];
      return { reason: `expected ${expected} fields, found ${found ?? '?'}`, fatal: false };
    }
    case 'INVALID ENCODING':
      return { reason: 'not UTF-8 text: the line has bytes that are not UTF-8 (saved as Latin-1 or Windows-1252?); save the file as UTF-8', fatal: true };
    case 'LINE SIZE OVER MAXIMUM':
      return { reason: `a record longer than ${MAX_LINE_BYTES} bytes`, fatal: true };
    default:
      return { reason: cleanText(message), fatal: true };
  }
}

/**
 * DuckDB says only "unterminated quote" for a quote never closed and for text
 * after a closing quote: csv-parse, run on the record itself, tells them apart
 * and names the column.
 */
function quoteProblem(path: string, start: number, header: string[]): { reason: string; column?: string } {
  const raw = readFileSync(path);
  const text = (/\.gz$/i.test(path) ? gunzipSync(raw) : raw).subarray(start).toString('utf8');
  const fix = 'quote the whole field and double the quotes inside it ("")';
  try {
    parse(text, { to: 1, relax_column_count: true, trim: true });
  } catch (error) {
    const e = error as { code?: string; column?: number };
    const column = typeof e.column === 'number' ? header[e.column] : undefined;
    if (e.code === 'CSV_QUOTE_NOT_CLOSED') return { reason: `a quoted field starts here and is never closed (a '"' without its closing '"')` };
    if (e.code === 'CSV_INVALID_CLOSING_QUOTE') return { reason: `text after the closing '"' of a quoted field: ${fix}`, column };
  }
  return { reason: `a '"' the reader cannot match: ${fix}` };
}

/** Most columns a CSV file may have (DuckDB's reader slows down sharply past some thousands). */
export const MAX_CSV_COLUMNS = 10_000;

/**
 * DuckDB's read of a CSV file: columns c0, c1... in the header's order, DOUBLE
 * for those in `numbers`, VARCHAR (as DuckDB unquotes it, not trimmed) for the
 * rest; `rejects` names a table that keeps refused records instead of failing.
 */
export function readCsvSql(file: string, header: string[], numbers: ReadonlySet<string>, crOnly: boolean, rejects?: string): string {
  const columns = header.map((name, k) => `${literal(`c${k}`)}: ${numbers.has(name) ? `'DOUBLE'` : `'VARCHAR'`}`).join(', ');
  return `read_csv(${literal(file)}, header = true, auto_detect = false,
    delim = ',', quote = '"', escape = '"', strict_mode = true, null_padding = false, max_line_size = ${MAX_LINE_BYTES},
    buffer_size = ${2 * MAX_LINE_BYTES}, ${crOnly ? `new_line = '\\r',` : ''}
    ${rejects ? `store_rejects = true, rejects_table = ${literal(rejects)}, rejects_scan = ${literal(`${rejects}_scan`)},` : ''} columns = {${columns}})`;
}

/** The file line of each data record of a CSV file DuckDB read whole (found by one more pass over the bytes, when asked for). */
export function csvRecordLines(text: Buffer, crOnly: boolean): Int32Array {
  const all = scanRecords(text, { quoted: true, newline: crOnly ? 0x0d : 0x0a });
  return all.lines.slice(1, all.count);
}

/** A CSV file's header, checked (UTF-8, not empty, no name twice), and its line ends. */
export async function readCsvHeader(path: string, source: string): Promise<{ header: string[]; crOnly: boolean }> {
  const head = await readHead(path, source);
  const complete = head.length < HEAD_BYTES;
  const text = checkText(head, complete, source);
  if (complete && text.trim() === '') throw new DataError('the file is empty (no header, no rows)', { source });
  const crOnly = !text.includes('\n') && text.includes('\r');
  let header: string[];
  try {
    header = parse(text, { to: 1, trim: true, relax_column_count: true, skip_empty_lines: true, record_delimiter: crOnly ? ['\r'] : ['\r\n', '\n'] })[0] ?? [];
  } catch (error) {
    throw new DataError(`not valid CSV: the header cannot be read (${cleanText((error as Error).message)})`, { source, row: 1 });
  }
  if (header.length === 0) throw new DataError('the file is empty (no header, no rows)', { source });
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError(`the header names column ${quoteValue(name)} twice`, { source, row: 1 });
    seen.add(name);
  }
  return { header, crOnly };
}

async function loadCsv(connection: DuckDBConnection, path: string, source: string, numbers: ReadonlySet<string>): Promise<LoadedFile> {
  const { header, crOnly } = await readCsvHeader(path, source);
  if (header.length > MAX_CSV_COLUMNS) throw new DataError(`the header has ${header.length} columns; at most ${MAX_CSV_COLUMNS} are read`, { source, row: 1 });
  const seen = new Set(header);
  const newline = crOnly ? 0x0d : 0x0a;
  let parsed = new Set([...numbers].filter((n) => seen.has(n)));
  const relation = tempName('csv');
  // The file's bytes, read at most once, and only when a row error, an edge space or a quote needs them.
  let bytes: Buffer | undefined;
  const fileText = (): Buffer => (bytes ??= readText(path));
  let quoting: QuotingScan | undefined;
  const scan = (): QuotingScan => {
    quoting ??= scanQuoting(fileText(), { newline });
    if (quoting.problem) throw quoteError(quoting.problem, header, source);
    return quoting;
  };
  const create = async (file: string, rejects?: string) => {
    const select = header.map((name, k) => `c${k} AS ${ident(name)}`).join(', ');
    await connection.run(`DROP TABLE IF EXISTS ${relation}`);
    await connection.run(`CREATE TEMP TABLE ${relation} AS SELECT ${select} FROM ${readCsvSql(file, header, parsed, crOnly, rejects)}`);
  };
  // Numbers DuckDB accepts and JavaScript (and a model) cannot use (inf, nan): that column is read as text.
  const dropNonFinite = async (): Promise<boolean> => {
    const nonFinite = await nonFiniteColumns(connection, relation, [...parsed]);
    parsed = new Set([...parsed].filter((n) => !nonFinite.includes(n)));
    return nonFinite.length > 0;
  };
  const texts = () => header.filter((n) => !parsed.has(n));

  // One read of `file` with every record accepted, in file order; false when DuckDB refuses a record (the error path decides).
  const readClean = async (file: string, text: () => Buffer): Promise<boolean> => {
    try {
      do await create(file);
      while (await dropNonFinite());
    } catch (error) {
      if (!/CSV Error|Conversion Error|Could not convert|invalid state/i.test((error as Error).message)) throw error;
      return false;
    }
    if (header.length > 1) return true;
    // One column: DuckDB reads a blank line as a missing value, the other readers skip it. The copy decides.
    const rows = (await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation}`))[0]!.n;
    return rows === scanRecords(text(), { quoted: true, newline }).count - 1;
  };
  let copyDir: string | undefined;

  try {
    // The clean file: one read.
    let clean = await readClean(path, fileText);
    // A value with a '"' or edge whitespace: the bytes say which fields were quoted. DuckDB's values are the
    // old reader's unless whitespace around a field had to be left out: then it reads the text without it.
    // (A record with a field too many, empty, DuckDB takes for a trailing comma: the error path counts fields.)
    if (clean && (await quotesOrSpaces(connection, relation, texts()))) {
      if (scan().ragged) clean = false;
      else if (scan().trimmed) {
        copyDir = mkdtempSync(join(tmpdir(), 'perennial-csv-'));
        const copy = join(copyDir, 'normalized.csv');
        writeFileSync(copy, scan().normalized!);
        clean = await readClean(copy, () => scan().normalized!);
      }
    }
    let rowErrors: RowError[] = [];
    let acceptedLines: () => Int32Array;
    if (clean) {
      // The records of the file (a copy without whitespace around fields has the same, on the same lines).
      let lines: Int32Array | undefined;
      acceptedLines = () => (lines ??= csvRecordLines(bytes ?? readText(path), crOnly));
    } else {
      // DuckDB reads the text with the whitespace around fields left out: its values are the old reader's, nothing to trim.
      const text = scan().normalized ?? fileText();
      ({ rowErrors, acceptedLines } = await readWithRejects(connection, text, source, header, {
        create,
        dropNonFinite,
        newline,
        unparse: (n) => parsed.delete(n),
      }));
    }
    const lineOf = (i: number): number => acceptedLines()[i] ?? i + 2;
    const nul = await firstNul(connection, relation, texts());
    if (nul !== undefined) {
      throw new DataError('binary data, not text: the line has a NUL byte (UTF-16 without a byte order mark, or not a text file at all)', {
        source,
        row: lineOf(nul),
      });
    }
    // A quoted value of whitespace only is missing, as an unquoted one (left out of the copy) is.
    if (quoting) await nullBlanks(connection, relation, texts());
    const rows = (await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation}`))[0]!.n;
    const kinds = new Map<string, LoadedKind>(header.map((n) => [n, parsed.has(n) ? 'number' : 'text']));
    return loadedFile(
      { source, path, format: 'csv', relation, index: 'rowid', names: header, kinds, sql: new Map(header.map((n) => [n, ident(n)])), rows, rowErrors },
      lineOf,
    );
  } finally {
    // Line numbers asked for later read the file again rather than keep it in memory.
    bytes = undefined;
    quoting = undefined;
    if (copyDir) rmSync(copyDir, { recursive: true, force: true });
  }
}

/**
 * The whitespace the old reader trimmed (tabs and no-break spaces too, not
 * only ' '), as an RE2 class: DuckDB's trim() with a set of characters is ten
 * times slower than a regular expression.
 */
const WS_CLASS = `[${[...WHITESPACE].map((c) => `\\x{${c.codePointAt(0)!.toString(16)}}`).join('')}]`;
/** SQL: `e` is empty or whitespace only. */
const blankText = (e: string) => `regexp_full_match(${e}, '${WS_CLASS}*')`;

/** A quoting mistake found by scanQuoting, as the old reader worded it (file, line and column named). */
function quoteError(problem: QuoteProblem, header: string[], source: string): DataError {
  const fix = 'quote the whole field and double the quotes inside it ("")';
  const column = problem.field !== undefined ? header[problem.field] : undefined;
  const reason =
    problem.kind === 'stray'
      ? `a '"' inside the unquoted field ${quoteValue(problem.prefix ?? '')}: ${fix}`
      : problem.kind === 'afterQuote'
        ? `text after the closing '"' of a quoted field: ${fix}`
        : `a quoted field starts here and is never closed (a '"' without its closing '"')`;
  return new DataError(`not valid CSV: ${reason}`, { source, row: problem.line, column });
}

/**
 * Whether some text value DuckDB read holds a '"' or has whitespace at an edge
 * (whitespace only included): then the file's bytes must say which fields were
 * quoted. One regular expression a row over its values joined by \x01 (a \x01
 * in a value only makes a needless look); the usual file says no.
 */
async function quotesOrSpaces(connection: DuckDBConnection, relation: string, texts: string[]): Promise<boolean> {
  if (texts.length === 0) return false;
  const joined = `concat_ws(chr(1), ${texts.map(ident).join(', ')})`;
  const found = await queryRows(connection, `SELECT 1 FROM ${relation} WHERE regexp_matches(${joined}, '"|(^|\\x01)${WS_CLASS}|${WS_CLASS}(\\x01|$)') LIMIT 1`);
  return found.length > 0;
}

/** Text values of whitespace only (quoted: the old reader kept them, and called them missing) become NULL. */
async function nullBlanks(connection: DuckDBConnection, relation: string, texts: string[]): Promise<void> {
  if (texts.length === 0) return;
  const columns = texts.map(ident);
  await connection.run(
    `UPDATE ${relation} SET ${columns.map((c) => `${c} = CASE WHEN ${blankText(c)} THEN NULL ELSE ${c} END`).join(', ')} WHERE ${columns.map(blankText).join(' OR ')}`,
  );
}

/**
 * The error path, when the fast read failed: records with the wrong number of
 * fields are found by a scan (DuckDB's reject list grows with the square of a
 * row's extra fields: a row of a million fields would never finish) and left
 * out of a copy, which DuckDB then reads keeping its rejects with their byte
 * positions. Each kept record remembers its line in the original file.
 */
async function readWithRejects(
  connection: DuckDBConnection,
  text: Buffer,
  source: string,
  header: string[],
  read: { create: (file: string, rejects?: string) => Promise<void>; dropNonFinite: () => Promise<boolean>; newline: number; unparse: (name: string) => void },
): Promise<{ rowErrors: RowError[]; acceptedLines: () => Int32Array }> {
  const all = scanRecords(text, { quoted: true, newline: read.newline });
  if (all.openQuote) {
    throw new DataError(`not valid CSV: a quoted field starts here and is never closed (a '"' without its closing '"')`, {
      source,
      row: all.lines[all.count - 1],
    });
  }
  const rowErrors: RowError[] = [];
  // Record 0 is the header; kept[j] is the original record of the copy's record j.
  const kept: number[] = [0];
  // The kept records, each ending its line (blank lines left out: a one-column file would read them as values).
  const out = Buffer.allocUnsafe(text.length + 2);
  let size = 0;
  // A last record with no line end gets the header's (CRLF or not: DuckDB refuses a file of both).
  const headerEnd = all.count > 0 ? all.ends[0]! : 0;
  const eol = read.newline === 0x0a && text[headerEnd - 1] === 0x0a && text[headerEnd - 2] === 0x0d ? [0x0d, 0x0a] : [read.newline];
  for (let r = 0; r < all.count; r++) {
    if (r > 0 && all.fields[r] !== header.length) {
      rowErrors.push({ source, row: all.lines[r]!, reason: `expected ${header.length} fields, found ${all.fields[r]}` });
      continue;
    }
    if (r > 0) kept.push(r);
    size += text.copy(out, size, all.bytes[r], all.ends[r]);
    if (out[size - 1] !== read.newline) for (const b of eol) out[size++] = b;
  }
  const copy = join(mkdtempSync(join(tmpdir(), 'perennial-csv-')), 'kept.csv');
  writeFileSync(copy, out.subarray(0, size));
  const copied = scanRecords(readText(copy), { quoted: true, newline: read.newline });
  const rejectedCopyRecords = new Set<number>();
  try {
    for (;;) {
      const rejects = tempName('csv_rejects');
      try {
        await read.create(copy, rejects);
      } catch (error) {
        // What DuckDB cannot read even keeping its rejects: the file is refused, by name, in DuckDB's words.
        if (!/Invalid Input Error|CSV Error/i.test((error as Error).message)) throw error;
        throw new DataError(`not valid CSV: ${cleanText((error as Error).message.split('\n')[0]!.replace(/^Invalid Input Error: /, ''))}`, { source });
      }
      const rejected = await queryRows<{ position: number; type: string; message: string; column: string | null }>(
        connection,
        `SELECT line_byte_position AS position, error_type::VARCHAR AS type, error_message AS message, column_name AS column FROM ${rejects} ORDER BY line_byte_position`,
      );
      await connection.run(`DROP TABLE IF EXISTS ${rejects}; DROP TABLE IF EXISTS ${rejects}_scan`);
      // A value DuckDB could not parse as a number: that column is read as text, for the caller to name the problem.
      const unparsed = rejected.filter((r) => r.type === 'CAST' && r.column !== null).map((r) => header[Number(/^c(\d+)$/.exec(r.column!)?.[1])]!);
      if (unparsed.length > 0 || (await read.dropNonFinite())) {
        unparsed.forEach(read.unparse);
        continue;
      }
      for (const r of rejected) {
        const j = recordAt(copied, r.position);
        const row = all.lines[kept[j]!]!;
        if (r.type === 'UNQUOTED VALUE') {
          const { reason, column } = quoteProblem(copy, copied.bytes[j]!, header);
          throw new DataError(`not valid CSV: ${reason}`, { source, row, column });
        }
        const { reason, fatal } = csvRejectReason(r.type, r.message, header.length);
        if (fatal) throw new DataError(`not valid CSV: ${reason}`, { source, row });
        if (rejectedCopyRecords.has(j)) continue;
        rejectedCopyRecords.add(j);
        rowErrors.push({ source, row, reason });
      }
      break;
    }
  } finally {
    rmSync(dirname(copy), { recursive: true, force: true });
  }
  rowErrors.sort((a, b) => a.row - b.row);
  const lines = new Int32Array(kept.length - 1 - rejectedCopyRecords.size);
  let k = 0;
  for (let j = 1; j < kept.length; j++) if (!rejectedCopyRecords.has(j)) lines[k++] = all.lines[kept[j]!]!;
  return { rowErrors, acceptedLines: () => lines };
}

async function nonFiniteColumns(connection: DuckDBConnection, relation: string, columns: string[]): Promise<string[]> {
  if (columns.length === 0) return [];
  const counts = await queryRows<Record<string, number>>(
    connection,
    `SELECT ${columns.map((c, k) => `count(*) FILTER (WHERE NOT isfinite(${ident(c)})) AS n${k}`).join(', ')} FROM ${relation}`,
  );
  return columns.filter((_, k) => counts[0]![`n${k}`]! > 0);
}

/** The first record holding a NUL byte in a text column (DuckDB keeps it; it means the file is not text). */
async function firstNul(connection: DuckDBConnection, relation: string, texts: string[]): Promise<number | undefined> {
  if (texts.length === 0) return undefined;
  const found = await queryRows<{ i: number }>(
    connection,
    `SELECT rowid AS i FROM ${relation} WHERE ${texts.map((n) => `contains(${ident(n)}, chr(0))`).join(' OR ')} ORDER BY rowid LIMIT 1`,
  );
  return found[0]?.i;
}

// ---------------------------------------------------------------- JSON Lines

/** NaN and Infinity as Python's json module writes them: DuckDB's JSON reader accepts them, JSON does not. */
const NON_JSON_NUMBER_SQL = `regexp_matches(line, '[:,\\[]\\s*-?(NaN|Infinity)\\s*[,}\\]]')`;
const NON_JSON_NUMBER = /[:,[]\s*-?(NaN|Infinity)\s*[,}\]]/;

/** Why a line is not a JSON object, in JavaScript's words (the same JSON the rest of the code reads). */
export function jsonLineProblem(line: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return NON_JSON_NUMBER.test(line)
      ? 'not valid JSON: NaN and Infinity are not JSON values (write null for a missing value)'
      : `not valid JSON: ${cleanText((error as Error).message)}`;
  }
  return value === null || typeof value !== 'object' || Array.isArray(value) ? 'expected a JSON object' : undefined;
}

/** A JSON pointer to a top-level key (any character allowed in the key). */
function pointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

/** Columns: the union of keys in order of first appearance, from each distinct list of keys with the record it first shows in. */
function keyOrder(lists: { keys: string[]; first: number }[]): string[] {
  const firstSeen = new Map<string, [number, number]>();
  for (const { keys, first } of lists) keys.forEach((key, position) => firstSeen.has(key) || firstSeen.set(key, [first, position]));
  return [...firstSeen.keys()].sort((a, b) => firstSeen.get(a)![0] - firstSeen.get(b)![0] || firstSeen.get(a)![1] - firstSeen.get(b)![1]);
}

/**
 * The usual file's columns in one read by DuckDB's JSON reader, each distinct
 * list of keys once. Undefined when some record may be a row error (a line
 * that is not JSON, not an object, or has NaN or Infinity written in it):
 * then every line is looked at. `numbers` are keys the caller means to read
 * as DOUBLE: `booleans` says whether one of them holds a JSON true or false
 * somewhere (DuckDB would read it as 1 or 0), looked at only in records where
 * 'true' or 'false' is written at all. `expected` (the first line's keys,
 * say) is tried first: when every record has those keys in that order, the
 * lists need not be grouped.
 */
export async function jsonlKeys(
  connection: DuckDBConnection,
  path: string,
  numbers: string[] = [],
  expected?: string[],
): Promise<{ names: string[]; booleans: boolean } | undefined> {
  const booleans =
    numbers.length > 0
      ? `CASE WHEN contains(json, 'true') OR contains(json, 'false')
          THEN list_contains(json_type(json, [${numbers.map((n) => literal(pointer(n))).join(', ')}]), 'BOOLEAN') ELSE false END`
      : 'false';
  const suspect = `NOT starts_with(json, '{') OR contains(json, 'NaN') OR contains(json, 'Infinity')`;
  // Numbering the records costs a pass of its own: only when there are lists of keys to put in order.
  const query = (numbered: boolean) =>
    queryRows<{ keys: string[]; first: number; suspect: boolean; booleans: boolean }>(
      connection,
      `SELECT keys, ${numbered ? 'min(k)' : '0'} AS first, bool_or(suspect) AS suspect, bool_or(booleans) AS booleans FROM (SELECT json_keys(json) AS keys,
        ${numbered ? 'row_number() OVER () AS k,' : ''} ${suspect} AS suspect,
        ${booleans} AS booleans
        FROM read_ndjson_objects(${literal(path)}, maximum_object_size = ${MAX_LINE_BYTES})) GROUP BY keys ORDER BY first`,
    );
  try {
    // The usual file: every record has the keys `expected` has, in that order (a cheaper test than grouping the lists).
    if (expected && expected.length > 0) {
      const [same] = await queryRows<{ same: boolean | null; suspect: boolean; booleans: boolean }>(
        connection,
        `SELECT bool_and(json_keys(json) = [${expected.map(literal).join(', ')}]) AS same, bool_or(${suspect}) AS suspect, bool_or(${booleans}) AS booleans
          FROM read_ndjson_objects(${literal(path)}, maximum_object_size = ${MAX_LINE_BYTES})`,
      );
      if (same?.suspect) return undefined;
      if (same?.same === true) return { names: expected, booleans: same.booleans };
    }
    let lists = await query(false);
    if (lists.some((l) => l.suspect)) return undefined;
    if (lists.length > 1) lists = await query(true);
    return { names: keyOrder(lists), booleans: lists.some((l) => l.booleans) };
  } catch {
    return undefined;
  }
}

/**
 * The first MB of a JSON Lines file (gunzipped when named .gz) as text,
 * checked to be UTF-8 (a DataError naming the line otherwise): whole lines
 * only, the byte order mark left out (`bom` says there was one); `complete`
 * when that is the whole file.
 */
export async function readJsonlHead(path: string, source: string): Promise<{ text: string; complete: boolean; bom: boolean }> {
  const head = await readHead(path, source);
  const complete = head.length < HEAD_BYTES;
  const text = checkText(head, complete, source);
  if (complete && text.trim() === '') throw new DataError('the file is empty (no rows)', { source });
  return { text, complete, bom: head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf };
}

async function loadJsonl(connection: DuckDBConnection, path: string, source: string): Promise<LoadedFile> {
  await readJsonlHead(path, source);
  // One VARCHAR per line (no delimiter, no quoting), blank lines left out: record k is the k-th non-blank line.
  const lines = `(SELECT line, row_number() OVER () AS k FROM read_csv(${literal(path)}, header = false,
      auto_detect = false, delim = chr(1), quote = '', escape = '', new_line = '\\n', strict_mode = false, max_line_size = ${MAX_LINE_BYTES},
      buffer_size = ${2 * MAX_LINE_BYTES}, columns = {'line': 'VARCHAR'}) WHERE line IS NOT NULL AND NOT ${blankText('line')})`;
  let starts: RecordStarts | undefined;
  const rowErrors: RowError[] = [];
  const bad: number[] = [];
  const good = () => `(SELECT line, k FROM ${lines} WHERE k NOT IN (SELECT unnest([${bad.join(',')}]::BIGINT[])))`;
  let names = (await jsonlKeys(connection, path))?.names;
  if (!names) {
    // Lines DuckDB's JSON parser refuses, those that are not an object, and those it accepts that JSON does
    // not: JavaScript says why. One parse a line (a valid JSON text is an object when it opens with '{'); the
    // regular expression only where NaN or Infinity is written at all.
    const suspects = await queryRows<{ k: number; line: string }>(
      connection,
      `SELECT k, line FROM ${lines} WHERE NOT json_valid(line) OR NOT starts_with(ltrim(line, ' \t\r'), '{')
        OR ((contains(line, 'NaN') OR contains(line, 'Infinity')) AND ${NON_JSON_NUMBER_SQL}) ORDER BY k`,
    );
    for (const { k, line } of suspects) {
      const reason = jsonLineProblem(line);
      if (reason === undefined) continue;
      rowErrors.push({ source, row: (starts ??= scanRecordStarts(path, { quoted: false })).lines[k - 1] ?? k, reason });
      bad.push(k);
    }
    names = keyOrder(
      await queryRows<{ keys: string[]; first: number }>(
        connection,
        `SELECT keys, min(k) AS first FROM (SELECT json_keys(line) AS keys, k FROM ${good()}) GROUP BY keys ORDER BY first`,
      ),
    );
  }
  if (names.length === 0 && rowErrors.length === 0) throw new DataError('the file is empty (no rows)', { source });
  const relation = tempName('jsonl');
  // JSON null is missing, strings as written (whitespace only = missing, as the old reader had it), numbers,
  // booleans and nested values as their JSON text. With every line an object, DuckDB's JSON reader reads the
  // file once, in its order; else each good line is parsed once for every key (a list of paths).
  const present = (v: string) => `CASE WHEN NOT ${blankText(v)} THEN ${v} END`;
  const readWhole = async (): Promise<boolean> => {
    if (bad.length > 0 || names.length === 0) return false;
    const columns = names.map((name) => `${literal(name)}: 'VARCHAR'`).join(', ');
    try {
      await connection.run(
        `CREATE TEMP TABLE ${relation} AS SELECT ${names.map((name) => `${present(ident(name))} AS ${ident(name)}`).join(', ')}
          FROM read_json(${literal(path)}, format = 'newline_delimited', maximum_object_size = ${MAX_LINE_BYTES}, columns = {${columns}})`,
      );
      return true;
    } catch {
      return false; // what its reader refuses (a byte order mark, a key twice), the lines' parse reads
    }
  };
  // The line (k) of each record: in file order when the JSON reader read the file whole.
  let recordLine = 'r.rowid + 1';
  if (!(await readWhole())) {
    recordLine = 'r.__k';
    const paths = `[${names.map((name) => literal(pointer(name))).join(', ')}]`;
    const columns = names.map((name, k) => `${present(`v[${k + 1}]`)} AS ${ident(name)}`);
    await connection.run(
      `CREATE TEMP TABLE ${relation} AS SELECT ${[...columns, 'k AS __k'].join(', ')} FROM (SELECT ${names.length > 0 ? `json_extract_string(line, ${paths})` : 'NULL'} AS v, k FROM ${good()}) ORDER BY k`,
    );
  }
  const rows = (await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation}`))[0]!.n;
  const badRecords = new Set(bad);
  let accepted: Int32Array | undefined;
  const rowNumber = (i: number): number => {
    if (!accepted) {
      const all = (starts ??= scanRecordStarts(path, { quoted: false }));
      accepted = new Int32Array(Math.max(0, all.count - badRecords.size));
      let n = 0;
      for (let r = 0; r < all.count && n < accepted.length; r++) if (!badRecords.has(r + 1)) accepted[n++] = all.lines[r]!;
    }
    return accepted[i] ?? i + 1;
  };
  const kinds = new Map<string, LoadedKind>(names.map((n) => [n, 'text']));
  // The JSON values of some records, as JavaScript reads them (error messages say 'Infinity', not '1e400').
  const records = async (indices: number[]): Promise<Map<number, Record<string, unknown>>> => {
    const found = await queryRows<{ i: number; line: string }>(
      connection,
      `SELECT r.rowid AS i, l.line FROM ${relation} r JOIN ${lines} l ON l.k = ${recordLine} WHERE r.rowid IN (SELECT unnest([${indices.join(',')}]::BIGINT[]))`,
    );
    return new Map(found.map(({ i, line }) => [i, JSON.parse(line) as Record<string, unknown>]));
  };
  return loadedFile(
    { source, path, format: 'jsonl', records, relation, index: 'rowid', names, kinds, sql: new Map(names.map((n) => [n, ident(n)])), rows, rowErrors },
    rowNumber,
  );
}

// ---------------------------------------------------------------- Parquet

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const DATES = /^(DATE|TIMESTAMP.*)$/;

async function loadParquet(connection: DuckDBConnection, path: string, source: string): Promise<LoadedFile> {
  const gzipped = /\.gz$/i.test(path);
  const file = gzipped ? await gunzipToTemp(path, source) : path;
  const relation = tempName('parquet');
  let described: { name: string; type: string }[];
  try {
    const rows = `read_parquet(${literal(file)}, file_row_number = true)`;
    if (gzipped) {
      // The unpacked copy is read into the connection (its temp tables go with it) and removed at once.
      await connection.run(`CREATE TEMP TABLE ${relation}_rows AS SELECT * FROM ${rows}`);
      await connection.run(`CREATE TEMP VIEW ${relation} AS SELECT * FROM ${relation}_rows`);
    } else await connection.run(`CREATE TEMP VIEW ${relation} AS SELECT * FROM ${rows}`);
    described = await queryRows(
      connection,
      `SELECT column_name AS name, column_type AS type FROM (DESCRIBE SELECT * FROM ${relation}) WHERE column_name <> 'file_row_number'`,
    );
    // The footer may read and the pages not (an interrupted upload): touch every page once.
    await connection.run(`SELECT ${described.map((d) => `count(${ident(d.name)})`).join(', ') || '1'} FROM ${relation}`);
  } catch (error) {
    throw new DataError(`not a readable Parquet file: ${cleanText((error as Error).message.split('\n')[0] ?? '')}`, { source });
  } finally {
    if (gzipped) rmSync(dirname(file), { recursive: true, force: true });
  }
  const names = described.map((d) => d.name);
  const kinds = new Map<string, LoadedKind>();
  const sql = new Map<string, string>();
  for (const { name, type } of described) {
    const column = ident(name);
    if (NUMERIC.test(type)) {
      kinds.set(name, 'number');
      sql.set(name, `${column}::DOUBLE`);
    } else if (DATES.test(type)) {
      kinds.set(name, 'date');
      // Wall-clock time: a zoned timestamp is read in UTC.
      sql.set(name, `epoch_ms(${type.includes('WITH TIME ZONE') ? `timezone('UTC', ${column})` : `${column}::TIMESTAMP`})::DOUBLE`);
    } else if (type === 'VARCHAR') {
      kinds.set(name, 'text');
      // Strings as written; whitespace only is missing.
      sql.set(name, `CASE WHEN NOT ${blankText(column)} THEN ${column} END`);
    } else {
      kinds.set(name, 'text');
      sql.set(name, `${column}::VARCHAR`);
    }
  }
  const rows = (await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation}`))[0]!.n;
  return loadedFile({ source, path, format: 'parquet', relation, index: 'file_row_number', names, kinds, sql, rows, rowErrors: [] }, (i) => i + 1);
}

/** DuckDB reads gzipped CSV and JSON itself, not gzipped Parquet: unpacked to a temp folder (the caller removes it). */
async function gunzipToTemp(path: string, source: string): Promise<string> {
  const out = join(mkdtempSync(join(tmpdir(), 'perennial-gunzip-')), 'data.parquet');
  try {
    await pipeline(createReadStream(path), createGunzip(), createWriteStream(out));
  } catch (error) {
    rmSync(dirname(out), { recursive: true, force: true });
    throw new DataError(`named .gz but not gzip data: ${(error as Error).message}`, { source });
  }
  return out;
}
