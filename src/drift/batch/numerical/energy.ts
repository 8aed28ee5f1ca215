/**
 * Energy distance: scipy.stats.energy_distance (sqrt(2) times the L2 distance
 * between the two empirical CDFs), as Evidently's `ed` stattest calls it
 * (legacy/calculations/stattests/energy_distance.py).
 */
import { mergeStats, type TestOutput } from './shared';

/** scipy.stats.energy_distance. */
export function energyDistance(a: Float64Array, b: Float64Array): TestOutput {
  return { statistic: Math.SQRT2 * Math.sqrt(mergeStats(a, b).w2), p_value: null };
}
