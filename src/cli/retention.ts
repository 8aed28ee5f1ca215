import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { workflowIds } from '../../workflows/definitions';
import type { RetentionInput, RetentionResult, RetentionSweep } from '../../workflows/retention';
import { loadConfig, scheduleUrl, workflowUrl, type PerennialConfig } from '../config';
import { checkName } from '../names';
import { describeReasons, describeTotals, formatBytes } from '../retention';
import { loadPublishedSpec, retentionPolicy, type RetentionPolicy } from '../spec';
import { S3Store } from '../store';
import { connectClient, queuesWithoutWorkers, workflowFailureMessage } from '../temporal';
import { applyWorkflowSchedule } from '../temporal/apply-schedule';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

/** What a sweep did (or, for a dry run, would do), as a person reads it. */
export function formatRetention(result: RetentionResult): string {
  const lines = [
    result.dryRun
      ? `${result.model}: dry run as of ${result.asOf}: would delete ${describeTotals(result.planned)}; nothing deleted`
      : `${result.model}: deleted ${describeTotals(result.deleted)} as of ${result.asOf}`,
  ];
  const byKind = result.dryRun ? result.planned : result.deleted;
  for (const [kind, t] of Object.entries(byKind)) lines.push(`  ${kind.padEnd(18)} ${String(t.objects).padStart(7)}  ${formatBytes(t.bytes)}`);
  lines.push(`kept versions: ${result.kept.map((k) => `${k.version} (${k.reasons.join(', ')})`).join(', ') || 'none'}`);
  lines.push(`protected: ${describeReasons(result.protected)}`);
  if (result.replans > 0) lines.push(`planned again ${result.replans} time(s): aliases, versions or releases moved during the sweep`);
  if (result.skipped > 0) lines.push(`left alone: ${result.skipped} object(s) written again or already gone since the plan`);
  lines.push(`report: ${result.reportKey}`);
  return lines.join('\n');
}

/**
 * Creates the model's retention Schedule (id retention/<model>), or updates it
 * when it exists: the spec's retention.schedule, RetentionSweep on this
 * config's task queue, overlap SKIP (a sweep still running when the next is
 * due makes the next one skip). Idempotent; a paused schedule stays paused.
 */
export async function applyRetentionSchedule(
  client: Client,
  config: PerennialConfig,
  model: string,
  policy: RetentionPolicy,
): Promise<{ scheduleId: string; created: boolean; changed: boolean; describe: string }> {
  const scheduleId = workflowIds.retention(model);
  const input: RetentionInput = { model, requestedBy: `schedule:${scheduleId}` };
  return applyWorkflowSchedule(client, config, {
    scheduleId,
    workflowType: 'RetentionSweep',
    input,
    schedule: policy.schedule,
    summary: `Retention of **${model}**`,
    note: `retention of ${model}, under the spec's retention policy`,
  });
}

/**
 * `perennial retention --model <name> [--dry-run] [--wait]`: one RetentionSweep
 * now (a dry run waits and prints the plan); `--schedule`: create or update the
 * Temporal Schedule that sweeps under the spec's retention.schedule. Exit
 * codes: 0 done (or schedule in place), 1 the sweep failed, 2 bad usage or no spec.
 */
export async function runRetentionCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('retention', argv, {
    model: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    wait: { type: 'boolean', default: false },
    schedule: { type: 'boolean', default: false },
  });
  if (!values.model) throw new Error('retention needs --model <name> (see: perennial registry list)');
  checkName('model', values.model, '--model');
  if (values.schedule && (values['dry-run'] || values.wait)) {
    throw new Error('--schedule creates or updates the Temporal Schedule of the sweep; it takes neither --dry-run nor --wait');
  }
  const model = values.model;
  const config = loadConfig();
  // The policy is the spec's: a model with no spec in force cannot be swept (SpecNotFoundError says how to publish one).
  const { spec } = await loadPublishedSpec(S3Store.fromConfig(config), model);
  const policy = retentionPolicy(spec);
  const client = await connectClient(config);
  try {
    if (values.schedule) {
      const { scheduleId, created, changed, describe } = await applyRetentionSchedule(client, config, model, policy);
      io.stdout(`${created ? 'schedule created' : changed ? 'schedule updated' : 'schedule unchanged'}: ${scheduleId}, ${describe}, overlap skip`);
      io.stdout(
        `policy: keep ${policy.keepVersions} newest versions; snapshots ${policy.snapshotDays} d, prediction log ${policy.predictionLogDays} d, ` +
          `feedback log ${policy.feedbackLogDays} d, reports ${policy.reportDays} d, leftovers ${policy.leftoverHours} h`,
      );
      io.stdout(`Temporal UI: ${scheduleUrl(config, scheduleId)}`);
      return 0;
    }

    const dryRun = values['dry-run'];
    const workflowId = workflowIds.retention(model);
    let handle: WorkflowHandle<typeof RetentionSweep>;
    let joined = false;
    try {
      handle = await client.workflow.start<typeof RetentionSweep>('RetentionSweep', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ model, dryRun, requestedBy: `cli:${userName()}` }],
        staticSummary: `Retention of **${model}**${dryRun ? ' (dry run)' : ''}`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      handle = client.workflow.getHandle<typeof RetentionSweep>(workflowId);
      joined = true;
    }
    const { runId } = await handle.describe();
    io.stdout(joined ? `a retention sweep of '${model}' is already running; joined it instead of starting another: ${workflowId}` : `started: ${workflowId}`);
    io.stdout(`Temporal UI: ${workflowUrl(config, workflowId, runId)}`);
    // A dry run is asked for its answer: it waits.
    if (!values.wait && !dryRun) return 0;

    const result = handle.result();
    let done = false;
    result.then(
      () => (done = true),
      () => (done = true),
    );
    // A sweep with no worker waits in silence: after a moment, say which queue nobody polls.
    const workerCheck = setTimeout(() => {
      queuesWithoutWorkers(client, { workflows: config.taskQueue, activities: [] })
        .then((idle) => {
          if (idle.length === 0 || done) return;
          io.stderr(
            `no worker polls task queue '${config.taskQueue}' in namespace '${config.temporalNamespace}': start one with 'npm run worker' (still waiting)`,
          );
        })
        .catch(() => undefined);
    }, 2000);
    try {
      io.stdout(formatRetention(await result));
      return 0;
    } catch (error) {
      io.stderr(`failed: ${workflowFailureMessage(error)}`);
      return 1;
    } finally {
      clearTimeout(workerCheck);
    }
  } finally {
    await client.connection.close();
  }
}
