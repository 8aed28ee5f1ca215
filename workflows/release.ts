/**
 * ReleaseWorkflow (`release/<model>/<version>`): proves a registered candidate
 * on live traffic before it becomes champion, as the spec's `release` says:
 * shadow (it scores a copy of the traffic, never answers), ab (a fixed split)
 * or canary (staged weights, each baked, sticky by routing key in the model
 * server). At every look the labelled predictions of both arms since the start
 * go through the sequential test and the candidate's guard metrics through the
 * guards (src/release/progress.ts decides what follows). A person can pause,
 * resume, abort, and approve when the spec asks for it (updates, validated).
 *
 * Success: the candidate becomes champion and the champion previous, in one
 * write of aliases.json. Rollback, abort, failure or cancellation: all traffic
 * goes back on the champion and the release record says why, with the
 * evidence. It continues as new before its history grows large, carrying where
 * it stood.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  isCancellation,
  log,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { createReleaseActivities } from '../activities/release';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { assessRun } from '../src/release/guards';
import { enterStep, nextAction, releaseLoss, resumeProgress, startProgress, takeLook, type ReleaseProgress } from '../src/release/progress';
import { decide } from '../src/release/sequential';
import { trainingQueueFor } from '../src/temporal/task-queues';
import {
  abortReleaseUpdate,
  ACTIVITY_RETRY,
  approveReleaseUpdate,
  pauseReleaseUpdate,
  releaseStatusQuery,
  resumeReleaseUpdate,
  SA_MODEL,
  SA_STAGE,
  SA_TRIGGER,
  SA_VERSION,
  type ReleaseDecisionInput,
  type ReleaseInput,
  type ReleaseOutcome,
  type ReleaseResult,
  type ReleaseStatus,
} from './definitions';
import { reasonOf } from './reason';

type Activities = ReturnType<typeof createReleaseActivities>;

/** Registry moves and the record: a few reads and one conditional write, retried through a store outage. */
const registry = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', scheduleToCloseTimeout: '10 minutes', retry: ACTIVITY_RETRY });
/** Putting the traffic back on the champion after a failure: retried until it is done, however long the store is down. */
const compensation = proxyActivities<Activities>({ startToCloseTimeout: '30 seconds', retry: ACTIVITY_RETRY });

/** A look reads the log parts since the start (DuckDB, on the training queue) and heartbeats. */
function analysisActivities() {
  return proxyActivities<Activities>({
    taskQueue: trainingQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: '5 minutes',
    heartbeatTimeout: '10 seconds',
    // No schedule-to-close: a look waiting for a slot on a busy training queue is late, not a failure that rolls back.
    retry: ACTIVITY_RETRY,
  });
}

/** Looks per run before it continues as new: a look is about six events, well under Temporal's 50,000. */
const LOOKS_PER_RUN = 500;

function checkDecision(decision: ReleaseDecisionInput, update: string, needsReason: boolean): void {
  if (typeof decision?.by !== 'string' || decision.by.trim() === '') throw new Error(`${update}: 'by' must say who asks (a person, a service)`);
  if (needsReason && (typeof decision.reason !== 'string' || decision.reason.trim() === '')) throw new Error(`${update}: 'reason' must say why`);
}

export async function ReleaseWorkflow(input: ReleaseInput): Promise<ReleaseResult> {
  const { model, candidate, champion, release: spec } = input;
  try {
    checkName('model', model);
    checkName('version', candidate, 'candidate');
    checkName('version', champion, 'champion');
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  const analysis = analysisActivities();
  const loss = releaseLoss(spec, input.task);
  const steps = spec.strategy === 'canary' ? spec.steps!.length : 1;
  let progress: ReleaseProgress | undefined = input.progress;
  let aborted: ReleaseDecisionInput | null = null;
  let approved: ReleaseDecisionInput | null = null;

  const now = () => new Date(); // workflow time: deterministic
  const status = (): ReleaseStatus => {
    const p = progress ?? startProgress(spec, input.task, now());
    return {
      model,
      candidate,
      champion,
      strategy: spec.strategy,
      phase: p.phase,
      step: p.step + 1,
      steps,
      weight: p.weight,
      startedAt: p.startedAt,
      reason: p.reason,
      analysis: decide(p.sequential),
      guards: assessRun(p.guards),
      looks: p.looks,
    };
  };
  const where = () =>
    progress?.phase === 'running'
      ? `${spec.strategy}${spec.strategy === 'canary' ? ` step ${progress.step + 1}/${steps}` : ''} ${Math.round(progress.weight * 100)}%`
      : (progress?.phase ?? 'starting');
  const show = () => {
    upsertSearchAttributes([{ key: SA_STAGE, value: `release: ${where()}` }]);
    const result = progress ? decide(progress.sequential) : null;
    setCurrentDetails(
      `**${model}/${candidate}** vs champion ${champion} · ${where()}${progress?.reason ? ` · ${progress.reason}` : ''}${result ? `\n\n${result.summary}` : ''}`,
    );
  };

  setHandler(releaseStatusQuery, status);
  setHandler(
    abortReleaseUpdate,
    (decision) => {
      aborted = decision;
      return status();
    },
    {
      validator: (decision: ReleaseDecisionInput) => {
        checkDecision(decision, 'abort', true);
        if (progress && ['promoted', 'rolled-back', 'promoting', 'rolling-back'].includes(progress.phase)) {
          throw new Error(
            `abort: the release is ${progress.phase === 'promoting' || progress.phase === 'rolling-back' ? 'ending' : 'over'} (${progress.phase})`,
          );
        }
      },
    },
  );
  setHandler(
    approveReleaseUpdate,
    (decision) => {
      approved = decision;
      return status();
    },
    {
      validator: (decision: ReleaseDecisionInput) => {
        checkDecision(decision, 'approve', false);
        if (progress?.phase !== 'awaiting-approval') {
          throw new Error(
            `approve: the release is not waiting for approval (it is ${progress?.phase ?? 'starting'}${progress?.reason ? `: ${progress.reason}` : ''})`,
          );
        }
      },
    },
  );
  setHandler(
    pauseReleaseUpdate,
    (decision) => {
      progress = { ...progress!, phase: 'paused', reason: `paused by ${decision.by}${decision.reason ? `: ${decision.reason}` : ''}` };
      show();
      return status();
    },
    {
      validator: (decision: ReleaseDecisionInput) => {
        checkDecision(decision, 'pause', false);
        if (progress?.phase !== 'running') throw new Error(`pause: only a running release can be paused (it is ${progress?.phase ?? 'starting'})`);
      },
    },
  );
  setHandler(
    resumeReleaseUpdate,
    (_decision) => {
      progress = resumeProgress(spec, progress!);
      show();
      return status();
    },
    {
      validator: (decision: ReleaseDecisionInput) => {
        checkDecision(decision, 'resume', false);
        if (progress?.phase !== 'paused') throw new Error(`resume: the release is not paused (it is ${progress?.phase ?? 'starting'})`);
      },
    },
  );

  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_VERSION, value: candidate },
    { key: SA_TRIGGER, value: input.trigger },
  ]);

  const record = (outcome?: ReleaseOutcome) =>
    registry.recordRelease({
      model,
      candidate,
      record: {
        release: spec,
        workflow: workflowInfo().workflowId,
        ...status(),
        ...(outcome ? { outcome, endedAt: now().toISOString() } : {}),
      },
    });

  const end = async (outcome: ReleaseOutcome, reason: string, proxy = registry): Promise<ReleaseResult> => {
    progress = { ...(progress ?? startProgress(spec, input.task, now())), phase: outcome === 'promoted' ? 'promoting' : 'rolling-back', reason };
    show();
    const aliases = await proxy.endRelease({ model, candidate, outcome, reason });
    progress = { ...progress, phase: outcome };
    show();
    const recordKey = await record(outcome);
    log.info('Release ended', { model, candidate, outcome, reason });
    return { model, candidate, outcome, reason, analysis: decide(progress.sequential), champion: aliases.champion, recordKey };
  };

  let started = progress !== undefined;
  let looksThisRun = 0;
  try {
    if (!progress) {
      // Counted as started before the call: a start whose answer was lost (cancelled, timed out) still gets its rollback.
      started = true;
      await registry.startRelease({
        model,
        candidate,
        mode: spec.strategy,
        weight: startProgress(spec, input.task, now()).weight,
        expectedChampion: champion,
        reason: `${input.trigger}: ${spec.strategy} release against ${champion}`,
        guards: spec.guards.length,
      });
      progress = startProgress(spec, input.task, now());
      await record();
    }
    show();
    for (;;) {
      await condition(() => aborted !== null || (progress!.phase === 'awaiting-approval' && approved !== null), spec.lookEverySeconds * 1000);
      if (aborted) {
        const by: ReleaseDecisionInput = aborted;
        return await end('rolled-back', `aborted by ${by.by}: ${by.reason}`);
      }
      if (progress.phase === 'awaiting-approval' && approved) {
        const by: ReleaseDecisionInput = approved;
        return await end('promoted', `${progress.reason} (approved by ${by.by}${by.reason ? `: ${by.reason}` : ''})`);
      }
      const readings = await analysis.analyzeRelease.executeWithOptions({ summary: `look ${progress.sequential.looks + 1}: labels and guards` }, [
        {
          model,
          candidate,
          champion,
          mode: spec.strategy,
          task: input.task,
          loss,
          since: progress.startedAt,
          periodSeconds: spec.lookEverySeconds,
          guards: spec.guards.length,
        },
      ]);
      progress = takeLook(progress, readings, now());
      looksThisRun++;
      const action = nextAction(spec, progress, now());
      switch (action.kind) {
        case 'roll-back':
          return await end('rolled-back', action.reason);
        case 'promote':
          return await end('promoted', action.reason);
        case 'await-approval':
          if (progress.phase !== 'awaiting-approval') {
            progress = { ...progress, phase: 'awaiting-approval', reason: action.reason };
            await record();
          }
          break;
        case 'pause':
          progress = { ...progress, phase: 'paused', reason: action.reason };
          break;
        case 'next-step':
          await registry.setReleaseWeight({ model, candidate, weight: action.weight, reason: `step ${action.step + 1}/${steps}` });
          progress = enterStep(progress, action.step, action.weight, now());
          await record();
          break;
        case 'wait':
          break;
      }
      show();
      // Not with an abort or an approval taken and not yet acted on: the next run would not know of it.
      if ((workflowInfo().continueAsNewSuggested || looksThisRun >= (input.looksPerRun ?? LOOKS_PER_RUN)) && !aborted && !approved) {
        await condition(allHandlersFinished);
        await continueAsNew<typeof ReleaseWorkflow>({ ...input, progress });
      }
    }
  } catch (error) {
    // Failed or cancelled: all traffic back on the champion, even while cancelled; the record says why.
    if (started) {
      const reason = isCancellation(error) ? 'the release was cancelled' : `the release failed: ${reasonOf(error)}`;
      await CancellationScope.nonCancellable(async () => {
        try {
          await end('rolled-back', reason, compensation);
        } catch (undoError) {
          log.error('Could not put the traffic back on the champion', { model, candidate, error: reasonOf(undoError) });
        }
      });
    }
    throw error;
  }
}
