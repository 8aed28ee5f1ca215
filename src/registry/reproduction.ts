/**
 * Whether a retraining from a version's lineage gave that version back
 * (`perennial reproduce`). Pure: the activity hands in both sides.
 *
 * On the backend that trained it, the same snapshot, spec, seed and code
 * must give the same bits: every weight, the preprocessor and every metric
 * exactly. Another tfjs backend (wasm against tensorflow or cpu) computes in
 * another order and rounds differently, and the difference grows over the
 * epochs, so there weights and metrics must agree within a stated tolerance.
 * The preprocessor is plain JavaScript on either backend: it must be identical.
 */
import { headlineMetricValues, type Metrics } from '../metrics';
import type { BackendName, WeightComparison } from '../model';
import type { PreprocessorArtifact } from '../preprocess';
import { compareJson, type DiffRow } from './diff';

export interface ReproduceTolerance {
  /** Largest absolute difference of any weight. */
  weights: number;
  /** Largest absolute difference of any headline metric (accuracy, macro F1, RMSE...). */
  metrics: number;
}

/**
 * Across backends. Measured on the weather model (40 epochs, 901 weights):
 * wasm against cpu, 746 weights differ by at most 2.1e-6, accuracy and F1 are
 * the same and log loss moves by 1.5e-7. The tolerance leaves room for
 * backends that round further apart (tensorflow's kernels) and still catches a
 * real change: another seed moves weights by tenths and accuracy by points.
 */
export const DEFAULT_REPRODUCE_TOLERANCE: ReproduceTolerance = { weights: 1e-3, metrics: 5e-3 };

export type ReproduceVerdict = 'identical' | 'within-tolerance' | 'differs';

export interface MetricComparison {
  name: string;
  recorded: number;
  reproduced: number;
  diff: number;
}

export interface ReproductionReport {
  model: string;
  version: string;
  verdict: ReproduceVerdict;
  backends: { recorded: BackendName; reproduced: BackendName };
  sameBackend: boolean;
  /** The tolerance applied: null on the same backend, where every bit must match. */
  tolerance: ReproduceTolerance | null;
  weights: WeightComparison;
  preprocessor: { identical: boolean; differences: DiffRow[] };
  metrics: MetricComparison[];
  /** Why the verdict is 'differs' (empty otherwise). */
  reasons: string[];
  message: string;
}

export interface ReproductionSide {
  backend: BackendName;
  metrics: Metrics;
  preprocessor: PreprocessorArtifact;
}

const MAX_LISTED_DIFFERENCES = 20;

export function judgeReproduction(
  model: string,
  version: string,
  recorded: ReproductionSide,
  reproduced: ReproductionSide,
  weights: WeightComparison,
  tolerance: ReproduceTolerance = DEFAULT_REPRODUCE_TOLERANCE,
): ReproductionReport {
  if (!(tolerance.weights >= 0) || !(tolerance.metrics >= 0)) {
    throw new Error(`tolerance must be numbers >= 0 (weights ${tolerance.weights}, metrics ${tolerance.metrics})`);
  }
  const sameBackend = recorded.backend === reproduced.backend;
  const differences = compareJson(recorded.preprocessor, reproduced.preprocessor, true);
  const [a, b] = [headlineMetricValues(recorded.metrics), headlineMetricValues(reproduced.metrics)];
  const metrics = Object.keys(a)
    .filter((name) => name in b)
    .map((name) => ({ name, recorded: a[name]!, reproduced: b[name]!, diff: b[name]! - a[name]! }));

  const reasons: string[] = [];
  if (recorded.metrics.task !== reproduced.metrics.task) reasons.push(`task ${recorded.metrics.task} became ${reproduced.metrics.task}`);
  if (differences.length > 0) {
    const first = differences[0]!;
    reasons.push(`the preprocessor differs in ${differences.length} field(s), first ${first.field}: ${first.from} -> ${first.to}`);
  }
  const allowedWeights = sameBackend ? 0 : tolerance.weights;
  const allowedMetrics = sameBackend ? 0 : tolerance.metrics;
  if (sameBackend ? !weights.identical : weights.maxAbsDiff > allowedWeights) {
    const worst = weights.tensors.reduce((w, t) => (t.maxAbsDiff > w.maxAbsDiff ? t : w));
    reasons.push(
      `${weights.differing} of ${weights.values} weights differ, by up to ${weights.maxAbsDiff.toPrecision(3)} (in ${worst.name})` +
        (sameBackend ? ` on the same backend (${recorded.backend}), where every bit must match` : `, over the tolerance ${allowedWeights}`),
    );
  }
  for (const m of metrics) {
    // Exact on the same backend: the same weights on the same rows give the same number, bit for bit.
    if (sameBackend ? !Object.is(m.recorded, m.reproduced) : !(Math.abs(m.diff) <= allowedMetrics)) {
      reasons.push(`${m.name} ${m.recorded} -> ${m.reproduced} (${m.diff >= 0 ? '+' : ''}${m.diff.toPrecision(3)})`);
    }
  }

  const verdict: ReproduceVerdict = reasons.length > 0 ? 'differs' : weights.identical && differences.length === 0 ? 'identical' : 'within-tolerance';
  const backends = sameBackend ? `on ${recorded.backend}, the backend that trained it` : `on ${reproduced.backend} (it was trained on ${recorded.backend})`;
  const message =
    verdict === 'identical'
      ? `${model}/${version} reproduced ${backends}: every weight, the preprocessor and every metric identical`
      : verdict === 'within-tolerance'
        ? `${model}/${version} reproduced ${backends} within tolerance: weights differ by up to ${weights.maxAbsDiff.toPrecision(3)} (tolerance ${tolerance.weights}), metrics by up to ${metrics.reduce((max, m) => Math.max(max, Math.abs(m.diff)), 0).toPrecision(3)} (tolerance ${tolerance.metrics})`
        : `${model}/${version} did not reproduce ${backends}: ${reasons.join('; ')}`;
  return {
    model,
    version,
    verdict,
    backends: { recorded: recorded.backend, reproduced: reproduced.backend },
    sameBackend,
    tolerance: sameBackend ? null : tolerance,
    weights,
    preprocessor: { identical: differences.length === 0, differences: differences.slice(0, MAX_LISTED_DIFFERENCES) },
    metrics,
    reasons,
    message,
  };
}
