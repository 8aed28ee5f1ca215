/**
 * Where Perennial's services are. The same defaults as scripts/env.sh: the
 * loopback services that `npm run services` starts. Every value can be set
 * from the environment to point at another cluster or store (AWS S3 included).
 */
import { DEFAULT_RETRY_BUDGET_MINUTES, TASK_QUEUE, trainingQueueFor } from './temporal/task-queues';

export interface PerennialConfig {
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  taskQueue: string;
  trainingTaskQueue: string;
  /** How long each pipeline stage retries transient failures (store or server outages) before the run fails. */
  retryBudgetMinutes: number;
  s3: {
    endpoint?: string;
    bucket: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    forcePathStyle: boolean;
  };
}

export { TASK_QUEUE };

export function loadConfig(env: NodeJS.ProcessEnv = process.env): PerennialConfig {
  const endpoint = env.S3_ENDPOINT ?? 'http://127.0.0.1:7070';
  const usingDefaultStore = env.S3_ENDPOINT === undefined;
  const uiHost = env.TEMPORAL_UI_HOST ?? '127.0.0.1';
  const uiPort = env.TEMPORAL_UI_PORT ?? '8233';
  const taskQueue = env.PERENNIAL_TASK_QUEUE ?? TASK_QUEUE;
  return {
    temporalAddress: env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    temporalNamespace: env.TEMPORAL_NAMESPACE ?? 'default',
    temporalUiUrl: env.TEMPORAL_UI_URL ?? `http://${uiHost}:${uiPort}`,
    taskQueue,
    trainingTaskQueue: trainingQueueFor(taskQueue),
    retryBudgetMinutes: positiveNumber(env, 'PERENNIAL_RETRY_BUDGET_MINUTES', DEFAULT_RETRY_BUDGET_MINUTES),
    s3: {
      endpoint: endpoint === 'aws' ? undefined : endpoint,
      bucket: env.S3_BUCKET ?? 'perennial',
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // The local gateway's keys by default; otherwise the SDK's own credential chain.
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? (usingDefaultStore ? 'perennial' : undefined),
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? (usingDefaultStore ? 'perennial-secret' : undefined),
      forcePathStyle: env.S3_FORCE_PATH_STYLE !== 'false' && endpoint !== 'aws',
    },
  };
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
}

export function workflowUrl(config: PerennialConfig, workflowId: string, runId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
