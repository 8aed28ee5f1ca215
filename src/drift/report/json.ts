import type { DriftReport } from '../types';

/**
 * The JSON report is the DriftReport as is, pretty-printed. Non-finite numbers
 * (which JSON cannot hold) are written as null, as JSON.stringify does.
 */
export function renderJson(report: DriftReport): string {
  return JSON.stringify(report, null, 2) + '\n';
}
