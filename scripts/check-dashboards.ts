/**
 * `npm run check:dashboards -- [--prometheus <url>] [--worker <host:port>] [--server <url>] [--wait <s>]`
 *
 * Runs every query of every Grafana dashboard under deploy/grafana/dashboards
 * against a Prometheus and prints, per panel, the query and the series it
 * returned. Exit 1 names each query that returned no series with a value.
 *
 * With --prometheus it asks that one. Without, it starts Debian's `prometheus`
 * on loopback with a scrape config of its own: the worker's metrics address
 * (--worker, default PERENNIAL_WORKER_METRICS_ADDRESS) and the model server
 * (--server, default http://127.0.0.1:8080), and waits until both were scraped.
 * Template variables take every value the label values API finds for their
 * query (a multi-value one as a regex alternation, as Grafana writes "All").
 * --wait keeps asking the queries still empty until they answer or the time is up
 * (a stack that is still warming up: the demo before its first drift check).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'node:net';

const DASHBOARDS = fileURLToPath(new URL('../deploy/grafana/dashboards/', import.meta.url));

/** Grafana's own variables, as a 15 s scrape over the last hour would have them. */
const BUILTINS: Record<string, string> = { __rate_interval: '1m', __interval: '15s', __range: '1h', __range_s: '3600', __range_ms: '3600000' };

export interface LocalPrometheus {
  url: string;
  /** What the server printed (its log), for an error message. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Debian's `prometheus` on a free loopback port, scraping `targets` (job ->
 * host:port or URL) every `intervalSeconds`, its data in a temporary folder.
 */
export async function startPrometheus(targets: Record<string, string>, options: { intervalSeconds?: number; binary?: string } = {}): Promise<LocalPrometheus> {
  const interval = options.intervalSeconds ?? 2;
  const dir = await mkdtemp(join(tmpdir(), 'perennial-prometheus-'));
  const jobs = Object.entries(targets).map(([job, target]) => {
    const url = new URL(/^https?:\/\//.test(target) ? target : `http://${target}`);
    const path = url.pathname === '/' ? '/metrics' : url.pathname;
    return `  - job_name: ${JSON.stringify(job)}\n    metrics_path: ${JSON.stringify(path)}\n    static_configs:\n      - targets: [${JSON.stringify(url.host)}]`;
  });
  await writeFile(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: ${interval}s\n  evaluation_interval: ${interval}s\nscrape_configs:\n${jobs.join('\n')}\n`,
  );
  const port = await freePort();
  const binary = options.binary ?? 'prometheus';
  let log = '';
  const child: ChildProcess = spawn(
    binary,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  child.stderr!.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const started = await new Promise<Error | undefined>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(undefined));
  });
  if (started) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot start '${binary}' (${started.message}): install Debian's prometheus (apt-get install prometheus) or pass --prometheus <url>`);
  }
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; ; i++) {
    if (await isReady(url)) break;
    if (child.exitCode !== null || i > 120) {
      await stop();
      throw new Error(`prometheus did not become ready on ${url}; its log:\n${log.slice(-2000)}`);
    }
    await sleep(250);
  }
  return { url, output: () => log, stop };
}

async function isReady(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/-/ready`)).ok;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Target {
  labels: { job: string; instance: string };
  health: string;
  lastError: string;
  lastScrape: string;
}

/**
 * Until every target was scraped `scrapes` times since now and is up (each
 * scrape of a target moves its lastScrape); after `seconds`, an error naming
 * each target down and its last error.
 */
export async function waitForScrapes(prometheusUrl: string, seconds: number, scrapes = 2): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  const seen = new Map<string, Set<string>>();
  for (;;) {
    const targets = ((await api<{ activeTargets: Target[] }>(prometheusUrl, '/api/v1/targets')).activeTargets ?? []).filter((t) => t.lastScrape);
    for (const t of targets) {
      const key = `${t.labels.job} ${t.labels.instance}`;
      if (!seen.has(key)) seen.set(key, new Set());
      if (t.health === 'up') seen.get(key)!.add(t.lastScrape);
    }
    const ready = targets.length > 0 && targets.every((t) => t.health === 'up' && (seen.get(`${t.labels.job} ${t.labels.instance}`)?.size ?? 0) > scrapes);
    if (ready) return;
    if (Date.now() > deadline) {
      const down = targets.filter((t) => t.health !== 'up').map((t) => `${t.labels.job} (${t.labels.instance}): ${t.lastError || t.health}`);
      throw new Error(
        down.length
          ? `Prometheus at ${prometheusUrl} cannot scrape ${down.join('; ')}: start it, or point --worker / --server at where it listens`
          : `Prometheus at ${prometheusUrl} has not scraped its targets ${scrapes} times within ${seconds} s`,
      );
    }
    await sleep(500);
  }
}

async function api<T>(prometheusUrl: string, path: string, params: Record<string, string | string[]> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) for (const value of Array.isArray(v) ? v : [v]) query.append(k, value);
  const url = `${prometheusUrl.replace(/\/$/, '')}${path}${query.size ? `?${query.toString()}` : ''}`;
  let answer: Response;
  try {
    answer = await fetch(url);
  } catch (error) {
    throw new Error(`cannot reach Prometheus at ${prometheusUrl} (${(error as Error).message}): check --prometheus`, { cause: error });
  }
  const body = (await answer.json().catch(() => ({}))) as { status?: string; data?: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? `HTTP ${answer.status}`}`);
  return body.data as T;
}

interface Variable {
  name: string;
  type: string;
  query?: string | { query?: string };
  definition?: string;
  multi?: boolean;
  includeAll?: boolean;
  options?: { value: string }[];
}
interface Panel {
  title?: string;
  type?: string;
  targets?: { expr?: string; refId?: string; hide?: boolean }[];
  panels?: Panel[];
}
interface Dashboard {
  title?: string;
  templating?: { list?: Variable[] };
  panels?: Panel[];
}

export interface QueryResult {
  dashboard: string;
  panel: string;
  expr: string;
  /** Series returned, and of those the ones with a number (not NaN). */
  series: number;
  withValue: number;
  error?: string;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** $name, ${name}, ${name:format} and [[name]] replaced; unknown names (a label_replace's $1) left alone. */
function substitute(expr: string, values: Map<string, string>): string {
  return expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]/g, (whole, a?: string, b?: string, c?: string) => values.get((a ?? b ?? c)!) ?? whole);
}

/** Each variable's value as a query would be written with it: one value, or every value as a regex alternation. */
async function variableValues(prometheusUrl: string, dashboard: Dashboard): Promise<{ values: Map<string, string>; problems: string[] }> {
  const values = new Map(Object.entries(BUILTINS));
  const problems: string[] = [];
  for (const v of dashboard.templating?.list ?? []) {
    let found: string[] = [];
    const text = substitute(typeof v.query === 'string' ? v.query : (v.query?.query ?? v.definition ?? ''), values);
    if (v.type === 'query') {
      const call = /^\s*label_values\(\s*(?:(.*),\s*)?(\w+)\s*\)\s*$/.exec(text);
      if (!call) {
        problems.push(`variable $${v.name}: only label_values(...) queries are checked, not '${text}'`);
      } else {
        found = await api<string[]>(prometheusUrl, `/api/v1/label/${call[2]}/values`, call[1] ? { 'match[]': call[1] } : {});
        if (!found.length) problems.push(`variable $${v.name}: ${text} found no values`);
      }
    } else if (v.type === 'custom') {
      found = text.split(',').map((s) => s.trim());
    } else {
      found = (v.options ?? []).map((o) => o.value);
      if (!found.length && text) found = [text];
    }
    const escaped = found.map(escapeRegex);
    values.set(v.name, escaped.length === 1 ? escaped[0]! : `(${escaped.join('|') || '__no_value__'})`);
  }
  return { values, problems };
}

function* panelsOf(panels: readonly Panel[]): Generator<Panel> {
  for (const p of panels) {
    yield p;
    if (p.panels) yield* panelsOf(p.panels);
  }
}

/** Every query of one dashboard, with its variables substituted, asked once. */
async function runDashboard(prometheusUrl: string, name: string, dashboard: Dashboard, values: Map<string, string>): Promise<QueryResult[]> {
  const results: QueryResult[] = [];
  for (const panel of panelsOf(dashboard.panels ?? [])) {
    for (const target of panel.targets ?? []) {
      if (!target.expr || target.hide) continue;
      const expr = substitute(target.expr, values);
      const result: QueryResult = { dashboard: name, panel: panel.title ?? '(untitled)', expr, series: 0, withValue: 0 };
      try {
        const data = await api<{ resultType: string; result: unknown }>(prometheusUrl, '/api/v1/query', { query: expr });
        type Row = { value?: [number, string]; values?: [number, string][] };
        const rows: Row[] = data.resultType === 'scalar' ? [{ value: data.result as [number, string] }] : (data.result as Row[]);
        result.series = rows.length;
        result.withValue = rows.filter((r) => Number.isFinite(Number((r.value ?? r.values?.at(-1))?.[1] ?? NaN))).length;
      } catch (error) {
        result.error = (error as Error).message;
      }
      results.push(result);
    }
  }
  return results;
}

/**
 * Every query of every dashboard in `dir`; `waitSeconds` asks the empty ones
 * again (every 5 s) until they answer or the time is up.
 */
export async function checkDashboards(prometheusUrl: string, options: { dir?: string; waitSeconds?: number; log?: (line: string) => void } = {}) {
  const dir = options.dir ?? DASHBOARDS;
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  if (!files.length) throw new Error(`no dashboard (*.json) in ${dir}`);
  const deadline = Date.now() + (options.waitSeconds ?? 0) * 1000;
  for (;;) {
    const results: QueryResult[] = [];
    const problems: string[] = [];
    for (const file of files) {
      let dashboard: Dashboard;
      try {
        dashboard = JSON.parse(await readFile(join(dir, file), 'utf8')) as Dashboard;
      } catch (error) {
        throw new Error(`${join(dir, file)}: not JSON (${(error as Error).message})`, { cause: error });
      }
      const vars = await variableValues(prometheusUrl, dashboard);
      for (const p of vars.problems) problems.push(`${file}: ${p}`);
      for (const r of await runDashboard(prometheusUrl, file, dashboard, vars.values)) results.push(r);
    }
    const failed = results.filter((r) => r.withValue === 0);
    if ((!failed.length && !problems.length) || Date.now() > deadline) return { results, problems, failed };
    const panels = [...new Set(failed.map((r) => r.panel))].join('; ');
    options.log?.(`${failed.length} of ${results.length} queries without a series yet (${panels}); asking again in 5 s`);
    await sleep(5000);
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      prometheus: { type: 'string' },
      worker: { type: 'string' },
      server: { type: 'string' },
      dir: { type: 'string' },
      wait: { type: 'string', default: '0' },
      'prometheus-bin': { type: 'string' },
    },
  });
  const waitSeconds = Number(values.wait);
  if (!Number.isFinite(waitSeconds) || waitSeconds < 0) throw new Error(`--wait must be seconds (0 or more), not '${values.wait}'`);
  let local: LocalPrometheus | undefined;
  let prometheusUrl = values.prometheus;
  if (!prometheusUrl) {
    const worker = values.worker ?? process.env.PERENNIAL_WORKER_METRICS_ADDRESS;
    if (!worker) throw new Error('no worker metrics address: pass --worker <host:port> or set PERENNIAL_WORKER_METRICS_ADDRESS (or --prometheus <url>)');
    const server = values.server ?? 'http://127.0.0.1:8080';
    // 0.0.0.0 is where a worker listens, not an address to scrape.
    local = await startPrometheus(
      { 'perennial-worker': worker.replace(/^0\.0\.0\.0:/, '127.0.0.1:'), 'perennial-model-server': server },
      { binary: values['prometheus-bin'] },
    );
    prometheusUrl = local.url;
    console.log(`prometheus: started on ${local.url}, scraping the worker at ${worker} and the model server at ${server} every 2 s`);
  }
  try {
    // A Prometheus of one's own may scrape other things: only ours must have every target up.
    if (local) await waitForScrapes(prometheusUrl, 60);
    const { results, problems, failed } = await checkDashboards(prometheusUrl, { dir: values.dir, waitSeconds, log: (l) => console.log(l) });
    let lastPanel = '';
    for (const r of results) {
      const panel = `${r.dashboard} · ${r.panel}`;
      if (panel !== lastPanel) console.log(`\n${panel}`);
      lastPanel = panel;
      const count = r.error ? `error: ${r.error}` : `${r.series} series${r.withValue !== r.series ? ` (${r.withValue} with a value)` : ''}`;
      console.log(`  ${r.withValue ? 'ok  ' : 'NONE'} ${count.padEnd(12)} ${r.expr}`);
    }
    for (const p of problems) console.log(`\nproblem: ${p}`);
    console.log(`\n${results.length - failed.length} of ${results.length} queries returned a series`);
    if (failed.length || problems.length) {
      for (const r of failed) console.error(`no series: ${r.dashboard} · ${r.panel}: ${r.expr}${r.error ? ` (${r.error})` : ''}`);
      process.exitCode = 1;
    }
  } finally {
    await local?.stop();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error) => {
    console.error(`check-dashboards: ${(error as Error).message}`);
    process.exit(1);
  });
}
