/**
 * Tests on category counts (a CountTable over the union of categories of
 * both samples, missing values removed).
 */
import type { CountTable } from './prepare';
import type { TestOutput } from './numerical/shared';
import { chi2Sf, logBinom, normCdf } from './special';
import { NumpyRandomState } from './rng';

/** Evidently `chisquare`: scipy.stats.chisquare(cur_counts, ref_counts * n_cur/n_ref). */
export function chiSquareEvidently(t: CountTable): TestOutput & { reason?: string } {
  const k = t.keys.length;
  if (k < 2) return { statistic: null, p_value: null, reason: 'only one category in both samples: chi-square has no degrees of freedom' };
  const norm = t.nCur / t.nRef;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = t.ref[i]! * norm;
    const o = t.cur[i]!;
    stat += e === 0 ? (o === 0 ? 0 : Infinity) : ((o - e) * (o - e)) / e;
  }
  return { statistic: stat, p_value: stat === Infinity ? 0 : chi2Sf(stat, k - 1) };
}

/**
 * Evidently `g_test`: scipy.stats.power_divergence(cur, ref, lambda_='log-likelihood').
 * Evidently passes raw reference counts, which scipy only accepts when both
 * samples have the same size; expected counts are scaled by n_cur/n_ref here
 * so unequal sizes work too (identical result for equal sizes).
 */
export function gTest(t: CountTable): TestOutput & { reason?: string } {
  const k = t.keys.length;
  if (k < 2) return { statistic: null, p_value: null, reason: 'only one category in both samples: G-test has no degrees of freedom' };
  const norm = t.nCur / t.nRef;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const e = t.ref[i]! * norm;
    const o = t.cur[i]!;
    if (o === 0) continue;
    stat += e === 0 ? Infinity : o * Math.log(o / e);
  }
  stat *= 2;
  return { statistic: stat, p_value: stat === Infinity ? 0 : chi2Sf(stat, k - 1) };
}

/**
 * Evidently `z`: two-proportion z-test on "first sorted category vs the rest",
 * p = 2 * (1 - Φ(|z|)); p = 1 when both samples hold one identical value.
 */
export function zTest(t: CountTable): TestOutput & { reason?: string } {
  // both samples hold one identical value
  if (t.keys.length === 1) return { statistic: 0, p_value: 1 };
  // keys are already sorted (string order, or numeric order for numerical columns)
  const n1 = t.nRef;
  const n2 = t.nCur;
  const p1 = (n1 - t.ref[0]!) / n1;
  const p2 = (n2 - t.cur[0]!) / n2;
  const P = (p1 * n1 + p2 * n2) / (n1 + n2);
  const z = (p1 - p2) / Math.sqrt(P * (1 - P) * (1 / n1 + 1 / n2));
  if (!Number.isFinite(z)) return { statistic: null, p_value: null, reason: 'pooled proportion is 0 or 1' };
  return { statistic: z, p_value: 2 * (1 - normCdf(Math.abs(z))) };
}

function hypergeomPmf(x: number, M: number, n: number, N: number): number {
  // population M, n successes, N draws
  if (x < Math.max(0, N - (M - n)) || x > Math.min(n, N)) return 0;
  return Math.exp(logBinom(n, x) + logBinom(M - n, N - x) - logBinom(M, N));
}

/**
 * Evidently `fisher_exact`: scipy.stats.fisher_exact on
 * [[cur_1, cur_0], [ref_1, ref_0]] (binary data). Statistic: the odds ratio
 * with the first sorted category coded 0 (null when infinite/undefined).
 */
export function fisherExact(t: CountTable): TestOutput & { reason?: string } {
  if (t.keys.length > 2) return { statistic: null, p_value: null, reason: 'fisher_exact needs binary data (at most 2 categories)' };
  const one = (arr: Float64Array): number => (arr.length === 2 ? arr[1]! : 0);
  const zero = (arr: Float64Array): number => arr[0]!;
  const c00 = one(t.cur);
  const c01 = t.keys.length === 2 ? zero(t.cur) : t.cur[0]!;
  const c10 = one(t.ref);
  const c11 = t.keys.length === 2 ? zero(t.ref) : t.ref[0]!;
  const odds = c10 > 0 && c01 > 0 ? (c00 * c11) / (c10 * c01) : Infinity;
  if (c00 + c10 === 0 || c01 + c11 === 0 || c00 + c01 === 0 || c10 + c11 === 0) return { statistic: null, p_value: 1 };
  const n1 = c00 + c01;
  const n2 = c10 + c11;
  const n = c00 + c10;
  const M = n1 + n2;
  const lo = Math.max(0, n - n2);
  const hi = Math.min(n, n1);
  const mode = Math.floor(((n + 1) * (n1 + 1)) / (n1 + n2 + 2));
  const pexact = hypergeomPmf(c00, M, n1, n);
  const pmode = hypergeomPmf(mode, M, n1, n);
  const eps = 1e-14;
  if (Math.abs(pexact - pmode) / Math.max(pexact, pmode) <= eps) return { statistic: Number.isFinite(odds) ? odds : null, p_value: 1 };
  const gamma = 1 + eps;
  let p = 0;
  for (let x = lo; x <= hi; x++) {
    const px = hypergeomPmf(x, M, n1, n);
    if (x === c00 || px <= pexact * gamma) p += px;
  }
  return { statistic: Number.isFinite(odds) ? odds : null, p_value: Math.min(1, p) };
}

/** Total variation distance between the two category distributions (Evidently's formula). */
export function tvdValue(ref: ArrayLike<number>, cur: ArrayLike<number>): number {
  let sr = 0;
  let sc = 0;
  for (let i = 0; i < ref.length; i++) {
    sr += ref[i]!;
    sc += cur[i]!;
  }
  let s = 0;
  for (let i = 0; i < ref.length; i++) s += Math.abs(ref[i]! / sr - cur[i]! / sc);
  return 0.5 * s;
}

/**
 * Evidently `TVD`: observed TVD and Evidently's permutation p-value
 * (np.random.seed(0); 1000 draws of np.random.choice(pooled, n_ref, replace=False)),
 * reproduced with the same MT19937 stream and the same Fisher-Yates shuffle,
 * so p-values agree with Evidently up to floating ties. Cost O(1000 x n).
 */
export function tvdTest(t: CountTable, pooledCodes?: Int32Array, iterations = 1000): TestOutput {
  const observed = tvdValue(t.ref, t.cur);
  // Pooled data in Evidently's order: the reference's non-missing values in row
  // order, then the current's (`pooledCodes`, indices into t.keys). Without
  // them, values grouped by category are used: same null distribution, but the
  // p-value then does not reproduce Evidently's draw for draw.
  const k = t.keys.length;
  const nRef = t.nRef;
  const N = t.nRef + t.nCur;
  let codes = pooledCodes;
  if (!codes) {
    codes = new Int32Array(N);
    let pos = 0;
    for (let c = 0; c < k; c++) for (let r = 0; r < t.ref[c]!; r++) codes[pos++] = c;
    for (let c = 0; c < k; c++) for (let r = 0; r < t.cur[c]!; r++) codes[pos++] = c;
  }
  const rng = new NumpyRandomState(0);
  const perm = new Int32Array(N);
  const cnt = new Float64Array(k);
  const tot = new Float64Array(k);
  for (let i = 0; i < N; i++) tot[codes[i]!]!++;
  let hits = 0;
  const curCnt = new Float64Array(k);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < N; i++) perm[i] = i;
    for (let i = N - 1; i > 0; i--) {
      const j = rng.interval(i);
      const tmp = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = tmp;
    }
    cnt.fill(0);
    for (let i = 0; i < nRef; i++) cnt[codes[perm[i]!]!]!++;
    for (let c = 0; c < k; c++) curCnt[c] = tot[c]! - cnt[c]!;
    const stat = tvdValue(cnt, curCnt);
    if (observed <= Math.abs(stat)) hits++;
  }
  return { statistic: observed, p_value: hits / iterations };
}

/**
 * Alibi Detect's ChiSquareDrift per feature: scipy.stats.chi2_contingency on
 * the 2 x k table [ref counts; cur counts] (Yates' correction when dof = 1).
 * Categories are the union of both samples (Alibi uses the reference's).
 */
export function chiSquareContingency(t: CountTable): TestOutput & { reason?: string } {
  const k = t.keys.length;
  if (k < 2) return { statistic: 0, p_value: 1 };
  const rows = [t.ref, t.cur];
  const rowSum = [t.nRef, t.nCur];
  const N = t.nRef + t.nCur;
  const colSum = Array.from({ length: k }, (_, j) => t.ref[j]! + t.cur[j]!);
  const dof = k - 1;
  let stat = 0;
  for (let r = 0; r < 2; r++) {
    for (let j = 0; j < k; j++) {
      const e = (rowSum[r]! * colSum[j]!) / N;
      let o = rows[r]![j]!;
      if (dof === 1) {
        const diff = e - o;
        const mag = Math.min(0.5, Math.abs(diff));
        o = o + mag * Math.sign(diff);
      }
      stat += ((o - e) * (o - e)) / e;
    }
  }
  return { statistic: stat, p_value: chi2Sf(stat, dof) };
}
