/**
 * Two-sample Kolmogorov–Smirnov test as SciPy's `stats.ks_2samp(a, b,
 * alternative='two-sided', method='auto')` computes it, for samples of equal
 * size n <= 10000 — the only case KSWIN produces (both windows hold
 * `stat_size` values). For those sizes SciPy's 'auto' always picks the exact
 * distribution, evaluated by `_compute_prob_outside_square(n, h)`; the same
 * Horner-like recurrence is used here, in the same order of floating-point
 * operations, so p-values agree bit for bit.
 */

export const KS_EXACT_MAX_N = 10000;

export interface KsResult {
  /** D = h / n, the largest absolute gap between the two empirical CDFs. */
  statistic: number;
  pValue: number;
}

function sortedCopy(values: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(values as ArrayLike<number>);
  out.sort();
  return out;
}

/**
 * max over all pooled points v of |#{a <= v} - #{b <= v}|, the integer h of
 * SciPy's exact test (for equal sizes, d * lcm(n, n) = h exactly).
 */
function maxCountGap(a: Float64Array, b: Float64Array): number {
  // Merge walk over both sorted arrays; evaluate after consuming every copy
  // of the current value from both (searchsorted side='right').
  let i = 0;
  let j = 0;
  let best = 0;
  const na = a.length;
  const nb = b.length;
  while (i < na || j < nb) {
    const va = i < na ? a[i]! : Infinity;
    const vb = j < nb ? b[j]! : Infinity;
    const v = va <= vb ? va : vb;
    while (i < na && a[i]! <= v) i++;
    while (j < nb && b[j]! <= v) j++;
    const gap = Math.abs(i - j);
    if (gap > best) best = gap;
  }
  return best;
}

/** SciPy `_compute_prob_outside_square(n, h)`: Pr(D_{n,n} >= h/n). */
export function probOutsideSquare(n: number, h: number): number {
  let p = 0.0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1.0;
    for (let j = 0; j < h; j++) {
      p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    }
    p = p1 * (1.0 - p);
    k -= 1;
  }
  return 2 * p;
}

/**
 * `scipy.stats.ks_2samp(a, b)` for equal sample sizes n <= 10000 (exact
 * two-sided p-value). Throws for other sizes rather than silently diverging
 * from SciPy.
 */
export function ks2SampEqualSizes(a: ArrayLike<number>, b: ArrayLike<number>): KsResult {
  const n = a.length;
  if (n === 0 || b.length === 0) throw new Error('Data passed to ks_2samp must not be empty');
  if (b.length !== n) throw new Error(`ks2SampEqualSizes needs equal sizes, got ${n} and ${b.length}`);
  if (n > KS_EXACT_MAX_N) throw new Error(`ks2SampEqualSizes supports n <= ${KS_EXACT_MAX_N}, got ${n}`);
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(a[i]!) || Number.isNaN(b[i]!)) {
      return { statistic: NaN, pValue: NaN };
    }
  }
  const h = maxCountGap(sortedCopy(a), sortedCopy(b));
  const statistic = h / n;
  if (h === 0) return { statistic, pValue: 1.0 };
  let p = probOutsideSquare(n, h);
  if (!(p >= 0)) p = 0; // np.clip
  if (p > 1) p = 1;
  return { statistic, pValue: p };
}
