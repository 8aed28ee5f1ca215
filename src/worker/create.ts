import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { DataConverter } from '@temporalio/common';
import { bundleWorkflowCode, DefaultLogger, type NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { register as registerTsxForRequire } from 'tsx/cjs/api';
import type { ActivityDeps } from '../../activities/deps';
import { createPipelineActivities } from '../../activities/pipeline';
import { createRetentionActivities } from '../../activities/retention';
import { createDriftCheckActivities } from '../../activities/drift-check';
import type { PerennialConfig } from '../config';
import { EncryptionCodec } from '../temporal/codec';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));
/** Failure messages inside the (encrypted) encoded attributes: loaded by path, by the worker and into the workflow bundle. */
const FAILURE_CONVERTER_PATH = fileURLToPath(new URL('../temporal/failure-converter.ts', import.meta.url));

// Webpack's build report is noise for users; warnings and errors still show.
const quietLogger = new DefaultLogger('WARN');

/** The workflow code, once; with payload encryption on (config.codecKeys), with the failure converter that encrypts failure messages too. */
export function bundleWorkflows(config?: PerennialConfig): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: quietLogger,
    ...(config?.codecKeys ? { failureConverterPath: FAILURE_CONVERTER_PATH } : {}),
  });
}

/**
 * The worker's data converter: with PERENNIAL_CODEC_KEYS set, every payload
 * is encrypted (see src/temporal/codec.ts) and so are failure messages;
 * otherwise the SDK's defaults. A workflowBundle given with it must come from
 * bundleWorkflows(config).
 */
function workerDataConverter(config: PerennialConfig): DataConverter | undefined {
  if (!config.codecKeys) return undefined;
  // The SDK require()s the failure converter: TypeScript needs tsx's require hook (the worker program has it; tests may not).
  if (!('.ts' in createRequire(import.meta.url).extensions)) registerTsxForRequire();
  return { payloadCodecs: [new EncryptionCodec(config.codecKeys)], failureConverterPath: FAILURE_CONVERTER_PATH };
}

export interface WorkerOptions {
  connection: NativeConnection;
  config: PerennialConfig;
  deps: ActivityDeps;
  /** A bundle made once and shared (tests start many workers). */
  workflowBundle?: WorkflowBundleWithSourceMap;
  /** Replace some activities (fault tests inject a failing one). */
  activityOverrides?: Record<string, (...args: never[]) => Promise<unknown>>;
  /** Training activities at once on this worker (each in its own child process). */
  trainingConcurrency?: number;
}

/** `perennial`: workflows and light activities. */
export async function createWorkflowWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.config.temporalNamespace,
    dataConverter: workerDataConverter(options.config),
    activities: activitiesFor(options),
    taskQueue: options.config.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: 20,
  });
}

/** `perennial-training`: data parsing, preprocessing, training and scoring, with its own concurrency limit. */
export async function createTrainingWorker(options: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.config.temporalNamespace,
    dataConverter: workerDataConverter(options.config),
    activities: activitiesFor(options),
    taskQueue: options.config.trainingTaskQueue,
    maxConcurrentActivityTaskExecutions: options.trainingConcurrency ?? 2,
  });
}

/**
 * Both workers in one process (tests and benchmarks). The worker program
 * (main.ts) runs the training worker in a child process instead, so parsing
 * and preprocessing large data never delays workflow tasks.
 */
export async function createWorkers(options: WorkerOptions): Promise<{ main: Worker; training: Worker }> {
  return { main: await createWorkflowWorker(options), training: await createTrainingWorker(options) };
}

function activitiesFor(options: WorkerOptions) {
  return {
    ...createPipelineActivities(options.deps),
    ...createRetentionActivities(options.deps),
    ...createDriftCheckActivities(options.deps),
    ...(options.activityOverrides ?? {}),
  };
}
