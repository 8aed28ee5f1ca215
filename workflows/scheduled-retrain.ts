/**
 * ScheduledRetrain: the action of a model's retraining Schedule
 * (`scheduled-retrain/<model>`, from the spec's `retraining` section, made by
 * `perennial models apply`). It asks the model's monitor for a run (update
 * `trigger`, source `schedule`, starting the monitor when none runs), then
 * waits for the run that answers it (retrain/<model>) to end, so the
 * schedule's overlap policy covers the whole retraining: with `skip`, no
 * second trigger while the first one's run is in flight. It returns the
 * monitor's answer and the run's outcome, and shows both in its details.
 * Cancelling it stops the wait, never the run (the monitor's child).
 */
import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { RetrainRunOutcome } from '../activities/retrain-runs';
import type { createScheduledRetrainActivities } from '../activities/scheduled-retrain';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { monitorWorkflowId, type TriggerAnswer } from '../src/temporal/monitor-contract';
import { DEFAULT_RETRY_BUDGET_MINUTES } from '../src/temporal/task-queues';
import { ACTIVITY_RETRY, SA_MODEL, SA_TRIGGER, workflowIds } from './definitions';
import { reasonOf } from './reason';

type Activities = ReturnType<typeof createScheduledRetrainActivities>;

/** The id of a model's retraining Schedule; the workflows it starts are `<id>-<scheduled time>`. */
export const scheduledRetrainId = (model: string) => `scheduled-retrain/${model}`;

export interface ScheduledRetrainInput {
  model: string;
  /** How the schedule reads ('every day (00:00 UTC)'): the trigger's reason says it. */
  schedule: string;
  /** The schedule's id, recorded as who asked. */
  requestedBy: string;
}

export interface ScheduledRetrainResult {
  model: string;
  answer: TriggerAnswer;
  /** The run that answered the trigger, once it ended; null when the monitor held the trigger (no run). */
  run: RetrainRunOutcome | null;
  message: string;
}

const { askMonitorForRetrain } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: `${DEFAULT_RETRY_BUDGET_MINUTES} minutes`,
  retry: ACTIVITY_RETRY,
});
// A retraining (with a release on live traffic) may take days: the wait heartbeats, and a retry resumes with the run it found.
const { awaitRetrainRun } = proxyActivities<Activities>({ startToCloseTimeout: '30 days', heartbeatTimeout: '30 seconds', retry: ACTIVITY_RETRY });

export async function ScheduledRetrain(input: ScheduledRetrainInput): Promise<ScheduledRetrainResult> {
  const { model } = input;
  try {
    checkName('model', model);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: 'schedule' },
  ]);
  const monitorId = monitorWorkflowId(model);
  const reason = `scheduled retraining (${input.schedule})`;
  // Workflow time (the server's clock): the run that answers starts after it.
  const since = new Date().toISOString();
  setCurrentDetails(`**${model}** · ${reason}: asking ${monitorId} for a run`);

  let asked;
  try {
    asked = await askMonitorForRetrain.executeWithOptions({ summary: `trigger ${monitorId} (source schedule)` }, [
      { model, taskQueue: workflowInfo().taskQueue, reason, requestedBy: input.requestedBy },
    ]);
  } catch (error) {
    const message = `${model}: could not reach ${monitorId}: ${reasonOf(error)}`;
    setCurrentDetails(`**${model}** · ${reason}: ${message}`);
    throw ApplicationFailure.nonRetryable(message, 'MonitorUnreachable');
  }
  const { answer } = asked;
  const said = `${monitorId} answered ${answer.outcome}: ${answer.message}`;
  if (answer.outcome === 'held') {
    setCurrentDetails(`**${model}** · ${reason} · ${said}`);
    return { model, answer, run: null, message: said };
  }
  const retrainId = answer.workflowId ?? workflowIds.retrain(model);
  setCurrentDetails(`**${model}** · ${reason} · ${said} · waiting for ${retrainId} to end`);

  const run = await awaitRetrainRun.executeWithOptions({ summary: `wait for ${retrainId} to end` }, [
    { model, workflowId: retrainId, since, requestedBy: input.requestedBy, ...(asked.behindRunId ? { behindRunId: asked.behindRunId } : {}) },
  ]);
  const ended =
    run.outcome === 'held'
      ? `the monitor held the trigger when its turn came: ${run.message}`
      : `${run.workflowId} ended ${run.outcome}${run.version ? ` (${run.version})` : ''}: ${run.message}`;
  setCurrentDetails(`**${model}** · ${reason} · ${said} · ${ended}`);
  return { model, answer, run, message: `${said}; ${ended}` };
}
