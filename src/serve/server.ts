/**
 * The model server: a ModelHost that loads the champions from the registry and
 * follows their aliases, Fastify routes over it, and its metrics. `perennial
 * serve` (src/cli/serve.ts) runs one; tests start one in-process on a free port.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { selectBackend, type BackendName, type Tf } from '../model';
import type { Registry } from '../registry';
import { ModelHost, type HostEvent } from './host';
import { ServeMetrics } from './metrics';
import { registerRoutes } from './routes';

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
  /** Where loads, refusals and internal errors are said; default console.error. */
  log?: (line: string) => void;
}

export interface ModelServer {
  app: FastifyInstance;
  host: ModelHost;
  metrics: ServeMetrics;
  /** Starts listening; resolves to the base URL (port 0 picks a free port). */
  listen(port: number, hostname: string): Promise<string>;
  close(): Promise<void>;
}

function describe(event: HostEvent): string {
  switch (event.kind) {
    case 'loaded':
      return `perennial serve: ${event.model}/${event.version} loaded in ${event.seconds.toFixed(2)} s, now serving${event.previous ? ` (was ${event.previous})` : ''}`;
    case 'refused':
      return `perennial serve: refused ${event.model}/${event.version}, traffic stays where it was: ${event.reason}`;
    case 'poll-failed':
      return `perennial serve: could not read the aliases of '${event.model}' (still serving what is loaded): ${event.reason}`;
  }
}

export async function createModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  const tf = options.tf ?? (await selectBackend(options.backend, { log })).tf;
  const models = options.models ?? (await options.registry.listModels());
  if (models.length === 0) throw new Error(`the registry (${options.registry.store.description}) has no model; train one first, or name them with --models`);
  const metrics = new ServeMetrics();
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
      log(describe(event));
    },
  });
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const app = Fastify({ bodyLimit: bodyLimitBytes, logger: false });
  registerRoutes(app, { host, metrics, bodyLimitBytes, log });
  await host.start();
  return {
    app,
    host,
    metrics,
    async listen(port, hostname) {
      await app.listen({ port, host: hostname });
      const address = app.server.address();
      const bound = typeof address === 'object' && address ? address.port : port;
      return `http://${hostname.includes(':') ? `[${hostname}]` : hostname}:${bound}`;
    },
    async close() {
      await app.close();
      await host.close();
    },
  };
}
