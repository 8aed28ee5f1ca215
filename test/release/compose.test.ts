/**
 * docker-compose runs the model server, Prometheus scrapes it, and the Grafana
 * dashboard asks for metrics it really exports. No machine here has a Docker
 * engine (`docker-compose config` checks the file's syntax); this checks that
 * the pieces agree with each other and with the code.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ServeMetrics } from '../../src/serve/metrics';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const read = (path: string) => readFileSync(ROOT + path, 'utf8');

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  environment?: Record<string, string | null>;
  ports?: string[];
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
  scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
};
const targets = (job: string) => prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];

describe('the compose stack runs the model server', () => {
  const server = compose.services['model-server']!;
  const worker = compose.services.worker!;
  const port = server.command?.[server.command.indexOf('--port') + 1];

  it('is `perennial serve` on the worker image, listening on all interfaces on a port of its own', () => {
    expect(server).toBeDefined();
    expect(server.image).toBe(worker.image);
    expect(server.build).toBe(worker.build);
    expect(server.command).toEqual(['node', 'bin/perennial.mjs', 'serve', '--host', '0.0.0.0', '--port', port]);
    expect(server.ports).toEqual([`${port}:${port}`]);
    const published = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(published.filter((p) => p.split(':')[0] === port)).toHaveLength(1); // 8080 is the Temporal UI's
  });

  it('has the shared settings (Temporal, S3) and keeps its spool on a volume', () => {
    for (const key of ['TEMPORAL_ADDRESS', 'S3_ENDPOINT', 'S3_BUCKET', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
      expect(server.environment?.[key]).toBe(worker.environment?.[key]);
    }
    const spool = server.environment?.PERENNIAL_SPOOL_DIR;
    expect(server.volumes?.some((v) => v.endsWith(`:${spool}`) && v.split(':')[0]! in compose.volumes)).toBe(true);
    // Unset unless the shell sets it: an empty token would be refused by `perennial serve`.
    expect(server.environment?.PERENNIAL_SERVE_TOKEN ?? null).toBeNull();
  });

  it('is scraped by Prometheus on the port it listens on, as the worker is on its metrics address', () => {
    expect(targets('perennial-model-server')).toEqual([`model-server:${port}`]);
    expect(prometheus.scrape_configs.find((c) => c.job_name === 'perennial-model-server')?.metrics_path ?? '/metrics').toBe('/metrics');
    const workerMetrics = worker.environment?.PERENNIAL_WORKER_METRICS_ADDRESS?.split(':')[1];
    expect(targets('perennial-worker')).toEqual([`worker:${workerMetrics}`]);
  });

  it('the Grafana dashboard asks only for metrics the model server exports', async () => {
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/perennial-model-server.json')) as { panels: { targets: { expr: string }[] }[] };
    const exported = new Set<string>();
    for (const m of await new ServeMetrics().registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(m.name + suffix);
    }
    const asked = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/\bperennial_serve_[a-z_]+/g) ?? []));
    expect(asked.length).toBeGreaterThan(10);
    expect(asked.filter((name) => !exported.has(name))).toEqual([]);
  });
});
