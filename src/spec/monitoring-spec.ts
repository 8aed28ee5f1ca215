/**
 * How a model is watched in production (issue 10). Optional in the spec:
 * specs written before it hash as they did. `drift` is the scheduled drift
 * check (workflows/drift-check.ts): the champion's training snapshot against
 * the prediction log of the last `window` hours, with the drift engine's
 * options under the names `perennial drift` takes (--method, --threshold,
 * --drift-share, --columns).
 */
import { z } from 'zod';
import { checkMethod } from '../drift/batch/methods';
import { quoteValue } from '../errors';
import { scheduleProblem } from '../temporal/schedules';
import { applyThresholds, DEFAULT_THRESHOLDS, type Thresholds } from '../monitor/policy';

/** Hours of prediction log a check may compare at most (90 days: what retention keeps by default). */
export const MAX_DRIFT_WINDOW_HOURS = 24 * 90;

export const driftCheckSpec = z
  .object({
    /** When the check runs: 'hourly', 'daily', 'weekly', an interval ('15m', '6h', '2d') or a cron expression of five fields (UTC). */
    schedule: z
      .string()
      .superRefine((s, ctx) => {
        const problem = scheduleProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: `${quoteValue(s)} ${problem}` });
      })
      .default('hourly'),
    /** Hours of prediction log the check compares with the reference (the window ends when the check runs). */
    window: z.number().int().min(1).max(MAX_DRIFT_WINDOW_HOURS, `at most ${MAX_DRIFT_WINDOW_HOURS} hours (90 days)`).default(24),
    /** Rows the window needs; with fewer the check is skipped, with the reason (a quiet hour proves nothing). */
    minRows: z.number().int().min(1).default(100),
    /** Rows per sample: a larger window (or reference) is sampled at random down to this many (reservoir sampling in DuckDB). */
    maxRows: z.number().int().min(1000).max(5_000_000).default(100_000),
    /** The drift engine's method for every column: 'auto' (Evidently's choice per column) or a method's name, as `perennial drift --method`. */
    method: z
      .string()
      .superRefine((m, ctx) => {
        try {
          checkMethod(m);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
        }
      })
      .default('auto'),
    /** The threshold for every column (default: each method's own), as `--threshold`. */
    threshold: z.number().gt(0).optional(),
    /** Share of drifted columns at which the dataset drifts, (0, 1], as `--drift-share`. */
    driftShare: z.number().gt(0).max(1).default(0.5),
    /** The columns compared (default: every numeric and categorical feature); date features are left out, as Evidently does. */
    columns: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict()
  .superRefine((drift, ctx) => {
    if (drift.minRows > drift.maxRows) {
      ctx.addIssue({ code: 'custom', path: ['minRows'], message: `${drift.minRows} is more than maxRows (${drift.maxRows})` });
    }
  });
export type DriftCheckPolicy = z.infer<typeof driftCheckSpec>;

/**
 * The monitor's performance thresholds (src/monitor/policy.ts), as `perennial models apply` sets them
 * (update `set-thresholds`); checked with the same rules the update's validator applies.
 */
const performanceSpec = z.record(z.string(), z.unknown()).superRefine((change, ctx) => {
  const applied = applyThresholds(DEFAULT_THRESHOLDS, change);
  if ('problems' in applied) for (const problem of applied.problems) ctx.addIssue({ code: 'custom', message: problem });
});

/** How a new champion is watched after its promotion before the monitor trusts it (probation). */
export const probationSpec = z
  .object({
    /** Hours after promotion the champion is on probation. */
    hours: z
      .number()
      .gt(0)
      .max(24 * 30)
      .default(24),
    /** Labels (of the champion, and of the previous champion's live record) before probation judges anything. */
    minLabels: z.number().int().min(10).default(200),
    /**
     * Roll back when the champion's live accuracy (or macro F1) is this much below the previous champion's live figure
     * (RMSE this share above), and significantly so (a one-sided two-proportion z-test at `alpha`; Welch's t on squared errors for regression).
     */
    maxDrop: z.number().min(0).max(1).default(0.05),
    alpha: z.number().gt(0).lt(0.5).default(0.01),
  })
  .strict();
export type ProbationPolicy = z.infer<typeof probationSpec>;

export const monitoringSpec = z
  .object({
    /** The scheduled drift check (optional: without it, a check run by hand takes the defaults and nothing is scheduled). */
    drift: driftCheckSpec.optional(),
    /** Categorical features whose values split live performance into segments (e.g. [location]). */
    segments: z.array(z.string().min(1)).max(5, 'at most 5 segment columns (each value of each is a live record)').optional(),
    /** The monitor's thresholds (minAccuracy, minMacroF1, maxRmse, maxMae, maxFlagRate, maxRelativeDrop, maxEstimatedDrop, minLabels, window, cooldownMinutes). */
    performance: performanceSpec.optional(),
    /** Probation of a new champion (defaults: 24 h, 200 labels, a drop of 0.05, alpha 0.01). */
    probation: probationSpec.optional(),
  })
  .strict();
export type MonitoringSpec = z.infer<typeof monitoringSpec>;

/** The monitor's thresholds from the spec: the defaults with the spec's `monitoring.performance` over them. */
export function monitorThresholds(spec: { monitoring?: MonitoringSpec }): Thresholds {
  const applied = applyThresholds(DEFAULT_THRESHOLDS, spec.monitoring?.performance ?? {});
  return 'thresholds' in applied ? applied.thresholds : { ...DEFAULT_THRESHOLDS };
}

/** The spec's probation policy, its defaults filled in. */
export function probationPolicy(spec: { monitoring?: MonitoringSpec }): ProbationPolicy {
  return spec.monitoring?.probation ?? probationSpec.parse({});
}

/** The spec's drift check, its defaults filled in (a spec without it gets them all). */
export function driftCheckPolicy(spec: { monitoring?: MonitoringSpec }): DriftCheckPolicy {
  return spec.monitoring?.drift ?? driftCheckSpec.parse({});
}

interface FeatureLike {
  name: string;
  kind: string;
}

/** What the model spec's own check adds: `monitoring.drift.columns` must name features the drift engine can test. */
export function checkMonitoringColumns(
  spec: { features: FeatureLike[]; monitoring?: MonitoringSpec },
  addIssue: (issue: { path: (string | number)[]; message: string }) => void,
): void {
  const columns = spec.monitoring?.drift?.columns ?? [];
  const features = new Map(spec.features.map((f) => [f.name, f]));
  (spec.monitoring?.segments ?? []).forEach((name, i) => {
    const feature = features.get(name);
    const path = ['monitoring', 'segments', i];
    if (!feature) addIssue({ path, message: `${quoteValue(name)} is not a feature; segments are categorical features: ${[...features.keys()].join(', ')}` });
    else if (feature.kind !== 'categorical') addIssue({ path, message: `${quoteValue(name)} is a ${feature.kind} feature; segments are categorical features` });
  });
  const seen = new Set<string>();
  columns.forEach((name, i) => {
    const path = ['monitoring', 'drift', 'columns', i];
    const feature = features.get(name);
    if (seen.has(name)) addIssue({ path, message: `${quoteValue(name)} is named twice` });
    else if (!feature)
      addIssue({ path, message: `${quoteValue(name)} is not a feature; the prediction log holds the features: ${[...features.keys()].join(', ')}` });
    else if (feature.kind === 'date') addIssue({ path, message: `${quoteValue(name)} is a date feature; drift is tested on numeric and categorical features` });
    seen.add(name);
  });
}

/**
 * The columns a check compares and how the drift engine reads each (a numeric
 * feature is numerical, a categorical one categorical, whatever its values
 * look like): the spec's `columns`, or every numeric and categorical feature.
 * `features` are those of the model that serves (the champion); a named
 * column it lacks, or a date feature, is left out with the reason.
 */
export function driftColumns(
  features: FeatureLike[],
  policy: Pick<DriftCheckPolicy, 'columns'>,
): { columns: { name: string; type: 'numerical' | 'categorical' }[]; leftOut: { name: string; reason: string }[] } {
  const byName = new Map(features.map((f) => [f.name, f]));
  const columns: { name: string; type: 'numerical' | 'categorical' }[] = [];
  const leftOut: { name: string; reason: string }[] = [];
  for (const name of policy.columns ?? features.map((f) => f.name)) {
    const feature = byName.get(name);
    if (!feature) leftOut.push({ name, reason: 'not a feature of the champion' });
    else if (feature.kind === 'date') leftOut.push({ name, reason: 'datetime column (Evidently leaves dates out of data drift)' });
    else columns.push({ name, type: feature.kind === 'numeric' ? 'numerical' : 'categorical' });
  }
  return { columns, leftOut };
}
