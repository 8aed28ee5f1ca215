/**
 * A file as typed columns with no schema to go by (the drift CLI, a quick
 * look at a file): a column whose every present value is a finite number is
 * a number column, dates stay as the file has them (Parquet timestamps are
 * date columns; ISO text is text, for the caller to recognise), the rest text.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ColumnTable } from './columns';
import { ident, literal, queryColumns, queryRows, withConnection } from './engine';
import { formatOf } from './format';
import { loadFile, type LoadedFile } from './load';
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

/** Reads a local file (CSV, JSONL, Parquet; .gz too) into typed columns. */
export async function readColumnTable(path: string, options: ReadColumnsOptions = {}): Promise<ReadTable> {
  const source = options.source ?? path;
  return withConnection(async (connection) => {
    const numbers = formatOf(source) === 'csv' ? await sniffNumbers(connection, path) : new Set<string>();
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
