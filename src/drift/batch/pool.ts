/**
 * Spread numerical column tasks over worker threads.
 *
 * Workers start from worker-bootstrap.mjs, which registers tsx and loads the
 * TypeScript worker, so this works when the engine runs under `tsx`. Values
 * are copied into fresh Float64Arrays whose buffers are transferred (no JSON,
 * no structured clone of the data; the caller's arrays stay usable). When a
 * worker cannot start (no tsx loader, sandboxed runner, vitest...) or dies,
 * `runInWorkers` resolves to null for the tasks it could not finish and the
 * engine computes them in-thread.
 */
import { Worker } from 'node:worker_threads';
import type { ColumnDriftResult } from '../types';
import type { ColumnTask } from './column';
import type { PreparedNumerical } from './prepare';
import type { WorkerResponse } from './worker';

const START_TIMEOUT_MS = 15_000;
const DEFAULT_ENTRY = new URL('./worker-bootstrap.mjs', import.meta.url);
let entry: URL = DEFAULT_ENTRY;

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
  });
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

/** Started workers, kept between calls (unref'd: they never keep the process alive). */
const idle: Worker[] = [];
let failedToStart = false;

async function acquire(n: number): Promise<Worker[]> {
  const got = idle.splice(0, n);
  if (got.length < n && !failedToStart) {
    const started = await Promise.allSettled(Array.from({ length: n - got.length }, () => startWorker()));
    for (const s of started) {
      if (s.status === 'fulfilled') {
        s.value.unref();
        got.push(s.value);
      } else failedToStart = true;
    }
  }
  return got;
}

/** Terminate the kept worker threads (they are unref'd, so this is optional). */
export async function shutdownWorkers(): Promise<void> {
  const all = idle.splice(0);
  await Promise.all(all.map((w) => w.terminate()));
}

/**
 * Run tasks on up to `nWorkers` threads, largest first. Resolves with one
 * result per task, or null for a task that could not be computed in a worker.
 */
export async function runInWorkers(
  tasks: ColumnTask[],
  nWorkers: number,
  onPrepared?: (index: number, prepared: { ref: PreparedNumerical; cur: PreparedNumerical }) => void,
): Promise<(ColumnDriftResult | null)[]> {
  const results: (ColumnDriftResult | null)[] = tasks.map(() => null);
  if (tasks.length === 0) return results;
  const n = Math.max(1, Math.min(nWorkers, tasks.length));
  const workers = await acquire(n);
  if (workers.length === 0) return results;
  const size = (t: ColumnTask): number => t.ref.length + t.cur.length;
  const queue = tasks.map((_, i) => i).sort((a, b) => size(tasks[b]!) - size(tasks[a]!));
  await Promise.all(
    workers.map(
      (w) =>
        new Promise<void>((resolve) => {
          let current = -1;
          let healthy = true;
          const next = (): void => {
            const i = queue.shift();
            if (i === undefined) {
              cleanup();
              return;
            }
            current = i;
            const { task, transfer } = transferable(tasks[i]!);
            w.postMessage({ id: i, task }, transfer);
          };
          const onMessage = (m: WorkerResponse): void => {
            if ('id' in m) {
              if ('result' in m) {
                results[m.id] = m.result;
                tasksDoneInWorkers++;
                if (m.prepared && onPrepared) onPrepared(m.id, m.prepared);
              }
              current = -1;
              next();
            }
          };
          const onFail = (): void => {
            // the task in flight is left null: computed in-thread by the caller
            if (current >= 0) results[current] = null;
            healthy = false;
            cleanup();
          };
          const cleanup = (): void => {
            w.off('message', onMessage);
            w.off('error', onFail);
            w.off('exit', onFail);
            if (healthy) idle.push(w);
            else void w.terminate();
            resolve();
          };
          w.on('message', onMessage);
          w.once('error', onFail);
          w.once('exit', onFail);
          next();
        }),
    ),
  );
  return results;
}
