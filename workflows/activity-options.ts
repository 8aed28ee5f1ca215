/**
 * How each kind of activity is run, shared by the workflows that run the
 * pipeline's stages (RetrainingPipeline, ReproduceVersion). No stage waits long
 * on a dead worker: every activity heartbeats with a heartbeat timeout of
 * seconds, or is short with a start-to-close timeout of seconds. Transient
 * failures are retried for the retry budget on top of a stage's own time
 * (schedule-to-close). Heavy work goes to its own task queue (its own process
 * and concurrency limit). Deterministic code only.
 */
import { proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { createPipelineActivities } from '../activities/pipeline';
import { trainingQueueFor } from '../src/temporal/task-queues';
import { ACTIVITY_RETRY } from './definitions';

export type PipelineActivities = ReturnType<typeof createPipelineActivities>;

export function activityOptions(retryBudgetMinutes: number) {
  const minutes = (m: number) => m * 60_000;
  const heavyQueue = trainingQueueFor(workflowInfo().taskQueue);
  const kind = (runMinutes: number, heartbeatTimeout?: string, taskQueue?: string) =>
    proxyActivities<PipelineActivities>({
      taskQueue,
      startToCloseTimeout: minutes(runMinutes),
      heartbeatTimeout,
      scheduleToCloseTimeout: minutes(runMinutes + retryBudgetMinutes),
      retry: ACTIVITY_RETRY,
    });
  return {
    /** promote, discardRun and the compensations: a few reads and one conditional write. */
    light: kind(0.5),
    /** register copies the artifacts, heartbeating on a timer. */
    registration: kind(5, '10 seconds'),
    /** Data stages heartbeat on a timer: the engine reads on its own threads and results are copied in slices, so the loop stays free. */
    data: kind(60, '10 seconds', heavyQueue),
    /** Training and scoring run in child processes and heartbeat; a retry resumes from the last checkpoint. */
    compute: kind(120, '10 seconds', heavyQueue),
  };
}
