/**
 * Data side of the pipeline: find new batches, validate and quarantine, build
 * content-addressed snapshots. Side effects only; the rules live in src/data.
 */
import { readFile } from 'node:fs/promises';
import { log } from '@temporalio/activity';
import { DataError, ObjectNotFoundError } from '../src/errors';
import {
  batchesRefused,
  buildSnapshot,
  checkBatchFile,
  combineRowSetParts,
  describeRows,
  listNames,
  mergeBatchOutcomes,
  readSnapshotTable,
  rowSetPart,
  type ColumnTable,
} from '../src/data';
import { keys, baseName, getJsonIfExists, putJson, sha256, withLocalFiles, type ObjectStore } from '../src/store';
import type { ModelSpec } from '../src/spec';
import type {
  BatchRef,
  SnapshotInput,
  SnapshotOutput,
  SnapshotPartInput,
  SnapshotPartOutput,
  SnapshotRef,
  ValidateBatchInput,
  ValidateBatchOutput,
  ValidateInput,
  ValidateOutput,
} from './types';
import type { ActivityDeps } from './deps';
import { DATA_SUFFIX } from './sources';

export interface SnapshotManifest extends SnapshotRef {
  createdAt: string;
  columns: string[];
  window: ModelSpec['data']['window'];
}

/** New batches in incoming/ (a batch in incoming/<source>/ came from the spec's data source of that name). */
export async function listNewBatches(store: ObjectStore, model: string, base: SnapshotRef | null, sources: string[] = []): Promise<BatchRef[]> {
  const known = new Set(base?.batches.map((b) => b.sha256) ?? []);
  const seen = new Set(base?.batches.filter((b) => b.etag).map((b) => `${b.key}|${b.etag}`) ?? []);
  const batches: BatchRef[] = [];
  for (const object of await store.list(keys.incoming(model))) {
    if (!DATA_SUFFIX.test(object.key)) continue;
    if (object.etag && seen.has(`${object.key}|${object.etag}`)) continue; // unchanged since it was ingested
    const found = await store.getIfExists(object.key);
    if (!found) continue; // removed since the listing
    const sha = sha256(found.body);
    if (known.has(sha)) continue; // already in the base snapshot (same content, any name)
    known.add(sha);
    const folder = object.key.slice(keys.incoming(model).length).split('/');
    const source = folder.length > 1 && sources.includes(folder[0]!) ? folder[0] : undefined;
    batches.push({ key: object.key, sha256: sha, bytes: found.body.length, etag: found.etag, ...(source ? { source } : {}) });
  }
  return batches;
}

// Snapshots are immutable, so a read one can be kept: preprocess, train and
// evaluate of one run read the same snapshot, often on the same worker. Two
// are kept: a table of millions of rows is hundreds of MB.
const snapshotCache = new Map<string, ColumnTable>();
const SNAPSHOT_CACHE_SIZE = 2;

/**
 * A snapshot as typed columns in its time order, its bytes checked against the
 * sha256 they were written with (a damaged or replaced file would silently
 * train on other rows). The table is shared: callers must not change it.
 */
export async function readSnapshot(store: ObjectStore, spec: ModelSpec, snapshot: SnapshotRef): Promise<ColumnTable> {
  // The ETag is in the cache key so an object changed in the store since is read and checked again.
  const head = await store.head(snapshot.key);
  if (!head) throw new ObjectNotFoundError(snapshot.key, store.description);
  const cacheKey = `${store.description}|${snapshot.key}|${head.etag}|${schemaSha(spec)}`;
  const cached = snapshotCache.get(cacheKey);
  if (cached) return cached;
  const table = await withLocalFiles(store, async (files) => {
    const path = await files.download(snapshot.key, snapshot.fileSha256 ?? snapshot.sha256);
    return readSnapshotTable(path, spec.schema, snapshot.key);
  });
  snapshotCache.set(cacheKey, table);
  if (snapshotCache.size > SNAPSHOT_CACHE_SIZE) snapshotCache.delete(snapshotCache.keys().next().value!);
  return table;
}

function schemaSha(spec: ModelSpec): string {
  return sha256(JSON.stringify(spec.schema)).slice(0, 16);
}

export function createDatasetActivities({ store, clock }: ActivityDeps) {
  /**
   * Parses and checks one batch against the spec's schema. Bad rows go to
   * quarantine with their reasons; a batch over the error budget (or not
   * readable at all) is moved to quarantine whole and reported as a failure.
   */
  async function validateBatch({ model, spec, batch }: ValidateBatchInput): Promise<ValidateBatchOutput> {
    const name = baseName(batch.key);
    const validatedKey = keys.validated(model, batch.sha256, schemaSha(spec));
    const body = await store.get(batch.key);
    // Written once per batch and schema: a retried attempt finds it.
    const writeValidated = !(await store.head(validatedKey));
    const checked = await withLocalFiles(store, async (files) => {
      const out = writeValidated ? files.path('validated.parquet') : undefined;
      let outcome;
      try {
        outcome = await checkBatchFile(await files.write(name, body), spec.schema, {
          source: batch.key,
          errorBudget: spec.data.errorBudget,
          out,
          timeColumn: spec.data.timeColumn,
        });
      } catch (error) {
        // Anything but a DataError is a fault of ours (a bug, the disk): retried, and the batch stays where it is.
        if (!(error instanceof DataError)) throw error;
        // Not readable at all (empty, not CSV/JSON/Parquet): the whole batch is bad.
        const message = error.message;
        return { unreadable: message.startsWith(batch.key) ? message : `${batch.key}: ${message}` };
      }
      // Outside the try: a store that fails here is retried, never blamed on the batch.
      if (out && !outcome.refusal) await store.put(validatedKey, await readFile(out), { contentType: 'application/vnd.apache.parquet' });
      return outcome;
    });
    if ('unreadable' in checked) {
      await quarantineBatch(store, model, batch, body, [checked.unreadable], [], clock());
      return { failure: checked.unreadable, rowsAccepted: 0, rowsRejected: 0 };
    }
    const { result, refusal, timeRange } = checked;
    if (refusal) {
      const detail = result.errors.slice(0, 5).map((e) => `row ${e.row}${e.column ? ` ${e.column}` : ''}: ${e.reason}`);
      await quarantineBatch(store, model, batch, body, [refusal], result.errors, clock());
      return {
        failure: `${batch.key}: ${refusal}${result.rejectedRows.length ? `; bad ${describeRows(result.rejectedRows)}` : ''}${detail.length ? ` (${detail.join('; ')})` : ''}`,
        rowsAccepted: 0,
        rowsRejected: result.rowsRead,
      };
    }
    if (result.extraColumns.length > 0) {
      log.warn('A batch has columns the schema does not name: neither checked nor kept', { batch: batch.key, columns: listNames(result.extraColumns) });
    }
    let quarantineKey: string | undefined;
    if (result.errors.length > 0) {
      quarantineKey = keys.quarantinedRows(model, batch.sha256, name);
      await putJson(store, quarantineKey, {
        batch: batch.key,
        sha256: batch.sha256,
        at: clock().toISOString(),
        rows: result.rejectedRows,
        errors: result.errors,
      });
      log.warn('Quarantined bad rows of a batch within the error budget', { batch: batch.key, rows: describeRows(result.rejectedRows) });
    }
    return {
      accepted: { ...batch, validatedKey, rows: result.rowsAccepted, rejectedRows: result.rejectedRows.length, quarantineKey, timeRange },
      rowsAccepted: result.rowsAccepted,
      rowsRejected: result.rejectedRows.length,
    };
  }

  return {
    validateBatch,

    /**
     * Every batch, one after the other (runs started before the data stages
     * fanned out; validateBatch per batch otherwise). Fails the pipeline
     * (non-retryable) naming each refused batch and its rows.
     */
    async validate({ model, spec, batches }: ValidateInput): Promise<ValidateOutput> {
      const outcomes = [];
      for (const batch of batches) outcomes.push(await validateBatch({ model, spec, batch }));
      const { accepted, failures, rowsAccepted, rowsRejected } = mergeBatchOutcomes(outcomes);
      if (failures.length > 0) throw batchesRefused(model, failures);
      return { accepted, rowsAccepted, rowsRejected };
    },

    /** The row-set sums of one part of the snapshot's inputs (a validated batch, or rows of the base snapshot) under the window. */
    async snapshotPart({ spec, part, sinceDay }: SnapshotPartInput): Promise<SnapshotPartOutput> {
      return withLocalFiles(store, async (files) => {
        const path = await files.download(part.key, part.fileSha256);
        return rowSetPart({ path, source: part.key, range: part.range }, spec.schema, { timeColumn: spec.data.timeColumn, sinceDay });
      });
    },

    /**
     * Merges the base snapshot with the accepted batches under the window
     * policy, as one Parquet file named by its rows' canonical hash: the same
     * rows make the same snapshot, stored once. With the parts' sums given,
     * the id is known first and a snapshot already stored is not built again.
     */
    async snapshot({ model, spec, base, accepted, parts }: SnapshotInput): Promise<SnapshotOutput> {
      const rowSet = parts ? combineRowSetParts(parts, spec.schema) : undefined;
      if (rowSet) {
        const stored = await getJsonIfExists<SnapshotManifest>(store, keys.snapshotManifest(model, rowSet.id));
        if (stored) return { ...refOf(stored.value), created: false };
      }
      const built = await withLocalFiles(store, async (files) => {
        const inputs = [];
        if (base) inputs.push({ path: await files.download(base.key, base.fileSha256 ?? base.sha256), source: base.key });
        for (const batch of accepted) inputs.push({ path: await files.download(batch.validatedKey), source: batch.validatedKey });
        const out = files.path('snapshot.parquet');
        const snapshot = await buildSnapshot(inputs, spec.schema, { window: spec.data.window, timeColumn: spec.data.timeColumn, out, rowSet });
        return { ...snapshot, bytes: await readFile(out) };
      });
      const key = keys.snapshot(model, built.id);
      const batchesIn = [
        ...(base?.batches ?? []),
        ...accepted.map(({ key: k, sha256: s, bytes, etag, source }) => ({ key: k, sha256: s, bytes, etag, source })),
      ];
      const manifestKey = keys.snapshotManifest(model, built.id);
      const existing = await getJsonIfExists<SnapshotManifest>(store, manifestKey);
      if (existing) return { ...refOf(existing.value), created: false };
      await store.put(key, built.bytes, { contentType: 'application/vnd.apache.parquet' });
      const manifest: SnapshotManifest = {
        sha256: built.id,
        key,
        fileSha256: built.fileSha256,
        rows: built.rows,
        timeRange: built.timeRange,
        batches: batchesIn,
        createdAt: clock().toISOString(),
        columns: spec.schema.fields.map((f) => f.name),
        window: spec.data.window,
      };
      try {
        await putJson(store, manifestKey, manifest, { ifNoneMatch: true });
      } catch {
        // A concurrent or earlier attempt wrote it: same rows by construction.
        return { ...refOf((await getJsonIfExists<SnapshotManifest>(store, manifestKey))!.value), created: false };
      }
      return { ...refOf(manifest), created: true };
    },
  };
}

/** The reference the pipeline passes on (no creation time, columns or window). */
export function refOf(manifest: SnapshotManifest): SnapshotRef {
  const { sha256: id, key, fileSha256, rows, timeRange, batches } = manifest;
  return { sha256: id, key, fileSha256, rows, timeRange, batches };
}

async function quarantineBatch(
  store: ObjectStore,
  model: string,
  batch: BatchRef,
  body: Buffer,
  reasons: string[],
  errors: unknown[],
  at: Date,
): Promise<void> {
  await store.put(keys.quarantinedBatch(model, batch.sha256, baseName(batch.key)), body);
  await putJson(store, keys.quarantineReasons(model, batch.sha256, baseName(batch.key)), {
    batch: batch.key,
    sha256: batch.sha256,
    at: at.toISOString(),
    reasons,
    errors,
  });
  // Copied first, removed after: a crash in between leaves a copy, never a loss.
  await store.delete(batch.key);
}
