/**
 * Wasserstein-1 distance: scipy.stats.wasserstein_distance, normed as
 * Evidently's `wasserstein` stattest does (legacy/calculations/stattests/wasserstein_distance_norm.py):
 * distance / max(np.std(reference), 0.001).
 */
import { mean, mergeStats, sumSqDev, type TestOutput } from './shared';

/** scipy.stats.wasserstein_distance. */
export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  return mergeStats(a, b).w1;
}

/** Evidently's normed Wasserstein: distance / max(std(reference), 0.001). */
export function wassersteinNorm(a: Float64Array, b: Float64Array): TestOutput {
  const m = mean(a);
  const std = Math.sqrt(sumSqDev(a, m) / a.length);
  const norm = Math.max(std, 0.001);
  return { statistic: wassersteinDistance(a, b) / norm, p_value: null };
}
