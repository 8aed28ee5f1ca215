/**
 * The columnar engine: one embedded DuckDB per process. Files are read,
 * checked, sorted, hashed and written as Parquet inside DuckDB; only the
 * columns a caller needs come out, as typed arrays (never row objects).
 *
 * DuckDB runs its queries on its own threads, so the event loop that
 * heartbeats and answers Temporal stays free while a file is parsed; copying
 * results out is synchronous but yields every few chunks.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import duckdb from '@duckdb/node-bindings';
import { DuckDBInstance, DuckDBTypeId, type DuckDBConnection } from '@duckdb/node-api';
import type { Column } from './columns';

let instance: Promise<DuckDBInstance> | undefined;

/** Settings from the environment: PERENNIAL_DUCKDB_MEMORY (default 1GB), PERENNIAL_DUCKDB_THREADS (default: every core). */
function engineSettings(): Record<string, string> {
  const spill = join(tmpdir(), `perennial-duckdb-${process.pid}`);
  mkdirSync(spill, { recursive: true });
  // DuckDB removes its spill files, not the directory: this process does, on its way out.
  process.once('exit', () => rmSync(spill, { recursive: true, force: true }));
  return {
    threads: process.env.PERENNIAL_DUCKDB_THREADS ?? String(Math.max(1, cpus().length)),
    memory_limit: process.env.PERENNIAL_DUCKDB_MEMORY ?? '1GB',
    // Sorts and joins larger than memory_limit spill here instead of failing.
    temp_directory: spill,
    // Nothing is downloaded at run time: remote reads go through the object store, not DuckDB's httpfs.
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
  };
}

async function engine(): Promise<DuckDBInstance> {
  instance ??= DuckDBInstance.create(':memory:', engineSettings());
  return instance;
}

/** Runs `fn` with a connection of its own (temp tables are per connection), closed after. */
export async function withConnection<T>(fn: (connection: DuckDBConnection) => Promise<T>): Promise<T> {
  const connection = await (await engine()).connect();
  try {
    return await fn(connection);
  } finally {
    connection.closeSync();
  }
}

/** An identifier quoted for SQL (column names come from files: anything may be in them). */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A string literal for SQL. */
export function literal(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

let counter = 0;
/** A name for a temporary table or view, unique in this process. */
export function tempName(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

/** The rows of a small query as plain objects (numbers for integers, text as is). */
export async function queryRows<T extends Record<string, unknown>>(connection: DuckDBConnection, sql: string): Promise<T[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader.getRowObjectsJS().map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'bigint' ? Number(v) : v])) as T);
}

/** Lets timers and I/O run between chunks of a long synchronous copy. */
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

const decoder = new TextDecoder();

type Collector = { kind: 'number' | 'date'; values: Float64Array } | { kind: 'text'; codes: Int32Array; dictionary: string[]; index: Map<string, number> };

function isValid(validity: Uint8Array | null, i: number): boolean {
  return validity === null || (validity[i >> 3]! & (1 << (i & 7))) !== 0;
}

/**
 * Runs a query whose columns are DOUBLE (kind number), DOUBLE of epoch ms
 * (kind date, named in `dates`) or VARCHAR (kind text) and copies them into
 * Columns. NULL becomes NaN or code -1. The result is materialized by DuckDB
 * (on its threads), then copied chunk by chunk straight from its vectors.
 */
export async function queryColumns(
  connection: DuckDBConnection,
  sql: string,
  dates: ReadonlySet<string> = new Set(),
): Promise<{ rows: number; columns: Map<string, Column> }> {
  const result = await connection.run(sql);
  const names = result.columnNames();
  const types = result.columnTypes();
  const rows = result.rowCount;
  const collectors: Collector[] = types.map((type, k) => {
    if (type.typeId === DuckDBTypeId.DOUBLE) return { kind: dates.has(names[k]!) ? 'date' : 'number', values: new Float64Array(rows) };
    if (type.typeId === DuckDBTypeId.VARCHAR) return { kind: 'text', codes: new Int32Array(rows), dictionary: [], index: new Map() };
    throw new Error(`engine: column ${names[k]} is ${type.toString()}; cast it to DOUBLE or VARCHAR in the query`);
  });
  let at = 0;
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const n = chunk.rowCount;
    collectors.forEach((collector, k) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
      const validity = duckdb.vector_get_validity(vector, Math.ceil(n / 64) * 8);
      if (collector.kind !== 'text') {
        const bytes = duckdb.vector_get_data(vector, n * 8);
        collector.values.set(new Float64Array(bytes.buffer, bytes.byteOffset, n), at);
        if (validity) for (let i = 0; i < n; i++) if (!isValid(validity, i)) collector.values[at + i] = NaN;
        return;
      }
      // duckdb_string_t: 16 bytes; length, then the text inline (up to 12 bytes) or a prefix and a pointer.
      const bytes = duckdb.vector_get_data(vector, n * 16);
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      for (let i = 0; i < n; i++) {
        if (!isValid(validity, i)) {
          collector.codes[at + i] = -1;
          continue;
        }
        const length = view.getUint32(i * 16, true);
        const text =
          length <= 12
            ? decoder.decode(bytes.subarray(i * 16 + 4, i * 16 + 4 + length))
            : decoder.decode(duckdb.get_data_from_pointer(bytes.buffer as ArrayBuffer, bytes.byteOffset + i * 16 + 8, length));
        let code = collector.index.get(text);
        if (code === undefined) {
          code = collector.dictionary.length;
          collector.dictionary.push(text);
          collector.index.set(text, code);
        }
        collector.codes[at + i] = code;
      }
    });
    at += n;
    if (c % 64 === 63) await yieldToLoop();
  }
  const columns = new Map<string, Column>();
  collectors.forEach((collector, k) => {
    columns.set(
      names[k]!,
      collector.kind === 'text'
        ? { kind: 'text', codes: collector.codes, dictionary: collector.dictionary }
        : { kind: collector.kind, values: collector.values },
    );
  });
  return { rows, columns };
}
