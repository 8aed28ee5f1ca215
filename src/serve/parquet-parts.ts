/**
 * What the prediction log (prediction-log.ts) and the feedback log
 * (feedback.ts) share in writing their Parquet parts: the SQL types of the
 * inputs, grouping rows by model and UTC day, one part written by DuckDB from
 * JSON Lines (COPY ... TO parquet, so every column gets the type it is
 * declared with), and the puts of a segment's parts.
 */
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ident, literal, withConnection } from '../data/engine';
import type { ObjectStore } from '../store';
import type { InputKind } from './inputs';

/** The Parquet type of an input of each kind, as the model received it (dates as wall-clock time). */
export const SQL_TYPE: Record<InputKind, string> = { number: 'DOUBLE', date: 'TIMESTAMP', category: 'VARCHAR' };

export function structType(fields: Map<string, string>): string {
  return `STRUCT(${[...fields].map(([name, type]) => `${ident(name)} ${type}`).join(', ')})`;
}

/** One Parquet part of a segment, written in a temporary directory. */
export interface Part {
  model: string;
  /** Its key in the store. */
  key: string;
  rows: number;
  /** The Parquet file. */
  path: string;
}

/** A column of a part: name and SQL type. */
export type ColumnType = [name: string, type: string];

/** `items` grouped by `key`, in the order each group first appears; items keep their order. */
export function groupBy<K, T>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = groups.get(k);
    if (list) list.push(item);
    else groups.set(k, [item]);
  }
  return groups;
}

/** `items` grouped by model and UTC day (YYYY-MM-DD), in the order each group first appears; items keep their order. */
export function byModelAndDay<T>(items: T[], of: (item: T) => { model: string; day: string }): { model: string; day: string; items: T[] }[] {
  const keyed = items.map((item) => ({ item, ...of(item) }));
  return [...groupBy(keyed, (k) => `${k.model}/${k.day}`).values()].map((list) => ({
    model: list[0]!.model,
    day: list[0]!.day,
    items: list.map((k) => k.item),
  }));
}

/** The UTC day of a date partition ('2026-03-01') as the Date the store's keys take. */
export const dayStart = (day: string) => new Date(`${day}T00:00:00Z`);

/**
 * Writes `rows` (JSON objects, one per row) as the Parquet file `<dir>/<name>.parquet`
 * with `columns`, in that order and of those types; returns its path.
 */
export async function writeParquetPart(dir: string, name: string, rows: string[], columns: ColumnType[]): Promise<string> {
  const json = join(dir, `${name}.jsonl`);
  const path = join(dir, `${name}.parquet`);
  await writeFile(json, rows.join('\n') + '\n');
  try {
    const spec = `{${columns.map(([column, type]) => `${literal(column)}: ${literal(type)}`).join(', ')}}`;
    await withConnection(async (connection) => {
      await connection.run(
        `COPY (SELECT ${columns.map(([column]) => ident(column)).join(', ')} FROM read_json(${literal(json)}, format = 'newline_delimited', columns = ${spec}, maximum_object_size = 134217728)) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    });
  } finally {
    await rm(json, { force: true });
  }
  return path;
}

/** Stores every part (a put overwrites: a segment stored again writes the same keys). */
export async function putParts(store: ObjectStore, parts: Part[]): Promise<void> {
  for (const part of parts) await store.put(part.key, await readFile(part.path), { contentType: 'application/vnd.apache.parquet' });
}
