/** Reading what the model server wrote (Parquet parts) the way a user would: with DuckDB. */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { literal, queryRows, withConnection } from '../../src/data/engine';
import type { ObjectStore } from '../../src/store';

/**
 * Every Parquet part under `prefix`, downloaded with its key as its path (so
 * `dt=...` folders are hive partitions), queried with `sql(relation)` where
 * relation reads them all.
 */
export async function queryStoredParts<T extends Record<string, unknown>>(
  store: ObjectStore,
  prefix: string,
  sql: (relation: string) => string,
): Promise<{ parts: string[]; rows: T[] }> {
  const parts = (await store.list(prefix)).filter((o) => o.key.endsWith('.parquet'));
  const dir = await mkdtemp(join(tmpdir(), 'perennial-parts-'));
  try {
    for (const part of parts) {
      const path = join(dir, part.key);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, await store.get(part.key));
    }
    const relation = `read_parquet(${literal(join(dir, '**', '*.parquet'))}, hive_partitioning = true)`;
    const rows = parts.length === 0 ? [] : await withConnection((c) => queryRows<T>(c, sql(relation)));
    return { parts: parts.map((p) => p.key), rows };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** One Parquet file's bytes queried with `sql(path literal)`. */
export async function queryParquetBytes(bytes: Buffer, sql: (path: string) => string): Promise<Record<string, unknown>[]> {
  const dir = await mkdtemp(join(tmpdir(), 'perennial-part-'));
  try {
    const path = join(dir, 'part.parquet');
    await writeFile(path, bytes);
    return await withConnection((c) => queryRows<Record<string, unknown>>(c, sql(literal(path))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
