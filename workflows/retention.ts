/**
 * RetentionSweep (`retention/<model>`, on a Temporal Schedule or from
 * `perennial retention`): deletes a model's old snapshots, the staging and
 * checkpoints of runs that died, old prediction and feedback log partitions
 * and old reports, under the spec's `retention` policy, and never what a live
 * alias, a kept version or a release in flight needs (src/retention has the
 * rules). Plan, then apply: the plan is a report in S3; apply deletes in
 * batches and stops if the aliases, versions or releases moved since the
 * plan, and the sweep plans again from what is there now.
 */
import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type * as retentionActivities from '../activities/retention';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import type { KeptVersion, KindTotals, ReasonCounts } from '../src/retention/plan';
import { addTotals, describeReasons, describeTotals } from '../src/retention/summary';
import { DEFAULT_RETRY_BUDGET_MINUTES } from '../src/temporal/task-queues';
import { ACTIVITY_RETRY, SA_MODEL, SA_STAGE, SA_TRIGGER } from './definitions';

type Activities = ReturnType<typeof retentionActivities.createRetentionActivities>;

export interface RetentionInput {
  model: string;
  /** Plan and write the report, delete nothing. */
  dryRun?: boolean;
  /** Judge ages as of this time (ISO) instead of now: a what-if, or a test. */
  now?: string;
  /** Who started it: `cli:<user>`, `schedule:<id>`... (shown in the details). */
  requestedBy?: string;
}

export interface RetentionResult {
  model: string;
  dryRun: boolean;
  asOf: string;
  /** The report of the last plan (reports/<model>/retention/<time>.json): the plan, then what was deleted. */
  reportKey: string;
  /** What the last plan would delete, per kind. */
  planned: KindTotals;
  /** What was deleted, per kind (over every plan of the sweep); empty for a dry run. */
  deleted: KindTotals;
  /** Objects kept, per reason (the last plan). */
  protected: ReasonCounts;
  kept: KeptVersion[];
  /** Times the sweep planned again because aliases, versions or releases moved. */
  replans: number;
  /** Snapshot objects written again since the plan, and objects already gone, left alone. */
  skipped: number;
  message: string;
}

/** Plans made again before the sweep gives up (the next sweep tries again). */
const MAX_REPLANS = 3;

const minutes = (m: number) => m * 60_000;

const { planRetention } = proxyActivities<Activities>({
  startToCloseTimeout: minutes(10),
  heartbeatTimeout: '10 seconds',
  scheduleToCloseTimeout: minutes(10 + DEFAULT_RETRY_BUDGET_MINUTES),
  retry: ACTIVITY_RETRY,
});
const { applyRetention } = proxyActivities<Activities>({
  startToCloseTimeout: minutes(120),
  heartbeatTimeout: '10 seconds',
  scheduleToCloseTimeout: minutes(120 + DEFAULT_RETRY_BUDGET_MINUTES),
  retry: ACTIVITY_RETRY,
});

export async function RetentionSweep(input: RetentionInput): Promise<RetentionResult> {
  const { model } = input;
  const dryRun = input.dryRun ?? false;
  try {
    checkName('model', model);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  if (input.now !== undefined && Number.isNaN(Date.parse(input.now))) {
    throw ApplicationFailure.nonRetryable(`now: '${input.now}' is not an ISO 8601 time`, 'InvalidRetentionInput');
  }
  // Workflow time (deterministic): a retried plan activity writes the same report.
  const now = input.now ?? new Date().toISOString();
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: 'retention' },
    { key: SA_STAGE, value: 'plan' },
  ]);
  const who = input.requestedBy ? ` · asked by ${input.requestedBy}` : '';
  setCurrentDetails(`**${model}** · retention${dryRun ? ' (dry run)' : ''}: planning as of ${now}${who}`);

  let deleted: KindTotals = {};
  let skipped = 0;
  for (let replan = 0; ; replan++) {
    const plan = await planRetention.executeWithOptions({ summary: `plan retention of ${model}${replan > 0 ? ` (again, ${replan})` : ''}` }, [
      { model, now, dryRun, replan },
    ]);
    const planned = describeTotals(plan.planned);
    const finish = (message: string): RetentionResult => {
      upsertSearchAttributes([{ key: SA_STAGE, value: dryRun ? 'dry-run' : 'done' }]);
      setCurrentDetails(`**${model}** · retention: ${message} · report \`${plan.reportKey}\``);
      return {
        model,
        dryRun,
        asOf: plan.asOf,
        reportKey: plan.reportKey,
        planned: plan.planned,
        deleted,
        protected: plan.protected,
        kept: plan.kept,
        replans: replan,
        skipped,
        message,
      };
    };
    const keptVersions = plan.kept.map((k) => `${k.version} (${k.reasons.join(', ')})`).join(', ') || 'none';
    if (dryRun) return finish(`dry run: would delete ${planned}; kept versions ${keptVersions}; protected ${describeReasons(plan.protected)}`);

    upsertSearchAttributes([{ key: SA_STAGE, value: 'apply' }]);
    setCurrentDetails(`**${model}** · retention: deleting ${planned}; kept versions ${keptVersions} · plan \`${plan.reportKey}\``);
    const applied = await applyRetention.executeWithOptions({ summary: `delete ${planned}` }, [
      { model, reportKey: plan.reportKey, fingerprint: plan.fingerprint },
    ]);
    deleted = addTotals(deleted, applied.deleted);
    skipped += applied.skipped + applied.gone;
    if (applied.status === 'done') {
      return finish(`deleted ${describeTotals(deleted)}; kept versions ${keptVersions}; protected ${describeReasons(plan.protected)}`);
    }
    if (replan + 1 > MAX_REPLANS) {
      upsertSearchAttributes([{ key: SA_STAGE, value: 'failed' }]);
      throw ApplicationFailure.nonRetryable(
        `${model}: what protects objects kept moving during the sweep (${applied.reason}); gave up after ${MAX_REPLANS} new plans, having deleted ${describeTotals(deleted)}; the next sweep tries again`,
        'RetentionPlanStale',
      );
    }
    setCurrentDetails(`**${model}** · retention: ${applied.reason}; planning again`);
  }
}
