/**
 * The data catalog of a model: its training snapshots, what is in each, which
 * registered versions were trained on which, and how two snapshots differ.
 * Pure logic and formatting here; reading S3 is in load.ts, comparing two
 * snapshot files in the engine is in compare.ts.
 */
import type { DriftReport } from '../drift';
import { renderText } from '../drift/report';

/** One batch of a snapshot, as its manifest records it. */
export interface CatalogBatch {
  key: string;
  /** Absent for a snapshot stored without a manifest: the lineage names its batches' keys only. */
  sha256?: string;
  bytes?: number;
  source?: string;
  /** Rows of the batch accepted by validate (its validated Parquet), when that file is still there. */
  acceptedRows?: number;
}

/** One snapshot: its manifest, or what the registry knows of an older one stored without a manifest. */
export interface CatalogSnapshot {
  /** Canonical row-set hash (older CSV snapshots: the file's sha256). */
  id: string;
  key: string;
  format: 'parquet' | 'csv';
  /** sha256 of the file's bytes; absent for older CSV snapshots, whose id is that sha256. */
  fileSha256?: string;
  rows: number | null;
  timeRange: { from: string; to: string } | null;
  batches: CatalogBatch[];
  /** When the manifest says it was made, else when the file was stored. */
  createdAt: string | null;
  columns: string[] | null;
  window: unknown;
  /** false: no manifest; the rest comes from the registry's lineage. */
  manifest: boolean;
}

/** A registered version and the snapshot it was trained on. */
export interface CatalogVersion {
  version: string;
  snapshot: string;
  createdAt: string;
}

export interface Catalog {
  model: string;
  /** Newest first. */
  snapshots: CatalogSnapshot[];
  /** Oldest first. */
  versions: CatalogVersion[];
  champion: string | null;
}

/** A user's mistake (an unknown or ambiguous snapshot, a missing flag): exit 2 with the message. */
export class CatalogUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CatalogUsageError';
  }
}

export const shortId = (id: string): string => id.slice(0, 12);

/** The versions trained on `snapshot`, oldest first. */
export function versionsOf(catalog: Catalog, snapshot: string): string[] {
  return catalog.versions.filter((v) => v.snapshot === snapshot).map((v) => v.version);
}

function existing(catalog: Catalog): string {
  if (catalog.snapshots.length === 0) return `model '${catalog.model}' has no snapshots yet (a retraining makes the first)`;
  const list = catalog.snapshots.map((s) => {
    const versions = versionsOf(catalog, s.id);
    return `${shortId(s.id)}${versions.length > 0 ? ` (${versions.join(', ')})` : ''}`;
  });
  return `model '${catalog.model}' has: ${list.join(', ')}${catalog.versions.length > 0 ? `; versions ${catalog.versions.map((v) => v.version).join(', ')}` : ''}`;
}

/**
 * The snapshot a user names: `champion`, a version (`v3`), or a snapshot id or
 * a unique prefix of one. Anything else is a CatalogUsageError naming what exists.
 */
export function resolveSnapshot(catalog: Catalog, ref: string, flag = '--snapshot'): CatalogSnapshot {
  const wanted = ref.trim().toLowerCase();
  if (wanted === '')
    throw new CatalogUsageError(`${flag} must name a snapshot (an id or a unique prefix of one, a version, or 'champion'); ${existing(catalog)}`);
  const byId = (id: string, via: string): CatalogSnapshot => {
    const found = catalog.snapshots.find((s) => s.id === id);
    if (!found) throw new CatalogUsageError(`${via} was trained on snapshot ${shortId(id)}, which is no longer stored; ${existing(catalog)}`);
    return found;
  };
  if (wanted === 'champion') {
    if (!catalog.champion) throw new CatalogUsageError(`${flag} champion: model '${catalog.model}' has no champion; ${existing(catalog)}`);
    const version = catalog.versions.find((v) => v.version === catalog.champion);
    if (!version) throw new CatalogUsageError(`${flag} champion: the champion ${catalog.champion} has no lineage; ${existing(catalog)}`);
    return byId(version.snapshot, `the champion ${version.version}`);
  }
  if (/^v\d+$/.test(wanted)) {
    const version = catalog.versions.find((v) => v.version === wanted);
    if (!version) throw new CatalogUsageError(`${flag} ${ref}: model '${catalog.model}' has no version '${ref}'; ${existing(catalog)}`);
    return byId(version.snapshot, version.version);
  }
  if (!/^[0-9a-f]+$/.test(wanted)) {
    throw new CatalogUsageError(`${flag} ${ref}: not a snapshot id (hex), a version (vN) or 'champion'; ${existing(catalog)}`);
  }
  const matches = catalog.snapshots.filter((s) => s.id.startsWith(wanted));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new CatalogUsageError(`${flag} ${ref}: no snapshot of model '${catalog.model}' starts with '${ref}'; ${existing(catalog)}`);
  throw new CatalogUsageError(
    `${flag} ${ref}: ${matches.length} snapshots start with '${ref}' (${matches.map((s) => shortId(s.id)).join(', ')}); give more of the id`,
  );
}

export interface BatchDiff {
  added: CatalogBatch[];
  removed: CatalogBatch[];
  /** In both (same content, by sha256; by key for a batch without one). */
  kept: number;
}

/** What a batch is compared by: its content (sha256), or its key when no manifest recorded the sha256. */
const identity = (b: CatalogBatch): string => b.sha256 ?? b.key;

/**
 * Batches in `to` and not in `from`, and the reverse, by content (sha256): a
 * batch re-sent under another name is the same batch. Batches without a sha256
 * (a snapshot without a manifest) are compared by key.
 */
export function diffBatches(from: CatalogBatch[], to: CatalogBatch[]): BatchDiff {
  const fromIds = new Set(from.map(identity));
  const toIds = new Set(to.map(identity));
  return {
    added: to.filter((b) => !fromIds.has(identity(b))),
    removed: from.filter((b) => !toIds.has(identity(b))),
    kept: to.filter((b) => fromIds.has(identity(b))).length,
  };
}

export interface SchemaColumn {
  name: string;
  type: string;
}

export interface SchemaDiff {
  added: SchemaColumn[];
  removed: SchemaColumn[];
  changed: { name: string; from: string; to: string }[];
  unchanged: boolean;
}

/** Columns added, removed and whose stored type changed, by name. */
export function diffSchemas(from: SchemaColumn[], to: SchemaColumn[]): SchemaDiff {
  const before = new Map(from.map((c) => [c.name, c.type]));
  const after = new Map(to.map((c) => [c.name, c.type]));
  const added = to.filter((c) => !before.has(c.name));
  const removed = from.filter((c) => !after.has(c.name));
  const changed = to.filter((c) => before.has(c.name) && before.get(c.name) !== c.type).map((c) => ({ name: c.name, from: before.get(c.name)!, to: c.type }));
  return { added, removed, changed, unchanged: added.length === 0 && removed.length === 0 && changed.length === 0 };
}

// ---- formatting ----------------------------------------------------------

const range = (r: { from: string; to: string } | null): string => (r ? `${r.from}..${r.to}` : '-');

function table(header: string[], rows: string[][], numeric: Set<number>): string[] {
  const widths = header.map((h) => h.length);
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i]!, cell.length)));
  const fmt = (r: string[]) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : numeric.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(fmt)];
}

function versionsLabel(catalog: Catalog, id: string): string {
  const versions = versionsOf(catalog, id);
  if (versions.length === 0) return '-';
  return versions.map((v) => (v === catalog.champion ? `${v} (champion)` : v)).join(', ');
}

/** One entry per snapshot, newest first: the machine form of `data list`. */
export function listEntries(catalog: Catalog) {
  return catalog.snapshots.map((s) => ({
    id: s.id,
    key: s.key,
    format: s.format,
    createdAt: s.createdAt,
    rows: s.rows,
    timeRange: s.timeRange,
    batches: s.batches.length,
    versions: versionsOf(catalog, s.id),
    champion: catalog.champion !== null && versionsOf(catalog, s.id).includes(catalog.champion),
  }));
}

/** `data list`: one line per snapshot, newest first; the champion's marked with '*'. */
export function formatList(catalog: Catalog): string {
  if (catalog.snapshots.length === 0) return `${catalog.model}: no snapshots yet (a retraining makes the first)\n`;
  const rows = listEntries(catalog).map((e) => [
    `${e.champion ? '*' : ' '} ${shortId(e.id)}`,
    e.createdAt ?? '-',
    e.rows === null ? '?' : String(e.rows),
    range(e.timeRange),
    String(e.batches),
    versionsLabel(catalog, e.id),
  ]);
  const lines = [
    `${catalog.model}: ${catalog.snapshots.length} snapshot(s), champion ${catalog.champion ?? '-'} (* trained the champion)`,
    ...table(['  snapshot', 'created', 'rows', 'time range', 'batches', 'versions'], rows, new Set([2, 4])),
  ];
  return lines.join('\n') + '\n';
}

/** `data show`: the manifest in full. */
export function formatShow(catalog: Catalog, s: CatalogSnapshot): string {
  const lines = [
    `snapshot ${s.id}`,
    `  model       ${catalog.model}`,
    `  key         ${s.key} (${s.format})`,
    `  file sha256 ${s.fileSha256 ?? (s.format === 'csv' ? `${s.id} (a CSV snapshot: its id is its file's sha256)` : '-')}`,
    `  created     ${s.createdAt ?? '-'}`,
    `  rows        ${s.rows ?? '?'}`,
    `  time range  ${range(s.timeRange)}`,
    `  window      ${s.window === undefined || s.window === null ? '-' : JSON.stringify(s.window)}`,
    `  columns     ${s.columns?.join(', ') ?? '-'}`,
    `  versions    ${versionsLabel(catalog, s.id)}`,
  ];
  if (!s.manifest) lines.push('  (no manifest: stored before manifests; rows and batches from the lineage of the versions trained on it)');
  lines.push(`  batches     ${s.batches.length}`);
  const rows = s.batches.map((b) => [b.key, b.sha256 ? shortId(b.sha256) : '?', b.source ?? '-', b.acceptedRows === undefined ? '?' : String(b.acceptedRows)]);
  if (rows.length > 0) for (const l of table(['batch', 'sha256', 'source', 'rows'], rows, new Set([3]))) lines.push(`    ${l}`);
  return lines.join('\n') + '\n';
}

export interface SnapshotSide {
  id: string;
  key: string;
  rows: number;
  timeRange: { from: string; to: string } | null;
  versions: string[];
}

export interface SnapshotDiff {
  model: string;
  from: SnapshotSide;
  to: SnapshotSide;
  rows: { added: number; removed: number; common: number; comparedOn: string[] };
  batches: BatchDiff;
  schema: SchemaDiff & { from: SchemaColumn[]; to: SchemaColumn[] };
  drift: DriftReport;
  driftSkipped: { name: string; reason: string }[];
}

const sideLabel = (s: SnapshotSide) => `${shortId(s.id)}${s.versions.length > 0 ? ` (${s.versions.join(', ')})` : ''}`;

/** `data diff` for people. */
export function formatDiff(d: SnapshotDiff): string {
  const lines = [
    `${d.model}: snapshot ${sideLabel(d.from)} -> ${sideLabel(d.to)}`,
    `rows        ${d.from.rows} -> ${d.to.rows}: ${d.rows.added} added, ${d.rows.removed} removed, ${d.rows.common} in both (by row content over ${d.rows.comparedOn.length} column(s); duplicates count)`,
    `time range  ${range(d.from.timeRange)} -> ${range(d.to.timeRange)}`,
    `batches     ${d.batches.added.length} added, ${d.batches.removed.length} removed, ${d.batches.kept} in both`,
  ];
  const batchLine = (sign: string, b: CatalogBatch) => `  ${sign} ${b.key}  ${b.sha256 ? shortId(b.sha256) : '?'}${b.source ? `  source ${b.source}` : ''}`;
  for (const b of d.batches.added) lines.push(batchLine('+', b));
  for (const b of d.batches.removed) lines.push(batchLine('-', b));
  if (d.schema.unchanged) lines.push(`schema      no change (${d.schema.to.length} columns)`);
  else {
    lines.push(`schema      ${d.schema.added.length} column(s) added, ${d.schema.removed.length} removed, ${d.schema.changed.length} type change(s)`);
    for (const c of d.schema.added) lines.push(`  + ${c.name} ${c.type}`);
    for (const c of d.schema.removed) lines.push(`  - ${c.name} ${c.type}`);
    for (const c of d.schema.changed) lines.push(`  ~ ${c.name} ${c.from} -> ${c.to}`);
  }
  lines.push('', `Drift from ${shortId(d.from.id)} (reference) to ${shortId(d.to.id)} (current):`);
  lines.push(renderText(d.drift).trimEnd());
  for (const s of d.driftSkipped) lines.push(`Skipped '${s.name}': ${s.reason}`);
  return lines.join('\n') + '\n';
}

/** `data diff --json`: the diff with the drift summary per column (the full report is `perennial drift --json`'s). */
export function diffJson(d: SnapshotDiff) {
  const r = d.drift;
  return {
    model: d.model,
    from: d.from,
    to: d.to,
    rows: d.rows,
    batches: { added: d.batches.added, removed: d.batches.removed, kept: d.batches.kept },
    schema: d.schema,
    drift: {
      drift: r.drift,
      share: r.share,
      drift_share: r.drift_share,
      number_of_columns: r.number_of_columns,
      number_of_drifted_columns: r.number_of_drifted_columns,
      reference_rows: r.reference_rows,
      current_rows: r.current_rows,
      columns: r.columns.map((c) => ({
        name: c.name,
        type: c.type,
        method: c.method,
        statistic: c.statistic,
        p_value: c.p_value,
        threshold: c.threshold,
        drift: c.drift,
        testable: c.testable,
        ...(c.reason ? { reason: c.reason } : {}),
      })),
      skipped: d.driftSkipped,
    },
  };
}
