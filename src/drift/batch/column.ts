/**
 * One column, end to end: prepare both samples (missing counted), choose the
 * method, run it (and any additional methods on the same sorted arrays),
 * decide drift, draw the picture. Pure and synchronous; used in-thread and by
 * the worker threads.
 */
import type { AdditionalColumnResult, ColumnDriftResult, ColumnType, ColumnValues } from '../types';
import {
  NotNumericError,
  isMissing,
  prepareCategorical,
  prepareNumerical,
  tableFromCategorical,
  type PreparedCategorical,
  type PreparedNumerical,
} from './prepare';
import { METHODS, autoMethod, isDrift, runMethod, type ColumnPair, type MethodName } from './methods';
import { categoricalPicture, numericalPicture } from './picture';

export interface ColumnTask {
  name: string;
  type: ColumnType;
  ref: ColumnValues;
  cur: ColumnValues;
  /** 'auto' or a registered method */
  method: MethodName | 'auto';
  /** overrides the method's default threshold */
  threshold?: number;
  /** further methods run on the same prepared data */
  additional?: MethodName[];
  /** already sorted non-missing values (from the cache); `ref`/`cur` are then not read */
  refPrepared?: PreparedNumerical;
  curPrepared?: PreparedNumerical;
}

function decide(
  method: MethodName,
  pair: ColumnPair | null,
  threshold: number | undefined,
  prepReason: string | undefined,
): AdditionalColumnResult & { note?: string } {
  const spec = METHODS[method];
  const thr = threshold ?? spec.defaultThreshold;
  if (!pair || prepReason) {
    return { method, statistic: null, p_value: null, score: spec.score, threshold: thr, drift: false, testable: false, reason: prepReason };
  }
  const r = runMethod(method, pair);
  if (r.reason) {
    return { method, statistic: null, p_value: null, score: spec.score, threshold: thr, drift: false, testable: false, reason: r.reason };
  }
  const value = spec.score === 'p_value' ? r.p_value! : r.statistic!;
  return {
    method,
    statistic: r.statistic,
    p_value: r.p_value,
    score: spec.score,
    threshold: thr,
    drift: isDrift(spec, value, thr),
    testable: true,
    ...(r.note ? { note: r.note } : {}),
  };
}

export function analyzeColumn(task: ColumnTask): ColumnDriftResult {
  return analyzeColumnWithData(task).result;
}

/** analyzeColumn, also handing back the sorted arrays of a numerical column (for the cache). */
export function analyzeColumnWithData(task: ColumnTask): { result: ColumnDriftResult; prepared?: { ref: PreparedNumerical; cur: PreparedNumerical } } {
  let prepared: { ref: PreparedNumerical; cur: PreparedNumerical } | undefined;
  let pair: ColumnPair | null = null;
  let missing: { reference: number; current: number };
  let reason: string | undefined;
  let unseen: string[] | undefined;
  const needsCodes = [task.method, ...(task.additional ?? [])].some((m) => m !== 'auto' && METHODS[m].needsPooledCodes);
  if (task.type === 'numerical') {
    try {
      const r = task.refPrepared ?? prepareNumerical(task.ref);
      const c = task.curPrepared ?? prepareNumerical(task.cur);
      prepared = { ref: r, cur: c };
      missing = { reference: r.missing, current: c.missing };
      pair = { type: 'numerical', ref: r.sorted, cur: c.sorted };
    } catch (e) {
      if (!(e instanceof NotNumericError)) throw e;
      missing = { reference: countNull(task.ref), current: countNull(task.cur) };
      reason = `numerical column "${task.name}" has ${e.message}`;
    }
  } else {
    const r: PreparedCategorical = prepareCategorical(task.ref);
    const c: PreparedCategorical = prepareCategorical(task.cur);
    missing = { reference: r.missing, current: c.missing };
    const table = tableFromCategorical(r, c);
    unseen = [...c.counts.keys()].filter((k) => !r.counts.has(k)).sort();
    pair = { type: 'categorical', table, ...(needsCodes ? { pooledCodes: pooledCodes(task.ref, task.cur, table.keys) } : {}) };
  }
  if (pair && !reason) {
    const nRef = pair.type === 'numerical' ? pair.ref.length : pair.table.nRef;
    const nCur = pair.type === 'numerical' ? pair.cur.length : pair.table.nCur;
    if (nRef === 0 || nCur === 0) {
      const which = nRef === 0 && nCur === 0 ? 'both samples are' : nRef === 0 ? 'the reference sample is' : 'the current sample is';
      reason = `${which} empty after removing ${missing.reference + missing.current} missing values`;
    }
  }
  const method = task.method === 'auto' ? (pair && !reason ? autoMethod(pair) : task.type === 'numerical' ? 'ks' : 'chisquare') : task.method;
  const main = decide(method, pair, task.threshold, reason);
  const result: ColumnDriftResult = {
    name: task.name,
    type: task.type,
    method,
    statistic: main.statistic,
    p_value: main.p_value,
    score: main.score,
    threshold: main.threshold,
    drift: main.drift,
    missing,
    testable: main.testable,
    ...(main.reason ? { reason: main.reason } : {}),
    ...(main.note ? { note: main.note } : {}),
    ...(unseen && unseen.length ? { unseen_categories: unseen } : {}),
  };
  if (task.additional?.length) {
    // the threshold override applies to the main method only
    result.additional = task.additional.map((m) => {
      const { note: _note, ...rest } = decide(m, pair, undefined, reason);
      return rest;
    });
  }
  if (pair && !reason) {
    const pic = pair.type === 'numerical' ? numericalPicture(pair.ref, pair.cur) : categoricalPicture(pair.table);
    if (pic) result.picture = pic;
  }
  return prepared ? { result, prepared } : { result };
}

function countNull(v: ArrayLike<unknown>): number {
  let k = 0;
  for (let i = 0; i < v.length; i++) if (isMissing(v[i])) k++;
  return k;
}

function pooledCodes(ref: ArrayLike<unknown>, cur: ArrayLike<unknown>, keys: string[]): Int32Array {
  const index = new Map(keys.map((k, i) => [k, i]));
  const out: number[] = [];
  for (const arr of [ref, cur]) {
    for (let i = 0; i < arr.length; i++) {
      const v = arr[i];
      if (isMissing(v)) continue;
      out.push(index.get(typeof v === 'string' ? v : String(v))!);
    }
  }
  return Int32Array.from(out);
}
