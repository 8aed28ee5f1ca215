import type { ColumnDriftResult, DriftReport } from '../types';

/**
 * Shared by the HTML and text reports: how numbers are printed and in which
 * order columns are listed (most drifted first).
 */

/** A short, readable rendering of a number; the exact value goes elsewhere (data attributes, JSON). */
export function formatNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  if (Number.isNaN(value)) return 'NaN';
  if (!Number.isFinite(value)) return value > 0 ? '∞' : '−∞';
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs < 1e-4 || abs >= 1e7) return value.toExponential(3).replace(/\.?0+e/, 'e');
  if (Number.isInteger(value)) return String(value);
  return String(Number(value.toPrecision(4)));
}

/** The exact value as text that parses back to the same double (String(x) round-trips in JS). */
export function exactNumber(value: number | null | undefined): string {
  if (value === null || value === undefined) return '';
  return String(value);
}

export function formatPercent(share: number): string {
  return `${Number((share * 100).toFixed(1))}%`;
}

/**
 * How far a column is past (or short of) its threshold, on one scale for both
 * kinds of score: threshold / p-value for p-value tests (a smaller p-value is
 * more drift), distance / threshold for distances. Within one kind this orders
 * exactly as p-value ascending or distance descending.
 */
export function severity(column: ColumnDriftResult): number {
  if (!column.testable) return -Infinity;
  if (column.score === 'p_value') {
    const p = column.p_value;
    if (p === null || Number.isNaN(p)) return -Infinity;
    if (p <= 0) return Infinity;
    return column.threshold / p;
  }
  const d = column.statistic;
  if (d === null || Number.isNaN(d)) return -Infinity;
  if (column.threshold <= 0) return d > 0 ? Infinity : 0;
  return d / column.threshold;
}

/** Columns most drifted first: drifted before not drifted before not testable; then by severity; then by name. */
export function sortColumns(columns: readonly ColumnDriftResult[]): ColumnDriftResult[] {
  const rank = (c: ColumnDriftResult): number => (!c.testable ? 2 : c.drift ? 0 : 1);
  return [...columns].sort((a, b) => {
    const byRank = rank(a) - rank(b);
    if (byRank !== 0) return byRank;
    const sa = severity(a);
    const sb = severity(b);
    if (sa !== sb) return sa > sb ? -1 : 1;
    return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
  });
}

/** The value compared with the threshold: the p-value or the distance. */
export function scoreValue(column: Pick<ColumnDriftResult, 'score' | 'p_value' | 'statistic'>): number | null {
  return column.score === 'p_value' ? column.p_value : column.statistic;
}

export function testableCount(report: DriftReport): number {
  return report.columns.filter((c) => c.testable).length;
}
