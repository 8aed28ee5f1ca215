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

function isValid(validity: Uint8Array | null, i: number): boolean {
  return validity === null || (validity[i >> 3]! & (1 << (i & 7))) !== 0;
}

/** Bits of each inline word of a duckdb_string_t that hold text, by length (the rest is padding). */
const INLINE_MASKS = Array.from({ length: 13 }, (_, length) =>
  [0, 1, 2].map((w) => {
    const used = Math.min(4, Math.max(0, length - 4 * w));
    return used === 4 ? 0xffffffff : (1 << (8 * used)) - 1;
  }),
);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The hash of an inline string (its length and its three masked words) that picks its slot in TextCollector's table (before the mask to its size). */
function inlineHash(length: number, a: number, b: number, c: number): number {
  return Math.imul(length ^ Math.imul(a, 0x9e3779b1) ^ Math.imul(b, 0x85ebca77) ^ Math.imul(c, 0xc2b2ae3d), 0x27d4eb2f) >>> 15;
}

/**
 * Text values into codes, each distinct value decoded once. A value of up to
 * 12 bytes lies inside DuckDB's 16-byte string struct: it is looked up by
 * those bytes in a hash table of typed arrays (no string made per value);
 * longer ones are decoded and looked up by text.
 */
class TextCollector {
  readonly kind = 'text';
  readonly dictionary: string[] = [];
  private readonly index = new Map<string, number>();
  /** Open addressing: code + 1 of the inline value in each slot, 0 when empty. */
  private slots = new Int32Array(256);
  /** The four words (length, then text) of each code's inline value. */
  private keys = new Uint32Array(4 * 64);
  private inline = 0;

  constructor(readonly codes: Int32Array) {}

  /** Codes of `n` values at row `at`: `words` are the vector's string structs as little-endian 32-bit words. */
  add(bytes: Uint8Array, words: Uint32Array | undefined, validity: Uint8Array | null, n: number, at: number): void {
    const codes = this.codes;
    for (let i = 0; i < n; i++) {
      if (!isValid(validity, i)) {
        codes[at + i] = -1;
        continue;
      }
      const length = words ? words[4 * i]! : new DataView(bytes.buffer, bytes.byteOffset + i * 16, 4).getUint32(0, true);
      if (words && length <= 12) {
        const m = INLINE_MASKS[length]!;
        const a = (words[4 * i + 1]! & m[0]!) >>> 0;
        const b = (words[4 * i + 2]! & m[1]!) >>> 0;
        const c = (words[4 * i + 3]! & m[2]!) >>> 0;
        codes[at + i] = this.inlineCode(length, a, b, c, bytes, i);
        continue;
      }
      const text =
        length <= 12
          ? decoder.decode(bytes.subarray(i * 16 + 4, i * 16 + 4 + length))
          : decoder.decode(duckdb.get_data_from_pointer(bytes.buffer as ArrayBuffer, bytes.byteOffset + i * 16 + 8, length));
      let code = this.index.get(text);
      if (code === undefined) {
        code = this.dictionary.length;
        this.dictionary.push(text);
        this.index.set(text, code);
      }
      codes[at + i] = code;
    }
  }

  private inlineCode(length: number, a: number, b: number, c: number, bytes: Uint8Array, i: number): number {
    const mask = this.slots.length - 1;
    let h = inlineHash(length, a, b, c) & mask;
    for (;;) {
      const slot = this.slots[h]!;
      if (slot === 0) break;
      const k = 4 * (slot - 1);
      if (this.keys[k] === length && this.keys[k + 1] === a && this.keys[k + 2] === b && this.keys[k + 3] === c) return slot - 1;
      h = (h + 1) & mask;
    }
    const code = this.dictionary.length;
    const text = decoder.decode(bytes.subarray(i * 16 + 4, i * 16 + 4 + length));
    this.dictionary.push(text);
    if (4 * code + 4 > this.keys.length) {
      const keys = new Uint32Array(this.keys.length * 2);
      keys.set(this.keys);
      this.keys = keys;
    }
    this.keys.set([length, a, b, c], 4 * code);
    this.slots[h] = code + 1;
    this.inline += 1;
    if (2 * this.inline > this.slots.length) this.rehash();
    return code;
  }

  private rehash(): void {
    const old = this.slots;
    this.slots = new Int32Array(old.length * 2);
    const mask = this.slots.length - 1;
    for (const slot of old) {
      if (slot === 0) continue;
      const k = 4 * (slot - 1);
      const [length, a, b, c] = [this.keys[k]!, this.keys[k + 1]!, this.keys[k + 2]!, this.keys[k + 3]!];
      let h = inlineHash(length, a, b, c) & mask;
      while (this.slots[h] !== 0) h = (h + 1) & mask;
      this.slots[h] = slot;
    }
  }
}

type Collector = { kind: 'number' | 'date'; values: Float64Array } | TextCollector;

/** The vector's string structs as 32-bit words, when they can be read so (little-endian, aligned). */
function stringWords(bytes: Uint8Array, n: number): Uint32Array | undefined {
  if (!LITTLE_ENDIAN) return undefined;
  if (bytes.byteOffset % 4 === 0) return new Uint32Array(bytes.buffer, bytes.byteOffset, n * 4);
  return new Uint32Array(bytes.slice(0, n * 16).buffer);
}

/**
 * Runs a query whose columns are DOUBLE (kind number), DOUBLE of epoch ms
 * (kind date, named in `dates`) or VARCHAR (kind text) and copies them into
 * Columns. NULL becomes NaN or code -1; `nonFinite` counts, per number or
 * date column, the values that are not NULL and not finite (DuckDB's nan and
 * inf, which become NaN or stay infinite). The result is materialized by
 * DuckDB (on its threads), then copied chunk by chunk straight from its vectors.
 */
export async function queryColumns(
  connection: DuckDBConnection,
  sql: string,
  dates: ReadonlySet<string> = new Set(),
): Promise<{ rows: number; columns: Map<string, Column>; nonFinite: Map<string, number> }> {
  const result = await connection.run(sql);
  const names = result.columnNames();
  const types = result.columnTypes();
  const rows = result.rowCount;
  const collectors: Collector[] = types.map((type, k) => {
    if (type.typeId === DuckDBTypeId.DOUBLE) return { kind: dates.has(names[k]!) ? 'date' : 'number', values: new Float64Array(rows) };
    if (type.typeId === DuckDBTypeId.VARCHAR) return new TextCollector(new Int32Array(rows));
    throw new Error(`engine: column ${names[k]} is ${type.toString()}; cast it to DOUBLE or VARCHAR in the query`);
  });
  const nonFinite = new Map<string, number>();
  let at = 0;
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const n = chunk.rowCount;
    collectors.forEach((collector, k) => {
      const vector = duckdb.data_chunk_get_vector(chunk.chunk, k);
      const validity = duckdb.vector_get_validity(vector, Math.ceil(n / 64) * 8);
      if (collector instanceof TextCollector) {
        // duckdb_string_t: 16 bytes; length, then the text inline (up to 12 bytes) or a prefix and a pointer.
        const bytes = duckdb.vector_get_data(vector, n * 16);
        collector.add(bytes, stringWords(bytes, n), validity, n, at);
        return;
      }
      const bytes = duckdb.vector_get_data(vector, n * 8);
      const values = collector.values;
      values.set(new Float64Array(bytes.buffer, bytes.byteOffset, n), at);
      let odd = 0;
      for (let i = at; i < at + n; i++) {
        const v = values[i]!;
        if (v - v !== 0) odd++;
      }
      if (validity) {
        for (let i = 0; i < n; i++) {
          if ((validity[i >> 3]! & (1 << (i & 7))) !== 0) continue;
          // A NULL's slot holds whatever was there: a non-finite one was counted above.
          const v = values[at + i]!;
          if (v - v !== 0) odd--;
          values[at + i] = NaN;
        }
      }
      if (odd > 0) nonFinite.set(names[k]!, (nonFinite.get(names[k]!) ?? 0) + odd);
    });
    at += n;
    if (c % 64 === 63) await yieldToLoop();
  }
  const columns = new Map<string, Column>();
  collectors.forEach((collector, k) => {
    columns.set(
      names[k]!,
      collector instanceof TextCollector
        ? { kind: 'text', codes: collector.codes, dictionary: collector.dictionary }
        : { kind: collector.kind, values: collector.values },
    );
  });
  return { rows, columns, nonFinite };
}
