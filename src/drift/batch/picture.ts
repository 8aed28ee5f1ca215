/**
 * Pictures for the HTML report: a histogram with edges shared by both
 * samples (numerical) or bars per category (categorical). Shares sum to 1.
 */
import type { HistogramPicture } from '../types';
import type { CountTable } from './prepare';
import { histogramSorted, linspace } from './binning';
import { percentileOfTwo } from './numerical/shared';

const MAX_BINS = 40;
const MAX_BARS = 30;

/**
 * Equal-width bins (Sturges' count, at most 40) spanning the pooled 0.5th to
 * 99.5th percentiles; the first and last bins are stretched to the pooled
 * minimum and maximum so that heavy tails do not squash the picture yet no
 * value is lost.
 */
export function numericalPicture(ref: Float64Array, cur: Float64Array): HistogramPicture | undefined {
  if (ref.length === 0 || cur.length === 0) return undefined;
  const min = Math.min(ref[0]!, cur[0]!);
  const max = Math.max(ref[ref.length - 1]!, cur[cur.length - 1]!);
  const n = ref.length + cur.length;
  let lo = percentileOfTwo(ref, cur, 0.5);
  let hi = percentileOfTwo(ref, cur, 99.5);
  if (!(hi > lo)) {
    lo = min;
    hi = max;
  }
  let edges: number[];
  if (!(hi > lo)) {
    edges = [min - 0.5, min + 0.5];
  } else {
    const bins = Math.min(MAX_BINS, Math.max(1, Math.ceil(Math.log2(n) + 1)));
    edges = linspace(lo, hi, bins + 1);
    edges[0] = Math.min(edges[0]!, min);
    edges[edges.length - 1] = Math.max(edges[edges.length - 1]!, max);
  }
  const r = histogramSorted(ref, edges);
  const c = histogramSorted(cur, edges);
  return {
    kind: 'histogram',
    edges,
    reference: r.map((v) => v / ref.length),
    current: c.map((v) => v / cur.length),
  };
}

/** Bars for the most frequent categories (pooled), the rest merged into "(other)". */
export function categoricalPicture(t: CountTable): HistogramPicture | undefined {
  if (t.nRef === 0 || t.nCur === 0) return undefined;
  const order = t.keys.map((_, i) => i).sort((a, b) => t.ref[b]! + t.cur[b]! - (t.ref[a]! + t.cur[a]!) || (t.keys[a]! < t.keys[b]! ? -1 : 1));
  const top = order.slice(0, MAX_BARS);
  const rest = order.slice(MAX_BARS);
  const labels = top.map((i) => t.keys[i]!);
  const reference = top.map((i) => t.ref[i]! / t.nRef);
  const current = top.map((i) => t.cur[i]! / t.nCur);
  if (rest.length) {
    labels.push('(other)');
    reference.push(rest.reduce((s, i) => s + t.ref[i]!, 0) / t.nRef);
    current.push(rest.reduce((s, i) => s + t.cur[i]!, 0) / t.nCur);
  }
  return { kind: 'bars', labels, reference, current };
}
