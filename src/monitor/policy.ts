/**
 * What a monitor decides, pure and plain JSON: the performance thresholds
 * (checked when a person or a service sets them), whether the champion's live
 * figures breach them, and the trigger policy — at most one run in flight and
 * one queued, a cooldown between automatic runs, every trigger recorded with
 * its source, reason and evidence.
 */
import type { LiveFigures } from './live';

export interface Thresholds {
  /** Classification: retrain when the champion's accuracy over the window falls below. */
  minAccuracy?: number;
  minMacroF1?: number;
  /** Regression: retrain when the window's RMSE or MAE rises above. */
  maxRmse?: number;
  maxMae?: number;
  /** Retrain when more than this share of the champion's answers is flagged by users. */
  maxFlagRate?: number;
  /** Relative to the champion's holdout figures: retrain when accuracy falls (or RMSE rises) by more than this share (0.1 = 10%). */
  maxRelativeDrop?: number;
  /**
   * Classification: retrain when the accuracy estimated before labels arrive (CBPE, from DriftCheck) falls more than this
   * (absolute, 0.05 = five points) below the same estimate on the champion's holdout.
   */
  maxEstimatedDrop?: number;
  /** Labels the window needs before any performance decision. */
  minLabels: number;
  /** Labels in the sliding window. */
  window: number;
  /** Minutes between two automatic runs (drift, performance); a trigger in between waits in the queue. */
  cooldownMinutes: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { minLabels: 200, window: 1000, cooldownMinutes: 60 };

const SHARES = ['minAccuracy', 'minMacroF1', 'maxFlagRate', 'maxRelativeDrop', 'maxEstimatedDrop'] as const;
const POSITIVE = ['maxRmse', 'maxMae'] as const;
const KNOWN = new Set<string>([...SHARES, ...POSITIVE, 'minLabels', 'window', 'cooldownMinutes']);

/** The thresholds after `change`, or the problems (each naming the field and why), for the update's validator. */
export function applyThresholds(current: Thresholds, change: unknown): { thresholds: Thresholds } | { problems: string[] } {
  if (typeof change !== 'object' || change === null || Array.isArray(change))
    return { problems: ['the thresholds must be an object, e.g. {"minAccuracy": 0.7}'] };
  const problems: string[] = [];
  const next: Record<string, unknown> = { ...current };
  for (const [field, value] of Object.entries(change)) {
    if (!KNOWN.has(field)) {
      problems.push(`${field}: not a threshold (known: ${[...KNOWN].join(', ')})`);
      continue;
    }
    if (value === null) {
      if (field === 'minLabels' || field === 'window' || field === 'cooldownMinutes') problems.push(`${field}: cannot be removed, only changed`);
      else delete next[field];
      continue;
    }
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      problems.push(`${field}: must be a number, not ${JSON.stringify(value)}`);
      continue;
    }
    if ((SHARES as readonly string[]).includes(field) && !(value >= 0 && value <= 1)) problems.push(`${field}: a share, from 0 to 1, not ${value}`);
    else if ((POSITIVE as readonly string[]).includes(field) && !(value > 0)) problems.push(`${field}: must be above 0, not ${value}`);
    else if (field === 'minLabels' && !(Number.isInteger(value) && value >= 10))
      problems.push(`minLabels: an integer of at least 10 (fewer labels decide nothing), not ${value}`);
    else if (field === 'window' && !(Number.isInteger(value) && value >= 10 && value <= 100_000))
      problems.push(`window: an integer from 10 to 100000, not ${value}`);
    else if (field === 'cooldownMinutes' && !(value >= 0)) problems.push(`cooldownMinutes: 0 or more, not ${value}`);
    next[field] = value;
  }
  const result = next as unknown as Thresholds;
  if (problems.length === 0 && result.window < result.minLabels) problems.push(`window: ${result.window} labels cannot hold minLabels (${result.minLabels})`);
  return problems.length > 0 ? { problems } : { thresholds: result };
}

/** The first threshold the champion's window breaches, as evidence a person reads; undefined when none (or too few labels). */
export function performanceBreach(thresholds: Thresholds, window: LiveFigures, holdout?: { accuracy?: number; rmse?: number }): string | undefined {
  if (window.labels < thresholds.minLabels) return undefined;
  const on = `over its last ${window.labels} labels`;
  if (thresholds.minAccuracy !== undefined && window.accuracy !== undefined && window.accuracy < thresholds.minAccuracy)
    return `accuracy ${window.accuracy.toFixed(3)} < minAccuracy ${thresholds.minAccuracy} ${on}`;
  if (thresholds.minMacroF1 !== undefined && window.macroF1 !== undefined && window.macroF1 < thresholds.minMacroF1)
    return `macro F1 ${window.macroF1.toFixed(3)} < minMacroF1 ${thresholds.minMacroF1} ${on}`;
  if (thresholds.maxRmse !== undefined && window.rmse !== undefined && window.rmse > thresholds.maxRmse)
    return `RMSE ${window.rmse.toPrecision(4)} > maxRmse ${thresholds.maxRmse} ${on}`;
  if (thresholds.maxMae !== undefined && window.mae !== undefined && window.mae > thresholds.maxMae)
    return `MAE ${window.mae.toPrecision(4)} > maxMae ${thresholds.maxMae} ${on}`;
  if (thresholds.maxFlagRate !== undefined && window.flagRate !== null && window.flagRate > thresholds.maxFlagRate)
    return `flag rate ${window.flagRate.toFixed(3)} > maxFlagRate ${thresholds.maxFlagRate}`;
  const drop = thresholds.maxRelativeDrop;
  if (drop !== undefined && holdout?.accuracy !== undefined && window.accuracy !== undefined && window.accuracy < holdout.accuracy * (1 - drop))
    return `accuracy ${window.accuracy.toFixed(3)} is more than ${drop * 100}% below the holdout's ${holdout.accuracy.toFixed(3)} ${on}`;
  if (drop !== undefined && holdout?.rmse !== undefined && window.rmse !== undefined && window.rmse > holdout.rmse * (1 + drop))
    return `RMSE ${window.rmse.toPrecision(4)} is more than ${drop * 100}% above the holdout's ${holdout.rmse.toPrecision(4)} ${on}`;
  return undefined;
}

// ---------------------------------------------------------------- triggers

/** drift and performance are automatic (the cooldown holds them); a schedule, a service and a person are not. */
export type TriggerSource = 'drift' | 'performance' | 'schedule' | 'service' | 'manual';
export const AUTOMATIC: readonly TriggerSource[] = ['drift', 'performance'];

export interface Trigger {
  source: TriggerSource;
  reason: string;
  /** What showed it: a drift report, the breached figure, who asked. */
  evidence?: string;
  requestedBy?: string;
  at: string;
}

export type TriggerOutcome = 'started' | 'joined' | 'queued';

export interface TriggerRecord extends Trigger {
  outcome: TriggerOutcome;
  /** The run it started or joined (retrain/<model>), once known. */
  workflowId?: string;
  /** Why it started no run: held after a probation rollback until new data arrives. */
  held?: string;
}

export interface TriggerState {
  /** `runId`: the run started (monitors since runs outlive their own runs follow it by id across continue-as-new). */
  inFlight: (Trigger & { workflowId: string; startedAt: string; runId?: string }) | null;
  queued: Trigger | null;
  /** When the last automatic run started (the cooldown counts from there). */
  lastAutomaticStart: string | null;
  /** The newest triggers, oldest first. */
  recent: TriggerRecord[];
}

const KEPT = 20;

export function emptyTriggerState(): TriggerState {
  return { inFlight: null, queued: null, lastAutomaticStart: null, recent: [] };
}

/**
 * Takes a trigger: queued when nothing waits (it starts when the run in flight
 * ends and the cooldown allows), joined to the queued one otherwise (a burst
 * during a run starts at most one more run).
 */
export function takeTrigger(state: TriggerState, trigger: Trigger, thresholds: Thresholds, now: Date): TriggerOutcome {
  const outcome: TriggerOutcome = state.queued ? 'joined' : state.inFlight || cooldownLeft(state, trigger, thresholds, now) > 0 ? 'queued' : 'started';
  if (!state.queued) state.queued = trigger;
  state.recent.push({ ...trigger, outcome });
  if (state.recent.length > KEPT) state.recent.splice(0, state.recent.length - KEPT);
  return outcome;
}

function cooldownLeft(state: TriggerState, trigger: Trigger, thresholds: Thresholds, now: Date): number {
  if (!AUTOMATIC.includes(trigger.source) || !state.lastAutomaticStart) return 0;
  return Math.max(0, Date.parse(state.lastAutomaticStart) + thresholds.cooldownMinutes * 60_000 - now.getTime());
}

/** Milliseconds until the queued trigger may start: 0 now, Infinity while a run is in flight or nothing waits. */
export function msUntilStart(state: TriggerState, thresholds: Thresholds, now: Date): number {
  if (!state.queued || state.inFlight) return Infinity;
  return cooldownLeft(state, state.queued, thresholds, now);
}
