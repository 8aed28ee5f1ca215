/**
 * A model's data catalog read from S3: the snapshots under
 * datasets/<model>/snapshots/ (each Parquet file with its manifest; older CSV
 * snapshots may have none) and the registry's versions and champion.
 */
import { formatOf } from '../data/format';
import type { Registry } from '../registry';
import { baseName, getJsonIfExists, keys, withLocalFiles, type LocalFiles, type ObjectStore } from '../store';
import type { Catalog, CatalogBatch, CatalogSnapshot, CatalogVersion } from './catalog';
import { countRows } from './compare';

/** The manifest snapshot writes beside each snapshot (activities/datasets.ts SnapshotManifest), as read here. */
interface StoredManifest {
  sha256: string;
  key: string;
  fileSha256?: string;
  rows: number;
  timeRange?: { from: string; to: string } | null;
  batches: (CatalogBatch & { sha256: string })[];
  createdAt?: string;
  columns?: string[];
  window?: unknown;
}

const MANIFEST = /\.manifest\.json$/;
const SNAPSHOT_FILE = /\.(parquet|csv(\.gz)?)$/i;

/** Snapshots are Parquet, or CSV for those written before Parquet (SNAPSHOT_FILE admits no other). */
const snapshotFormat = (key: string): CatalogSnapshot['format'] => (formatOf(key) === 'parquet' ? 'parquet' : 'csv');

export async function loadCatalog(store: ObjectStore, registry: Registry, model: string): Promise<Catalog> {
  const objects = await store.list(keys.snapshots(model));
  const lineages = [];
  for (const v of await registry.listVersions(model)) {
    const lineage = await registry.getLineage(model, v);
    if (lineage) lineages.push(lineage);
  }
  const versions: CatalogVersion[] = lineages.map((l) => ({ version: l.version, snapshot: l.data.snapshotSha256, createdAt: l.createdAt }));
  const snapshots: CatalogSnapshot[] = [];
  const described = new Set<string>();
  for (const o of objects.filter((o) => MANIFEST.test(o.key))) {
    const found = await getJsonIfExists<StoredManifest>(store, o.key);
    if (!found) continue; // removed since the listing
    const m = found.value;
    described.add(m.key);
    snapshots.push({
      id: m.sha256,
      key: m.key,
      format: snapshotFormat(m.key),
      ...(m.fileSha256 ? { fileSha256: m.fileSha256 } : {}),
      rows: m.rows,
      timeRange: m.timeRange ?? null,
      batches: m.batches.map(({ key, sha256, bytes, source }) => ({ key, sha256, ...(bytes !== undefined ? { bytes } : {}), ...(source ? { source } : {}) })),
      createdAt: m.createdAt ?? o.lastModified?.toISOString() ?? null,
      columns: m.columns ?? null,
      window: m.window ?? null,
      manifest: true,
    });
  }
  // Snapshot files without a manifest (written before manifests): what the lineage of a version trained on it says.
  for (const o of objects.filter((o) => SNAPSHOT_FILE.test(o.key) && !described.has(o.key))) {
    const id = baseName(o.key).replace(SNAPSHOT_FILE, '');
    const lineage = lineages.find((l) => l.data.snapshotKey === o.key || l.data.snapshotSha256 === id);
    snapshots.push({
      id: lineage?.data.snapshotSha256 ?? id,
      key: o.key,
      format: snapshotFormat(o.key),
      ...(lineage?.data.snapshotFileSha256 ? { fileSha256: lineage.data.snapshotFileSha256 } : {}),
      rows: lineage?.data.rows ?? null,
      timeRange: lineage?.data.timeRange ?? null,
      batches: (lineage?.data.batches ?? []).map((key) => ({ key })), // the lineage has no batch sha256s
      createdAt: o.lastModified?.toISOString() ?? null,
      columns: null,
      window: null,
      manifest: false,
    });
  }
  snapshots.sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || a.id.localeCompare(b.id));
  const champion = (await registry.getAliases(model)).champion;
  return { model, snapshots, versions, champion };
}

/** A snapshot's file downloaded into `files` and checked against its recorded sha256 (the file's, or for a CSV snapshot its id). */
export function downloadSnapshot(files: LocalFiles, snapshot: CatalogSnapshot): Promise<string> {
  return files.download(snapshot.key, snapshot.fileSha256 ?? (snapshot.format === 'csv' ? snapshot.id : undefined));
}

/**
 * Each batch's accepted rows, from its validated Parquet
 * (datasets/<model>/validated/<batch sha>-<schema sha>.parquet) when it is still
 * stored; a batch validated under several schemas takes the newest file.
 */
export async function withAcceptedRows(store: ObjectStore, model: string, batches: CatalogBatch[]): Promise<CatalogBatch[]> {
  const validated = await store.list(keys.validatedBatches(model));
  return withLocalFiles(store, async (files) => {
    const out: CatalogBatch[] = [];
    for (const b of batches) {
      const found = b.sha256 ? validated.filter((o) => baseName(o.key).startsWith(`${b.sha256}-`)) : [];
      found.sort((x, y) => (y.lastModified?.getTime() ?? 0) - (x.lastModified?.getTime() ?? 0));
      const file = found[0];
      out.push(file ? { ...b, acceptedRows: await countRows(await files.download(file.key)) } : b);
    }
    return out;
  });
}
