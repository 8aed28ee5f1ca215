/**
 * Creates a model's Temporal Schedule, or updates it when it exists, for the
 * scheduled workflows (RetentionSweep, DriftCheck, ScheduledRetrain): the spec's
 * schedule, the workflow on the config's task queue, overlap SKIP (a run still
 * going when the next is due makes the next one skip) and catch-up of an hour
 * unless given. Idempotent: the same apply again changes nothing (`changed`
 * false); a paused schedule stays paused.
 */
import { createHash } from 'node:crypto';
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
  /** Overlap policy (default SKIP) and catch-up window (default an hour). */
  overlap?: ScheduleOverlapPolicy;
  catchupWindow?: string | number;
  /** Paused as a spec says: at creation, and when this value changed since the last apply; otherwise a person's pause or resume stays. */
  paused?: boolean;
}

/** Where the action's memo keeps what was applied last, so the same apply again changes nothing. */
const APPLIED_MEMO = 'perennialApplied';

export async function applyWorkflowSchedule(
  client: Client,
  config: PerennialConfig,
  scheduled: ScheduledWorkflow,
): Promise<{ scheduleId: string; created: boolean; changed: boolean; describe: string }> {
  const { scheduleId } = scheduled;
  const { spec, describe } = scheduleSpecOf(scheduled.schedule);
  const base = {
    type: 'startWorkflow' as const,
    workflowType: scheduled.workflowType,
    workflowId: scheduleId,
    taskQueue: config.taskQueue,
    args: [scheduled.input],
    staticSummary: `${scheduled.summary} (scheduled: ${describe})`,
  };
  const policies = { overlap: scheduled.overlap ?? ScheduleOverlapPolicy.SKIP, catchupWindow: scheduled.catchupWindow ?? '1 hour' };
  const note = `${scheduled.note}: ${describe}`;
  const fingerprint = createHash('sha256').update(JSON.stringify({ spec, base, policies, note })).digest('hex');
  const applied = { fingerprint, paused: scheduled.paused ?? null };
  const action = { ...base, memo: { [APPLIED_MEMO]: applied } };
  try {
    await client.schedule.create({ scheduleId, spec, action, policies, state: { note, paused: scheduled.paused ?? false } });
    return { scheduleId, created: true, changed: true, describe };
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const last = (current.action.type === 'startWorkflow' ? current.action.memo?.[APPLIED_MEMO] : undefined) as typeof applied | undefined;
  if (last?.fingerprint === fingerprint && last.paused === applied.paused) return { scheduleId, created: false, changed: false, describe };
  const setPaused = scheduled.paused !== undefined && scheduled.paused !== last?.paused;
  await handle.update((previous) => ({ spec, action, policies, state: { note, paused: setPaused ? scheduled.paused : previous.state.paused } }));
  return { scheduleId, created: false, changed: true, describe };
}
