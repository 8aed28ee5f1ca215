/**
 * Probation of a new champion: for a while after its promotion the monitor
 * compares its live labels with its gate and with what the previous champion
 * did on live traffic just before, and rolls it back by itself when it falls
 * below either. Pure and plain JSON (carried across continue-as-new).
 *
 * The comparison is on per-label losses (0/1 errors for a classifier, squared
 * errors for a regression): the champion is worse when its mean loss is above
 * the previous champion's by more than the margin (accuracy `maxDrop` points
 * lower; RMSE `maxDrop` as a share higher) and a one-sided Welch z-test of the
 * two means says so at `alpha`. Both windows hold hundreds of labels, so the
 * normal approximation is the usual one (a two-proportion z-test for errors);
 * the normal CDF is the drift engine's (scipy's ndtr), accurate in the tail.
 */
import { normCdf } from '../drift/batch/special';
import type { ProbationPolicy } from '../spec/monitoring-spec';
import type { LiveFigures, VersionLive } from './live';

/** Mean and variance of per-label losses over a window. */
export interface LossSummary {
  n: number;
  mean: number;
  variance: number;
  kind: 'error' | 'squared-error';
}

/**
 * The losses of a version's window, or of its newest `last` labels: 0/1 errors (classification) or squared errors
 * (regression); null with no labels.
 */
export function lossSummary(live: VersionLive, last = live.window.length): LossSummary | null {
  const entries = live.window.slice(Math.max(0, live.window.length - last));
  const n = entries.length;
  if (n === 0) return null;
  const regression = typeof entries[0] === 'number';
  let sum = 0;
  let sumSquares = 0;
  for (const entry of entries) {
    const loss = typeof entry === 'number' ? entry * entry : entry[0] === entry[1] ? 0 : 1;
    sum += loss;
    sumSquares += loss * loss;
  }
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (sumSquares - n * mean * mean) / (n - 1)) : 0;
  return { n, mean, variance, kind: regression ? 'squared-error' : 'error' };
}

/** The gate's live-checkable floors (from the spec's evaluation gate). */
export interface LiveGate {
  minAccuracy?: number;
  minMacroF1?: number;
  maxRmse?: number;
  maxMae?: number;
}

export interface Probation {
  version: string;
  /** The champion it replaced: the rollback target. */
  previous: string | null;
  since: string;
  until: string;
  /**
   * The previous champion's live losses over its newest labels when this one was promoted (null: none): the traffic
   * closest to what the new champion meets, in a release the same traffic, so a shift in traffic is not blamed on it.
   */
  baseline: LossSummary | null;
  gate: LiveGate;
  policy: ProbationPolicy;
}

/** The gate floor the figures fall below, as evidence; undefined when none does. */
function belowGate(gate: LiveGate, figures: { accuracy?: number; macroF1?: number; rmse?: number; mae?: number }, what: string): string | undefined {
  if (gate.minAccuracy !== undefined && figures.accuracy !== undefined && figures.accuracy < gate.minAccuracy)
    return `${what} accuracy ${figures.accuracy.toFixed(3)} is below its gate's minAccuracy ${gate.minAccuracy}`;
  if (gate.minMacroF1 !== undefined && figures.macroF1 !== undefined && figures.macroF1 < gate.minMacroF1)
    return `${what} macro F1 ${figures.macroF1.toFixed(3)} is below its gate's minMacroF1 ${gate.minMacroF1}`;
  if (gate.maxRmse !== undefined && figures.rmse !== undefined && figures.rmse > gate.maxRmse)
    return `${what} RMSE ${figures.rmse.toPrecision(4)} is above its gate's maxRmse ${gate.maxRmse}`;
  if (gate.maxMae !== undefined && figures.mae !== undefined && figures.mae > gate.maxMae)
    return `${what} MAE ${figures.mae.toPrecision(4)} is above its gate's maxMae ${gate.maxMae}`;
  return undefined;
}

/** Labels of the previous champion the baseline is over: its newest, twice probation's minimum (or fewer when it had fewer). */
export const baselineLabels = (policy: ProbationPolicy) => 2 * policy.minLabels;

/**
 * Whether the champion on probation must go, with the evidence a person reads;
 * undefined while it holds (or too few labels say anything). Below its gate
 * counts only when the previous champion did better on its newest labels: a
 * shift that fails both is for retraining to answer, and rolling back would
 * put the worse of the two back.
 */
export function probationBreach(
  probation: Probation,
  window: LiveFigures,
  losses: LossSummary | null,
  estimated?: { accuracy: number; macroF1: number; rows: number },
): string | undefined {
  const { policy } = probation;
  const base = probation.baseline && probation.baseline.n >= policy.minLabels ? probation.baseline : null;
  /** The previous champion's figure on the loss scale beat `loss` (0/1 error rate, or mean squared error). */
  const previousDidBetter = (loss: number) => base !== null && base.mean < loss;
  const previousFigure = () =>
    base!.kind === 'error'
      ? `; ${probation.previous} had ${(1 - base!.mean).toFixed(3)} over its last ${base!.n} labels`
      : `; ${probation.previous} had RMSE ${Math.sqrt(base!.mean).toPrecision(4)} over its last ${base!.n} labels`;
  if (estimated && estimated.rows >= policy.minLabels && base?.kind === 'error' && previousDidBetter(1 - estimated.accuracy)) {
    const breach = belowGate(probation.gate, estimated, `its estimated (CBPE, over ${estimated.rows} unlabelled predictions)`);
    if (breach) return breach + previousFigure();
  }
  if (window.labels < policy.minLabels || !losses) return undefined;
  const gate = previousDidBetter(losses.mean) ? belowGate(probation.gate, window, `its live (over ${window.labels} labels)`) : undefined;
  if (gate) return gate + previousFigure();
  if (!base || base.kind !== losses.kind) return undefined;
  // The margin on the loss scale: accuracy points for errors; for squared errors, RMSE (1 + maxDrop) times the baseline's.
  const margin = base.kind === 'error' ? policy.maxDrop : base.mean * ((1 + policy.maxDrop) ** 2 - 1);
  const diff = losses.mean - base.mean;
  if (diff <= margin) return undefined;
  const se = Math.sqrt(losses.variance / losses.n + base.variance / base.n);
  // No spread at all (every label right before, every one wrong now): the difference is certain.
  const p = se === 0 ? 0 : normCdf(-diff / se);
  if (p >= policy.alpha) return undefined;
  const figures =
    base.kind === 'error'
      ? `live accuracy ${(1 - losses.mean).toFixed(3)} over ${losses.n} labels against ${(1 - base.mean).toFixed(3)} over ${base.n} for ${probation.previous}`
      : `live RMSE ${Math.sqrt(losses.mean).toPrecision(4)} over ${losses.n} labels against ${Math.sqrt(base.mean).toPrecision(4)} over ${base.n} for ${probation.previous}`;
  return `${figures}: worse by more than ${policy.maxDrop}${base.kind === 'error' ? '' : ' (a share)'} (one-sided z-test p = ${p.toExponential(2)} < alpha ${policy.alpha})`;
}
