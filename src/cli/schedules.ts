import { ScheduleNotFoundError, type Client, type ScheduleDescription } from '@temporalio/client';
import { workflowIds } from '../../workflows/definitions';
import { scheduledRetrainId } from '../../workflows/scheduled-retrain';
import { loadConfig, scheduleUrl } from '../config';
import { checkName } from '../names';
import { connectClient } from '../temporal';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

/** The schedules a model may have, by the names `--kind` takes, and their ids. */
export const SCHEDULE_KINDS = {
  retraining: scheduledRetrainId,
  'drift-check': workflowIds.driftCheck,
  retention: workflowIds.retention,
} as const;
export type ScheduleKind = keyof typeof SCHEDULE_KINDS;
const KIND_NAMES = Object.keys(SCHEDULE_KINDS) as ScheduleKind[];
const ID = /^(scheduled-retrain|drift-check|retention)\/(.+)$/;
const KIND_OF_PREFIX: Record<string, ScheduleKind> = { 'scheduled-retrain': 'retraining', 'drift-check': 'drift-check', retention: 'retention' };

/** One schedule as `schedules list` and `models list` show it. */
export interface ScheduleRow {
  kind: ScheduleKind;
  model: string;
  scheduleId: string;
  /** How it reads ('every day (00:00 UTC)'), from the action's summary. */
  schedule: string;
  paused: boolean;
  note: string | null;
  overlap: string;
  /** The next time it runs (ISO), none while paused. */
  nextRun: string | null;
  /** The last action it took: when, and the workflow it started. */
  lastRun: { at: string; workflowId: string } | null;
  /** Actions skipped because the last one was still running (overlap skip). */
  skippedOverlap: number;
}

function rowOf(kind: ScheduleKind, model: string, d: ScheduleDescription): ScheduleRow {
  const summary = d.action.type === 'startWorkflow' ? (d.action.staticSummary ?? '') : '';
  const last = d.info.recentActions.at(-1);
  return {
    kind,
    model,
    scheduleId: d.scheduleId,
    schedule: /\(scheduled: (.*)\)$/.exec(summary)?.[1] ?? '(see the Temporal UI)',
    paused: d.state.paused,
    note: d.state.note ?? null,
    overlap: (d.policies.overlap ?? 'SKIP').toLowerCase(),
    nextRun: d.state.paused ? null : (d.info.nextActionTimes[0]?.toISOString() ?? null),
    lastRun: last ? { at: last.takenAt.toISOString(), workflowId: last.action.workflow.workflowId } : null,
    skippedOverlap: d.info.numActionsSkippedOverlap,
  };
}

async function describeOrNull(client: Client, scheduleId: string): Promise<ScheduleDescription | null> {
  try {
    return await client.schedule.getHandle(scheduleId).describe();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return null;
    throw error;
  }
}

/** A model's schedules that exist, by kind (read directly, not through visibility: a schedule made a moment ago is there). */
export async function modelSchedules(client: Client, model: string): Promise<ScheduleRow[]> {
  const rows = await Promise.all(
    KIND_NAMES.map(async (kind) => {
      const d = await describeOrNull(client, SCHEDULE_KINDS[kind](model));
      return d ? rowOf(kind, model, d) : null;
    }),
  );
  return rows.filter((r): r is ScheduleRow => r !== null);
}

/** Every model's schedules in the namespace (through visibility). */
async function allSchedules(client: Client): Promise<ScheduleRow[]> {
  const rows: ScheduleRow[] = [];
  for await (const summary of client.schedule.list()) {
    const match = ID.exec(summary.scheduleId);
    if (!match) continue;
    const d = await describeOrNull(client, summary.scheduleId);
    if (d) rows.push(rowOf(KIND_OF_PREFIX[match[1]!]!, match[2]!, d));
  }
  return rows.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** A schedule in a line: what, when, whether paused, the next run. */
export function formatScheduleRow(r: ScheduleRow): string {
  const state = r.paused ? `PAUSED${r.note ? ` (${r.note})` : ''}` : `next ${r.nextRun ?? '-'}`;
  const last = r.lastRun ? `; last ${r.lastRun.at} (${r.lastRun.workflowId})` : '';
  return `${r.kind.padEnd(12)} ${r.model.padEnd(20)} ${r.schedule}, overlap ${r.overlap}; ${state}${last}  [${r.scheduleId}]`;
}

/**
 * `perennial schedules list [--model m] [--json]` and
 * `perennial schedules pause|resume|trigger --model m --kind retraining|drift-check|retention [--note text]`.
 * `trigger` runs the action now under the schedule's own overlap policy (skip: nothing while the last is running).
 * Exit codes: 0 done; 1 no such schedule; 2 bad usage.
 */
export async function runSchedulesCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  const subs = ['list', 'pause', 'resume', 'trigger'];
  if (!sub || !subs.includes(sub)) throw new Error(`schedules needs one of ${subs.join(', ')}${sub ? `, not '${sub}'` : ''}`);
  const { values } = parseCommandArgs(`schedules ${sub}`, rest, {
    model: { type: 'string' },
    kind: { type: 'string' },
    note: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (values.model !== undefined) checkName('model', values.model, '--model');
  if (sub === 'list' && (values.kind !== undefined || values.note !== undefined)) throw new Error('schedules list takes --model and --json only');
  let kind: ScheduleKind | undefined;
  if (sub !== 'list') {
    if (!values.model) throw new Error(`schedules ${sub} needs --model <name>`);
    if (!values.kind || !KIND_NAMES.includes(values.kind as ScheduleKind)) {
      throw new Error(`schedules ${sub} needs --kind ${KIND_NAMES.join('|')}${values.kind ? `, not '${values.kind}'` : ''}`);
    }
    kind = values.kind as ScheduleKind;
    if (values.note !== undefined && sub === 'trigger') throw new Error('--note goes with pause and resume (it is kept on the schedule); trigger takes none');
  }
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    if (sub === 'list') {
      const rows = values.model ? await modelSchedules(client, values.model) : await allSchedules(client);
      if (values.json) io.stdout(JSON.stringify(rows, null, 2));
      else if (rows.length === 0)
        io.stdout(`no schedules${values.model ? ` for '${values.model}'` : ''}: 'perennial models apply <spec.yaml>' makes those the spec asks for`);
      else for (const r of rows) io.stdout(formatScheduleRow(r));
      return 0;
    }
    const model = values.model!;
    const scheduleId = SCHEDULE_KINDS[kind!](model);
    const handle = client.schedule.getHandle(scheduleId);
    const d = await describeOrNull(client, scheduleId);
    if (!d) {
      const how =
        kind === 'retraining' ? `a 'retraining' section in the spec` : kind === 'drift-check' ? `'monitoring.drift' in the spec` : `'retention' in the spec`;
      io.stderr(`no ${kind} schedule for '${model}' (${scheduleId}): add ${how} and run 'perennial models apply <spec.yaml>'`);
      return 1;
    }
    if (sub === 'pause') {
      const note = values.note ?? `paused by ${userName()} with perennial schedules pause`;
      if (d.state.paused) io.stdout(`already paused: ${scheduleId}${d.state.note ? ` (${d.state.note})` : ''}`);
      else {
        await handle.pause(note);
        io.stdout(`paused: ${scheduleId} (${note})`);
      }
    } else if (sub === 'resume') {
      const note = values.note ?? `resumed by ${userName()} with perennial schedules resume`;
      if (!d.state.paused) io.stdout(`not paused: ${scheduleId}; next run ${d.info.nextActionTimes[0]?.toISOString() ?? '-'}`);
      else {
        await handle.unpause(note);
        const next = (await handle.describe()).info.nextActionTimes[0];
        io.stdout(`resumed: ${scheduleId}; next run ${next?.toISOString() ?? '-'}`);
      }
    } else {
      // Under the schedule's own overlap policy: a trigger is one more scheduled time, not a way around it.
      const overlap = d.policies.overlap ?? 'SKIP';
      await handle.trigger(overlap);
      io.stdout(
        `triggered: ${scheduleId} runs now (overlap ${overlap.toLowerCase()}${overlap === 'SKIP' ? ': nothing starts while its last run is still going' : ''})`,
      );
    }
    io.stdout(`Temporal UI: ${scheduleUrl(config, scheduleId)}`);
    return 0;
  } finally {
    await client.connection.close();
  }
}
