/**
 * Two-sample Cramér-von Mises test: scipy.stats.cramervonmises_2samp
 * (method 'auto': exact when max(n) <= 20), of which Evidently's
 * `cramer_von_mises` stattest (legacy/calculations/stattests/cramer_von_mises_stattest.py,
 * `_cvm_2samp`) is a copy.
 */
import { besselKScaled, lgamma } from '../special';
import { forEachDistinct, type TestOutput } from './shared';

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
