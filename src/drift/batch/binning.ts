/**
 * Evidently's `get_binned_data` and the distances built on it (psi, kl_div,
 * jensenshannon), plus Hellinger's own binning.
 *
 * Numerical columns whose REFERENCE has more than 20 distinct values are
 * binned with np.histogram_bin_edges(concat(ref, cur), bins='sturges') and
 * counted like np.histogram with explicit edges (left-closed bins, last bin
 * closed). Otherwise (and for categorical columns) each distinct value is a
 * bin. `feel_zeroes` replaces empty bins by min(nonzero)/1e6 when that
 * minimum is <= 1e-4, else by 1e-4 (used by psi and kl_div, not by
 * jensenshannon).
 */
import type { CountTable } from './prepare';
import { nunique, tableFromSorted } from './prepare';

/** np.histogram_bin_edges(x, 'sturges') given min, max and size. */
export function sturgesEdges(min: number, max: number, size: number): number[] {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  let nbins = 1;
  if (size > 0) {
    const width = (max - min) / (Math.log2(size) + 1);
    nbins = width ? Math.ceil((last - first) / width) : 1;
  }
  return linspace(first, last, nbins + 1);
}

/** np.linspace(start, stop, num) exactly as numpy computes it. */
export function linspace(start: number, stop: number, num: number): number[] {
  const div = num - 1;
  const delta = stop - start;
  const out = new Array<number>(num);
  if (div > 0) {
    const step = delta / div;
    for (let i = 0; i < num; i++) out[i] = step === 0 ? (i / div) * delta + start : i * step + start;
  } else {
    for (let i = 0; i < num; i++) out[i] = i * delta + start;
  }
  if (num > 1) out[num - 1] = stop;
  return out;
}

function lowerBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(a: Float64Array, x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (a[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** np.histogram(sorted, bins=edges)[0] for a sorted array. */
export function histogramSorted(sorted: Float64Array, edges: number[]): number[] {
  const cum: number[] = [];
  for (let i = 0; i < edges.length - 1; i++) cum.push(lowerBound(sorted, edges[i]!));
  cum.push(upperBound(sorted, edges[edges.length - 1]!));
  const out: number[] = [];
  for (let i = 0; i + 1 < cum.length; i++) out.push(cum[i + 1]! - cum[i]!);
  return out;
}

export interface Binned {
  reference: number[];
  current: number[];
  /** bin edges for numerical binning, undefined when each value is a bin */
  edges?: number[];
  labels?: string[];
}

/** Evidently get_binned_data for a numerical column (sorted, non-missing). */
export function binNumerical(ref: Float64Array, cur: Float64Array): Binned {
  if (nunique(ref) > 20) {
    const min = Math.min(ref[0]!, cur[0]!);
    const max = Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!);
    const edges = sturgesEdges(min, max, ref.length + cur.length);
    const r = histogramSorted(ref, edges).map((c) => c / ref.length);
    const c = histogramSorted(cur, edges).map((c) => c / cur.length);
    return { reference: r, current: c, edges };
  }
  return binTable(tableFromSorted(ref, cur));
}

export function binTable(t: CountTable): Binned {
  return {
    reference: Array.from(t.ref, (v) => v / t.nRef),
    current: Array.from(t.cur, (v) => v / t.nCur),
    labels: t.keys,
  };
}

export function feelZeroes(p: number[]): number[] {
  let min = Infinity;
  for (const v of p) if (v !== 0 && v < min) min = v;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  return p.map((v) => (v === 0 ? fill : v));
}

export function psiValue(b: Binned): number {
  const r = feelZeroes(b.reference);
  const c = feelZeroes(b.current);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += (r[i]! - c[i]!) * Math.log(r[i]! / c[i]!);
  return s;
}

/** scipy.stats.entropy(p, q) (normalizes both) after feel_zeroes. */
export function klValue(b: Binned): number {
  const r = feelZeroes(b.reference);
  const c = feelZeroes(b.current);
  const sr = r.reduce((s, v) => s + v, 0);
  const sc = c.reduce((s, v) => s + v, 0);
  let s = 0;
  for (let i = 0; i < r.length; i++) {
    const p = r[i]! / sr;
    const q = c[i]! / sc;
    if (p > 0) s += p * Math.log(p / q);
  }
  return s;
}

/** scipy.spatial.distance.jensenshannon(p, q), natural log, no zero filling. */
export function jsValue(b: Binned): number {
  const sr = b.reference.reduce((s, v) => s + v, 0);
  const sc = b.current.reduce((s, v) => s + v, 0);
  let left = 0;
  let right = 0;
  for (let i = 0; i < b.reference.length; i++) {
    const p = b.reference[i]! / sr;
    const q = b.current[i]! / sc;
    const m = (p + q) / 2;
    if (p > 0) left += p * Math.log(p / m);
    if (q > 0) right += q * Math.log(q / m);
  }
  return Math.sqrt((left + right) / 2);
}

/** Evidently's Hellinger distance, numerical branch (sturges edges on the distinct values). */
export function hellingerNumerical(ref: Float64Array, cur: Float64Array, distinct: number): number {
  const min = Math.min(ref[0]!, cur[0]!);
  const max = Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!);
  const edges = sturgesEdges(min, max, distinct);
  const h1 = histogramSorted(ref, edges);
  const h2 = histogramSorted(cur, edges);
  const s1 = h1.reduce((s, v) => s + v, 0);
  const s2 = h2.reduce((s, v) => s + v, 0);
  const binWidth = (edges[edges.length - 1]! - edges[0]!) / (edges.length - 1);
  let hd = 0;
  for (let i = 0; i < h1.length; i++) {
    const db = edges[i + 1]! - edges[i]!;
    const d1 = h1[i]! / db / s1;
    const d2 = h2[i]! / db / s2;
    hd += Math.sqrt(d1 * d2) * binWidth;
  }
  hd = Math.min(1, Math.max(0, hd));
  return Math.sqrt(1 - hd);
}

/** Evidently's Hellinger distance, categorical branch. */
export function hellingerTable(t: CountTable): number {
  let hd = 0;
  for (let i = 0; i < t.keys.length; i++) hd += Math.sqrt((t.ref[i]! / t.nRef) * (t.cur[i]! / t.nCur));
  hd = Math.min(1, Math.max(0, hd));
  return Math.sqrt(1 - hd);
}
