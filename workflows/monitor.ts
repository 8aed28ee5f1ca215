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
 * carrying its state, once no run is in flight.
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
  ParentClosePolicy,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { createMonitorActivities } from '../activities/monitor';
import { InvalidNameError } from '../src/errors';
import { checkName, isValidName } from '../src/names';
import { addFeedback, emptyVersionLive, liveFigures, windowFigures, type VersionLive } from '../src/monitor/live';
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
  type FeedbackSignal,
  type RetrainSignal,
  type TriggerAnswer,
  type TriggerRequest,
} from '../src/temporal/monitor-contract';
import { ACTIVITY_RETRY, SA_MODEL, workflowIds, type RetrainOutcome } from './definitions';
import { checkFeedbackPayload, isObject } from './feedback-receiver';
import { reasonOf } from './reason';
import { RetrainingPipeline } from './retraining-pipeline';

type Activities = ReturnType<typeof createMonitorActivities>;

const { monitorContext } = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: '10 minutes', retry: ACTIVITY_RETRY });

/** Prediction ids remembered for duplicates (about the feedback of a few minutes of busy traffic), carried across continue-as-new. */
const SEEN_LIMIT = 20_000;
/** Versions whose live figures are kept (the newest; the champion always). */
const VERSIONS_KEPT = 10;
const DEFAULT_SIGNALS_PER_RUN = 2_000;

export interface ModelMonitorState {
  thresholds: Thresholds;
  versions: Record<string, VersionLive>;
  seen: string[];
  champion: { version: string; holdout: { accuracy?: number; rmse?: number } } | null;
  drift: (Omit<DriftSignal, 'columns'> & { at: string; drifted: string[] }) | null;
  triggers: TriggerState;
  /** The champion a performance trigger was taken for: not again for it (a new champion, or new thresholds, clear it). */
  performanceFlagged: string | null;
  lastRun: { workflowId: string; trigger: TriggerSource; outcome: RetrainOutcome | 'not-started'; message: string; endedAt: string } | null;
  counters: { signals: number; items: number; duplicates: number; dropped: number; lastDropped?: string; runs: number; triggers: number };
}

export interface ModelMonitorInput {
  model: string;
  /** Signals after which the run continues as new (default 2,000), once no retraining is in flight. */
  signalsPerRun?: number;
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
  const signalsPerRun = Math.max(1, input.signalsPerRun ?? DEFAULT_SIGNALS_PER_RUN);
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
  const seen = new Set(state.seen);
  let signalsThisRun = 0;
  const now = () => new Date(); // workflow time: deterministic

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
  });
  const show = () => {
    const champion = state.champion?.version;
    const live = champion && state.versions[champion] ? windowFigures(state.versions[champion]) : null;
    const figure =
      live?.accuracy !== undefined ? `accuracy ${live.accuracy.toFixed(3)}` : live?.rmse !== undefined ? `RMSE ${live.rmse.toPrecision(4)}` : 'no labels yet';
    const running = state.triggers.inFlight ? ` · retraining (${state.triggers.inFlight.source}: ${state.triggers.inFlight.reason})` : '';
    setCurrentDetails(`**${model}** · champion ${champion ?? '(none)'}: ${figure}${live ? ` over ${live.labels} labels` : ''}${running}`);
  };

  const trigger = (source: TriggerSource, reason: string, extra: { evidence?: string; requestedBy?: string } = {}) => {
    state.counters.triggers += 1;
    const t: Trigger = { source, reason, at: now().toISOString(), ...extra };
    const outcome = takeTrigger(state.triggers, t, state.thresholds, now());
    log.info('Retraining trigger', { model, source, reason, outcome });
    return { trigger: t, outcome };
  };
  const dropped = (what: string, problem: string) => {
    state.counters.dropped += 1;
    state.counters.lastDropped = `${what}: ${problem}`;
    log.warn('ModelMonitor: dropped a signal with a bad payload', { model, signal: what, problem });
  };

  const checkPerformance = () => {
    const champion = state.champion;
    if (!champion || state.performanceFlagged === champion.version || state.triggers.inFlight) return;
    const live = state.versions[champion.version];
    if (!live) return;
    const breach = performanceBreach(state.thresholds, windowFigures(live), champion.holdout);
    if (!breach) return;
    state.performanceFlagged = champion.version;
    trigger('performance', `live performance of ${champion.version} below its threshold`, { evidence: breach });
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
    for (const item of items) {
      if (seen.has(item.predictionId)) {
        state.counters.duplicates += 1;
        continue;
      }
      seen.add(item.predictionId);
      state.seen.push(item.predictionId);
      state.counters.items += 1;
      if (!Object.hasOwn(state.versions, item.version)) {
        state.versions[item.version] = emptyVersionLive();
        const others = Object.keys(state.versions).filter((v) => v !== state.champion?.version);
        if (others.length > VERSIONS_KEPT) delete state.versions[others[0]!];
      }
      addFeedback(state.versions[item.version]!, item, state.thresholds.window);
    }
    if (state.seen.length > SEEN_LIMIT) for (const id of state.seen.splice(0, state.seen.length - SEEN_LIMIT)) seen.delete(id);
    checkPerformance();
  });

  setHandler(monitorDriftSignal, (payload) => {
    signalsThisRun += 1;
    state.counters.signals += 1;
    const problem = driftProblem(payload);
    if (problem) return dropped('drift', problem);
    const drifted = payload.columns.filter((c) => c.drift).map((c) => c.name);
    state.drift = {
      at: now().toISOString(),
      share: payload.share,
      drift: payload.drift,
      drifted,
      ...(payload.reportKey ? { reportKey: payload.reportKey } : {}),
    };
    if (payload.drift) {
      trigger('drift', `dataset drift: ${(payload.share * 100).toFixed(0)}% of columns drifted (${drifted.join(', ') || 'none named'})`, {
        ...(payload.reportKey ? { evidence: payload.reportKey } : {}),
      });
    }
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
      const { trigger: t, outcome } = trigger('manual', request.reason, request.requestedBy ? { requestedBy: request.requestedBy } : {});
      const retrainId = workflowIds.retrain(model);
      if (outcome === 'started') {
        await condition(() => state.triggers.inFlight?.at === t.at && state.triggers.inFlight.reason === t.reason);
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
        checkPerformance();
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
    state.champion = context.champion ? { version: context.champion, holdout: context.holdout } : null;
    if (state.performanceFlagged !== state.champion?.version) state.performanceFlagged = null;
    if (context.champion && !state.versions[context.champion]) state.versions[context.champion] = emptyVersionLive();
    // Labels that came before the champion was known count now.
    checkPerformance();
    show();
  };

  const runQueued = async () => {
    const t = state.triggers.queued!;
    state.triggers.queued = null;
    const workflowId = workflowIds.retrain(model);
    state.triggers.inFlight = { ...t, workflowId, startedAt: now().toISOString() };
    if (AUTOMATIC.includes(t.source)) state.triggers.lastAutomaticStart = now().toISOString();
    for (const record of state.triggers.recent) if (!record.workflowId && record.at >= t.at) record.workflowId = workflowId;
    show();
    try {
      const result = await executeChild(RetrainingPipeline, {
        workflowId,
        args: [{ model, trigger: t.source, reason: t.evidence ? `${t.reason} (${t.evidence})` : t.reason }],
        // The run outlives this monitor's run when it continues as new or is ended.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `Retrain **${model}** (${t.source}): ${t.reason}`,
      });
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
    state.triggers.inFlight = null;
    // A new champion is judged afresh; the same one (the run rejected or failed) is not retriggered on the same
    // figures: a person's trigger or new thresholds can still start a run.
    await refresh();
  };

  await refresh();
  for (;;) {
    const wait = msUntilStart(state.triggers, state.thresholds, now());
    const continueNow = () => (signalsThisRun >= signalsPerRun || workflowInfo().continueAsNewSuggested) && !state.triggers.inFlight;
    await condition(() => msUntilStart(state.triggers, state.thresholds, now()) === 0 || continueNow(), Number.isFinite(wait) ? Math.max(wait, 1) : undefined);
    if (msUntilStart(state.triggers, state.thresholds, now()) === 0) {
      await runQueued();
      continue;
    }
    if (continueNow()) {
      await condition(allHandlersFinished);
      await continueAsNew<typeof ModelMonitor>({ model, signalsPerRun: input.signalsPerRun, state });
    }
  }
}
