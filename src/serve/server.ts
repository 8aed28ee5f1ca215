/**
 * The model server: a ModelHost that loads the champions from the registry and
 * follows their aliases, Fastify routes over it, its metrics, and the
 * prediction log (spooled before each answer, uploaded as Parquet in the
 * background), and the feedback log (labels spooled, joined with their
 * predictions, written as Parquet and forwarded to monitor/<model>).
 * Every model call goes through the adaptive batcher (batcher.ts).
 * `perennial serve` (src/cli/serve.ts) runs one, or one per cluster worker
 * (`--workers N`, cluster.ts: the `worker` option); tests start one
 * in-process on a free port.
 */
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { selectBackend, type BackendName, type Tf } from '../model';
import type { Registry } from '../registry';
import { Batcher, type BatcherOptions } from './batcher';
import type { WorkerLink } from './cluster';
import { FeedbackLog, type FeedbackLogOptions } from './feedback';
import { ModelHost, type HostEvent } from './host';
import type { InputKind } from './inputs';
import { ServeMetrics } from './metrics';
import { PredictionLog, type PredictionLogOptions } from './prediction-log';
import { registerRoutes } from './routes';

/** The spool root when none is given: under PERENNIAL_DATA (default ./.data), so a restarted server finds what a killed one left. */
export function defaultSpoolDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.PERENNIAL_DATA ?? join(process.cwd(), '.data'), 'spool');
}

/** 16 MiB: about 100,000 rows of a ten-column table in JSON. */
export const DEFAULT_BODY_LIMIT_BYTES = 16 * 1024 * 1024;

export interface ModelServerOptions {
  registry: Registry;
  /** Models to serve; default every model in the registry. A model with no champion yet is served once one is promoted. */
  models?: string[];
  /** tfjs to score with; default the best backend (PERENNIAL_TF_BACKEND, or `backend`). */
  tf?: Tf;
  backend?: BackendName;
  bodyLimitBytes?: number;
  pollMs?: number;
  retryRefusedMs?: number;
  /**
   * The prediction log (every answered prediction, spooled before the answer,
   * uploaded to the registry's store as Parquet); default on, spooled under
   * defaultSpoolDir(). false: no log.
   */
  predictionLog?: Partial<PredictionLogOptions> | false;
  /**
   * The feedback log (POST /v1/models/<name>/feedback: spooled, joined with
   * the prediction log, written as Parquet, forwarded to monitor/<model> by
   * `forward`); default on when the prediction log is, spooled under the same
   * root. false: no feedback route.
   */
  feedback?: Partial<Omit<FeedbackLogOptions, 'models' | 'kinds'>> | false;
  /** A bearer token the feedback route requires (Authorization: Bearer <token>); none: open. Inference routes stay open. */
  token?: string;
  /** Where loads, refusals and internal errors are said; default console.error. */
  log?: (line: string) => void;
  /**
   * Adaptive batching (batcher.ts): concurrent requests for one version merged
   * into one model call, at most `maxRows` rows (default 64), waiting at most
   * `maxWaitMs` (default 2; 0 or false: off, every request scored alone).
   */
  batching?: Pick<BatcherOptions, 'maxRows' | 'maxWaitMs'> | false;
  /**
   * This server is a cluster worker (`perennial serve --workers N`): /metrics
   * answers for the whole cluster, responses carry `x-perennial-worker`, and
   * feedback ids are claimed cluster-wide. None: a process on its own.
   */
  worker?: WorkerLink;
}

export interface ModelServer {
  app: FastifyInstance;
  host: ModelHost;
  metrics: ServeMetrics;
  batcher: Batcher;
  predictionLog: PredictionLog | undefined;
  feedbackLog: FeedbackLog | undefined;
  /** Starts listening; resolves to the base URL (port 0 picks a free port). */
  listen(port: number, hostname: string): Promise<string>;
  close(): Promise<void>;
}

function describe(event: HostEvent): string {
  switch (event.kind) {
    case 'loaded':
      return `perennial serve: ${event.model}/${event.version} loaded in ${event.seconds.toFixed(2)} s, now serving${event.previous ? ` (was ${event.previous})` : ''}`;
    case 'refused':
      return event.role === 'candidate'
        ? `perennial serve: refused ${event.model}/${event.version} as release candidate, all traffic stays on the champion: ${event.reason}`
        : `perennial serve: refused ${event.model}/${event.version}, traffic stays where it was: ${event.reason}`;
    case 'poll-failed':
      return `perennial serve: could not read the aliases of '${event.model}' (still serving what is loaded): ${event.reason}`;
    case 'release': {
      const what = `${event.model}/${event.candidate}`;
      const share = event.mode === 'shadow' ? `shadowing ${event.weight} of the requests` : `weight ${event.weight}`;
      switch (event.change) {
        case 'started':
          return `perennial serve: release candidate ${what} loaded in ${(event.seconds ?? 0).toFixed(2)} s, now routed (${event.mode}, ${share})`;
        case 'changed':
          return `perennial serve: release of ${what} now ${event.mode}, ${share}`;
        case 'ended':
          return `perennial serve: release of ${what} ended, all traffic on the champion`;
        case 'promoted':
          return `perennial serve: release candidate ${what} promoted, it answers all traffic`;
      }
    }
  }
}

export async function createModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const tf = options.tf ?? (await selectBackend(options.backend, { log })).tf;
  const models = options.models ?? (await options.registry.listModels());
  if (models.length === 0) throw new Error(`the registry (${options.registry.store.description}) has no model; train one first, or name them with --models`);
  const metrics = new ServeMetrics();
  const worker = options.worker;
  if (worker) {
    metrics.workerInfo(worker.slot, process.pid);
    worker.provide(metrics.registry);
  }
  const batcher = new Batcher({
    ...(options.batching === false ? { maxWaitMs: 0 } : options.batching),
    log,
    events: {
      called: (model, version, rows, requests) => {
        metrics.batchRows.observe({ model, version }, rows);
        metrics.batchRequests.observe({ model, version }, requests);
      },
      waited: (model, version, seconds) => metrics.batchWait.observe({ model, version }, seconds),
      failed: (model, version) => metrics.batchFailures.inc({ model, version }),
    },
  });
  const host = new ModelHost({
    registry: options.registry,
    tf,
    models,
    pollMs: options.pollMs,
    retryRefusedMs: options.retryRefusedMs,
    onEvent: (event) => {
      if (event.kind === 'loaded') {
        metrics.loads.inc({ model: event.model, version: event.version, outcome: 'loaded' });
        metrics.swapped(event.model, event.version, event.previous);
      } else if (event.kind === 'refused') metrics.loads.inc({ model: event.model, version: event.version, outcome: 'refused' });
      else if (event.kind === 'release' && event.change === 'started') metrics.loads.inc({ model: event.model, version: event.candidate, outcome: 'loaded' });
      log(describe(event));
    },
  });
  const spoolRoot = options.predictionLog === false ? undefined : (options.predictionLog?.spoolDir ?? defaultSpoolDir());
  const predictionLog =
    options.predictionLog === false
      ? undefined
      : new PredictionLog(
          options.registry.store,
          { ...options.predictionLog, spoolDir: spoolRoot! },
          {
            spooled: (model, rows) => metrics.logSpooled.inc({ model }, rows),
            uploaded: (model, rows) => metrics.logUploaded.inc({ model }, rows),
            uploadFailed: () => metrics.logUploadFailures.inc(),
            ignoredLines: (reason, count) => metrics.logIgnoredLines.inc({ reason }, count),
          },
          log,
        );
  if (predictionLog) {
    // Segments a killed server left are adopted here and uploaded in the background while this one serves.
    await predictionLog.start();
    metrics.backlog = () => ({ rows: predictionLog.spool.backlogRows, segments: predictionLog.spool.backlogSegments });
  }
  // The input kinds of each model's serving version (kept once seen), for the feedback log's column types.
  const kinds = new Map<string, Record<string, InputKind>>();
  const feedbackLog =
    !predictionLog || options.feedback === false
      ? undefined
      : new FeedbackLog(
          options.registry.store,
          {
            sync: options.predictionLog === false ? undefined : options.predictionLog?.sync,
            ...options.feedback,
            spoolDir: options.feedback?.spoolDir ?? spoolRoot!,
            models,
            sharedClaims: worker ? (claims) => worker.claim(claims) : undefined,
            kinds: (model) => {
              const serving = host.state(model)?.serving;
              if (serving) kinds.set(model, Object.fromEntries(serving.inputs.map((i) => [i.name, i.kind])));
              return kinds.get(model);
            },
          },
          {
            received: (model, n) => metrics.feedbackReceived.inc({ model }, n),
            joined: (model, n) => metrics.feedbackJoined.inc({ model }, n),
            live: (items) => metrics.live(items),
            duplicates: (model, n) => metrics.feedbackDuplicates.inc({ model }, n),
            unmatched: (model, n) => metrics.feedbackUnmatched.inc({ model }, n),
            forwarded: (model, n) => metrics.feedbackForwarded.inc({ model }, n),
            forwardFailed: (model) => metrics.feedbackForwardFailures.inc({ model }),
            failed: () => metrics.feedbackFailures.inc(),
          },
          log,
        );
  if (feedbackLog) {
    await feedbackLog.start();
    metrics.pendingFeedback = () => feedbackLog.pending;
  }
  metrics.releases = () =>
    host.models.flatMap((model) => {
      const release = host.state(model)?.release;
      return release ? [{ model, mode: release.mode, version: release.candidate.version, weight: release.weight }] : [];
    });
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = Fastify({ bodyLimit: bodyLimitBytes, logger: false });
  registerRoutes(app, {
    host,
    metrics,
    bodyLimitBytes,
    log,
    predictionLog,
    feedbackLog,
    token: options.token,
    batcher,
    cluster: worker ? { slot: worker.slot, metrics: () => worker.metrics() } : undefined,
  });
  try {
    await host.start();
  } catch (error) {
    await feedbackLog?.close();
    await predictionLog?.close();
    throw error;
  }
  return {
    app,
    host,
    metrics,
    batcher,
    predictionLog,
    feedbackLog,
    async listen(port, hostname) {
      await app.listen({ port, host: hostname });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      return `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${bound}`;
    },
    async close() {
      // In-flight requests finish (and are spooled) before the log closes and uploads what it holds.
      await app.close();
      // The prediction log first: its last parts are what pending labels wait for.
      await predictionLog?.close();
      await feedbackLog?.close();
      await host.close();
    },
  };
}
