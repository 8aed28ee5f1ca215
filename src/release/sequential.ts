/**
 * The release's sequential test: candidate against champion on the labelled
 * predictions of the same period, checked after every batch of labels without
 * inflating false alarms. Pure (no I/O, no clock, no randomness); the state is
 * plain JSON, so a workflow can carry it, put it in a query answer or hand it
 * to continue-as-new.
 *
 * What is compared. Each labelled prediction has a loss: 0/1 error for
 * classification (1 when the predicted label is wrong), absolute or squared
 * error for regression (`lossOf`). Lower is better. The quantity tested is
 *
 *     δ = E[loss | candidate] − E[loss | champion]     (δ > 0: candidate worse)
 *
 * estimated by δ̂ = mean_c − mean_b over the labels of each arm so far.
 *
 * The two hypotheses a canary needs. A release must decide two different
 * things, each with its own error it must not make often:
 *   - promote: H0_ni: δ ≥ margin (the candidate is worse by at least the
 *     spec's margin) against δ < margin. Rejecting H0_ni at level α is the
 *     decision 'non-inferior': the candidate is not worse than the champion by
 *     the margin or more, with confidence 1 − α. A false promotion (δ ≥ margin
 *     yet 'non-inferior') happens with probability at most α.
 *   - roll back: H0_inf: δ ≤ 0 (the candidate is at least as good) against
 *     δ > 0. Rejecting it at level α is the decision 'inferior': the candidate's
 *     loss is higher than the champion's with confidence 1 − α, and the release
 *     rolls back. A false rollback of a candidate that is no worse happens with
 *     probability at most α.
 *   With margin > 0 the two nulls are disjoint, so each error is bounded by α on
 *   its own. Between 0 and the margin both conclusions are true statements
 *   (worse, but by less than the margin); whichever the evidence establishes
 *   first stands, 'inferior' first when both cross at the same look. With
 *   margin = 0, 'non-inferior' means significantly better.
 *
 * Decision rule, at each look (each `observe`), once both arms hold at least
 * `minSamples` labels and the variance is positive:
 *   1. update the always-valid p-values p_inf and p_ni (running minima);
 *   2. p_inf ≤ α → 'inferior'; else p_ni ≤ α → 'non-inferior';
 *   3. else, when the smaller arm has `maxSamples` labels → 'inconclusive';
 *   4. else 'continue'.
 * A decision is final: later batches leave the state as it was when it was made.
 *
 * The test: a mixture sequential probability ratio test (mSPRT), Johari,
 * Koomen, Pekelis & Walsh, "Peeking at A/B Tests: Why it matters, and what to
 * do about it", KDD 2017 (the statistics behind Optimizely's Stats Engine), and
 * Johari, Pekelis & Walsh, "Always Valid Inference", Operations Research 2022.
 * δ̂ is treated as N(δ, V) with
 *
 *     V  = max( s_t² (1/n_c + 1/n_b),  s_c²/n_c + s_b²/n_b )
 *
 * where s_c², s_b² are the arms' sample variances (Welch / Stats Engine form)
 * and s_t² the variance of all losses of both arms pooled together (the pooled
 * variance of the two-proportion z-test, p̄(1−p̄), for 0/1 losses). The larger
 * of the two keeps an unbalanced split honest whichever arm is noisier (a 5%
 * canary whose errors vary more than the champion's), and gives a positive V
 * when each arm is constant but the two differ; all losses equal gives V = 0,
 * and the look is skipped ('continue'). Variances are plug-in estimates, which
 * is why no decision is taken before `minSamples` labels per arm.
 *
 * Mixing distribution: normal with standard deviation τ = tau · s_t (tau is a
 * standardized effect size, so one default serves error rates and regression
 * errors in any unit). The default, 0.15, decides fastest on effects of that
 * size (an error rate of 0.26 against 0.20) and on a margin of a few points;
 * a τ off by a factor of a few costs a logarithmic factor in labels.
 * With r = V / (V + τ²) and, for a null value θ0,
 *
 *     x = (d / √V) · √(1 − r),   d = distance of δ̂ from θ0 towards the alternative,
 *
 * the mixture likelihood ratios are (log Φ: standard normal CDF)
 *   - two-sided, N(θ0, τ²) mixture (Johari et al., eq. for the normal mSPRT):
 *         Λ = √r · exp(x²/2)
 *   - one-sided, half-normal mixture on the alternative's side only:
 *         Λ = 2 √r · exp(x²/2) · Φ(x)
 *     (the N(θ0, τ²) mixture restricted to the alternative and renormalized;
 *     the integral is the two-sided Λ times the posterior mass beyond θ0).
 *   Each is a nonnegative martingale with mean 1 at θ0 (a supermartingale
 *   throughout a one-sided null, by the monotone likelihood ratio of the
 *   normal), so by Ville's inequality P(sup_n Λ_n ≥ 1/α) ≤ α: checking after
 *   every batch keeps the error at α.
 *   p_ni uses θ0 = margin, d = margin − δ̂;  p_inf uses θ0 = 0, d = δ̂;
 *   each always-valid p-value is p_n = min(p_{n−1}, 1/Λ_n) over the looks.
 *
 * Confidence statements, both always valid (hold at every look at once):
 *   - `interval`: the two-sided (1 − α) confidence sequence of the normal
 *     mSPRT, {θ0 : Λ(θ0) < 1/α} = δ̂ ± √( V/(1 − r) · (ln(1/r) + 2 ln(1/α)) );
 *   - `bounds`: the one-sided (1 − α) bounds of the half-normal mixtures,
 *     δ̂ ± x*·√(V/(1 − r)) with x* solving ln 2 + ½ ln r + x²/2 + ln Φ(x) = ln(1/α);
 *     'non-inferior' is exactly "upper bound < margin" and 'inferior' exactly
 *     "lower bound > 0" at the look that decided.
 *
 * Approximation, stated: V is estimated, and the martingale argument is exact
 * for normal losses with known variance and a constant split between the
 * arms; the tests check the error rates by simulation (Bernoulli losses,
 * batches of labels, balanced and 1:3 splits).
 *
 * The normal CDF is the drift engine's (src/drift/batch/special.ts, erfc by
 * the incomplete gamma function, ~1e-13); simple-statistics'
 * cumulativeStdNormalProbability is a 4-digit table, and a package could not
 * be loaded by workflow code anyway.
 */
import { normCdf } from '../drift/batch/special';

/** What one labelled prediction's loss measures. */
export type LossKind = 'error' | 'absolute' | 'squared';

export type SequentialDecision = 'non-inferior' | 'inferior' | 'continue' | 'inconclusive';

export interface SequentialOptions {
  /** Error rate of each decision, in (0, 1). Default 0.05. */
  alpha?: number;
  /** Non-inferiority margin in loss units (0.02 = two accuracy points), ≥ 0. Default 0. */
  margin?: number;
  /** The mixture's standard deviation as a standardized effect size (units of the loss's standard deviation), > 0. Default 0.15. */
  tau?: number;
  /** Labels each arm needs before any decision (the variance is estimated), an integer ≥ 2. Default 100. */
  minSamples?: number;
  /** Labels in the smaller arm at which the test stops as 'inconclusive'; null: no limit. Default null. */
  maxSamples?: number | null;
  /** What the losses are, for the summary. Default 'error'. */
  loss?: LossKind;
}

export type ResolvedSequentialOptions = Required<SequentialOptions>;

/** Count, mean and sum of squared deviations of one arm's losses (merged by Chan et al.'s update: no cancellation). */
export interface ArmStats {
  n: number;
  mean: number;
  m2: number;
}

export interface SequentialState {
  options: ResolvedSequentialOptions;
  candidate: ArmStats;
  champion: ArmStats;
  /** Batches observed. */
  looks: number;
  /** Always-valid p-values, running minima over the looks (1 before the first eligible look). */
  pNonInferior: number;
  pInferior: number;
  decision: SequentialDecision;
  /** The look that decided, when one did. */
  decidedAtLook: number | null;
}

/** Per-prediction losses of one batch, for either arm or both. */
export interface SequentialBatch {
  candidate?: readonly number[];
  champion?: readonly number[];
}

export interface ConfidenceStatement {
  lower: number;
  upper: number;
  confidence: number;
}

export interface SequentialResult {
  decision: SequentialDecision;
  labels: { candidate: number; champion: number };
  looks: number;
  loss: LossKind;
  /** Mean loss per arm (null before its first label). */
  meanLoss: { candidate: number | null; champion: number | null };
  /** Candidate mean loss minus champion mean loss (positive: candidate worse). */
  difference: number | null;
  /** Two-sided always-valid (1 − α) confidence interval for the difference; null until a decision could be taken. */
  interval: ConfidenceStatement | null;
  /** One-sided always-valid (1 − α) lower and upper bounds (the decisions' own). */
  bounds: ConfidenceStatement | null;
  pValues: { nonInferior: number; inferior: number };
  alpha: number;
  confidence: number;
  margin: number;
  minSamples: number;
  maxSamples: number | null;
  summary: string;
}

const DEFAULTS: ResolvedSequentialOptions = { alpha: 0.05, margin: 0, tau: 0.15, minSamples: 100, maxSamples: null, loss: 'error' };
const LOSS_KINDS: readonly LossKind[] = ['error', 'absolute', 'squared'];
const LOG_2PI_HALF = 0.5 * Math.log(2 * Math.PI);

function badOption(name: string, rule: string, value: unknown): Error {
  const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : String(value);
  return new Error(`sequential test option '${name}' must be ${rule}, not ${shown}`);
}

/** Checks the options and fills in the defaults; an error names the option at fault. */
export function resolveSequentialOptions(options: SequentialOptions = {}): ResolvedSequentialOptions {
  const o = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) } as ResolvedSequentialOptions;
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULTS)) throw new Error(`unknown sequential test option '${key.slice(0, 40)}' (known: ${Object.keys(DEFAULTS).join(', ')})`);
  }
  if (typeof o.alpha !== 'number' || !(o.alpha > 0 && o.alpha < 1)) throw badOption('alpha', 'a number between 0 and 1 (exclusive)', o.alpha);
  if (typeof o.margin !== 'number' || !Number.isFinite(o.margin) || o.margin < 0) throw badOption('margin', 'a finite number ≥ 0 (in loss units)', o.margin);
  if (typeof o.tau !== 'number' || !Number.isFinite(o.tau) || o.tau <= 0) throw badOption('tau', 'a finite number > 0 (a standardized effect size)', o.tau);
  if (!Number.isInteger(o.minSamples) || o.minSamples < 2) throw badOption('minSamples', 'an integer ≥ 2', o.minSamples);
  if (o.maxSamples !== null && (!Number.isInteger(o.maxSamples) || o.maxSamples < o.minSamples)) {
    throw badOption('maxSamples', `null or an integer ≥ minSamples (${o.minSamples})`, o.maxSamples);
  }
  if (!LOSS_KINDS.includes(o.loss)) throw badOption('loss', `one of ${LOSS_KINDS.join(', ')}`, o.loss);
  return o;
}

/** The loss of one labelled prediction: 0/1 error (classification), absolute or squared error (regression). */
export function lossOf(kind: LossKind, predicted: number | string, actual: number | string): number {
  if (kind === 'error') return predicted === actual ? 0 : 1;
  if (typeof predicted !== 'number' || typeof actual !== 'number')
    throw new Error(`a ${kind} loss needs numbers, not ${typeof predicted} and ${typeof actual}`);
  const e = predicted - actual;
  return kind === 'absolute' ? Math.abs(e) : e * e;
}

const emptyArm = (): ArmStats => ({ n: 0, mean: 0, m2: 0 });

export function emptySequentialState(options: SequentialOptions = {}): SequentialState {
  return {
    options: resolveSequentialOptions(options),
    candidate: emptyArm(),
    champion: emptyArm(),
    looks: 0,
    pNonInferior: 1,
    pInferior: 1,
    decision: 'continue',
    decidedAtLook: null,
  };
}

function addLosses(arm: ArmStats, losses: readonly number[] | undefined, name: string): ArmStats {
  if (!losses || losses.length === 0) return arm;
  if (!Array.isArray(losses)) throw new Error(`batch.${name} must be an array of losses`);
  let n = 0;
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < losses.length; i++) {
    const x: unknown = losses[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new Error(`batch.${name}[${i}] must be a finite number (a loss), not ${String(x).slice(0, 40)}`);
    n++;
    const delta = x - mean;
    mean += delta / n;
    m2 += delta * (x - mean);
  }
  if (arm.n === 0) return { n, mean, m2 };
  const total = arm.n + n;
  const delta = mean - arm.mean;
  return { n: total, mean: arm.mean + (delta * n) / total, m2: arm.m2 + m2 + (delta * delta * arm.n * n) / total };
}

interface Moments {
  difference: number;
  /** Variance of the difference estimate. */
  v: number;
  /** Mixture variance τ². */
  tau2: number;
}

/** δ̂, V and τ² (see the header), or null while no decision can be taken (too few labels, zero variance). */
function moments(state: SequentialState): Moments | null {
  const { candidate: c, champion: b, options } = state;
  if (c.n < options.minSamples || b.n < options.minSamples) return null;
  const difference = c.mean - b.mean;
  const n = c.n + b.n;
  const m2Total = c.m2 + b.m2 + (difference * difference * c.n * b.n) / n;
  const varTotal = m2Total / (n - 1);
  const inverseSizes = 1 / c.n + 1 / b.n;
  const v = Math.max(varTotal * inverseSizes, c.m2 / (c.n - 1) / c.n + b.m2 / (b.n - 1) / b.n);
  const tau2 = options.tau * options.tau * varTotal;
  if (!(v > 0) || !(tau2 > 0) || !Number.isFinite(v)) return null;
  return { difference, v, tau2 };
}

/** x²/2 + ln Φ(x), finite for every x (Φ underflows below about −37: Mills ratio series there). */
function halfSquarePlusLogPhi(x: number): number {
  if (x > -30) return (x * x) / 2 + Math.log(normCdf(x));
  const y = 1 / (x * x);
  return -Math.log(-x) - LOG_2PI_HALF + Math.log1p(-y + 3 * y * y - 15 * y * y * y);
}

/** ln Λ of the one-sided (half-normal) mixture, `d` the distance of δ̂ from the null value towards the alternative. */
function logOneSided(m: Moments, d: number): number {
  const r = m.v / (m.v + m.tau2);
  const x = (d / Math.sqrt(m.v)) * Math.sqrt(1 - r);
  return Math.LN2 + 0.5 * Math.log(r) + halfSquarePlusLogPhi(x);
}

const pFromLog = (logLambda: number): number => Math.min(1, Math.exp(-logLambda));

/** Adds one batch of labelled losses and takes a look. A decided test is returned unchanged. */
export function observe(state: SequentialState, batch: SequentialBatch): SequentialState {
  if (state.decision !== 'continue') return state;
  return look(state, addLosses(state.candidate, batch.candidate, 'candidate'), addLosses(state.champion, batch.champion, 'champion'));
}

function checkArm(arm: ArmStats, before: ArmStats, name: string): ArmStats {
  const { n, mean, m2 } = arm;
  if (!Number.isInteger(n) || n < before.n || (n > 0 && !Number.isFinite(mean)) || !(m2 >= 0)) {
    throw new Error(
      `totals.${name} must be the arm's losses so far (n an integer >= ${before.n}, a finite mean, m2 >= 0), not ${JSON.stringify(arm).slice(0, 80)}`,
    );
  }
  return { n, mean: n === 0 ? 0 : mean, m2: n === 0 ? 0 : m2 };
}

/**
 * Takes a look with every arm's losses so far (count, mean, sum of squared
 * deviations), as a release reads them again from the feedback log at each
 * look: labels that arrive late are counted when they arrive, never twice. A
 * decided test is returned unchanged.
 */
export function observeTotals(state: SequentialState, totals: { candidate: ArmStats; champion: ArmStats }): SequentialState {
  if (state.decision !== 'continue') return state;
  return look(state, checkArm(totals.candidate, state.candidate, 'candidate'), checkArm(totals.champion, state.champion, 'champion'));
}

function look(state: SequentialState, candidate: ArmStats, champion: ArmStats): SequentialState {
  const next: SequentialState = { ...state, candidate, champion, looks: state.looks + 1 };
  const m = moments(next);
  if (m) {
    next.pInferior = Math.min(state.pInferior, pFromLog(logOneSided(m, m.difference)));
    next.pNonInferior = Math.min(state.pNonInferior, pFromLog(logOneSided(m, next.options.margin - m.difference)));
  }
  const { alpha, maxSamples } = next.options;
  if (next.pInferior <= alpha) next.decision = 'inferior';
  else if (next.pNonInferior <= alpha) next.decision = 'non-inferior';
  else if (maxSamples !== null && Math.min(next.candidate.n, next.champion.n) >= maxSamples) next.decision = 'inconclusive';
  if (next.decision !== 'continue') next.decidedAtLook = next.looks;
  return next;
}

/** x* with ln 2 + ½ ln r + x²/2 + ln Φ(x) = ln(1/α): safeguarded Newton (the left side increases with x). */
function oneSidedCriticalX(r: number, alpha: number): number {
  const target = -Math.log(alpha) - Math.LN2 - 0.5 * Math.log(r);
  const f = (x: number) => halfSquarePlusLogPhi(x) - target;
  // f(0) = ln ½ − target = ½ ln r − ln(1/α) < 0, and f grows without bound: the root is above 0.
  let lo = 0;
  let hi = Math.max(1, Math.sqrt(2 * Math.max(target, 0)) + 1);
  while (f(hi) < 0) hi *= 2;
  let x = (lo + hi) / 2;
  for (let i = 0; i < 100; i++) {
    const fx = f(x);
    if (fx < 0) lo = x;
    else hi = x;
    if (Math.abs(fx) < 1e-12 || hi - lo < 1e-12) break;
    // derivative: x + φ(x)/Φ(x), positive
    const derivative = x + Math.exp(-0.5 * x * x - LOG_2PI_HALF - Math.log(normCdf(x)));
    const newton = x - fx / derivative;
    x = newton > lo && newton < hi ? newton : (lo + hi) / 2;
  }
  return x;
}

function formatNumber(x: number): string {
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e4 || a < 1e-3) return x.toExponential(2);
  return String(Number(x.toPrecision(3)));
}
const signed = (x: number): string => (x > 0 ? `+${formatNumber(x)}` : formatNumber(x));
const formatP = (p: number): string => (p < 1e-4 ? '< 0.0001' : p.toFixed(4));
const LOSS_NAMES: Record<LossKind, string> = { error: 'error rate', absolute: 'mean absolute error', squared: 'mean squared error' };

/** What the test has concluded so far, with the evidence: labels, estimate, always-valid interval and bounds, p-values. */
export function decide(state: SequentialState): SequentialResult {
  const { options, candidate: c, champion: b } = state;
  const { alpha, margin } = options;
  const confidence = 1 - alpha;
  const m = moments(state);
  let interval: ConfidenceStatement | null = null;
  let bounds: ConfidenceStatement | null = null;
  if (m) {
    const r = m.v / (m.v + m.tau2);
    const scale = Math.sqrt(m.v / (1 - r));
    const half = scale * Math.sqrt(-Math.log(r) - 2 * Math.log(alpha));
    interval = { lower: m.difference - half, upper: m.difference + half, confidence };
    const oneSided = scale * oneSidedCriticalX(r, alpha);
    bounds = { lower: m.difference - oneSided, upper: m.difference + oneSided, confidence };
  }
  const difference = c.n > 0 && b.n > 0 ? c.mean - b.mean : null;
  const pct = `${Number((confidence * 100).toPrecision(4))}%`;
  const lossName = LOSS_NAMES[options.loss];
  const on = `on ${c.n} candidate and ${b.n} champion labels`;
  let evidence = difference === null ? '' : `${lossName} ${formatNumber(c.mean)} vs ${formatNumber(b.mean)} (difference ${signed(difference)}`;
  if (difference !== null) evidence += interval ? `, ${pct} always-valid CI ${signed(interval.lower)} to ${signed(interval.upper)})` : ')';
  const ps = `p(inferior) ${formatP(state.pInferior)}, p(non-inferior) ${formatP(state.pNonInferior)}`;
  let summary: string;
  switch (state.decision) {
    case 'inferior':
      summary = `candidate inferior: ${evidence}; worse than the champion with ${pct} confidence (one-sided lower bound ${signed(bounds!.lower)} > 0, p ${formatP(state.pInferior)}) ${on}: roll back`;
      break;
    case 'non-inferior':
      summary = `candidate not inferior: ${evidence}; not worse by the margin ${formatNumber(margin)} with ${pct} confidence (one-sided upper bound ${signed(bounds!.upper)} < ${formatNumber(margin)}, p ${formatP(state.pNonInferior)}) ${on}`;
      break;
    case 'inconclusive':
      summary = `inconclusive: the maximum sample (${options.maxSamples} labels per arm) was reached without a decision at ${pct} confidence: ${evidence}; ${ps} ${on}`;
      break;
    default:
      if (c.n < options.minSamples || b.n < options.minSamples) {
        summary = `no decision yet: ${on}, at least ${options.minSamples} per arm are needed before any${evidence ? `; so far ${evidence}` : ''}`;
      } else if (!m) {
        summary = `no decision yet: every loss so far is the same (${lossName} ${formatNumber(c.mean)} in both arms), nothing to compare ${on}`;
      } else {
        summary = `no decision yet at ${pct} confidence: ${evidence}; ${ps} ${on}`;
      }
  }
  return {
    decision: state.decision,
    labels: { candidate: c.n, champion: b.n },
    looks: state.looks,
    loss: options.loss,
    meanLoss: { candidate: c.n > 0 ? c.mean : null, champion: b.n > 0 ? b.mean : null },
    difference,
    interval,
    bounds,
    pValues: { nonInferior: state.pNonInferior, inferior: state.pInferior },
    alpha,
    confidence,
    margin,
    minSamples: options.minSamples,
    maxSamples: options.maxSamples,
    summary,
  };
}
