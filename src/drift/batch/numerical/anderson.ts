/**
 * k-sample Anderson-Darling test for two samples: scipy.stats.anderson_ksamp
 * (midrank=True; p-value interpolated from the critical values and capped to
 * [0.001, 0.25]), as Evidently's `anderson` stattest calls it
 * (legacy/calculations/stattests/anderson_darling_stattest.py).
 */
import { forEachDistinct, type TestOutput } from './shared';

/** scipy.stats.anderson_ksamp([ref, cur]) with midrank; p capped to [0.001, 0.25]. */
export function andersonKsamp(a: Float64Array, b: Float64Array): TestOutput & { capped?: 'floor' | 'cap' } {
  const n = [a.length, b.length];
  const N = n[0]! + n[1]!;
  let distinct = 0;
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
  let A2akN = sumA / n[0]! + sumB / n[1]!;
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
  let lowest = Infinity;
  let highest = -Infinity;
  for (const c of critical) {
    lowest = Math.min(lowest, c);
    highest = Math.max(highest, c);
  }
  if (A2 < lowest) return { statistic: A2, p_value: 0.25, capped: 'cap' };
  if (A2 > highest) return { statistic: A2, p_value: 0.001, capped: 'floor' };
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
