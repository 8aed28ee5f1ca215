/**
 * `perennial serve [--port 8080] [--host 127.0.0.1] [--models weather,flights]
 * [--body-limit <bytes>] [--poll-ms 500] [--spool-dir <dir>] [--log-rows 10000]
 * [--log-seconds 60] [--spool-sync write|fsync] [--token <t>] [--feedback-seconds 5]
 * [--workers <n, default: cores>] [--max-batch-rows 64] [--max-batch-wait-ms 2]`: the model server (src/serve)
 * on the registry the environment names (S3_ENDPOINT, S3_BUCKET). It serves
 * each model's champion, follows promotions and rollbacks without a restart,
 * logs every answered prediction (spooled before the answer, uploaded as
 * Parquet), and stops cleanly on SIGINT/SIGTERM (uploading what it spooled).
 * With more than one worker this process is the cluster primary
 * (src/serve/cluster.ts) and each worker runs this command again as a server
 * of its own on the shared port; `--workers 1` is one process, as before.
 */
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../config';
import { parseBackendName } from '../model';
import { checkName } from '../names';
import { Registry } from '../registry';
import {
  connectToPrimary,
  createModelServer,
  DEFAULT_BODY_LIMIT_BYTES,
  DEFAULT_MAX_BATCH_ROWS,
  DEFAULT_MAX_BATCH_WAIT_MS,
  defaultSpoolDir,
  monitorForwarder,
  runPrimary,
  workerSlot,
  type WorkerLink,
} from '../serve';
import { connectClient } from '../temporal';
import { S3Store } from '../store';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

function positiveInteger(option: string, value: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`${option} must be a whole number from 0 to ${max}, not '${value.slice(0, 20)}'`);
  return n;
}

export async function runServeCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('serve', argv, {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    models: { type: 'string' },
    'body-limit': { type: 'string', default: String(DEFAULT_BODY_LIMIT_BYTES) },
    'poll-ms': { type: 'string', default: '500' },
    'spool-dir': { type: 'string' },
    'log-rows': { type: 'string', default: process.env.PERENNIAL_LOG_ROWS ?? '10000' },
    'log-seconds': { type: 'string', default: process.env.PERENNIAL_LOG_SECONDS ?? '60' },
    'spool-sync': { type: 'string', default: process.env.PERENNIAL_SPOOL_SYNC ?? 'write' },
    token: { type: 'string' },
    'feedback-seconds': { type: 'string', default: process.env.PERENNIAL_FEEDBACK_SECONDS ?? '5' },
    workers: { type: 'string', default: process.env.PERENNIAL_SERVE_WORKERS ?? String(availableParallelism()) },
    'max-batch-rows': { type: 'string', default: process.env.PERENNIAL_MAX_BATCH_ROWS ?? String(DEFAULT_MAX_BATCH_ROWS) },
    'max-batch-wait-ms': { type: 'string', default: process.env.PERENNIAL_MAX_BATCH_WAIT_MS ?? String(DEFAULT_MAX_BATCH_WAIT_MS) },
  });
  const token = values.token ?? process.env.PERENNIAL_SERVE_TOKEN;
  if (token !== undefined && token.trim().length < 8) throw new Error('--token (PERENNIAL_SERVE_TOKEN) must be at least 8 characters');
  const feedbackSeconds = Number(values['feedback-seconds']);
  if (!(feedbackSeconds > 0 && feedbackSeconds <= 3600))
    throw new Error(`--feedback-seconds must be a number of seconds above 0 and at most 3600, not '${values['feedback-seconds'].slice(0, 20)}'`);
  const logRows = positiveInteger('--log-rows', values['log-rows']);
  const logSeconds = Number(values['log-seconds']);
  if (!(logSeconds > 0 && logSeconds <= 86_400))
    throw new Error(`--log-seconds must be a number of seconds above 0 and at most 86400, not '${values['log-seconds'].slice(0, 20)}'`);
  const syncValue = values['spool-sync'];
  if (syncValue !== 'write' && syncValue !== 'fsync') throw new Error(`--spool-sync must be 'write' or 'fsync', not '${syncValue.slice(0, 20)}'`);
  const sync: 'write' | 'fsync' = syncValue;
  const port = positiveInteger('--port', values.port, 65535);
  const bodyLimitBytes = positiveInteger('--body-limit', values['body-limit']);
  const pollMs = positiveInteger('--poll-ms', values['poll-ms']);
  const workers = positiveInteger('--workers', values.workers, 256);
  if (workers < 1) throw new Error('--workers must be at least 1 (1: one process, no cluster)');
  const maxBatchRows = positiveInteger('--max-batch-rows', values['max-batch-rows'], 1_000_000);
  if (maxBatchRows < 1) throw new Error('--max-batch-rows must be at least 1 (1: no batching)');
  const maxBatchWaitMs = Number(values['max-batch-wait-ms']);
  if (!(maxBatchWaitMs >= 0 && maxBatchWaitMs <= 1000))
    throw new Error(`--max-batch-wait-ms must be a number of ms from 0 (no batching) to 1000, not '${values['max-batch-wait-ms'].slice(0, 20)}'`);
  const models = values.models
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => checkName('model', m, '--models'));
  const config = loadConfig();
  const settings = {
    host: values.host,
    port,
    models,
    bodyLimitBytes,
    pollMs,
    spoolDir: values['spool-dir'] ?? process.env.PERENNIAL_SPOOL_DIR ?? defaultSpoolDir(),
    logRows,
    logSeconds,
    sync,
    token: token?.trim(),
    feedbackSeconds,
    maxBatchRows,
    maxBatchWaitMs,
  };
  const slot = workerSlot();
  if (slot === undefined && workers > 1) {
    // The primary: forks the workers (each runs this command again) and restarts, aggregates and drains them.
    const code = await runPrimary({
      workers,
      exec: fileURLToPath(new URL('../../bin/perennial.mjs', import.meta.url)),
      args: ['serve', ...argv],
      stdout: (line) => io.stdout(line),
      stderr: (line) => io.stderr(line),
    });
    io.stdout(`perennial serve: stopped (${workers} workers)`);
    return code;
  }
  if (slot === undefined) return await serveOne({ ...settings, config }, io);
  // A cluster worker: a server of its own on the shared port, linked to the primary.
  const worker = connectToPrimary(slot);
  try {
    return await serveOne({ ...settings, config, worker }, io);
  } finally {
    worker.close();
    // Leaves the cluster: the primary takes this exit as the end of a stop, and the channel no longer keeps this process alive.
    cluster.worker?.disconnect();
  }
}

interface ServeSettings {
  config: ReturnType<typeof loadConfig>;
  host: string;
  port: number;
  models: string[] | undefined;
  bodyLimitBytes: number;
  pollMs: number;
  spoolDir: string;
  logRows: number;
  logSeconds: number;
  sync: 'write' | 'fsync';
  token: string | undefined;
  feedbackSeconds: number;
  maxBatchRows: number;
  maxBatchWaitMs: number;
  worker?: WorkerLink;
}

/** One model server in this process (`--workers 1`, or a cluster worker), until SIGINT/SIGTERM. */
async function serveOne(settings: ServeSettings, io: CliIo): Promise<number> {
  const { config, worker, token, sync, maxBatchRows, maxBatchWaitMs } = settings;
  const say = worker
    ? (line: string) => io.stderr(line.replace(/^perennial serve: /, `perennial serve [worker ${worker.slot}, pid ${process.pid}]: `))
    : (line: string) => io.stderr(line);
  // A worker takes every SIGINT/SIGTERM as one stop (a terminal's Ctrl-C reaches it and the primary, which then sends SIGTERM).
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      if (worker) process.on(signal, () => resolve());
      else process.once(signal, () => resolve());
    }
  });
  const store = S3Store.fromConfig(config);
  // Joined feedback goes to monitor/<model> on the worker's task queue; Temporal is reached on the first forward.
  const forward = monitorForwarder(() => connectClient(config), config.taskQueue);
  const server = await createModelServer({
    registry: new Registry(store),
    models: settings.models,
    backend: parseBackendName(process.env.PERENNIAL_TF_BACKEND),
    bodyLimitBytes: settings.bodyLimitBytes,
    pollMs: Math.max(settings.pollMs, 50),
    predictionLog: { spoolDir: settings.spoolDir, maxRows: Math.max(1, settings.logRows), maxSeconds: settings.logSeconds, sync },
    feedback: { maxSeconds: settings.feedbackSeconds, forward },
    token,
    log: (line) => say(line),
    batching: { maxRows: maxBatchRows, maxWaitMs: maxBatchWaitMs },
    worker,
  });
  const url = await server.listen(settings.port, settings.host);
  const serving = server.host.models.map((m) => `${m}=${server.host.state(m)?.serving?.version ?? 'none yet'}`).join(', ');
  const batching = server.batcher.enabled
    ? `adaptive batching: up to ${maxBatchRows} rows per model call, a queued request waits at most ${maxBatchWaitMs} ms`
    : 'batching off';
  const feedback = `feedback at POST /v1/models/<name>/feedback (${token ? 'bearer token required' : 'no token: open'}), joined and forwarded to monitor/<model> on ${config.temporalAddress}`;
  if (worker) {
    say(`perennial serve: ready on ${url}, serving ${serving}; spool ${server.predictionLog!.spool.dir}`);
    worker.ready({ url, serving, spoolDir: dirname(server.predictionLog!.spool.dir), notes: [batching, feedback] });
  } else {
    io.stdout(`perennial serve: listening on ${url} (Open Inference Protocol /v2, KServe V1 /v1/models/<name>:predict, /metrics); serving ${serving}`);
    io.stdout(`perennial serve: ${batching}`);
    io.stdout(`perennial serve: ${feedback}`);
    io.stdout(`perennial serve: prediction log spooled in ${server.predictionLog!.spool.dir} (${sync}), uploaded as Parquet to ${store.description}`);
  }
  await stopped;
  await server.close();
  await forward.close();
  if (worker) say('perennial serve: stopped');
  else io.stdout('perennial serve: stopped');
  return 0;
}
