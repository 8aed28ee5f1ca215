/**
 * The prediction log: every answered prediction, spooled before its answer is
 * sent (spool.ts), then uploaded off the request path as Parquet parts:
 *
 *   logs/<model>/predictions/dt=<YYYY-MM-DD>/<segment id>.parquet
 *
 * one part per model and UTC day of each closed spool segment, written by
 * DuckDB (COPY ... TO parquet) so a drift check reads only the columns it
 * needs. A segment is removed only once all its parts are stored; an upload
 * that fails is retried later (backoff to 30 s) and nothing is dropped. The
 * part id is the segment's id, so a segment uploaded twice (a crash between
 * upload and removal) overwrites the same keys instead of duplicating rows.
 *
 * Columns: prediction_id, time (TIMESTAMPTZ, when the answer was made), model,
 * version, arm (the release arm: 'champion', 'candidate', or 'shadow' for a
 * shadow candidate's scoring that no client received), shadow_of (a shadow
 * row's champion prediction id, NULL otherwise; parts written before releases
 * lack the column: read them with union_by_name = true), latency_ms (request
 * received to scored; a shadow row: its own scoring), inputs (a STRUCT, one field per input as the model received it:
 * DOUBLE, TIMESTAMP for dates as wall-clock time, VARCHAR for categories; NULL
 * where missing and imputed), and the output: label (VARCHAR) and
 * probabilities (a STRUCT of DOUBLE, one field per class) for a classifier,
 * prediction (DOUBLE) for a regression.
 */
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellAt } from '../data/columns';
import { isValidName } from '../names';
import { keys, type ObjectStore } from '../store';
import type { InputKind } from './inputs';
import type { LoadedVersion } from './loaded';
import { byModelAndDay, dayStart, putParts, SQL_TYPE, structType, writeParquetPart, type ColumnType, type Part } from './parquet-parts';
import type { DecodedRequest, Scored } from './protocol';
import type { Arm } from './routing';
import { readSegment, Spool, type SegmentInfo, type SpoolSync } from './spool';

/**
 * The release arm of a logged prediction: `champion`, `candidate` (a release
 * routed the request to its candidate, or the client named the candidate's
 * version), or `shadow` (a shadow candidate scored the rows after the champion
 * answered; no client received it).
 */
export type ReleaseArm = Arm;

/** One answered request as a spool line: its rows by column. */
export interface PredictionRecord {
  model: string;
  version: string;
  arm: ReleaseArm;
  /** When the answer was made, ISO UTC. */
  time: string;
  latency_ms: number;
  /** One prediction id per row. */
  ids: string[];
  /**
   * Arm `shadow` only: per row, the id of the champion's prediction for the same
   * row (the id the client received). A shadow row has an id of its own, so a
   * label (posted for the champion's id) joins the champion's row only and is
   * counted once; the release's analysis pairs the candidate's shadow prediction
   * with that label through shadow_of.
   */
  shadowOf?: string[];
  kinds: Record<string, InputKind>;
  /** Each input's values as the model received them (numbers, ISO wall-clock dates, category text; null when missing). */
  inputs: Record<string, (number | string | null)[]>;
  task: 'classification' | 'regression';
  classes?: string[];
  labels?: string[];
  /** rows x classes, row-major. */
  probabilities?: number[];
  predictions?: number[];
}

/** The record of an answered request. */
export function predictionRecord(
  loaded: Pick<LoadedVersion, 'model' | 'version' | 'inputs'>,
  decoded: DecodedRequest,
  scored: Scored,
  ids: string[],
  at: Date,
  latencyMs: number,
  arm: ReleaseArm = 'champion',
  shadowOf?: string[],
): PredictionRecord {
  const kinds: Record<string, InputKind> = {};
  const inputs: Record<string, (number | string | null)[]> = {};
  for (const input of loaded.inputs) {
    const column = decoded.table.columns.get(input.name);
    if (!column) continue;
    kinds[input.name] = input.kind;
    const values = new Array<number | string | null>(scored.rows);
    for (let i = 0; i < scored.rows; i++) values[i] = cellAt(column, i);
    inputs[input.name] = values;
  }
  const base = {
    model: loaded.model,
    version: loaded.version,
    arm,
    time: at.toISOString(),
    latency_ms: latencyMs,
    ids,
    ...(shadowOf ? { shadowOf } : {}),
    kinds,
    inputs,
  };
  return scored.task === 'regression'
    ? { ...base, task: 'regression', predictions: Array.from(scored.values) }
    : { ...base, task: 'classification', classes: scored.classes, labels: scored.labels, probabilities: Array.from(scored.probabilities) };
}

/** Why a line of a segment cannot be logged, or undefined when it can. */
function problemOf(r: PredictionRecord): string | undefined {
  if (!isValidName('model', r.model)) return 'no valid model name';
  if (typeof r.version !== 'string' || typeof r.time !== 'string' || Number.isNaN(Date.parse(r.time))) return 'no version or time';
  if (!Array.isArray(r.ids) || !r.ids.every((id) => typeof id === 'string')) return 'ids are not text';
  if (typeof r.inputs !== 'object' || r.inputs === null || typeof r.kinds !== 'object' || r.kinds === null) return 'no inputs';
  const n = r.ids.length;
  if (r.arm === 'shadow' && !(Array.isArray(r.shadowOf) && r.shadowOf.length === n && r.shadowOf.every((id) => typeof id === 'string'))) {
    return 'a shadow record without the champion prediction ids (shadowOf)';
  }
  if (r.task === 'classification') {
    if (!Array.isArray(r.classes) || r.labels?.length !== n || r.probabilities?.length !== n * r.classes.length) return 'outputs do not match the ids';
  } else if (r.task === 'regression') {
    if (r.predictions?.length !== n) return 'outputs do not match the ids';
  } else return 'no task';
  return undefined;
}

/** One logged prediction: a row of a PredictionRecord (what the feedback join needs, and a row of a part). */
export interface PredictionRow {
  predictionId: string;
  model: string;
  version: string;
  arm: string;
  /** When the answer was made, ms. */
  time: number;
  /** A shadow row: the champion's prediction id for the same row. */
  shadowOf?: string;
  inputs: Record<string, number | string | null>;
  task: 'classification' | 'regression';
  label?: string;
  probabilities?: Record<string, number>;
  prediction?: number;
}

/** Row `i` of a record (`time`: the record's time in ms, when the caller has it parsed already). */
export function predictionRow(r: PredictionRecord, i: number, time = Date.parse(r.time)): PredictionRow {
  const inputs: Record<string, number | string | null> = {};
  for (const [name, values] of Object.entries(r.inputs)) inputs[name] = values[i] ?? null;
  const row: PredictionRow = { predictionId: r.ids[i]!, model: r.model, version: r.version, arm: r.arm, time, inputs, task: r.task };
  if (r.shadowOf) row.shadowOf = r.shadowOf[i];
  if (r.task === 'classification') {
    const k = r.classes!.length;
    row.label = r.labels![i];
    const probabilities: Record<string, number> = {};
    r.classes!.forEach((c, j) => (probabilities[c] = r.probabilities![i * k + j]!));
    row.probabilities = probabilities;
  } else row.prediction = r.predictions![i];
  return row;
}

/**
 * The Parquet parts of one segment's records: one per model and UTC day,
 * written under `dir`. Rows keep the segment's order.
 */
export async function writeLogParts(records: PredictionRecord[], segmentId: string, dir: string): Promise<Part[]> {
  const parts: Part[] = [];
  for (const { model, day, items } of byModelAndDay(records, (r) => ({ model: r.model, day: r.time.slice(0, 10) }))) {
    const inputTypes = new Map<string, string>();
    const classTypes = new Map<string, string>();
    let classification = false;
    let regression = false;
    const lines: string[] = [];
    for (const r of items) {
      for (const [name, kind] of Object.entries(r.kinds)) {
        const type = SQL_TYPE[kind] ?? 'VARCHAR';
        const seen = inputTypes.get(name);
        // Two versions that read one input differently (rare): text holds both.
        inputTypes.set(name, seen === undefined || seen === type ? type : 'VARCHAR');
      }
      if (r.task === 'classification') {
        classification = true;
        for (const c of r.classes!) classTypes.set(c, 'DOUBLE');
      } else regression = true;
      for (let i = 0; i < r.ids.length; i++) {
        const p = predictionRow(r, i, 0);
        lines.push(
          JSON.stringify({
            prediction_id: p.predictionId,
            time: r.time,
            model: r.model,
            version: r.version,
            arm: r.arm,
            shadow_of: p.shadowOf ?? null,
            latency_ms: r.latency_ms,
            inputs: p.inputs,
            ...(r.task === 'classification' ? { label: p.label, probabilities: p.probabilities } : { prediction: p.prediction }),
          }),
        );
      }
    }
    const columns: ColumnType[] = [
      ['prediction_id', 'VARCHAR'],
      ['time', 'TIMESTAMPTZ'],
      ['model', 'VARCHAR'],
      ['version', 'VARCHAR'],
      ['arm', 'VARCHAR'],
      ['shadow_of', 'VARCHAR'],
      ['latency_ms', 'DOUBLE'],
      ['inputs', structType(inputTypes)],
    ];
    if (classification) columns.push(['label', 'VARCHAR'], ['probabilities', structType(classTypes)]);
    if (regression) columns.push(['prediction', 'DOUBLE']);
    const path = await writeParquetPart(dir, `${model}-${day}`, lines, columns);
    parts.push({ model, key: keys.predictionLogPart(model, dayStart(day), segmentId), rows: lines.length, path });
  }
  return parts;
}

export interface PredictionLogEvents {
  spooled(model: string, rows: number): void;
  uploaded(model: string, rows: number): void;
  uploadFailed(error: Error): void;
  ignoredLines(reason: 'torn' | 'corrupt', count: number): void;
}

export interface PredictionLogOptions {
  /** The spool root (`perennial serve --spool-dir`); this process writes in a directory of its own under it. */
  spoolDir: string;
  /** Rows per spool segment, so per Parquet part at most (default 10,000). */
  maxRows?: number;
  /** Seconds after which a segment with rows is closed and uploaded (default 60). */
  maxSeconds?: number;
  /** 'write' (default): answered once the spool line is written to the OS (survives a kill of the process); 'fsync': once on disk (survives a machine crash). */
  sync?: SpoolSync;
  /** How long close() keeps uploading before it leaves the rest to the next start (default 10 s). */
  drainMs?: number;
}

const MAX_BACKOFF_MS = 30_000;

export class PredictionLog {
  readonly spool: Spool;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private backoffMs = 0;
  private closing = false;
  private lastAdopt = 0;
  private uploads: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly store: ObjectStore,
    private readonly options: PredictionLogOptions,
    private readonly events: PredictionLogEvents,
    private readonly log: (line: string) => void,
  ) {
    this.spool = new Spool({
      root: options.spoolDir,
      store: store.description,
      maxRows: options.maxRows,
      maxAgeMs: (options.maxSeconds ?? 60) * 1000,
      sync: options.sync,
      onRotate: () => this.nudge(),
      log,
    });
  }

  /** Opens the spool (adopting what stopped servers left) and starts uploading in the background. */
  async start(): Promise<void> {
    await this.spool.open();
    this.lastAdopt = Date.now();
    this.nudge();
  }

  /** Spools one answered request's rows; resolves once they are written (the answer may then be sent). */
  async append(record: PredictionRecord): Promise<void> {
    await this.spool.append(JSON.stringify(record) + '\n', record.ids.length);
    this.events.spooled(record.model, record.ids.length);
  }

  /** Uploads every closed segment now (unless a round is running or backing off). */
  private nudge(): void {
    if (this.running || this.closing) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.round(), this.backoffMs);
    this.timer.unref();
  }

  private round(): void {
    this.running = (async () => {
      let more = false;
      try {
        // A server that died beside this one (another process on the same spool root) is adopted within 30 s.
        if (Date.now() - this.lastAdopt > 30_000) {
          this.lastAdopt = Date.now();
          await this.spool.adopt();
        }
        await this.uploadClosed();
        this.backoffMs = 0;
      } catch (error) {
        this.events.uploadFailed(error as Error);
        this.backoffMs = Math.min(MAX_BACKOFF_MS, Math.max(1000, this.backoffMs * 2));
        this.log(`perennial serve: prediction log upload failed (kept in the spool, retried in ${this.backoffMs / 1000} s): ${(error as Error).message}`);
        more = true;
      }
      this.running = undefined;
      if (this.closing) return;
      // The next look: soon after a failure (backoff), else every second for segments closed by age.
      this.timer = setTimeout(() => this.round(), more ? this.backoffMs : 1000);
      this.timer.unref();
    })();
  }

  /**
   * Uploads the closed segments oldest first, one call at a time; throws at
   * the first that fails (it stays, with those after it). Returns how many
   * segments this call uploaded.
   */
  uploadClosed(): Promise<number> {
    const run = this.uploads.then(async () => {
      let uploaded = 0;
      for (const segment of await this.spool.closedSegments()) {
        await this.uploadSegment(segment);
        uploaded += 1;
      }
      return uploaded;
    });
    this.uploads = run.catch(() => 0);
    return run;
  }

  private async uploadSegment(segment: SegmentInfo): Promise<void> {
    const read = await readSegment<PredictionRecord>(segment.path);
    if (read.tornBytes > 0) {
      this.events.ignoredLines('torn', 1);
      this.log(`perennial serve: ${segment.path}: ignored an incomplete last line (${read.tornBytes} bytes): a write cut short by a stop, never answered`);
    }
    const records: PredictionRecord[] = [];
    const bad = [...read.corrupt];
    read.records.forEach((r) => {
      const problem = problemOf(r);
      if (problem) bad.push({ line: -1, text: `${problem}: ${JSON.stringify(r).slice(0, 200)}` });
      else records.push(r);
    });
    if (bad.length > 0) {
      // Never expected (a disk fault, a hand edit): kept beside the spool for a person, not uploaded, not lost.
      const keep = join(this.spool.dir, `rejected-${segment.id}.jsonl`);
      await copyFile(segment.path, keep);
      this.events.ignoredLines('corrupt', bad.length);
      this.log(`perennial serve: ${segment.path}: ${bad.length} line(s) cannot be logged (${bad[0]!.text.slice(0, 120)}); the segment is kept as ${keep}`);
    }
    if (records.length > 0) {
      const dir = await mkdtemp(join(tmpdir(), 'perennial-log-'));
      try {
        const parts = await writeLogParts(records, segment.id, dir);
        await putParts(this.store, parts);
        for (const part of parts) this.events.uploaded(part.model, part.rows);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    }
    await this.spool.remove(segment);
  }

  /**
   * Stops: closes the open segment and uploads for up to `drainMs`; what is
   * left stays in the spool for the next start (which adopts it).
   */
  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.timer);
    await this.running;
    await this.spool.close();
    const until = Date.now() + (this.options.drainMs ?? 10_000);
    for (;;) {
      try {
        await this.uploadClosed();
        break;
      } catch (error) {
        this.events.uploadFailed(error as Error);
        if (Date.now() >= until) {
          this.log(
            `perennial serve: the prediction log could not be uploaded before stopping (${(error as Error).message}); it stays in ${this.spool.dir} for the next start`,
          );
          this.spool.release();
          return;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    await this.spool.removeIfEmpty();
    this.spool.release();
  }
}
