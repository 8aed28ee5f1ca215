/**
 * Guard metrics of a release: the candidate's error rate and p99 latency,
 * measured once per period (the workflow's analysis interval), each measurement
 * judged against a maximum, the measurements counted the way Argo Rollouts
 * counts an AnalysisRun's. Pure and plain JSON, like the sequential test.
 *
 * Semantics (Argo Rollouts, docs/features/analysis.md "Failure Conditions and
 * Failure Limit", "ConsecutiveSuccessLimit and FailureLimit", "Inconclusive
 * Runs"; the Metric fields in pkg/apis/rollouts/v1alpha1/analysis_types.go;
 * the assessment in analysis/analysis.go), with a guard standing for a metric:
 *
 * - Each measurement is successful, failed, inconclusive or error. A guard has
 *   both conditions (value ≤ max: successful; value > max: failed), so a value
 *   that meets neither (no requests in the period, fewer than `minRequests`, no
 *   latency) is inconclusive, as Argo's NaN is when both conditions are set. A
 *   period that could not be measured (the metrics source failed, a malformed
 *   reading) is an error.
 * - Counters: successful, failed and inconclusive measurements count towards
 *   `count`; an error does not. A successful, failed or inconclusive
 *   measurement resets the consecutive-error run; anything but a success
 *   resets the consecutive-success run.
 * - The guard is failed when failed > failureLimit (default 0: the first
 *   failure fails it; −1 disables the limit), inconclusive when
 *   inconclusive > inconclusiveLimit (default 0), error when
 *   consecutive errors > consecutiveErrorLimit (default 4). The checks run in
 *   that order and a later one that holds overrides an earlier one, as Argo's
 *   do (assessMetricFailureInconclusiveOrError).
 * - Else successful once consecutive successes ≥ consecutiveSuccessLimit, when
 *   that limit is set (> 0; default 0 = off). At least one of failureLimit and
 *   consecutiveSuccessLimit must apply.
 * - Else, when `count` measurements are reached: inconclusive if both limits
 *   apply (the failure limit held, the success run was not reached), failed if
 *   only consecutiveSuccessLimit applies, successful if only failureLimit does.
 * - Else running; but when the analysis ends early ("terminating": the step's
 *   bake time is over, the release is aborted, or another guard already
 *   failed, errored or was inconclusive) a running guard is successful.
 * - A completed guard keeps its phase. The run is running while a guard runs
 *   (and nothing terminates it); then it takes the worst guard phase, in the
 *   order successful < inconclusive < error < failed.
 *
 * The release reads the run's phase as Argo's Rollout does: failed or error →
 * abort and roll back; inconclusive → pause for a person (approve or abort);
 * successful → the step may proceed (the sequential test decides the rest).
 * Each guard keeps its last ten measurements (Argo's default history).
 */

export type MeasurementPhase = 'successful' | 'failed' | 'inconclusive' | 'error';
export type GuardPhase = 'running' | MeasurementPhase;
export type GuardMetric = 'error-rate' | 'p99-latency';

export interface GuardLimits {
  /** Failed measurements tolerated (the guard fails at one more); −1: no limit. Default 0. */
  failureLimit: number;
  /** Inconclusive measurements tolerated. Default 0. */
  inconclusiveLimit: number;
  /** Errors in a row tolerated. Default 4. */
  consecutiveErrorLimit: number;
  /** Successes in a row that make the guard successful; 0: off. Default 0. */
  consecutiveSuccessLimit: number;
  /** Measurements after which the guard completes; null: until the analysis is terminated. Default null. */
  count: number | null;
}

interface GuardSpecBase extends Partial<GuardLimits> {
  /** Shown in messages; default the metric's name. */
  name?: string;
  /** Requests a period needs for its measurement to count as a success or failure (fewer: inconclusive). Default 1. */
  minRequests?: number;
}
export type GuardSpec =
  | (GuardSpecBase & { metric: 'error-rate'; /** Largest error rate (errors / requests) a period may have, 0..1. */ max: number })
  | (GuardSpecBase & { metric: 'p99-latency'; /** Largest p99 latency a period may have, in milliseconds. */ maxMs: number });

/** What one period measured, or why it could not be measured. */
export type PeriodReading = { requests: number; errors: number; p99Ms: number | null } | { error: string };

export interface Measurement {
  phase: MeasurementPhase;
  /** The error rate or the p99 latency in ms; null when there was none. */
  value: number | null;
  requests: number | null;
  message: string;
}

export interface GuardState {
  name: string;
  metric: GuardMetric;
  /** The maximum: an error rate, or milliseconds. */
  max: number;
  minRequests: number;
  limits: GuardLimits;
  count: number;
  successful: number;
  failed: number;
  inconclusive: number;
  error: number;
  consecutiveError: number;
  consecutiveSuccess: number;
  phase: GuardPhase;
  /** Why the phase is what it is ('' while running). */
  message: string;
  /** The latest measurements, oldest first. */
  measurements: Measurement[];
}

export interface GuardRun {
  phase: GuardPhase;
  message: string;
  guards: GuardState[];
}

const HISTORY = 10;
const DEFAULT_LIMITS: GuardLimits = { failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, consecutiveSuccessLimit: 0, count: null };
const SPEC_KEYS = new Set(['metric', 'name', 'minRequests', 'max', 'maxMs', ...Object.keys(DEFAULT_LIMITS)]);

function integerAtLeast(name: string, value: unknown, min: number, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    throw new Error(`${where}: '${name}' must be an integer ≥ ${min}, not ${String(value).slice(0, 40)}`);
  }
  return value;
}

/** A guard from its spec (checked: an error names the guard and the field). */
export function createGuard(spec: GuardSpec): GuardState {
  const metric = (spec as { metric?: unknown }).metric;
  if (metric !== 'error-rate' && metric !== 'p99-latency')
    throw new Error(`guard 'metric' must be 'error-rate' or 'p99-latency', not ${String(metric).slice(0, 40)}`);
  const name = spec.name ?? metric;
  if (typeof name !== 'string' || name.trim() === '') throw new Error(`guard ${metric}: 'name' must be a non-empty string`);
  const where = `guard '${name.slice(0, 40)}'`;
  for (const key of Object.keys(spec)) if (!SPEC_KEYS.has(key)) throw new Error(`${where}: unknown field '${key.slice(0, 40)}'`);
  let max: number;
  if (spec.metric === 'error-rate') {
    max = spec.max;
    if (typeof max !== 'number' || !(max >= 0 && max <= 1))
      throw new Error(`${where}: 'max' must be an error rate from 0 to 1, not ${String(max).slice(0, 40)}`);
  } else {
    max = spec.maxMs;
    if (typeof max !== 'number' || !Number.isFinite(max) || max <= 0)
      throw new Error(`${where}: 'maxMs' must be a number of milliseconds above 0, not ${String(max).slice(0, 40)}`);
  }
  const limits: GuardLimits = {
    failureLimit: integerAtLeast('failureLimit', spec.failureLimit ?? DEFAULT_LIMITS.failureLimit, -1, where),
    inconclusiveLimit: integerAtLeast('inconclusiveLimit', spec.inconclusiveLimit ?? DEFAULT_LIMITS.inconclusiveLimit, 0, where),
    consecutiveErrorLimit: integerAtLeast('consecutiveErrorLimit', spec.consecutiveErrorLimit ?? DEFAULT_LIMITS.consecutiveErrorLimit, 0, where),
    consecutiveSuccessLimit: integerAtLeast('consecutiveSuccessLimit', spec.consecutiveSuccessLimit ?? DEFAULT_LIMITS.consecutiveSuccessLimit, 0, where),
    count: spec.count === undefined || spec.count === null ? null : integerAtLeast('count', spec.count, 1, where),
  };
  if (limits.failureLimit < 0 && limits.consecutiveSuccessLimit === 0) {
    throw new Error(`${where}: with 'failureLimit' -1 (no failure limit), 'consecutiveSuccessLimit' must be above 0: one of the two must apply`);
  }
  return {
    name,
    metric,
    max,
    minRequests: integerAtLeast('minRequests', spec.minRequests ?? 1, 0, where),
    limits,
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    consecutiveSuccess: 0,
    phase: 'running',
    message: '',
    measurements: [],
  };
}

const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Judges one period's reading against the guard's maximum. Never throws: a reading it cannot use is an error measurement. */
export function measure(guard: GuardState, reading: PeriodReading): Measurement {
  if ('error' in reading) return { phase: 'error', value: null, requests: null, message: `not measured: ${String(reading.error).slice(0, 200)}` };
  const { requests, errors, p99Ms } = reading;
  if (!isCount(requests) || !isCount(errors) || errors > requests) {
    return { phase: 'error', value: null, requests: null, message: `unusable reading: requests ${String(requests)}, errors ${String(errors)}` };
  }
  if (p99Ms !== null && (typeof p99Ms !== 'number' || !(p99Ms >= 0) || !Number.isFinite(p99Ms))) {
    return { phase: 'error', value: null, requests, message: `unusable reading: p99 ${String(p99Ms)} ms` };
  }
  if (requests < Math.max(guard.minRequests, 1)) {
    return {
      phase: 'inconclusive',
      value: null,
      requests,
      message: `${requests} requests in the period, fewer than the ${Math.max(guard.minRequests, 1)} a measurement needs`,
    };
  }
  if (guard.metric === 'error-rate') {
    const value = errors / requests;
    const over = value > guard.max;
    return {
      phase: over ? 'failed' : 'successful',
      value,
      requests,
      message: `error rate ${value.toPrecision(3)} (${errors}/${requests}) ${over ? '>' : '≤'} ${guard.max}`,
    };
  }
  if (p99Ms === null) return { phase: 'inconclusive', value: null, requests, message: 'no p99 latency for the period' };
  const over = p99Ms > guard.max;
  return {
    phase: over ? 'failed' : 'successful',
    value: p99Ms,
    requests,
    message: `p99 latency ${p99Ms.toPrecision(3)} ms ${over ? '>' : '≤'} ${guard.max} ms`,
  };
}

/** The phase a guard's counters give it (Argo's assessMetricStatus). */
function assess(guard: GuardState, terminating: boolean): { phase: GuardPhase; message: string } {
  if (guard.phase !== 'running') return { phase: guard.phase, message: guard.message };
  if (guard.measurements.length === 0)
    return terminating ? { phase: 'successful', message: 'analysis ended before a measurement' } : { phase: 'running', message: '' };
  const l = guard.limits;
  let verdict: { phase: GuardPhase; message: string } | null = null;
  if (l.failureLimit >= 0 && guard.failed > l.failureLimit)
    verdict = { phase: 'failed', message: `failed (${guard.failed}) > failureLimit (${l.failureLimit})` };
  if (guard.inconclusive > l.inconclusiveLimit)
    verdict = { phase: 'inconclusive', message: `inconclusive (${guard.inconclusive}) > inconclusiveLimit (${l.inconclusiveLimit})` };
  if (guard.consecutiveError > l.consecutiveErrorLimit) {
    verdict = { phase: 'error', message: `consecutiveErrors (${guard.consecutiveError}) > consecutiveErrorLimit (${l.consecutiveErrorLimit})` };
  }
  if (verdict) return verdict;
  const successApplies = l.consecutiveSuccessLimit > 0;
  if (successApplies && guard.consecutiveSuccess >= l.consecutiveSuccessLimit) {
    return {
      phase: 'successful',
      message: `consecutiveSuccesses (${guard.consecutiveSuccess}) reached consecutiveSuccessLimit (${l.consecutiveSuccessLimit})`,
    };
  }
  if (l.count !== null && guard.count >= l.count) {
    const failureApplies = l.failureLimit >= 0;
    if (failureApplies && successApplies) {
      return {
        phase: 'inconclusive',
        message: `count (${l.count}) reached: consecutiveSuccessLimit (${l.consecutiveSuccessLimit}) not reached, failureLimit (${l.failureLimit}) not exceeded`,
      };
    }
    if (successApplies) return { phase: 'failed', message: `count (${l.count}) reached without consecutiveSuccessLimit (${l.consecutiveSuccessLimit})` };
    return { phase: 'successful', message: `count (${l.count}) reached` };
  }
  return terminating ? { phase: 'successful', message: 'analysis ended, no limit exceeded' } : { phase: 'running', message: '' };
}

/** Adds one measurement and assesses the guard. A completed guard is returned unchanged. */
export function record(guard: GuardState, measurement: Measurement): GuardState {
  if (guard.phase !== 'running') return guard;
  const next: GuardState = { ...guard, measurements: [...guard.measurements, measurement].slice(-HISTORY) };
  switch (measurement.phase) {
    case 'successful':
      next.successful++;
      next.count++;
      next.consecutiveError = 0;
      next.consecutiveSuccess++;
      break;
    case 'failed':
      next.failed++;
      next.count++;
      next.consecutiveError = 0;
      next.consecutiveSuccess = 0;
      break;
    case 'inconclusive':
      next.inconclusive++;
      next.count++;
      next.consecutiveError = 0;
      next.consecutiveSuccess = 0;
      break;
    case 'error':
      next.error++;
      next.consecutiveError++;
      next.consecutiveSuccess = 0;
      break;
  }
  return { ...next, ...assess(next, false) };
}

const WORSE: readonly GuardPhase[] = ['successful', 'inconclusive', 'error', 'failed'];

/**
 * The analysis run over all guards. `terminating`: the analysis ends now (the
 * step's bake time is over, or the release is aborted): running guards are
 * judged on what they measured. A guard that completed failed, error or
 * inconclusive terminates the others too.
 */
export function assessRun(guards: readonly GuardState[], options: { terminating?: boolean } = {}): GuardRun {
  const terminating = options.terminating === true || guards.some((g) => g.phase === 'failed' || g.phase === 'error' || g.phase === 'inconclusive');
  const assessed = guards.map((g) => ({ ...g, ...assess(g, terminating) }));
  if (assessed.length === 0) return { phase: terminating ? 'successful' : 'running', message: terminating ? 'no guards' : '', guards: assessed };
  if (assessed.some((g) => g.phase === 'running')) return { phase: 'running', message: '', guards: assessed };
  let worst = assessed[0]!;
  for (const g of assessed) if (WORSE.indexOf(g.phase) > WORSE.indexOf(worst.phase)) worst = g;
  const message = worst.phase === 'successful' ? `all ${assessed.length} guards successful` : `guard '${worst.name}' ${worst.phase}: ${worst.message}`;
  return { phase: worst.phase, message, guards: assessed };
}

/**
 * The q-quantile of a period from a cumulative histogram (prom-client's
 * buckets: upper bound `le`, count of observations ≤ le, the last +Inf), as
 * PromQL's histogram_quantile computes it: linear interpolation inside the
 * bucket the rank falls in (from 0 for the first bucket); a rank in the +Inf
 * bucket gives the largest finite bound. For a period, pass the differences of
 * the counters between its start and its end. Null when the period is empty.
 */
export function histogramQuantile(q: number, buckets: readonly { le: number; count: number }[]): number | null {
  if (!(q >= 0 && q <= 1)) throw new Error(`histogramQuantile: q must be from 0 to 1, not ${q}`);
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1]!.le !== Number.POSITIVE_INFINITY) {
    throw new Error('histogramQuantile: buckets need at least one finite bound and the +Inf bucket');
  }
  const total = sorted[sorted.length - 1]!.count;
  if (!(total > 0)) return null;
  const rank = q * total;
  let i = sorted.findIndex((b) => b.count >= rank);
  if (i < 0) i = sorted.length - 1;
  if (i === sorted.length - 1) return sorted[sorted.length - 2]!.le;
  const bucket = sorted[i]!;
  if (i === 0 && bucket.le <= 0) return bucket.le;
  const start = i === 0 ? 0 : sorted[i - 1]!.le;
  const below = i === 0 ? 0 : sorted[i - 1]!.count;
  const inBucket = bucket.count - below;
  if (inBucket <= 0) return bucket.le;
  return start + (bucket.le - start) * ((rank - below) / inBucket);
}
