/**
 * Column preparation: count missing values, drop them, sort numerical values
 * once (the sorted arrays are shared by every test that needs order
 * statistics), count categories.
 *
 * Missing means NaN / null / undefined, and ±Infinity too: Evidently replaces
 * infinities with NaN and drops them before testing, so they are counted as
 * missing here (never silently dropped from the count).
 */
import type { ColumnValues } from '../types';
import { forEachDistinct } from './numerical/shared';
import { sortFloat64 } from './sort';

export interface PreparedNumerical {
  kind: 'numerical';
  /** Non-missing values in ascending order. */
  sorted: Float64Array;
  missing: number;
  total: number;
}

export interface PreparedCategorical {
  kind: 'categorical';
  counts: Map<string, number>;
  /** Non-missing count. */
  n: number;
  missing: number;
  total: number;
}

export class NotNumericError extends Error {}

/**
 * Numerical preparation. Accepts a Float64Array (fast path), a number[] or
 * an array of numeric strings; throws NotNumericError when a non-missing
 * value is not a number.
 */
export function prepareNumerical(values: ColumnValues | ArrayLike<unknown>): PreparedNumerical {
  const total = values.length;
  if (values instanceof Float64Array) {
    let k = 0;
    const out = new Float64Array(total);
    for (let i = 0; i < total; i++) {
      const v = values[i]!;
      if (v - v === 0) out[k++] = v; // finite (NaN and ±Inf fail)
    }
    const sorted = k === total ? out : out.slice(0, k);
    sortFloat64(sorted);
    return { kind: 'numerical', sorted, missing: total - k, total };
  }
  const out = new Float64Array(total);
  let k = 0;
  let bad: unknown = undefined;
  for (let i = 0; i < total; i++) {
    const v = (values as ArrayLike<unknown>)[i];
    if (v === null || v === undefined) continue;
    let x: number;
    if (typeof v === 'number') x = v;
    else if (typeof v === 'string') {
      const s = v.trim();
      if (s === '' || s.toLowerCase() === 'nan' || s.toLowerCase() === 'null') continue;
      x = Number(s);
      if (Number.isNaN(x)) {
        bad = v;
        break;
      }
    } else {
      bad = v;
      break;
    }
    if (x - x === 0) out[k++] = x;
  }
  if (bad !== undefined) {
    throw new NotNumericError(`values are not numbers (e.g. ${JSON.stringify(bad)})`);
  }
  const sorted = out.slice(0, k);
  sortFloat64(sorted);
  return { kind: 'numerical', sorted, missing: total - k, total };
}

/** Missing: null, undefined, NaN or ±Infinity. */
export function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'number' && !Number.isFinite(v));
}

/** Categorical preparation: counts per category, null/undefined/NaN are missing. */
export function prepareCategorical(values: ColumnValues | ArrayLike<unknown>): PreparedCategorical {
  const total = values.length;
  // one Map lookup per value: the category's slot in `tally`
  const slot = new Map<string, number>();
  const tally: number[] = [];
  let missing = 0;
  for (let i = 0; i < total; i++) {
    const v = (values as ArrayLike<unknown>)[i];
    if (isMissing(v)) {
      missing++;
      continue;
    }
    const key = typeof v === 'string' ? v : String(v);
    const k = slot.get(key);
    if (k === undefined) {
      slot.set(key, tally.length);
      tally.push(1);
    } else tally[k]!++;
  }
  // in order of first appearance, as before
  const counts = new Map<string, number>();
  let k = 0;
  for (const key of slot.keys()) counts.set(key, tally[k++]!);
  return { kind: 'categorical', counts, n: total - missing, missing, total };
}

/** Number of distinct values of a sorted array. */
export function nunique(sorted: Float64Array): number {
  if (sorted.length === 0) return 0;
  let u = 1;
  for (let i = 1; i < sorted.length; i++) if (sorted[i] !== sorted[i - 1]) u++;
  return u;
}

/** Category table over the union of keys (order: sorted keys). */
export interface CountTable {
  keys: string[];
  /** numeric values of the keys when the column is numerical */
  values?: number[];
  ref: Float64Array;
  cur: Float64Array;
  nRef: number;
  nCur: number;
}

export function tableFromCategorical(ref: PreparedCategorical, cur: PreparedCategorical): CountTable {
  const set = new Set<string>([...ref.counts.keys(), ...cur.counts.keys()]);
  const keys = [...set].sort();
  const r = new Float64Array(keys.length);
  const c = new Float64Array(keys.length);
  keys.forEach((k, i) => {
    r[i] = ref.counts.get(k) ?? 0;
    c[i] = cur.counts.get(k) ?? 0;
  });
  return { keys, ref: r, cur: c, nRef: ref.n, nCur: cur.n };
}

/** Distinct values of two sorted arrays with their counts. */
export function tableFromSorted(a: Float64Array, b: Float64Array): CountTable {
  const values: number[] = [];
  const rc: number[] = [];
  const cc: number[] = [];
  forEachDistinct(a, b, (v, ca, cb) => {
    values.push(v);
    rc.push(ca);
    cc.push(cb);
  });
  return {
    // String(-0) is '0': -0 and 0 are one category
    keys: values.map(String),
    values,
    ref: Float64Array.from(rc),
    cur: Float64Array.from(cc),
    nRef: a.length,
    nCur: b.length,
  };
}
