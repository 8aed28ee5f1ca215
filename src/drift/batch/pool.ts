/**
 * Share numerical column tasks between the calling thread and worker threads.
 *
 * Workers start from worker-bootstrap.mjs, which registers tsx and loads the
 * TypeScript worker, so this works when the engine runs under `tsx`. Starting
 * one costs a few hundred ms of CPU (tsx's loader thread, the modules), so a
 * caller that knows large data is coming (the CLI, before it reads its files)
 * can start them ahead with `prestartWorkers`, and threads are kept (unref'd)
 * between calls.
 *
 * `shareTasks` queues the tasks (largest first); each worker takes the next
 * task as it finishes one (two in flight, so it never waits for the calling
 * thread to read an answer), and the calling thread takes tasks from the same
 * queue once its own work is done (`finish`), so no core idles while another
 * has a backlog. A worker still starting joins when it is ready. Values are
 * copied into fresh Float64Arrays whose buffers are transferred (no JSON, no
 * structured clone of the data; the caller's arrays stay usable). When a
 * worker cannot start (no tsx loader, sandboxed runner...) or dies, its tasks
 * are left null and the engine computes them in-thread.
 */
import { Worker } from 'node:worker_threads';
import type { ColumnDriftResult } from '../types';
import type { ColumnTask } from './column';
import type { PreparedNumerical } from './prepare';
import type { WorkerRequest, WorkerResponse } from './worker';

const START_TIMEOUT_MS = 15_000;
/** Tasks a worker holds at once: the one it computes and the next. */
const IN_FLIGHT = 2;
const DEFAULT_ENTRY = new URL('./worker-bootstrap.mjs', import.meta.url);
let entry: URL = DEFAULT_ENTRY;

/** Started workers, kept between calls (unref'd: they never keep the process alive). */
const idle: Worker[] = [];

/** A worker starting; `owner` is the run it will join when ready (none: it is kept for the next run). */
interface Launch {
  owner: ((w: Worker) => void) | null;
  /** Settles when the worker is ready (and has joined its owner or the kept ones) or could not start. */
  ready?: Promise<void>;
}
const starting = new Set<Launch>();
let failedToStart = false;
/** Bumped by shutdownWorkers: a start that fails after it says nothing about later ones. */
let generation = 0;

/**
 * Testing hook: point new workers at another entry file (null restores the
 * default) and forget earlier start failures and kept workers.
 */
export async function setWorkerEntryForTests(url: URL | null): Promise<void> {
  await shutdownWorkers();
  entry = url ?? DEFAULT_ENTRY;
  failedToStart = false;
}

function startWorker(): Promise<Worker> {
  return new Promise((resolve, reject) => {
    let w: Worker;
    try {
      w = new Worker(entry);
    } catch (e) {
      reject(e instanceof Error ? e : new Error(String(e)));
      return;
    }
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error('worker start timed out'));
    }, START_TIMEOUT_MS);
    // the timer must not keep a process alive that has nothing else to do
    timer.unref();
    const onMessage = (m: WorkerResponse): void => {
      if ('ready' in m) {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
        resolve(w);
      }
    };
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(e);
    };
    const onExit = (code: number): void => {
      clearTimeout(timer);
      reject(new Error(`worker exited with code ${code} before it was ready`));
    };
    w.on('message', onMessage);
    w.once('error', onError);
    w.once('exit', onExit);
    // a worker still loading must not keep the process alive either
    w.unref();
  });
}

/** Start a worker; when ready it joins its owner's run, or waits with the kept ones. Resolves when it is ready or failed. */
function launch(owner: Launch['owner']): { launch: Launch; ready: Promise<void> } {
  const l: Launch = { owner };
  const gen = generation;
  starting.add(l);
  const ready = startWorker().then(
    (w) => {
      if (!starting.delete(l)) {
        // shut down meanwhile
        void w.terminate();
        return;
      }
      if (l.owner) l.owner(w);
      else idle.push(w);
    },
    () => {
      starting.delete(l);
      if (gen === generation) failedToStart = true;
    },
  );
  l.ready = ready;
  return { launch: l, ready };
}

/**
 * Start worker threads ahead of use, so that their start overlaps other work
 * (reading the files); up to `n` are kept ready. Resolves when they are ready
 * (or could not start); never rejects. Workers are unref'd: a process that
 * ends before using them is not held up.
 */
export function prestartWorkers(n: number): Promise<void> {
  // Those already starting count, and are waited for too (a run that started one may have ended before it was ready).
  const launched: Promise<void>[] = [...starting].flatMap((l) => (l.ready ? [l.ready] : []));
  while (!failedToStart && idle.length + starting.size < n) launched.push(launch(null).ready);
  return Promise.all(launched).then(() => undefined);
}

/** Terminate the kept worker threads and forget those starting (they are unref'd, so this is optional). */
export async function shutdownWorkers(): Promise<void> {
  const all = idle.splice(0);
  starting.clear(); // each is terminated when it is ready
  generation++;
  await Promise.all(all.map((w) => w.terminate()));
}

function transferable(task: ColumnTask): { task: ColumnTask; transfer: ArrayBuffer[] } {
  const transfer: ArrayBuffer[] = [];
  const copy = (v: ColumnTask['ref'], prepared: PreparedNumerical | undefined): ColumnTask['ref'] => {
    if (prepared) return new Float64Array(0); // sorted data travels instead (shared memory)
    if (v instanceof Float64Array) {
      const c = v.slice();
      transfer.push(c.buffer);
      return c;
    }
    return v;
  };
  return { task: { ...task, ref: copy(task.ref, task.refPrepared), cur: copy(task.cur, task.curPrepared) }, transfer };
}

let tasksDoneInWorkers = 0;

/** Testing hook: how many tasks worker threads have computed since the process started. */
export function tasksRunInWorkers(): number {
  return tasksDoneInWorkers;
}

export interface ShareOptions {
  /** Ask workers for the sorted arrays of each column (for the cache); they come back on SharedArrayBuffers. */
  keepPrepared?: boolean;
  onPrepared?: (index: number, prepared: { ref: PreparedNumerical; cur: PreparedNumerical }) => void;
}

export interface SharedTasks {
  /**
   * Run queued tasks in the calling thread (yielding to the event loop between
   * tasks, so workers get their next ones) until none is left, then wait for
   * the tasks workers hold. Resolves with one result per task; null for a
   * task a worker failed (the caller computes it).
   */
  finish(runHere: (task: ColumnTask, index: number) => ColumnDriftResult): Promise<(ColumnDriftResult | null)[]>;
}

/**
 * Queue `tasks` (largest first) for up to `workerThreads` worker threads,
 * which start on them at once (kept or prestarted workers) or when they are
 * ready; the calling thread joins through `finish`.
 */
export function shareTasks(tasks: ColumnTask[], workerThreads: number, options: ShareOptions = {}): SharedTasks {
  const results: (ColumnDriftResult | null)[] = tasks.map(() => null);
  const size = (t: ColumnTask): number => t.ref.length + t.cur.length;
  const queue = tasks.map((_, i) => i).sort((a, b) => size(tasks[b]!) - size(tasks[a]!));
  /** Tasks posted to workers and not answered. */
  let outstanding = 0;
  let settle: (() => void) | undefined;
  const answered = (): void => {
    if (outstanding === 0 && settle) settle();
  };

  const join = (w: Worker): void => {
    const held = new Set<number>();
    const refill = (): void => {
      while (held.size < IN_FLIGHT) {
        const i = queue.shift();
        if (i === undefined) break;
        const { task, transfer } = transferable(tasks[i]!);
        held.add(i);
        outstanding++;
        w.postMessage({ id: i, task, keepPrepared: options.keepPrepared === true } satisfies WorkerRequest, transfer);
      }
      if (held.size === 0) {
        detach();
        w.unref();
        idle.push(w);
      }
    };
    const onMessage = (m: WorkerResponse): void => {
      if (!('id' in m) || !held.delete(m.id)) return;
      outstanding--;
      if ('result' in m) {
        results[m.id] = m.result;
        tasksDoneInWorkers++;
        if (m.prepared && options.onPrepared) options.onPrepared(m.id, m.prepared);
      }
      refill();
      answered();
    };
    const onFail = (): void => {
      // the tasks it held stay null: computed in-thread by the caller
      outstanding -= held.size;
      held.clear();
      detach();
      void w.terminate();
      answered();
    };
    const detach = (): void => {
      w.off('message', onMessage);
      w.off('error', onFail);
      w.off('exit', onFail);
    };
    w.on('message', onMessage);
    w.once('error', onFail);
    w.once('exit', onFail);
    // a worker holding tasks keeps the process alive until it answers
    w.ref();
    refill();
  };

  const n = Math.min(workerThreads, tasks.length);
  const ready = idle.splice(0, n);
  for (const w of ready) join(w);
  // then workers already starting (prestarted, or left by an earlier run), then new ones
  const claimed: Launch[] = [];
  for (const l of starting) {
    if (ready.length + claimed.length >= n) break;
    if (l.owner !== null) continue;
    l.owner = join;
    claimed.push(l);
  }
  while (!failedToStart && ready.length + claimed.length < n) claimed.push(launch(join).launch);

  return {
    async finish(runHere) {
      // workers that became ready meanwhile join first
      await new Promise<void>((resolve) => setImmediate(resolve));
      for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
        results[i] = runHere(tasks[i]!, i);
        if (queue.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      // nothing left to hand out: workers still starting are kept for a later run
      for (const l of claimed) if (l.owner === join) l.owner = null;
      if (outstanding > 0) await new Promise<void>((resolve) => (settle = resolve));
      return results;
    },
  };
}
