/**
 * ModelMonitor (`monitor/<model>`): one per model, running for months. It
 * takes the production signals (`feedback` from the model server and any
 * service, `drift` from DriftCheck or an external detector, `retrain` from a
 * service), keeps each version's live performance, and turns drift, a
 * breached performance threshold, a service's request or a person's `trigger`
 * update into retraining runs (RetrainingPipeline as a child, its trigger and
 * reason in the Temporal UI): at most one in flight and one queued, automatic
 * triggers spaced by a cooldown, every trigger recorded with its evidence. A
 * signal with a bad payload is dropped with a log line and a counter; it never
 * fails the workflow. It continues as new before its history grows large,
 * carrying its state, also while a run is in flight: it follows that run by an
 * activity that waits for its end, so a release that waits days for its
 * canary does not hold the monitor's history open.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  log,
  metricMeter,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createMonitorActivities } from '../activities/monitor';
import type { createRetrainRunActivities, RetrainRunOutcome } from '../activities/retrain-runs';
import { InvalidNameError } from '../src/errors';
import { checkName, isValidName } from '../src/names';
import { feedErrors, newErrorStream, type ErrorStream } from '../src/monitor/error-stream';
import { addFeedback, emptyVersionLive, liveFigures, windowFigures, type LiveFigures, type VersionLive } from '../src/monitor/live';
import { createMonitorMetrics } from '../src/monitor/metrics';
import { seenIds } from '../src/monitor/seen-ids';
import { baselineLabels, lossSummary, probationBreach, type LiveGate, type Probation } from '../src/monitor/probation';
import type { ProbationPolicy } from '../src/spec/monitoring-spec';
import {
  applyThresholds,
  AUTOMATIC,
  DEFAULT_THRESHOLDS,
  emptyTriggerState,
  msUntilStart,
  performanceBreach,
  takeTrigger,
  type Thresholds,
  type Trigger,
  type TriggerSource,
  type TriggerState,
} from '../src/monitor/policy';
import {
  DRIFT_SIGNAL,
  FEEDBACK_SIGNAL,
  MONITOR_STATUS_QUERY,
  RETRAIN_SIGNAL,
  SET_THRESHOLDS_UPDATE,
  TRIGGER_UPDATE,
  type DriftSignal,
  type EstimatedPerformance,
  type FeedbackSignal,
  type FeedbackSignalItem,
  type RetrainSignal,
  type TriggerAnswer,
  type TriggerRequest,
} from '../src/temporal/monitor-contract';
import { ACTIVITY_RETRY, SA_MODEL, workflowIds, type RetrainInput, type RetrainOutcome } from './definitions';
import { checkFeedbackPayload, isObject } from './feedback-receiver';
import { reasonOf } from './reason';
import { RetrainingPipeline } from './retraining-pipeline';
import { RollbackModel } from './rollback';

type Activities = ReturnType<typeof createMonitorActivities> & ReturnType<typeof createRetrainRunActivities>;

const { monitorContext } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: '10 minutes', retry: ACTIVITY_RETRY });
// A run with a release may take days: the wait heartbeats, and a worker restart retries it.
const { awaitRunEnd } = proxyActivities<Activities>({ startToCloseTimeout: '30 days', heartbeatTimeout: '30 seconds', retry: ACTIVITY_RETRY });

/** Prediction ids remembered for duplicates (about the feedback of a few minutes of busy traffic), carried across continue-as-new. */
const SEEN_LIMIT = 20_000;
/** Versions whose live figures are kept (the newest; the champion always). */
const VERSIONS_KEPT = 10;
const DEFAULT_SIGNALS_PER_RUN = 2_000;
/** Segments: values kept per version (the rest are counted as dropped), versions with segments (the champion and the newest other). */
const SEGMENTS_PER_VERSION = 8;
const VERSIONS_WITH_SEGMENTS = 2;
/** How often the monitor re-reads the champion (a promotion or rollback made outside it: the CLI, a release). */
const REFRESH_EVERY_MS = 10 * 60_000;
/**
 * Probation, segments, the error-stream detector, estimated performance, the periodic refresh and the hold after a
 * rollback: runs started before them replay without.
 */
const LOOP_V2_PATCH = 'monitor-probation-segments-estimates';
/** The run in flight started with startChild and followed by an activity, so the monitor continues as new during it: runs started before wait for the child in place. */
const RUNS_OUTLIVE_MONITOR_RUN_PATCH = 'monitor-continues-as-new-during-a-run';
/** The pipeline's own outcomes; any other end of a run (terminated, cancelled, timed out) counts as failed. */
const RUN_OUTCOMES: readonly string[] = ['promoted', 'rejected', 'unchanged', 'failed'] satisfies RetrainOutcome[];
/** Sources held after a probation rollback until new data arrives (a person or a service still decides for themselves). */
const HELD_SOURCES: readonly TriggerSource[] = ['drift', 'performance', 'schedule'];

export interface ModelMonitorState {
  thresholds: Thresholds;
  versions: Record<string, VersionLive>;
  /** Prediction ids carried by runs before hashes (emptied into `seenHashes` at the start of a run). */
  seen: string[];
  /** The newest prediction ids, hashed (src/monitor/seen-ids.ts), oldest first. */
  seenHashes?: number[];
  champion: { version: string; holdout: { accuracy?: number; rmse?: number } } | null;
  drift: (Omit<DriftSignal, 'columns'> & { at: string; drifted: string[] }) | null;
  triggers: TriggerState;
  /** The champion a performance trigger was taken for: not again for it (a new champion, or new thresholds, clear it). */
  performanceFlagged: string | null;
  lastRun: { workflowId: string; trigger: TriggerSource; outcome: RetrainOutcome | 'not-started'; message: string; endedAt: string } | null;
  counters: { signals: number; items: number; duplicates: number; dropped: number; lastDropped?: string; runs: number; triggers: number };
  /** Per version, per segment ('location=New York'): live figures (runs started before segments lack them). */
  segments?: Record<string, Record<string, VersionLive>>;
  /** The champion's error stream through DDM (classification) or ADWIN (regression). */
  errorStream?: ErrorStream | null;
  /** The last estimate before labels (CBPE, from DriftCheck). */
  estimated?: (EstimatedPerformance & { at: string }) | null;
  /** The champion an estimate trigger was taken for. */
  estimateFlagged?: string | null;
  /** What the registry says of the champion's gate and the spec's probation policy (refreshed with the champion). */
  gate?: LiveGate;
  probationPolicy?: ProbationPolicy;
  probation?: Probation | null;
  /** Probation's verdicts, newest last. */
  probations?: ProbationRecord[];
  /** After a probation rollback: automatic and scheduled triggers start no run until data arrives after `since`. */
  hold?: { since: string; version: string } | null;
}

export interface ProbationRecord {
  version: string;
  previous: string | null;
  since: string;
  endedAt: string;
  outcome: 'passed' | 'rolled-back' | 'rollback-failed' | 'superseded';
  evidence?: string;
  workflowId?: string;
}

export interface ModelMonitorInput {
  model: string;
  /** Signals after which the run continues as new (default 2,000), once no retraining is in flight. */
  signalsPerRun?: number;
  /** How often the champion is re-read (default 10 minutes; tests take less). */
  refreshEveryMs?: number;
  state?: ModelMonitorState;
}

export interface ModelMonitorStatus {
  model: string;
  champion: string | null;
  thresholds: Thresholds;
  /** Per version: everything seen, and the last `thresholds.window` labels. */
  live: Record<string, { all: ReturnType<typeof liveFigures>; window: ReturnType<typeof windowFigures> }>;
  drift: ModelMonitorState['drift'];
  inFlight: TriggerState['inFlight'];
  queued: TriggerState['queued'];
  triggers: TriggerState['recent'];
  lastRun: ModelMonitorState['lastRun'];
  counters: ModelMonitorState['counters'];
  /** Per version, per segment: the last `thresholds.window` labels. */
  segments: Record<string, Record<string, LiveFigures>>;
  estimated: ModelMonitorState['estimated'];
  probation: ModelMonitorState['probation'];
  probations: ProbationRecord[];
  hold: ModelMonitorState['hold'];
  errorStream: { version: string; detector: string; labels: number } | null;
}

export const monitorFeedbackSignal = defineSignal<[FeedbackSignal]>(FEEDBACK_SIGNAL);
export const monitorDriftSignal = defineSignal<[DriftSignal]>(DRIFT_SIGNAL);
export const monitorRetrainSignal = defineSignal<[RetrainSignal]>(RETRAIN_SIGNAL);
export const monitorStatusQuery = defineQuery<ModelMonitorStatus>(MONITOR_STATUS_QUERY);
export const triggerUpdate = defineUpdate<TriggerAnswer, [TriggerRequest]>(TRIGGER_UPDATE);
export const setThresholdsUpdate = defineUpdate<Thresholds, [Partial<Thresholds>]>(SET_THRESHOLDS_UPDATE);

/** A drift payload's problem, naming the field; undefined when it is good. */
function driftProblem(payload: unknown): string | undefined {
  if (!isObject(payload)) return 'the payload must be an object {"share", "drift", "columns": [...]}';
  if (typeof payload.share !== 'number' || !(payload.share >= 0 && payload.share <= 1)) return "'share' must be a number from 0 to 1";
  if (typeof payload.drift !== 'boolean') return "'drift' must be true or false";
  if (!Array.isArray(payload.columns)) return "'columns' must be a list";
  for (const [i, c] of (payload.columns as unknown[]).entries()) {
    if (!isObject(c) || typeof c.name !== 'string' || typeof c.drift !== 'boolean') return `columns[${i}] needs 'name' (text) and 'drift' (true or false)`;
  }
  if (payload.reportKey !== undefined && typeof payload.reportKey !== 'string') return "'reportKey' must be text";
  return undefined;
}

/** A drift payload's `estimated` problem (absent is fine), naming the field. */
function estimatedProblem(estimated: unknown): string | undefined {
  if (estimated === undefined) return undefined;
  if (!isObject(estimated)) return "'estimated' must be an object {version, rows, accuracy, macroF1, reference: {accuracy, macroF1}}";
  if (!isValidName('version', estimated.version)) return "'estimated.version' must be a version name (v1, v2, ...)";
  if (typeof estimated.rows !== 'number' || !(estimated.rows >= 0)) return "'estimated.rows' must be a count";
  const share = (x: unknown) => typeof x === 'number' && x >= 0 && x <= 1;
  if (!share(estimated.accuracy) || !share(estimated.macroF1)) return "'estimated.accuracy' and 'estimated.macroF1' must be numbers from 0 to 1";
  const reference = estimated.reference;
  if (!isObject(reference) || !share(reference.accuracy) || !share(reference.macroF1))
    return "'estimated.reference' must be {accuracy, macroF1}, numbers from 0 to 1";
  return undefined;
}

function reasonProblem(payload: unknown, what: string): string | undefined {
  if (!isObject(payload) || typeof payload.reason !== 'string' || payload.reason.trim() === '') return `${what}: 'reason' must say why (non-empty text)`;
  if (payload.reason.length > 500) return `${what}: 'reason' is ${payload.reason.length} characters; keep it under 500 (link the evidence instead)`;
  if (payload.requestedBy !== undefined && typeof payload.requestedBy !== 'string') return `${what}: 'requestedBy' must be text`;
  return undefined;
}

export async function ModelMonitor(input: ModelMonitorInput): Promise<void> {
  const { model } = input;
  try {
    checkName('model', model);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  const loopV2 = patched(LOOP_V2_PATCH);
  const runsOutliveThisRun = loopV2 && patched(RUNS_OUTLIVE_MONITOR_RUN_PATCH);
  const signalsPerRun = Math.max(1, input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN);
  const refreshEveryMs = Math.max(1000, input.refreshEveryMs ?? REFRESH_EVERY_MS);
  const state: ModelMonitorState = input.state ?? {
    thresholds: { ...DEFAULT_THRESHOLDS },
    versions: {},
    seen: [],
    champion: null,
    drift: null,
    triggers: emptyTriggerState(),
    performanceFlagged: null,
    lastRun: null,
    counters: { signals: 0, items: 0, duplicates: 0, dropped: 0, runs: 0, triggers: 0 },
  };
  state.counters.runs += 1;
  if (!input.state) upsertSearchAttributes([{ key: SA_MODEL, value: model }]);
  const seen = seenIds(state, SEEN_LIMIT);
  let signalsThisRun = 0;
  let rollingBack = false;
  /** While the end of a run is being recorded (its outcome, then the champion re-read): no continue-as-new in between. */
  let endingRun = false;
  /** Runs whose end this monitor run recorded: the main loop looks again at its queue when one ends. */
  let runsEnded = 0;
  const now = () => new Date(); // workflow time: deterministic
  const metrics = createMonitorMetrics(metricMeter, model);

  const status = (): ModelMonitorStatus => ({
    model,
    champion: state.champion?.version ?? null,
    thresholds: state.thresholds,
    live: Object.fromEntries(Object.entries(state.versions).map(([v, live]) => [v, { all: liveFigures(live), window: windowFigures(live) }])),
    drift: state.drift,
    inFlight: state.triggers.inFlight,
    queued: state.triggers.queued,
    triggers: state.triggers.recent,
    lastRun: state.lastRun,
    counters: state.counters,
    segments: Object.fromEntries(
      Object.entries(state.segments ?? {}).map(([v, segments]) => [
        v,
        Object.fromEntries(Object.entries(segments).map(([key, live]) => [key.slice(1), windowFigures(live)])),
      ]),
    ),
    estimated: state.estimated ?? null,
    probation: state.probation ?? null,
    probations: state.probations ?? [],
    hold: state.hold ?? null,
    errorStream: state.errorStream ? { version: state.errorStream.version, detector: state.errorStream.detector, labels: state.errorStream.seen } : null,
  });
  const show = () => {
    const champion = state.champion?.version;
    const live = champion && state.versions[champion] ? windowFigures(state.versions[champion]) : null;
    const figure =
      live?.accuracy !== undefined ? `accuracy ${live.accuracy.toFixed(3)}` : live?.rmse !== undefined ? `RMSE ${live.rmse.toPrecision(4)}` : 'no labels yet';
    const estimate =
      state.estimated && state.estimated.version === champion ? ` · estimated accuracy ${state.estimated.accuracy.toFixed(3)} (CBPE, before labels)` : '';
    const probation = state.probation ? ` · on probation until ${state.probation.until}` : '';
    const running = state.triggers.inFlight ? ` · retraining (${state.triggers.inFlight.source}: ${state.triggers.inFlight.reason})` : '';
    setCurrentDetails(
      `**${model}** · champion ${champion ?? '(none)'}: ${figure}${live ? ` over ${live.labels} labels` : ''}${estimate}${probation}${running}`,
    );
  };

  const trigger = (source: TriggerSource, reason: string, extra: { evidence?: string; requestedBy?: string } = {}) => {
    state.counters.triggers += 1;
    const t: Trigger = { source, reason, at: now().toISOString(), ...extra };
    const outcome = takeTrigger(state.triggers, t, state.thresholds, now());
    metrics.trigger(source, outcome);
    log.info('Retraining trigger', { model, source, reason, outcome });
    return { trigger: t, outcome };
  };
  const dropped = (what: string, problem: string) => {
    state.counters.dropped += 1;
    state.counters.lastDropped = `${what}: ${problem}`;
    metrics.dropped(what);
    log.warn('ModelMonitor: dropped a signal with a bad payload', { model, signal: what, problem });
  };

  /** Ends a probation with its verdict (kept: the newest 20). */
  const endProbation = (outcome: ProbationRecord['outcome'], extra: { evidence?: string; workflowId?: string } = {}) => {
    const p = state.probation;
    if (!p) return;
    state.probations = [
      ...(state.probations ?? []),
      { version: p.version, previous: p.previous, since: p.since, endedAt: now().toISOString(), outcome, ...extra },
    ].slice(-20);
    state.probation = null;
  };

  /** Puts the previous champion back (RollbackModel as a child), records the evidence and holds automatic triggers until new data. */
  const rollBack = async (p: Probation, evidence: string) => {
    rollingBack = true;
    const workflowId = workflowIds.rollback(model);
    log.warn('ModelMonitor: the champion on probation disappoints; rolling back', { model, from: p.version, to: p.previous, evidence });
    try {
      await executeChild(RollbackModel, {
        workflowId,
        args: [{ model, from: p.version, to: p.previous!, reason: `probation: ${evidence}`, requestedBy: `monitor/${model}` }],
        staticSummary: `Probation of **${model}** ${p.version} failed: back to ${p.previous}`,
      });
      endProbation('rolled-back', { evidence, workflowId });
      metrics.rollback('probation');
      // The same data would train the same model again: wait for new data.
      state.hold = { since: now().toISOString(), version: p.version };
    } catch (error) {
      endProbation('rollback-failed', { evidence: `${evidence}; the rollback failed: ${reasonOf(error)}`, workflowId });
      log.warn('ModelMonitor: the probation rollback failed', { model, error: reasonOf(error) });
    }
    rollingBack = false;
    await refresh();
  };

  /** Probation of the champion: true when it is being rolled back (no other trigger then). */
  const checkProbation = (): boolean => {
    if (rollingBack) return true;
    const p = state.probation;
    if (!p) return false;
    if (p.version !== state.champion?.version) {
      endProbation('superseded');
      return false;
    }
    if (now().getTime() >= Date.parse(p.until)) {
      endProbation('passed');
      return false;
    }
    const live = state.versions[p.version];
    const estimate = state.estimated && state.estimated.version === p.version && state.estimated.at >= p.since ? state.estimated : undefined;
    const breach = probationBreach(p, live ? windowFigures(live) : { labels: 0, flags: 0, flagRate: null }, live ? lossSummary(live) : null, estimate);
    if (!breach) return false;
    if (!p.previous) {
      // Nothing to roll back to: the performance triggers take it from here.
      endProbation('passed', { evidence: `${breach}; no previous champion to roll back to` });
      return false;
    }
    void rollBack(p, breach);
    return true;
  };

  /** Records figures and checks the champion: probation, then thresholds (overall, per segment), then the error-stream detector. */
  const checkPerformance = (errors: number[] = []) => {
    const champion = state.champion;
    if (loopV2 && champion) {
      if (checkProbation()) return;
      if (errors.length > 0) {
        // A version's window holds one kind (a label of the other kind is dropped): numbers are a regression's errors.
        const regression = typeof state.versions[champion.version]?.window[0] === 'number';
        if (state.errorStream?.version !== champion.version) state.errorStream = newErrorStream(champion.version, regression, state.thresholds.minLabels);
        const detection = feedErrors(state.errorStream, errors);
        if (detection && state.performanceFlagged !== champion.version && !state.triggers.inFlight) {
          state.performanceFlagged = champion.version;
          trigger('performance', `the error stream of ${champion.version} changed`, { evidence: detection });
          return;
        }
      }
    }
    if (!champion || state.performanceFlagged === champion.version || state.triggers.inFlight) return;
    const live = state.versions[champion.version];
    if (!live) return;
    const breach = performanceBreach(state.thresholds, windowFigures(live), champion.holdout);
    if (breach) {
      state.performanceFlagged = champion.version;
      trigger('performance', `live performance of ${champion.version} below its threshold`, { evidence: breach });
      return;
    }
    if (!loopV2) return;
    for (const [key, segment] of Object.entries(state.segments?.[champion.version] ?? {})) {
      const inSegment = performanceBreach(state.thresholds, windowFigures(segment), champion.holdout);
      if (!inSegment) continue;
      state.performanceFlagged = champion.version;
      trigger('performance', `live performance of ${champion.version} in segment ${key.slice(1)} below its threshold`, { evidence: inSegment });
      return;
    }
  };

  /** The estimate before labels: a drop against the holdout's estimate is a trigger of its own (once per champion). */
  const checkEstimate = () => {
    const champion = state.champion?.version;
    const estimate = state.estimated;
    const maxDrop = state.thresholds.maxEstimatedDrop;
    if (!champion || !estimate || estimate.version !== champion || maxDrop === undefined) return;
    if (state.estimateFlagged === champion || state.triggers.inFlight || estimate.rows < state.thresholds.minLabels) return;
    const drop = estimate.reference.accuracy - estimate.accuracy;
    if (!(drop > maxDrop)) return;
    state.estimateFlagged = champion;
    trigger('performance', `estimated accuracy of ${champion} (before labels) fell`, {
      evidence: `CBPE ${estimate.accuracy.toFixed(3)} over ${estimate.rows} predictions against ${estimate.reference.accuracy.toFixed(3)} on its holdout: down ${drop.toFixed(3)} > maxEstimatedDrop ${maxDrop}`,
    });
  };

  /** Counts one item in its segments (bounded: the newest versions, a few values each). */
  const countSegments = (item: FeedbackSignalItem) => {
    if (!item.segment || !isObject(item.segment)) return;
    const segments = (state.segments ??= {});
    if (!Object.hasOwn(segments, item.version)) {
      segments[item.version] = {};
      const others = Object.keys(segments).filter((v) => v !== state.champion?.version);
      if (others.length > VERSIONS_WITH_SEGMENTS - 1) for (const v of others.slice(0, others.length - (VERSIONS_WITH_SEGMENTS - 1))) delete segments[v];
    }
    const ofVersion = segments[item.version];
    if (!ofVersion) return;
    for (const [column, value] of Object.entries(item.segment)) {
      if (typeof value !== 'string') continue;
      // Keyed '=' + segment, as classes are: no segment is ever an Object key such as '__proto__'.
      const key = `=${column}=${value}`;
      if (!Object.hasOwn(ofVersion, key) && Object.keys(ofVersion).length >= SEGMENTS_PER_VERSION) continue;
      addFeedback((ofVersion[key] ??= emptyVersionLive()), item, state.thresholds.window);
    }
  };

  /** The live gauges of the versions a signal touched (the SDK records nothing while a history replays). */
  const recordLive = (versions: Set<string>) => {
    for (const version of versions) {
      const live = state.versions[version];
      if (!live) continue;
      metrics.live(version, 'all', liveFigures(live));
      metrics.live(version, 'window', windowFigures(live));
      for (const [key, segment] of Object.entries(state.segments?.[version] ?? {})) metrics.live(version, 'window', windowFigures(segment), key.slice(1));
    }
  };

  setHandler(monitorFeedbackSignal, (payload) => {
    signalsThisRun += 1;
    state.counters.signals += 1;
    const items = checkFeedbackPayload(payload);
    if (typeof items === 'string') return dropped('feedback', items);
    // A version must be a version name (never an Object key such as '__proto__'); a label must match its version's kind.
    for (const [i, item] of items.entries()) {
      if (!isValidName('version', item.version))
        return dropped('feedback', `items[${i}].version ${JSON.stringify(item.version).slice(0, 40)} is not a version name (v1, v2, ...)`);
      const live = Object.hasOwn(state.versions, item.version) ? state.versions[item.version] : undefined;
      const numeric = typeof item.label === 'number';
      if (item.label !== undefined && live && live.window.length > 0 && (typeof live.window[0] === 'number') !== numeric) {
        return dropped(
          'feedback',
          `items[${i}]: a ${numeric ? 'number' : 'class'} label for ${item.version}, whose labels so far are ${numeric ? 'classes' : 'numbers'}`,
        );
      }
    }
    const touched = new Set<string>();
    const errors: number[] = [];
    for (const item of items) {
      if (!seen.addIfNew(item.predictionId)) {
        state.counters.duplicates += 1;
        continue;
      }
      state.counters.items += 1;
      if (!Object.hasOwn(state.versions, item.version)) {
        state.versions[item.version] = emptyVersionLive();
        const others = Object.keys(state.versions).filter((v) => v !== state.champion?.version);
        if (others.length > VERSIONS_KEPT) delete state.versions[others[0]!];
      }
      addFeedback(state.versions[item.version]!, item, state.thresholds.window);
      touched.add(item.version);
      if (!loopV2) continue;
      countSegments(item);
      if (item.version === state.champion?.version && item.label !== undefined) {
        errors.push(
          typeof item.label === 'number' && typeof item.prediction === 'number'
            ? Math.abs(item.prediction - item.label)
            : String(item.label) === String(item.prediction)
              ? 0
              : 1,
        );
      }
    }
    seen.trim();
    recordLive(touched);
    checkPerformance(errors);
  });

  setHandler(monitorDriftSignal, (payload) => {
    signalsThisRun += 1;
    state.counters.signals += 1;
    const problem = driftProblem(payload) ?? (loopV2 ? estimatedProblem(payload.estimated) : undefined);
    if (problem) return dropped('drift', problem);
    const drifted = payload.columns.filter((c) => c.drift).map((c) => c.name);
    state.drift = {
      at: now().toISOString(),
      share: payload.share,
      drift: payload.drift,
      drifted,
      ...(payload.reportKey ? { reportKey: payload.reportKey } : {}),
    };
    metrics.drift(payload.share, payload.drift);
    if (payload.drift) {
      trigger('drift', `dataset drift: ${(payload.share * 100).toFixed(0)}% of columns drifted (${drifted.join(', ') || 'none named'})`, {
        ...(payload.reportKey ? { evidence: payload.reportKey } : {}),
      });
    }
    if (loopV2 && payload.estimated) {
      const { version, rows, accuracy, macroF1, reference } = payload.estimated;
      state.estimated = { version, rows, accuracy, macroF1, reference: { accuracy: reference.accuracy, macroF1: reference.macroF1 }, at: now().toISOString() };
      metrics.estimated(version, state.estimated);
      if (!checkProbation()) checkEstimate();
    }
    show();
  });

  setHandler(monitorRetrainSignal, (payload) => {
    signalsThisRun += 1;
    state.counters.signals += 1;
    const problem = reasonProblem(payload, 'retrain');
    if (problem) return dropped('retrain', problem);
    trigger('service', payload.reason, payload.requestedBy ? { requestedBy: payload.requestedBy } : {});
  });

  setHandler(
    triggerUpdate,
    async (request): Promise<TriggerAnswer> => {
      const source: TriggerSource = request.source === 'schedule' ? 'schedule' : 'manual';
      const { trigger: t, outcome } = trigger(source, request.reason, request.requestedBy ? { requestedBy: request.requestedBy } : {});
      const retrainId = workflowIds.retrain(model);
      if (outcome === 'started') {
        const record = state.triggers.recent.find((r) => r.at === t.at && r.reason === t.reason);
        await condition(() => (state.triggers.inFlight?.at === t.at && state.triggers.inFlight.reason === t.reason) || record?.held !== undefined);
        if (record?.held !== undefined) return { outcome: 'held', message: record.held };
        return { outcome, workflowId: retrainId, message: `started ${retrainId}: ${t.reason}` };
      }
      if (outcome === 'joined') {
        return {
          outcome,
          workflowId: retrainId,
          message: `joined the run queued behind ${state.triggers.inFlight ? `${retrainId} (in flight)` : 'the cooldown'}`,
        };
      }
      return state.triggers.inFlight
        ? { outcome, workflowId: retrainId, message: `queued: it starts when ${retrainId} (in flight, ${state.triggers.inFlight.source}) ends` }
        : { outcome, message: `queued: it starts when the cooldown of ${state.thresholds.cooldownMinutes} min after the last automatic run ends` };
    },
    {
      validator: (request: TriggerRequest) => {
        const problem = reasonProblem(request, 'trigger');
        if (problem) throw new Error(problem);
        if (request.source !== undefined && request.source !== 'manual' && request.source !== 'schedule')
          throw new Error(`trigger: 'source' must be 'manual' or 'schedule', not ${JSON.stringify(request.source)}`);
      },
    },
  );

  setHandler(
    setThresholdsUpdate,
    (change) => {
      const applied = applyThresholds(state.thresholds, change);
      if ('thresholds' in applied) {
        state.thresholds = applied.thresholds;
        // A breach under the new thresholds counts again.
        state.performanceFlagged = null;
        if (loopV2) state.estimateFlagged = null;
        checkPerformance();
        if (loopV2) checkEstimate();
      }
      return state.thresholds;
    },
    {
      validator: (change: Partial<Thresholds>) => {
        const applied = applyThresholds(state.thresholds, change);
        if ('problems' in applied) throw new Error(`set-thresholds: ${applied.problems.join('; ')}`);
      },
    },
  );
  setHandler(monitorStatusQuery, status);

  /** A new champion (promoted by a run, a release, the CLI) goes on probation against the one it replaced. */
  const startProbation = (version: string, previous: string | null) => {
    const policy = state.probationPolicy;
    if (!policy) return;
    endProbation('superseded');
    const before = previous ? state.versions[previous] : undefined;
    state.probation = {
      version,
      previous,
      since: now().toISOString(),
      until: new Date(now().getTime() + policy.hours * 3_600_000).toISOString(),
      baseline: before ? lossSummary(before, baselineLabels(policy)) : null,
      gate: state.gate ?? {},
      policy,
    };
    log.info('ModelMonitor: a new champion is on probation', { model, version, previous, until: state.probation.until });
  };

  /** The champion and its holdout figures, from the registry (a run may have changed it). */
  const refresh = async () => {
    let context;
    try {
      context = await monitorContext({ model });
    } catch (error) {
      // The registry could not be read (an outage past the retry budget, a broken lineage): keep what is known, try at the next run.
      log.warn('ModelMonitor: could not read the champion; keeping the last one known', { model, error: (error as Error).message });
      show();
      return;
    }
    const before = state.champion?.version ?? null;
    state.champion = context.champion ? { version: context.champion, holdout: context.holdout } : null;
    if (state.performanceFlagged !== state.champion?.version) state.performanceFlagged = null;
    if (context.champion && !state.versions[context.champion]) state.versions[context.champion] = emptyVersionLive();
    if (loopV2) {
      if (context.gate) state.gate = context.gate;
      if (context.probation) state.probationPolicy = context.probation;
      if (state.estimateFlagged !== state.champion?.version) state.estimateFlagged = null;
      if (context.champion) metrics.champion(context.champion);
      const restored = state.probations?.at(-1);
      const isRollbackTarget = restored?.outcome === 'rolled-back' && restored.previous === context.champion && restored.version === before;
      if (context.champion && before && context.champion !== before && !isRollbackTarget) startProbation(context.champion, before);
    }
    // Labels that came before the champion was known count now.
    checkPerformance();
    show();
  };

  /** After a probation rollback, a held trigger runs only when data arrived since; otherwise it is recorded as held. */
  const heldByRollback = async (t: Trigger): Promise<boolean> => {
    const hold = state.hold;
    if (!hold || !HELD_SOURCES.includes(t.source)) return false;
    let newData = false;
    try {
      newData = (await monitorContext({ model, dataSince: hold.since })).newData === true;
    } catch (error) {
      log.warn('ModelMonitor: could not check for new data; the held trigger waits', { model, error: (error as Error).message });
    }
    if (newData) {
      state.hold = null;
      return false;
    }
    const why = `held: no new data since ${hold.version} was rolled back at ${hold.since} (the same data would train the same model); a person's trigger or a service's retrain still starts a run`;
    for (const record of state.triggers.recent) if (!record.workflowId && !record.held && record.at >= t.at) record.held = why;
    log.info('ModelMonitor: trigger held after a probation rollback', { model, source: t.source, reason: t.reason });
    return true;
  };

  /** Takes the queued trigger as the run in flight, or records it held (then null). */
  const takeQueued = async () => {
    const t = state.triggers.queued!;
    state.triggers.queued = null;
    if (loopV2 && (await heldByRollback(t))) return null;
    const workflowId = workflowIds.retrain(model);
    const run = { ...t, workflowId, startedAt: now().toISOString() };
    state.triggers.inFlight = run;
    if (AUTOMATIC.includes(t.source)) state.triggers.lastAutomaticStart = now().toISOString();
    for (const record of state.triggers.recent) if (!record.workflowId && record.at >= t.at) record.workflowId = workflowId;
    show();
    return run;
  };

  const runOptions = (t: NonNullable<TriggerState['inFlight']>) => ({
    workflowId: t.workflowId,
    args: [{ model, trigger: t.source, reason: t.evidence ? `${t.reason} (${t.evidence})` : t.reason }] as [RetrainInput],
    // The run outlives this monitor's run when it continues as new or is ended.
    parentClosePolicy: ParentClosePolicy.ABANDON,
    staticSummary: `Retrain **${model}** (${t.source}): ${t.reason}`,
  });

  /** Runs the queued trigger's run as a child and waits for it in place (monitor runs started before the patch). */
  const runQueued = async () => {
    const t = await takeQueued();
    if (!t) return;
    const { workflowId } = t;
    const started = now().getTime();
    try {
      const result = await executeChild(RetrainingPipeline, runOptions(t));
      state.lastRun = { workflowId, trigger: t.source, outcome: result.outcome, message: result.message, endedAt: now().toISOString() };
    } catch (error) {
      const message =
        error instanceof WorkflowExecutionAlreadyStartedError
          ? `a run ${workflowId} started elsewhere (the CLI, CI) was in flight: this trigger is answered by it`
          : reasonOf(error);
      state.lastRun = {
        workflowId,
        trigger: t.source,
        outcome: error instanceof WorkflowExecutionAlreadyStartedError ? 'not-started' : 'failed',
        message,
        endedAt: now().toISOString(),
      };
      log.warn('ModelMonitor: the retraining run did not succeed', { model, workflowId, message });
    }
    metrics.run(t.source, state.lastRun.outcome, (now().getTime() - started) / 1000);
    state.triggers.inFlight = null;
    // A new champion is judged afresh; the same one (the run rejected or failed) is not retriggered on the same
    // figures: a person's trigger or new thresholds can still start a run.
    await refresh();
  };

  /** Records how the run in flight ended and re-reads the champion (a promotion starts its probation). */
  const endRun = async (run: NonNullable<TriggerState['inFlight']>, end: RetrainRunOutcome) => {
    endingRun = true;
    try {
      const outcome = RUN_OUTCOMES.includes(end.outcome) ? (end.outcome as RetrainOutcome) : 'failed';
      const message = outcome === end.outcome ? end.message : `the run was ${end.outcome}: ${end.message}`;
      state.lastRun = { workflowId: run.workflowId, trigger: run.source, outcome, message, endedAt: now().toISOString() };
      if (outcome === 'failed') log.warn('ModelMonitor: the retraining run did not succeed', { model, workflowId: run.workflowId, message });
      metrics.run(run.source, outcome, (now().getTime() - Date.parse(run.startedAt)) / 1000);
      state.triggers.inFlight = null;
      runsEnded += 1;
      await refresh();
    } finally {
      endingRun = false;
    }
  };

  /** Waits (an activity) for the run in flight to end, in this monitor run or the next after continue-as-new. */
  const followRun = (run: NonNullable<TriggerState['inFlight']> & { runId: string }) => {
    void (async () => {
      let end: RetrainRunOutcome;
      try {
        end = await awaitRunEnd({ workflowId: run.workflowId, runId: run.runId });
      } catch (error) {
        end = { workflowId: run.workflowId, runId: run.runId, outcome: 'failed', message: `its end could not be read: ${reasonOf(error)}` };
      }
      await endRun(run, end);
    })();
  };

  /** Starts the queued trigger's run as a child (the monitor does not wait for it: followRun does). */
  const startQueued = async () => {
    const run = await takeQueued();
    if (!run) return;
    const { workflowId, source } = run;
    let runId: string;
    try {
      const child = await startChild(RetrainingPipeline, runOptions(run));
      runId = child.firstExecutionRunId;
    } catch (error) {
      const elsewhere = error instanceof WorkflowExecutionAlreadyStartedError;
      const message = elsewhere ? `a run ${workflowId} started elsewhere (the CLI, CI) was in flight: this trigger is answered by it` : reasonOf(error);
      state.lastRun = { workflowId, trigger: source, outcome: elsewhere ? 'not-started' : 'failed', message, endedAt: now().toISOString() };
      log.warn('ModelMonitor: the retraining run did not start', { model, workflowId, message });
      metrics.run(source, state.lastRun.outcome, 0);
      state.triggers.inFlight = null;
      await refresh();
      return;
    }
    state.triggers.inFlight = { ...run, runId };
    followRun({ ...run, runId });
  };

  await refresh();
  // A run started by the monitor's run before continue-as-new: follow it to its end here.
  const carried = state.triggers.inFlight;
  if (runsOutliveThisRun && carried?.runId) followRun({ ...carried, runId: carried.runId });
  let refreshedAt = now().getTime();
  for (;;) {
    const wait = msUntilStart(state.triggers, state.thresholds, now());
    const continueNow = () =>
      (signalsThisRun >= signalsPerRun || workflowInfo().continueAsNewSuggested) &&
      (runsOutliveThisRun ? !endingRun : !state.triggers.inFlight) &&
      !rollingBack;
    if (loopV2) {
      const untilRefresh = Math.max(1, refreshedAt + refreshEveryMs - now().getTime());
      const endedBefore = runsEnded;
      // A run that ends sends the loop round again: the queued trigger's cooldown is counted afresh.
      const timedOut = !(await condition(
        () => msUntilStart(state.triggers, state.thresholds, now()) === 0 || continueNow() || runsEnded !== endedBefore,
        Math.max(1, Math.min(wait, untilRefresh)),
      ));
      if (timedOut && now().getTime() >= refreshedAt + refreshEveryMs) {
        await refresh();
        refreshedAt = now().getTime();
        continue;
      }
    } else {
      await condition(
        () => msUntilStart(state.triggers, state.thresholds, now()) === 0 || continueNow(),
        Number.isFinite(wait) ? Math.max(wait, 1) : undefined,
      );
    }
    if (msUntilStart(state.triggers, state.thresholds, now()) === 0) {
      if (runsOutliveThisRun) await startQueued();
      else await runQueued();
      refreshedAt = now().getTime();
      continue;
    }
    if (continueNow()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ModelMonitor>({ model, signalsPerRun: input.signalsPerRun, refreshEveryMs: input.refreshEveryMs, state });
    }
  }
}
