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
 * version, arm ('champion' until releases route), latency_ms (request received
 * to scored), inputs (a STRUCT, one field per input as the model received it:
 * DOUBLE, TIMESTAMP for dates as wall-clock time, VARCHAR for categories; NULL
 * where missing and imputed), and the output: label (VARCHAR) and
 * probabilities (a STRUCT of DOUBLE, one field per class) for a classifier,
 * prediction (DOUBLE) for a regression.
 */
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellAt } from '../data/columns';
import { ident, literal, withConnection } from '../data/engine';
import { isValidName } from '../names';
import { keys, type ObjectStore } from '../store';
import type { InputKind } from './inputs';
import type { LoadedVersion } from './loaded';
import type { DecodedRequest, Scored } from './protocol';
import { readSegment, Spool, type SegmentInfo, type SpoolSync } from './spool';

/** The release arm that answered: the champion until releases route traffic to a candidate. */
export type ReleaseArm = 'champion';

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
  const base = { model: loaded.model, version: loaded.version, arm, time: at.toISOString(), latency_ms: latencyMs, ids, kinds, inputs };
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
  if (r.task === 'classification') {
    if (!Array.isArray(r.classes) || r.labels?.length !== n || r.probabilities?.length !== n * r.classes.length) return 'outputs do not match the ids';
  } else if (r.task === 'regression') {
    if (r.predictions?.length !== n) return 'outputs do not match the ids';
  } else return 'no task';
  return undefined;
}

const SQL_TYPE: Record<InputKind, string> = { number: 'DOUBLE', date: 'TIMESTAMP', category: 'VARCHAR' };

function structType(fields: Map<string, string>): string {
  return `STRUCT(${[...fields].map(([name, type]) => `${ident(name)} ${type}`).join(', ')})`;
}

export interface LogPart {
  model: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  key: string;
  rows: number;
  /** The Parquet file, in a temporary directory. */
  path: string;
}

/**
 * The Parquet parts of one segment's records: one per model and UTC day,
 * written under `dir`. Rows keep the segment's order.
 */
export async function writeLogParts(records: PredictionRecord[], segmentId: string, dir: string): Promise<LogPart[]> {
  const groups = new Map<string, PredictionRecord[]>();
  for (const r of records) {
    const group = `${r.model}/${r.time.slice(0, 10)}`;
    let list = groups.get(group);
    if (!list) groups.set(group, (list = []));
    list.push(r);
  }
  const parts: LogPart[] = [];
  for (const [group, list] of groups) {
    const [model, day] = group.split('/') as [string, string];
    const inputTypes = new Map<string, string>();
    const classTypes = new Map<string, string>();
    let classification = false;
    let regression = false;
    const lines: string[] = [];
    for (const r of list) {
      for (const [name, kind] of Object.entries(r.kinds)) {
        const type = SQL_TYPE[kind] ?? 'VARCHAR';
        const seen = inputTypes.get(name);
        // Two versions that read one input differently (rare): text holds both.
        inputTypes.set(name, seen === undefined || seen === type ? type : 'VARCHAR');
      }
      const k = r.classes?.length ?? 0;
      if (r.task === 'classification') {
        classification = true;
        for (const c of r.classes!) classTypes.set(c, 'DOUBLE');
      } else regression = true;
      r.ids.forEach((id, i) => {
        const inputs: Record<string, unknown> = {};
        for (const [name, values] of Object.entries(r.inputs)) inputs[name] = values[i] ?? null;
        const row: Record<string, unknown> = {
          prediction_id: id,
          time: r.time,
          model: r.model,
          version: r.version,
          arm: r.arm,
          latency_ms: r.latency_ms,
          inputs,
        };
        if (r.task === 'classification') {
          row.label = r.labels![i];
          const probabilities: Record<string, number> = {};
          r.classes!.forEach((c, j) => (probabilities[c] = r.probabilities![i * k + j]!));
          row.probabilities = probabilities;
        } else row.prediction = r.predictions![i];
        lines.push(JSON.stringify(row));
      });
    }
    const columns: [string, string][] = [
      ['prediction_id', 'VARCHAR'],
      ['time', 'TIMESTAMPTZ'],
      ['model', 'VARCHAR'],
      ['version', 'VARCHAR'],
      ['arm', 'VARCHAR'],
      ['latency_ms', 'DOUBLE'],
      ['inputs', structType(inputTypes)],
    ];
    if (classification) columns.push(['label', 'VARCHAR'], ['probabilities', structType(classTypes)]);
    if (regression) columns.push(['prediction', 'DOUBLE']);
    const json = join(dir, `${model}-${day}.jsonl`);
    const path = join(dir, `${model}-${day}.parquet`);
    await writeFile(json, lines.join('\n') + '\n');
    const spec = `{${columns.map(([name, type]) => `${literal(name)}: ${literal(type)}`).join(', ')}}`;
    await withConnection(async (connection) => {
      await connection.run(
        `COPY (SELECT ${columns.map(([name]) => ident(name)).join(', ')} FROM read_json(${literal(json)}, format = 'newline_delimited', columns = ${spec}, maximum_object_size = 134217728)) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`,
      );
    });
    await rm(json, { force: true });
    parts.push({ model, day, key: keys.predictionLogPart(model, new Date(`${day}T00:00:00Z`), segmentId), rows: lines.length, path });
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
        for (const part of parts) {
          await this.store.put(part.key, await readFile(part.path), { contentType: 'application/vnd.apache.parquet' });
        }
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
