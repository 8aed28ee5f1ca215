/**
 * The worker's Prometheus endpoint (PERENNIAL_WORKER_METRICS_ADDRESS). The
 * Temporal core's exporter serves one process's metrics: the SDK's own
 * (`temporal_*`, durations in milliseconds) and those workflows record through
 * `metricMeter` (`perennial_monitor_*`, named as given: no prefix, no suffix
 * added; tags `namespace`, `taskQueue`, `workflowType` added). The worker
 * program runs two processes (role `all`), so each exports on a loopback port
 * of its own and the first serves both pages merged on the address asked for:
 * one scrape target, both task queues. A `worker_process` label (workflows,
 * training) keeps the two processes' series apart.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import type { MetricsExporterConfig } from '@temporalio/worker';

export const METRICS_ADDRESS_SETTING = 'PERENNIAL_WORKER_METRICS_ADDRESS';

/**
 * The core's default buckets (50 ms to 10 s) fit the SDK's latencies, not
 * retraining runs of minutes: these fit runs from seconds to hours.
 */
const RUN_DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400];

/** The core's Prometheus exporter on `bindAddress`, tagging every series with the process. */
export function prometheusExporter(bindAddress: string, process: 'workflows' | 'training'): MetricsExporterConfig {
  return {
    globalTags: { worker_process: process },
    prometheus: { bindAddress, histogramBucketOverrides: { perennial_monitor_run_duration_seconds: RUN_DURATION_BUCKETS } },
  };
}

/** host:port (an IPv6 host in brackets), or an error naming the setting and what to write. */
export function parseMetricsAddress(value: string): { host: string; port: number } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]\s]+):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[2]) : NaN;
  if (!match || !(port >= 0 && port <= 65535)) {
    throw new Error(`${METRICS_ADDRESS_SETTING} is '${value}': write host:port, e.g. 0.0.0.0:9464 (all interfaces) or 127.0.0.1:9464`);
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/** A loopback port nothing listens on now. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Family {
  help?: string;
  type?: string;
  samples: string[];
}

/**
 * Prometheus text pages into one: each family's HELP and TYPE once, then the
 * samples of every page (the format wants a family's lines together).
 */
export function mergeExpositions(pages: readonly string[]): string {
  const families = new Map<string, Family>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { samples: [] }));
    return f;
  };
  for (const page of pages) {
    let current: string | undefined;
    for (const line of page.split('\n')) {
      if (line.trim() === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (meta) {
        current = meta[2]!;
        const f = family(current);
        if (meta[1] === 'HELP') f.help ??= line;
        else f.type ??= line;
        continue;
      }
      if (line.startsWith('#')) continue;
      const name = /^[^{\s]+/.exec(line)?.[0] ?? '';
      // A sample belongs to the family declared above it (a histogram's _bucket, _sum, _count), else to its own name.
      const suffix = current !== undefined && name.startsWith(current) ? name.slice(current.length) : undefined;
      const owner = suffix !== undefined && /^(|_bucket|_sum|_count|_total|_created)$/.test(suffix) ? current! : name;
      family(owner).samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) {
    if (f.help) out.push(f.help);
    if (f.type) out.push(f.type);
    for (const sample of f.samples) out.push(sample);
  }
  return out.join('\n') + '\n';
}

/**
 * An HTTP server on `address` whose /metrics is the merge of `sources`'
 * pages (loopback URLs of the processes' exporters). A source that does not
 * answer (a process starting or restarting) is left out with a comment line;
 * when none answers the scrape fails (503), so Prometheus shows the target down.
 */
export async function serveMergedMetrics(address: { host: string; port: number }, sources: readonly string[]): Promise<Server> {
  const server = createServer((request, response) => {
    if (request.url !== '/metrics' && !request.url?.startsWith('/metrics?')) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('the worker serves Prometheus metrics on /metrics\n');
      return;
    }
    void Promise.all(
      sources.map(async (url) => {
        try {
          const answer = await fetch(url, { signal: AbortSignal.timeout(5000) });
          if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
          return { page: await answer.text() };
        } catch (error) {
          return { problem: `# ${url}: ${(error as Error).message}\n` };
        }
      }),
    ).then((answers) => {
      const pages = answers.flatMap((a) => (a.page === undefined ? [] : [a.page]));
      const problems = answers.flatMap((a) => (a.problem === undefined ? [] : [a.problem]));
      response
        .writeHead(pages.length ? 200 : 503, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
        .end(problems.join('') + (pages.length ? mergeExpositions(pages) : ''));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error) => reject(new Error(`${METRICS_ADDRESS_SETTING}: cannot listen on ${address.host}:${address.port} (${error.message})`)));
    server.listen(address.port, address.host, resolve);
  });
  return server;
}
