/**
 * Two snapshot files compared in the data engine (DuckDB): their schemas, the
 * rows added and removed (a multiset comparison, so a duplicated row counts
 * twice), and the drift engine's per-column report between them.
 */
import { readColumnTable } from '../data/read-columns';
import { ident, literal, queryRows, withConnection } from '../data/engine';
import { formatOf } from '../data/format';
import { computeDrift } from '../drift';
import { buildSamples } from '../drift/sample';
import type { DriftReport } from '../drift';
import { diffSchemas, type SchemaColumn, type SchemaDiff } from './catalog';

/** A local file as a relation: Parquet, or CSV for the snapshots written before Parquet (`source` is its S3 key: the format goes by its name). */
function relation(path: string, source: string): string {
  return formatOf(source) === 'parquet' ? `read_parquet(${literal(path)})` : `read_csv(${literal(path)}, header = true, auto_detect = true)`;
}

export async function countRows(path: string): Promise<number> {
  return withConnection(async (c) => (await queryRows<{ n: number }>(c, `SELECT count(*) AS n FROM read_parquet(${literal(path)})`))[0]!.n);
}

async function schemaOf(path: string, source: string): Promise<SchemaColumn[]> {
  return withConnection(async (c) =>
    (await queryRows<{ column_name: string; column_type: string }>(c, `DESCRIBE SELECT * FROM ${relation(path, source)}`)).map((r) => ({
      name: r.column_name,
      type: r.column_type,
    })),
  );
}

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const TEMPORAL = /^(DATE|TIMESTAMP.*)$/;

/** The type both sides of a column are compared as: their own when they agree, else a common one. */
function commonType(a: string, b: string): string {
  if (a === b) return a;
  if (NUMERIC.test(a) && NUMERIC.test(b)) return 'DOUBLE';
  if (TEMPORAL.test(a) && TEMPORAL.test(b)) return 'TIMESTAMP';
  return 'VARCHAR';
}

export interface FileSide {
  path: string;
  /** Its S3 key (names the format, and the file in errors). */
  source: string;
}

export interface FileComparison {
  schema: SchemaDiff & { from: SchemaColumn[]; to: SchemaColumn[] };
  rows: { from: number; to: number; added: number; removed: number; common: number; comparedOn: string[] };
  drift: DriftReport;
  driftSkipped: { name: string; reason: string }[];
}

/**
 * Rows in `to` and not in `from` (added) and the reverse (removed), as
 * multisets (EXCEPT ALL) over the columns both files have: with columns added
 * or removed, rows are compared on the shared ones.
 */
async function rowDiff(from: FileSide, to: FileSide, a: SchemaColumn[], b: SchemaColumn[]) {
  const types = new Map(b.map((c) => [c.name, c.type]));
  const shared = a.filter((c) => types.has(c.name)).map((c) => ({ name: c.name, type: commonType(c.type, types.get(c.name)!) }));
  if (shared.length === 0) throw new Error(`${from.source} and ${to.source} have no column in common: their rows cannot be compared`);
  const select = (side: FileSide) =>
    `SELECT ${shared.map((c) => `CAST(${ident(c.name)} AS ${c.type}) AS ${ident(c.name)}`).join(', ')} FROM ${relation(side.path, side.source)}`;
  const sql = `WITH a AS (${select(from)}), b AS (${select(to)})
    SELECT (SELECT count(*) FROM a) AS from_rows, (SELECT count(*) FROM b) AS to_rows,
           (SELECT count(*) FROM (SELECT * FROM b EXCEPT ALL SELECT * FROM a)) AS added,
           (SELECT count(*) FROM (SELECT * FROM a EXCEPT ALL SELECT * FROM b)) AS removed`;
  const [r] = await withConnection((c) => queryRows<{ from_rows: number; to_rows: number; added: number; removed: number }>(c, sql));
  return { from: r!.from_rows, to: r!.to_rows, added: r!.added, removed: r!.removed, common: r!.to_rows - r!.added, comparedOn: shared.map((c) => c.name) };
}

/** Schema, rows and drift between two snapshot files (reference `from`, current `to`). */
export async function compareSnapshotFiles(from: FileSide, to: FileSide): Promise<FileComparison> {
  const [a, b] = await Promise.all([schemaOf(from.path, from.source), schemaOf(to.path, to.source)]);
  const rows = await rowDiff(from, to, a, b);
  const [reference, current] = await Promise.all([readColumnTable(from.path, { source: from.source }), readColumnTable(to.path, { source: to.source })]);
  const { reference: ref, current: cur, skipped } = buildSamples(reference, current);
  const before = new Set(a.map((c) => c.name));
  for (const c of b) if (!before.has(c.name)) skipped.push({ name: c.name, reason: `not in the 'from' snapshot ${from.source}` });
  const drift = await computeDrift(ref, cur, { cache: false, workers: 1 });
  return { schema: { ...diffSchemas(a, b), from: a, to: b }, rows, drift, driftSkipped: skipped };
}
