/**
 * Benchmark (not a test): latency and throughput of `perennial serve` on the
 * weather model, as clients see them over HTTP. Trains and promotes a model
 * (in-process workers), starts the server as its own process, then sends
 * single-row Open Inference Protocol requests one at a time and from several
 * clients at once, and prints p50/p90/p99 and requests/s. Needs the services:
 *   npm run services && npx tsx scripts/bench/serve.ts [--requests 1000] [--clients 8]
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { startBenchWorkers } from './bench-workers';

const { values: flags } = parseArgs({ options: { requests: { type: 'string', default: '1000' }, clients: { type: 'string', default: '8' } } });
const requests = Number(flags.requests);
const clients = Number(flags.clients);

// A champion to serve: the weather model through the pipeline.
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
if (!result.version) throw new Error(`the bench model was not promoted: ${result.message}`);

const port = await new Promise<number>((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: p } = probe.address() as { port: number };
    probe.close(() => resolve(p));
  });
});
const server = spawn(process.execPath, ['bin/perennial.mjs', 'serve', '--port', String(port), '--models', model], { stdio: ['ignore', 'ignore', 'inherit'] });
try {
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/v2/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) break;
    if (i > 600) throw new Error('the server did not become ready within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }

  const body = JSON.stringify({
    inputs: [
      { name: 'precipitation', datatype: 'FP64', shape: [1], data: [0] },
      { name: 'temp_max', datatype: 'FP64', shape: [1], data: [21.1] },
      { name: 'temp_min', datatype: 'FP64', shape: [1], data: [11.7] },
      { name: 'wind', datatype: 'FP64', shape: [1], data: [2.6] },
      { name: 'location', datatype: 'BYTES', shape: [1], data: ['Seattle'] },
      { name: 'date', datatype: 'BYTES', shape: [1], data: ['2015-06-01'] },
    ],
  });
  async function infer(): Promise<number> {
    const started = performance.now();
    const response = await fetch(`${base}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    await response.arrayBuffer();
    if (!response.ok) throw new Error(`infer answered ${response.status}`);
    return performance.now() - started;
  }
  const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  function report(label: string, latencies: number[], seconds: number): void {
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `${label.padEnd(24)} ${String(latencies.length).padStart(6)} requests  p50 ${quantile(sorted, 0.5).toFixed(2)} ms  p90 ${quantile(sorted, 0.9).toFixed(2)} ms  ` +
        `p99 ${quantile(sorted, 0.99).toFixed(2)} ms  ${Math.round(latencies.length / seconds)} req/s`,
    );
  }

  console.log(
    `perennial serve: ${model}/${result.version}; ${availableParallelism()} cores, load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  for (let i = 0; i < 50; i++) await infer(); // warm-up, not counted
  let started = performance.now();
  const sequential: number[] = [];
  for (let i = 0; i < requests; i++) sequential.push(await infer());
  report('one at a time', sequential, (performance.now() - started) / 1000);
  started = performance.now();
  const concurrent: number[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < Math.ceil(requests / clients); i++) concurrent.push(await infer());
    }),
  );
  report(`${clients} clients at once`, concurrent, (performance.now() - started) / 1000);
} finally {
  server.kill('SIGTERM');
  await new Promise((r) => server.once('exit', r));
}
