/**
 * When a scheduled workflow runs, as a model spec writes it, and as a Temporal
 * Schedule's spec. Shared by the retention sweep (`retention.schedule`) and the
 * drift check (`monitoring.drift.schedule`); pure (a type import only), so the
 * spec checks a value with the same rules the conversion applies.
 *
 * - 'hourly', 'daily', 'weekly': intervals from the epoch (on the hour;
 *   midnight UTC; weekly on Thursdays, 1970-01-01 was one);
 * - an interval of whole seconds, minutes, hours or days: '15m', '6h', '2d'
 *   (from the epoch too: '15m' runs at :00, :15, :30, :45), at least a minute;
 * - anything else: a cron expression of five fields (UTC).
 */
import type { ScheduleSpec } from '@temporalio/client';

const NAMED: Record<string, { every: string; describe: string }> = {
  hourly: { every: '1 hour', describe: 'every hour (on the hour, UTC)' },
  daily: { every: '1 day', describe: 'every day (00:00 UTC)' },
  weekly: { every: '7 days', describe: 'every 7 days (Thursdays 00:00 UTC)' },
};

const UNITS: Record<string, { seconds: number; word: string }> = {
  s: { seconds: 1, word: 'second' },
  m: { seconds: 60, word: 'minute' },
  h: { seconds: 3600, word: 'hour' },
  d: { seconds: 86_400, word: 'day' },
};

const INTERVAL = /^(\d+)\s*([smhd])$/;

/** A cron expression of five fields (minute hour day-of-month month day-of-week), as Temporal Schedules read it. */
const CRON = /^[0-9A-Za-z*?,/#-]+(\s+[0-9A-Za-z*?,/#-]+){4}$/;

/** The shortest interval a schedule may have. */
const MIN_INTERVAL_SECONDS = 60;

/** Why `schedule` is not one this module reads ('hourly', 'daily', 'weekly', an interval, a cron expression), or undefined when it is. */
export function scheduleProblem(schedule: string): string | undefined {
  const text = schedule.trim();
  if (NAMED[text] || CRON.test(text)) return undefined;
  const interval = INTERVAL.exec(text);
  if (!interval) {
    return `is not 'hourly', 'daily', 'weekly', an interval such as '15m', '6h' or '2d', or a cron expression of five fields (minute hour day-of-month month day-of-week, UTC), e.g. '30 3 * * *'`;
  }
  if (Number(interval[1]) * UNITS[interval[2]!]!.seconds < MIN_INTERVAL_SECONDS) return 'is shorter than a minute; a schedule runs at most once a minute';
  return undefined;
}

/** The Temporal Schedule spec of a schedule the spec checked (scheduleProblem), and how a person reads it. */
export function scheduleSpecOf(schedule: string): { spec: ScheduleSpec; describe: string } {
  const text = schedule.trim();
  const named = NAMED[text];
  if (named) return { spec: { intervals: [{ every: named.every }] }, describe: named.describe };
  const interval = INTERVAL.exec(text);
  if (interval) {
    const n = Number(interval[1]);
    const unit = UNITS[interval[2]!]!;
    const every = `${n} ${unit.word}${n === 1 ? '' : 's'}`;
    return { spec: { intervals: [{ every }] }, describe: `every ${n === 1 ? unit.word : every}` };
  }
  const cron = text.split(/\s+/).join(' ');
  return { spec: { cronExpressions: [cron] }, describe: `cron '${cron}' (UTC)` };
}
