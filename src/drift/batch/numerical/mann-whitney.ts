/**
 * Mann-Whitney U test: scipy.stats.mannwhitneyu(x=reference, y=current,
 * alternative='less'), method 'auto', as Evidently's `mannw` stattest calls
 * it (legacy/calculations/stattests/mann_whitney_urank_stattest.py).
 */
import { lgamma, normCdf } from '../special';
import { forEachDistinct, type TestOutput } from './shared';

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
