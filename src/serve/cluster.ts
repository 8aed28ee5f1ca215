/**
 * `perennial serve --workers N`: one model server per core, with Node's
 * cluster module. The primary forks N workers that share the port (the
 * primary accepts connections and hands them to the workers in turn); each
 * worker is a whole model server (createModelServer: its models, its batcher,
 * its prediction and feedback spools), so nothing on the request path crosses
 * processes. The primary loads no model; it:
 *
 * - **restarts** a worker that dies (at once, or after 1 s doubling to 30 s
 *   when the slot's last worker lived less than 10 s); a worker that dies
 *   before any worker ever listened stops the server (a bad flag, no model:
 *   its error is on stderr) instead of restarting forever;
 * - **aggregates /metrics.** A scrape reaches some worker, which asks the
 *   primary; the primary gathers every listening worker's registry over IPC
 *   and sums them (prom-client's AggregatorRegistry.aggregate; gauges that say
 *   which version serves are taken as the maximum), with its own series
 *   (`perennial_serve_cluster_workers`, `perennial_serve_cluster_worker_restarts_total`).
 *   The counters and histograms a dead worker last reported are kept and added
 *   in, so a cluster-wide counter never goes down when a worker is replaced
 *   (what the dead worker counted after the last scrape is lost, as it would
 *   be for a single process);
 * - **dedups feedback across workers.** A label may reach another worker than
 *   the one that answered its prediction, and two labels for one prediction
 *   two workers: each worker checks first-label-wins against the ids it has
 *   seen, then claims the ids it is about to write from the primary, which
 *   grants each to one spool segment only (feedback.ts `sharedClaims`);
 * - **drains on SIGTERM/SIGINT:** every worker gets SIGTERM, stops taking
 *   connections, answers what it has in flight, uploads its spool (up to its
 *   drain time), and exits; the primary exits once all have (0 when all exit
 *   cleanly), killing those still running after `stopTimeoutMs`. A second
 *   signal kills the workers at once: what they spooled stays for the next start.
 *
 * A worker's spool is a directory of its own under the spool root, as any
 * server process's is (spool.ts): the worker that replaces a killed one (or a
 * sibling, within 30 s) adopts the segments it left and uploads them. If the
 * primary itself is killed, the workers exit at once (Node's cluster does
 * that when their IPC channel closes); the next start adopts their spools.
 */
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { FirstLabelWins } from './feedback';

/** Set by the primary in each worker's environment: its slot, 1..N. */
export const WORKER_ENV = 'PERENNIAL_SERVE_WORKER';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** One feedback id a worker wants to write from one spool segment. */
export interface Claim {
  key: string;
  segment: string;
}

/** What a worker says once it listens. */
export interface WorkerReady {
  url: string;
  /** model=version, ... */
  serving: string;
  spoolDir: string;
  /** Lines the primary says once every worker listens (batching, feedback). */
  notes: string[];
}

type Message =
  | { perennial: 'ready'; ready: WorkerReady }
  | { perennial: 'scrape'; id: number }
  | { perennial: 'claim'; id: number; claims: Claim[] }
  | { perennial: 'gather'; id: number }
  | { perennial: 'reply'; id: number; value?: unknown; error?: string };

/** A request before its id is given (distributed over the union). */
type Request = Extract<Message, { id: number }> extends infer M ? (M extends unknown ? Omit<M, 'id'> : never) : never;

function isMessage(m: unknown): m is Message {
  return typeof m === 'object' && m !== null && typeof (m as { perennial?: unknown }).perennial === 'string';
}

/** Requests over an IPC channel, answered by id, each with a timeout. */
class Calls {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();

  call<T>(send: (message: Message) => void, message: Request, timeoutMs: number, what: string): Promise<T> {
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${what}: no answer in ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      try {
        send({ ...message, id });
      } catch (error) {
        clearTimeout(timer);
        this.pending.delete(id);
        reject(new Error(`${what}: ${(error as Error).message}`));
      }
    });
  }

  settle(reply: Extract<Message, { perennial: 'reply' }>): void {
    const waiting = this.pending.get(reply.id);
    if (!waiting) return;
    this.pending.delete(reply.id);
    clearTimeout(waiting.timer);
    if (reply.error !== undefined) waiting.reject(new Error(reply.error));
    else waiting.resolve(reply.value);
  }

  rejectAll(reason: string): void {
    for (const [id, waiting] of this.pending) {
      clearTimeout(waiting.timer);
      waiting.reject(new Error(reason));
      this.pending.delete(id);
    }
  }
}

// ---------------------------------------------------------------- the worker's side

/** A worker's line to the primary (createModelServer's `worker` option). */
export interface WorkerLink {
  slot: number;
  /** The whole cluster's metrics in Prometheus text (the primary gathers and sums). */
  metrics(): Promise<string>;
  /** Cluster-wide first label wins: true for each id this segment may write. */
  claim(claims: Claim[]): Promise<boolean[]>;
  /** The registry the primary gathers from this worker. */
  provide(registry: Registry): void;
  /** Tells the primary this worker listens. */
  ready(ready: WorkerReady): void;
  close(): void;
}

/** The slot of this process when it is a worker forked by `perennial serve --workers N`, else undefined. */
export function workerSlot(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const slot = Number(env[WORKER_ENV]);
  return cluster.isWorker && Number.isInteger(slot) && slot > 0 ? slot : undefined;
}

export function connectToPrimary(slot: number): WorkerLink {
  const calls = new Calls();
  let registry: Registry | undefined;
  const send = (message: Message) => {
    if (!process.send || !process.connected) throw new Error('this worker has no channel to the cluster primary');
    process.send(message);
  };
  const onMessage = (m: unknown) => {
    if (!isMessage(m)) return;
    if (m.perennial === 'reply') calls.settle(m);
    else if (m.perennial === 'gather') {
      const id = m.id;
      (registry ? registry.getMetricsAsJSON() : Promise.resolve([]))
        .then((value) => send({ perennial: 'reply', id, value }))
        .catch((error: Error) => {
          try {
            send({ perennial: 'reply', id, error: error.message });
          } catch {
            // the primary is gone: nothing to answer
          }
        });
    }
  };
  process.on('message', onMessage);
  return {
    slot,
    metrics: () => calls.call<string>(send, { perennial: 'scrape' }, 10_000, 'the cluster primary (metrics)'),
    claim: (claims) => calls.call<boolean[]>(send, { perennial: 'claim', claims }, 10_000, 'the cluster primary (feedback claims)'),
    provide: (r) => (registry = r),
    ready: (ready) => send({ perennial: 'ready', ready }),
    close: () => {
      process.off('message', onMessage);
      calls.rejectAll('this worker is stopping');
    },
  };
}

// ---------------------------------------------------------------- the primary

export interface PrimaryOptions {
  workers: number;
  /** The script a worker runs (bin/perennial.mjs) and its arguments (`serve ...`). */
  exec: string;
  args: string[];
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** How long a stop waits for the workers to drain before it kills them (default 60 s). */
  stopTimeoutMs?: number;
}

interface Slot {
  slot: number;
  worker: Worker;
  startedAt: number;
  ready: WorkerReady | undefined;
  /** What it reported at the last gather (kept when it dies: its counters and histograms stay in the sums). */
  last: MetricsJson | undefined;
  exited: boolean;
}

const GATHER_TIMEOUT_MS = 3_000;
const QUICK_DEATH_MS = 10_000;
const MAX_RESTART_DELAY_MS = 30_000;

/** Runs the primary until SIGINT/SIGTERM and every worker has exited (or the first worker fails to start); resolves to the exit code. */
export function runPrimary(options: PrimaryOptions): Promise<number> {
  const n = options.workers;
  const say = options.stderr;
  cluster.setupPrimary({ exec: options.exec, args: options.args, silent: false });
  const registry = new Registry();
  const live = new Gauge({ name: 'perennial_serve_cluster_workers', help: 'Cluster workers listening (perennial serve --workers N)', registers: [registry] });
  const restarts = new Counter({
    name: 'perennial_serve_cluster_worker_restarts_total',
    help: 'Cluster workers that died and were started again by the primary',
    registers: [registry],
  });
  const slots = new Map<number, Slot>();
  const restartTimers = new Set<NodeJS.Timeout>();
  const delays = new Map<number, number>();
  const calls = new Calls();
  const claims = new FirstLabelWins();
  let retired: MetricsJson | undefined;
  let everReady = false;
  let announced = false;
  let stopping = false;
  let failed = false;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  const listening = () => [...slots.values()].filter((s) => s.ready && !s.exited && s.worker.isConnected());
  const refresh = () => live.set(listening().length);

  /** Every listening worker's metrics (what answers in time), the dead ones' counters, and the primary's own, summed. */
  async function clusterMetrics(): Promise<string> {
    const gathered = await Promise.all(
      listening().map((s) =>
        calls
          .call<MetricsJson>((m) => s.worker.send(m), { perennial: 'gather' }, GATHER_TIMEOUT_MS, `worker ${s.slot} (pid ${s.worker.process.pid}) metrics`)
          .then((metrics) => (s.last = metrics))
          .catch((error: Error) => {
            say(`perennial serve: /metrics leaves out ${error.message}`);
            return undefined;
          }),
      ),
    );
    refresh();
    const all = [...gathered.filter((m): m is MetricsJson => m !== undefined), await registry.getMetricsAsJSON()];
    if (retired) all.push(retired);
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /** A dead worker's counters and histograms join the retired sums. */
  async function retire(s: Slot): Promise<void> {
    const kept = (s.last ?? []).filter((m) => String(m.type) === 'counter' || String(m.type) === 'histogram');
    if (kept.length === 0) return;
    retired = await AggregatorRegistry.aggregate(retired ? [retired, kept] : [kept]).getMetricsAsJSON();
  }

  function reply(s: Slot, id: number, work: () => unknown): void {
    Promise.resolve()
      .then(work)
      .then(
        (value) => s.worker.isConnected() && s.worker.send({ perennial: 'reply', id, value } satisfies Message),
        (error: Error) => s.worker.isConnected() && s.worker.send({ perennial: 'reply', id, error: error.message } satisfies Message),
      )
      .catch(() => {});
  }

  function onMessage(s: Slot, m: unknown): void {
    if (!isMessage(m)) return;
    switch (m.perennial) {
      case 'reply':
        calls.settle(m);
        return;
      case 'scrape':
        reply(s, m.id, clusterMetrics);
        return;
      case 'claim':
        reply(s, m.id, () => m.claims.map((c) => claims.claim(c.key, c.segment)));
        return;
      case 'ready': {
        s.ready = m.ready;
        everReady = true;
        refresh();
        const up = listening();
        if (!announced && up.length === n) {
          announced = true;
          const first = up[0]!.ready!;
          options.stdout(
            `perennial serve: listening on ${first.url} with ${n} workers (pids ${up.map((w) => w.worker.process.pid).join(', ')}; Open Inference Protocol /v2, KServe V1 /v1/models/<name>:predict, /metrics for the whole cluster); serving ${first.serving}`,
          );
          for (const note of first.notes) options.stdout(`perennial serve: ${note}`);
          options.stdout(`perennial serve: each worker spools its prediction log in a directory of its own under ${first.spoolDir}`);
        } else if (announced) say(`perennial serve: worker ${s.slot} (pid ${s.worker.process.pid}) listening again`);
        return;
      }
      default:
        return;
    }
  }

  function fork(slot: number): void {
    const worker = cluster.fork({ [WORKER_ENV]: String(slot) });
    const s: Slot = { slot, worker, startedAt: Date.now(), ready: undefined, last: undefined, exited: false };
    slots.set(slot, s);
    worker.on('message', (m: unknown) => onMessage(s, m));
    worker.on('exit', (code, signal) => void exited(s, code, signal));
  }

  async function exited(s: Slot, code: number | null, signal: string | null): Promise<void> {
    s.exited = true;
    refresh();
    await retire(s).catch(() => {});
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (stopping) {
      // A worker stopped before it listened (a stop during start-up) had nothing to drain.
      if (s.ready && (signal !== null || code !== 0)) failed = true;
      if ([...slots.values()].every((x) => x.exited)) finish(failed ? 1 : 0);
      return;
    }
    if (!everReady) {
      say(`perennial serve: worker ${s.slot} (pid ${s.worker.process.pid}) ${how} before any worker listened (its error is above); stopping`);
      failed = true;
      stop();
      return;
    }
    const lived = Date.now() - s.startedAt;
    const delay = lived < QUICK_DEATH_MS ? Math.min(MAX_RESTART_DELAY_MS, Math.max(1000, (delays.get(s.slot) ?? 0) * 2)) : 0;
    delays.set(s.slot, delay);
    restarts.inc();
    say(
      `perennial serve: worker ${s.slot} (pid ${s.worker.process.pid}) ${how} after ${(lived / 1000).toFixed(1)} s; starting another${delay > 0 ? ` in ${delay / 1000} s` : ''} (it adopts the spool the dead one left)`,
    );
    const timer = setTimeout(() => {
      restartTimers.delete(timer);
      if (!stopping) fork(s.slot);
    }, delay);
    restartTimers.add(timer);
  }

  let killTimer: NodeJS.Timeout | undefined;
  function stop(): void {
    if (stopping) return;
    stopping = true;
    for (const timer of restartTimers) clearTimeout(timer);
    restartTimers.clear();
    const running = [...slots.values()].filter((s) => !s.exited);
    if (running.length === 0) {
      finish(failed ? 1 : 0);
      return;
    }
    for (const s of running) s.worker.process.kill('SIGTERM');
    const timeoutMs = options.stopTimeoutMs ?? 60_000;
    killTimer = setTimeout(() => {
      const left = [...slots.values()].filter((s) => !s.exited);
      say(`perennial serve: ${left.length} worker(s) still draining after ${timeoutMs / 1000} s; killing them (what they spooled stays for the next start)`);
      failed = true;
      for (const s of left) s.worker.process.kill('SIGKILL');
    }, timeoutMs);
    killTimer.unref();
  }

  let signals = 0;
  const onSignal = (signal: string) => {
    signals += 1;
    if (signals === 1) {
      say(`perennial serve: ${signal}: stopping ${listening().length} worker(s); each answers what it has in flight and uploads its spool`);
      stop();
    } else {
      say(`perennial serve: ${signal} again: killing the workers now (what they spooled stays for the next start)`);
      failed = true;
      for (const s of slots.values()) if (!s.exited) s.worker.process.kill('SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  for (let slot = 1; slot <= n; slot++) fork(slot);
  return done.finally(() => {
    clearTimeout(killTimer);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    calls.rejectAll('the cluster stopped');
  });
}
