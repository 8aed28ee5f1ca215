/**
 * A file as typed columns with no schema to go by (the drift CLI, a quick
 * look at a file): a column whose every present value is a finite number is
 * a number column, dates stay as the file has them (Parquet timestamps are
 * date columns; ISO text is text, for the caller to recognise), the rest text.
 */
import { stat } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { Column, ColumnTable } from './columns';
import { ident, literal, queryColumns, queryRows, withConnection } from './engine';
import { formatOf } from './format';
import { WHITESPACE, readText, scanRecordStarts } from './lines';
import { csvRecordLines, jsonlKeys, loadFile, MAX_CSV_COLUMNS, MAX_LINE_BYTES, readCsvHeader, readCsvSql, readJsonlHead, type LoadedFile } from './load';
import { DataError, type RowError } from './table';
import { listNames } from './text';
import { quoteValue } from '../errors';

export interface ReadColumnsOptions {
  /** Name in errors (an S3 key when the file is a download); the path by default. */
  source?: string;
  /** Only these columns (each must exist); every column when absent. */
  columns?: string[];
  /** 'throw' (default): an unreadable row is an error naming it; 'collect': listed in rowErrors. */
  onRowError?: 'collect' | 'throw';
}

export interface ReadTable extends ColumnTable {
  rowErrors: RowError[];
}

/** Columns DuckDB's sniffer takes for numbers in the first rows: parsed while reading (the fast path). */
async function sniffNumbers(connection: DuckDBConnection, path: string): Promise<Set<string>> {
  try {
    const [sniffed] = await queryRows<{ Columns: { name: string; type: string }[] }>(
      connection,
      `SELECT Columns FROM sniff_csv(${literal(path)}, header = true, delim = ',', quote = '"', escape = '"', sample_size = 20480)`,
    );
    return new Set((sniffed?.Columns ?? []).filter((c) => /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|FLOAT|DOUBLE|DECIMAL)/.test(c.type)).map((c) => c.name));
  } catch {
    return new Set(); // the loader reads everything as text and finds the numbers itself
  }
}

/** SQL for a text column as numbers when every present value is a finite number; undefined otherwise. */
async function numericText(connection: DuckDBConnection, loaded: LoadedFile, names: string[]): Promise<Set<string>> {
  if (names.length === 0) return new Set();
  const counts = (
    await queryRows<Record<string, number>>(
      connection,
      `SELECT ${names
        .map((n, k) => {
          const c = loaded.sql.get(n)!;
          return `count(${c}) AS p${k}, count(*) FILTER (WHERE isfinite(TRY_CAST(${c} AS DOUBLE))) AS n${k}`;
        })
        .join(', ')} FROM ${loaded.relation}`,
    )
  )[0]!;
  return new Set(names.filter((_, k) => counts[`p${k}`]! > 0 && counts[`p${k}`] === counts[`n${k}`]));
}

/** A text value the loader would look at again: a quote, whitespace at an edge (or nothing but whitespace), a NUL. */
function needsLoader(text: string): boolean {
  return text === '' || text.includes('"') || text.includes('\0') || WHITESPACE.includes(text[0]!) || WHITESPACE.includes(text[text.length - 1]!);
}

/** Text columns with this many distinct values or more, all of them possibly numbers, are left to the loader to decide. */
const MAX_NUMERIC_DICTIONARY = 10_000;

/**
 * Text columns of numbers only (the sniffer or the first lines saw too few
 * rows to say so) become number columns, as the loader's numericText makes
 * them: DuckDB casts each distinct value once. False when a column has too
 * many distinct values, all possibly numbers, to cast so: the loader decides.
 */
async function numbersInText(connection: DuckDBConnection, columns: Map<string, Column>): Promise<boolean> {
  const maybeNumbers: string[] = [];
  for (const [name, column] of columns) {
    if (column.kind === 'text' && column.dictionary.length > 0 && column.dictionary.every((v) => /[0-9]/.test(v))) maybeNumbers.push(name);
  }
  for (const name of maybeNumbers) {
    const column = columns.get(name) as Column & { kind: 'text' };
    if (column.dictionary.length >= MAX_NUMERIC_DICTIONARY) return false;
    const [cast] = await queryRows<{ v: (number | null)[] }>(
      connection,
      `SELECT list_transform([${column.dictionary.map(literal).join(', ')}], x -> CASE WHEN isfinite(TRY_CAST(x AS DOUBLE)) THEN TRY_CAST(x AS DOUBLE) END) AS v`,
    );
    const values = cast!.v;
    if (values.some((v) => v === null)) continue;
    columns.set(name, { kind: 'number', values: Float64Array.from(column.codes, (code) => (code < 0 ? NaN : values[code]!)) });
  }
  return true;
}

/** A text column with its values of whitespace only (the empty text too) made missing, as the loader reads them. */
function withoutBlanks(column: Column & { kind: 'text' }): Column & { kind: 'text' } {
  const blank = column.dictionary.map((v) => [...v].every((c) => WHITESPACE.includes(c)));
  if (!blank.includes(true)) return column;
  const dictionary: string[] = [];
  const recode = column.dictionary.map((v, k) => (blank[k] ? -1 : dictionary.push(v) - 1));
  const codes = column.codes;
  for (let i = 0; i < codes.length; i++) if (codes[i]! >= 0) codes[i] = recode[codes[i]!]!;
  return { kind: 'text', codes, dictionary };
}

/**
 * Keys whose every present value in the file's first whole lines is a JSON
 * number, and the first line's keys; undefined when one of those lines is not a JSON object.
 */
function headKeys(text: string): { numbers: Set<string>; first: string[] } | undefined {
  const seen = new Map<string, boolean>();
  let first: string[] | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return undefined;
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    first ??= Object.keys(value);
    for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
      if (v !== null) seen.set(key, (seen.get(key) ?? true) && typeof v === 'number');
    }
  }
  return { numbers: new Set([...seen].filter(([, number]) => number).map(([key]) => key)), first: first ?? [] };
}

/**
 * The usual JSON Lines file (plain or .gz) by DuckDB's JSON reader straight
 * into typed columns: keys whose values in the first lines are all numbers
 * are read as DOUBLE, the rest as text (as the loader's reader reads them:
 * strings as written, other values as their JSON text), with the loader's
 * checks made on the columns. One pass finds the keys (the union, in order of
 * first appearance) and whether any line may be a row error, a second reads.
 * Undefined when the loader must read the file instead: a line that may not
 * be a JSON object (or has NaN or Infinity in it), a byte order mark, a value
 * a DOUBLE column cannot hold as the loader would read it (text, true or
 * false, a nested value, a number too large), a key asked for and not in the file.
 */
async function readJsonlDirect(connection: DuckDBConnection, path: string, source: string, wanted: string[] | undefined): Promise<ReadTable | undefined> {
  if (((await stat(path).catch(() => undefined))?.size ?? 0) === 0) return undefined;
  const head = await readJsonlHead(path, source);
  if (head.bom) return undefined;
  const sampled = headKeys(head.text);
  if (!sampled) return undefined;
  const numbers = sampled.numbers;
  // One pass for the keys, one for the values (the two side by side, on two connections, were slower: each uses every core).
  const keys = await jsonlKeys(
    connection,
    path,
    [...numbers].filter((n) => wanted === undefined || wanted.includes(n)),
    sampled.first,
  );
  if (!keys || keys.booleans || keys.names.length === 0 || wanted?.some((n) => !keys.names.includes(n))) return undefined;
  const read = wanted ?? keys.names;
  const types = read.map((name) => `${literal(name)}: '${numbers.has(name) ? 'DOUBLE' : 'VARCHAR'}'`).join(', ');
  let result;
  try {
    result = await queryColumns(
      connection,
      `SELECT ${read.map((name, k) => `${ident(name)} AS c${k}`).join(', ')}
        FROM read_json(${literal(path)}, format = 'newline_delimited', maximum_object_size = ${MAX_LINE_BYTES}, columns = {${types}})`,
    );
  } catch {
    // What DuckDB's reader refuses (a value a DOUBLE column cannot hold, a key twice, keys that differ only in case): the loader reads it.
    return undefined;
  }
  if (result.nonFinite.size > 0) return undefined;
  const columns = new Map<string, Column>();
  read.forEach((name, k) => {
    const column = result.columns.get(`c${k}`)!;
    columns.set(name, column.kind === 'text' ? withoutBlanks(column) : column);
  });
  if (!(await numbersInText(connection, columns))) return undefined;
  let lines: Int32Array | undefined;
  return {
    source,
    rows: result.rows,
    names: keys.names,
    columns,
    rowNumber: (i) => (lines ??= scanRecordStarts(path, { quoted: false }).lines)[i] ?? i + 1,
    rowErrors: [],
  };
}

/**
 * The usual CSV file in one read by DuckDB straight into columns, with no
 * table in between: the loader's clean path, with its checks made on the
 * columns read (each distinct text once). Undefined when the loader must
 * read the file instead: a record DuckDB refuses, a value that is not a
 * finite number in a number column, a text value with a quote, a NUL or
 * whitespace at an edge, a file of one column, a column not in the file.
 */
async function readCsvDirect(
  connection: DuckDBConnection,
  path: string,
  source: string,
  numbers: ReadonlySet<string>,
  wanted: string[] | undefined,
): Promise<ReadTable | undefined> {
  // A file missing or empty: the loader says so.
  if (((await stat(path).catch(() => undefined))?.size ?? 0) === 0) return undefined;
  const { header, crOnly } = await readCsvHeader(path, source);
  if (header.length < 2 || header.length > MAX_CSV_COLUMNS || wanted?.some((n) => !header.includes(n))) return undefined;
  let read;
  try {
    read = await queryColumns(connection, `SELECT * FROM ${readCsvSql(path, header, numbers, crOnly)}`);
  } catch (error) {
    if (/CSV Error|Conversion Error|Could not convert|invalid state/i.test((error as Error).message)) return undefined;
    throw error;
  }
  if (read.nonFinite.size > 0) return undefined;
  const columns = new Map(header.map((name, k) => [name, read.columns.get(`c${k}`)!]));
  for (const column of columns.values()) if (column.kind === 'text' && column.dictionary.some(needsLoader)) return undefined;
  if (!(await numbersInText(connection, columns))) return undefined;
  let lines: Int32Array | undefined;
  return {
    source,
    rows: read.rows,
    names: header,
    columns: new Map((wanted ?? header).map((name) => [name, columns.get(name)!])),
    rowNumber: (i) => (lines ??= csvRecordLines(readText(path), crOnly))[i] ?? i + 2,
    rowErrors: [],
  };
}

/** Reads a local file (CSV, JSONL, Parquet; .gz too) into typed columns. */
export async function readColumnTable(path: string, options: ReadColumnsOptions = {}): Promise<ReadTable> {
  const source = options.source ?? path;
  return withConnection(async (connection) => {
    const numbers = formatOf(source) === 'csv' ? await sniffNumbers(connection, path) : new Set<string>();
    if (formatOf(source) === 'csv') {
      const direct = await readCsvDirect(connection, path, source, numbers, options.columns);
      if (direct) return direct;
    }
    if (formatOf(source) === 'jsonl') {
      const direct = await readJsonlDirect(connection, path, source, options.columns);
      if (direct) return direct;
    }
    const loaded = await loadFile(connection, path, { source, numbers, onRowError: options.onRowError ?? 'throw' });
    const wanted = options.columns ?? loaded.names;
    for (const name of wanted) {
      if (!loaded.kinds.has(name)) throw new DataError(`no column ${quoteValue(name)}; the file has: ${listNames(loaded.names)}`, { source, column: name });
    }
    const asNumbers = await numericText(
      connection,
      loaded,
      wanted.filter((n) => loaded.kinds.get(n) === 'text' && loaded.format !== 'parquet'),
    );
    const dates = new Set<string>();
    const select = wanted.map((name, k) => {
      const sql = loaded.sql.get(name)!;
      const expression = loaded.kinds.get(name) === 'number' ? `${sql}::DOUBLE` : asNumbers.has(name) ? `TRY_CAST(${sql} AS DOUBLE)` : sql;
      if (loaded.kinds.get(name) === 'date') dates.add(`c${k}`);
      return `${expression} AS ${ident(`c${k}`)}`;
    });
    const result =
      select.length > 0
        ? await queryColumns(connection, `SELECT ${select.join(', ')} FROM ${loaded.relation}`, dates)
        : { rows: loaded.rows, columns: new Map() };
    await connection.run(`DROP ${loaded.format === 'parquet' ? 'VIEW' : 'TABLE'} IF EXISTS ${loaded.relation}`);
    return {
      source,
      rows: loaded.rows,
      names: loaded.names,
      columns: new Map(wanted.map((name, k) => [name, result.columns.get(`c${k}`)!])),
      rowNumber: (i) => loaded.rowNumber(i),
      rowErrors: loaded.rowErrors,
    };
  });
}
