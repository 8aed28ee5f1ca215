import { WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { monitorWorkflowId } from '../../workflows/definitions';
import { monitorStatusQuery, triggerUpdate, type ModelMonitor, type ModelMonitorStatus } from '../../workflows/monitor';
import { loadConfig, workflowUrl } from '../config';
import type { LiveFigures } from '../monitor/live';
import { checkName } from '../names';
import { connectClient } from '../temporal';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

const figure = (f: LiveFigures) =>
  f.labels === 0
    ? 'no labels'
    : [
        f.accuracy !== undefined ? `accuracy ${f.accuracy.toFixed(3)}` : '',
        f.macroF1 !== undefined ? `macro F1 ${f.macroF1.toFixed(3)}` : '',
        f.rmse !== undefined ? `RMSE ${f.rmse.toPrecision(4)}` : '',
        f.mae !== undefined ? `MAE ${f.mae.toPrecision(4)}` : '',
        `${f.labels} labels`,
        f.flags > 0 ? `${f.flags} flags` : '',
      ]
        .filter(Boolean)
        .join(', ');

/** A model's monitor as a person reads it. */
export function formatMonitorStatus(s: ModelMonitorStatus): string {
  const lines = [`${s.model}: champion ${s.champion ?? '(none)'}`];
  for (const [version, live] of Object.entries(s.live)) {
    lines.push(`  ${version.padEnd(6)} window: ${figure(live.window)}; all: ${figure(live.all)}`);
  }
  const t = s.thresholds;
  const set = Object.entries(t)
    .filter(([k]) => !['minLabels', 'window', 'cooldownMinutes'].includes(k))
    .map(([k, v]) => `${k} ${String(v)}`);
  lines.push(`  thresholds ${set.join(', ') || 'none'} (decides on ${t.minLabels}+ labels of a ${t.window}-label window; cooldown ${t.cooldownMinutes} min)`);
  if (s.drift)
    lines.push(
      `  drift      ${s.drift.drift ? 'DRIFT' : 'no drift'}, share ${s.drift.share.toFixed(2)} at ${s.drift.at}${s.drift.drifted.length ? ` (${s.drift.drifted.join(', ')})` : ''}`,
    );
  if (s.inFlight) lines.push(`  in flight  ${s.inFlight.workflowId} since ${s.inFlight.startedAt} (${s.inFlight.source}: ${s.inFlight.reason})`);
  if (s.queued) lines.push(`  queued     ${s.queued.source}: ${s.queued.reason}`);
  if (s.lastRun) lines.push(`  last run   ${s.lastRun.outcome} (${s.lastRun.trigger}) at ${s.lastRun.endedAt}: ${s.lastRun.message}`);
  for (const r of s.triggers.slice(-5)) lines.push(`  trigger    ${r.at} ${r.source} ${r.outcome}: ${r.reason}${r.evidence ? ` [${r.evidence}]` : ''}`);
  lines.push(
    `  signals ${s.counters.signals}, items ${s.counters.items}, duplicates ${s.counters.duplicates}, dropped ${s.counters.dropped}${s.counters.lastDropped ? ` (last: ${s.counters.lastDropped})` : ''}`,
  );
  return lines.join('\n');
}

/**
 * `perennial status --model <m> [--json]` and `perennial trigger --model <m> --reason <text>`:
 * the model's monitor (monitor/<model>), its query and its `trigger` update.
 * Exit codes: 0 done; 1 no monitor runs for the model, or the update was
 * refused (its reason); 2 bad usage.
 */
export async function runMonitorCommand(command: 'status' | 'trigger', argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(command, argv, {
    model: { type: 'string' },
    reason: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.model) throw new Error(`${command} needs --model <name>`);
  checkName('model', values.model, '--model');
  if (command === 'trigger' && !values.reason?.trim()) throw new Error('trigger needs --reason <why> (recorded with the run)');
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    const workflowId = monitorWorkflowId(values.model);
    const handle = client.workflow.getHandle<typeof ModelMonitor>(workflowId);
    try {
      if (command === 'status') {
        const status = await handle.query(monitorStatusQuery);
        io.stdout(values.json ? JSON.stringify(status, null, 2) : `${formatMonitorStatus(status)}\nTemporal UI: ${workflowUrl(config, workflowId)}`);
      } else {
        const answer = await handle.executeUpdate(triggerUpdate, { args: [{ reason: values.reason!, requestedBy: `cli:${userName()}` }] });
        io.stdout(values.json ? JSON.stringify(answer, null, 2) : `${answer.outcome}: ${answer.message}`);
        if (answer.workflowId && !values.json) io.stdout(`Temporal UI: ${workflowUrl(config, answer.workflowId)}`);
      }
      return 0;
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) {
        io.stderr(`no monitor runs for '${values.model}' (${workflowId}): it starts with the model's first feedback, or with 'perennial models apply'`);
        return 1;
      }
      if (error instanceof WorkflowUpdateFailedError) {
        io.stderr(`trigger refused: ${error.cause?.message ?? error.message}`);
        return 1;
      }
      throw error;
    }
  } finally {
    await client.connection.close();
  }
}
