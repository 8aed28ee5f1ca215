/**
 * The HTTP routes: Open Inference Protocol (V2) REST, KServe V1 `:predict`,
 * and /metrics. Bodies are read as bytes by one parser for every content type
 * (tritonclient sends none, and its binary tensor extension is JSON followed
 * by raw bytes); the route decodes them. Every error answers {"error": "..."}
 * with its status, and the server goes on serving. An inference answer is
 * sent only once its rows are written to the prediction log's spool
 * (prediction-log.ts); a spool that cannot be written answers 503.
 * `POST /v1/models/<name>/feedback` takes labels by prediction id (feedback.ts),
 * behind the bearer token when one is configured, and answers once they are
 * spooled.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseJsonBody, splitInferBody } from './body';
import { ServeError } from './errors';
import { parseFeedback, type FeedbackLog } from './feedback';
import type { ModelHost } from './host';
import type { LoadedVersion } from './loaded';
import type { Protocol, ServeMetrics } from './metrics';
import { predictionRecord, type PredictionLog } from './prediction-log';
import { checkOutputs, decodeV1, decodeV2, encodeV1, encodeV2, outputSpecs } from './protocol';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface RequestLabels {
  model: string;
  version: string;
  protocol: Protocol;
  rows?: number;
}

export interface RouteOptions {
  host: ModelHost;
  metrics: ServeMetrics;
  bodyLimitBytes: number;
  log: (line: string) => void;
  /** Where every answered prediction is written before its answer is sent; none: not logged. */
  predictionLog?: PredictionLog;
  /** Where feedback is spooled, joined and forwarded; none: the feedback route answers 503. */
  feedbackLog?: FeedbackLog;
  /** The bearer token the feedback route requires; none: open. */
  token?: string;
}

/** The Authorization header carries `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

export function registerRoutes(app: FastifyInstance, { host, metrics, bodyLimitBytes, log, predictionLog, feedbackLog, token }: RouteOptions): void {
  const labels = new WeakMap<FastifyRequest, RequestLabels>();

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: bodyLimitBytes }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error: FastifyError | ServeError, request, reply) => {
    if (error instanceof ServeError) return reply.code(error.status).send({ error: error.message });
    const status = error.statusCode ?? 500;
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
      return reply.code(413).send({
        error: `the request body is larger than this server's limit of ${bodyLimitBytes} bytes (perennial serve --body-limit); send fewer rows per request`,
      });
    }
    if (status >= 400 && status < 500) return reply.code(status).send({ error: error.message });
    log(`perennial serve: ${request.method} ${request.url} failed: ${error.stack ?? error.message}`);
    return reply.code(500).send({ error: `internal error: ${error.message}` });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: `no route ${request.method} ${request.url.split('?')[0]}; see /v2/models/<name> (Open Inference Protocol) or POST /v1/models/<name>:predict`,
    }),
  );

  app.addHook('onResponse', async (request, reply) => {
    const l = labels.get(request);
    if (!l) return;
    const code = String(reply.statusCode);
    metrics.requests.inc({ model: l.model, version: l.version, protocol: l.protocol, code });
    if (reply.statusCode >= 400) metrics.errors.inc({ model: l.model, version: l.version, protocol: l.protocol, code });
    metrics.latency.observe({ model: l.model, version: l.version, protocol: l.protocol }, reply.elapsedTime / 1000);
    if (l.rows !== undefined) metrics.rows.observe({ model: l.model, version: l.version }, l.rows);
  });

  /** The model a route names; 404 for one not served here (counted as 'unknown': a client cannot grow the series). */
  function modelOf(name: string, request: FastifyRequest, protocol: Protocol) {
    const state = host.state(name);
    labels.set(request, { model: state ? name : 'unknown', version: '', protocol });
    if (!state) throw new ServeError(404, `model '${name}' is not served here; this server serves ${host.models.join(', ') || 'no model'}`);
    return state;
  }

  /** The version that answers (the one serving now, or the one the route names if it is that one). */
  function versionOf(name: string, version: string | undefined, request: FastifyRequest, protocol: Protocol): LoadedVersion {
    const state = modelOf(name, request, protocol);
    const serving = state.serving;
    if (!serving) {
      const refused = state.refused.at(-1);
      throw new ServeError(
        503,
        `model '${name}' has no version loaded yet: ${
          state.champion
            ? `its champion ${state.champion} ${refused ? `was refused (${refused.reason})` : 'is loading'}`
            : 'the registry names no champion (promote one)'
        }`,
      );
    }
    if (version !== undefined && version !== serving.version) {
      throw new ServeError(404, `version '${version}' of model '${name}' is not loaded; this server answers with ${serving.version} (the champion)`);
    }
    labels.set(request, { model: name, version: serving.version, protocol });
    return serving;
  }

  function metadata(loaded: LoadedVersion) {
    const state = host.state(loaded.model)!;
    return {
      name: loaded.model,
      versions: [loaded.version],
      platform: 'perennial_tfjs',
      inputs: loaded.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [-1, 1], parameters: { kind: i.kind, nullable: i.nullable } })),
      outputs: outputSpecs(loaded.task, loaded.classes),
      parameters: {
        task: loaded.task,
        champion: state.champion,
        serving: loaded.version,
        refused: state.refused,
        snapshot: loaded.lineage.data.snapshotSha256,
        created_at: loaded.lineage.createdAt,
      },
    };
  }

  async function infer(protocol: 'v2' | 'v1', name: string, version: string | undefined, request: FastifyRequest, reply: FastifyReply) {
    // The version is taken once: a swap during this request does not change what answers it.
    const loaded = versionOf(name, version, request, protocol);
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const decoded =
      protocol === 'v2'
        ? (() => {
            const { json, binary } = splitInferBody(raw, request.headers['inference-header-content-length']);
            return decodeV2(json, binary, loaded.inputs);
          })()
        : decodeV1(splitInferBody(raw, undefined).json, loaded.inputs);
    checkOutputs(decoded, loaded.task);
    const scored = await loaded.score(decoded.table);
    labels.get(request)!.rows = scored.rows;
    const ids = Array.from({ length: scored.rows }, () => randomUUID());
    const answer = protocol === 'v2' ? encodeV2(name, loaded.version, decoded, scored, ids) : encodeV1(loaded.version, decoded, scored, ids);
    if (predictionLog) {
      // The answer waits for its rows to be in the spool: a client holding a prediction id implies the log will have it.
      const record = predictionRecord(loaded, decoded, scored, ids, new Date(), reply.elapsedTime);
      try {
        await predictionLog.append(record);
      } catch (error) {
        metrics.logSpoolFailures.inc();
        log(`perennial serve: ${(error as Error).message}`);
        throw new ServeError(503, `the prediction could not be written to the prediction log, so it is not answered; try again (${(error as Error).message})`);
      }
      // Kept in memory for the join of the labels that come back soon.
      feedbackLog?.recent.add(record);
    }
    return answer;
  }

  type Params = { name: string; version?: string };
  const ready = (reply: FastifyReply, ok: boolean, body: Record<string, unknown>) => reply.code(ok ? 200 : 503).send({ ...body, ready: ok });

  // ---------------------------------------------------------------- Open Inference Protocol (V2)
  app.get('/v2', async () => ({ name: 'perennial', version: PACKAGE_VERSION, extensions: ['binary_tensor_data'] }));
  app.get('/v2/health/live', async () => ({ live: true }));
  app.get('/v2/health/ready', async (_request, reply) => ready(reply, host.ready, {}));
  app.get<{ Params: Params }>('/v2/models/:name', async (request) => metadata(versionOf(request.params.name, undefined, request, 'other')));
  app.get<{ Params: Params }>('/v2/models/:name/versions/:version', async (request) =>
    metadata(versionOf(request.params.name, request.params.version, request, 'other')),
  );
  app.get<{ Params: Params }>('/v2/models/:name/ready', async (request, reply) => {
    const state = modelOf(request.params.name, request, 'other');
    return ready(reply, state.serving !== null, { name: request.params.name });
  });
  app.get<{ Params: Params }>('/v2/models/:name/versions/:version/ready', async (request, reply) => {
    const state = modelOf(request.params.name, request, 'other');
    return ready(reply, state.serving?.version === request.params.version, { name: request.params.name, version: request.params.version });
  });
  app.post<{ Params: Params }>('/v2/models/:name/infer', async (request, reply) => infer('v2', request.params.name, undefined, request, reply));
  app.post<{ Params: Params }>('/v2/models/:name/versions/:version/infer', async (request, reply) =>
    infer('v2', request.params.name, request.params.version, request, reply),
  );

  // ---------------------------------------------------------------- KServe V1 / TF Serving
  app.get<{ Params: Params }>('/v1/models/:name', async (request, reply) => {
    const state = modelOf(request.params.name, request, 'other');
    return ready(reply, state.serving !== null, { name: request.params.name });
  });
  // '<name>:predict' is one path segment: the verb is split off here rather than in the router.
  app.post<{ Params: { target: string } }>('/v1/models/:target', async (request, reply) => {
    const target = request.params.target;
    const colon = target.lastIndexOf(':');
    const verb = colon < 0 ? '' : target.slice(colon + 1);
    if (verb !== 'predict') {
      throw new ServeError(404, `no V1 verb ':${verb}' on ${request.url}; use POST /v1/models/<name>:predict with {"instances": [...]}`);
    }
    return infer('v1', target.slice(0, colon), undefined, request, reply);
  });

  // ---------------------------------------------------------------- feedback
  app.post<{ Params: Params }>('/v1/models/:name/feedback', async (request, reply) => {
    const name = request.params.name;
    const state = host.state(name);
    try {
      if (token !== undefined && !bearerMatches(request.headers.authorization, token)) {
        reply.header('www-authenticate', 'Bearer realm="perennial"');
        throw new ServeError(
          401,
          'the feedback route needs the server\'s token: send "Authorization: Bearer <token>" (perennial serve --token, PERENNIAL_SERVE_TOKEN)',
        );
      }
      if (!state) throw new ServeError(404, `model '${name}' is not served here; this server serves ${host.models.join(', ') || 'no model'}`);
      if (!feedbackLog) throw new ServeError(503, 'this server keeps no feedback log (it runs without the prediction log)');
      const serving = state.serving;
      if (!serving) throw new ServeError(503, `model '${name}' has no version loaded yet, so its labels cannot be checked; try again`);
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const items = parseFeedback(parseJsonBody(raw.toString('utf8')), { task: serving.task, classes: serving.classes });
      try {
        // The answer waits for the items to be in the spool: an accepted label is never lost.
        await feedbackLog.append(name, items);
      } catch (error) {
        log(`perennial serve: ${(error as Error).message}`);
        throw new ServeError(503, `the feedback could not be written to the spool, so it is not accepted; send it again (${(error as Error).message})`);
      }
      return { model: name, accepted: items.length };
    } catch (error) {
      metrics.feedbackRejected.inc({ model: state ? name : 'unknown' });
      throw error;
    }
  });

  // ---------------------------------------------------------------- Prometheus
  app.get('/metrics', async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
