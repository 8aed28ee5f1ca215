import type { Cell } from './table';

/** Rows as JSON Lines, one object a row (the demo's feeds and tests write batches with it). */
export function formatJsonl(columns: string[], rows: Cell[][]): string {
  return rows.map((row) => JSON.stringify(Object.fromEntries(columns.map((c, i) => [c, row[i] ?? null])))).join('\n') + '\n';
}
