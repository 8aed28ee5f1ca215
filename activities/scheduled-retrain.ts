/**
 * ScheduledRetrain's side effects, through the worker's own Temporal client:
 * ask `monitor/<model>` for a run (update `trigger` with start: the monitor is
 * started when none runs), then wait for the run that answers the trigger to
 * end. Activities never import workflows: the monitor and its update are
 * named by the contract (src/temporal/monitor-contract.ts).
 */
import { ApplicationFailure, Context, getClient } from '@temporalio/activity';
import { WithStartWorkflowOperation, WorkflowUpdateFailedError } from '@temporalio/client';
import { checkName } from '../src/names';
import { MONITOR_STATUS_QUERY, monitorWorkflowId, TRIGGER_UPDATE, type TriggerAnswer, type TriggerRequest } from '../src/temporal/monitor-contract';
import { describeOrNull, endOfRun, innermost, type RetrainRunOutcome } from './retrain-runs';

/** The workflow type update-with-start starts when no monitor runs yet. */
const MONITOR_TYPE = 'ModelMonitor';

export interface AskMonitorInput {
  model: string;
  /** The monitor's task queue when it has to be started (the workflow's own). */
  taskQueue: string;
  reason: string;
  requestedBy: string;
}

export interface AskMonitorOutput {
  answer: TriggerAnswer;
  /** The run of `answer.workflowId` in flight when the answer came, when the trigger waits behind it (queued or joined): not the one that answers. */
  behindRunId?: string;
}

export interface AwaitRunInput {
  model: string;
  /** retrain/<model>. */
  workflowId: string;
  /** The workflow's time before it asked (ISO, the server's clock): the run that answers started after it. */
  since: string;
  behindRunId?: string;
  /** Who asked (the schedule's id): finds the trigger among the monitor's records. */
  requestedBy: string;
}

/** What the wait reads of the monitor's status: its queue, and its trigger records (`held` says why a trigger started no run). */
interface MonitorQueue {
  inFlight: unknown;
  queued: unknown;
  triggers?: { source?: string; requestedBy?: string; at?: string; held?: string }[];
}

const POLL_MS = 1000;
const HEARTBEAT_MS = 5000;

export function createScheduledRetrainActivities() {
  return {
    /** Update `trigger` on monitor/<model> with source `schedule`, starting ModelMonitor ({model}) when none runs. */
    async askMonitorForRetrain({ model, taskQueue, reason, requestedBy }: AskMonitorInput): Promise<AskMonitorOutput> {
      checkName('model', model);
      const client = getClient();
      const workflowId = monitorWorkflowId(model);
      const request: TriggerRequest = { reason, requestedBy, source: 'schedule' };
      const startWorkflowOperation = new WithStartWorkflowOperation<MonitorWorkflow>(MONITOR_TYPE, {
        workflowId,
        taskQueue,
        args: [{ model }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        staticSummary: `Monitor of **${model}**`,
      });
      let answer: TriggerAnswer;
      try {
        answer = await client.workflow.executeUpdateWithStart<MonitorWorkflow, TriggerAnswer, [TriggerRequest]>(TRIGGER_UPDATE, {
          args: [request],
          startWorkflowOperation,
        });
      } catch (error) {
        if (!(error instanceof WorkflowUpdateFailedError)) throw error;
        // The monitor answered no: no retry changes that. An older workflow under the id (FeedbackReceiver) takes no trigger.
        const type = (await describeOrNull(client, workflowId).catch(() => null))?.type;
        const message =
          type && type !== MONITOR_TYPE
            ? `${workflowId} runs ${type}, not ${MONITOR_TYPE}, and takes no '${TRIGGER_UPDATE}' update: end it (temporal workflow terminate -w ${workflowId}) and run 'perennial models apply' to start ${MONITOR_TYPE}`
            : `${workflowId} refused the trigger: ${innermost(error)}`;
        throw ApplicationFailure.nonRetryable(message, 'MonitorRefusedTrigger');
      }
      if (answer.outcome === 'started' || !answer.workflowId) return { answer };
      const running = await describeOrNull(client, answer.workflowId);
      return { answer, ...(running?.status.name === 'RUNNING' ? { behindRunId: running.runId } : {}) };
    },

    /**
     * Waits for the run that answers the trigger: the first run of retrain/<model> that started after the
     * trigger (not the one it waited behind), or, when the monitor found a run started elsewhere in flight
     * and has nothing left in flight or queued, that run. Heartbeats; a retry resumes with the run it found.
     * Cancelling it stops the wait, never the run (the monitor's).
     */
    async awaitRetrainRun({ model, workflowId, since, behindRunId, requestedBy }: AwaitRunInput): Promise<RetrainRunOutcome> {
      checkName('model', model);
      const client = getClient();
      const ctx = Context.current();
      const after = Date.parse(since);
      let runId = (ctx.info.heartbeatDetails as { runId?: string } | undefined)?.runId;
      ctx.heartbeat({ runId });
      const beat = setInterval(() => ctx.heartbeat({ runId }), HEARTBEAT_MS);
      try {
        while (!runId) {
          const latest = await describeOrNull(client, workflowId);
          if (latest && latest.runId !== behindRunId && latest.startTime.getTime() >= after) {
            runId = latest.runId;
            break;
          }
          const queue = await client.workflow
            .getHandle(monitorWorkflowId(model))
            .query<MonitorQueue>(MONITOR_STATUS_QUERY)
            .catch(() => undefined);
          // A queued trigger the monitor held when its turn came (after a probation rollback, no new data): no run will answer it.
          const mine = queue?.triggers?.find((t) => t.source === 'schedule' && t.requestedBy === requestedBy && Date.parse(t.at ?? '') >= after);
          if (mine?.held) return { workflowId, outcome: 'held', message: mine.held };
          if (
            latest &&
            latest.status.name !== 'RUNNING' &&
            latest.closeTime &&
            latest.closeTime.getTime() >= after &&
            queue &&
            !queue.inFlight &&
            !queue.queued
          ) {
            runId = latest.runId;
            break;
          }
          if (!queue && (await describeOrNull(client, monitorWorkflowId(model)))?.status.name !== 'RUNNING') {
            throw ApplicationFailure.nonRetryable(
              `${monitorWorkflowId(model)} is no longer running, and no run of ${workflowId} started after the trigger`,
              'MonitorGone',
            );
          }
          await ctx.sleep(POLL_MS);
        }
        ctx.heartbeat({ runId });
        return await endOfRun(client, workflowId, runId, ctx.cancelled);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

/** ModelMonitor's signature as the client sees it (activities never import workflows). */
type MonitorWorkflow = (input: { model: string }) => Promise<void>;
