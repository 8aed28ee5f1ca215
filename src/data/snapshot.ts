/**
 * Training snapshots, built inside the engine: the base snapshot and the
 * accepted batches are merged, cut to the window, sorted by time (ties by
 * every column) and written as one Parquet file. Its name is a canonical hash
 * of its rows, so the same rows make the same snapshot whatever the files they
 * came in, their order, format or compression.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { DuckDBConnection } from '@duckdb/node-api';
import { cellAt, dateText, type ColumnTable } from './columns';
import { ident, literal, queryColumns, queryRows, tempName, withConnection } from './engine';
import type { TableSchema } from './schema';
import { acceptedColumns, checkFile } from './validate';
import { DataError } from './table';

export type WindowPolicy = { kind: 'all' } | { kind: 'rows'; maxRows: number } | { kind: 'days'; days: number };

const DAY_MS = 86_400_000;

/** The SQL type each schema type is stored as in Parquet. */
function storedType(type: TableSchema['fields'][number]['type']): string {
  return type === 'number' ? 'DOUBLE' : type === 'date' ? 'TIMESTAMP' : 'VARCHAR';
}

/** Schema columns, in order and cast to their stored type, from a relation that has them. */
export function typedSelect(schema: TableSchema, relation: string): string {
  return `SELECT ${schema.fields.map((f) => `CAST(${ident(f.name)} AS ${storedType(f.type)}) AS ${ident(f.name)}`).join(', ')} FROM ${relation}`;
}

/** One input of a snapshot: Parquet written by validate (or a snapshot), or an older CSV/JSONL one checked again. */
export interface SnapshotInput {
  path: string;
  /** Name in errors (its S3 key). */
  source: string;
  /** Only rows [from, to) of a Parquet file, in its own order (a part of a fanned-out snapshot). */
  range?: { from: number; to: number };
}

/** SELECT of one input's rows, typed by the schema. */
async function inputSql(connection: DuckDBConnection, input: SnapshotInput, schema: TableSchema): Promise<string> {
  if (/\.parquet$/i.test(input.source)) {
    const file = literal(input.path);
    if (!input.range) return typedSelect(schema, `read_parquet(${file})`);
    const { from, to } = input.range;
    return typedSelect(schema, `(SELECT * FROM read_parquet(${file}, file_row_number = true) WHERE file_row_number >= ${from} AND file_row_number < ${to})`);
  }
  if (input.range) throw new Error(`${input.source}: only a Parquet file can be read by row range`);
  // Snapshots and validated batches written before Parquet (CSV, JSON Lines): read and checked like a batch.
  const checked = await checkFile(connection, input.path, schema, { source: input.source });
  if (!('acceptedSql' in checked) || checked.batchErrors.length > 0 || checked.errors.length > 0) {
    const first = checked.batchErrors[0] ?? `row ${checked.errors[0]?.row}: ${checked.errors[0]?.reason}`;
    throw new DataError(`no longer meets the model's schema (${first}); was the schema changed? Retrain with the old schema or re-ingest the data`, {
      source: input.source,
    });
  }
  return checked.acceptedSql;
}

/**
 * The canonical id of a set of rows: sha256 over the schema, the row count and
 * two sums of each row's MD5 halves (a multiset hash: independent of row order,
 * a duplicated row counts twice). Each row's text is its typed values, NULL
 * written apart from any text, so the same values read from CSV, JSON Lines or
 * Parquet give the same id. The sums are exact (HUGEINT), so the sums of parts
 * add up to the sums of the whole: a snapshot's id can be computed in parts.
 */
export async function rowSetId(connection: DuckDBConnection, relation: string, schema: TableSchema): Promise<{ id: string; rows: number }> {
  return combineRowSetParts([await rowSetSums(connection, relation, schema)], schema);
}

/** Row count and the two MD5 sums (decimal text: exact, beyond 2^53) of some of a snapshot's rows. */
export interface RowSetSums {
  rows: number;
  hi: string;
  lo: string;
}

async function rowSetSums(connection: DuckDBConnection, relation: string, schema: TableSchema): Promise<RowSetSums> {
  const text = schema.fields.map((f) => `coalesce(CAST(${ident(f.name)} AS VARCHAR), chr(31))`).join(', ');
  const [sums] = await queryRows<{ n: number; hi: string; lo: string }>(
    connection,
    `SELECT count(*) AS n, coalesce(sum((h >> 64)::UBIGINT), 0)::VARCHAR AS hi, coalesce(sum((h & 18446744073709551615)::UBIGINT), 0)::VARCHAR AS lo
      FROM (SELECT md5_number(concat_ws(chr(30), ${text})) AS h FROM ${relation})`,
  );
  return { rows: sums!.n, hi: sums!.hi, lo: sums!.lo };
}

/**
 * The row-set sums of one input (or a row range of it): a part of a snapshot
 * computed apart. `sinceDay` keeps the rows of that UTC day (days since
 * 1970-01-01) and after, as a days window does (rows without a time are out).
 */
export async function rowSetPart(input: SnapshotInput, schema: TableSchema, options: { timeColumn: string; sinceDay?: number }): Promise<RowSetSums> {
  return withConnection(async (connection) => {
    const time = ident(options.timeColumn);
    const rows = await inputSql(connection, input, schema);
    const relation =
      options.sinceDay === undefined
        ? `(${rows})`
        : `(SELECT * FROM (${rows}) WHERE floor(epoch_ms(CAST(${time} AS TIMESTAMP)) / ${DAY_MS}) >= ${Math.floor(options.sinceDay)})`;
    return rowSetSums(connection, relation, schema);
  });
}

/** The snapshot id and row count of parts put together: the same as buildSnapshot's for the same rows, however they were split. */
export function combineRowSetParts(parts: RowSetSums[], schema: TableSchema): { id: string; rows: number } {
  let rows = 0;
  let hi = 0n;
  let lo = 0n;
  for (const part of parts) {
    rows += part.rows;
    hi += BigInt(part.hi);
    lo += BigInt(part.lo);
  }
  const types = schema.fields.map((f) => `${f.name}:${storedType(f.type)}`).join(',');
  const id = createHash('sha256').update(`perennial-rows/v1\n${types}\n${rows}\n${hi}\n${lo}`).digest('hex');
  return { id, rows };
}

/** Keeps the rows the window policy says a retraining uses (whole UTC days for a days window). */
async function applyWindow(connection: DuckDBConnection, relation: string, policy: WindowPolicy, timeColumn: string, newestFirst: string): Promise<void> {
  if (policy.kind === 'all') return;
  const time = ident(timeColumn);
  if (policy.kind === 'rows') {
    await connection.run(
      `DELETE FROM ${relation} WHERE rowid NOT IN (SELECT rowid FROM ${relation} ORDER BY ${newestFirst} LIMIT ${Math.floor(policy.maxRows)})`,
    );
    return;
  }
  // The newest row's day and the days-1 before it.
  const epoch = `epoch_ms(CAST(${time} AS TIMESTAMP))`;
  await connection.run(
    `DELETE FROM ${relation} WHERE ${epoch} < (SELECT (floor(max(${epoch}) / ${DAY_MS}) - ${policy.days - 1}) * ${DAY_MS} FROM ${relation}) OR ${time} IS NULL`,
  );
}

export interface BuiltSnapshot {
  /** The rows' canonical id (the snapshot's name). */
  id: string;
  rows: number;
  /** sha256 of the Parquet file's bytes: checked whenever it is read back. */
  fileSha256: string;
  /** Oldest and newest time value (ISO text, as dateText writes it), null when there are no rows. */
  timeRange: { from: string; to: string } | null;
}

/**
 * Merges the inputs under the window policy, sorts them by time (ties by
 * every column, so equal rows sit in one order) and writes `out` as Parquet.
 * `rowSet` is the id and row count already computed in parts
 * (combineRowSetParts): the rows are then counted, not hashed again.
 */
export async function buildSnapshot(
  inputs: SnapshotInput[],
  schema: TableSchema,
  options: { window: WindowPolicy; timeColumn: string; out: string; rowSet?: { id: string; rows: number } },
): Promise<BuiltSnapshot> {
  return withConnection(async (connection) => {
    const merged = tempName('snapshot');
    const selects: string[] = [];
    for (const input of inputs) selects.push(await inputSql(connection, input, schema));
    const empty = `SELECT ${schema.fields.map((f) => `CAST(NULL AS ${storedType(f.type)}) AS ${ident(f.name)}`).join(', ')} WHERE false`;
    await connection.run(`CREATE TEMP TABLE ${merged} AS ${selects.length > 0 ? selects.map((s) => `(${s})`).join(' UNION ALL ') : empty}`);
    const columns = [ident(options.timeColumn), ...schema.fields.map((f) => ident(f.name))];
    const order = columns.map((c) => `${c} ASC NULLS FIRST`).join(', ');
    await applyWindow(connection, merged, options.window, options.timeColumn, columns.map((c) => `${c} DESC NULLS LAST`).join(', '));
    const { id, rows } = options.rowSet ?? (await rowSetId(connection, merged, schema));
    if (options.rowSet) {
      const [counted] = await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${merged}`);
      // The parts were computed by other workers: a different count means they did not read these rows.
      if (counted!.n !== rows) throw new Error(`the snapshot's parts counted ${rows} rows under the window, the merge has ${counted!.n}`);
    }
    await connection.run(`COPY (SELECT * FROM ${merged} ORDER BY ${order}) TO ${literal(options.out)} (FORMAT parquet, COMPRESSION zstd)`);
    const time = ident(options.timeColumn);
    const ms = `epoch_ms(CAST(${time} AS TIMESTAMP))`;
    const [range] = await queryRows<{ from: number | null; to: number | null }>(connection, `SELECT min(${ms}) AS "from", max(${ms}) AS "to" FROM ${merged}`);
    await connection.run(`DROP TABLE ${merged}`);
    const fileSha256 = createHash('sha256')
      .update(await readFile(options.out))
      .digest('hex');
    return { id, rows, fileSha256, timeRange: range?.from != null && range.to != null ? { from: dateText(range.from), to: dateText(range.to) } : null };
  });
}

/** A snapshot file (Parquet; CSV for snapshots written before Parquet) as typed columns, rows in its (time) order. */
export async function readSnapshotTable(path: string, schema: TableSchema, source: string): Promise<ColumnTable> {
  return withConnection(async (connection) => {
    if (!/\.parquet$/i.test(source)) {
      const checked = await checkFile(connection, path, schema, { source });
      if (!('acceptedSql' in checked) || checked.batchErrors.length > 0 || checked.errors.length > 0) {
        throw new DataError(`no longer meets the model's schema; was the schema changed? Retrain with the old schema or re-ingest the data`, { source });
      }
      return acceptedColumns(connection, checked, schema);
    }
    const dates = new Set(schema.fields.filter((f) => f.type === 'date').map((f) => f.name));
    const select = schema.fields.map((f) => {
      const c = ident(f.name);
      return `${f.type === 'number' ? `CAST(${c} AS DOUBLE)` : f.type === 'date' ? `epoch_ms(CAST(${c} AS TIMESTAMP))::DOUBLE` : `CAST(${c} AS VARCHAR)`} AS ${c}`;
    });
    let result;
    try {
      result = await queryColumns(connection, `SELECT ${select.join(', ')} FROM read_parquet(${literal(path)})`, dates);
    } catch (error) {
      throw new DataError(`the snapshot cannot be read as the model's schema: ${(error as Error).message.split('\n')[0]}`, { source });
    }
    return { source, rows: result.rows, names: schema.fields.map((f) => f.name), columns: result.columns, rowNumber: (i) => i + 1 };
  });
}

/** The UTC day of row `i`'s time (a number time column: its value), -Infinity when missing: rows of one day stay on one side of a split. */
function dayAt(table: ColumnTable, timeColumn: string, i: number): number {
  const column = table.columns.get(timeColumn);
  if (!column) throw new Error(`the snapshot has no time column '${timeColumn}'`);
  if (column.kind === 'text') {
    const value = cellAt(column, i);
    const ms = value === null ? NaN : Date.parse(String(value));
    return Number.isNaN(ms) ? -Infinity : Math.floor(ms / DAY_MS);
  }
  const v = column.values[i]!;
  if (Number.isNaN(v)) return -Infinity;
  return column.kind === 'date' ? Math.floor(v / DAY_MS) : v;
}

/**
 * Splits rows (indexes in time order) into training rows and the newest
 * `fraction` as holdout. Rows of the boundary day go to the holdout
 * together, so no day is split.
 */
export function splitByTime(
  table: ColumnTable,
  rows: Int32Array,
  fraction: number,
  timeColumn: string,
): { train: Int32Array; holdout: Int32Array; from: string } {
  if (rows.length < 2) throw new Error(`a time-based holdout needs at least 2 rows, the snapshot has ${rows.length}`);
  let cut = Math.min(rows.length - 1, Math.max(1, Math.floor(rows.length * (1 - fraction))));
  const boundary = dayAt(table, timeColumn, rows[cut]!);
  while (cut > 1 && dayAt(table, timeColumn, rows[cut - 1]!) === boundary) cut -= 1;
  return { train: rows.subarray(0, cut), holdout: rows.subarray(cut), from: String(cellAt(table.columns.get(timeColumn)!, rows[cut]!)) };
}
