/**
 * Where Perennial's services are. The same defaults as scripts/env.sh: the
 * loopback services that `npm run services` starts. Every value can be set
 * from the environment to point at another cluster or store (AWS S3 included).
 */
import { createSecretKey, type KeyObject } from 'node:crypto';
import { DEFAULT_PARTITION_ROWS } from './data/fan-out';
import { DEFAULT_RETRY_BUDGET_MINUTES, TASK_QUEUE, trainingQueueFor } from './temporal/task-queues';

/** One AES-256 key of the payload codec. The key is a KeyObject: printed or serialized, it shows no key material. */
export interface CodecKey {
  id: string;
  key: KeyObject;
}

export interface PerennialConfig {
  temporalAddress: string;
  temporalNamespace: string;
  temporalUiUrl: string;
  taskQueue: string;
  trainingTaskQueue: string;
  /** How long each pipeline stage retries transient failures (store or server outages) before the run fails. */
  retryBudgetMinutes: number;
  /** Rows per part of a snapshot built by many training workers (PERENNIAL_PARTITION_ROWS). */
  partitionRows: number;
  s3: {
    endpoint?: string;
    bucket: string;
    region: string;
    accessKeyId?: string;
    secretAccessKey?: string;
    forcePathStyle: boolean;
  };
  /**
   * Payload encryption (PERENNIAL_CODEC_KEYS): the first key encrypts, every
   * key decrypts (an old key stays listed after a new one until its histories
   * are gone). Absent: payloads reach the Temporal server as they are.
   */
  codecKeys?: CodecKey[];
  /** Prometheus's HTTP API, where a release reads its candidate's guard metrics (PERENNIAL_PROMETHEUS_URL; absent: releases without guards only). */
  prometheusUrl?: string;
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
    partitionRows: positiveNumber(env, 'PERENNIAL_PARTITION_ROWS', DEFAULT_PARTITION_ROWS),
    s3: {
      endpoint: endpoint === 'aws' ? undefined : endpoint,
      bucket: env.S3_BUCKET ?? 'perennial',
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // The local gateway's keys by default; otherwise the SDK's own credential chain.
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? (usingDefaultStore ? 'perennial' : undefined),
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? (usingDefaultStore ? 'perennial-secret' : undefined),
      forcePathStyle: env.S3_FORCE_PATH_STYLE !== 'false' && endpoint !== 'aws',
    },
    codecKeys: codecKeys(env, 'PERENNIAL_CODEC_KEYS'),
    ...(env.PERENNIAL_PROMETHEUS_URL ? { prometheusUrl: httpUrl(env, 'PERENNIAL_PROMETHEUS_URL') } : {}),
  };
}

const KEY_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * `<key id>:<base64 of 32 bytes>[,<key id>:<base64>...]`. Errors name the
 * variable and the entry, never a key (nor a key id that does not parse: it
 * may be a key pasted in the wrong place).
 */
function codecKeys(env: NodeJS.ProcessEnv, name: string): CodecKey[] | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  const keys: CodecKey[] = [];
  raw.split(',').forEach((entry, i) => {
    const where = `${name} entry ${i + 1}`;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new Error(`${where} is not <key id>:<base64 key>`);
    const id = entry.slice(0, colon).trim();
    const base64 = entry.slice(colon + 1).trim();
    if (!KEY_ID.test(id)) throw new Error(`${where}: a key id is 1 to 32 letters, digits, '.', '_' or '-' (starting with a letter or digit)`);
    if (keys.some((k) => k.id === id)) throw new Error(`${where}: key id '${id}' is listed twice`);
    const bytes = Buffer.from(base64, 'base64');
    if (!BASE64.test(base64) || bytes.length !== 32) {
      throw new Error(`${where}: key '${id}' must be 32 bytes in base64 (44 characters; make one with 'openssl rand -base64 32')`);
    }
    keys.push({ id, key: createSecretKey(bytes) });
    bytes.fill(0);
  });
  return keys;
}

function positiveNumber(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, not '${raw}'`);
  return value;
}

function httpUrl(env: NodeJS.ProcessEnv, name: string): string {
  const value = env[name]!.trim();
  if (!/^https?:\/\/[^\s/]+/.test(value)) throw new Error(`${name}='${value}' is not an http:// or https:// URL (e.g. http://127.0.0.1:9090)`);
  return value.replace(/\/+$/, '');
}

/** A Temporal Schedule in the Temporal UI. */
export function scheduleUrl(config: PerennialConfig, scheduleId: string): string {
  return `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/schedules/${encodeURIComponent(scheduleId)}`;
}

export function workflowUrl(config: PerennialConfig, workflowId: string, runId?: string): string {
  const base = `${config.temporalUiUrl}/namespaces/${encodeURIComponent(config.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`;
  return runId ? `${base}/${runId}/history` : base;
}
