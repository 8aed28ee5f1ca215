import { z } from 'zod';
import type { CbpeCalibration } from '../monitor/cbpe';
import type { Baseline, Metrics } from './classification';

export const gateMetric = z.enum(['accuracy', 'macroF1', 'weightedF1', 'logLoss', 'rmse', 'mae', 'r2']);
export type GateMetric = z.infer<typeof gateMetric>;

/** Metrics where a larger value is better; the others (logLoss, rmse, mae) are better smaller. */
const HIGHER_IS_BETTER: Record<GateMetric, boolean> = {
  accuracy: true,
  macroF1: true,
  weightedF1: true,
  r2: true,
  logLoss: false,
  rmse: false,
  mae: false,
};

const regressionRule = z.object({
  metric: gateMetric,
  /** Largest allowed loss against the champion, in the metric's units (0.02 = two accuracy points). */
  by: z.number().min(0),
});

/**
 * The quality gate a candidate must pass before it is registered and released.
 * Every threshold is optional; `maxRegression` compares with the champion.
 */
export const gateSpec = z
  .object({
    minAccuracy: z.number().min(0).max(1).optional(),
    minMacroF1: z.number().min(0).max(1).optional(),
    minWeightedF1: z.number().min(0).max(1).optional(),
    maxLogLoss: z.number().min(0).optional(),
    maxRmse: z.number().min(0).optional(),
    maxMae: z.number().min(0).optional(),
    minR2: z.number().max(1).optional(),
    /** Not worse than the champion by more than `by` on `metric` (one rule or several). */
    maxRegression: z.union([regressionRule, z.array(regressionRule)]).optional(),
    /**
     * Must beat the trivial baseline (classification: accuracy > majority-class
     * accuracy; regression: RMSE < mean-predictor RMSE). Default: true for
     * classification, false for regression.
     */
    mustBeatBaseline: z.boolean().optional(),
  })
  .strict();

export type GateSpecInput = z.input<typeof gateSpec>;

export interface GateCheck {
  name: string;
  passed: boolean;
  detail: string;
}

export interface GateResult {
  passed: boolean;
  checks: GateCheck[];
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? v.toFixed(1) : Number(v.toPrecision(3)).toString();
}

/** A gate metric of a model's metrics; undefined when the task has no such metric (rmse of a classifier). */
function metricOf(m: Metrics, name: GateMetric): number | undefined {
  if (m.task === 'classification') {
    const byName: Partial<Record<GateMetric, number>> = { accuracy: m.accuracy, macroF1: m.macroF1, weightedF1: m.weightedF1, logLoss: m.logLoss };
    return byName[name];
  }
  const byName: Partial<Record<GateMetric, number>> = { rmse: m.rmse, mae: m.mae, r2: m.r2 };
  return byName[name];
}

/**
 * Decides whether `candidate` may replace `champion` (null: no model in
 * production yet). Every check is listed with a readable detail, passed or not.
 */
export function applyGate(candidate: Metrics, champion: Metrics | null, gate: GateSpecInput, baseline?: Baseline): GateResult {
  const parsed = gateSpec.safeParse(gate);
  if (!parsed.success) throw new Error(`invalid gate: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(gate)'}: ${i.message}`).join('; ')}`);
  const g = parsed.data;
  const checks: GateCheck[] = [];

  const threshold = (name: string, metric: GateMetric, kind: 'min' | 'max', limit: number | undefined) => {
    if (limit === undefined) return;
    const v = metricOf(candidate, metric);
    if (v === undefined) {
      checks.push({ name, passed: false, detail: `${name} needs ${metric}, which a ${candidate.task} model does not report; remove it from the gate` });
      return;
    }
    const passed = kind === 'min' ? v >= limit : v <= limit;
    const op = kind === 'min' ? (passed ? '>=' : '<') : passed ? '<=' : '>';
    checks.push({ name, passed, detail: `${metric} ${fmt(v)} ${op} ${name} ${fmt(limit)}` });
  };
  threshold('minAccuracy', 'accuracy', 'min', g.minAccuracy);
  threshold('minMacroF1', 'macroF1', 'min', g.minMacroF1);
  threshold('minWeightedF1', 'weightedF1', 'min', g.minWeightedF1);
  threshold('maxLogLoss', 'logLoss', 'max', g.maxLogLoss);
  threshold('maxRmse', 'rmse', 'max', g.maxRmse);
  threshold('maxMae', 'mae', 'max', g.maxMae);
  threshold('minR2', 'r2', 'min', g.minR2);

  const rules = g.maxRegression === undefined ? [] : Array.isArray(g.maxRegression) ? g.maxRegression : [g.maxRegression];
  for (const rule of rules) {
    const name = `maxRegression(${rule.metric})`;
    const c = metricOf(candidate, rule.metric);
    if (c === undefined) {
      checks.push({ name, passed: false, detail: `${rule.metric} is not reported by a ${candidate.task} model; fix the gate's maxRegression.metric` });
      continue;
    }
    if (champion === null) {
      checks.push({ name, passed: true, detail: `no champion yet: ${rule.metric} ${fmt(c)} is not compared` });
      continue;
    }
    const ch = metricOf(champion, rule.metric);
    if (ch === undefined) {
      checks.push({ name, passed: false, detail: `the champion does not report ${rule.metric} (it is a ${champion.task} model)` });
      continue;
    }
    const higher = HIGHER_IS_BETTER[rule.metric];
    // Worsening: how much worse the candidate is (negative when better).
    const worse = higher ? ch - c : c - ch;
    const passed = worse <= rule.by + 1e-12;
    const bound = higher ? ch - rule.by : ch + rule.by;
    const op = higher ? (passed ? '>=' : '<') : passed ? '<=' : '>';
    checks.push({
      name,
      passed,
      detail: `${rule.metric} ${fmt(c)} ${op} ${fmt(bound)} (champion ${fmt(ch)} ${higher ? '-' : '+'} allowed ${fmt(rule.by)}; ${higher ? 'higher' : 'lower'} is better)`,
    });
  }

  const mustBeat = g.mustBeatBaseline ?? candidate.task === 'classification';
  if (mustBeat) {
    if (baseline === undefined) {
      checks.push({
        name: 'mustBeatBaseline',
        passed: false,
        detail: 'no baseline was given to compare with (pass majorityBaseline / meanBaseline, or set mustBeatBaseline: false)',
      });
    } else if (candidate.task === 'classification' && baseline.task === 'classification') {
      const passed = candidate.accuracy > baseline.accuracy;
      checks.push({
        name: 'mustBeatBaseline',
        passed,
        detail: `accuracy ${fmt(candidate.accuracy)} ${passed ? '>' : '<='} majority-class baseline ${fmt(baseline.accuracy)} (always '${baseline.className}')`,
      });
    } else if (candidate.task === 'regression' && baseline.task === 'regression') {
      const passed = candidate.rmse < baseline.rmse;
      checks.push({
        name: 'mustBeatBaseline',
        passed,
        detail: `rmse ${fmt(candidate.rmse)} ${passed ? '<' : '>='} mean-predictor baseline ${fmt(baseline.rmse)}`,
      });
    } else {
      checks.push({ name: 'mustBeatBaseline', passed: false, detail: `the baseline is for ${baseline.task}, the candidate is ${candidate.task}` });
    }
  }
  if (champion !== null && champion.task !== candidate.task) {
    checks.push({ name: 'sameTask', passed: false, detail: `the candidate is ${candidate.task}, the champion ${champion.task}` });
  }
  return { passed: checks.every((c) => c.passed), checks };
}

/** What evaluate concludes for one run (metrics.json of the version it registers). */
export interface Evaluation {
  /** The full report in S3: candidate and champion on the same holdout, the baseline, every gate check. */
  reportKey: string;
  candidate: Metrics;
  champion: Metrics | null;
  /** The trivial baseline on the same rows: majority-class accuracy or mean-prediction RMSE. */
  baseline: number | null;
  gate: GateResult;
  /** Classification: CBPE's calibration fitted on the candidate's holdout probabilities (absent: regression, or a version evaluated before it existed). */
  calibration?: CbpeCalibration;
}
