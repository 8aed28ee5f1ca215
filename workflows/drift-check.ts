/**
 * DriftCheck (`drift-check/<model>`, on a Temporal Schedule made by
 * `perennial drift-check --schedule`, or from `perennial drift-check`):
 * compares the champion's training snapshot with the prediction log of the
 * spec's window (`monitoring.drift`) on the training task queue, writes the
 * JSON and HTML reports, shows the result in its details, and signals the
 * result to the model's monitor (`monitor/<model>`, signal `drift`, the
 * payload of src/temporal/monitor-contract.ts). Without a running monitor the
 * signal fails; the check records that and completes (the result is in the
 * report). A window with too few rows completes `skipped`, signalling nothing.
 */
import { ApplicationFailure, getExternalWorkflowHandle, proxyActivities, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type * as driftCheckActivities from '../activities/drift-check';
import type { DriftCheckOutput } from '../activities/drift-check';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { DRIFT_SIGNAL, monitorWorkflowId } from '../src/temporal/monitor-contract';
import { DEFAULT_RETRY_BUDGET_MINUTES, trainingQueueFor } from '../src/temporal/task-queues';
import { ACTIVITY_RETRY, SA_MODEL, SA_STAGE, SA_TRIGGER } from './definitions';

type Activities = ReturnType<typeof driftCheckActivities.createDriftCheckActivities>;

export interface DriftCheckInput {
  model: string;
  /** Check as of this time (ISO) instead of now: the window ends here. A what-if, or a test. */
  now?: string;
  /** Who started it: `cli:<user>`, `schedule:<id>`... (shown in the details). */
  requestedBy?: string;
  /** How long transient failures (store or server outages) of the check are retried (default PERENNIAL_RETRY_BUDGET_MINUTES' default, 10). */
  retryBudgetMinutes?: number;
}

/**
 * What became of signal `drift` to `monitor/<model>`: signalled; no monitor
 * runs under that id (the result is in the report all the same); the signal
 * failed otherwise (`monitorError` says how); or nothing to signal (skipped).
 */
export type MonitorDelivery = 'signalled' | 'not-running' | 'failed' | 'not-signalled';

export interface DriftCheckResult extends DriftCheckOutput {
  model: string;
  monitor: MonitorDelivery;
  monitorError?: string;
  message: string;
}

const minutes = (m: number) => m * 60_000;
/** The check's own time: downloading a day of log and sampling it (heartbeating all along). */
const CHECK_MINUTES = 30;

/** A share as people read it: 0.6, 1, 0.333. */
const share = (x: number) => String(Math.round(x * 1000) / 1000);

function describe(model: string, out: DriftCheckOutput): string {
  if (out.status === 'skipped') return `${model}: drift check skipped: ${out.reason}`;
  const signal = out.signal!;
  const testable = signal.columns.length;
  const drifted = out.drifted ?? [];
  const verdict = signal.drift ? 'dataset drift' : 'no dataset drift';
  const sampledCurrent = out.rows.current < out.rows.window ? ` (a sample of ${out.rows.current})` : '';
  const reference = out.rows.reference < out.rows.snapshot ? `a sample of ${out.rows.reference} of ${out.rows.snapshot} rows` : `${out.rows.snapshot} rows`;
  return (
    `${model}: ${verdict}: ${drifted.length} of ${testable} column(s) drifted (share ${share(signal.share)})${drifted.length ? `: ${drifted.join(', ')}` : ''}; ` +
    `${out.rows.window} row(s) of the last ${out.window.hours} h${sampledCurrent} vs champion ${out.champion}'s snapshot (${reference})`
  );
}

export async function DriftCheck(input: DriftCheckInput): Promise<DriftCheckResult> {
  const { model } = input;
  try {
    checkName('model', model);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  if (input.now !== undefined && Number.isNaN(Date.parse(input.now))) {
    throw ApplicationFailure.nonRetryable(`now: '${input.now}' is not an ISO 8601 time`, 'InvalidDriftCheckInput');
  }
  // Workflow time (deterministic): a retried check reads the same window and writes the same report keys.
  const at = input.now ?? new Date().toISOString();
  const budget = input.retryBudgetMinutes ?? DEFAULT_RETRY_BUDGET_MINUTES;
  // Heavy: it downloads and scans the log, and runs the drift engine (training queue, like the data stages).
  const { checkDrift } = proxyActivities<Activities>({
    taskQueue: trainingQueueFor(workflowInfo().taskQueue),
    startToCloseTimeout: minutes(CHECK_MINUTES),
    heartbeatTimeout: '10 seconds',
    scheduleToCloseTimeout: minutes(CHECK_MINUTES + budget),
    retry: ACTIVITY_RETRY,
  });
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: 'drift-check' },
    { key: SA_STAGE, value: 'check' },
  ]);
  const who = input.requestedBy ? ` · asked by ${input.requestedBy}` : '';
  setCurrentDetails(`**${model}** · drift check as of ${at}: comparing the champion's snapshot with the prediction log${who}`);

  const out = await checkDrift.executeWithOptions({ summary: `compare ${model}'s champion snapshot with its prediction log` }, [{ model, at }]);
  const message = describe(model, out);
  const reports = out.reportKey ? ` · report \`${out.reportKey}\` (HTML \`${out.htmlKey}\`)` : '';
  upsertSearchAttributes([{ key: SA_STAGE, value: out.status === 'skipped' ? 'skipped' : out.signal!.drift ? 'drift' : 'no-drift' }]);
  setCurrentDetails(`**${model}** · ${message}${reports}${who}`);
  if (out.status === 'skipped' || !out.signal) return { ...out, model, monitor: 'not-signalled', message };

  let monitor: MonitorDelivery = 'signalled';
  let monitorError: string | undefined;
  try {
    await getExternalWorkflowHandle(monitorWorkflowId(model)).signal(DRIFT_SIGNAL, out.signal);
  } catch (error) {
    // Core reports "Unable to signal external workflow because it was not found" (type ExternalWorkflowExecutionNotFound).
    const text = `${(error as Error).message} ${error instanceof ApplicationFailure ? (error.type ?? '') : ''}`;
    monitor = /not ?found/i.test(text) ? 'not-running' : 'failed';
    monitorError = (error as Error).message;
  }
  const delivered =
    monitor === 'signalled'
      ? `signalled ${monitorWorkflowId(model)}`
      : monitor === 'not-running'
        ? `no monitor runs as ${monitorWorkflowId(model)}: not signalled`
        : `signalling ${monitorWorkflowId(model)} failed: ${monitorError}`;
  setCurrentDetails(`**${model}** · ${message}${reports} · ${delivered}${who}`);
  return { ...out, model, monitor, ...(monitorError !== undefined ? { monitorError } : {}), message: `${message}; ${delivered}` };
}
