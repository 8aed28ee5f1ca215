/**
 * The retention plan: which of a model's objects a sweep deletes and which it
 * keeps, and why. Pure: the listing, the aliases, the kept versions' lineage,
 * the release records, the policy and the time come in; nothing is read or
 * deleted here (activities/retention.ts does that).
 *
 * What is swept: training snapshots (file and manifest together), the staging
 * areas and checkpoints runs left behind, prediction and feedback log
 * partitions, and reports. What never is: incoming/, quarantine/, validated/,
 * sources/, specs/, spec.json, aliases.json, releases/ and versions/ (a
 * version's bundle stays for good: rollback and serving need only it).
 *
 * A version is kept when it is the champion, the previous champion, the
 * canary, the candidate of a release record that has not finished, or among
 * the newest `keepVersions`. What a kept version needs is never deleted: its
 * snapshot file and manifest, and the evaluation report of its run.
 */
import type { RetentionPolicy } from '../spec/model-spec';
import { keys } from '../store/keys';

/** What a swept object is. */
export const RETENTION_KINDS = [
  'snapshot',
  'staging',
  'checkpoint',
  'prediction-log',
  'feedback-log',
  'evaluation-report',
  'drift-report',
  'retention-report',
] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/**
 * Why an object stays, strongest first: a version's role, then a live run,
 * then the policy's age limit; `not-swept` is a prefix retention never
 * deletes from, `unrecognized` a key whose layout it does not know (kept, not guessed at).
 */
export const KEEP_REASONS = [
  'champion',
  'canary',
  'release-in-flight',
  'previous',
  'newest-versions',
  'run-in-flight',
  'within-policy',
  'not-swept',
  'unrecognized',
] as const;
export type KeepReason = (typeof KEEP_REASONS)[number];
/** The reasons that keep a version. */
export type VersionReason = Extract<KeepReason, 'champion' | 'canary' | 'release-in-flight' | 'previous' | 'newest-versions'>;

export interface ListedObject {
  key: string;
  size: number;
  etag?: string;
  /** When it was last written; an object without one is never judged old. */
  lastModified?: Date | string;
}

/** The parts of a version's lineage retention reads (src/registry Lineage has them). */
export interface LineageForRetention {
  version: string;
  createdAt?: string;
  data: { snapshotSha256: string; snapshotKey: string };
  workflow: { runId: string };
}

/** A release record as stored (models/<model>/releases/<version>.json); `record` is null when it could not be read as JSON. */
export interface ReleaseRecordInput {
  key: string;
  record: unknown;
}

export interface RetentionInput {
  model: string;
  now: Date;
  policy: RetentionPolicy;
  /** The objects under the swept prefixes (anything else listed here is kept as not swept). */
  objects: ListedObject[];
  aliases: { champion: string | null; previous: string | null; canary: string | null };
  /** Every committed version, by name ('v1'...). */
  versions: string[];
  /** The lineage of the kept versions at least (a kept version without one protects nothing more than its bundle). */
  lineages: LineageForRetention[];
  releases: ReleaseRecordInput[];
  /** Reports this sweep wrote itself (a plan made again keeps the one it replaces, whatever `now` says). */
  ownReports?: string[];
}

export interface KeptVersion {
  version: string;
  reasons: VersionReason[];
}

export interface PlannedDeletion {
  key: string;
  kind: RetentionKind;
  size: number;
  /** For a person: what it is and why it goes. */
  reason: string;
  /** As listed: apply skips an object written again since the plan. */
  etag?: string;
  lastModified?: string;
}

export interface KeptObject {
  key: string;
  kind: RetentionKind | 'other';
  reason: KeepReason;
  detail: string;
}

export type KindTotals = Partial<Record<RetentionKind, { objects: number; bytes: number }>>;
export type ReasonCounts = Partial<Record<KeepReason, number>>;

export interface RetentionPlan {
  model: string;
  asOf: string;
  policy: RetentionPolicy;
  kept: KeptVersion[];
  /** In the order apply deletes them: a snapshot's manifest before its file. */
  delete: PlannedDeletion[];
  keep: KeptObject[];
  totals: { delete: KindTotals; keep: ReasonCounts };
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const VERSION = /^v(\d+)$/;
const DATE_PARTITION = /^dt=(\d{4}-\d{2}-\d{2})$/;
const MANIFEST = '.manifest.json';
const SNAPSHOT_FILE = /\.(parquet|csv(\.gz)?)$/i;
/** Finished states of a release record (CanaryRelease writes one of them, or finishedAt, when it ends). */
const FINISHED_RELEASE = new Set(['promoted', 'aborted', 'rejected', 'rolled-back', 'rolled_back', 'completed', 'failed', 'cancelled', 'canceled', 'finished']);

/** Whether a release record says its release ended; anything else (running, unreadable, unknown shape) keeps its version. */
export function releaseFinished(record: unknown): boolean {
  if (typeof record !== 'object' || record === null) return false;
  const r = record as Record<string, unknown>;
  if (typeof r.finishedAt === 'string' || typeof r.endedAt === 'string') return true;
  return ['status', 'state', 'outcome'].some((field) => typeof r[field] === 'string' && FINISHED_RELEASE.has(r[field].toLowerCase()));
}

/** The version a release record is about: its file name, or a `version` field it names. */
function releaseVersions(model: string, release: ReleaseRecordInput): string[] {
  const out: string[] = [];
  const prefix = keys.releases(model);
  if (release.key.startsWith(prefix) && release.key.endsWith('.json')) out.push(release.key.slice(prefix.length, -'.json'.length));
  const r = release.record as { version?: unknown; candidate?: unknown } | null;
  for (const v of [r?.version, r?.candidate]) if (typeof v === 'string' && !out.includes(v)) out.push(v);
  return out;
}

/** The versions of release records that have not finished, sorted. */
export function releasesInFlight(model: string, releases: ReleaseRecordInput[]): string[] {
  const out = new Set<string>();
  for (const release of releases) if (!releaseFinished(release.record)) for (const v of releaseVersions(model, release)) out.add(v);
  return [...out].sort();
}

/** Each kept version with every reason it is kept, strongest reason first. */
export function keptVersions(input: Pick<RetentionInput, 'model' | 'aliases' | 'versions' | 'releases' | 'policy'>): KeptVersion[] {
  const reasons = new Map<string, Set<VersionReason>>();
  const keep = (version: string | null | undefined, reason: VersionReason) => {
    if (!version) return;
    if (!reasons.has(version)) reasons.set(version, new Set());
    reasons.get(version)!.add(reason);
  };
  keep(input.aliases.champion, 'champion');
  keep(input.aliases.canary, 'canary');
  for (const v of releasesInFlight(input.model, input.releases)) keep(v, 'release-in-flight');
  keep(input.aliases.previous, 'previous');
  const newest = input.versions
    .filter((v) => VERSION.test(v))
    .sort((a, b) => versionNumber(b) - versionNumber(a))
    .slice(0, input.policy.keepVersions);
  for (const v of newest) keep(v, 'newest-versions');
  const order = (r: KeepReason) => KEEP_REASONS.indexOf(r);
  return [...reasons]
    .map(([version, set]) => ({ version, reasons: [...set].sort((a, b) => order(a) - order(b)) }))
    .sort((a, b) => order(a.reasons[0]!) - order(b.reasons[0]!) || versionNumber(b.version) - versionNumber(a.version));
}

const versionNumber = (v: string): number => Number(VERSION.exec(v)?.[1] ?? -1);

function timeOf(o: ListedObject): number | undefined {
  if (o.lastModified === undefined) return undefined;
  const t = typeof o.lastModified === 'string' ? Date.parse(o.lastModified) : o.lastModified.getTime();
  return Number.isFinite(t) ? t : undefined;
}

/** The newest write in a group of objects; undefined when one of them has no time (then the group is never old). */
function newestWrite(objects: ListedObject[]): number | undefined {
  let newest = -Infinity;
  for (const o of objects) {
    const t = timeOf(o);
    if (t === undefined) return undefined;
    if (t > newest) newest = t;
  }
  return newest;
}

const isoDay = (t: number) => new Date(t).toISOString().slice(0, 10);
const isoTime = (t: number) => new Date(t).toISOString();
const short = (id: string) => (id.length > 16 ? id.slice(0, 12) : id);

function describeAge(ms: number): string {
  if (ms >= 2 * DAY_MS) return `${Math.floor(ms / DAY_MS)} days`;
  if (ms >= 2 * HOUR_MS) return `${Math.floor(ms / HOUR_MS)} hours`;
  return `${Math.max(0, Math.floor(ms / 60_000))} minutes`;
}

type Classified =
  | { kind: 'snapshot'; id: string; manifest: boolean }
  | { kind: 'staging' | 'checkpoint'; runId: string }
  | { kind: 'prediction-log' | 'feedback-log'; day: string }
  | { kind: 'evaluation-report'; runId: string }
  | { kind: 'drift-report' | 'retention-report' }
  | { kind: 'not-swept' }
  | { kind: 'unrecognized'; as: RetentionKind | 'other' };

/** What a key of `model` is, from the layout of src/store/keys.ts. */
export function classifyKey(model: string, key: string): Classified {
  const under = (prefix: string) => (key.startsWith(prefix) ? key.slice(prefix.length) : undefined);
  let rest: string | undefined;
  if ((rest = under(keys.snapshots(model))) !== undefined) {
    if (rest.includes('/')) return { kind: 'unrecognized', as: 'snapshot' };
    if (rest.endsWith(MANIFEST) && rest.length > MANIFEST.length) return { kind: 'snapshot', id: rest.slice(0, -MANIFEST.length), manifest: true };
    const match = SNAPSHOT_FILE.exec(rest);
    if (match && match.index > 0) return { kind: 'snapshot', id: rest.slice(0, match.index), manifest: false };
    return { kind: 'unrecognized', as: 'snapshot' };
  }
  for (const [prefix, kind] of [
    [keys.allStaging(model), 'staging'],
    [keys.allCheckpoints(model), 'checkpoint'],
  ] as const) {
    if ((rest = under(prefix)) === undefined) continue;
    const slash = rest.indexOf('/');
    return slash > 0 && slash < rest.length - 1 ? { kind, runId: rest.slice(0, slash) } : { kind: 'unrecognized', as: kind };
  }
  for (const [prefix, kind] of [
    [keys.predictionLogs(model), 'prediction-log'],
    [keys.feedbackLogs(model), 'feedback-log'],
    [keys.feedbackUnmatchedLogs(model), 'feedback-log'],
  ] as const) {
    if ((rest = under(prefix)) === undefined) continue;
    const [partition, ...file] = rest.split('/');
    const day = DATE_PARTITION.exec(partition ?? '')?.[1];
    return day && Number.isFinite(Date.parse(day)) && file.join('/') !== '' ? { kind, day } : { kind: 'unrecognized', as: kind };
  }
  if ((rest = under(keys.evaluations(model))) !== undefined) {
    return /^[^/]+\.json$/.test(rest)
      ? { kind: 'evaluation-report', runId: rest.slice(0, -'.json'.length) }
      : { kind: 'unrecognized', as: 'evaluation-report' };
  }
  if ((rest = under(keys.driftReports(model))) !== undefined)
    return rest.includes('/') ? { kind: 'unrecognized', as: 'drift-report' } : { kind: 'drift-report' };
  if ((rest = under(keys.retentionReports(model))) !== undefined)
    return rest.includes('/') ? { kind: 'unrecognized', as: 'retention-report' } : { kind: 'retention-report' };
  // Another folder under reports/ or logs/ (a kind of report this code does not know yet): kept, not guessed at.
  if (key.startsWith(keys.reports(model)) || key.startsWith(keys.logs(model))) return { kind: 'unrecognized', as: 'other' };
  return { kind: 'not-swept' };
}

/** Plans a sweep: every listed object is either deleted or kept, each with its reason. */
export function planRetention(input: RetentionInput): RetentionPlan {
  const { model, policy } = input;
  const now = input.now.getTime();
  const kept = keptVersions(input);
  const keptReason = new Map(kept.map((k) => [k.version, k.reasons[0]!]));
  const lineages = input.lineages.filter((l) => keptReason.has(l.version));

  // What the kept versions need, with the strongest reason and every version that needs it.
  const needs = new Map<string, { reason: VersionReason; versions: string[] }>();
  const need = (what: string, version: string) => {
    const reason = keptReason.get(version)!;
    const found = needs.get(what);
    if (!found) needs.set(what, { reason, versions: [version] });
    else {
      found.versions.push(version);
      if (KEEP_REASONS.indexOf(reason) < KEEP_REASONS.indexOf(found.reason)) found.reason = reason;
    }
  };
  for (const l of lineages) {
    need(`snapshot:${l.data.snapshotSha256}`, l.version);
    need(`key:${l.data.snapshotKey}`, l.version);
    need(`run:${l.workflow.runId}`, l.version);
  }
  const describeNeed = (n: { versions: string[] }) => n.versions.map((v) => `${v} (${kept.find((k) => k.version === v)!.reasons.join(', ')})`).join(', ');

  const deletions: PlannedDeletion[] = [];
  const keep: KeptObject[] = [];
  const drop = (o: ListedObject, kind: RetentionKind, reason: string) => {
    const t = timeOf(o);
    deletions.push({
      key: o.key,
      kind,
      size: o.size,
      reason,
      ...(o.etag ? { etag: o.etag } : {}),
      ...(t !== undefined ? { lastModified: isoTime(t) } : {}),
    });
  };
  const hold = (o: ListedObject, kind: KeptObject['kind'], reason: KeepReason, detail: string) => keep.push({ key: o.key, kind, reason, detail });

  // Group what is judged together: a snapshot's file and manifest, a run's staging or checkpoints.
  const snapshots = new Map<string, ListedObject[]>();
  const runFolders = new Map<string, { kind: 'staging' | 'checkpoint'; runId: string; objects: ListedObject[] }>();
  for (const o of input.objects) {
    const c = classifyKey(model, o.key);
    switch (c.kind) {
      case 'snapshot':
        snapshots.set(c.id, [...(snapshots.get(c.id) ?? []), o]);
        break;
      case 'staging':
      case 'checkpoint': {
        const id = `${c.kind}:${c.runId}`;
        const folder = runFolders.get(id) ?? { kind: c.kind, runId: c.runId, objects: [] };
        folder.objects.push(o);
        runFolders.set(id, folder);
        break;
      }
      case 'prediction-log':
      case 'feedback-log': {
        const days = c.kind === 'prediction-log' ? policy.predictionLogDays : policy.feedbackLogDays;
        const setting = c.kind === 'prediction-log' ? 'predictionLogDays' : 'feedbackLogDays';
        const age = Math.floor((Date.parse(isoDay(now)) - Date.parse(c.day)) / DAY_MS);
        if (age > days) drop(o, c.kind, `partition dt=${c.day} is ${age} days old, older than ${setting} ${days}`);
        else hold(o, c.kind, 'within-policy', `partition dt=${c.day} is ${Math.max(age, 0)} days old (${setting} ${days})`);
        break;
      }
      case 'evaluation-report': {
        const needed = needs.get(`run:${c.runId}`);
        if (needed) {
          hold(o, c.kind, needed.reason, `the evaluation of ${describeNeed(needed)}`);
          break;
        }
        judgeReport(o, c.kind);
        break;
      }
      case 'drift-report':
        judgeReport(o, c.kind);
        break;
      case 'retention-report':
        if (input.ownReports?.includes(o.key)) hold(o, c.kind, 'within-policy', "this sweep's own report");
        else judgeReport(o, c.kind);
        break;
      case 'not-swept':
        hold(o, 'other', 'not-swept', 'retention never deletes here');
        break;
      case 'unrecognized':
        hold(o, c.as, 'unrecognized', 'not a key of the layout retention knows: kept');
        break;
    }
  }

  function judgeReport(o: ListedObject, kind: 'evaluation-report' | 'drift-report' | 'retention-report') {
    const t = timeOf(o);
    if (t !== undefined && now - t > policy.reportDays * DAY_MS) {
      drop(o, kind, `written ${isoTime(t)}, ${describeAge(now - t)} ago, older than reportDays ${policy.reportDays}`);
    } else {
      hold(o, kind, 'within-policy', t === undefined ? 'no time of writing listed' : `written ${describeAge(now - t)} ago (reportDays ${policy.reportDays})`);
    }
  }

  for (const [id, objects] of snapshots) {
    const needed = needs.get(`snapshot:${id}`) ?? objects.map((o) => needs.get(`key:${o.key}`)).find((n) => n !== undefined);
    if (needed) {
      for (const o of objects) hold(o, 'snapshot', needed.reason, `snapshot ${short(id)} of ${describeNeed(needed)}`);
      continue;
    }
    const newest = newestWrite(objects);
    if (newest !== undefined && now - newest > policy.snapshotDays * DAY_MS) {
      // The manifest first: a run that finds no manifest builds the snapshot again rather than trusting a file about to go.
      const ordered = [...objects].sort((a, b) => Number(b.key.endsWith(MANIFEST)) - Number(a.key.endsWith(MANIFEST)) || (a.key < b.key ? -1 : 1));
      for (const o of ordered) {
        drop(
          o,
          'snapshot',
          `snapshot ${short(id)} written ${isoTime(newest)}, older than snapshotDays ${policy.snapshotDays}, and no kept version trained on it`,
        );
      }
    } else {
      const detail = newest === undefined ? 'no time of writing listed' : `written ${describeAge(now - newest)} ago (snapshotDays ${policy.snapshotDays})`;
      for (const o of objects) hold(o, 'snapshot', 'within-policy', `snapshot ${short(id)} ${detail}`);
    }
  }

  for (const { kind, runId, objects } of runFolders.values()) {
    const newest = newestWrite(objects);
    const what = kind === 'staging' ? 'staging area' : 'checkpoints';
    if (newest !== undefined && now - newest > policy.leftoverHours * HOUR_MS) {
      for (const o of objects) {
        drop(o, kind, `${what} of run ${runId}, last written ${isoTime(newest)}, more than leftoverHours ${policy.leftoverHours} ago: the run is gone`);
      }
    } else {
      const detail =
        newest === undefined ? 'no time of writing listed' : `last written ${describeAge(now - newest)} ago (leftoverHours ${policy.leftoverHours})`;
      for (const o of objects) hold(o, kind, 'run-in-flight', `${what} of run ${runId} ${detail}: the run may still be alive`);
    }
  }

  // A snapshot's manifest before its file; otherwise kind, then key.
  const kindOrder = (k: RetentionKind) => RETENTION_KINDS.indexOf(k);
  const position = new Map(deletions.map((d, i) => [d.key, i]));
  deletions.sort(
    (a, b) => kindOrder(a.kind) - kindOrder(b.kind) || (a.kind === 'snapshot' ? position.get(a.key)! - position.get(b.key)! : a.key < b.key ? -1 : 1),
  );
  keep.sort((a, b) => KEEP_REASONS.indexOf(a.reason) - KEEP_REASONS.indexOf(b.reason) || (a.key < b.key ? -1 : 1));

  return { model, asOf: input.now.toISOString(), policy, kept, delete: deletions, keep, totals: { delete: totalsByKind(deletions), keep: countReasons(keep) } };
}

export function totalsByKind(entries: Pick<PlannedDeletion, 'kind' | 'size'>[]): KindTotals {
  const totals: KindTotals = {};
  for (const e of entries) {
    const t = (totals[e.kind] ??= { objects: 0, bytes: 0 });
    t.objects += 1;
    t.bytes += e.size;
  }
  return totals;
}

function countReasons(entries: KeptObject[]): ReasonCounts {
  const counts: ReasonCounts = {};
  for (const e of entries) counts[e.reason] = (counts[e.reason] ?? 0) + 1;
  return counts;
}
