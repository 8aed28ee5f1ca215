/**
 * Two-sample Kolmogorov-Smirnov test: scipy.stats.ks_2samp (method 'auto',
 * exact when max(n1, n2) <= 10000; 'asymp' for Alibi Detect's KSDrift), as
 * Evidently's `ks` stattest calls it (legacy/calculations/stattests/ks_stattest.py).
 * The null distributions are in ../kolmogorov.ts.
 */
import { ks2Pvalue } from '../kolmogorov';
import { mergeStats, type TestOutput } from './shared';

/** Two-sample KS statistic D = sup |F1 - F2| (scipy ks_2samp). */
export function ksStatistic(a: Float64Array, b: Float64Array): number {
  const { maxS, minS } = mergeStats(a, b);
  const mn = Math.min(Math.max(-minS, 0), 1);
  return mn > maxS ? mn : maxS;
}

export function ks(a: Float64Array, b: Float64Array, mode: 'auto' | 'asymp' = 'auto'): TestOutput {
  const d = ksStatistic(a, b);
  const r = ks2Pvalue(a.length, b.length, d, mode);
  return { statistic: r.d, p_value: r.p };
}
