/**
 * Numerical two-sample tests on SORTED Float64Arrays (missing values already
 * removed). Each follows the scipy function Evidently calls, see the method
 * registry (./methods) for names, thresholds and directions.
 */
import { besselKScaled, chi2Sf, lgamma, normCdf, tSf } from './special';
import { ks2Pvalue } from './kolmogorov';
import { symmetricEigen } from './linalg';

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
export function forEachDistinct(
  a: Float64Array,
  b: Float64Array,
  fn: (v: number, ca: number, cb: number, lessA: number, lessB: number) => void,
): void {
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

// ---------------------------------------------------------------- KS

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

// ---------------------------------------------------------------- CDF distances

function cdfDistance(a: Float64Array, b: Float64Array, p: 1 | 2): number {
  const st = mergeStats(a, b);
  return p === 1 ? st.w1 : Math.sqrt(st.w2);
}

/** scipy.stats.wasserstein_distance. */
export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  return cdfDistance(a, b, 1);
}

/** Evidently's normed Wasserstein: distance / max(std(reference), 0.001). */
export function wassersteinNorm(a: Float64Array, b: Float64Array): TestOutput {
  const m = mean(a);
  const std = Math.sqrt(sumSqDev(a, m) / a.length);
  const norm = Math.max(std, 0.001);
  return { statistic: wassersteinDistance(a, b) / norm, p_value: null };
}

/** scipy.stats.energy_distance. */
export function energyDistance(a: Float64Array, b: Float64Array): TestOutput {
  return { statistic: Math.SQRT2 * cdfDistance(a, b, 2), p_value: null };
}

// ---------------------------------------------------------------- t-test

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

// ---------------------------------------------------------------- Mann-Whitney

/** Exact null distribution of U (no ties): counts for u = 0..maxu. */
function mwuCounts(n1: number, n2: number, maxu: number): Float64Array {
  // generating function prod_{i=1}^{n1} (1 - q^{n2+i}) / (1 - q^i), n1 <= n2
  const c = new Float64Array(maxu + 1);
  c[0] = 1;
  for (let i = 1; i <= n1; i++) {
    const up = n2 + i;
    for (let u = maxu; u >= up; u--) c[u]! -= c[u - up]!;
    for (let u = i; u <= maxu; u++) c[u]! += c[u - i]!;
  }
  return c;
}

/**
 * scipy.stats.mannwhitneyu(x=reference, y=current, alternative), method
 * 'auto' (exact when min(n1,n2) <= 8 and no ties, else normal with tie and
 * continuity corrections). Statistic: U1 of the reference sample.
 */
export function mannWhitney(a: Float64Array, b: Float64Array, alternative: 'less' | 'greater' | 'two-sided' = 'less'): TestOutput {
  const n1 = a.length;
  const n2 = b.length;
  let R1 = 0;
  let tieTerm = 0;
  let ties = false;
  forEachDistinct(a, b, (_v, ca, cb, la, lb) => {
    const t = ca + cb;
    const start = la + lb;
    const avg = start + (t + 1) / 2;
    R1 += ca * avg;
    if (t > 1) {
      ties = true;
      tieTerm += t * t * t - t;
    }
  });
  const U1 = R1 - (n1 * (n1 + 1)) / 2;
  const U2 = n1 * n2 - U1;
  let U: number;
  let f: number;
  if (alternative === 'greater') [U, f] = [U1, 1];
  else if (alternative === 'less') [U, f] = [U2, 1];
  else [U, f] = [Math.max(U1, U2), 2];
  const exact = !((n1 > 8 && n2 > 8) || ties);
  let p: number;
  if (exact) {
    const lo = Math.min(n1, n2);
    const hi = Math.max(n1, n2);
    const total = Math.exp(lgamma(n1 + n2 + 1) - lgamma(n1 + 1) - lgamma(n2 + 1));
    const k = Math.round(U);
    const kc = n1 * n2 - k;
    if (k < kc) {
      const c = mwuCounts(lo, hi, k);
      let cum = 0;
      for (let u = 0; u <= k; u++) cum += c[u]!;
      p = 1 - cum / total + c[k]! / total;
    } else {
      const c = mwuCounts(lo, hi, kc);
      let cum = 0;
      for (let u = 0; u <= kc; u++) cum += c[u]!;
      p = cum / total;
    }
  } else {
    const n = n1 + n2;
    const mu = (n1 * n2) / 2;
    const s = Math.sqrt(((n1 * n2) / 12) * (n + 1 - tieTerm / (n * (n - 1))));
    const z = (U - mu - 0.5) / s;
    if (!Number.isFinite(z)) return { statistic: U1, p_value: null };
    p = normCdf(-z);
  }
  p = Math.min(1, Math.max(0, p * f));
  return { statistic: U1, p_value: p };
}

// ---------------------------------------------------------------- Cramér-von Mises

/** Exact p-value of the two-sample CvM test (Xiao, Gordon, Yakovlev 2006), as in scipy. */
function cvmExactP(u: number, m: number, n: number): number {
  const gcdmn = (x: number, y: number): number => (y ? gcdmn(y, x % y) : x);
  const lcm = (m / gcdmn(m, n)) * n;
  const a = lcm / m;
  const b = lcm / n;
  const mn = m * n;
  // zeta = lcm^2 (m+n) (6u - mn(4mn-1)) // (6 mn^2)   (u is integral in exact arithmetic)
  const num = BigInt(lcm) ** 2n * BigInt(m + n) * (6n * BigInt(Math.round(u)) - BigInt(mn) * BigInt(4 * mn - 1));
  const den = 6n * BigInt(mn) ** 2n;
  let zeta = num / den;
  if (num < 0n && zeta * den !== num) zeta -= 1n; // floor division
  const zetaN = Number(zeta);
  // gs[v]: map value -> frequency
  let gs: Map<number, number>[] = [new Map([[0, 1]])];
  for (let v = 0; v < m; v++) gs.push(new Map());
  for (let uu = 0; uu <= n; uu++) {
    const next: Map<number, number>[] = [];
    let tmp = new Map<number, number>();
    for (let v = 0; v < gs.length; v++) {
      const g = gs[v]!;
      const merged = new Map<number, number>(tmp);
      for (const [val, fr] of g) merged.set(val, (merged.get(val) ?? 0) + fr);
      const shift = (a * v - b * uu) ** 2;
      tmp = new Map();
      for (const [val, fr] of merged) tmp.set(val + shift, fr);
      next.push(tmp);
    }
    gs = next;
  }
  let combinations = 1;
  for (let i = 1; i <= m; i++) combinations = (combinations * (n + i)) / i;
  let s = 0;
  for (const [val, fr] of gs[m]!) if (val >= zetaN) s += fr;
  return s / combinations;
}

function cdfCvmInf(x: number): number {
  let tot = 0;
  for (let k = 0; k < 1000; k++) {
    const u = Math.exp(lgamma(k + 0.5) - lgamma(k + 1)) / (Math.PI ** 1.5 * Math.sqrt(x));
    const y = 4 * k + 1;
    const q = (y * y) / (16 * x);
    const kv = besselKScaled(0.25, q) * Math.exp(-q); // K_{1/4}(q)
    const z = u * Math.sqrt(y) * Math.exp(-q) * kv;
    tot += z;
    if (Math.abs(z) < 1e-7) break;
  }
  return tot;
}

/** Evidently's `_cvm_2samp` (copy of scipy cramervonmises_2samp), method 'auto'. */
export function cramerVonMises(a: Float64Array, b: Float64Array): TestOutput {
  const nx = a.length;
  const ny = b.length;
  if (nx <= 1 || ny <= 1) return { statistic: null, p_value: null };
  const exact = Math.max(nx, ny) <= 20;
  let sx = 0;
  let sy = 0;
  forEachDistinct(a, b, (_v, ca, cb, la, lb) => {
    const r = la + lb + (ca + cb + 1) / 2;
    for (let q = 1; q <= ca; q++) {
      const d = r - (la + q);
      sx += d * d;
    }
    for (let q = 1; q <= cb; q++) {
      const d = r - (lb + q);
      sy += d * d;
    }
  });
  const u = nx * sx + ny * sy;
  const k = nx * ny;
  const N = nx + ny;
  const t = u / (k * N) - (4 * k - 1) / (6 * N);
  let p: number;
  if (exact) {
    p = cvmExactP(u, nx, ny);
  } else {
    const et = (1 + 1 / N) / 6;
    let vt = (N + 1) * (4 * k * N - 3 * (nx * nx + ny * ny) - 2 * k);
    vt = vt / (45 * N * N * 4 * k);
    const tn = 1 / 6 + (t - et) / Math.sqrt(45 * vt);
    p = tn < 0.003 ? 1.0 : Math.max(0, 1 - cdfCvmInf(tn));
  }
  return { statistic: t, p_value: p };
}

// ---------------------------------------------------------------- Anderson-Darling k-sample

/** scipy.stats.anderson_ksamp([ref, cur]) with midrank; p capped to [0.001, 0.25]. */
export function andersonKsamp(a: Float64Array, b: Float64Array): TestOutput & { capped?: 'floor' | 'cap' } {
  const n = [a.length, b.length];
  const N = n[0]! + n[1]!;
  let distinct = 0;
  let A2akN = 0;
  let cumA = 0;
  let cumB = 0;
  let sumA = 0;
  let sumB = 0;
  forEachDistinct(a, b, (_v, ca, cb, la, lb) => {
    distinct++;
    const lj = ca + cb;
    const Bj = la + lb + lj / 2;
    cumA = la + ca;
    cumB = lb + cb;
    const denom = Bj * (N - Bj) - (N * lj) / 4;
    const MA = cumA - ca / 2;
    const MB = cumB - cb / 2;
    const tA = N * MA - Bj * n[0]!;
    const tB = N * MB - Bj * n[1]!;
    sumA += ((lj / N) * tA * tA) / denom;
    sumB += ((lj / N) * tB * tB) / denom;
  });
  if (distinct < 2) return { statistic: null, p_value: null };
  A2akN = sumA / n[0]! + sumB / n[1]!;
  A2akN *= (N - 1) / N;
  const k = 2;
  const H = 1 / n[0]! + 1 / n[1]!;
  // hs_cs = cumsum(1 / arange(N-1, 1, -1)); h = hs_cs[-1] + 1; g = sum(hs_cs / arange(2, N))
  let cs = 0;
  let g = 0;
  for (let idx = 0, d = N - 1; d > 1; idx++, d--) {
    cs += 1 / d;
    g += cs / (idx + 2);
  }
  const h = cs + 1;
  const aa = (4 * g - 6) * (k - 1) + (10 - 6 * g) * H;
  const bb = (2 * g - 4) * k * k + 8 * h * k + (2 * g - 14 * h - 4) * H - 8 * h + 4 * g - 6;
  const cc = (6 * h + 2 * g - 2) * k * k + (4 * h - 4 * g + 6) * k + (2 * h - 6) * H + 4 * h;
  const dd = (2 * h + 6) * k * k - 4 * h * k;
  const sigmasq = (aa * N ** 3 + bb * N ** 2 + cc * N + dd) / ((N - 1) * (N - 2) * (N - 3));
  const m = k - 1;
  const A2 = (A2akN - m) / Math.sqrt(sigmasq);
  const b0 = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
  const b1 = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
  const b2 = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
  const critical = b0.map((v, i) => v + b1[i]! / Math.sqrt(m) + b2[i]! / m);
  const sig = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];
  if (A2 < Math.min(...critical)) return { statistic: A2, p_value: 0.25, capped: 'cap' };
  if (A2 > Math.max(...critical)) return { statistic: A2, p_value: 0.001, capped: 'floor' };
  const coef = polyfit2(critical, sig.map(Math.log));
  const p = Math.exp(coef[0]! * A2 * A2 + coef[1]! * A2 + coef[2]!);
  return { statistic: A2, p_value: p };
}

/** Least-squares quadratic fit (highest power first, like np.polyfit). */
function polyfit2(x: number[], y: number[]): number[] {
  // normal equations on centred/scaled x for conditioning, then expand
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n;
  const sx = Math.sqrt(x.reduce((s, v) => s + (v - mx) ** 2, 0) / n);
  const z = x.map((v) => (v - mx) / sx);
  const M = [
    [0, 0, 0],
    [0, 0, 0],
    [0, 0, 0],
  ];
  const r = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const basis = [z[i]! * z[i]!, z[i]!, 1];
    for (let p = 0; p < 3; p++) {
      r[p]! += basis[p]! * y[i]!;
      for (let q = 0; q < 3; q++) M[p]![q]! += basis[p]! * basis[q]!;
    }
  }
  const c = solve3(M, r); // y = c0 z^2 + c1 z + c2, z = (x - mx)/sx
  const A = c[0]! / (sx * sx);
  const B = c[1]! / sx - (2 * c[0]! * mx) / (sx * sx);
  const C = (c[0]! * mx * mx) / (sx * sx) - (c[1]! * mx) / sx + c[2]!;
  return [A, B, C];
}

function solve3(M: number[][], r: number[]): number[] {
  const A = M.map((row, i) => [...row, r[i]!]);
  for (let col = 0; col < 3; col++) {
    let piv = col;
    for (let i = col + 1; i < 3; i++) if (Math.abs(A[i]![col]!) > Math.abs(A[piv]![col]!)) piv = i;
    [A[col], A[piv]] = [A[piv]!, A[col]!];
    for (let i = 0; i < 3; i++) {
      if (i === col) continue;
      const f = A[i]![col]! / A[col]![col]!;
      for (let j = col; j < 4; j++) A[i]![j]! -= f * A[col]![j]!;
    }
  }
  return [A[0]![3]! / A[0]![0]!, A[1]![3]! / A[1]![1]!, A[2]![3]! / A[2]![2]!];
}

// ---------------------------------------------------------------- Epps-Singleton

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
  const smax = Math.max(...values.map(Math.abs));
  // scipy uses np.linalg.pinv (cutoff 1e-15 * max). With discrete data of <= 3
  // distinct values the covariance is rank deficient and scipy's result then
  // depends on round-off noise in the null eigenvalues (it warns); a 1e-10
  // relative cutoff drops that noise and uses the true rank. Full-rank inputs
  // are unaffected.
  const cutoff = 1e-10 * smax;
  const kept = values.map((v) => Math.abs(v) > cutoff);
  // rank of pinv: singular values 1/|v| above max * 4 * eps
  const inv = values.map((v, i) => (kept[i] ? 1 / v : 0));
  const imax = Math.max(...inv.map(Math.abs));
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

