/**
 * The release's sequential test (src/release/sequential.ts): false alarms under
 * peeking after every batch, samples to a decision against a fixed-horizon
 * z-test, coverage of its always-valid interval, the closed forms against
 * numerical integration, and bad input. Every simulation has a fixed seed
 * (numpy's MT19937, src/drift/batch/rng.ts), so the figures printed are the
 * same on every run.
 */
import { describe, expect, it } from 'vitest';
import { NumpyRandomState } from '../../src/drift/batch/rng';
import { normCdf } from '../../src/drift/batch/special';
import {
  decide,
  emptySequentialState,
  lossOf,
  observe,
  resolveSequentialOptions,
  type SequentialOptions,
  type SequentialState,
} from '../../src/release/sequential';

const ALPHA = 0.05;
const MARGIN = 0.02;

/** scipy.stats.norm.ppf(q) for the quantiles the fixed-horizon formula needs. */
const SCIPY_PPF = { 0.975: 1.959963984540054, 0.95: 1.6448536269514722, 0.8: 0.8416212335729143 };

/**
 * Labels per arm a fixed-horizon two-sample z-test needs for power 0.8 at level
 * α: n = (z_{1−α/2} + z_{0.8})² (σ_c² + σ_b²) / Δ² (two-sided, the standard
 * formula), or with z_{1−α} (one-sided, the error per direction the sequential
 * test controls).
 */
function fixedHorizonN(varianceSum: number, effect: number, sided: 1 | 2): number {
  const z = (sided === 2 ? SCIPY_PPF[0.975] : SCIPY_PPF[0.95]) + SCIPY_PPF[0.8];
  return Math.ceil((z * z * varianceSum) / (effect * effect));
}

type Draw = (rng: NumpyRandomState) => number;
const bernoulli =
  (p: number): Draw =>
  (rng) =>
    rng.random() < p ? 1 : 0;
/** |e| for e ~ N(0, sd²), Box-Muller. */
const absNormal =
  (sd: number): Draw =>
  (rng) =>
    Math.abs(sd * Math.sqrt(-2 * Math.log(1 - rng.random())) * Math.cos(2 * Math.PI * rng.random()));

interface StreamSpec {
  candidate: Draw;
  champion: Draw;
  /** Candidate labels per look; the champion gets `ratio` times as many. */
  batch: number;
  ratio?: number;
  options: SequentialOptions;
}

/** Runs one stream until the test stops, calling `look` after every batch. */
function runStream(rng: NumpyRandomState, spec: StreamSpec, look?: (state: SequentialState) => void): SequentialState {
  let state = emptySequentialState(spec.options);
  const championBatch = spec.batch * (spec.ratio ?? 1);
  while (state.decision === 'continue') {
    const candidate = Array.from({ length: spec.batch }, () => spec.candidate(rng));
    const champion = Array.from({ length: championBatch }, () => spec.champion(rng));
    state = observe(state, { candidate, champion });
    look?.(state);
  }
  return state;
}

interface Tally {
  streams: number;
  decisions: Record<string, number>;
  /** Candidate labels at each decision (inconclusive streams left out). */
  labels: number[];
  /** Streams whose two-sided interval, and each one-sided bound, covered the true difference at every look. */
  covered: { interval: number; lower: number; upper: number };
}

function simulate(seed: number, streams: number, spec: StreamSpec, trueDifference: number): Tally {
  const rng = new NumpyRandomState(seed);
  const tally: Tally = { streams, decisions: {}, labels: [], covered: { interval: 0, lower: 0, upper: 0 } };
  for (let s = 0; s < streams; s++) {
    const ok = { interval: true, lower: true, upper: true };
    const state = runStream(rng, spec, (st) => {
      const r = decide(st);
      if (r.interval && (r.interval.lower > trueDifference || r.interval.upper < trueDifference)) ok.interval = false;
      if (r.bounds && r.bounds.lower > trueDifference) ok.lower = false;
      if (r.bounds && r.bounds.upper < trueDifference) ok.upper = false;
    });
    tally.decisions[state.decision] = (tally.decisions[state.decision] ?? 0) + 1;
    if (state.decision !== 'inconclusive') tally.labels.push(state.candidate.n);
    for (const k of ['interval', 'lower', 'upper'] as const) if (ok[k]) tally.covered[k]++;
  }
  return tally;
}

const rate = (t: Tally, decision: string) => (t.decisions[decision] ?? 0) / t.streams;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function memo<T>(f: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= f());
}

describe('the sequential test under the null: peeking after every batch of 20 labels', () => {
  // A/A: accuracy 0.80 in both arms (error rate 0.20), margin 0.02, up to 5,000 labels per arm.
  const aa = memo(() =>
    simulate(2017, 1000, { candidate: bernoulli(0.2), champion: bernoulli(0.2), batch: 20, options: { alpha: ALPHA, margin: MARGIN, maxSamples: 5000 } }, 0),
  );
  // The candidate worse by exactly the margin: accuracy 0.78 against 0.80.
  const atMargin = memo(() =>
    simulate(
      2022,
      1000,
      { candidate: bernoulli(0.2 + MARGIN), champion: bernoulli(0.2), batch: 20, options: { alpha: ALPHA, margin: MARGIN, maxSamples: 5000 } },
      MARGIN,
    ),
  );
  // A canary-like split: one candidate label for three champion labels.
  const unbalanced = memo(() =>
    simulate(
      1938,
      1000,
      { candidate: bernoulli(0.2), champion: bernoulli(0.2), batch: 10, ratio: 3, options: { alpha: ALPHA, margin: MARGIN, maxSamples: 3000 } },
      0,
    ),
  );

  it(`1,000 A/A streams: a false 'inferior' (a rollback of an equal candidate) in at most α = ${ALPHA} of them`, () => {
    const t = aa();
    console.log(`A/A, balanced: false 'inferior' ${rate(t, 'inferior')}, decisions ${JSON.stringify(t.decisions)}`);
    expect(rate(t, 'inferior')).toBeLessThanOrEqual(ALPHA);
    // The equal candidate is within the margin: 'non-inferior' is the right answer, and it comes often.
    expect(rate(t, 'non-inferior')).toBeGreaterThan(0.3);
  });

  it(`1,000 streams with the candidate worse by exactly the margin: a false 'non-inferior' (a wrong promotion) in at most α = ${ALPHA}`, () => {
    const t = atMargin();
    console.log(`difference = margin: false 'non-inferior' ${rate(t, 'non-inferior')}, decisions ${JSON.stringify(t.decisions)}`);
    expect(rate(t, 'non-inferior')).toBeLessThanOrEqual(ALPHA);
  });

  it(`1,000 A/A streams split 1:3 (a canary): a false 'inferior' in at most α = ${ALPHA}`, () => {
    const t = unbalanced();
    console.log(`A/A, 1:3 split: false 'inferior' ${rate(t, 'inferior')}, decisions ${JSON.stringify(t.decisions)}`);
    expect(rate(t, 'inferior')).toBeLessThanOrEqual(ALPHA);
  });

  it(`the always-valid interval covers the true difference at every look in at least 1 − α of the streams, and so does each one-sided bound`, () => {
    for (const [name, t] of [
      ['A/A', aa()],
      ['difference = margin', atMargin()],
      ['A/A 1:3', unbalanced()],
    ] as const) {
      const c = { interval: t.covered.interval / t.streams, lower: t.covered.lower / t.streams, upper: t.covered.upper / t.streams };
      console.log(`${name}: covered at every look: interval ${c.interval}, lower bound ${c.lower}, upper bound ${c.upper}`);
      expect(c.interval).toBeGreaterThanOrEqual(1 - ALPHA);
      expect(c.lower).toBeGreaterThanOrEqual(1 - ALPHA);
      expect(c.upper).toBeGreaterThanOrEqual(1 - ALPHA);
    }
  });
});

describe('the sequential test on a real difference decides correctly, within the fixed-horizon sample size', () => {
  const errWorse = 0.26;
  const errBetter = 0.2;
  const bernoulliVariances = errWorse * (1 - errWorse) + errBetter * (1 - errBetter);
  const worseN = { two: fixedHorizonN(bernoulliVariances, errWorse - errBetter, 2), one: fixedHorizonN(bernoulliVariances, errWorse - errBetter, 1) };
  // Non-inferiority: the distance to rule out is the margin plus the candidate's advantage.
  const betterN = {
    two: fixedHorizonN(bernoulliVariances, errWorse - errBetter + MARGIN, 2),
    one: fixedHorizonN(bernoulliVariances, errWorse - errBetter + MARGIN, 1),
  };
  // Regression: absolute errors of N(0, 1) (champion) and N(0, 1.2²) (candidate): E|e| = σ√(2/π), Var|e| = σ²(1 − 2/π).
  const sdChampion = 1;
  const sdCandidate = 1.2;
  const absEffect = (sdCandidate - sdChampion) * Math.sqrt(2 / Math.PI);
  const absVariances = (sdCandidate ** 2 + sdChampion ** 2) * (1 - 2 / Math.PI);
  const regressionN = { two: fixedHorizonN(absVariances, absEffect, 2), one: fixedHorizonN(absVariances, absEffect, 1) };

  const cases = [
    {
      name: `accuracy 0.74 (candidate) vs 0.80: 'inferior', median labels ≤ ${worseN.two} (fixed-horizon z-test, α ${ALPHA}, power 0.8)`,
      expected: 'inferior',
      n: worseN,
      spec: { candidate: bernoulli(errWorse), champion: bernoulli(errBetter), batch: 10, options: { alpha: ALPHA, margin: MARGIN } },
      difference: errWorse - errBetter,
    },
    {
      name: `accuracy 0.80 (candidate) vs 0.74, margin ${MARGIN}: 'non-inferior', median labels ≤ ${betterN.two} (fixed-horizon z-test, α ${ALPHA}, power 0.8)`,
      expected: 'non-inferior',
      n: betterN,
      spec: { candidate: bernoulli(errBetter), champion: bernoulli(errWorse), batch: 10, options: { alpha: ALPHA, margin: MARGIN } },
      difference: errBetter - errWorse,
    },
    {
      name: `regression, absolute errors of N(0, 1.2²) (candidate) vs N(0, 1): 'inferior', median labels ≤ ${regressionN.two} (fixed-horizon z-test, α ${ALPHA}, power 0.8)`,
      expected: 'inferior',
      n: regressionN,
      spec: {
        candidate: absNormal(sdCandidate),
        champion: absNormal(sdChampion),
        batch: 10,
        options: { alpha: ALPHA, margin: 0.05, loss: 'absolute' as const },
      },
      difference: absEffect,
    },
  ];

  it('the fixed-horizon quantiles are the normal ones (scipy values, checked with the project normal CDF)', () => {
    for (const [q, z] of Object.entries(SCIPY_PPF)) expect(normCdf(z)).toBeCloseTo(Number(q), 12);
  });

  for (const c of cases) {
    it(c.name, () => {
      const t = simulate(42, 300, c.spec, c.difference);
      const wrong = t.streams - (t.decisions[c.expected] ?? 0);
      const m = median(t.labels);
      console.log(
        `${c.expected}: ${t.decisions[c.expected] ?? 0}/${t.streams} correct; labels per candidate arm to decide: median ${m}, mean ${Math.round(mean(t.labels))}; ` +
          `fixed horizon: ${c.n.two} (two-sided α ${ALPHA}), ${c.n.one} (one-sided α ${ALPHA}); median/fixed ${(m / c.n.two).toFixed(2)}, ${(m / c.n.one).toFixed(2)}`,
      );
      expect(wrong).toBeLessThanOrEqual(ALPHA * t.streams);
      expect(t.labels).toHaveLength(t.streams); // no stream ran forever (no maximum was set)
      expect(m).toBeLessThanOrEqual(c.n.two);
    });
  }

  it('a decided result says what it concluded, on how many labels, with what confidence, consistent with its bounds', () => {
    const rng = new NumpyRandomState(7);
    const worse = runStream(rng, { candidate: bernoulli(0.3), champion: bernoulli(0.2), batch: 20, options: { alpha: ALPHA, margin: MARGIN } });
    const r = decide(worse);
    expect(r.decision).toBe('inferior');
    expect(r.bounds!.lower).toBeGreaterThan(0);
    expect(r.pValues.inferior).toBeLessThanOrEqual(ALPHA);
    expect(r.confidence).toBeCloseTo(1 - ALPHA, 12);
    expect(r.labels.candidate).toBe(worse.candidate.n);
    expect(r.summary).toMatch(/^candidate inferior: error rate .* 95% confidence .* on \d+ candidate and \d+ champion labels: roll back$/);
    console.log(r.summary);

    const better = runStream(rng, { candidate: bernoulli(0.18), champion: bernoulli(0.2), batch: 20, options: { alpha: ALPHA, margin: MARGIN } });
    const b = decide(better);
    expect(b.decision).toBe('non-inferior');
    expect(b.bounds!.upper).toBeLessThan(MARGIN);
    expect(b.pValues.nonInferior).toBeLessThanOrEqual(ALPHA);
    expect(b.summary).toMatch(/^candidate not inferior: .*margin 0\.02 with 95% confidence/);
    console.log(b.summary);

    const capped = runStream(rng, { candidate: bernoulli(0.2), champion: bernoulli(0.2), batch: 20, options: { margin: 0, maxSamples: 200 } });
    expect(capped.decision).toBe('inconclusive');
    expect(decide(capped).summary).toMatch(/^inconclusive: the maximum sample \(200 labels per arm\)/);
  });
});

describe('the closed forms against numerical integration of the mixtures', () => {
  /** ∫ f over [a, b] by composite Simpson with n (even) intervals. */
  function simpson(f: (x: number) => number, a: number, b: number, n = 20000): number {
    const h = (b - a) / n;
    let s = f(a) + f(b);
    for (let i = 1; i < n; i++) s += f(a + i * h) * (i % 2 ? 4 : 2);
    return (s * h) / 3;
  }
  const normalPdf = (x: number, m: number, v: number) => Math.exp(-((x - m) ** 2) / (2 * v)) / Math.sqrt(2 * Math.PI * v);

  // 150 labels per arm: 40 errors for the candidate, 25 for the champion, as the arms' own losses.
  const candidate = Array.from({ length: 150 }, (_, i) => (i % 15 < 4 ? 1 : 0));
  const champion = Array.from({ length: 150 }, (_, i) => (i % 6 === 0 ? 1 : 0));
  const options = { alpha: ALPHA, margin: 0.03, tau: 0.15, minSamples: 100 };

  // The variance and mixture scale, recomputed from the raw losses.
  const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const varOf = (xs: number[]) => xs.reduce((a, x) => a + (x - meanOf(xs)) ** 2, 0) / (xs.length - 1);
  const d = meanOf(candidate) - meanOf(champion);
  const all = [...candidate, ...champion];
  const v = Math.max(varOf(all) * (1 / 150 + 1 / 150), varOf(candidate) / 150 + varOf(champion) / 150);
  const tau2 = options.tau ** 2 * varOf(all);
  /** ∫ N(d; θ, V)/N(d; θ0, V) · prior(θ) dθ over [a, b]. */
  const mixture = (theta0: number, prior: (t: number) => number, a: number, b: number) =>
    simpson((t) => (normalPdf(d, t, v) / normalPdf(d, theta0, v)) * prior(t), a, b);
  const span = 12 * Math.sqrt(tau2 + v);

  const state = observe(emptySequentialState(options), { candidate, champion });
  const r = decide(state);

  it('the one-sided p-values are 1/Λ of the half-normal mixtures (θ0 = 0 upwards, θ0 = margin downwards)', () => {
    expect(r.difference).toBeCloseTo(d, 14);
    const lambdaInferior = mixture(0, (t) => 2 * normalPdf(t, 0, tau2), 0, span);
    const lambdaNonInferior = mixture(options.margin, (t) => 2 * normalPdf(t, options.margin, tau2), options.margin - span, options.margin);
    expect(r.pValues.inferior).toBeCloseTo(Math.min(1, 1 / lambdaInferior), 9);
    expect(r.pValues.nonInferior).toBeCloseTo(Math.min(1, 1 / lambdaNonInferior), 9);
    expect(r.pValues.inferior).toBeGreaterThan(0.01); // a value in the interesting range, not a clamped 1
    expect(r.pValues.inferior).toBeLessThan(1);
  });

  it('the interval ends are where the normal mixture reaches 1/α, and the one-sided bounds where the half-normal ones do', () => {
    const { lower, upper } = r.interval!;
    for (const end of [lower, upper]) expect(mixture(end, (t) => normalPdf(t, end, tau2), end - span, end + span)).toBeCloseTo(1 / ALPHA, 6);
    const b = r.bounds!;
    expect(mixture(b.lower, (t) => 2 * normalPdf(t, b.lower, tau2), b.lower, b.lower + span)).toBeCloseTo(1 / ALPHA, 6);
    expect(mixture(b.upper, (t) => 2 * normalPdf(t, b.upper, tau2), b.upper - span, b.upper)).toBeCloseTo(1 / ALPHA, 6);
    // One-sided bounds at 1 − α are inside the two-sided interval at 1 − α.
    expect(b.lower).toBeGreaterThan(lower);
    expect(b.upper).toBeLessThan(upper);
  });
});

describe('the state and bad input', () => {
  it('no labels: continue, no NaN anywhere', () => {
    const r = decide(emptySequentialState());
    expect(r).toMatchObject({ decision: 'continue', labels: { candidate: 0, champion: 0 }, difference: null, interval: null, bounds: null });
    expect(r.pValues).toEqual({ nonInferior: 1, inferior: 1 });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    expect(r.summary).toContain('no decision yet');
  });

  it('one arm empty: continue, no NaN', () => {
    let state = emptySequentialState({ minSamples: 10 });
    for (let i = 0; i < 20; i++) state = observe(state, { candidate: [0, 1, 0, 0, 1] });
    state = observe(state, { champion: [] });
    const r = decide(state);
    expect(r).toMatchObject({ decision: 'continue', labels: { candidate: 100, champion: 0 }, difference: null, interval: null });
    expect(r.meanLoss).toEqual({ candidate: 0.4, champion: null });
    expect(JSON.parse(JSON.stringify(r))).toEqual(r);
  });

  it('all losses equal (zero variance): continue, never NaN; constant but different arms are still a difference', () => {
    let same = emptySequentialState({ minSamples: 10 });
    for (let i = 0; i < 50; i++) same = observe(same, { candidate: Array(20).fill(0), champion: Array(20).fill(0) });
    const r = decide(same);
    expect(r).toMatchObject({ decision: 'continue', difference: 0, interval: null, bounds: null, pValues: { nonInferior: 1, inferior: 1 } });
    expect(r.summary).toContain('every loss so far is the same');
    expect(JSON.stringify(r)).not.toMatch(/NaN|Infinity|null,"bounds":\{/);

    let apart = emptySequentialState({ minSamples: 10 });
    apart = observe(apart, { candidate: Array(20).fill(1), champion: Array(20).fill(0) });
    expect(decide(apart).decision).toBe('inferior');
  });

  it('batches add up to the same statistics as one batch, and the state is plain JSON a workflow can carry', () => {
    const rng = new NumpyRandomState(5);
    const losses = Array.from({ length: 600 }, () => rng.random() * 3);
    let split = emptySequentialState({ loss: 'squared' });
    for (let i = 0; i < 600; i += 37) {
      split = observe(split, { candidate: losses.slice(i, i + 37), champion: losses.slice(i, i + 37).map((x) => x + 0.01) });
      split = JSON.parse(JSON.stringify(split)) as SequentialState; // through a payload and back
    }
    const whole = observe(emptySequentialState({ loss: 'squared' }), { candidate: losses, champion: losses.map((x) => x + 0.01) });
    expect(split.candidate.n).toBe(600);
    expect(split.candidate.mean).toBeCloseTo(whole.candidate.mean, 12);
    expect(split.candidate.m2).toBeCloseTo(whole.candidate.m2, 9);
    expect(split.champion.m2).toBeCloseTo(whole.champion.m2, 9);
    expect(Object.getPrototypeOf(split)).toBe(Object.prototype);
    expect(decide(split).summary).toContain('mean squared error');
  });

  it('a decided test keeps its decision and its evidence when more labels come', () => {
    let state = emptySequentialState({ minSamples: 10 });
    state = observe(state, { candidate: Array(20).fill(1), champion: Array(20).fill(0) });
    expect(state.decision).toBe('inferior');
    expect(state.decidedAtLook).toBe(1);
    expect(observe(state, { candidate: Array(1000).fill(0), champion: Array(1000).fill(1) })).toBe(state);
  });

  it('bad options are refused with the option named', () => {
    const cases: [SequentialOptions, RegExp][] = [
      [{ alpha: 0 }, /'alpha' must be a number between 0 and 1/],
      [{ alpha: 1 }, /'alpha'/],
      [{ alpha: 1.5 }, /'alpha'.*not 1\.5/],
      [{ alpha: Number.NaN }, /'alpha'/],
      [{ margin: -0.01 }, /'margin' must be a finite number ≥ 0.*not -0\.01/],
      [{ margin: Number.POSITIVE_INFINITY }, /'margin'/],
      [{ tau: 0 }, /'tau' must be a finite number > 0/],
      [{ tau: -1 }, /'tau'/],
      [{ minSamples: 1 }, /'minSamples' must be an integer ≥ 2/],
      [{ minSamples: 10.5 }, /'minSamples'/],
      [{ minSamples: 100, maxSamples: 50 }, /'maxSamples' must be null or an integer ≥ minSamples \(100\)/],
      [{ loss: 'hinge' as never }, /'loss' must be one of error, absolute, squared, not 'hinge'/],
      [{ alhpa: 0.05 } as never, /unknown sequential test option 'alhpa'/],
    ];
    for (const [options, message] of cases) {
      expect(() => emptySequentialState(options)).toThrow(message);
      expect(() => resolveSequentialOptions(options)).toThrow(message);
    }
    expect(resolveSequentialOptions({ maxSamples: undefined })).toEqual({
      alpha: 0.05,
      margin: 0,
      tau: 0.15,
      minSamples: 100,
      maxSamples: null,
      loss: 'error',
    });
  });

  it('a loss that is not a finite number is refused with its place', () => {
    const state = emptySequentialState();
    expect(() => observe(state, { candidate: [0, 1, Number.NaN] })).toThrow(/batch\.candidate\[2\] must be a finite number/);
    expect(() => observe(state, { champion: [0, Number.POSITIVE_INFINITY] })).toThrow(/batch\.champion\[1\]/);
    expect(() => observe(state, { champion: ['1'] as never })).toThrow(/batch\.champion\[0\]/);
  });

  it('losses: 0/1 error, absolute and squared error', () => {
    expect(lossOf('error', 'rain', 'rain')).toBe(0);
    expect(lossOf('error', 'rain', 'sun')).toBe(1);
    expect(lossOf('absolute', 2.5, 4)).toBe(1.5);
    expect(lossOf('squared', 2.5, 4)).toBe(2.25);
    expect(() => lossOf('squared', 'a', 1)).toThrow(/needs numbers/);
  });
});
