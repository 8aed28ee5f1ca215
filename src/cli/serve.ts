/**
 * `perennial serve [--port 8080] [--host 127.0.0.1] [--models weather,flights]
 * [--body-limit <bytes>] [--poll-ms 500] [--spool-dir <dir>] [--log-rows 10000]
 * [--log-seconds 60] [--spool-sync write|fsync] [--token <t>] [--feedback-seconds 5]`: the model server (src/serve)
 * on the registry the environment names (S3_ENDPOINT, S3_BUCKET). It serves
 * each model's champion, follows promotions and rollbacks without a restart,
 * logs every answered prediction (spooled before the answer, uploaded as
 * Parquet), and stops cleanly on SIGINT/SIGTERM (uploading what it spooled).
 */
import { loadConfig } from '../config';
import { parseBackendName } from '../model';
import { checkName } from '../names';
import { Registry } from '../registry';
import { createModelServer, DEFAULT_BODY_LIMIT_BYTES, defaultSpoolDir, monitorForwarder } from '../serve';
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
  const sync = values['spool-sync'];
  if (sync !== 'write' && sync !== 'fsync') throw new Error(`--spool-sync must be 'write' or 'fsync', not '${sync.slice(0, 20)}'`);
  const port = positiveInteger('--port', values.port, 65535);
  const bodyLimitBytes = positiveInteger('--body-limit', values['body-limit']);
  const pollMs = positiveInteger('--poll-ms', values['poll-ms']);
  const models = values.models
    ?.split(',')
    .map((m) => m.trim())
    .filter(Boolean)
    .map((m) => checkName('model', m, '--models'));
  const config = loadConfig();
  const store = S3Store.fromConfig(config);
  // Joined feedback goes to monitor/<model> on the worker's task queue; Temporal is reached on the first forward.
  const forward = monitorForwarder(() => connectClient(config), config.taskQueue);
  const server = await createModelServer({
    registry: new Registry(store),
    models,
    backend: parseBackendName(process.env.PERENNIAL_TF_BACKEND),
    bodyLimitBytes,
    pollMs: Math.max(pollMs, 50),
    predictionLog: {
      spoolDir: values['spool-dir'] ?? process.env.PERENNIAL_SPOOL_DIR ?? defaultSpoolDir(),
      maxRows: Math.max(1, logRows),
      maxSeconds: logSeconds,
      sync,
    },
    feedback: { maxSeconds: feedbackSeconds, forward },
    token: token?.trim(),
    log: (line) => io.stderr(line),
  });
  const url = await server.listen(port, values.host);
  const serving = server.host.models.map((m) => `${m}=${server.host.state(m)?.serving?.version ?? 'none yet'}`).join(', ');
  io.stdout(`perennial serve: listening on ${url} (Open Inference Protocol /v2, KServe V1 /v1/models/<name>:predict, /metrics); serving ${serving}`);
  io.stdout(
    `perennial serve: feedback at POST /v1/models/<name>/feedback (${token ? 'bearer token required' : 'no token: open'}), joined and forwarded to monitor/<model> on ${config.temporalAddress}`,
  );
  io.stdout(`perennial serve: prediction log spooled in ${server.predictionLog!.spool.dir} (${sync}), uploaded as Parquet to ${store.description}`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await forward.close();
  io.stdout('perennial serve: stopped');
  return 0;
}
