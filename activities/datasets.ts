/**
 * Data side of the pipeline: find new batches, validate and quarantine, build
 * content-addressed snapshots. Side effects only; the rules live in src/data.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import { DataValidationError, ObjectNotFoundError } from '../src/errors';
import {
  applyWindow,
  describeRows,
  formatJsonl,
  listNames,
  parseCsv,
  parseJsonl,
  parseTable,
  snapshotCsv,
  sortRows,
  validateTable,
  type TypedRow,
} from '../src/data';
import { keys, baseName, getJsonIfExists, getVerified, putJson, sha256, type ObjectStore } from '../src/store';
import type { ModelSpec } from '../src/spec';
import type { BatchRef, SnapshotInput, SnapshotOutput, SnapshotRef, ValidateInput, ValidateOutput, ValidatedBatch } from './types';
import type { ActivityDeps } from './deps';

const DATA_SUFFIX = /\.(csv|jsonl|ndjson|parquet)(\.gz)?$/i;

export interface SnapshotManifest extends SnapshotRef {
  createdAt: string;
  columns: string[];
  window: ModelSpec['data']['window'];
}

export async function listNewBatches(store: ObjectStore, model: string, base: SnapshotRef | null): Promise<BatchRef[]> {
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
    batches.push({ key: object.key, sha256: sha, bytes: found.body.length, etag: found.etag });
  }
  return batches;
}

// Snapshots are content-addressed, so a parsed one can be kept: preprocess,
// train and evaluate of one run read the same snapshot on the same worker.
const snapshotCache = new Map<string, TypedRow[]>();
const SNAPSHOT_CACHE_SIZE = 4;

/** Reads a snapshot back as typed rows, its bytes checked against the sha256 it is named by (it was written from validated rows, so it validates). */
export async function readSnapshotRows(store: ObjectStore, spec: ModelSpec, snapshot: { key: string; sha256: string }): Promise<TypedRow[]> {
  // The ETag is in the key so an object changed in the store since (damaged, replaced) is read and checked again.
  const head = await store.head(snapshot.key);
  if (!head) throw new ObjectNotFoundError(snapshot.key, store.description);
  const cacheKey = `${store.description}|${snapshot.key}|${head.etag}|${schemaSha(spec)}`;
  const cached = snapshotCache.get(cacheKey);
  if (cached) return cached.map((row) => ({ ...row }));
  const rows = await parseSnapshot(store, spec, snapshot);
  snapshotCache.set(cacheKey, rows);
  if (snapshotCache.size > SNAPSHOT_CACHE_SIZE) snapshotCache.delete(snapshotCache.keys().next().value!);
  return rows.map((row) => ({ ...row }));
}

async function parseSnapshot(store: ObjectStore, spec: ModelSpec, snapshot: { key: string; sha256: string }): Promise<TypedRow[]> {
  // A truncated or altered snapshot would silently train on other rows: refuse it.
  const body = await getVerified(store, snapshot.key, snapshot.sha256);
  const table = parseCsv(body, snapshot.key, { onRowError: 'throw' });
  const result = validateTable(table, spec.schema);
  if (result.batchErrors.length > 0 || result.errors.length > 0) {
    const first = result.batchErrors[0] ?? `${result.errors[0]!.column}: ${result.errors[0]!.reason}`;
    throw new DataValidationError(
      `snapshot ${snapshot.key} no longer meets the model's schema (${first}, ${describeRows(result.rejectedRows)}); was the schema changed? Retrain with the old schema or re-ingest the data`,
    );
  }
  return result.rows;
}

function schemaSha(spec: ModelSpec): string {
  return sha256(JSON.stringify(spec.schema)).slice(0, 16);
}

export function createDatasetActivities({ store, clock }: ActivityDeps) {
  return {
    /**
     * Parses and checks each new batch against the spec's schema. Bad rows go to
     * quarantine with their reasons; a batch over the error budget is moved to
     * quarantine whole and fails the pipeline (non-retryable) naming file and rows.
     */
    async validate({ model, spec, batches }: ValidateInput): Promise<ValidateOutput> {
      const accepted: ValidatedBatch[] = [];
      let rowsAccepted = 0;
      let rowsRejected = 0;
      const failures: string[] = [];
      for (const batch of batches) {
        const name = baseName(batch.key);
        const validatedKey = keys.validated(model, batch.sha256, schemaSha(spec));
        const body = await store.get(batch.key);
        let result;
        try {
          result = validateTable(await parseTable(body, batch.key, { onRowError: 'collect' }), spec.schema);
        } catch (error) {
          // Not readable at all (empty, not CSV/JSON): the whole batch is bad.
          const message = (error as Error).message;
          failures.push(message.startsWith(batch.key) ? message : `${batch.key}: ${message}`);
          await quarantineBatch(store, model, batch, body, [(error as Error).message], [], clock());
          continue;
        }
        const badShare = result.rowsRead === 0 ? 1 : result.rejectedRows.length / result.rowsRead;
        if (result.batchErrors.length > 0 || badShare > spec.data.errorBudget) {
          const why =
            result.batchErrors.length > 0
              ? result.batchErrors.join('; ')
              : `${result.rejectedRows.length} of ${result.rowsRead} rows are invalid (${(badShare * 100).toFixed(1)}% > errorBudget ${(spec.data.errorBudget * 100).toFixed(1)}%)`;
          const detail = result.errors.slice(0, 5).map((e) => `row ${e.row}${e.column ? ` ${e.column}` : ''}: ${e.reason}`);
          failures.push(
            `${batch.key}: ${why}${result.rejectedRows.length ? `; bad ${describeRows(result.rejectedRows)}` : ''}${detail.length ? ` (${detail.join('; ')})` : ''}`,
          );
          await quarantineBatch(store, model, batch, body, [why], result.errors, clock());
          rowsRejected += result.rowsRead;
          continue;
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
        if (!(await store.head(validatedKey))) {
          const columns = spec.schema.fields.map((f) => f.name);
          await store.put(
            validatedKey,
            formatJsonl(
              columns,
              result.rows.map((r) => columns.map((c) => r[c] ?? null)),
            ),
            { contentType: 'application/x-ndjson' },
          );
        }
        accepted.push({ ...batch, validatedKey, rows: result.rows.length, rejectedRows: result.rejectedRows.length, quarantineKey });
        rowsAccepted += result.rows.length;
        rowsRejected += result.rejectedRows.length;
      }
      if (failures.length > 0) {
        throw ApplicationFailure.create({
          type: DataValidationError.name,
          nonRetryable: true,
          message: `${failures.length} batch(es) rejected and moved to ${keys.quarantine(model)}; the champion is untouched: ${failures.join(' | ')}`,
          details: [{ failures }],
        });
      }
      return { accepted, rowsAccepted, rowsRejected };
    },

    /** Merges the base snapshot with the accepted batches under the window policy; same rows, same snapshot. */
    async snapshot({ model, spec, base, accepted }: SnapshotInput): Promise<SnapshotOutput> {
      const rows: TypedRow[] = base ? await readSnapshotRows(store, spec, base) : [];
      for (const batch of accepted) {
        const table = parseJsonl(await store.get(batch.validatedKey), batch.validatedKey, { onRowError: 'throw' });
        for (const row of validateTable(table, spec.schema).rows) rows.push(row);
      }
      const columns = spec.schema.fields.map((f) => f.name);
      const windowed = applyWindow(sortRows(rows, columns, spec.data.timeColumn), spec.data.window, spec.data.timeColumn);
      const csv = snapshotCsv(spec.schema, windowed);
      const sha = sha256(csv);
      const key = keys.snapshot(model, sha);
      const batchesIn = [...(base?.batches ?? []), ...accepted.map(({ key: k, sha256: s, bytes, etag }) => ({ key: k, sha256: s, bytes, etag }))];
      const manifestKey = keys.snapshotManifest(model, sha);
      const existing = await getJsonIfExists<SnapshotManifest>(store, manifestKey);
      if (existing) return { ...existing.value, created: false };
      await store.put(key, csv, { contentType: 'text/csv' });
      const manifest: SnapshotManifest = {
        sha256: sha,
        key,
        rows: windowed.length,
        batches: batchesIn,
        createdAt: clock().toISOString(),
        columns,
        window: spec.data.window,
      };
      try {
        await putJson(store, manifestKey, manifest, { ifNoneMatch: true });
      } catch {
        // A concurrent or earlier attempt wrote it: same content by construction.
        return { ...(await getJsonIfExists<SnapshotManifest>(store, manifestKey))!.value, created: false };
      }
      return { sha256: sha, key, rows: windowed.length, batches: batchesIn, created: true };
    },
  };
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
