/** Value helpers shared by the preprocessor and the label encoding. */
import { mean as ssMean, standardDeviation } from 'simple-statistics';

/**
 * Mean and population standard deviation (ddof 0, as sklearn's StandardScaler)
 * for scaling; a std of 0 (constant column) or an empty list gives std 1, so
 * dividing by it is safe. An empty list has mean 0. Accepts a Float64Array
 * (simple-statistics only indexes its input), so millions of values need no number[].
 */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 1 };
  // simple-statistics only reads length and [i]; its types ask for number[].
  const list = values as number[];
  const std = standardDeviation(list);
  return { mean: ssMean(list), std: std > 0 && Number.isFinite(std) ? std : 1 };
}

/**
 * A number from text as the row-based code read it (Number(text)), with
 * 'true'/'false' as 1/0 (a boolean cell becomes that text in a column table).
 * NaN when the text is not a number.
 */
export function numberFromText(text: string): number {
  if (text === 'true') return 1;
  if (text === 'false') return 0;
  const n = Number(text);
  return Number.isFinite(n) ? n : NaN;
}
