/**
 * Release guards (src/release/guards.ts) count measurements as Argo Rollouts
 * counts an AnalysisRun's. The expectations follow Argo Rollouts' own words:
 *   - docs/features/analysis.md, "Failure Conditions and Failure Limit",
 *     "ConsecutiveSuccessLimit and FailureLimit", "Inconclusive Runs";
 *   - the Metric field comments in pkg/apis/rollouts/v1alpha1/analysis_types.go:
 *     "FailureLimit is the maximum number of times the measurement is allowed to
 *     fail, before the entire metric is considered Failed (default: 0)",
 *     "InconclusiveLimit ... (default: 0)", "ConsecutiveErrorLimit is the
 *     maximum number of times the measurement is allowed to error in succession,
 *     before the metric is considered error (default: 4)";
 *   - analysis/analysis.go, whose messages ("failed (4) > failureLimit (3)") say
 *     that a limit of N tolerates N: the (N+1)th failure fails the metric. (The
 *     docs' "considered as Failed after three failed measurements" for
 *     failureLimit 3 is read by that code.)
 * Quantiles from histograms follow PromQL's histogram_quantile.
 */
import { describe, expect, it } from 'vitest';
import {
  assessRun,
  createGuard,
  histogramQuantile,
  measure,
  record,
  type GuardSpec,
  type GuardState,
  type MeasurementPhase,
  type PeriodReading,
} from '../../src/release/guards';

/** Records measurements of the given phases (through `measure`, from readings that produce them). */
function feed(guard: GuardState, phases: MeasurementPhase[]): GuardState {
  const readings: Record<MeasurementPhase, PeriodReading> =
    guard.metric === 'error-rate'
      ? {
          successful: { requests: 1000, errors: 1, p99Ms: 10 },
          failed: { requests: 1000, errors: 900, p99Ms: 10 },
          inconclusive: { requests: 0, errors: 0, p99Ms: null },
          error: { error: 'prometheus unreachable' },
        }
      : {
          successful: { requests: 1000, errors: 0, p99Ms: 50 },
          failed: { requests: 1000, errors: 0, p99Ms: 900 },
          inconclusive: { requests: 1000, errors: 0, p99Ms: null },
          error: { error: 'timeout' },
        };
  for (const phase of phases) {
    const m = measure(guard, readings[phase]);
    expect(m.phase).toBe(phase);
    guard = record(guard, m);
  }
  return guard;
}

const errorRate = (limits: Partial<GuardSpec> = {}): GuardState => createGuard({ metric: 'error-rate', max: 0.01, ...limits } as GuardSpec);
const latency = (limits: Partial<GuardSpec> = {}): GuardState => createGuard({ metric: 'p99-latency', maxMs: 200, ...limits } as GuardSpec);

describe('one measurement: successful, failed, inconclusive or error', () => {
  it('an error rate above the maximum fails, at or below it succeeds', () => {
    const g = createGuard({ metric: 'error-rate', max: 0.02 });
    expect(measure(g, { requests: 100, errors: 3, p99Ms: null })).toEqual({
      phase: 'failed',
      value: 0.03,
      requests: 100,
      message: 'error rate 0.0300 (3/100) > 0.02',
    });
    expect(measure(g, { requests: 100, errors: 2, p99Ms: null })).toMatchObject({ phase: 'successful', value: 0.02 });
  });

  it('a p99 latency above the maximum fails, at or below it succeeds', () => {
    const g = latency();
    expect(measure(g, { requests: 10, errors: 0, p99Ms: 250 })).toMatchObject({ phase: 'failed', value: 250, message: 'p99 latency 250 ms > 200 ms' });
    expect(measure(g, { requests: 10, errors: 0, p99Ms: 200 })).toMatchObject({ phase: 'successful' });
  });

  it('meeting neither condition is inconclusive (no traffic, too little traffic, no latency), as NaN is when both conditions are set', () => {
    expect(measure(errorRate(), { requests: 0, errors: 0, p99Ms: null })).toMatchObject({ phase: 'inconclusive', value: null });
    expect(measure(errorRate({ minRequests: 50 }), { requests: 20, errors: 20, p99Ms: null })).toMatchObject({
      phase: 'inconclusive',
      message: '20 requests in the period, fewer than the 50 a measurement needs',
    });
    expect(measure(latency(), { requests: 5, errors: 0, p99Ms: null })).toMatchObject({ phase: 'inconclusive' });
  });

  it('a period that could not be measured, or a reading that makes no sense, is an error', () => {
    expect(measure(errorRate(), { error: 'prometheus unreachable' })).toMatchObject({ phase: 'error', message: 'not measured: prometheus unreachable' });
    expect(measure(errorRate(), { requests: 5, errors: 6, p99Ms: null })).toMatchObject({ phase: 'error' });
    expect(measure(errorRate(), { requests: -1, errors: 0, p99Ms: null })).toMatchObject({ phase: 'error' });
    expect(measure(latency(), { requests: 5, errors: 0, p99Ms: Number.NaN })).toMatchObject({ phase: 'error' });
  });
});

describe('failureLimit, inconclusiveLimit, consecutiveErrorLimit (Argo Rollouts semantics)', () => {
  it('failureLimit defaults to 0: the first failed measurement fails the guard', () => {
    const g = feed(errorRate(), ['successful', 'failed']);
    expect(g).toMatchObject({ phase: 'failed', failed: 1, count: 2, message: 'failed (1) > failureLimit (0)' });
  });

  it('failureLimit 3 tolerates three failures, not necessarily in a row; the fourth fails the guard', () => {
    let g = feed(errorRate({ failureLimit: 3 }), ['failed', 'successful', 'failed', 'successful', 'failed']);
    expect(g).toMatchObject({ phase: 'running', failed: 3 });
    g = feed(g, ['successful', 'failed']);
    expect(g).toMatchObject({ phase: 'failed', message: 'failed (4) > failureLimit (3)' });
  });

  it('failureLimit -1 turns the failure limit off (then consecutiveSuccessLimit must apply)', () => {
    const g = feed(errorRate({ failureLimit: -1, consecutiveSuccessLimit: 2 }), ['failed', 'failed', 'failed', 'successful']);
    expect(g.phase).toBe('running');
    expect(feed(g, ['successful']).phase).toBe('successful');
    expect(() => errorRate({ failureLimit: -1 })).toThrow(/'consecutiveSuccessLimit' must be above 0: one of the two must apply/);
  });

  it('inconclusiveLimit defaults to 0: one inconclusive measurement makes the guard inconclusive; a limit of 2 tolerates two', () => {
    expect(feed(latency(), ['inconclusive'])).toMatchObject({ phase: 'inconclusive', message: 'inconclusive (1) > inconclusiveLimit (0)' });
    let g = feed(latency({ inconclusiveLimit: 2 }), ['inconclusive', 'successful', 'inconclusive']);
    expect(g.phase).toBe('running');
    g = feed(g, ['inconclusive']);
    expect(g).toMatchObject({ phase: 'inconclusive', message: 'inconclusive (3) > inconclusiveLimit (2)' });
  });

  it('consecutiveErrorLimit defaults to 4: four errors in a row are tolerated, the fifth errs the guard; any other measurement resets the run', () => {
    let g = feed(errorRate(), ['error', 'error', 'error', 'error', 'successful', 'error', 'error', 'error', 'error']);
    expect(g).toMatchObject({ phase: 'running', error: 8, consecutiveError: 4, count: 1 }); // errors do not count as measurements
    g = feed(g, ['error']);
    expect(g).toMatchObject({ phase: 'error', message: 'consecutiveErrors (5) > consecutiveErrorLimit (4)' });
    expect(feed(errorRate({ consecutiveErrorLimit: 0 }), ['error']).phase).toBe('error');
  });

  it('a completed guard keeps its phase and its counters', () => {
    const failed = feed(errorRate(), ['failed']);
    const m = measure(failed, { requests: 1000, errors: 0, p99Ms: 1 });
    expect(record(failed, m)).toBe(failed);
  });
});

describe('count and consecutiveSuccessLimit', () => {
  it('only failureLimit applies: reaching count without exceeding it is success', () => {
    expect(feed(errorRate({ failureLimit: 1, count: 3 }), ['successful', 'failed'])).toMatchObject({ phase: 'running' });
    expect(feed(errorRate({ failureLimit: 1, count: 3 }), ['successful', 'failed', 'successful'])).toMatchObject({
      phase: 'successful',
      message: 'count (3) reached',
    });
  });

  it('only consecutiveSuccessLimit applies: N successes in a row succeed; reaching count without them fails', () => {
    expect(feed(errorRate({ failureLimit: -1, consecutiveSuccessLimit: 3 }), ['failed', 'successful', 'successful', 'successful']).phase).toBe('successful');
    expect(feed(errorRate({ failureLimit: -1, consecutiveSuccessLimit: 3, count: 4 }), ['successful', 'successful', 'failed', 'successful'])).toMatchObject({
      phase: 'failed',
      message: 'count (4) reached without consecutiveSuccessLimit (3)',
    });
  });

  it('both apply: at most 3 failures before 4 successes in a row; count reached with neither is inconclusive, a violated failureLimit fails first', () => {
    const spec = { failureLimit: 3, consecutiveSuccessLimit: 4, count: 6 };
    expect(feed(errorRate(spec), ['failed', 'successful', 'successful', 'successful', 'successful']).phase).toBe('successful');
    expect(feed(errorRate(spec), ['successful', 'failed', 'successful', 'successful', 'failed', 'successful'])).toMatchObject({
      phase: 'inconclusive',
      message: 'count (6) reached: consecutiveSuccessLimit (4) not reached, failureLimit (3) not exceeded',
    });
    expect(feed(errorRate(spec), ['failed', 'failed', 'failed', 'failed']).phase).toBe('failed');
  });
});

describe('the run over all guards', () => {
  it('is running while a guard runs, then takes the worst phase: successful < inconclusive < error < failed', () => {
    const ok = feed(errorRate({ count: 2 }), ['successful', 'successful']);
    const running = feed(latency(), ['successful']);
    expect(assessRun([ok, running]).phase).toBe('running');
    expect(assessRun([ok, feed(latency({ count: 1 }), ['successful'])])).toMatchObject({ phase: 'successful', message: 'all 2 guards successful' });
    const inconclusive = feed(latency(), ['inconclusive']);
    const errored = feed(errorRate({ consecutiveErrorLimit: 0 }), ['error']);
    const failed = feed(errorRate({ name: 'canary errors' }), ['failed']);
    expect(assessRun([ok, inconclusive]).phase).toBe('inconclusive');
    expect(assessRun([inconclusive, errored]).phase).toBe('error');
    expect(assessRun([errored, failed, inconclusive])).toMatchObject({
      phase: 'failed',
      message: "guard 'canary errors' failed: failed (1) > failureLimit (0)",
    });
  });

  it('a failed guard terminates the run: the others are judged on what they measured', () => {
    const failed = feed(errorRate(), ['failed']);
    const running = feed(latency({ failureLimit: 2 }), ['failed', 'successful']);
    const run = assessRun([running, failed]);
    expect(run.phase).toBe('failed');
    expect(run.guards.map((g) => g.phase)).toEqual(['successful', 'failed']);
  });

  it('terminated at the end of a step: running guards that exceeded no limit are successful, even with no measurement', () => {
    const guards = [feed(errorRate({ failureLimit: 2 }), ['failed', 'successful']), latency()];
    expect(assessRun(guards).phase).toBe('running');
    const run = assessRun(guards, { terminating: true });
    expect(run.phase).toBe('successful');
    expect(run.guards[1]!.message).toBe('analysis ended before a measurement');
    expect(assessRun([], { terminating: true }).phase).toBe('successful');
    expect(assessRun([]).phase).toBe('running');
  });

  it('the state is plain JSON and keeps the last ten measurements', () => {
    const g = feed(errorRate({ failureLimit: 100 }), Array<MeasurementPhase>(25).fill('successful'));
    expect(g.measurements).toHaveLength(10);
    expect(g.count).toBe(25);
    expect(JSON.parse(JSON.stringify(g))).toEqual(g);
  });
});

describe('guard specs', () => {
  it('refuses a bad spec naming the guard and the field', () => {
    expect(() => createGuard({ metric: 'cpu' } as never)).toThrow(/guard 'metric' must be 'error-rate' or 'p99-latency', not cpu/);
    expect(() => createGuard({ metric: 'error-rate', max: 2 })).toThrow(/guard 'error-rate': 'max' must be an error rate from 0 to 1, not 2/);
    expect(() => createGuard({ metric: 'p99-latency', maxMs: 0, name: 'p99' })).toThrow(/guard 'p99': 'maxMs' must be a number of milliseconds above 0/);
    expect(() => errorRate({ failureLimit: -2 })).toThrow(/'failureLimit' must be an integer ≥ -1, not -2/);
    expect(() => errorRate({ inconclusiveLimit: 0.5 })).toThrow(/'inconclusiveLimit' must be an integer ≥ 0/);
    expect(() => errorRate({ consecutiveErrorLimit: -1 })).toThrow(/'consecutiveErrorLimit'/);
    expect(() => errorRate({ count: 0 })).toThrow(/'count' must be an integer ≥ 1/);
    expect(() => errorRate({ minRequests: -1 })).toThrow(/'minRequests'/);
    expect(() => errorRate({ failurLimit: 1 } as never)).toThrow(/unknown field 'failurLimit'/);
  });

  it('defaults as Argo: failureLimit 0, inconclusiveLimit 0, consecutiveErrorLimit 4, consecutiveSuccessLimit 0, no count', () => {
    expect(errorRate().limits).toEqual({ failureLimit: 0, inconclusiveLimit: 0, consecutiveErrorLimit: 4, consecutiveSuccessLimit: 0, count: null });
  });
});

describe('p99 from a histogram, as PromQL histogram_quantile', () => {
  // prom-client buckets (seconds) of one period: cumulative counts, the last +Inf.
  const buckets = [
    { le: 0.005, count: 10 },
    { le: 0.01, count: 50 },
    { le: 0.025, count: 90 },
    { le: 0.05, count: 99 },
    { le: Number.POSITIVE_INFINITY, count: 100 },
  ];

  it('interpolates linearly inside the bucket the rank falls in (hand-computed)', () => {
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo(0.01, 12); // rank 50: end of (0.005, 0.01]
    expect(histogramQuantile(0.95, buckets)).toBeCloseTo(0.025 + 0.025 * (5 / 9), 12); // rank 95: 5 of the 9 in (0.025, 0.05]
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.05, 12);
    expect(histogramQuantile(0.05, buckets)).toBeCloseTo(0.0025, 12); // first bucket starts at 0
  });

  it('a rank in the +Inf bucket gives the largest finite bound; an empty period gives null; bad input is refused', () => {
    expect(histogramQuantile(0.999, buckets)).toBe(0.05);
    expect(
      histogramQuantile(
        0.99,
        buckets.map((b) => ({ ...b, count: 0 })),
      ),
    ).toBeNull();
    expect(() => histogramQuantile(1.5, buckets)).toThrow(/q must be from 0 to 1/);
    expect(() => histogramQuantile(0.5, buckets.slice(0, 4))).toThrow(/\+Inf bucket/);
  });
});
