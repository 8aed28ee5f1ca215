/**
 * The side effects of the retention sweep (workflows/retention.ts): read what
 * the plan needs (listings, aliases, lineage, release records, the spec's
 * policy), write the plan as a report, and delete what it says, in batches,
 * re-checking before each batch that nothing a plan relied on has moved.
 * The rules themselves are src/retention (pure).
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { ObjectNotFoundError } from '../src/errors';
import { checkName } from '../src/names';
import {
  keptVersions,
  planRetention as buildPlan,
  releasesInFlight,
  type KeptVersion,
  type KindTotals,
  type LineageForRetention,
  type PlannedDeletion,
  type ReasonCounts,
  type ReleaseRecordInput,
  type RetentionPlan,
  addTotals,
  totalsByKind,
} from '../src/retention';
import { loadPublishedSpec, retentionPolicy, type RetentionPolicy } from '../src/spec';
import { getJsonIfExists, keys, putJson, sha256, type ObjectInfo, type ObjectStore } from '../src/store';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export interface PlanRetentionInput {
  model: string;
  /** The time the plan is made as of (ISO); the workflow passes its own time, a test or a what-if another. */
  now?: string;
  dryRun: boolean;
  /** 0 for the first plan of a sweep, n for the plan made again after the n-th time the protection moved. */
  replan?: number;
}

export interface PlanRetentionOutput {
  reportKey: string;
  asOf: string;
  /** What the plan relied on (aliases, versions, releases in flight), hashed: apply deletes only while it is unchanged. */
  fingerprint: string;
  policy: RetentionPolicy;
  kept: KeptVersion[];
  planned: KindTotals;
  protected: ReasonCounts;
}

export interface ApplyRetentionInput {
  model: string;
  reportKey: string;
  fingerprint: string;
}

export interface ApplyRetentionOutput {
  /** 'stale': the aliases, versions or releases moved since the plan; nothing more was deleted, plan again. */
  status: 'done' | 'stale';
  deleted: KindTotals;
  /** Snapshot objects written again since the plan (a run rebuilt the same rows): left alone. */
  skipped: number;
  /** Already gone when their turn came (another sweep, a run's own cleanup). */
  gone: number;
  /** For 'stale': what moved. */
  reason?: string;
}

/** What a plan relies on besides the listing: if any of it changes, the plan may delete what is now protected. */
interface ProtectionState {
  aliases: { champion: string | null; previous: string | null; canary: string | null };
  versions: string[];
  releasesInFlight: string[];
}

/** The report a sweep writes (reports/<model>/retention/<time>.json): the plan, then what apply did. */
export interface RetentionReport {
  model: string;
  asOf: string;
  dryRun: boolean;
  replan: number;
  fingerprint: string;
  protection: ProtectionState;
  policy: RetentionPolicy;
  kept: KeptVersion[];
  totals: RetentionPlan['totals'];
  delete: PlannedDeletion[];
  /** The kept objects, the first KEEP_LISTED of them (the counts per reason are complete). */
  keep: RetentionPlan['keep'];
  keepListed: number;
  keepTotal: number;
  applied?: ApplyRetentionOutput & { finishedAt: string };
}

/** Kept objects listed by name in a report (a year of prediction log parts would be hundreds of thousands). */
const KEEP_LISTED = 10_000;
/** Deletions between two checks of the protection. */
const BATCH = 200;
/** Deletes at once within a batch. */
const PARALLEL = 8;

async function readReleases(store: ObjectStore, model: string): Promise<ReleaseRecordInput[]> {
  const out: ReleaseRecordInput[] = [];
  for (const o of await store.list(keys.releases(model))) {
    if (!o.key.endsWith('.json')) continue;
    let record: unknown = null;
    try {
      record = (await getJsonIfExists<unknown>(store, o.key))?.value ?? null;
    } catch (error) {
      // Unreadable: kept as a release in flight (its version stays protected), and said.
      log.warn('A release record is not JSON: its version is kept as if its release were in flight', { key: o.key, error: (error as Error).message });
    }
    out.push({ key: o.key, record });
  }
  return out;
}

function describeChange(before: ProtectionState, after: ProtectionState): string {
  const changes: string[] = [];
  for (const alias of ['champion', 'previous', 'canary'] as const) {
    if (before.aliases[alias] !== after.aliases[alias]) changes.push(`${alias} ${before.aliases[alias] ?? '(none)'} → ${after.aliases[alias] ?? '(none)'}`);
  }
  const added = after.versions.filter((v) => !before.versions.includes(v));
  const removed = before.versions.filter((v) => !after.versions.includes(v));
  if (added.length > 0) changes.push(`new version(s) ${added.join(', ')}`);
  if (removed.length > 0) changes.push(`version(s) ${removed.join(', ')} removed`);
  if (before.releasesInFlight.join() !== after.releasesInFlight.join())
    changes.push(`releases in flight ${before.releasesInFlight.join(', ') || '(none)'} → ${after.releasesInFlight.join(', ') || '(none)'}`);
  return changes.join('; ') || 'the protection changed';
}

/** Runs `work` over `items`, `limit` at a time. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  });
  await Promise.all(lanes);
}

/** Whether an object was written again since the plan listed it. */
function rewritten(head: ObjectInfo, planned: PlannedDeletion): boolean {
  // Same bytes written again have the same ETag: the time tells (S3 keeps it to the second).
  const movedOn =
    planned.lastModified !== undefined && head.lastModified !== undefined && head.lastModified.getTime() - Date.parse(planned.lastModified) >= 1000;
  const unquoted = (etag: string) => etag.replace(/"/g, '');
  return movedOn || (planned.etag !== undefined && head.etag !== '' && unquoted(planned.etag) !== unquoted(head.etag));
}

interface ApplyProgress {
  done: number;
  deleted: KindTotals;
  skipped: number;
  gone: number;
}

export function createRetentionActivities({ store, registry, clock }: ActivityDeps) {
  async function protectionState(model: string): Promise<{ state: ProtectionState; releases: ReleaseRecordInput[]; fingerprint: string }> {
    const aliases = await registry.getAliases(model);
    const versions = await registry.listVersions(model);
    const releases = await readReleases(store, model);
    const state: ProtectionState = {
      aliases: { champion: aliases.champion, previous: aliases.previous, canary: aliases.canary },
      versions,
      releasesInFlight: releasesInFlight(model, releases),
    };
    return { state, releases, fingerprint: sha256(JSON.stringify(state)) };
  }

  async function writeApplied(reportKey: string, report: RetentionReport, applied: ApplyRetentionOutput): Promise<void> {
    await putJson(store, reportKey, { ...report, applied: { ...applied, finishedAt: clock().toISOString() } } satisfies RetentionReport);
  }

  return {
    /**
     * Lists the model's swept prefixes, reads what protects objects, makes the
     * plan (src/retention) and writes it as a report. Deletes nothing.
     */
    planRetention: (input: PlanRetentionInput): Promise<PlanRetentionOutput> =>
      withHeartbeat(async () => {
        const { model, dryRun } = input;
        const replan = input.replan ?? 0;
        checkName('model', model);
        const asOf = input.now === undefined ? clock() : new Date(input.now);
        if (Number.isNaN(asOf.getTime())) throw ApplicationFailure.nonRetryable(`now: '${input.now}' is not an ISO 8601 time`, 'InvalidRetentionInput');
        // A model without a spec in force has no policy: SpecNotFoundError, not retried.
        const { spec } = await loadPublishedSpec(store, model);
        const policy = retentionPolicy(spec);
        const { state, releases, fingerprint } = await protectionState(model);
        const kept = keptVersions({ model, aliases: state.aliases, versions: state.versions, releases, policy });
        const lineages: LineageForRetention[] = [];
        for (const { version } of kept) {
          const lineage = await registry.getLineage(model, version);
          if (lineage) lineages.push(lineage);
        }
        const objects: ObjectInfo[] = [];
        for (const prefix of [keys.snapshots(model), keys.allStaging(model), keys.allCheckpoints(model), keys.reports(model), keys.logs(model)]) {
          for (const o of await store.list(prefix)) objects.push(o);
        }
        // The reports of this sweep's earlier plans (made again after the protection moved) stay with it.
        const ownReports = Array.from({ length: replan }, (_, n) => keys.retentionReport(model, asOf, n));
        const plan = buildPlan({ model, now: asOf, policy, objects, aliases: state.aliases, versions: state.versions, lineages, releases, ownReports });
        const reportKey = keys.retentionReport(model, asOf, replan);
        const report: RetentionReport = {
          model,
          asOf: plan.asOf,
          dryRun,
          replan,
          fingerprint,
          protection: state,
          policy,
          kept: plan.kept,
          totals: plan.totals,
          delete: plan.delete,
          keep: plan.keep.slice(0, KEEP_LISTED),
          keepListed: Math.min(plan.keep.length, KEEP_LISTED),
          keepTotal: plan.keep.length,
        };
        await putJson(store, reportKey, report);
        log.info('Retention plan written', { model, reportKey, delete: plan.delete.length, keep: plan.keep.length, dryRun });
        return { reportKey, asOf: plan.asOf, fingerprint, policy, kept: plan.kept, planned: plan.totals.delete, protected: plan.totals.keep };
      }),

    /**
     * Deletes what the plan in `reportKey` lists, BATCH at a time. Before each
     * batch it reads the aliases, versions and release records again: if they
     * moved since the plan it stops and answers 'stale' (the workflow plans
     * again), so nothing that became protected is deleted. A snapshot object
     * written again since the plan is left alone. Heartbeats its progress; a
     * retried attempt resumes after the last batch it reported.
     */
    async applyRetention({ model, reportKey, fingerprint }: ApplyRetentionInput): Promise<ApplyRetentionOutput> {
      checkName('model', model);
      const context = Context.current();
      const report = (await getJsonIfExists<RetentionReport>(store, reportKey))?.value;
      if (!report) throw new ObjectNotFoundError(reportKey, store.description);
      const resumed = context.info.heartbeatDetails as ApplyProgress | undefined;
      const progress: ApplyProgress = resumed ?? { done: 0, deleted: {}, skipped: 0, gone: 0 };
      context.heartbeat(progress);
      const beat = setInterval(() => context.heartbeat(progress), 2000);
      try {
        while (progress.done < report.delete.length) {
          context.cancellationSignal.throwIfAborted();
          const now = await protectionState(model);
          if (now.fingerprint !== fingerprint) {
            const outcome: ApplyRetentionOutput = {
              status: 'stale',
              deleted: progress.deleted,
              skipped: progress.skipped,
              gone: progress.gone,
              reason: describeChange(report.protection, now.state),
            };
            log.warn('What protects objects moved since the retention plan: stopping to plan again', { model, reportKey, reason: outcome.reason });
            await writeApplied(reportKey, report, outcome);
            return outcome;
          }
          const batch = report.delete.slice(progress.done, progress.done + BATCH);
          const deleted: PlannedDeletion[] = [];
          await forEachLimited(batch, PARALLEL, async (planned) => {
            // Snapshots are content-addressed: a run may have written the same key again since the plan.
            // After a retry, the previous attempt may have deleted past its last heartbeat: look before counting.
            if (planned.kind === 'snapshot' || resumed) {
              const head = await store.head(planned.key);
              if (!head) {
                progress.gone += 1;
                return;
              }
              if (planned.kind === 'snapshot' && rewritten(head, planned)) {
                log.warn('A snapshot object was written again since the retention plan: left alone', { key: planned.key });
                progress.skipped += 1;
                return;
              }
            }
            await store.delete(planned.key);
            deleted.push(planned);
          });
          progress.deleted = addTotals(progress.deleted, totalsByKind(deleted));
          progress.done += batch.length;
          context.heartbeat(progress);
        }
      } finally {
        clearInterval(beat);
      }
      const outcome: ApplyRetentionOutput = { status: 'done', deleted: progress.deleted, skipped: progress.skipped, gone: progress.gone };
      await writeApplied(reportKey, report, outcome);
      return outcome;
    },
  };
}
