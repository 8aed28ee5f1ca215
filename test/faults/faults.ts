/** What the fault tests share: the checks of a run that must end as if nothing happened. */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { keys } from '../../src/store';
import type { Harness } from '../integration/harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The run ended as if nothing had happened: v1 only, promoted once, every row of the 4 weather years in it, no leftovers. */
export async function expectOneCleanPromotion(h: Harness, model: string): Promise<void> {
  expect(await h.registry.listVersions(model)).toEqual(['v1']);
  const aliases = await h.registry.getAliases(model);
  expect(aliases.history.map((e) => `${e.action}:${e.from}->${e.to}`)).toEqual(['promote:null->v1']);
  const lineage = (await h.registry.getLineage(model, 'v1'))!;
  expect(lineage.data.rows).toBe(1461);
  // Nothing left behind: the version holds its own copies, the staging and checkpoints are gone.
  expect(await h.store.list(keys.staging(model, lineage.workflow.runId))).toEqual([]);
  expect(await h.store.list(keys.checkpoints(model, lineage.workflow.runId))).toEqual([]);
  // Nothing quarantined, one snapshot (re-running a data stage made the same content-addressed one).
  expect(await h.store.list(keys.quarantine(model))).toEqual([]);
  const snapshots = (await h.store.list(keys.snapshots(model))).map((o) => o.key).sort();
  expect(snapshots).toEqual([lineage.data.snapshotKey, keys.snapshotManifest(model, lineage.data.snapshotSha256)].sort());
}

/** Each activity event of a run's history with the activity type it belongs to (from its scheduled event). */
async function activityEvents(h: Harness, workflowId: string) {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const typeBySchedule = new Map<string, string>();
  const out: { type: string; attempt?: number; completedAt?: Date }[] = [];
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeBySchedule.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) out.push({ type: typeBySchedule.get(String(started.scheduledEventId)) ?? '?', attempt: started.attempt ?? 1 });
    const completed = event.activityTaskCompletedEventAttributes;
    if (completed) {
      const completedAt = new Date(Number(event.eventTime!.seconds) * 1000 + Math.round((event.eventTime!.nanos ?? 0) / 1e6));
      out.push({ type: typeBySchedule.get(String(completed.scheduledEventId)) ?? '?', completedAt });
    }
  }
  return out;
}

/** The highest attempt each activity type took in a run, from its history. */
export async function attemptsByActivity(h: Harness, workflowId: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const { type, attempt } of await activityEvents(h, workflowId)) if (attempt) out.set(type, Math.max(out.get(type) ?? 0, attempt));
  return out;
}

/** When the activity of this type last completed in a run, or null. */
export async function activityCompletedAt(h: Harness, workflowId: string, activityType: string): Promise<Date | null> {
  const completions = (await activityEvents(h, workflowId)).filter((e) => e.type === activityType && e.completedAt);
  return completions.at(-1)?.completedAt ?? null;
}

/** The length of the outages the fault tests hold (S3, Temporal). */
export const OUTAGE_MS = 60_000;

/** A program of this repository (`node --import tsx <path>`) in the harness's environment, its output collected. */
export function startProgram(h: Harness, path: string, env: NodeJS.ProcessEnv = {}): ChildProcess & { output: string } {
  const child = spawn(process.execPath, ['--import', 'tsx', path], {
    cwd: ROOT,
    env: { ...h.env, PERENNIAL_LOG_LEVEL: 'WARN', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { output: string };
  child.output = '';
  child.stdout!.on('data', (d) => (child.output += d));
  child.stderr!.on('data', (d) => (child.output += d));
  return child;
}
