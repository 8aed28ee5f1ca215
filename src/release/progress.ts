/**
 * Where a release stands and what it does next, from the spec, the sequential
 * test and the guards: pure, plain JSON, so the release workflow carries it
 * (and hands it to continue-as-new) and a unit test can walk every branch.
 *
 * The rules, in order, at each look:
 *   1. a guard failed or errored: roll back (Argo Rollouts aborts on a failed
 *      or errored AnalysisRun);
 *   2. the test concluded 'inferior': roll back, with its evidence;
 *   3. the test is 'inconclusive' (maxLabels reached without a decision), or
 *      the release ran past maxHours: roll back — the candidate did not show
 *      it is no worse, and the champion it would replace is known good;
 *   4. a guard is inconclusive (too little traffic to judge): pause for a
 *      person, who resumes (the guards start over) or aborts;
 *   5. paused by a person: wait;
 *   6. canary: a step whose bake time is over and whose candidate labels reach
 *      its minimum moves to the next weight; after the last step, and for ab
 *      and shadow, the test's 'non-inferior' promotes (after a person's
 *      approval when the spec asks for it).
 * A decision of the test is final: once 'non-inferior', the remaining canary
 * steps still bake (the guards still watch the larger share) before promotion.
 */
import type { ReleaseSpec } from '../spec/release-spec';
import { assessRun, createGuard, measure, record, type GuardRun, type GuardState, type PeriodReading } from './guards';
import { decide, emptySequentialState, observeTotals, type ArmStats, type LossKind, type SequentialResult, type SequentialState } from './sequential';

export type ReleasePhase = 'running' | 'paused' | 'awaiting-approval' | 'promoting' | 'rolling-back' | 'promoted' | 'rolled-back';

/** One look, as the UI and the release record list them. */
export interface ReleaseLook {
  at: string;
  weight: number;
  labels: { candidate: number; champion: number };
  decision: SequentialResult['decision'];
  guards: GuardRun['phase'];
  note: string;
}

export interface ReleaseProgress {
  phase: ReleasePhase;
  /** Canary: the step in force (0-based); ab and shadow: 0. */
  step: number;
  weight: number;
  startedAt: string;
  stepStartedAt: string;
  /** The candidate's labels when the step began (a step's minimum counts from there). */
  stepLabelsAtStart: number;
  /** Labelled predictions of each arm at the last look (the test's own counts stop once it has decided). */
  labels: { candidate: number; champion: number };
  sequential: SequentialState;
  guards: GuardState[];
  /** The newest looks, oldest first. */
  looks: ReleaseLook[];
  /** Why the release is paused, rolling back, or was decided. */
  reason: string | null;
}

export type ReleaseAction =
  | { kind: 'wait' }
  | { kind: 'next-step'; step: number; weight: number }
  | { kind: 'promote'; reason: string }
  | { kind: 'await-approval'; reason: string }
  | { kind: 'pause'; reason: string }
  | { kind: 'roll-back'; reason: string };

const KEPT_LOOKS = 20;

/** The loss the spec names, or the task's natural one. */
export function releaseLoss(spec: ReleaseSpec, task: 'classification' | 'regression'): LossKind {
  return spec.loss ?? (task === 'classification' ? 'error' : 'absolute');
}

/** The candidate's weight at a step: the step's (canary), the split (ab), the share copied (shadow; default all). */
export function weightAt(spec: ReleaseSpec, step: number): number {
  if (spec.strategy === 'canary') return spec.steps![step]!.weight;
  return spec.weight ?? 1;
}

export function startProgress(spec: ReleaseSpec, task: 'classification' | 'regression', now: Date): ReleaseProgress {
  return {
    phase: 'running',
    step: 0,
    weight: weightAt(spec, 0),
    startedAt: now.toISOString(),
    stepStartedAt: now.toISOString(),
    stepLabelsAtStart: 0,
    labels: { candidate: 0, champion: 0 },
    sequential: emptySequentialState({
      alpha: spec.alpha,
      margin: spec.margin,
      minSamples: spec.minLabels,
      maxSamples: spec.maxLabels,
      loss: releaseLoss(spec, task),
    }),
    guards: spec.guards.map(createGuard),
    looks: [],
    reason: null,
  };
}

export interface LookReadings {
  /** Every labelled loss of each arm since the release started. */
  totals: { candidate: ArmStats; champion: ArmStats };
  /** One reading per guard of the spec, in its order. */
  guards: PeriodReading[];
}

/** The progress after one look: the test and the guards take the readings. */
export function takeLook(progress: ReleaseProgress, readings: LookReadings, now: Date): ReleaseProgress {
  const sequential = observeTotals(progress.sequential, readings.totals);
  const guards = progress.guards.map((guard, i) => record(guard, measure(guard, readings.guards[i] ?? { error: 'no reading' })));
  const result = decide(sequential);
  const labels = { candidate: readings.totals.candidate.n, champion: readings.totals.champion.n };
  const look: ReleaseLook = {
    at: now.toISOString(),
    weight: progress.weight,
    labels,
    decision: result.decision,
    guards: assessRun(guards).phase,
    note: result.summary,
  };
  return { ...progress, sequential, guards, labels, looks: [...progress.looks, look].slice(-KEPT_LOOKS) };
}

/** What the release does after a look (see the rules in the header). */
export function nextAction(spec: ReleaseSpec, progress: ReleaseProgress, now: Date): ReleaseAction {
  const guards = assessRun(progress.guards);
  const result = decide(progress.sequential);
  if (guards.phase === 'failed' || guards.phase === 'error') {
    // The counts say why the guard ended; its last measurement says what was measured.
    const last = guards.guards.find((g) => g.phase === guards.phase)?.measurements.at(-1);
    return { kind: 'roll-back', reason: `${guards.message}${last ? `; last measurement: ${last.message}` : ''}` };
  }
  if (result.decision === 'inferior') return { kind: 'roll-back', reason: `the candidate is worse than the champion: ${result.summary}` };
  if (result.decision === 'inconclusive') {
    return { kind: 'roll-back', reason: `the test reached ${spec.maxLabels} labels without showing the candidate no worse: ${result.summary}` };
  }
  const hours = (now.getTime() - Date.parse(progress.startedAt)) / 3_600_000;
  if (hours > spec.maxHours) return { kind: 'roll-back', reason: `undecided after ${spec.maxHours} h (maxHours): ${result.summary}` };
  if (guards.phase === 'inconclusive') return { kind: 'pause', reason: `${guards.message}; resume to measure again, or abort` };
  if (progress.phase === 'paused') return { kind: 'wait' };

  if (spec.strategy === 'canary') {
    const step = spec.steps![progress.step]!;
    const baked = now.getTime() - Date.parse(progress.stepStartedAt) >= step.bakeSeconds * 1000;
    const labels = progress.labels.candidate - progress.stepLabelsAtStart >= step.minLabels;
    if (!baked || !labels) return { kind: 'wait' };
    const next = progress.step + 1;
    if (next < spec.steps!.length) return { kind: 'next-step', step: next, weight: spec.steps![next]!.weight };
  }
  if (result.decision !== 'non-inferior') return { kind: 'wait' };
  const reason = `the candidate is no worse than the champion: ${result.summary}`;
  return spec.manualApproval ? { kind: 'await-approval', reason } : { kind: 'promote', reason };
}

/** The progress once a step begins. */
export function enterStep(progress: ReleaseProgress, step: number, weight: number, now: Date): ReleaseProgress {
  return { ...progress, step, weight, stepStartedAt: now.toISOString(), stepLabelsAtStart: progress.labels.candidate };
}

/** A person resumed a paused release: the guards start over (their inconclusive periods are behind). */
export function resumeProgress(spec: ReleaseSpec, progress: ReleaseProgress): ReleaseProgress {
  return { ...progress, phase: 'running', reason: null, guards: spec.guards.map(createGuard) };
}
