/**
 * The feedback log: ground-truth labels (or a user's flag) posted by
 * prediction id to `POST /v1/models/<name>/feedback`, made durable, joined
 * with their predictions, written to the store and forwarded to the model's
 * monitor workflow.
 *
 * - **Durable first.** A request's items are written to a spool of their own
 *   (spool.ts, under `<spool root>/feedback/`; group commit, adoption of a
 *   killed server's segments) before the route answers.
 * - **Join.** A closed segment's items are joined with their predictions:
 *   recent ones from memory (RecentPredictions, the last `recentPredictions`
 *   rows this process answered), older ones from the prediction log in the
 *   store (PredictionLookup: the Parquet parts of the last `lookbackDays`
 *   days, read by DuckDB filtering on prediction_id).
 * - **Never dropped.** A label whose prediction is not found yet (it is still
 *   in a spool not uploaded, here or on another server) is pending: it is
 *   written back to the spool and tried again with backoff (2 s, doubling to
 *   5 min) for `pendingDays` (7 by default). One still unmatched after that is
 *   written to `logs/<model>/feedback-unmatched/` as JSON Lines, for a person.
 * - **Duplicates count once: the first label wins.** Of several labels for one
 *   prediction, the first to be joined (in the order received) is written and
 *   forwarded; later ones are counted as duplicates and dropped. The ids seen
 *   are remembered in memory (bounded) and, at start, read back from the
 *   feedback log of the last `lookbackDays` days, so a restart does not let a
 *   duplicate through. In a cluster (cluster.ts) two labels for one prediction
 *   may reach two workers: the ids a segment is about to write are also
 *   claimed from the primary (`sharedClaims`), which grants each to one
 *   segment only; one refused counts as a duplicate.
 * - **Parts.** `logs/<model>/feedback/dt=<feedback day>/<segment id>-<digest>.parquet`,
 *   one per model and UTC day of each segment. The part id is the segment's
 *   and a digest of the ids it joined: a segment re-processed after a failure
 *   joins the same items and overwrites the same keys instead of duplicating.
 * - **Forward.** Then the joined items go, in batches, as signal `feedback`
 *   to `monitor/<model>` (signal-with-start); a failure keeps the segment and
 *   the whole segment is retried (the monitor counts a prediction id once).
 *   Each item carries its `segment`: the row's values in the columns of
 *   `monitoring.segments` in the answering version's own spec ("(missing)"
 *   for none), so the monitor sees a use case that underperforms.
 *   The segment is removed only once its parts are stored, its items
 *   forwarded and its pending items spooled again.
 */
import { mkdtemp, rm, rmdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { literal, queryRows, withConnection } from '../data/engine';
import { ArtifactError, ChecksumMismatchError, ObjectNotFoundError, SpecError } from '../errors';
import type { Lineage } from '../registry';
import { parseModelSpec } from '../spec';
import { BUNDLE_FILES, getJsonIfExists, getVerified, keys, LINEAGE_FILE, sha256, type ObjectStore } from '../store';
import type { FeedbackSignalItem } from '../temporal/monitor-contract';
import { badRequest, isObject, shown } from './errors';
import type { InputKind } from './inputs';
import { byModelAndDay, dayStart, groupBy, putParts, SQL_TYPE, structType, writeParquetPart, type ColumnType, type Part } from './parquet-parts';
import { predictionRow, type PredictionRecord, type PredictionRow } from './prediction-log';
import { readSegment, Spool, type SegmentInfo, type SpoolSync } from './spool';

// ---------------------------------------------------------------- the request

/** One feedback item as posted: a label, a flag, or both. */
export interface FeedbackItem {
  predictionId: string;
  label?: string | number;
  flag?: string;
}

/** What the serving version answers, to check labels against. */
export interface LabelTarget {
  task: 'classification' | 'regression';
  classes?: string[];
}

/** Items per request, at most. */
export const MAX_FEEDBACK_ITEMS = 10_000;

/**
 * The items of a feedback body, `{"predictionId", "label"}` or
 * `{"items": [{"predictionId", "label"?, "flag"?}]}`, each checked; a bad one
 * is a 400 naming its index and the problem.
 */
export function parseFeedback(json: unknown, target: LabelTarget): FeedbackItem[] {
  if (!isObject(json))
    throw badRequest('the feedback body must be a JSON object: {"predictionId", "label"} or {"items": [{"predictionId", "label"?, "flag"?}]}');
  const raw: unknown[] = json.items !== undefined ? (json.items as unknown[]) : [json];
  if (!Array.isArray(raw)) throw badRequest('\'items\' must be a list of {"predictionId", "label"?, "flag"?}');
  if (raw.length === 0) throw badRequest("'items' is empty: send at least one item");
  if (raw.length > MAX_FEEDBACK_ITEMS) throw badRequest(`'items' has ${raw.length} items; send at most ${MAX_FEEDBACK_ITEMS} per request`);
  return raw.map((item, i): FeedbackItem => {
    const at = `item ${i} (items[${i}])`;
    if (!isObject(item)) throw badRequest(`${at} must be an object {"predictionId", "label"?, "flag"?}, found ${shown(item)}`);
    const { predictionId, label, flag } = item;
    if (typeof predictionId !== 'string' || predictionId.trim() === '' || predictionId.length > 200) {
      throw badRequest(`${at}: 'predictionId' must be the prediction id the server answered (a non-empty string), found ${shown(predictionId)}`);
    }
    if ((label === undefined || label === null) && (flag === undefined || flag === null)) {
      throw badRequest(`${at}: send a 'label' (the true answer) or a 'flag' (such as "wrong") for prediction ${predictionId}`);
    }
    const out: FeedbackItem = { predictionId };
    if (label !== undefined && label !== null) {
      if (target.task === 'regression') {
        if (typeof label !== 'number' || !Number.isFinite(label))
          throw badRequest(`${at}: 'label' must be a finite number for this regression model, found ${shown(label)}`);
        out.label = label;
      } else {
        const text = typeof label === 'number' ? String(label) : label;
        if (typeof text !== 'string' || !target.classes?.includes(text)) {
          throw badRequest(`${at}: 'label' ${shown(label)} is not one of the model's classes (${(target.classes ?? []).join(', ')})`);
        }
        out.label = text;
      }
    }
    if (flag !== undefined && flag !== null) {
      if (typeof flag !== 'string' || flag.trim() === '' || flag.length > 100)
        throw badRequest(`${at}: 'flag' must be a short non-empty string such as "wrong", found ${shown(flag)}`);
      out.flag = flag;
    }
    return out;
  });
}

/** One spool line: a request's items (or items pending a retry). `ids` (one per item) is what the spool counts. */
export interface FeedbackRecord {
  model: string;
  /** When the items were received, ISO UTC. */
  time: string;
  ids: string[];
  items: FeedbackItem[];
  /** Set on items written back while their prediction is not found: tries so far and the time of the next. */
  tries?: number;
  nextTryAt?: string;
}

// ---------------------------------------------------------------- the join

export type { PredictionRow };

/** The rows of an answered request's record. */
export function predictionRows(r: PredictionRecord): PredictionRow[] {
  const time = Date.parse(r.time);
  return r.ids.map((_, i) => predictionRow(r, i, time));
}

/**
 * The predictions this process answered last, by id (a bounded map: the
 * oldest go first). `add` runs on the request path, so it keeps the record
 * and the row's index; the row is built only when `get` asks for it.
 */
export class RecentPredictions {
  private readonly rows = new Map<string, { record: PredictionRecord; index: number }>();
  constructor(readonly capacity = 50_000) {}

  add(record: PredictionRecord): void {
    if (this.capacity <= 0) return;
    record.ids.forEach((id, index) => this.rows.set(id, { record, index }));
    if (this.rows.size > this.capacity) {
      let over = this.rows.size - this.capacity;
      for (const id of this.rows.keys()) {
        if (over-- <= 0) break;
        this.rows.delete(id);
      }
    }
  }

  get(id: string): PredictionRow | undefined {
    const at = this.rows.get(id);
    return at && predictionRow(at.record, at.index);
  }

  get size(): number {
    return this.rows.size;
  }
}

/** A label joined with its prediction: one row of the feedback log. */
export interface JoinedFeedback {
  predictionId: string;
  /** When the label was received, ms. */
  feedbackTime: number;
  prediction: PredictionRow;
  label?: string | number;
  flag?: string;
  /** Classification: the label equals the predicted label (undefined without a label). */
  correct?: boolean;
  /** Regression: prediction − label (undefined without a label). */
  error?: number;
}

export function joinFeedback(item: FeedbackItem, feedbackTime: number, prediction: PredictionRow): JoinedFeedback {
  const joined: JoinedFeedback = { predictionId: item.predictionId, feedbackTime, prediction };
  if (item.flag !== undefined) joined.flag = item.flag;
  if (item.label !== undefined) {
    if (prediction.task === 'classification') {
      joined.label = String(item.label);
      joined.correct = joined.label === prediction.label;
    } else {
      joined.label = Number(item.label);
      joined.error = prediction.prediction! - joined.label;
    }
  }
  return joined;
}

/** The segment value of a column the served row had no value in. */
export const MISSING_SEGMENT = '(missing)';

/** A served row's segment: its values in `columns` as text, a null, empty or absent one as "(missing)". */
export function segmentOf(inputs: PredictionRow['inputs'], columns: readonly string[]): Record<string, string> {
  const segment: Record<string, string> = {};
  for (const column of columns) {
    const value = Object.hasOwn(inputs, column) ? inputs[column] : null;
    segment[column] = value === null || value === undefined || value === '' || Number.isNaN(value) ? MISSING_SEGMENT : String(value);
  }
  return segment;
}

/** The item as signal `feedback` carries it to the monitor; `segments`: the columns of the answering version's `monitoring.segments`. */
export function signalItem(j: JoinedFeedback, segments: readonly string[] = []): FeedbackSignalItem {
  return {
    predictionId: j.predictionId,
    version: j.prediction.version,
    prediction: j.prediction.task === 'classification' ? j.prediction.label! : j.prediction.prediction!,
    ...(j.label !== undefined ? { label: j.label } : {}),
    ...(j.flag !== undefined ? { flag: j.flag } : {}),
    ...(segments.length > 0 ? { segment: segmentOf(j.prediction.inputs, segments) } : {}),
  };
}

/**
 * The segment columns of each version: `monitoring.segments` of the spec the
 * version was trained with (its own spec.json, checked against its lineage's
 * sha256, as loadBundle reads it), read once per version (versions are
 * immutable). Read from the store, not from the loaded model: a label may come
 * back for a version this server no longer serves.
 */
export class VersionSegments {
  private readonly known = new Map<string, readonly string[]>();

  constructor(
    private readonly store: ObjectStore,
    private readonly log: (line: string) => void,
  ) {}

  /** The columns; none when the version has no segments. Throws on a store error (the segment is tried again). */
  async of(model: string, version: string): Promise<readonly string[]> {
    const id = `${model}/${version}`;
    let columns = this.known.get(id);
    if (!columns) {
      columns = await this.read(model, version);
      this.known.set(id, columns);
    }
    return columns;
  }

  private async read(model: string, version: string): Promise<readonly string[]> {
    const lineageKey = keys.versionFile(model, version, LINEAGE_FILE);
    let lineage: Lineage | undefined;
    try {
      lineage = (await getJsonIfExists<Lineage>(this.store, lineageKey))?.value;
    } catch (error) {
      if (!(error instanceof SyntaxError)) throw error;
    }
    const ref = Array.isArray(lineage?.artifacts) ? lineage.artifacts.find((a) => a.name === BUNDLE_FILES.spec) : undefined;
    if (!ref) {
      this.log(
        `perennial serve: ${this.store.description}/${lineageKey} is missing or names no spec.json; feedback of ${model}/${version} is forwarded without segments`,
      );
      return [];
    }
    try {
      const body = await getVerified(this.store, ref.key, ref.sha256);
      return parseModelSpec(JSON.parse(body.toString('utf8')), ref.key).monitoring?.segments ?? [];
    } catch (error) {
      if (!isPermanent(error)) throw error;
      this.log(
        `perennial serve: the spec of ${model}/${version} (${this.store.description}/${ref.key}) cannot be read (${(error as Error).message}); its feedback is forwarded without segments`,
      );
      return [];
    }
  }
}

/** Errors no retry fixes: a broken file of an immutable version. */
function isPermanent(error: unknown): boolean {
  return (
    error instanceof SyntaxError ||
    error instanceof SpecError ||
    error instanceof ChecksumMismatchError ||
    error instanceof ArtifactError ||
    error instanceof ObjectNotFoundError
  );
}

/**
 * First label wins: the prediction ids already written, each with the segment
 * that wrote it (a segment processed again after a failure writes its own
 * rows again; another segment's label for the same id is a duplicate).
 * Bounded: the oldest ids are forgotten first.
 */
export class FirstLabelWins {
  private readonly owner = new Map<string, string>();
  constructor(readonly capacity = 1_000_000) {}

  /** The segment `segment` may write this id (it is new, or this segment wrote it before). */
  claim(id: string, segment: string): boolean {
    const owner = this.owner.get(id);
    if (owner !== undefined) return owner === segment;
    this.owner.set(id, segment);
    if (this.owner.size > this.capacity) this.owner.delete(this.owner.keys().next().value!);
    return true;
  }

  /** An id written before this process started (read back from the feedback log). */
  remember(id: string): void {
    this.claim(id, '');
  }
}

/** What one segment's items became. */
export interface SegmentOutcome {
  joined: JoinedFeedback[];
  /** Items whose prediction is not found yet, by record (written back to the spool). */
  pending: FeedbackRecord[];
  /** Items not found for longer than the pending limit: kept in the store as unmatched. */
  unmatched: FeedbackRecord[];
  /** Duplicates dropped, by model. */
  duplicates: Map<string, number>;
}

const RETRY_FIRST_MS = 2_000;
const RETRY_MAX_MS = 5 * 60_000;

/** The wait before try `tries + 1` of a pending item: 2 s, doubling, at most 5 min. */
export function retryDelayMs(tries: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** Math.max(0, tries - 1));
}

/**
 * Joins the records of one segment, in order: each item with its prediction
 * (`find`: memory, then the store), a duplicate counted and dropped, an item
 * not found kept pending (or unmatched once older than `pendingMs`). Records
 * not due for a try yet are kept pending unchanged. Pure but for `find`.
 */
export async function joinSegment(
  records: FeedbackRecord[],
  segment: string,
  dedup: FirstLabelWins,
  find: (model: string, ids: string[]) => Promise<Map<string, PredictionRow>>,
  now: number,
  pendingMs: number,
): Promise<SegmentOutcome> {
  const out: SegmentOutcome = { joined: [], pending: [], unmatched: [], duplicates: new Map() };
  const due = records.filter((r) => r.nextTryAt === undefined || Date.parse(r.nextTryAt) <= now);
  for (const r of records) if (!due.includes(r)) out.pending.push(r);
  const wanted = new Map<string, Set<string>>();
  for (const r of due) {
    let ids = wanted.get(r.model);
    if (!ids) wanted.set(r.model, (ids = new Set()));
    for (const item of r.items) ids.add(item.predictionId);
  }
  const found = new Map<string, Map<string, PredictionRow>>();
  for (const [model, ids] of wanted) found.set(model, await find(model, [...ids]));
  const inThisSegment = new Set<string>();
  for (const r of due) {
    const received = Date.parse(r.time);
    const missing: FeedbackItem[] = [];
    for (const item of r.items) {
      const prediction = found.get(r.model)!.get(item.predictionId);
      if (!prediction) {
        missing.push(item);
        continue;
      }
      const key = `${r.model}/${item.predictionId}`;
      if (inThisSegment.has(key) || !dedup.claim(key, segment)) {
        out.duplicates.set(r.model, (out.duplicates.get(r.model) ?? 0) + 1);
        continue;
      }
      inThisSegment.add(key);
      out.joined.push(joinFeedback(item, received, prediction));
    }
    if (missing.length === 0) continue;
    const tries = (r.tries ?? 0) + 1;
    const rest: FeedbackRecord = { model: r.model, time: r.time, ids: missing.map((i) => i.predictionId), items: missing, tries };
    if (now - received >= pendingMs) out.unmatched.push(rest);
    else out.pending.push({ ...rest, nextTryAt: new Date(now + retryDelayMs(tries)).toISOString() });
  }
  return out;
}

// ---------------------------------------------------------------- the parts

/** The SQL type of an input whose kind is not known (a prediction read back from the store): from its values. */
function typeOfValues(values: (number | string | null)[]): string {
  return values.every((v) => v === null || typeof v === 'number') ? 'DOUBLE' : 'VARCHAR';
}

/**
 * The Parquet parts of joined feedback: one per model and UTC day of the
 * feedback time. Columns: prediction_id, feedback_time, prediction_time,
 * model, version, arm, inputs (STRUCT), then predicted_label, probabilities,
 * label (VARCHAR), correct (BOOLEAN) for a classifier, or prediction, label
 * (DOUBLE), error (DOUBLE, prediction − label) for a regression; flag.
 * `kinds`: the input kinds of the model (the serving version's), for the types.
 */
export async function writeFeedbackParts(
  joined: JoinedFeedback[],
  segmentId: string,
  dir: string,
  kinds: (model: string) => Record<string, InputKind> | undefined,
): Promise<Part[]> {
  const parts: Part[] = [];
  const groups = byModelAndDay(joined, (j) => ({ model: j.prediction.model, day: new Date(j.feedbackTime).toISOString().slice(0, 10) }));
  for (const { model, day, items: list } of groups) {
    const known = kinds(model) ?? {};
    const inputTypes = new Map<string, string>();
    const names = new Set(list.flatMap((j) => Object.keys(j.prediction.inputs)));
    for (const name of names) {
      const kind = known[name];
      inputTypes.set(name, kind ? SQL_TYPE[kind] : typeOfValues(list.map((j) => j.prediction.inputs[name] ?? null)));
    }
    const classification = list[0]!.prediction.task === 'classification';
    const classes = new Set(classification ? list.flatMap((j) => Object.keys(j.prediction.probabilities ?? {})) : []);
    const columns: ColumnType[] = [
      ['prediction_id', 'VARCHAR'],
      ['feedback_time', 'TIMESTAMPTZ'],
      ['prediction_time', 'TIMESTAMPTZ'],
      ['model', 'VARCHAR'],
      ['version', 'VARCHAR'],
      ['arm', 'VARCHAR'],
      ['inputs', inputTypes.size > 0 ? structType(inputTypes) : 'JSON'],
    ];
    if (classification) {
      columns.push(['predicted_label', 'VARCHAR'], ['probabilities', structType(new Map([...classes].map((c) => [c, 'DOUBLE'])))]);
      columns.push(['label', 'VARCHAR'], ['correct', 'BOOLEAN']);
    } else columns.push(['prediction', 'DOUBLE'], ['label', 'DOUBLE'], ['error', 'DOUBLE']);
    columns.push(['flag', 'VARCHAR']);
    const lines = list
      .filter((j) => (j.prediction.task === 'classification') === classification)
      .map((j) => {
        const p = j.prediction;
        const row: Record<string, unknown> = {
          prediction_id: j.predictionId,
          feedback_time: new Date(j.feedbackTime).toISOString(),
          prediction_time: new Date(p.time).toISOString(),
          model: p.model,
          version: p.version,
          arm: p.arm,
          inputs: p.inputs,
          label: j.label ?? null,
          flag: j.flag ?? null,
        };
        if (classification) Object.assign(row, { predicted_label: p.label, probabilities: p.probabilities, correct: j.correct ?? null });
        else Object.assign(row, { prediction: p.prediction, error: j.error ?? null });
        return JSON.stringify(row);
      });
    const path = await writeParquetPart(dir, `${model}-${day}`, lines, columns);
    parts.push({ model, key: keys.feedbackPart(model, dayStart(day), segmentId), rows: lines.length, path });
  }
  return parts;
}

// ---------------------------------------------------------------- the store's logs

const DAY_MS = 86_400_000;

/**
 * Downloads the Parquet parts of the last `days` date partitions of a log
 * into a local cache, once each (again when the ETag changes). Only the day
 * prefixes are listed, not the whole log; a part no longer listed (its day
 * fell out of the window, or it was removed) leaves the cache with its file.
 */
class PartCache {
  private readonly have = new Map<string, { etag: string; path: string }>();
  private dir: string | undefined;
  private n = 0;

  constructor(private readonly store: ObjectStore) {}

  /**
   * The local files of the parts under `root` (a model's log) of the days
   * `days` before `now` up to tomorrow (a server whose clock is ahead),
   * `dayPrefix(day)` naming one day's prefix.
   */
  async files(root: string, dayPrefix: (day: Date) => string, days: number, now: number): Promise<string[]> {
    const prefixes: string[] = [];
    const oldest = Date.parse(new Date(now - days * DAY_MS).toISOString().slice(0, 10));
    for (let at = oldest; at <= now + DAY_MS; at += DAY_MS) prefixes.push(dayPrefix(new Date(at)));
    const objects = (await Promise.all(prefixes.map((prefix) => this.store.list(prefix)))).flat().filter((o) => o.key.endsWith('.parquet'));
    const listed = new Set(objects.map((o) => o.key));
    for (const [key, cached] of this.have) {
      if (key.startsWith(root) && !listed.has(key)) {
        this.have.delete(key);
        await rm(cached.path, { force: true });
      }
    }
    this.dir ??= await mkdtemp(join(tmpdir(), 'perennial-feedback-parts-'));
    const out: string[] = [];
    for (const o of objects) {
      let cached = this.have.get(o.key);
      if (!cached || cached.etag !== o.etag) {
        if (cached) await rm(cached.path, { force: true });
        const path = join(this.dir, `${this.n++}.parquet`);
        await writeFile(path, await this.store.get(o.key));
        cached = { etag: o.etag, path };
        this.have.set(o.key, cached);
      }
      out.push(cached.path);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
    this.have.clear();
    this.dir = undefined;
  }
}

/** Finds predictions by id in the prediction log parts of the last `days` days in the store. */
export class PredictionLookup {
  private readonly cache: PartCache;
  constructor(
    store: ObjectStore,
    private readonly days: number,
  ) {
    this.cache = new PartCache(store);
  }

  async find(model: string, ids: string[], now = Date.now()): Promise<Map<string, PredictionRow>> {
    const found = new Map<string, PredictionRow>();
    if (ids.length === 0) return found;
    const files = await this.cache.files(keys.predictionLogs(model), (day) => keys.predictionLogDay(model, day), this.days, now);
    if (files.length === 0) return found;
    const rows = await withConnection((c) =>
      queryRows<{ t: number; row: string }>(
        c,
        `SELECT epoch_ms(time) AS t, to_json(p) AS row FROM read_parquet([${files.map(literal).join(', ')}], union_by_name = true) p
         WHERE prediction_id IN (${ids.map(literal).join(', ')})`,
      ),
    );
    for (const { t, row } of rows) {
      const r = JSON.parse(row) as Record<string, unknown>;
      const id = r.prediction_id as string;
      if (found.has(id)) continue;
      const inputs = (r.inputs ?? {}) as Record<string, number | string | null>;
      const p: PredictionRow = {
        predictionId: id,
        model: r.model as string,
        version: r.version as string,
        arm: (r.arm as string) ?? 'champion',
        time: t,
        inputs,
        task: typeof r.label === 'string' ? 'classification' : 'regression',
      };
      if (p.task === 'classification') {
        p.label = r.label as string;
        p.probabilities = r.probabilities as Record<string, number>;
      } else p.prediction = r.prediction as number;
      found.set(id, p);
    }
    return found;
  }

  /** The prediction ids in the model's feedback log of the last `days` days (what a restarted server must not write again). */
  async feedbackIds(model: string, now = Date.now()): Promise<string[]> {
    const files = await this.cache.files(keys.feedbackLogs(model), (day) => keys.feedbackLogDay(model, day), this.days, now);
    if (files.length === 0) return [];
    const rows = await withConnection((c) =>
      queryRows<{ id: string }>(c, `SELECT DISTINCT prediction_id AS id FROM read_parquet([${files.map(literal).join(', ')}], union_by_name = true)`),
    );
    return rows.map((r) => r.id);
  }

  close(): Promise<void> {
    return this.cache.close();
  }
}

// ---------------------------------------------------------------- the log

export interface FeedbackEvents {
  received(model: string, items: number): void;
  joined(model: string, items: number): void;
  /** The joined items themselves, written to the log: the live figures per version and arm come from them. */
  live?(items: JoinedFeedback[]): void;
  duplicates(model: string, items: number): void;
  unmatched(model: string, items: number): void;
  forwarded(model: string, items: number): void;
  forwardFailed(model: string, error: Error): void;
  failed(error: Error): void;
}

/** Sends joined items to the model's monitor (signal `feedback` to `monitor/<model>`, signal-with-start). */
export type FeedbackForwarder = (model: string, items: FeedbackSignalItem[]) => Promise<void>;

export interface FeedbackLogOptions {
  /** The spool root; the feedback spool is `<spoolDir>/feedback/`. */
  spoolDir: string;
  /** Items per spool segment at most (default 10,000). */
  maxRows?: number;
  /** Seconds after which a segment with items is closed and joined (default 5); one of 1,000 items or more closes after 1 s with none received. */
  maxSeconds?: number;
  sync?: SpoolSync;
  /** Predictions kept in memory for the join (default 50,000). */
  recentPredictions?: number;
  /** Days of the prediction log (and of the feedback log, for duplicates) read from the store (default 30). */
  lookbackDays?: number;
  /** Days a label waits for its prediction before it is kept as unmatched (default 7). */
  pendingDays?: number;
  /** Items per `feedback` signal (default 2,000; fewer when they would pass 256 KiB of JSON). */
  forwardBatch?: number;
  /** How long close() keeps joining before it leaves the rest to the next start (default 10 s). */
  drainMs?: number;
  /** Join in the background (default true); false: only when processClosed() is called (tests). */
  background?: boolean;
  /** Where joined items go; none: written to the store only. */
  forward?: FeedbackForwarder;
  /** Models this server serves (their feedback log is read back at start, for duplicates). */
  models: string[];
  /** The input kinds of a model (its serving version's), for the Parquet types. */
  kinds?: (model: string) => Record<string, InputKind> | undefined;
  /**
   * In a cluster: claims `<model>/<prediction id>` keys for a segment from the
   * primary (true: this segment may write it; false: another segment has).
   * Checked after this process's own first-label-wins; a failure leaves the
   * segment in the spool for the next pass.
   */
  sharedClaims?: (claims: { key: string; segment: string }[]) => Promise<boolean[]>;
}

const MAX_BACKOFF_MS = 30_000;

/** Items per `feedback` signal by default: a few signals per segment, each far below Temporal's payload limits. */
const DEFAULT_FORWARD_BATCH = 2_000;
/** An open segment of this many received items, with none received for QUIET_CLOSE_MS, is closed before its age limit. */
const QUIET_CLOSE_ITEMS = 1_000;
const QUIET_CLOSE_MS = 1_000;
/** Signals in flight at once per segment and model (after the first). */
const FORWARD_CONCURRENCY = 4;
/** Bytes of items per signal at most: half the 512 KB at which Temporal warns of a large payload (2 MB is refused). */
const SIGNAL_BYTES = 256 * 1024;

/** Items cut into signals of at most `most` items and SIGNAL_BYTES of JSON (an item larger than that alone goes alone). */
export function signalBatches(items: FeedbackSignalItem[], most: number): FeedbackSignalItem[][] {
  const batches: FeedbackSignalItem[][] = [];
  let batch: FeedbackSignalItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (batch.length > 0 && (batch.length >= most || bytes + size > SIGNAL_BYTES)) {
      batches.push(batch);
      batch = [];
      bytes = 0;
    }
    batch.push(item);
    bytes += size;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}

export class FeedbackLog {
  readonly spool: Spool;
  readonly recent: RecentPredictions;
  readonly dedup = new FirstLabelWins();
  private readonly lookup: PredictionLookup;
  private readonly segments: VersionSegments;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private backoffMs = 0;
  private closing = false;
  private pendingItems = 0;
  /** Items received into the open segment (about: counted once spooled, cleared when a segment closes), and when the last came. */
  private openItems = 0;
  private lastAppendAt = 0;
  /** Part ids whose items are forwarded while their segment is not yet removed (its parts failed to store). */
  private readonly forwardedParts = new Set<string>();

  constructor(
    private readonly store: ObjectStore,
    private readonly options: FeedbackLogOptions,
    private readonly events: FeedbackEvents,
    private readonly log: (line: string) => void,
  ) {
    this.recent = new RecentPredictions(options.recentPredictions ?? 50_000);
    this.lookup = new PredictionLookup(store, options.lookbackDays ?? 30);
    this.segments = new VersionSegments(store, log);
    this.spool = new Spool({
      root: join(options.spoolDir, 'feedback'),
      store: store.description,
      name: 'feedback',
      maxRows: options.maxRows,
      maxAgeMs: (options.maxSeconds ?? 5) * 1000,
      sync: options.sync,
      onRotate: () => {
        this.openItems = 0;
        this.nudge();
      },
      log,
    });
  }

  /** Items waiting for their prediction (as of the last pass). */
  get pending(): number {
    return this.pendingItems;
  }

  async start(): Promise<void> {
    await this.spool.open();
    for (const model of this.options.models) {
      try {
        for (const id of await this.lookup.feedbackIds(model)) this.dedup.remember(`${model}/${id}`);
      } catch (error) {
        this.log(
          `perennial serve: could not read the feedback log of '${model}' for duplicates (${(error as Error).message}); duplicates are checked against this process's memory only`,
        );
      }
    }
    this.nudge();
  }

  /** Spools one request's items; resolves once they are written (the route may then answer). */
  async append(model: string, items: FeedbackItem[], at = new Date()): Promise<void> {
    const record: FeedbackRecord = { model, time: at.toISOString(), ids: items.map((i) => i.predictionId), items };
    await this.spool.append(JSON.stringify(record) + '\n', items.length);
    this.openItems += items.length;
    this.lastAppendAt = Date.now();
    this.events.received(model, items.length);
  }

  private nudge(): void {
    if (this.running || this.closing || this.options.background === false) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.round(), this.backoffMs);
    this.timer.unref();
  }

  private round(): void {
    this.running = (async () => {
      let failed = false;
      let done = 0;
      try {
        // A burst that ended is not held for the age limit: its open segment closes once quiet (a trickle's still close by age).
        if (this.openItems >= QUIET_CLOSE_ITEMS && Date.now() - this.lastAppendAt >= QUIET_CLOSE_MS) await this.spool.rotate();
        done = await this.processClosed();
        this.backoffMs = 0;
      } catch (error) {
        this.events.failed(error as Error);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, this.backoffMs * 2));
        this.log(
          `perennial serve: feedback could not be joined or forwarded (kept in the spool, retried in ${this.backoffMs / 1000} s): ${(error as Error).message}`,
        );
        failed = true;
      }
      this.running = undefined;
      if (this.closing) return;
      // Segments closed while this round ran are taken at once; an idle log looks again in a second.
      this.timer = setTimeout(() => this.round(), failed ? this.backoffMs : done > 0 ? 0 : 1000);
      this.timer.unref();
    })();
  }

  /** Joins, writes and forwards every closed segment, oldest first; throws at the first that fails (it stays). */
  async processClosed(): Promise<number> {
    let done = 0;
    let pending = 0;
    for (const segment of await this.spool.closedSegments()) {
      pending += await this.processSegment(segment);
      done += 1;
    }
    // Pending items go round the spool (written back, closed, tried again): the count of the last pass that saw segments.
    if (done > 0) this.pendingItems = pending;
    return done;
  }

  private async processSegment(segment: SegmentInfo): Promise<number> {
    const read = await readSegment<FeedbackRecord>(segment.path);
    if (read.corrupt.length > 0) this.log(`perennial serve: ${segment.path}: ${read.corrupt.length} feedback line(s) do not parse and are skipped`);
    const records = read.records.filter((r) => typeof r.model === 'string' && Array.isArray(r.items) && typeof r.time === 'string');
    const now = Date.now();
    const outcome = await joinSegment(
      records,
      segment.id,
      this.dedup,
      async (model, ids) => {
        const found = new Map<string, PredictionRow>();
        const rest: string[] = [];
        for (const id of ids) {
          const row = this.recent.get(id);
          if (row && row.model === model) found.set(id, row);
          else rest.push(id);
        }
        if (rest.length > 0) for (const [id, row] of await this.lookup.find(model, rest, now)) found.set(id, row);
        return found;
      },
      now,
      (this.options.pendingDays ?? 7) * 86_400_000,
    );
    if (this.options.sharedClaims && outcome.joined.length > 0) {
      const granted = await this.options.sharedClaims(outcome.joined.map((j) => ({ key: `${j.prediction.model}/${j.predictionId}`, segment: segment.id })));
      const kept: JoinedFeedback[] = [];
      outcome.joined.forEach((j, i) => {
        if (granted[i] === true) kept.push(j);
        else outcome.duplicates.set(j.prediction.model, (outcome.duplicates.get(j.prediction.model) ?? 0) + 1);
      });
      outcome.joined = kept;
    }
    const byModel = groupBy(outcome.joined, (j) => j.prediction.model);
    // The part id: the segment's and a digest of the ids it joined. A retry that joins the same items overwrites the
    // same keys; one that joins others (a pending item found meanwhile) writes beside them, never over them.
    const partId = `${segment.id}-${sha256(outcome.joined.map((j) => j.predictionId).join('\n')).slice(0, 12)}`;
    // The parts and the signals need nothing of each other: stored and sent at once; the segment stays until both are done.
    // A retry after the store failed does not send the same items again.
    const forwarding = this.forwardedParts.has(partId) ? undefined : this.forwardJoined(byModel).then(() => this.forwardedParts.add(partId));
    const [stored, sent] = await Promise.allSettled([this.storeOutcome(segment, outcome, now, partId), forwarding]);
    if (stored.status === 'rejected') throw stored.reason;
    if (sent.status === 'rejected') throw sent.reason;
    for (const [model, list] of byModel) {
      this.events.joined(model, list.length);
      this.events.live?.(list);
    }
    for (const [model, n] of outcome.duplicates) this.events.duplicates(model, n);
    for (const r of outcome.unmatched) this.events.unmatched(r.model, r.items.length);
    const pending = outcome.pending.reduce((n, r) => n + r.items.length, 0);
    // Stopping: the spool takes no more lines, so a segment with pending items stays for the next start.
    if (pending > 0 && this.closing) return pending;
    for (const r of outcome.pending) await this.spool.append(JSON.stringify(r) + '\n', r.items.length);
    await this.spool.remove(segment);
    this.forwardedParts.delete(partId);
    return pending;
  }

  /** The joined items as Parquet parts, and the unmatched ones as JSON Lines. */
  private async storeOutcome(segment: SegmentInfo, outcome: SegmentOutcome, now: number, partId: string): Promise<void> {
    if (outcome.joined.length > 0) {
      const dir = await mkdtemp(join(tmpdir(), 'perennial-feedback-'));
      try {
        await putParts(this.store, await writeFeedbackParts(outcome.joined, partId, dir, (m) => this.options.kinds?.(m)));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    for (const r of outcome.unmatched) {
      const key = keys.feedbackUnmatchedPart(r.model, new Date(now), `${segment.id}-${sha256(r.ids.join('\n')).slice(0, 12)}`);
      await this.store.put(key, JSON.stringify(r) + '\n', { contentType: 'application/x-ndjson' });
      this.log(
        `perennial serve: ${r.items.length} feedback item(s) for '${r.model}' found no prediction in ${this.options.pendingDays ?? 7} days; kept as ${key}`,
      );
    }
  }

  /**
   * Sends the joined items to each model's monitor in signals of at most
   * `forwardBatch` items and SIGNAL_BYTES. The first signal goes alone (when
   * Temporal is down, one call fails, not many); the rest FORWARD_CONCURRENCY
   * at a time: a signal's round trip, not the monitor, is what a batch waits
   * for, and the monitor counts each prediction id once in any order.
   */
  private async forwardJoined(byModel: Map<string, JoinedFeedback[]>): Promise<void> {
    const forward = this.options.forward;
    if (!forward) return;
    const most = Math.max(1, this.options.forwardBatch ?? DEFAULT_FORWARD_BATCH);
    for (const [model, list] of byModel) {
      const columns = new Map<string, readonly string[]>();
      for (const version of new Set(list.map((j) => j.prediction.version))) columns.set(version, await this.segments.of(model, version));
      const batches = signalBatches(
        list.map((j) => signalItem(j, columns.get(j.prediction.version))),
        most,
      );
      const send = async (items: FeedbackSignalItem[]) => {
        try {
          await forward(model, items);
        } catch (error) {
          this.events.forwardFailed(model, error as Error);
          throw new Error(`forwarding feedback to the monitor of '${model}' failed: ${(error as Error).message}`, { cause: error });
        }
        this.events.forwarded(model, items.length);
      };
      await send(batches[0]!);
      let next = 1;
      let failure: Error | undefined;
      const lane = async () => {
        while (next < batches.length && failure === undefined) {
          try {
            await send(batches[next++]!);
          } catch (error) {
            failure ??= error as Error;
          }
        }
      };
      await Promise.all(Array.from({ length: FORWARD_CONCURRENCY }, lane));
      if (failure !== undefined) throw failure;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.running;
    await this.spool.close();
    const until = Date.now() + (this.options.drainMs ?? 10_000);
    for (;;) {
      try {
        // Pending items written back during the drain stay in the spool for the next start.
        await this.processClosed();
        break;
      } catch (error) {
        this.events.failed(error as Error);
        if (Date.now() >= until) {
          this.log(
            `perennial serve: feedback could not be joined before stopping (${(error as Error).message}); it stays in ${this.spool.dir} for the next start`,
          );
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await this.lookup.close();
    await this.spool.removeIfEmpty();
    this.spool.release();
    // The feedback root goes too when nothing is left in it (another server's directory keeps it).
    await rmdir(join(this.options.spoolDir, 'feedback')).catch(() => {});
  }
}
