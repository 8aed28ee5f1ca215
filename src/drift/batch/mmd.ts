/**
 * Multivariate drift: maximum mean discrepancy with a permutation test, the
 * way Alibi Detect's MMDDrift does it:
 *  - Gaussian RBF kernel k(x, y) = exp(-||x - y||^2 / (2 sigma^2)),
 *  - sigma by the median heuristic on the reference x current squared
 *    distances: sigma = sqrt(0.5 * lower median),
 *  - unbiased MMD^2 (diagonals removed),
 *  - p-value = share of permutations whose MMD^2 >= the observed one
 *    (default 100 permutations, Alibi's default), seeded MT19937.
 * Columns are standardized with the reference mean and standard deviation so
 * that no column dominates the distance; rows with a missing value in any
 * column are left out; samples larger than `maxRows` are subsampled (seeded)
 * because the kernel matrix is quadratic in the rows.
 */
import type { MultivariateResult } from '../types';
import { NumpyRandomState } from './rng';
import { sortFloat64 } from './sort';

export interface MmdOptions {
  permutations?: number;
  maxRows?: number;
  seed?: number;
}

/** p-value below which the samples differ (Alibi Detect's default p_val). */
const THRESHOLD = 0.05;

function completeRows(cols: Float64Array[]): number[] {
  const n = cols[0]?.length ?? 0;
  // Column by column (each array read in order), then the rows no column marked.
  const missing = new Uint8Array(n);
  for (const c of cols) {
    for (let i = 0; i < n; i++) {
      const v = c[i]!;
      if (!(v - v === 0)) missing[i] = 1;
    }
  }
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (missing[i] === 0) rows.push(i);
  return rows;
}

function subsample(rows: number[], max: number, rng: NumpyRandomState): number[] {
  if (rows.length <= max) return rows;
  const a = rows.slice();
  // partial Fisher-Yates: first `max` positions
  for (let i = 0; i < max; i++) {
    const j = i + rng.interval(a.length - 1 - i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a.slice(0, max).sort((x, y) => x - y);
}

/**
 * Squared Euclidean distances between the rows of X (N x d, row-major), the
 * full N x N matrix written row by row: (a - b)^2 = (b - a)^2 exactly, so it is
 * symmetric, and row-order writes are faster than mirroring a triangle. Small
 * functions for the hot loops: the JIT optimizes them early, which matters in
 * a one-shot run on a busy machine.
 */
function squaredDistances(X: Float64Array, N: number, d: number): Float64Array {
  const D = new Float64Array(N * N);
  for (let i = 0; i < N; i++) distanceRow(X, N, d, i, D);
  return D;
}

function distanceRow(X: Float64Array, N: number, d: number, i: number, D: Float64Array): void {
  const xi = i * d;
  const row = i * N;
  for (let j = 0; j < N; j++) {
    const xj = j * d;
    let s = 0;
    for (let f = 0; f < d; f++) {
      const t = X[xi + f]! - X[xj + f]!;
      s += t * t;
    }
    D[row + j] = s;
  }
}

/** K = exp(-gamma D), in place. */
function gaussianKernel(D: Float64Array, gamma: number): void {
  for (let i = 0; i < D.length; i++) D[i] = Math.exp(-gamma * D[i]!);
}

/**
 * Unbiased MMD^2 of a labelling (1 = current) from K's Y x Y block and its row
 * sums; `yIdx` is scratch space for the m indices labelled 1.
 */
function unbiasedMmd2(K: Float64Array, rowSum: Float64Array, total: number, lab: Uint8Array, yIdx: Int32Array, n: number, m: number): number {
  const N = n + m;
  let k = 0;
  for (let i = 0; i < N; i++) if (lab[i]) yIdx[k++] = i;
  let syy = 0;
  let sy = 0;
  for (let q = 0; q < m; q++) {
    const row = yIdx[q]! * N;
    let s = 0;
    for (let p = 0; p < m; p++) s += K[row + yIdx[p]!]!;
    syy += s;
    sy += rowSum[yIdx[q]!]!;
  }
  const sxy = sy - syy;
  const sxx = total - syy - 2 * sxy;
  return sxx / (n * (n - 1)) + syy / (m * (m - 1)) - (2 * sxy) / (n * m);
}

export function mmdTest(refCols: Float64Array[], curCols: Float64Array[], opts: MmdOptions = {}): MultivariateResult | null {
  const d = refCols.length;
  if (d === 0) return null;
  const permutations = opts.permutations ?? 100;
  const maxRows = opts.maxRows ?? 500;
  const rng = new NumpyRandomState(opts.seed ?? 0);
  const rRows = subsample(completeRows(refCols), maxRows, rng);
  const cRows = subsample(completeRows(curCols), maxRows, rng);
  const n = rRows.length;
  const m = cRows.length;
  if (n < 2 || m < 2) return null;
  // standardize with reference moments (over all complete reference rows used)
  const mu = new Float64Array(d);
  const sd = new Float64Array(d);
  for (let f = 0; f < d; f++) {
    let s = 0;
    for (const i of rRows) s += refCols[f]![i]!;
    mu[f] = s / n;
    let ss = 0;
    for (const i of rRows) ss += (refCols[f]![i]! - mu[f]!) ** 2;
    const v = Math.sqrt(ss / n);
    sd[f] = v > 0 ? v : 1;
  }
  const N = n + m;
  const X = new Float64Array(N * d);
  rRows.forEach((i, r) => {
    for (let f = 0; f < d; f++) X[r * d + f] = (refCols[f]![i]! - mu[f]!) / sd[f]!;
  });
  cRows.forEach((i, r) => {
    for (let f = 0; f < d; f++) X[(n + r) * d + f] = (curCols[f]![i]! - mu[f]!) / sd[f]!;
  });
  const D = squaredDistances(X, N, d);
  // median heuristic on the cross block (reference x current)
  const cross = new Float64Array(n * m);
  for (let i = 0; i < n; i++) cross.set(D.subarray(i * N + n, i * N + N), i * m);
  sortFloat64(cross);
  const med = cross[Math.max(0, Math.floor((n * m) / 2) - 1)]!;
  let sigma = Math.sqrt(0.5 * med);
  if (!(sigma > 0)) sigma = 1;
  const gamma = 1 / (2 * sigma * sigma);
  const K = D; // reuse storage
  gaussianKernel(K, gamma);
  for (let i = 0; i < N; i++) K[i * N + i] = 0;
  const label = new Uint8Array(N); // 0 = reference, 1 = current
  // Row sums r_i of K: K is symmetric, so sum_{j in Y} r_j = syy + sxy and a labelling needs only its Y x Y block.
  const rowSum = new Float64Array(N);
  let total = 0;
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let j = i * N; j < (i + 1) * N; j++) s += K[j]!;
    rowSum[i] = s;
    total += s;
  }
  const yIdx = new Int32Array(m);
  const mmd2 = (lab: Uint8Array): number => unbiasedMmd2(K, rowSum, total, lab, yIdx, n, m);
  for (let i = n; i < N; i++) label[i] = 1;
  const observed = mmd2(label);
  const perm = new Uint8Array(N);
  let hits = 0;
  for (let p = 0; p < permutations; p++) {
    perm.set(label);
    for (let i = N - 1; i > 0; i--) {
      const j = rng.interval(i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    if (observed <= mmd2(perm)) hits++;
  }
  const p_value = hits / permutations;
  return {
    method: 'mmd',
    statistic: observed,
    p_value,
    threshold: THRESHOLD,
    drift: p_value < THRESHOLD,
    permutations,
    bandwidth: sigma,
  };
}
