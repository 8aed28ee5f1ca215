// The row-based implementation as it was before the columnar rewrite, kept as the reference the new code must match exactly.
/** Value helpers shared by the preprocessor and the label encoding. */
import { mean as ssMean, standardDeviation } from 'simple-statistics';

/** Missing: null, undefined, NaN, or blank text. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v)) || (typeof v === 'string' && v.trim() === '');
}

/**
 * Mean and population standard deviation (ddof 0, as sklearn's StandardScaler)
 * for scaling; a std of 0 (constant column) or an empty list gives std 1, so
 * dividing by it is safe. An empty list has mean 0.
 */
export function meanStd(values: readonly number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 1 };
  const std = standardDeviation(values);
  return { mean: ssMean(values), std: std > 0 && Number.isFinite(std) ? std : 1 };
}
