/**
 * Student's two-sample t-test with pooled variance: scipy.stats.ttest_ind
 * (equal_var=True), as Evidently's `t_test` stattest calls it
 * (legacy/calculations/stattests/t_test.py).
 */
import { tSf } from '../special';
import { mean, sumSqDev, type TestOutput } from './shared';

export function tTest(a: Float64Array, b: Float64Array): TestOutput {
  const n1 = a.length;
  const n2 = b.length;
  const m1 = mean(a);
  const m2 = mean(b);
  const v1 = sumSqDev(a, m1) / (n1 - 1);
  const v2 = sumSqDev(b, m2) / (n2 - 1);
  const df = n1 + n2 - 2;
  const svar = ((n1 - 1) * v1 + (n2 - 1) * v2) / df;
  const denom = Math.sqrt(svar * (1 / n1 + 1 / n2));
  const t = (m1 - m2) / denom;
  if (!Number.isFinite(t)) return { statistic: null, p_value: null };
  const p = Math.min(1, 2 * tSf(Math.abs(t), df));
  return { statistic: t, p_value: p };
}
