/**
 * The batch drift engine: per-column tests between a reference and a current
 * sample, the dataset decision, and a multivariate MMD test.
 *
 *   const report = await computeDrift(reference, current, { method: 'auto' });
 *
 * Methods and their numbers follow Evidently's stattests (and Alibi Detect's
 * for `chisquare_alibi`, `ks_asymp` and the corrections); see
 * src/drift/batch/methods.ts for the registry.
 */
import { availableParallelism } from 'node:os';
import type { ColumnDriftResult, ColumnSample, ColumnType, ColumnValues, Correction, DriftOptions, DriftReport, MultivariateResult, Sample } from './types';
import { analyzeColumn, analyzeColumnWithData, type ColumnTask } from './batch/column';
import { getSorted, putSorted } from './batch/cache';
import type { PreparedNumerical } from './batch/prepare';
import { assertMethod, checkMethod, VALID_METHOD_NAMES } from './batch/methods';
import { bonferroni, fdr } from './batch/corrections';
import { mmdTest } from './batch/mmd';
import { shareTasks } from './batch/pool';

export { VALID_METHOD_NAMES, assertMethod };

/** Numerical values (reference + current, all columns) above which worker threads are used. */
export const PARALLEL_MIN_VALUES = 400_000;

/**
 * Test one column. `reference`/`current` are column samples, or bare values
 * (a Float64Array is numerical, an array of strings/nulls categorical).
 * `method` is a registered name or 'auto'; `threshold` overrides the
 * method's default.
 */
export function testColumn(
  reference: ColumnSample | ColumnValues,
  current: ColumnSample | ColumnValues,
  method = 'auto',
  threshold?: number,
): ColumnDriftResult {
  assertMethod(method);
  const ref = asColumn(reference, 'value');
  const cur = asColumn(current, ref.name, ref.type);
  return analyzeColumn({
    name: ref.name,
    type: ref.type,
    ref: ref.values,
    cur: cur.values,
    method,
    ...(threshold !== undefined ? { threshold } : {}),
  });
}

function asColumn(c: ColumnSample | ColumnValues, name: string, type?: ColumnType): ColumnSample {
  if (c instanceof Float64Array || Array.isArray(c)) {
    return { name, type: type ?? (c instanceof Float64Array ? 'numerical' : 'categorical'), values: c };
  }
  return c;
}

function planTasks(reference: Sample, current: Sample, options: DriftOptions): ColumnTask[] {
  const method = options.method === undefined ? 'auto' : checkMethod(options.method);
  const perColumnMethod = new Map(Object.entries(options.perColumnMethod ?? {}).map(([name, m]) => [name, checkMethod(m)]));
  const additional = (options.additionalMethods ?? []).map((m) => {
    const checked = checkMethod(m);
    if (checked === 'auto') throw new Error(`additionalMethods: "auto" is not a method; name the methods to run`);
    return checked;
  });
  const refByName = new Map(reference.columns.map((c) => [c.name, c]));
  const curByName = new Map(current.columns.map((c) => [c.name, c]));
  const names = options.columns ?? reference.columns.map((c) => c.name);
  for (const name of names) {
    if (!refByName.has(name)) throw new Error(`Column "${name}" is not in the reference sample`);
    if (!curByName.has(name)) throw new Error(`Column "${name}" is not in the current sample`);
  }
  for (const name of perColumnMethod.keys()) {
    if (!refByName.has(name)) throw new Error(`perColumnMethod names column "${name}", which is not in the reference sample`);
  }
  return names.map((name) => {
    const r = refByName.get(name)!;
    const c = curByName.get(name)!;
    return {
      name,
      type: r.type,
      ref: r.values,
      cur: c.values,
      method: perColumnMethod.get(name) ?? method,
      ...(options.threshold !== undefined ? { threshold: options.threshold } : {}),
      ...(additional.length ? { additional } : {}),
    };
  });
}

/** The MMD test over the numerical columns of the tasks. */
function multivariate(tasks: ColumnTask[], options: DriftOptions): MultivariateResult | undefined {
  if (options.multivariate === false) return undefined;
  const refCols: Float64Array[] = [];
  const curCols: Float64Array[] = [];
  for (const t of tasks) {
    if (t.type !== 'numerical' || !(t.ref instanceof Float64Array) || !(t.cur instanceof Float64Array)) continue;
    refCols.push(t.ref);
    curCols.push(t.cur);
  }
  const res = mmdTest(refCols, curCols, {
    ...(options.mmdPermutations !== undefined ? { permutations: options.mmdPermutations } : {}),
    ...(options.mmdMaxRows !== undefined ? { maxRows: options.mmdMaxRows } : {}),
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
  });
  return res ?? undefined;
}

/** Rows in a sample (the length of its first column). */
export function sampleRows(sample: Sample): number {
  return sample.columns[0]?.values.length ?? 0;
}

function assemble(reference: Sample, current: Sample, options: DriftOptions, columns: ColumnDriftResult[], mv: MultivariateResult | undefined): DriftReport {
  const driftShare = options.driftShare ?? 0.5;
  const correction: Correction = options.correction ?? 'none';
  const testable = columns.filter((c) => c.testable);
  const drifted = testable.filter((c) => c.drift).length;
  const share = testable.length ? drifted / testable.length : 0;
  let drift = testable.length > 0 && share >= driftShare;
  if (correction !== 'none') {
    const ps = testable.filter((c) => c.score === 'p_value' && c.p_value !== null).map((c) => c.p_value!);
    if (ps.length) {
      const alpha = options.threshold ?? 0.05;
      drift = correction === 'bonferroni' ? bonferroni(ps, alpha) : fdr(ps, alpha);
    }
  }
  return {
    generated_at: new Date().toISOString(),
    reference_rows: sampleRows(reference),
    current_rows: sampleRows(current),
    drift_share: driftShare,
    correction,
    number_of_columns: columns.length,
    number_of_drifted_columns: drifted,
    share,
    drift,
    columns,
    ...(mv ? { multivariate: mv } : {}),
  };
}

/** Attach cached sorted arrays to a numerical task (content-checked). */
function withCache(t: ColumnTask): ColumnTask {
  if (t.type !== 'numerical') return t;
  const r = getSorted(t.ref);
  const c = getSorted(t.cur);
  return { ...t, ...(r ? { refPrepared: r } : {}), ...(c ? { curPrepared: c } : {}) };
}

function remember(t: ColumnTask, prepared: { ref: PreparedNumerical; cur: PreparedNumerical } | undefined): void {
  if (!prepared) return;
  if (!t.refPrepared) putSorted(t.ref, prepared.ref);
  if (!t.curPrepared) putSorted(t.cur, prepared.cur);
}

/** One task in this thread; `cached`: the task already went through withCache, and its sorted arrays are remembered. */
function runHere(t: ColumnTask, cached: boolean): ColumnDriftResult {
  const { result, prepared } = analyzeColumnWithData(t);
  if (cached) remember(t, prepared);
  return result;
}

function runOne(task: ColumnTask, options: DriftOptions): ColumnDriftResult {
  return options.cache === false ? runHere(task, false) : runHere(withCache(task), true);
}

/** Synchronous, single-thread version of computeDrift. */
export function computeDriftSync(reference: Sample, current: Sample, options: DriftOptions = {}): DriftReport {
  const tasks = planTasks(reference, current, options);
  const columns = tasks.map((t) => runOne(t, options));
  return assemble(reference, current, options, columns, multivariate(tasks, options));
}

/**
 * Compare `current` with `reference`. On large data, numerical columns are
 * shared between the calling thread and `options.workers - 1` worker threads
 * (falling back to in-thread computation when threads cannot start): workers
 * start on them at once while this thread computes the categorical columns and
 * the MMD test, then takes numerical columns from the same queue.
 */
export async function computeDrift(reference: Sample, current: Sample, options: DriftOptions = {}): Promise<DriftReport> {
  const tasks = planTasks(reference, current, options);
  const cache = options.cache !== false;
  const numericValues = tasks.filter((t) => t.type === 'numerical').reduce((s, t) => s + t.ref.length + t.cur.length, 0);
  const threads = Math.max(1, Math.floor(options.workers ?? availableParallelism()));
  const parallelIdx = tasks.map((t, i) => (t.type === 'numerical' && t.ref instanceof Float64Array ? i : -1)).filter((i) => i >= 0);
  const useWorkers = threads > 1 && numericValues >= PARALLEL_MIN_VALUES && parallelIdx.length > 1;
  if (!useWorkers) return computeDriftSync(reference, current, options);

  const columns: (ColumnDriftResult | null)[] = tasks.map(() => null);
  const shared = parallelIdx.map((i) => (cache ? withCache(tasks[i]!) : tasks[i]!));
  const run = shareTasks(shared, threads - 1, {
    keepPrepared: cache,
    onPrepared: (k, prepared) => remember(shared[k]!, prepared),
  });
  // this thread's own share first (workers are on the numerical columns meanwhile)
  const inShared = new Set(parallelIdx);
  tasks.forEach((t, i) => {
    if (!inShared.has(i)) columns[i] = runOne(t, options);
  });
  const mv = multivariate(tasks, options);
  const results = await run.finish((t) => runHere(t, cache));
  results.forEach((r, k) => {
    columns[parallelIdx[k]!] = r;
  });
  // anything a worker could not do is computed here
  tasks.forEach((t, i) => {
    if (columns[i] === null) columns[i] = runOne(t, options);
  });
  return assemble(reference, current, options, columns as ColumnDriftResult[], mv);
}
