/**
 * Runs training and scoring in a child process so the caller's event loop
 * (a Temporal worker heartbeating and answering workflow tasks) never blocks.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { abortError } from './abort';
import type { Checkpoint, EpochLogs } from './mlp';
import type {
  ChildEvaluateInput,
  ChildEvaluateResult,
  ChildFitInput,
  ChildFitResult,
  ChildPredictInput,
  ChildPredictResult,
  ChildTaskName,
  ChildTasks,
  ChildTrainInput,
  ChildTrainResult,
  EpochProgress,
} from './tasks';

export type {
  ChildEvaluateInput,
  ChildEvaluateResult,
  ChildPredictInput,
  ChildPredictResult,
  ChildTrainInput,
  ChildTrainResult,
  ChildTasks,
  ChildTaskName,
} from './tasks';

const require = createRequire(import.meta.url);
const ABORTED = 'the child task was aborted';
const CHILD = fileURLToPath(new URL('./train-child.ts', import.meta.url));

export interface RunInChildOptions<P> {
  /** Called for each progress message (awaited in order; a throw stops the child and rejects). */
  onProgress?: (progress: P) => void | Promise<void>;
  /** Aborting kills the child (SIGTERM, SIGKILL after killGraceMs) and rejects with the abort reason. */
  signal?: AbortSignal;
  /** Called once the child is running (its pid, and ms from fork to its first message). */
  onStart?: (info: { pid: number; startupMs: number }) => void;
  /** Extra environment for the child (e.g. PERENNIAL_TF_BACKEND). */
  env?: NodeJS.ProcessEnv;
  killGraceMs?: number;
}

export class ChildTaskError extends Error {
  readonly task: string;
  readonly childStack?: string;
  constructor(task: string, message: string, childStack?: string) {
    super(message);
    this.name = 'ChildTaskError';
    this.task = task;
    this.childStack = childStack;
  }
}

function tsxLoader(): string {
  return pathToFileURL(require.resolve('tsx')).href;
}

type ChildMessage =
  | { type: 'started'; pid: number }
  | { type: 'progress'; data: unknown }
  | { type: 'result'; data: unknown }
  | { type: 'error'; message: string; name?: string; stack?: string };

/**
 * Forks src/model/train-child.ts (through tsx, with 'advanced' serialization
 * so typed arrays cross as is), runs one task, streams its progress, and
 * resolves with its result. Rejects with the child's own error message when
 * the task fails, with a clear message when the child dies, and with the
 * abort reason when `signal` aborts (the child is killed).
 */
export function runInChild<K extends ChildTaskName>(
  task: K,
  input: ChildTasks[K]['input'],
  options: RunInChildOptions<ChildTasks[K]['progress']> = {},
): Promise<ChildTasks[K]['result']> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal, ABORTED));
  return new Promise((resolve, reject) => {
    const forkedAt = performance.now();
    let settled = false;
    let stderrTail = '';
    let chain: Promise<void> = Promise.resolve();
    let child: ChildProcess;
    try {
      child = fork(CHILD, [], {
        execArgv: ['--import', tsxLoader()],
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
        env: { ...process.env, ...options.env },
      });
    } catch (error) {
      reject(new ChildTaskError(task, `could not start the ${task} child process: ${(error as Error).message}`));
      return;
    }
    child.stderr?.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-4000);
    });

    const kill = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }, options.killGraceMs ?? 2000);
      timer.unref();
    };
    const finish = (error: Error | null, value?: ChildTasks[K]['result']) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (error) {
        kill();
        reject(error);
      } else resolve(value as ChildTasks[K]['result']);
    };
    const onAbort = () => finish(abortError(signal!, ABORTED));
    signal?.addEventListener('abort', onAbort, { once: true });

    child.on('message', (message: ChildMessage) => {
      if (settled) return;
      switch (message.type) {
        case 'started':
          options.onStart?.({ pid: message.pid, startupMs: performance.now() - forkedAt });
          child.send({ type: 'run', task, input }, (error) => {
            if (error) finish(new ChildTaskError(task, `could not send the ${task} input to the child process: ${error.message}`));
          });
          break;
        case 'progress':
          chain = chain.then(async () => {
            if (settled) return;
            try {
              await options.onProgress?.(message.data as ChildTasks[K]['progress']);
            } catch (error) {
              finish(new ChildTaskError(task, `the ${task} progress callback failed, child stopped: ${(error as Error).message}`));
            }
          });
          break;
        case 'result':
          // Deliver every progress message before the result.
          void chain.then(() => finish(null, message.data as ChildTasks[K]['result']));
          break;
        case 'error':
          void chain.then(() => finish(new ChildTaskError(task, `${task} failed in the child process: ${message.message}`, message.stack)));
          break;
      }
    });
    child.on('error', (error) => finish(new ChildTaskError(task, `the ${task} child process failed: ${error.message}`)));
    child.on('close', (code, sig) => {
      void chain.then(() => {
        if (settled) return;
        const tail = stderrTail.trim().split('\n').slice(-5).join('\n');
        finish(
          new ChildTaskError(
            task,
            `the ${task} child process exited (${sig ? `signal ${sig}` : `code ${code}`}) before it finished` + (tail ? `; its last output:\n${tail}` : ''),
          ),
        );
      });
    });
  });
}

export interface RunTrainingOptions {
  /** After each epoch, with the checkpoint to resume from (heartbeat it, store it). */
  onEpoch?: (epoch: number, logs: EpochLogs, checkpoint: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
  onStart?: (info: { pid: number; startupMs: number }) => void;
  env?: NodeJS.ProcessEnv;
}

/** Trains in a child process; see `train` for the semantics (seed, resumeFrom). */
export function runTrainingInChild(input: ChildTrainInput, options: RunTrainingOptions = {}): Promise<ChildTrainResult> {
  return runInChild('train', input, {
    signal: options.signal,
    onStart: options.onStart,
    env: options.env,
    onProgress: options.onEpoch ? (p: EpochProgress) => options.onEpoch!(p.epoch, p.logs, p.checkpoint) : undefined,
  });
}

/** Scores rows with a serialized model in a child process. */
export function runPredictInChild(
  input: ChildPredictInput,
  options: { signal?: AbortSignal; onStart?: (info: { pid: number; startupMs: number }) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildPredictResult> {
  return runInChild('predict', input, options);
}

/** Fits the preprocessor and the labels in a child process: minutes of CPU on millions of rows stay off the worker's event loop. */
export function runFitInChild(
  input: ChildFitInput,
  options: { signal?: AbortSignal; onStart?: (info: { pid: number; startupMs: number }) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildFitResult> {
  return runInChild('fit', input, options);
}

/** Scores rows and computes metrics and the trivial baseline in a child process (only the metrics come back). */
export function runEvaluateInChild(
  input: ChildEvaluateInput,
  options: { signal?: AbortSignal; onStart?: (info: { pid: number; startupMs: number }) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ChildEvaluateResult> {
  return runInChild('evaluate', input, options);
}
