/**
 * Helpers shared by the numerical two-sample tests, all on SORTED
 * Float64Arrays with missing values removed: compensated moments, the walk
 * over the distinct values of two samples (and the one-pass merge statistics
 * that ks, wasserstein, ed and the distinct count share), and order
 * statistics of the pooled data.
 */

export interface TestOutput {
  statistic: number | null;
  p_value: number | null;
}

/** Neumaier-compensated mean. */
export function mean(a: Float64Array): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    const t = s + v;
    if (Math.abs(s) >= Math.abs(v)) c += s - t + v;
    else c += v - t + s;
    s = t;
  }
  return (s + c) / a.length;
}

/** Sum of squared deviations from m (compensated). */
export function sumSqDev(a: Float64Array, m: number): number {
  let s = 0;
  let c = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - m;
    const v = d * d;
    const t = s + v;
    if (Math.abs(s) >= Math.abs(v)) c += s - t + v;
    else c += v - t + s;
    s = t;
  }
  return s + c;
}

/**
 * Walk the distinct values of the union of two sorted arrays in ascending
 * order; `fn(value, countInA, countInB, lessA, lessB)`.
 */
export function forEachDistinct(a: Float64Array, b: Float64Array, fn: (v: number, ca: number, cb: number, lessA: number, lessB: number) => void): void {
  let i = 0;
  let j = 0;
  const na = a.length;
  const nb = b.length;
  while (i < na || j < nb) {
    const v = j >= nb || (i < na && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    const i0 = i;
    const j0 = j;
    while (i < na && a[i] === v) i++;
    while (j < nb && b[j] === v) j++;
    fn(v, i - i0, j - j0, i0, j0);
  }
}

export interface MergeStats {
  /** max and min of F_ref - F_cur over the pooled values (KS) */
  maxS: number;
  minS: number;
  /** ∫|F_ref - F_cur| and ∫(F_ref - F_cur)^2 (Wasserstein-1, energy distance) */
  w1: number;
  w2: number;
  /** distinct values in the pooled data */
  distinct: number;
}

const mergeCache = new WeakMap<Float64Array, { cur: Float64Array; stats: MergeStats }>();

/**
 * One merge pass over the two sorted samples, shared by ks, wasserstein, ed
 * and the distinct count (cached per pair of arrays). The same walk as
 * forEachDistinct, written out: it is the hot path of the default tests on
 * large numerical columns.
 */
export function mergeStats(a: Float64Array, b: Float64Array): MergeStats {
  const hit = mergeCache.get(a);
  if (hit && hit.cur === b) return hit.stats;
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxS = -Infinity;
  let minS = Infinity;
  let w1 = 0;
  let w2 = 0;
  let distinct = 0;
  let prevV = 0;
  let prevDiff = 0;
  while (i < n1 || j < n2) {
    const v = j >= n2 || (i < n1 && a[i]! <= b[j]!) ? a[i]! : b[j]!;
    if (distinct > 0) {
      const delta = v - prevV;
      w1 += Math.abs(prevDiff) * delta;
      w2 += prevDiff * prevDiff * delta;
    }
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    const diff = i / n1 - j / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minS) minS = diff;
    prevDiff = diff;
    prevV = v;
    distinct++;
  }
  const stats = { maxS, minS, w1, w2, distinct };
  mergeCache.set(a, { cur: b, stats });
  return stats;
}

/** k-th smallest (0-based) of the union of two sorted arrays. */
export function kthOfTwo(a: Float64Array, b: Float64Array, k: number): number {
  // binary search on how many come from a
  let lo = Math.max(0, k + 1 - b.length);
  let hi = Math.min(k + 1, a.length);
  while (lo < hi) {
    const i = (lo + hi) >> 1; // take i from a, k+1-i from b
    const j = k + 1 - i;
    if (j > 0 && i < a.length && b[j - 1]! > a[i]!) lo = i + 1;
    else hi = i;
  }
  const i = lo;
  const j = k + 1 - i;
  const fa = i > 0 ? a[i - 1]! : -Infinity;
  const fb = j > 0 ? b[j - 1]! : -Infinity;
  return Math.max(fa, fb);
}

/** np.percentile(..., method='linear') of the union of two sorted arrays. */
export function percentileOfTwo(a: Float64Array, b: Float64Array, q: number): number {
  const N = a.length + b.length;
  const idx = (q / 100) * (N - 1);
  const lo = Math.floor(idx);
  const t = idx - lo;
  const va = kthOfTwo(a, b, lo);
  const vb = lo + 1 < N ? kthOfTwo(a, b, lo + 1) : va;
  const diff = vb - va;
  return t >= 0.5 ? vb - diff * (1 - t) : va + diff * t;
}
