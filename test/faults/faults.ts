/** What the fault tests share: the checks of a run that must end as if nothing happened. */
import { expect } from 'vitest';
import { keys } from '../../src/store';
import type { Harness } from '../integration/harness';

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
}

/** The highest attempt each activity type took in a run, from its history. */
export async function attemptsByActivity(h: Harness, workflowId: string): Promise<Map<string, number>> {
  const history = await h.client.workflow.getHandle(workflowId).fetchHistory();
  const typeBySchedule = new Map<string, string>();
  const out = new Map<string, number>();
  for (const event of history.events ?? []) {
    const scheduled = event.activityTaskScheduledEventAttributes;
    if (scheduled) typeBySchedule.set(String(event.eventId), scheduled.activityType?.name ?? '?');
    const started = event.activityTaskStartedEventAttributes;
    if (started) {
      const type = typeBySchedule.get(String(started.scheduledEventId)) ?? '?';
      out.set(type, Math.max(out.get(type) ?? 0, started.attempt ?? 1));
    }
  }
  return out;
}
