/**
 * Epps-Singleton test on the empirical characteristic function:
 * scipy.stats.epps_singleton_2samp(ref, cur, t=(0.4, 0.8)), as Evidently's
 * `es` stattest calls it (legacy/calculations/stattests/epps_singleton_stattest.py).
 */
import { chi2Sf } from '../special';
import { symmetricEigen } from '../linalg';
import { percentileOfTwo, type TestOutput } from './shared';

/** scipy.stats.epps_singleton_2samp(ref, cur), t = (0.4, 0.8). */
export function eppsSingleton(a: Float64Array, b: Float64Array): TestOutput & { reason?: string } {
  const nx = a.length;
  const ny = b.length;
  if (nx < 5 || ny < 5) return { statistic: null, p_value: null, reason: 'Epps-Singleton needs at least 5 values in each sample' };
  const n = nx + ny;
  const iqr = percentileOfTwo(a, b, 75) - percentileOfTwo(a, b, 25);
  if (iqr === 0) return { statistic: null, p_value: null, reason: 'interquartile range of the pooled data is zero (Epps-Singleton needs spread)' };
  const sigma = iqr / 2;
  const t1 = 0.4 / sigma;
  const t2 = 0.8 / sigma;
  const moments = (x: Float64Array): { mean: number[]; cov: number[][] } => {
    const len = x.length;
    const s = [0, 0, 0, 0];
    for (let i = 0; i < len; i++) {
      const v = x[i]!;
      s[0]! += Math.cos(t1 * v);
      s[1]! += Math.cos(t2 * v);
      s[2]! += Math.sin(t1 * v);
      s[3]! += Math.sin(t2 * v);
    }
    const mu = s.map((v) => v / len);
    const cov = [0, 1, 2, 3].map(() => [0, 0, 0, 0]);
    for (let i = 0; i < len; i++) {
      const v = x[i]!;
      const g = [Math.cos(t1 * v) - mu[0]!, Math.cos(t2 * v) - mu[1]!, Math.sin(t1 * v) - mu[2]!, Math.sin(t2 * v) - mu[3]!];
      for (let p = 0; p < 4; p++) for (let q = p; q < 4; q++) cov[p]![q]! += g[p]! * g[q]!;
    }
    for (let p = 0; p < 4; p++)
      for (let q = p; q < 4; q++) {
        cov[p]![q]! /= len; // biased estimate
        cov[q]![p] = cov[p]![q]!;
      }
    return { mean: mu, cov };
  };
  const mx = moments(a);
  const my = moments(b);
  const est = [0, 1, 2, 3].map((p) => [0, 1, 2, 3].map((q) => (n / nx) * mx.cov[p]![q]! + (n / ny) * my.cov[p]![q]!));
  const { values, vectors } = symmetricEigen(est);
  const smax = maxAbs(values);
  // scipy uses np.linalg.pinv (cutoff 1e-15 * max). With discrete data of <= 3
  // distinct values the covariance is rank deficient and scipy's result then
  // depends on round-off noise in the null eigenvalues (it warns); a 1e-10
  // relative cutoff drops that noise and uses the true rank. Full-rank inputs
  // are unaffected.
  const cutoff = 1e-10 * smax;
  const kept = values.map((v) => Math.abs(v) > cutoff);
  // rank of pinv: singular values 1/|v| above max * 4 * eps
  const inv = values.map((v, i) => (kept[i] ? 1 / v : 0));
  const imax = maxAbs(inv);
  const r = inv.filter((v) => Math.abs(v) > imax * 4 * 2.220446049250313e-16).length;
  const gd = [0, 1, 2, 3].map((p) => mx.mean[p]! - my.mean[p]!);
  let w = 0;
  for (let e = 0; e < 4; e++) {
    if (!kept[e]) continue;
    let proj = 0;
    for (let p = 0; p < 4; p++) proj += vectors[p]![e]! * gd[p]!;
    w += (proj * proj) / values[e]!;
  }
  w *= n;
  if (Math.max(nx, ny) < 25) {
    const corr = 1 / (1 + n ** -0.45 + 10.1 * (nx ** -1.7 + ny ** -1.7));
    w *= corr;
  }
  if (!Number.isFinite(w) || r === 0) return { statistic: null, p_value: null, reason: 'covariance of the empirical characteristic function is singular' };
  return { statistic: w, p_value: chi2Sf(w, r) };
}

/** max |v| (Math.max semantics: NaN if any value is NaN), in a loop rather than a spread of the array. */
function maxAbs(values: readonly number[]): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, Math.abs(v));
  return max;
}
