import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { ActivityDeps } from '../../activities/deps';
import { createPipelineActivities } from '../../activities/pipeline';
import type { PerennialConfig } from '../config';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.ts', import.meta.url));

// Webpack's build report is noise for users; warnings and errors still show.
const quietLogger = new DefaultLogger('WARN');

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });
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

/**
 * The two workers of one Perennial worker process: `perennial` runs workflows
 * and light activities; `perennial-training` runs heavy CPU work, each task in
 * a child process so this event loop stays free to heartbeat and answer.
 */
export async function createWorkers(options: WorkerOptions): Promise<{ main: Worker; training: Worker }> {
  const activities = { ...createPipelineActivities(options.deps), ...(options.activityOverrides ?? {}) };
  const common = { connection: options.connection, namespace: options.config.temporalNamespace, activities };
  const main = await Worker.create({
    ...common,
    taskQueue: options.config.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: WORKFLOWS_PATH }),
    maxConcurrentActivityTaskExecutions: 20,
  });
  const training = await Worker.create({
    ...common,
    taskQueue: options.config.trainingTaskQueue,
    maxConcurrentActivityTaskExecutions: options.trainingConcurrency ?? 1,
  });
  return { main, training };
}
