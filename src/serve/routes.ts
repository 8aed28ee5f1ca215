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
 *
 * Releases (host.ts holds them, routing.ts decides): an inference request
 * without a version goes to the champion or, in canary and ab, to the
 * candidate with probability `weight`, sticky by its routing key
 * (`x-routing-key`, or the OIP `parameters.routing_key`); a request naming
 * the candidate's version gets the candidate while it is in release. The
 * answer's `model_version` and the log's `arm` say which answered. In shadow
 * the champion answers, and once the answer is sent (onResponse) the
 * candidate scores the same rows for a `weight` share of requests; its rows
 * are logged with arm `shadow` and never delay or fail the request.
 *
 * Scoring goes through the batcher (batcher.ts): a request is decoded and
 * checked first, then scored at once when the model is idle, or merged with
 * the requests queued for the same version while it is busy. In a cluster
 * (cluster.ts) /metrics answers for every worker (the primary aggregates), and
 * every response says which worker answered (`x-perennial-worker`, its slot
 * and pid).
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Batcher } from './batcher';
import { parseJsonBody, splitInferBody } from './body';
import { ServeError } from './errors';
import { parseFeedback, type FeedbackLog } from './feedback';
import type { ModelHost, ModelState } from './host';
import type { InputSpec } from './inputs';
import type { LoadedVersion } from './loaded';
import type { Protocol, ServeMetrics } from './metrics';
import { predictionRecord, type PredictionLog } from './prediction-log';
import { checkOutputs, decodeV1, decodeV2, encodeV1, encodeV2, outputSpecs, type DecodedRequest } from './protocol';
import { answeringArm, ROUTING_KEY_HEADER, routingKeyOf, shadowed, type Arm } from './routing';

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

interface RequestLabels {
  model: string;
  version: string;
  protocol: Protocol;
  rows?: number;
  /** Work to start once the answer is sent (a shadow scoring). */
  after?: () => void;
}

/** Shadow scorings waiting or running at most; more are skipped (counted), so a slow candidate cannot pile up requests in memory. */
const MAX_SHADOW_IN_FLIGHT = 64;

/** The candidate reads the request as the champion does (same inputs, kinds and rules): the champion's decoded columns serve it as they are. */
function sameInputs(a: InputSpec[], b: InputSpec[]): boolean {
  return (
    a.length === b.length &&
    a.every((x, i) => {
      const y = b[i]!;
      return x.name === y.name && x.kind === y.kind && x.datatype === y.datatype && x.nullable === y.nullable && x.numericCategory === y.numericCategory;
    })
  );
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
  /** Every model call goes through it (adaptive batching). */
  batcher: Batcher;
  /** In a cluster: the whole cluster's metrics text (the primary aggregates), and this worker's slot; none: this process's registry. */
  cluster?: { slot: number; metrics(): Promise<string> };
}

/** The Authorization header carries `Bearer <token>` (compared in constant time). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(m[1]!), digest(token));
}

export function registerRoutes(
  app: FastifyInstance,
  { host, metrics, bodyLimitBytes, log, predictionLog, feedbackLog, token, batcher, cluster }: RouteOptions,
): void {
  const labels = new WeakMap<FastifyRequest, RequestLabels>();

  if (cluster) {
    const answeredBy = `${cluster.slot} pid=${process.pid}`;
    app.addHook('onRequest', async (_request, reply) => {
      reply.header('x-perennial-worker', answeredBy);
    });
  }

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
    // After the answer is sent, never awaited: a shadow scoring neither delays nor fails the request.
    if (l.after && reply.statusCode === 200) l.after();
  });

  /** The model a route names; 404 for one not served here (counted as 'unknown': a client cannot grow the series). */
  function modelOf(name: string, request: FastifyRequest, protocol: Protocol) {
    const state = host.state(name);
    labels.set(request, { model: state ? name : 'unknown', version: '', protocol });
    if (!state) throw new ServeError(404, `model '${name}' is not served here; this server serves ${host.models.join(', ') || 'no model'}`);
    return state;
  }

  /** A served model with a version loaded (503 while none is). */
  function liveState(name: string, request: FastifyRequest, protocol: Protocol): ModelState & { serving: LoadedVersion } {
    const state = modelOf(name, request, protocol);
    if (!state.serving) {
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
    // Until routing picks the version, what goes wrong (a bad routing key) is counted on the champion.
    labels.set(request, { model: name, version: state.serving.version, protocol });
    return state as ModelState & { serving: LoadedVersion };
  }

  /** The version a route names: the champion, or the candidate while it is in release (any mode); else 404. */
  function namedVersion(state: ModelState & { serving: LoadedVersion }, name: string, version: string): { loaded: LoadedVersion; arm: Arm } {
    if (version === state.serving.version) return { loaded: state.serving, arm: 'champion' };
    const release = state.release;
    if (release && version === release.candidate.version) return { loaded: release.candidate, arm: 'candidate' };
    throw new ServeError(
      404,
      `version '${version}' of model '${name}' is not loaded; this server answers with ${state.serving.version} (the champion)${
        release ? ` and ${release.candidate.version} (the candidate of a ${release.mode} release)` : ''
      }`,
    );
  }

  /** The version a metadata or ready route describes: the champion, or the one it names. */
  function versionOf(name: string, version: string | undefined, request: FastifyRequest, protocol: Protocol): LoadedVersion {
    const state = liveState(name, request, protocol);
    const loaded = version === undefined ? state.serving : namedVersion(state, name, version).loaded;
    labels.set(request, { model: name, version: loaded.version, protocol });
    return loaded;
  }

  function metadata(loaded: LoadedVersion) {
    const state = host.state(loaded.model)!;
    const release = state.release;
    const serving = state.serving?.version;
    return {
      name: loaded.model,
      versions: [...new Set([loaded.version, ...(serving ? [serving] : []), ...(release ? [release.candidate.version] : [])])],
      platform: 'perennial_tfjs',
      inputs: loaded.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: [-1, 1], parameters: { kind: i.kind, nullable: i.nullable } })),
      outputs: outputSpecs(loaded.task, loaded.classes),
      parameters: {
        task: loaded.task,
        champion: state.champion,
        serving: serving ?? null,
        version: loaded.version,
        release: release ? { mode: release.mode, weight: release.weight, candidate: release.candidate.version } : null,
        release_named: state.named,
        routing_key_header: ROUTING_KEY_HEADER,
        refused: state.refused,
        snapshot: loaded.lineage.data.snapshotSha256,
        created_at: loaded.lineage.createdAt,
      },
    };
  }

  // ---------------------------------------------------------------- shadow scoring

  let shadowInFlight = 0;
  const shadowFailures = new Map<string, { last: number; unsaid: number }>();

  /** A shadow failure is logged at most every 10 s per model (with the count since), so a broken candidate cannot flood the log. */
  function shadowFailed(model: string, version: string, error: Error): void {
    metrics.shadow.inc({ model, version, outcome: 'failed' });
    const seen = shadowFailures.get(model) ?? { last: 0, unsaid: 0 };
    seen.unsaid += 1;
    shadowFailures.set(model, seen);
    if (Date.now() - seen.last < 10_000) return;
    log(
      `perennial serve: shadow scoring by ${model}/${version} failed (${seen.unsaid} since the last report; the answers were not affected): ${error.message}`,
    );
    seen.last = Date.now();
    seen.unsaid = 0;
  }

  /**
   * The candidate scores the rows the champion answered and its predictions
   * are logged with arm `shadow`. Each shadow row gets a prediction id of its
   * own and `shadow_of` = the champion's id for that row, rather than the same
   * id: the feedback join (feedback.ts) finds a label's prediction by id, so
   * with the same id a label could join the shadow row instead of the one the
   * client was answered with, or count twice; with its own id the label joins
   * the champion's row only, once, and the release's analysis pairs the
   * candidate's shadow prediction with that label by shadow_of = prediction_id.
   */
  function shadowScore(
    candidate: LoadedVersion,
    champion: LoadedVersion,
    decode: () => DecodedRequest,
    decoded: DecodedRequest,
    championIds: string[],
  ): () => void {
    return () => {
      const { model, version } = candidate;
      if (shadowInFlight >= MAX_SHADOW_IN_FLIGHT) {
        metrics.shadow.inc({ model, version, outcome: 'skipped' });
        return;
      }
      shadowInFlight += 1;
      const started = performance.now();
      void (async () => {
        // Same inputs: the champion's checked columns; else the body decoded again for the candidate (a row it refuses is a shadow failure).
        const request = sameInputs(champion.inputs, candidate.inputs) ? decoded : decode();
        const scored = await batcher.score(candidate, request.table);
        const latencyMs = performance.now() - started;
        const ids = Array.from({ length: scored.rows }, () => randomUUID());
        if (predictionLog) await predictionLog.append(predictionRecord(candidate, request, scored, ids, new Date(), latencyMs, 'shadow', championIds));
        metrics.shadow.inc({ model, version, outcome: 'scored' });
        metrics.shadowDuration.observe({ model, version }, latencyMs / 1000);
      })()
        .catch((error: Error) => shadowFailed(model, version, error))
        .finally(() => (shadowInFlight -= 1));
    };
  }

  async function infer(protocol: 'v2' | 'v1', name: string, version: string | undefined, request: FastifyRequest, reply: FastifyReply) {
    // What answers is taken once: a swap or a weight change during this request does not change it.
    const state = liveState(name, request, protocol);
    const named = version === undefined ? undefined : namedVersion(state, name, version);
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    const { json, binary } = splitInferBody(raw, protocol === 'v2' ? request.headers['inference-header-content-length'] : undefined);
    const key = routingKeyOf(request.headers[ROUTING_KEY_HEADER], protocol === 'v2' ? json : undefined);
    let loaded = state.serving;
    let arm: Arm = 'champion';
    let shadow: LoadedVersion | undefined;
    if (named) ({ loaded, arm } = named);
    else if (state.release) {
      const release = state.release;
      const route = { mode: release.mode, weight: release.weight, candidate: release.candidate.version };
      if (answeringArm(route, key) === 'candidate') [loaded, arm] = [release.candidate, 'candidate'];
      else if (shadowed(route, key)) shadow = release.candidate;
    }
    labels.set(request, { model: name, version: loaded.version, protocol });
    const decode = (inputs: InputSpec[]) => (protocol === 'v2' ? decodeV2(json, binary, inputs) : decodeV1(json, inputs));
    const decoded = decode(loaded.inputs);
    checkOutputs(decoded, loaded.task);
    // Decoded and checked above: only a valid request is queued, so it cannot fail the others of its batch.
    const scored = await batcher.score(loaded, decoded.table);
    labels.get(request)!.rows = scored.rows;
    const ids = Array.from({ length: scored.rows }, () => randomUUID());
    const answer = protocol === 'v2' ? encodeV2(name, loaded.version, decoded, scored, ids) : encodeV1(loaded.version, decoded, scored, ids);
    if (predictionLog) {
      // The answer waits for its rows to be in the spool: a client holding a prediction id implies the log will have it.
      const record = predictionRecord(loaded, decoded, scored, ids, new Date(), reply.elapsedTime, arm);
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
    if (shadow) {
      const candidate = shadow;
      labels.get(request)!.after = shadowScore(candidate, loaded, () => decode(candidate.inputs), decoded, ids);
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
    const v = request.params.version;
    return ready(reply, state.serving?.version === v || state.release?.candidate.version === v, { name: request.params.name, version: v });
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
  app.get('/metrics', async (_request, reply) => {
    if (!cluster) return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    try {
      return reply.type(metrics.registry.contentType).send(await cluster.metrics());
    } catch (error) {
      throw new ServeError(503, `the cluster's metrics could not be gathered; try again (${(error as Error).message})`);
    }
  });
}
