import { formatCsv } from './csv';
import type { TableSchema } from './schema';
import type { TypedRow } from './validate';

export type WindowPolicy = { kind: 'all' } | { kind: 'rows'; maxRows: number } | { kind: 'days'; days: number };

const DAY_MS = 86_400_000;

function timeOf(row: TypedRow, timeColumn: string): number {
  const value = row[timeColumn];
  if (typeof value === 'number') return value;
  const t = value === null || value === undefined ? NaN : Date.parse(String(value));
  return Number.isNaN(t) ? -Infinity : t;
}

/** Canonical text of a row, for ordering ties and for dedup. */
function rowKey(row: TypedRow, columns: string[]): string {
  return JSON.stringify(columns.map((c) => row[c] ?? null));
}

/**
 * Sorts rows by time (ties by their full content) so the same rows always make
 * the same snapshot bytes, whatever order the batches arrived in.
 */
export function sortRows(rows: TypedRow[], columns: string[], timeColumn: string): TypedRow[] {
  return rows
    .map((row) => ({ row, t: timeOf(row, timeColumn), k: rowKey(row, columns) }))
    .sort((a, b) => a.t - b.t || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((e) => e.row);
}

/** Keeps the rows the window policy says a retraining uses (rows must be sorted by time). */
export function applyWindow(sorted: TypedRow[], policy: WindowPolicy, timeColumn: string): TypedRow[] {
  if (policy.kind === 'all' || sorted.length === 0) return sorted;
  if (policy.kind === 'rows') return sorted.slice(Math.max(0, sorted.length - policy.maxRows));
  // Whole calendar days (UTC): the newest row's day and the days-1 before it.
  const newestDay = Math.floor(timeOf(sorted[sorted.length - 1]!, timeColumn) / DAY_MS) * DAY_MS;
  const from = newestDay - (policy.days - 1) * DAY_MS;
  return sorted.filter((row) => timeOf(row, timeColumn) >= from);
}

/** The snapshot's bytes: CSV in schema column order, rows sorted. Its sha256 is its name. */
export function snapshotCsv(schema: TableSchema, sorted: TypedRow[]): string {
  const columns = schema.fields.map((f) => f.name);
  return formatCsv(
    columns,
    sorted.map((row) => columns.map((c) => row[c] ?? null)),
  );
}

/**
 * Splits sorted rows into training rows and the newest `fraction` as holdout.
 * Rows sharing the boundary time go to the holdout together, so no day is split.
 */
export function timeHoldout(sorted: TypedRow[], fraction: number, timeColumn: string): { train: TypedRow[]; holdout: TypedRow[]; from: string } {
  if (sorted.length < 2) throw new Error(`a time-based holdout needs at least 2 rows, the snapshot has ${sorted.length}`);
  let cut = Math.min(sorted.length - 1, Math.max(1, Math.floor(sorted.length * (1 - fraction))));
  const boundary = timeOf(sorted[cut]!, timeColumn);
  while (cut > 1 && timeOf(sorted[cut - 1]!, timeColumn) === boundary) cut -= 1;
  return { train: sorted.slice(0, cut), holdout: sorted.slice(cut), from: String(sorted[cut]![timeColumn]) };
}
