/**
 * Benchmark (not a test): throughput and latency of `perennial serve` on the
 * weather model as HTTP clients see them, and MLServer beside it when Python is
 * there. Trains and promotes a model through the pipeline (in-process workers),
 * starts the server as its own process, and drives it from a load generator in
 * another process (load-client.ts: keep-alive connections, closed loop) with
 * Open Inference Protocol requests: 1 row and --batch rows (32), from 1 client
 * and from --clients (8). Prints requests/s, rows/s, p50/p99 per case.
 *
 * The server is first warmed on every case (not measured). Champion only,
 * then with a 10% canary: every Perennial request carries a routing key of its
 * own (header x-routing-key, as distinct users) in every phase, so the release
 * is the only difference. After the champion-only cases (Perennial and
 * MLServer back to back), a second version is registered from the champion's
 * own files (the same weights: the same work per request, only the version
 * differs), and Perennial alone runs: champion only (before); a canary release
 * at weight 0.1 (registry.startRelease) once the server routes it (its
 * metadata's parameters.release, on every worker); the release ended
 * rolled-back, champion only again (after). The before and after runs bracket
 * the canary run in time, and how far they differ is this machine's noise.
 * The answers' model_version gives the candidate's share (checked against 10%
 * within a binomial bound, and against the server's /metrics per version).
 * Routing cost per case: 1 - canary req/s / champion-only req/s (the mean of
 * before and after), against the issue's floor of 5%; the same from the
 * server's CPU time per request (/proc/<pid>/stat of the server and its worker
 * processes over each measured window, read by the load generator), which
 * other load on the machine moves less; and the routing decision alone
 * (routing.ts, timed in this process) as a share of that CPU.
 *
 * MLServer (unless --no-mlserver): a venv in .data/venv-mlserver (created with
 * mlserver, mlserver-sklearn, scikit-learn and pandas on first use), a
 * scikit-learn MLPClassifier with the version's layer sizes trained on the
 * matrix Perennial's preprocessor produced for the version's training rows,
 * Perennial's fitted encoding in front of it (mlserver/perennial_features.py)
 * so both servers take the same raw-column request (MLServer's pandas codec),
 * and the same load generator. Prints both side by side, the ratios, and
 * whether the issue's floors are met. If MLServer cannot be installed or
 * started it says why and the Perennial figures still come out (exit 0).
 *
 *   npm run services && npm run bench:serve -- [--seconds 10] [--warmup 2] [--clients 8] [--batch 32]
 *     [--no-mlserver] [--python python3] [--mlserver-workers <n, default: cores>] [--keep (MLServer's scratch folder)]
 */
import { execFileSync, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { readSnapshot } from '../../activities/datasets';
import { splitByTime } from '../../src/data';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { encodeTable, labeledRowIndexes, transform } from '../../src/preprocess';
import { loadBundle, Registry } from '../../src/registry';
import type { BundleFile } from '../../src/store';
import { answeringArm, routingKeyOf } from '../../src/serve/routing';
import { startRetrain } from '../../src/temporal';
import { startBenchWorkers } from './bench-workers';
import type { LoadOptions, LoadResult } from './load-client';
import { startMlserver, type RunningMlserver, type TrainingExport } from './mlserver/mlserver';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    clients: { type: 'string', default: '8' },
    batch: { type: 'string', default: '32' },
    'no-mlserver': { type: 'boolean', default: false },
    python: { type: 'string', default: process.env.PYTHON ?? 'python3' },
    'mlserver-workers': { type: 'string', default: String(availableParallelism()) },
    keep: { type: 'boolean', default: false },
  },
});
const seconds = Number(flags.seconds);
const warmup = Number(flags.warmup);
const clients = Number(flags.clients);
const batch = Number(flags.batch);

const machine = () =>
  `${availableParallelism()} cores, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`;
const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });

// ---------------------------------------------------------------- a champion to serve: the weather model through the pipeline

const bench = await startBenchWorkers();
const { config, store } = bench;
const model = `serve-bench-${bench.id}`;
await bootstrapWeather(store, { model });
let result;
try {
  result = await (await startRetrain(bench.client, config, { model, trigger: 'bench' })).handle.result();
} finally {
  await bench.stop();
}
const version = result.version;
if (!version) throw new Error(`the bench model was not promoted: ${result.message}`);

// ---------------------------------------------------------------- the request rows: the last `batch` Seattle days, without the label

const weather = await weatherRows('Seattle');
const NUMERIC = ['precipitation', 'temp_max', 'temp_min', 'wind'];
const requestColumns = weather.columns.filter((c) => c !== 'weather');
const requestRows = weather.rows.slice(-batch).map((r) =>
  Object.fromEntries(
    requestColumns.map((c) => {
      const cell = r[weather.columns.indexOf(c)] ?? null;
      return [c, cell === null ? null : NUMERIC.includes(c) ? Number(cell) : String(cell)];
    }),
  ),
);
/** An OIP request of the first `n` rows: one tensor per column, numbers FP64, text BYTES; `outputs` by the server's names. */
function oipBody(n: number, outputs: string[]): string {
  const rows = requestRows.slice(0, n);
  return JSON.stringify({
    inputs: requestColumns.map((c) => ({ name: c, datatype: NUMERIC.includes(c) ? 'FP64' : 'BYTES', shape: [n], data: rows.map((r) => r[c]) })),
    outputs: outputs.map((name) => ({ name })),
  });
}
const PERENNIAL_OUTPUTS = ['label', 'probabilities'];
const MLSERVER_OUTPUTS = ['predict', 'predict_proba'];

// ---------------------------------------------------------------- what the MLServer side trains on: the version's own encoded training rows

const bundle = await loadBundle(new Registry(store), model, version);
const perennialAccuracy = 'accuracy' in bundle.metrics.candidate ? bundle.metrics.candidate.accuracy : NaN;

async function trainingExport(): Promise<TrainingExport> {
  const { lineage, spec, preprocessor: artifact } = bundle;
  if (artifact.labels.kind !== 'classification') throw new Error('the weather model should be a classifier');
  const table = await readSnapshot(store, spec, {
    sha256: lineage.data.snapshotSha256,
    key: lineage.data.snapshotKey,
    fileSha256: lineage.data.snapshotFileSha256,
    rows: lineage.data.rows,
    batches: [],
  });
  const { train, holdout } = splitByTime(table, labeledRowIndexes(table, spec.label), spec.evaluation.holdoutFraction, spec.data.timeColumn);
  const part = (rows: Int32Array) => {
    const e = encodeTable(artifact, table, rows);
    return { x: Array.from(e.x), rows: e.rows, cols: e.cols, y: Array.from(e.y) };
  };
  const check = transform(artifact.preprocessor, requestRows);
  return {
    preprocessor: artifact.preprocessor,
    classes: artifact.labels.classes,
    params: spec.model,
    train: part(train),
    holdout: part(holdout),
    check: {
      columns: Object.fromEntries(requestColumns.map((c) => [c, requestRows.map((r) => r[c] ?? null)])),
      x: Array.from(check.x),
      rows: check.rows,
      cols: check.cols,
    },
  };
}

// ---------------------------------------------------------------- the load generator, in its own process

/** A run of the load generator: `warmup` s, then `seconds` s measured, unless `more` says otherwise (routing keys, the server's pid for its CPU). */
function load(url: string, body: string, connections: number, more: Partial<LoadOptions> = {}): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const options = JSON.stringify({ url, body, connections, seconds, warmupSeconds: warmup, ...more } satisfies LoadOptions);
    const child = spawn(process.execPath, ['--import', 'tsx', new URL('./load-client.ts', import.meta.url).pathname, options], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as LoadResult) : reject(new Error(`load-client exited with ${code}`))));
  });
}

// ---------------------------------------------------------------- the canary: a second version, released at 10%

const registry = new Registry(store);
const CANARY_WEIGHT = 0.1;
const BY = 'bench:serve';
/** The issue's floor: routing costs under 5% of throughput. */
const ROUTING_FLOOR = 0.05;
/** Set once registered and released: the finally ends a release still in flight. */
let candidate: string | undefined;
let releaseInFlight = false;

/** A second version from the champion's own files: the same weights, so the same work per request; only the version differs. */
async function registerFromChampion(): Promise<string> {
  const lineage = await registry.getLineage(model, version!);
  if (!lineage) throw new Error(`${model}/${version} has no lineage`);
  const { version: _v, artifacts, createdAt: _c, ...rest } = lineage;
  const files = await Promise.all(artifacts.map(async (a) => ({ name: a.name as BundleFile, body: await store.get(a.key) })));
  const workflow = { id: `serve-bench/${bench.id}/canary`, runId: `canary-${bench.id}` };
  return (await registry.register(model, files, { ...rest, workflow }, new Date())).version;
}

type Release = { mode: string; weight: number; candidate: string } | null;
type Metadata = { parameters: { release: Release; refused: { version: string; reason: string }[] } };
/** The model's metadata over a connection of its own (with cluster workers, each new connection may reach another one). */
function metadataOnce(base: string): Promise<Metadata> {
  return new Promise((resolve, reject) => {
    httpGet(`${base}/v2/models/${model}`, { agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          resolve(JSON.parse(text) as Metadata);
        } catch (error) {
          reject(new Error(`metadata answered ${res.statusCode}: ${text.slice(0, 200)} (${(error as Error).message})`));
        }
      });
    }).on('error', reject);
  });
}
/**
 * Waits until the server's metadata says it routes `want` (null: the champion
 * alone) on 10 reads in a row, each on a new connection (every worker of a
 * cluster, not one); the seconds it took.
 */
async function routed(base: string, want: Release, timeoutSeconds = 120): Promise<number> {
  const started = performance.now();
  for (let agreeing = 0; agreeing < 10;) {
    const meta = await metadataOnce(base);
    const r = meta.parameters.release;
    agreeing = (want === null ? r === null : r?.mode === want.mode && r.weight === want.weight && r.candidate === want.candidate) ? agreeing + 1 : 0;
    const refused = want && meta.parameters.refused.find((x) => x.version === want.candidate);
    if (refused) throw new Error(`the server refused the candidate ${want.candidate}: ${refused.reason}`);
    if (performance.now() - started > timeoutSeconds * 1000) throw new Error(`the server did not route ${JSON.stringify(want)} within ${timeoutSeconds} s`);
    if (agreeing === 0) await new Promise((r) => setTimeout(r, 100));
  }
  return (performance.now() - started) / 1000;
}

/**
 * The routing decision alone, as the server makes it per request (the key from
 * the header, sha256 of candidate and key, the arm), in microseconds per request,
 * timed here on distinct keys: the best of three passes.
 */
function routingDecisionMicroseconds(candidate: string): number {
  const route = { mode: 'canary' as const, weight: CANARY_WEIGHT, candidate };
  let best = Infinity;
  let onCandidate = 0;
  for (let pass = 0; pass < 3; pass++) {
    const n = 100_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) if (answeringArm(route, routingKeyOf(`decision-${pass}-${i}-${bench.id}`)) === 'candidate') onCandidate++;
    best = Math.min(best, ((performance.now() - started) * 1000) / n);
  }
  if (onCandidate === 0) throw new Error('the routing decision never picked the candidate');
  return best;
}

/** Inference requests the server answered 200 on the OIP route, per version, from its /metrics. */
async function answeredPerVersion(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('perennial_serve_requests_total{') || !line.includes(`model="${model}"`)) continue;
    if (!line.includes('protocol="v2"') || !line.includes('code="200"')) continue;
    const v = /version="([^"]*)"/.exec(line)?.[1] ?? '?';
    out.set(v, (out.get(v) ?? 0) + Number(line.split(' ').at(-1)));
  }
  return out;
}

// ---------------------------------------------------------------- servers

/** Clock ticks per second of /proc/<pid>/stat, for the server's CPU time. */
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
  } catch {
    return 100;
  }
})();

const perennialPort = await freePort();
const perennial = spawn(process.execPath, ['bin/perennial.mjs', 'serve', '--port', String(perennialPort), '--models', model], {
  stdio: ['ignore', 'ignore', 'inherit'],
});
const perennialBase = `http://127.0.0.1:${perennialPort}`;
process.once('exit', () => perennial.kill('SIGTERM')); // if this script dies before its finally

let mlserver: RunningMlserver | undefined;
let mlserverWhyNot: string | undefined;
const workDir = `.data/bench-mlserver/${bench.id}`;
const mlserverWorkers = Number(flags['mlserver-workers']);

try {
  console.log(`machine: ${machine()}`);
  console.log(
    `model: ${model}/${version}, MLP ${JSON.stringify(bundle.spec.model.hiddenUnits)} on ${bundle.preprocessor.preprocessor.columns.length} encoded columns, ` +
      `holdout accuracy ${perennialAccuracy.toFixed(3)}`,
  );
  if (flags['no-mlserver']) mlserverWhyNot = '--no-mlserver';
  else {
    try {
      const data = await trainingExport();
      mlserver = await startMlserver({
        python: flags.python,
        venv: '.data/venv-mlserver',
        workDir,
        model,
        version,
        data,
        workers: mlserverWorkers,
        ports: { http: await freePort(), grpc: await freePort(), metrics: await freePort() },
        log: (line) => console.log(`mlserver: ${line}`),
      });
      const t = mlserver.trained;
      console.log(
        `mlserver ${mlserver.mlserverVersion} (parallel_workers ${mlserverWorkers}, adaptive batching off, 1 BLAS thread each): sklearn ${t.sklearn} MLPClassifier ${JSON.stringify(t.hidden)} ${t.activation}, ` +
          `trained on the same ${t.trainRows} encoded rows x ${t.inputColumns} columns; holdout accuracy ${t.holdoutAccuracy.toFixed(3)} ` +
          `(Perennial's: ${perennialAccuracy.toFixed(3)}); Python encoding of the request rows vs Perennial's: max diff ${t.encodingMaxDiff.toExponential(1)}`,
      );
    } catch (error) {
      mlserverWhyNot = (error as Error).message;
    }
  }
  if (!mlserver) console.log(`mlserver: not run: ${mlserverWhyNot}`);

  for (let i = 0; ; i++) {
    const ready = await fetch(`${perennialBase}/v2/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 600) throw new Error('perennial serve did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }

  // One batch request to each, to see both answer and compare their labels.
  const probe = async (base: string, outputs: string[]) => {
    const response = await fetch(`${base}/v2/models/${model}/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: oipBody(batch, outputs),
    });
    const json = (await response.json()) as { outputs?: { name: string; data: unknown[] }[] };
    if (!response.ok) throw new Error(`${base} answered ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
    return json.outputs!.find((o) => o.name === outputs[0])!.data.map(String);
  };
  const perennialLabels = await probe(perennialBase, PERENNIAL_OUTPUTS);
  if (mlserver) {
    const mlserverLabels = await probe(mlserver.base, MLSERVER_OUTPUTS);
    const agree = perennialLabels.filter((l, i) => l === mlserverLabels[i]).length;
    console.log(`the two models' labels agree on ${agree} of the ${batch} request rows (two models trained alike, not one model)`);
  }

  // ---------------------------------------------------------------- champion only: each case on Perennial then MLServer back to back
  const cases = [
    { rows: 1, connections: 1 },
    { rows: 1, connections: clients },
    { rows: batch, connections: 1 },
    { rows: batch, connections: clients },
  ];
  const caseName = (c: { rows: number; connections: number }) =>
    `${c.rows} row${c.rows > 1 ? 's' : ''}, ${c.connections} client${c.connections > 1 ? 's' : ''}`;
  const results: {
    rows: number;
    connections: number;
    perennial: LoadResult;
    mlserver?: LoadResult;
    /** Perennial alone: champion only, then with the 10% canary, then champion only again once it ended. */
    before?: LoadResult;
    canary?: LoadResult;
    after?: LoadResult;
  }[] = [];
  const perennialUrl = `${perennialBase}/v2/models/${model}/infer`;
  /** A Perennial run: every request its own routing key, and the server's CPU time per request (Linux). */
  const loadPerennial = (body: string, connections: number, routingKeys: string, more: Partial<LoadOptions> = {}) =>
    load(perennialUrl, body, connections, { routingKeys, cpuOfPid: perennial.pid, clockTicks: CLOCK_TICKS, ...more });
  /** A routing-key prefix per phase and case: every Perennial request of the bench has a key of its own. */
  const keys = (phase: string, i: number) => `${phase}-${i}-${bench.id}`;
  console.log(`\neach case: ${warmup} s warm-up, then ${seconds} s measured; closed loop, keep-alive connections, the load generator in its own process`);
  const line = (server: string, c: { rows: number }, r: LoadResult, note = '') =>
    console.log(
      `  ${server.padEnd(10)} ${String(r.requests).padStart(7)} requests  ${fmt(r.requestsPerSecond).padStart(7)} req/s  ${fmt(r.requestsPerSecond * c.rows).padStart(7)} rows/s  ` +
        `p50 ${r.latencyMs.p50.toFixed(2)} ms  p90 ${r.latencyMs.p90.toFixed(2)} ms  p99 ${r.latencyMs.p99.toFixed(2)} ms  max ${r.latencyMs.max.toFixed(1)} ms` +
        note +
        (r.non2xx + r.errors > 0 ? `  FAILED ${r.non2xx + r.errors}: ${r.firstError}` : ''),
    );
  // A fresh server is slower for a while (compilation, first allocations): warmed on every case first, so the first phase is not the cold one.
  let processes: number | undefined;
  for (const [i, c] of cases.entries()) {
    processes = (await loadPerennial(oipBody(c.rows, PERENNIAL_OUTPUTS), c.connections, keys('warm-up', i), { seconds: warmup })).serverProcesses;
  }
  console.log(`perennial serve warmed up: each case ${2 * warmup} s, not measured (the server: ${processes ?? '?'} process${processes === 1 ? '' : 'es'})`);
  console.log(`\nchampion only (${version}); each Perennial request with a routing key of its own:`);
  for (const [i, c] of cases.entries()) {
    console.log(`${caseName(c)}:`);
    const p = await loadPerennial(oipBody(c.rows, PERENNIAL_OUTPUTS), c.connections, keys('champion', i));
    line('perennial', c, p);
    let m: LoadResult | undefined;
    if (mlserver) {
      m = await load(`${mlserver.base}/v2/models/${model}/infer`, oipBody(c.rows, MLSERVER_OUTPUTS), c.connections);
      line('mlserver', c, m);
    }
    results.push({ ...c, perennial: p, mlserver: m });
  }

  // ---------------------------------------------------------------- a 10% canary against champion only, Perennial alone
  // The baseline is measured again without MLServer's runs in between, as the canary and the run after it are.
  console.log(`\nchampion only, Perennial alone: the runs the canary is compared with (machine now: ${machine()})`);
  for (const [i, r] of results.entries()) {
    console.log(`${caseName(r)}:`);
    r.before = await loadPerennial(oipBody(r.rows, PERENNIAL_OUTPUTS), r.connections, keys('before', i));
    line('perennial', r, r.before);
  }
  candidate = await registerFromChampion();
  const metricsBefore = await answeredPerVersion(perennialBase);
  const release = { mode: 'canary', weight: CANARY_WEIGHT, candidate };
  await registry.startRelease(model, { ...release, mode: 'canary', expectedChampion: version, by: BY, now: new Date(), reason: 'bench:serve: routing cost' });
  releaseInFlight = true;
  const tookToRoute = await routed(perennialBase, release);
  const share = (r: LoadResult) => (r.versions[candidate!] ?? 0) / Math.max(1, r.requests - r.non2xx - r.errors);
  console.log(
    `\n${pct(CANARY_WEIGHT)} canary: ${candidate} registered from ${version}'s files (the same weights: the same work per request), ` +
      `released at weight ${CANARY_WEIGHT}; the server routed it ${tookToRoute.toFixed(1)} s after startRelease (machine now: ${machine()})`,
  );
  for (const [i, r] of results.entries()) {
    console.log(`${caseName(r)}:`);
    r.canary = await loadPerennial(oipBody(r.rows, PERENNIAL_OUTPUTS), r.connections, keys('canary', i));
    line('canary', r, r.canary, `  candidate answered ${r.canary.versions[candidate] ?? 0} (${pct(share(r.canary))})`);
  }
  const metricsAfter = await answeredPerVersion(perennialBase);
  await registry.endRelease(model, { candidate, outcome: 'rolled-back', by: BY, now: new Date(), reason: 'bench:serve: done' });
  releaseInFlight = false;
  const tookToLeave = await routed(perennialBase, null);
  console.log(`release ended rolled-back; the server was back on ${version} alone ${tookToLeave.toFixed(1)} s later`);

  console.log(`\nchampion only again, to bracket the canary run (how far the two differ is this machine's noise; machine now: ${machine()}):`);
  for (const [i, r] of results.entries()) {
    console.log(`${caseName(r)}:`);
    r.after = await loadPerennial(oipBody(r.rows, PERENNIAL_OUTPUTS), r.connections, keys('after', i));
    line('perennial', r, r.after);
  }

  // ---------------------------------------------------------------- side by side, ratios, floors
  console.log(`\nsummary (machine now: ${machine()})`);
  const head = (s: string) => s.padStart(8);
  console.log(
    `${'case'.padEnd(20)}| ${head('req/s')}${head('rows/s')}${head('p50 ms')}${head('p99 ms')} | ${head('req/s')}${head('rows/s')}${head('p50 ms')}${head('p99 ms')} | ${head('req/s')}${head('p99')}`,
  );
  console.log(`${''.padEnd(20)}| ${'perennial'.padEnd(32)} | ${'mlserver'.padEnd(32)} | ${'perennial ÷ mlserver'.padEnd(16)}`);
  const cells = (r: LoadResult | undefined, rows: number) =>
    r
      ? `${head(fmt(r.requestsPerSecond))}${head(fmt(r.requestsPerSecond * rows))}${head(r.latencyMs.p50.toFixed(2))}${head(r.latencyMs.p99.toFixed(2))}`
      : head('-').repeat(4);
  for (const r of results) {
    const ratios = r.mlserver
      ? `${head(`${(r.perennial.requestsPerSecond / r.mlserver.requestsPerSecond).toFixed(2)}x`)}${head(`${(r.perennial.latencyMs.p99 / r.mlserver.latencyMs.p99).toFixed(2)}x`)}`
      : head('-').repeat(2);
    console.log(`${caseName(r).padEnd(20)}| ${cells(r.perennial, r.rows)} | ${cells(r.mlserver, r.rows)} | ${ratios}`);
  }

  // Champion only: the mean of the run before the canary and the one after it (a drift during the bench cancels out);
  // noise: how far those two runs are apart, relative to their mean.
  type Row = (typeof results)[number];
  const meanOf = (a: number, b: number) => (a + b) / 2;
  const championRps = (r: Row) => meanOf(r.before!.requestsPerSecond, r.after!.requestsPerSecond);
  const rpsCost = (r: Row) => 1 - r.canary!.requestsPerSecond / championRps(r);
  const rpsNoise = (r: Row) => Math.abs(r.after!.requestsPerSecond - r.before!.requestsPerSecond) / championRps(r);
  // The same from the server's CPU per request: the throughput a CPU-bound server loses is 1 - champion CPU ÷ canary CPU.
  const cpuKnown = (r: Row) => [r.before!, r.canary!, r.after!].every((x) => x.cpuMsPerRequest !== undefined);
  const championCpu = (r: Row) => meanOf(r.before!.cpuMsPerRequest!, r.after!.cpuMsPerRequest!);
  const cpuCost = (r: Row) => 1 - championCpu(r) / r.canary!.cpuMsPerRequest!;
  const cpuNoise = (r: Row) => Math.abs(r.after!.cpuMsPerRequest! - r.before!.cpuMsPerRequest!) / championCpu(r);
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
  const us = (r: LoadResult) => (r.cpuMsPerRequest === undefined ? '-' : (1000 * r.cpuMsPerRequest).toFixed(0));
  const small = (r: LoadResult) => `${head(fmt(r.requestsPerSecond))}${head(r.latencyMs.p50.toFixed(2))}${head(r.latencyMs.p99.toFixed(2))}${head(us(r))}`;
  const phase = (s: string) => ` ${s.padEnd(32)} |`;
  console.log(`\nPerennial, champion only vs a ${pct(CANARY_WEIGHT)} canary (every request its own routing key)`);
  console.log(
    `${'case'.padEnd(20)}|${phase('champion only, before')}${phase(`${pct(CANARY_WEIGHT)} canary`)}${phase('champion only, after')}` +
      ` ${'routing cost'.padEnd(16)} | ${'noise'.padEnd(16)} |${head('on cand.')}`,
  );
  const columns = `${head('req/s')}${head('p50 ms')}${head('p99 ms')}${head('CPU µs')} |`;
  console.log(`${''.padEnd(20)}|${columns}${columns}${columns}${head('req/s')}${head('CPU')} |${head('req/s')}${head('CPU')} |${head('share')}`);
  for (const r of results) {
    const cpu = cpuKnown(r);
    console.log(
      `${caseName(r).padEnd(20)}|${small(r.before!)} |${small(r.canary!)} |${small(r.after!)} |` +
        `${head(signed(rpsCost(r)))}${head(cpu ? signed(cpuCost(r)) : '-')} |${head(pct(rpsNoise(r)))}${head(cpu ? pct(cpuNoise(r)) : '-')} |` +
        `${head(pct(share(r.canary!)))}`,
    );
  }
  console.log(
    "CPU µs: the server's CPU time (all threads, all its processes) per measured request; routing cost: 1 - canary req/s ÷ champion-only req/s, " +
      'and 1 - champion-only CPU ÷ canary CPU per request, champion only being the mean of the runs before and after the canary; ' +
      'noise: how far those two champion-only runs are apart',
  );

  // The candidate's share: distinct keys, so each answer is a draw of about CANARY_WEIGHT; and the server's own count.
  const answered = results.reduce((n, r) => n + r.canary!.requests - r.canary!.non2xx - r.canary!.errors, 0);
  const onCandidate = results.reduce((n, r) => n + (r.canary!.versions[candidate!] ?? 0), 0);
  const others = [...new Set(results.flatMap((r) => Object.keys(r.canary!.versions)))].filter((v) => v !== candidate && v !== version);
  const bound = 4.5 * Math.sqrt((CANARY_WEIGHT * (1 - CANARY_WEIGHT)) / Math.max(1, answered));
  const shareAll = onCandidate / Math.max(1, answered);
  const served = (m: Map<string, number>, v: string) => m.get(v) ?? 0;
  const [metricsCandidate, metricsChampion] = [candidate, version].map((v) => served(metricsAfter, v) - served(metricsBefore, v)) as [number, number];
  console.log(
    `the candidate answered ${onCandidate} of the ${answered} measured canary requests: ${pct(shareAll, 2)} ` +
      `(${pct(CANARY_WEIGHT)} ± ${pct(bound, 2)} expected, 4.5 sd: ${Math.abs(shareAll - CANARY_WEIGHT) <= bound ? 'ok' : 'OUTSIDE'})` +
      (others.length > 0 ? `; answers from other versions: ${others.join(', ')}` : '') +
      `; the server's /metrics over the canary phase, warm-ups included: ${metricsCandidate} of ${metricsCandidate + metricsChampion} on the candidate ` +
      `(${pct(metricsCandidate / Math.max(1, metricsCandidate + metricsChampion), 2)})`,
  );

  // The decision itself, timed while no load runs: what routing adds per request before anything else (a second model loaded, its metrics).
  const decision = routingDecisionMicroseconds(candidate);
  const shares = results
    .filter((r) => cpuKnown(r) && r.connections === 1)
    .map((r) => `${pct(decision / (1000 * championCpu(r)), 2)} of a ${r.rows}-row request's (${(1000 * championCpu(r)).toFixed(0)} µs)`);
  console.log(
    `the routing decision alone (routingKeyOf + answeringArm, src/serve/routing.ts, timed in this process on distinct keys): ${decision.toFixed(2)} µs per request` +
      (shares.length > 0 ? `, ${shares.join(', ')} server CPU, champion only` : ''),
  );

  const failed = results.filter((r) => [r.perennial, r.mlserver, r.before, r.canary, r.after].some((x) => x !== undefined && x.non2xx + x.errors > 0));
  if (failed.length > 0) console.log(`requests failed in: ${failed.map(caseName).join('; ')} (see above)`);

  console.log("\nthe issue's floors (measured on this run, not asserted):");
  for (const r of results.filter((x) => x.rows === 1)) {
    if (!r.mlserver) {
      console.log(`  ${caseName(r)}: Perennial ≥ 2x MLServer's requests/s with a lower p99: not measured (MLServer did not run, see above)`);
      continue;
    }
    const ratio = r.perennial.requestsPerSecond / r.mlserver.requestsPerSecond;
    const [pp, mp] = [r.perennial.latencyMs.p99, r.mlserver.latencyMs.p99];
    console.log(
      `  ${caseName(r)}: requests/s ≥ 2x MLServer's: ${ratio.toFixed(2)}x, ${ratio >= 2 ? 'met' : 'NOT met'}; ` +
        `lower p99: ${pp.toFixed(2)} ms vs ${mp.toFixed(2)} ms, ${pp < mp ? 'met' : 'NOT met'}`,
    );
  }
  for (const r of results) {
    const verdict = (cost: number, noise: number) =>
      `${cost < ROUTING_FLOOR ? 'met' : 'NOT met'}${noise >= ROUTING_FLOOR ? ` (but the champion-only runs are ${pct(noise)} apart: not resolved by this run)` : ''}`;
    const byCpu = cpuKnown(r)
      ? `; by server CPU per request ${signed(cpuCost(r))} (${us(r.canary!)} vs ${(1000 * championCpu(r)).toFixed(0)} µs), ${verdict(cpuCost(r), cpuNoise(r))}`
      : '';
    console.log(
      `  ${caseName(r)}: routing under ${pct(ROUTING_FLOOR)} of throughput (${pct(CANARY_WEIGHT)} canary vs champion only): ` +
        `by requests/s ${signed(rpsCost(r))} (${fmt(r.canary!.requestsPerSecond)} vs ${fmt(championRps(r))}), ${verdict(rpsCost(r), rpsNoise(r))}${byCpu}`,
    );
  }
} finally {
  if (releaseInFlight && candidate) {
    // The bench leaves no release in flight, even when it failed half-way.
    await registry
      .endRelease(model, { candidate, outcome: 'rolled-back', by: BY, now: new Date(), reason: 'bench:serve: stopped' })
      .catch((error: Error) => console.log(`could not end the release of ${candidate}: ${error.message}`));
  }
  const exited = perennial.exitCode !== null || perennial.signalCode !== null ? Promise.resolve() : new Promise((r) => perennial.once('exit', r));
  perennial.kill('SIGTERM');
  await Promise.all([exited, mlserver?.stop()]);
  if (mlserver && !flags.keep) await rm(workDir, { recursive: true, force: true });
  else if (!flags['no-mlserver']) console.log(`MLServer's scratch folder (export, model, settings, log): ${workDir}`);
}

function fmt(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}
function pct(x: number, digits = 1): string {
  return `${(100 * x).toFixed(Number.isInteger(100 * x) && digits === 1 ? 0 : digits)}%`;
}
