/**
 * Scheduled retraining (issue 10): the spec's optional `retraining` section.
 * Specs written before it hash as they did. `perennial models apply` puts it
 * on a Temporal Schedule (`scheduled-retrain/<model>`) whose action is
 * ScheduledRetrain, which asks the model's monitor for a run (trigger source
 * `schedule`) and waits for that run to end, so the overlap policy covers the
 * whole retraining.
 */
import { z } from 'zod';
import { quoteValue } from '../errors';
import { scheduleProblem } from '../temporal/schedules';

/** Temporal's overlap policies, by the names a spec writes them. */
export const OVERLAP_POLICIES = ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all'] as const;

const DURATION = /^(\d+)\s*(s|secs?|seconds?|m|mins?|minutes?|h|hours?|d|days?)$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const MIN_CATCHUP_MS = 60_000;
const MAX_CATCHUP_MS = 365 * 86_400_000;

/** Milliseconds of a duration such as '1 day', '6 hours', '30m'; undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]![0]!]!;
}

export const retrainingSpec = z
  .object({
    /** When: 'hourly', 'daily', 'weekly', an interval ('6h', '2d') or a cron expression of five fields (UTC). */
    schedule: z
      .string({
        error: (issue) =>
          issue.input === undefined ? "say when the model is retrained: 'daily', 'weekly', an interval such as '12h', or a cron expression" : undefined,
      })
      .superRefine((s, ctx) => {
        const problem = scheduleProblem(s);
        if (problem) ctx.addIssue({ code: 'custom', message: `${quoteValue(s)} ${problem}` });
      }),
    /** What happens when the next time comes while the last retraining is still running (Temporal's overlap policy): skip by default. */
    overlap: z.enum(OVERLAP_POLICIES, { error: () => `one of ${OVERLAP_POLICIES.join(', ')} (Temporal's overlap policies)` }).default('skip'),
    /** How late a missed time (the server was down) may still run: '1 day', '6 hours', '30m'. */
    catchupWindow: z
      .string()
      .superRefine((s, ctx) => {
        const ms = durationMs(s);
        if (ms === undefined) ctx.addIssue({ code: 'custom', message: `${quoteValue(s)} is not a duration such as '1 day', '6 hours' or '30m'` });
        else if (ms < MIN_CATCHUP_MS || ms > MAX_CATCHUP_MS) ctx.addIssue({ code: 'custom', message: `${quoteValue(s)} must be from a minute to 365 days` });
      })
      .default('1 day'),
    /** Created (or, when this value changes, set) paused; a person's pause or resume stays until it changes. */
    paused: z.boolean().default(false),
  })
  .strict();
