/**
 * Creates a model's Temporal Schedule, or updates it when it exists, for the
 * scheduled workflows (RetentionSweep, DriftCheck): the spec's schedule, the
 * workflow on the config's task queue, overlap SKIP (a run still going when the
 * next is due makes the next one skip), catch-up of an hour. Idempotent; a
 * paused schedule stays paused.
 */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import type { PerennialConfig } from '../config';
import { scheduleSpecOf } from './schedules';

export interface ScheduledWorkflow {
  /** The schedule's id, which is also the id of the workflow it starts. */
  scheduleId: string;
  workflowType: string;
  /** The workflow's input (it names `requestedBy: schedule:<id>`). */
  input: unknown;
  /** The spec's schedule text ('daily', '15m', a cron expression). */
  schedule: string;
  /** What runs, for the UI: 'Retention of **weather**'. */
  summary: string;
  /** The schedule's note, for a person: what it does and from which setting. */
  note: string;
}

export async function applyWorkflowSchedule(
  client: Client,
  config: PerennialConfig,
  scheduled: ScheduledWorkflow,
): Promise<{ scheduleId: string; created: boolean; describe: string }> {
  const { scheduleId } = scheduled;
  const { spec, describe } = scheduleSpecOf(scheduled.schedule);
  const action = {
    type: 'startWorkflow' as const,
    workflowType: scheduled.workflowType,
    workflowId: scheduleId,
    taskQueue: config.taskQueue,
    args: [scheduled.input],
    staticSummary: `${scheduled.summary} (scheduled: ${describe})`,
  };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' };
  const note = `${scheduled.note}: ${describe}`;
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { note } });
    return { scheduleId, created: true, describe };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({ spec, action, policies, state: { note, paused: previous.state.paused } }));
  return { scheduleId, created: false, describe };
}
