/**
 * Pulls the spec's data sources into the model's incoming/ prefix, under a
 * folder named by the source (incoming/<source>/...), so validate, quarantine,
 * snapshots and lineage treat them like any batch and name the source. What
 * was pulled is remembered per source (key or URL -> ETag), so an unchanged
 * object is not downloaded again: S3 objects by their listed ETag, HTTP files
 * by a conditional GET (If-None-Match). A `feedback` source reads the model's
 * joined feedback log: the parts not pulled yet become one Parquet batch of
 * the schema's columns, each prediction id once (src/data/feedback-batch.ts).
 */
import { readFile } from 'node:fs/promises';
import { log } from '@temporalio/activity';
import { writeFeedbackBatch } from '../src/data/feedback-batch';
import { DataError, SourceError } from '../src/errors';
import type { DataSource, ModelSpec } from '../src/spec';
import { getJsonIfExists, keys, putJson, sha256, StoreError, withLocalFiles, type ObjectStore } from '../src/store';

/** S3 errors that say the source is configured wrong, not that the store is down. */
const CONFIGURATION_ERRORS = new Set(['NoSuchBucket', 'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch']);

export const DATA_SUFFIX = /\.(csv|jsonl|ndjson|parquet)(\.gz)?$/i;

/** What a source delivered last: key (S3) or URL (HTTP) -> the ETag it had and where its copy is. */
interface SourceState {
  objects: Record<string, { etag: string; incomingKey: string; pulledAt: string }>;
}

export interface PulledSource {
  source: string;
  /** Objects copied into incoming/ this time (new or changed). */
  copied: string[];
  /** Objects seen and unchanged since the last pull. */
  unchanged: number;
}

const CONTENT_TYPES: Record<string, string> = {
  'text/csv': '.csv',
  'application/x-ndjson': '.jsonl',
  'application/jsonl': '.jsonl',
  'application/vnd.apache.parquet': '.parquet',
};

/** The incoming file name of an HTTP source: the URL's file name when it says the format, else from the Content-Type. */
function httpFileName(source: Extract<DataSource, { kind: 'http' }>, contentType: string | null): string {
  const path = decodeURIComponent(new URL(source.url).pathname);
  const last = path.split('/').pop() ?? '';
  if (DATA_SUFFIX.test(last)) return last;
  const ext = CONTENT_TYPES[(contentType ?? '').split(';')[0]!.trim().toLowerCase()];
  if (ext) return `${source.name}${ext}`;
  throw new SourceError(
    source.name,
    source.url,
    `neither the URL's file name nor the Content-Type (${contentType ?? 'none'}) says the format; end the URL in .csv, .jsonl or .parquet (.gz), or serve text/csv, application/x-ndjson or application/vnd.apache.parquet`,
  );
}

async function pullHttp(
  store: ObjectStore,
  model: string,
  source: Extract<DataSource, { kind: 'http' }>,
  state: SourceState,
  now: Date,
): Promise<PulledSource> {
  const known = state.objects[source.url];
  let response: Response;
  try {
    response = await fetch(source.url, { headers: known ? { 'if-none-match': known.etag } : {}, redirect: 'follow', signal: AbortSignal.timeout(300_000) });
  } catch (error) {
    // Unreachable now (DNS, refused, timeout): retried by the activity's policy.
    const cause = (error as Error).cause;
    throw new Error(`data source '${source.name}' (${source.url}) cannot be reached: ${cause instanceof Error ? cause.message : (error as Error).message}`, {
      cause: error,
    });
  }
  if (response.status === 304) return { source: source.name, copied: [], unchanged: 1 };
  if (response.status >= 500 || response.status === 429) {
    throw new Error(`data source '${source.name}' (${source.url}) answered ${response.status} ${response.statusText}; will retry`);
  }
  if (!response.ok) throw new SourceError(source.name, source.url, `answered ${response.status} ${response.statusText}; fix data.sources' url or the server`);
  const body = Buffer.from(await response.arrayBuffer());
  const incomingKey = keys.incomingBatch(model, `${source.name}/${httpFileName(source, response.headers.get('content-type'))}`);
  await store.put(incomingKey, body);
  const etag = response.headers.get('etag');
  // Without an ETag the file is downloaded on every run; its sha256 still keeps it from being trained on twice.
  if (etag) state.objects[source.url] = { etag, incomingKey, pulledAt: now.toISOString() };
  else log.warn('An HTTP data source sends no ETag: it is downloaded on every run', { source: source.name, url: source.url });
  return { source: source.name, copied: [incomingKey], unchanged: 0 };
}

async function pullS3(store: ObjectStore, model: string, source: Extract<DataSource, { kind: 's3' }>, state: SourceState, now: Date): Promise<PulledSource> {
  if (source.bucket && !store.inBucket) throw new SourceError(source.name, `bucket '${source.bucket}'`, `${store.description} cannot open other buckets`);
  const from = source.bucket ? store.inBucket!(source.bucket) : store;
  const where = `${from.description} prefix '${source.prefix}'`;
  let listed;
  try {
    listed = await from.list(source.prefix);
  } catch (error) {
    // A missing bucket or refused credentials will not mend by retrying; an S3 outage will.
    if (error instanceof StoreError && CONFIGURATION_ERRORS.has(error.code)) {
      throw new SourceError(source.name, where, `${error.message}; fix data.sources' bucket or prefix, or the credentials`);
    }
    throw error;
  }
  const result: PulledSource = { source: source.name, copied: [], unchanged: 0 };
  for (const object of listed) {
    if (!DATA_SUFFIX.test(object.key)) continue;
    const known = state.objects[object.key];
    if (known && known.etag === object.etag) {
      result.unchanged += 1;
      continue;
    }
    const found = await from.getIfExists(object.key);
    if (!found) continue; // removed since the listing
    const incomingKey = keys.incomingBatch(model, `${source.name}/${object.key.slice(source.prefix.length).replace(/^\/+/, '')}`);
    await store.put(incomingKey, found.body);
    state.objects[object.key] = { etag: found.etag, incomingKey, pulledAt: now.toISOString() };
    result.copied.push(incomingKey);
  }
  return result;
}

/** The batches a feedback source writes: `feedback-<pull time>-<digest of the file>.parquet`. */
const FEEDBACK_BATCH = /^feedback-\d{8}T\d{6}Z-[0-9a-f]{12}\.parquet$/;
const DAY_MS = 86_400_000;

/**
 * The model's joined feedback parts not pulled yet (or rewritten since: a new
 * ETag) as one batch in incoming/<source>/. The batch is stored before the
 * state: a retry in between finds the ids in it and delivers none twice.
 */
async function pullFeedback(
  store: ObjectStore,
  model: string,
  spec: ModelSpec,
  source: Extract<DataSource, { kind: 'feedback' }>,
  state: SourceState,
  now: Date,
): Promise<PulledSource> {
  const result: PulledSource = { source: source.name, copied: [], unchanged: 0 };
  // By the day the label arrived (the part's dt= partition): an older part is not even downloaded.
  const oldestDay = source.maxAgeDays ? new Date(now.getTime() - source.maxAgeDays * DAY_MS).toISOString().slice(0, 10) : undefined;
  const todo: string[] = [];
  const listed = await store.list(keys.feedbackLogs(model));
  // Parts the retention sweep removed are forgotten: the state stays as large as the log.
  const present = new Set(listed.map((o) => o.key));
  for (const key of Object.keys(state.objects)) if (!present.has(key)) delete state.objects[key];
  for (const object of listed) {
    if (!object.key.endsWith('.parquet')) continue;
    const day = /\/dt=(\d{4}-\d{2}-\d{2})\//.exec(object.key)?.[1];
    if (oldestDay && (!day || day < oldestDay)) continue;
    const known = state.objects[object.key];
    if (known && known.etag === object.etag) result.unchanged += 1;
    else todo.push(object.key);
  }
  if (todo.length === 0) return result;
  const folder = keys.incomingBatch(model, `${source.name}/`);
  const earlier = (await store.list(folder)).filter((o) => FEEDBACK_BATCH.test(o.key.slice(folder.length)));
  return withLocalFiles(store, async (files) => {
    const parts: { path: string; key: string; etag: string }[] = [];
    for (const key of todo) {
      const found = await store.getIfExists(key);
      if (found) parts.push({ key, etag: found.etag, path: await files.write('part.parquet', found.body) }); // else removed since the listing
    }
    const delivered = [];
    for (const o of earlier) {
      const found = await store.getIfExists(o.key);
      if (found) delivered.push(await files.write('delivered.parquet', found.body));
    }
    const out = files.path('batch.parquet');
    let counts;
    try {
      counts = await writeFeedbackBatch(parts, delivered, out, {
        schema: spec.schema,
        label: spec.label,
        timeColumn: spec.data.timeColumn,
        features: spec.features.map((f) => f.name),
        labelsOnly: source.labelsOnly ?? true,
      });
    } catch (error) {
      if (error instanceof DataError) throw new SourceError(source.name, `${store.description} ${keys.feedbackLogs(model)}`, error.message);
      throw error;
    }
    let incomingKey = '';
    if (counts.rows > 0) {
      const body = await readFile(out);
      const stamp = now
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      incomingKey = `${folder}feedback-${stamp}-${sha256(body).slice(0, 12)}.parquet`;
      await store.put(incomingKey, body, { contentType: 'application/vnd.apache.parquet' });
      result.copied.push(incomingKey);
    }
    for (const part of parts) state.objects[part.key] = { etag: part.etag, incomingKey, pulledAt: now.toISOString() };
    log.info('Pulled joined feedback', { source: source.name, parts: parts.length, ...counts, batch: incomingKey || 'none (nothing new)' });
    return result;
  });
}

/** Pulls every source of the spec; each source's state is saved after it, so a failed later source does not repeat an earlier one. */
export async function pullSources(store: ObjectStore, model: string, spec: ModelSpec, now: Date): Promise<PulledSource[]> {
  const pulled: PulledSource[] = [];
  for (const source of spec.data.sources ?? []) {
    const stateKey = keys.sourceState(model, source.name);
    const state = (await getJsonIfExists<SourceState>(store, stateKey))?.value ?? { objects: {} };
    const before = JSON.stringify(state);
    const result =
      source.kind === 'http'
        ? await pullHttp(store, model, source, state, now)
        : source.kind === 'feedback'
          ? await pullFeedback(store, model, spec, source, state, now)
          : await pullS3(store, model, source, state, now);
    // A feedback pull may deliver no row and still have read parts it need not read again.
    if (JSON.stringify(state) !== before) await putJson(store, stateKey, state);
    pulled.push(result);
  }
  return pulled;
}
