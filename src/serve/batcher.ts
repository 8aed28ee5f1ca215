/**
 * Adaptive batching: concurrent requests for one loaded version are scored in
 * one model call, then each gets exactly its own rows back. It decides as
 * Triton's dynamic batcher does with its default settings (batch what is
 * queued when the model is free, never delay a request an idle model could
 * take), with MLServer's two caps:
 *
 * - **Idle: at once.** A request that arrives when no model call is running
 *   and nothing is queued is scored at once, alone: it never waits.
 * - **Busy: queued.** A request that arrives while a model call is running is
 *   queued for its version, and the queue is scored in one call when that call
 *   ends, when it holds `maxRows` rows, or `maxWaitMs` after its first request
 *   was queued, whichever comes first. In Node a tfjs model call blocks the
 *   event loop, so the requests that arrive during it are read just after it
 *   ends: the batcher counts a call as running until the end of the event-loop
 *   turn in which it ended (setImmediate), so those requests are queued and
 *   scored together instead of one by one. Under load this is where batches
 *   form; at low load every request finds the model idle and is scored at once.
 * - **What merges.** Only requests for the same loaded version whose tables
 *   have the same columns of the same kinds (decoded against that version's
 *   inputs, so in practice every request for it). A request of `maxRows` rows
 *   or more is scored alone. Requests are checked (decoded, validated) before
 *   they are queued, so a malformed one never joins a batch; if a merged call
 *   fails all the same, each of its requests is scored again alone, so one
 *   request cannot fail the others: each gets its own answer or its own error.
 * - **Same bits.** The model scores rows independently (an MLP: each output row
 *   depends on its input row only), and a version whose model does not give
 *   the same bits for a row alone and in a batch on this backend (checked when
 *   it loads: `rowWise`) is never batched.
 *
 * `maxWaitMs` 0 turns batching off: every request is scored alone, at once.
 */
import type { Column, ColumnTable } from '../data/columns';
import type { Scored } from './protocol';

/** What the batcher scores with: a loaded version (loaded.ts), or a stand-in in tests. */
export interface Scorable {
  model: string;
  version: string;
  score(table: ColumnTable): Promise<Scored>;
  /** false: the model does not give the same bits for a row scored alone and in a batch; never batched. */
  rowWise?: boolean;
}

export interface BatcherEvents {
  /** One model call: its rows and how many requests it answers. */
  called(model: string, version: string, rows: number, requests: number): void;
  /** One request's wait in the queue before its model call started (0 when scored at once). */
  waited(model: string, version: string, seconds: number): void;
  /** A merged call failed; its requests were scored again one by one. */
  failed(model: string, version: string, requests: number): void;
}

export interface BatcherOptions {
  /** Rows per model call at most (default 64); a request with more is scored alone. */
  maxRows?: number;
  /** The longest a queued request waits for its batch, ms (default 2); 0: no batching. */
  maxWaitMs?: number;
  events?: Partial<BatcherEvents>;
  log?: (line: string) => void;
}

export const DEFAULT_MAX_BATCH_ROWS = 64;
export const DEFAULT_MAX_BATCH_WAIT_MS = 2;

interface Waiting {
  table: ColumnTable;
  queuedAt: number;
  resolve: (scored: Scored) => void;
  reject: (error: Error) => void;
}

/** The queue of one version and one column signature. */
interface Lane {
  loaded: Scorable;
  queue: Waiting[];
  rows: number;
  timer: NodeJS.Timeout | undefined;
}

/** The columns a table has, with their kinds: tables merge only when these are equal. */
export function tableSignature(table: ColumnTable): string {
  return [...table.columns]
    .map(([name, column]) => `${JSON.stringify(name)}:${column.kind}`)
    .sort()
    .join(',');
}

/** The rows of several tables with the same columns, one after another (text dictionaries merged). */
export function concatTables(tables: readonly ColumnTable[]): ColumnTable {
  const first = tables[0];
  if (!first) throw new Error('concatTables: no table');
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  const columns = new Map<string, Column>();
  for (const [name, head] of first.columns) {
    const parts = tables.map((t) => {
      const column = t.columns.get(name);
      if (!column || column.kind !== head.kind) throw new Error(`concatTables: column '${name}' is not a ${head.kind} column in every table`);
      return column;
    });
    if (head.kind === 'text') {
      const dictionary: string[] = [];
      const index = new Map<string, number>();
      const codes = new Int32Array(rows);
      let offset = 0;
      parts.forEach((part, p) => {
        const text = part as Column & { kind: 'text' };
        const remap = text.dictionary.map((value) => {
          let code = index.get(value);
          if (code === undefined) {
            code = dictionary.length;
            dictionary.push(value);
            index.set(value, code);
          }
          return code;
        });
        const n = tables[p]!.rows;
        for (let i = 0; i < n; i++) {
          const code = text.codes[i]!;
          codes[offset + i] = code < 0 ? -1 : remap[code]!;
        }
        offset += n;
      });
      columns.set(name, { kind: 'text', codes, dictionary });
    } else {
      const values = new Float64Array(rows);
      let offset = 0;
      parts.forEach((part, p) => {
        const n = tables[p]!.rows;
        values.set((part as Column & { values: Float64Array }).values.subarray(0, n), offset);
        offset += n;
      });
      columns.set(name, { kind: head.kind, values });
    }
  }
  return { source: 'batch', rows, names: [...columns.keys()], columns, rowNumber: (i) => i + 1 };
}

/** Rows [from, from + rows) of a scored batch, as if they had been scored alone (copies: each answer owns its arrays). */
export function sliceScored(scored: Scored, from: number, rows: number): Scored {
  if (scored.task === 'regression') return { task: 'regression', rows, values: scored.values.slice(from, from + rows) };
  const k = scored.classes.length;
  return {
    task: 'classification',
    rows,
    classes: scored.classes,
    labels: scored.labels.slice(from, from + rows),
    probabilities: scored.probabilities.slice(from * k, (from + rows) * k),
  };
}

export class Batcher {
  readonly maxRows: number;
  readonly maxWaitMs: number;
  private readonly events: Partial<BatcherEvents>;
  private readonly log: (line: string) => void;
  private readonly lanes = new WeakMap<Scorable, Map<string, Lane>>();
  /** Lanes with requests queued. */
  private readonly waiting = new Set<Lane>();
  /** Model calls started and not yet ended. */
  private running = 0;
  /** A call ended in this event-loop turn: what arrives before the turn ends is queued (see the module comment). */
  private cooling = false;
  private readonly notBatched = new WeakSet<Scorable>();

  constructor(options: BatcherOptions = {}) {
    this.maxRows = Math.max(1, Math.floor(options.maxRows ?? DEFAULT_MAX_BATCH_ROWS));
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? DEFAULT_MAX_BATCH_WAIT_MS);
    this.events = options.events ?? {};
    this.log = options.log ?? ((line) => console.error(line));
  }

  /** Batching is on (a wait cap above 0 and room for more than one row). */
  get enabled(): boolean {
    return this.maxWaitMs > 0 && this.maxRows > 1;
  }

  /** A model call is running, or ended in this event-loop turn. */
  get busy(): boolean {
    return this.running > 0 || this.cooling;
  }

  /** Requests queued now (all versions). */
  get queued(): number {
    let n = 0;
    for (const lane of this.waiting) n += lane.queue.length;
    return n;
  }

  /** Scores `table` with `loaded`: alone and at once when the model is idle, else in a batch (see the module comment). */
  score(loaded: Scorable, table: ColumnTable): Promise<Scored> {
    return new Promise<Scored>((resolve, reject) => {
      const request: Waiting = { table, queuedAt: performance.now(), resolve, reject };
      if (!this.enabled || table.rows >= this.maxRows || !this.batchable(loaded) || (!this.busy && this.waiting.size === 0)) {
        void this.call(loaded, [request]);
        return;
      }
      const lane = this.laneOf(loaded, table);
      if (lane.rows + table.rows > this.maxRows) this.flush(lane);
      lane.queue.push(request);
      lane.rows += table.rows;
      this.waiting.add(lane);
      if (lane.rows >= this.maxRows) this.flush(lane);
      else lane.timer ??= setTimeout(() => this.flush(lane), this.maxWaitMs);
    });
  }

  private batchable(loaded: Scorable): boolean {
    if (loaded.rowWise !== false) return true;
    if (!this.notBatched.has(loaded)) {
      this.notBatched.add(loaded);
      this.log(
        `perennial serve: ${loaded.model}/${loaded.version} does not give the same bits for a row scored alone and in a batch on this backend, so its requests are scored one by one (not batched)`,
      );
    }
    return false;
  }

  private laneOf(loaded: Scorable, table: ColumnTable): Lane {
    let byColumns = this.lanes.get(loaded);
    if (!byColumns) this.lanes.set(loaded, (byColumns = new Map<string, Lane>()));
    const signature = tableSignature(table);
    let lane = byColumns.get(signature);
    if (!lane) byColumns.set(signature, (lane = { loaded, queue: [], rows: 0, timer: undefined }));
    return lane;
  }

  /** Scores a lane's queue now. */
  private flush(lane: Lane): void {
    clearTimeout(lane.timer);
    lane.timer = undefined;
    this.waiting.delete(lane);
    const batch = lane.queue;
    if (batch.length === 0) return;
    lane.queue = [];
    lane.rows = 0;
    void this.call(lane.loaded, batch);
  }

  private flushAll(): void {
    for (const lane of [...this.waiting]) this.flush(lane);
  }

  /** One model call for `batch` (one request or several); never throws: each request is settled. */
  private async call(loaded: Scorable, batch: Waiting[]): Promise<void> {
    const { model, version } = loaded;
    const started = performance.now();
    const rows = batch.reduce((n, w) => n + w.table.rows, 0);
    for (const w of batch) this.events.waited?.(model, version, (started - w.queuedAt) / 1000);
    let scored: Scored;
    try {
      scored = await this.invoke(loaded, batch.length === 1 ? batch[0]!.table : concatTables(batch.map((w) => w.table)), batch.length);
    } catch (error) {
      const reason = (error as Error).message;
      if (batch.length === 1) {
        batch[0]!.reject(new Error(`${model}/${version} could not score the request's ${rows} row(s): ${reason}`, { cause: error }));
        return;
      }
      // One request's rows may be what broke the merged call: each is scored alone, so each gets its own answer or error.
      this.events.failed?.(model, version, batch.length);
      for (const w of batch) {
        try {
          w.resolve(await this.invoke(loaded, w.table, 1));
        } catch (alone) {
          w.reject(
            new Error(
              `${model}/${version} could not score the request's ${w.table.rows} row(s) (scored alone after a batch of ${batch.length} requests failed: ${reason}): ${(alone as Error).message}`,
              { cause: alone },
            ),
          );
        }
      }
      return;
    }
    let offset = 0;
    for (const w of batch) {
      w.resolve(batch.length === 1 ? scored : sliceScored(scored, offset, w.table.rows));
      offset += w.table.rows;
    }
  }

  /** The model call itself, counted as running while it runs. */
  private async invoke(loaded: Scorable, table: ColumnTable, requests: number): Promise<Scored> {
    this.events.called?.(loaded.model, loaded.version, table.rows, requests);
    this.running += 1;
    try {
      const scored = await loaded.score(table);
      if (scored.rows !== table.rows) throw new Error(`the model answered ${scored.rows} rows for ${table.rows}`);
      return scored;
    } finally {
      this.running -= 1;
      this.ended();
    }
  }

  /** A call ended: what queued during it (an asynchronous model) goes now; else the rest of this turn's arrivals are queued until it ends. */
  private ended(): void {
    if (this.waiting.size > 0) {
      this.flushAll();
      return;
    }
    if (this.running > 0 || this.cooling) return;
    this.cooling = true;
    setImmediate(() => {
      this.cooling = false;
      this.flushAll();
    });
  }
}
