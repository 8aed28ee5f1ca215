import type { DriftReport } from '../types';
import { formatNumber, sortColumns, testableCount } from './format';

/** The readable table `perennial drift` prints without --json (most drifted column first). */
export function renderText(report: DriftReport): string {
  const testable = testableCount(report);
  const lines: string[] = [];
  lines.push(
    `Dataset drift: ${report.drift ? 'YES' : 'no'} — ${report.number_of_drifted_columns} of ${testable} testable columns drifted ` +
      `(share ${formatNumber(report.share)} ${report.share >= report.drift_share ? '>=' : '<'} drift share ${formatNumber(report.drift_share)})`,
  );
  lines.push(`Reference rows: ${report.reference_rows}   Current rows: ${report.current_rows}   Correction: ${report.correction}`);
  if (report.multivariate) {
    const m = report.multivariate;
    lines.push(
      `Multivariate ${m.method}: statistic ${formatNumber(m.statistic)}, p-value ${formatNumber(m.p_value)}, threshold ${formatNumber(m.threshold)} -> ${m.drift ? 'DRIFT' : 'no drift'}`,
    );
  }
  lines.push('');
  const header = ['column', 'type', 'method', 'statistic', 'p-value', 'threshold', 'drift', 'missing ref/cur'];
  const rows = sortColumns(report.columns).map((c) => [
    c.name,
    c.type,
    c.method,
    formatNumber(c.statistic),
    formatNumber(c.p_value),
    formatNumber(c.threshold),
    !c.testable ? 'not testable' : c.drift ? 'DRIFT' : 'no',
    `${c.missing.reference}/${c.missing.current}`,
  ]);
  const numeric = new Set([3, 4, 5]);
  // a loop, not Math.max(...rows): a report may have more columns than a call takes arguments
  const widths = header.map((h) => h.length);
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
  const fmt = (r: string[]): string =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push(fmt(header));
  lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) lines.push(fmt(r));
  const untestable = report.columns.filter((c) => !c.testable);
  if (untestable.length > 0) {
    lines.push('');
    for (const c of untestable) lines.push(`Not testable '${c.name}': ${c.reason ?? 'no reason given'}`);
  }
  const unseen = report.columns.filter((c) => c.unseen_categories && c.unseen_categories.length > 0);
  if (unseen.length > 0) {
    lines.push('');
    for (const c of unseen) {
      const u = c.unseen_categories!;
      lines.push(`Unseen categories in '${c.name}': ${u.slice(0, 10).join(', ')}${u.length > 10 ? ` and ${u.length - 10} more` : ''}`);
    }
  }
  return lines.join('\n') + '\n';
}
