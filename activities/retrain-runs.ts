/**
 * Waiting for a retraining run to end, through the worker's own Temporal client.
 * ScheduledRetrain waits for the run that answers its trigger; ModelMonitor
 * follows the run it started, also from a later run of its own after it
 * continued as new (a run with a release may take days, and the monitor's
 * history may not wait that long).
 */
import { Context, getClient } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { withHeartbeat } from './heartbeat';

export interface RetrainRunOutcome {
  workflowId: string;
  /** Absent when no run started: the monitor held the trigger. */
  runId?: string;
  /**
   * The pipeline's outcome (promoted, rejected, unchanged, failed), how the run closed otherwise (failed,
   * terminated, cancelled, timed-out), or 'held' (the monitor held the queued trigger: no run).
   */
  outcome: string;
  message: string;
  version?: string;
}

/** The innermost cause's message (a run's own failure, not "Workflow execution failed"). */
export function innermost(error: unknown): string {
  let e = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}

export async function describeOrNull(client: Client, workflowId: string, runId?: string) {
  try {
    return await client.workflow.getHandle(workflowId, runId).describe();
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

/**
 * How the run `runId` of `workflowId` ended: its result, or how it closed otherwise. Waits until then, or until
 * `cancelled` rejects (the activity cancelled, or its workflow run gone).
 */
export async function endOfRun(client: Client, workflowId: string, runId: string, cancelled: Promise<never>): Promise<RetrainRunOutcome> {
  const handle = client.workflow.getHandle(workflowId, runId, { followRuns: false });
  try {
    const result = (await Promise.race([handle.result(), cancelled])) as { outcome: string; message: string; version?: string };
    return { workflowId, runId, outcome: result.outcome, message: result.message, ...(result.version ? { version: result.version } : {}) };
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    const closed = (await describeOrNull(client, workflowId, runId))?.status.name ?? 'FAILED';
    const outcome = closed === 'TERMINATED' ? 'terminated' : closed === 'CANCELLED' ? 'cancelled' : closed === 'TIMED_OUT' ? 'timed-out' : 'failed';
    return { workflowId, runId, outcome, message: innermost(error) };
  }
}

export function createRetrainRunActivities() {
  return {
    /**
     * Waits for the run `runId` of `workflowId` to end and says how (ModelMonitor's run in flight). Heartbeats;
     * cancelling it, or the monitor continuing as new, stops the wait, never the run.
     */
    awaitRunEnd: ({ workflowId, runId }: { workflowId: string; runId: string }): Promise<RetrainRunOutcome> =>
      withHeartbeat(() => endOfRun(getClient(), workflowId, runId, Context.current().cancelled)),
  };
}
