/**
 * Worker thread: receives column tasks (numerical values as transferred
 * Float64Array buffers), answers with ColumnDriftResults.
 */
import { parentPort } from 'node:worker_threads';
import { analyzeColumnWithData, type ColumnTask } from './column';
import type { PreparedNumerical } from './prepare';
import { toShared } from './cache';

export interface WorkerRequest {
  id: number;
  task: ColumnTask;
  /** Send the sorted arrays back (for the caller's cache). */
  keepPrepared: boolean;
}
export type WorkerResponse =
  | { id: number; result: ReturnType<typeof analyzeColumnWithData>['result']; prepared?: { ref: PreparedNumerical; cur: PreparedNumerical } }
  | { id: number; error: string }
  | { ready: true };

const port = parentPort;
if (port) {
  port.on('message', (msg: WorkerRequest) => {
    try {
      const { result, prepared } = analyzeColumnWithData(msg.task);
      // sorted arrays go back on SharedArrayBuffers: cached by the main thread, no copy
      const share = (p: PreparedNumerical): PreparedNumerical => ({ ...p, sorted: toShared(p.sorted) });
      port.postMessage({
        id: msg.id,
        result,
        ...(prepared && msg.keepPrepared ? { prepared: { ref: share(prepared.ref), cur: share(prepared.cur) } } : {}),
      } satisfies WorkerResponse);
    } catch (e) {
      port.postMessage({ id: msg.id, error: e instanceof Error ? e.message : String(e) } satisfies WorkerResponse);
    }
  });
  port.postMessage({ ready: true } satisfies WorkerResponse);
}
