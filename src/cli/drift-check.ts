import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { workflowIds } from '../../workflows/definitions';
import type { DriftCheck, DriftCheckInput, DriftCheckResult } from '../../workflows/drift-check';
import { loadConfig, scheduleUrl, workflowUrl, type PerennialConfig } from '../config';
import { checkName } from '../names';
import { loadPublishedSpec } from '../spec';
import { driftCheckPolicy, type DriftCheckPolicy } from '../spec/monitoring-spec';
import { S3Store } from '../store';
import { connectClient, queuesWithoutWorkers, workflowFailureMessage } from '../temporal';
import { applyWorkflowSchedule } from '../temporal/apply-schedule';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

const number = (x: number | null) => (x === null ? '—' : Math.abs(x) >= 1e-3 || x === 0 ? String(Math.round(x * 1e4) / 1e4) : x.toExponential(3));

/** A check's result as a person reads it. */
export function formatDriftCheck(result: DriftCheckResult): string {
  const lines = [result.message];
  if (result.status === 'checked' && result.signal) {
    lines.push(`  ${'column'.padEnd(16)} ${'method'.padEnd(14)} ${'statistic'.padStart(10)} ${'p-value'.padStart(10)}  drift`);
    for (const c of result.signal.columns) {
      lines.push(
        `  ${c.name.padEnd(16)} ${c.method.padEnd(14)} ${number(c.statistic).padStart(10)} ${number(c.p_value).padStart(10)}  ${c.drift ? 'DRIFT' : 'no'}`,
      );
    }
  }
  for (const c of result.leftOut) lines.push(`left out: ${c.name}: ${c.reason}`);
  if (result.reportKey) lines.push(`report: ${result.reportKey} (HTML: ${result.htmlKey})`);
  return lines.join('\n');
}

/** The policy in a line: what the schedule will compare. */
export function describePolicy(policy: DriftCheckPolicy): string {
  return (
    `window ${policy.window} h, at least ${policy.minRows} rows, samples of at most ${policy.maxRows} rows; method ${policy.method}` +
    `${policy.threshold !== undefined ? `, threshold ${policy.threshold}` : ''}, drift share ${policy.driftShare}` +
    `; columns ${policy.columns?.join(', ') ?? "the champion's numeric and categorical features"}`
  );
}

/**
 * Creates the model's drift-check Schedule (id drift-check/<model>), or updates
 * it when it exists: the spec's monitoring.drift.schedule, DriftCheck on this
 * config's task queue, overlap SKIP (a check still running when the next is
 * due makes the next one skip). Idempotent; a paused schedule stays paused.
 */
export async function applyDriftCheckSchedule(
  client: Client,
  config: PerennialConfig,
  model: string,
  policy: DriftCheckPolicy,
): Promise<{ scheduleId: string; created: boolean; changed: boolean; describe: string }> {
  const scheduleId = workflowIds.driftCheck(model);
  const input: DriftCheckInput = { model, requestedBy: `schedule:${scheduleId}` };
  return applyWorkflowSchedule(client, config, {
    scheduleId,
    workflowType: 'DriftCheck',
    input,
    schedule: policy.schedule,
    summary: `Drift check of **${model}**`,
    note: `drift check of ${model}, under the spec's monitoring.drift`,
  });
}

/**
 * `perennial drift-check --model <name> [--wait]`: one DriftCheck now;
 * `--schedule`: create or update the Temporal Schedule that checks under the
 * spec's monitoring.drift. Exit codes: 0 checked (drift or not), skipped, or
 * the schedule in place; 1 the check failed; 2 bad usage or no spec.
 */
export async function runDriftCheckCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('drift-check', argv, {
    model: { type: 'string' },
    wait: { type: 'boolean', default: false },
    schedule: { type: 'boolean', default: false },
  });
  if (!values.model) throw new Error('drift-check needs --model <name> (see: perennial registry list)');
  checkName('model', values.model, '--model');
  if (values.schedule && values.wait) throw new Error('--schedule creates or updates the Temporal Schedule of the check; it does not take --wait');
  const model = values.model;
  const config = loadConfig();
  // The options are the spec's: a model with no spec in force cannot be checked (SpecNotFoundError says how to publish one).
  const { spec } = await loadPublishedSpec(S3Store.fromConfig(config), model);
  const policy = driftCheckPolicy(spec);
  const client = await connectClient(config);
  try {
    if (values.schedule) {
      const { scheduleId, created, changed, describe } = await applyDriftCheckSchedule(client, config, model, policy);
      io.stdout(`${created ? 'schedule created' : changed ? 'schedule updated' : 'schedule unchanged'}: ${scheduleId}, ${describe}, overlap skip`);
      io.stdout(`policy: ${describePolicy(policy)}${spec.monitoring?.drift ? '' : ' (the defaults: the spec has no monitoring.drift)'}`);
      io.stdout(`Temporal UI: ${scheduleUrl(config, scheduleId)}`);
      return 0;
    }

    const workflowId = workflowIds.driftCheck(model);
    let handle: WorkflowHandle<typeof DriftCheck>;
    let joined = false;
    try {
      handle = await client.workflow.start<typeof DriftCheck>('DriftCheck', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ model, requestedBy: `cli:${userName()}`, retryBudgetMinutes: config.retryBudgetMinutes }],
        staticSummary: `Drift check of **${model}**`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      handle = client.workflow.getHandle<typeof DriftCheck>(workflowId);
      joined = true;
    }
    const { runId } = await handle.describe();
    io.stdout(joined ? `a drift check of '${model}' is already running; joined it instead of starting another: ${workflowId}` : `started: ${workflowId}`);
    io.stdout(`Temporal UI: ${workflowUrl(config, workflowId, runId)}`);
    if (!values.wait) return 0;

    const result = handle.result();
    let done = false;
    result.then(
      () => (done = true),
      () => (done = true),
    );
    // A check with no worker waits in silence: after a moment, say which queue nobody polls.
    const workerCheck = setTimeout(() => {
      queuesWithoutWorkers(client, { workflows: config.taskQueue, activities: [config.trainingTaskQueue] })
        .then((idle) => {
          if (idle.length === 0 || done) return;
          io.stderr(
            `no worker polls task queue(s) ${idle.map((q) => `'${q}'`).join(', ')} in namespace '${config.temporalNamespace}': start one with 'npm run worker' (still waiting)`,
          );
        })
        .catch(() => undefined);
    }, 2000);
    try {
      io.stdout(formatDriftCheck(await result));
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
