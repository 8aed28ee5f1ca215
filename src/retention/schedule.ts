/**
 * When the retention sweep runs: the spec's `retention.schedule` as a Temporal
 * Schedule's spec. 'daily' and 'weekly' are intervals (every 24 h, every 7
 * days, from the epoch: midnight UTC; weekly on Thursdays); anything else is
 * the cron expression the spec checked (five fields, UTC).
 */
import type { ScheduleSpec } from '@temporalio/client';

const INTERVALS: Record<string, { every: string; describe: string }> = {
  daily: { every: '1 day', describe: 'every day (00:00 UTC)' },
  weekly: { every: '7 days', describe: 'every 7 days (Thursdays 00:00 UTC)' },
};

export function retentionScheduleSpec(schedule: string): { spec: ScheduleSpec; describe: string } {
  const interval = INTERVALS[schedule];
  if (interval) return { spec: { intervals: [{ every: interval.every }] }, describe: interval.describe };
  const cron = schedule.trim().split(/\s+/).join(' ');
  return { spec: { cronExpressions: [cron] }, describe: `cron '${cron}' (UTC)` };
}
