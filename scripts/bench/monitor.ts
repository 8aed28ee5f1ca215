/**
 * Benchmark (not a test) of the monitor's two paths (issue 10, item 13).
 *
 * 1. Labels per second end to end. The weather model (with
 *    `monitoring.segments: [location]`, so items carry their segment) is
 *    trained through the pipeline on in-process workers, which also run its
 *    ModelMonitor. `perennial serve --workers 1` runs as its own process and
 *    answers --rows predictions (real weather.csv rows, both locations) in
 *    requests of --request-rows. Then a label for every one is posted to the
 *    feedback endpoint by --clients concurrent clients, --label-items per
 *    request. Timed from the first label posted until the monitor's `status`
 *    counts them all (counters.items and the live label count of the version
 *    both equal the labels sent: nothing lost); also when the server had
 *    forwarded them all (its /metrics). The labels come back while the
 *    predictions are still in the server's memory (the join's fast path; a
 *    label joined from the S3 prediction log waits for the log's upload).
 *    Also the CPU seconds the server spent meanwhile (/proc), a figure the
 *    machine's other load moves less than the wall time.
 *
 * 2. Latency from a `drift` signal to the first activity of the run it
 *    triggers: a ModelMonitor for a model without data or spec (each run fails
 *    at its first activity, in a second), cooldown 0 (update
 *    `set-thresholds`); --samples times: a drift signal, wait for the run to
 *    end, then from the histories the time from the signal's event in the
 *    monitor to the child's first ActivityTaskScheduled and ActivityTaskStarted.
 *
 * Prints the figures beside the floors (5,000 labels/s; p50 under
 * 1 s) and the machine's load; asserts nothing about time.
 *
 *   npm run services && npm run bench:monitor -- [--rows 50000] [--request-rows 100] [--label-items 100] [--clients 8] [--samples 30]
 */
import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import proto from '@temporalio/proto';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { publishSpec } from '../../src/spec';
import { startRetrain } from '../../src/temporal';
import { DRIFT_SIGNAL, monitorWorkflowId, type DriftSignal } from '../../src/temporal/monitor-contract';
import { monitorDriftSignal, monitorStatusQuery, setThresholdsUpdate, type ModelMonitor } from '../../workflows/monitor';
import { startBenchWorkers } from './bench-workers';

const { values: flags } = parseArgs({
  options: {
    rows: { type: 'string', default: '50000' },
    'request-rows': { type: 'string', default: '100' },
    'label-items': { type: 'string', default: '100' },
    clients: { type: 'string', default: '8' },
    samples: { type: 'string', default: '30' },
  },
});
const ROWS = Number(flags.rows);
const REQUEST_ROWS = Number(flags['request-rows']);
const LABEL_ITEMS = Number(flags['label-items']);
const CLIENTS = Number(flags.clients);
const SAMPLES = Number(flags.samples);
const LABELS_FLOOR = 5_000;
const LATENCY_FLOOR_MS = 1_000;
/** How often the server's /metrics and the monitor's status are read while labels flow (the readers cost the machine CPU too). */
const POLL_MS = 200;
// The server keeps the last 50,000 predictions in memory for the join; more would be joined from the S3 log.
if (!(ROWS > 0 && ROWS <= 50_000))
  throw new Error(`--rows must be from 1 to 50000 (the predictions the server keeps in memory for the join), not ${flags.rows}`);

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
/** CPU seconds (user + system) of process `root` and its descendants, from /proc (Linux); undefined elsewhere. */
function cpuSeconds(root: number | undefined): number | undefined {
  if (root === undefined) return undefined;
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  try {
    for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        parent.set(Number(entry), Number(fields[1]));
        ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
      } catch {
        // the process ended while listed
      }
    }
  } catch {
    return undefined;
  }
  let sum = 0;
  for (const [pid, t] of ticks) {
    let p: number | undefined = pid;
    while (p !== undefined && p > 1 && p !== root) p = parent.get(p);
    if (p === root) sum += t;
  }
  return sum / CLOCK_TICKS;
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString()) || 100;
  } catch {
    return 100;
  }
})();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/** Runs `n` tasks with `concurrency` workers pulling from one counter. */
async function pool(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

async function postJson(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const json = (await response.json()) as Record<string, unknown>;
  if (!response.ok) throw new Error(`${url} answered ${response.status}: ${JSON.stringify(json).slice(0, 300)}`);
  return json;
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

const bench = await startBenchWorkers();
const { client, config, store } = bench;
const model = `monitor-bench-${bench.id}`;
const noData = `monitor-bench-nodata-${bench.id}`;
const spoolDir = await mkdtemp(join(tmpdir(), 'perennial-bench-monitor-'));
let server: ReturnType<typeof spawn> | undefined;
process.once('exit', () => server?.kill('SIGTERM')); // if this script dies before its finally

try {
  console.log(`machine: ${machine()} (shared with other work: figures move with its load)`);
  // ---------------------------------------------------------------- a champion with segments, served by its own process
  const { spec } = await bootstrapWeather(store, { model });
  await publishSpec(store, {
    ...spec,
    model: { ...spec.model, epochs: 5 },
    evaluation: { ...spec.evaluation, gate: {} },
    monitoring: { ...spec.monitoring, segments: ['location'] },
  });
  const trained = await (await startRetrain(client, config, { model, trigger: 'bench' })).handle.result();
  if (!trained.version) throw new Error(`the bench model was not promoted: ${trained.message}`);
  const version = trained.version;

  const port = await freePort();
  server = spawn(process.execPath, ['bin/perennial.mjs', 'serve', '--port', String(port), '--models', model, '--workers', '1', '--spool-dir', spoolDir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PERENNIAL_TASK_QUEUE: config.taskQueue },
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (
      await fetch(`${base}/v2/health/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error('perennial serve did not become ready within 60 s');
    await sleep(100);
  }

  // ---------------------------------------------------------------- predictions: real rows, both locations, without the label
  const weather = await weatherRows();
  const columns = weather.columns.filter((c) => c !== 'weather');
  const NUMERIC = new Set(['precipitation', 'temp_max', 'temp_min', 'wind']);
  const row = (n: number) => {
    const r = weather.rows[n % weather.rows.length]!;
    return Object.fromEntries(
      columns.map((c) => {
        const cell = r[weather.columns.indexOf(c)] ?? null;
        return [c, cell === null ? null : NUMERIC.has(c) ? Number(cell) : String(cell)];
      }),
    );
  };
  const ids: string[] = new Array(ROWS);
  const labels: string[] = new Array(ROWS);
  let classes: string[] = [];
  const requests = Math.ceil(ROWS / REQUEST_ROWS);
  const predictStart = performance.now();
  await pool(requests, CLIENTS, async (r) => {
    const from = r * REQUEST_ROWS;
    const n = Math.min(REQUEST_ROWS, ROWS - from);
    const answer = (await postJson(`${base}/v1/models/${model}:predict`, { instances: Array.from({ length: n }, (_, i) => row(from + i)) })) as {
      prediction_ids: string[];
      predictions: { label: string; probabilities: Record<string, number> }[];
    };
    answer.prediction_ids.forEach((id, i) => {
      ids[from + i] = id;
      labels[from + i] = answer.predictions[i]!.label;
    });
    if (classes.length === 0) classes = Object.keys(answer.predictions[0]!.probabilities);
  });
  const predictSeconds = (performance.now() - predictStart) / 1000;
  console.log(
    `\n${model}/${version}: ${ROWS} predictions answered in ${requests} requests of ${REQUEST_ROWS} rows by ${CLIENTS} clients in ${predictSeconds.toFixed(1)} s`,
  );

  // ---------------------------------------------------------------- labels: posted as fast as the clients can, until the monitor counts them all
  // Nine in ten the predicted class, one in ten another: the live accuracy stays above any threshold (no retraining starts mid-bench).
  const truth = (i: number) => (i % 10 === 9 ? classes.find((c) => c !== labels[i])! : labels[i]!);
  const labelRequests = Math.ceil(ROWS / LABEL_ITEMS);
  const monitor = client.workflow.getHandle<typeof ModelMonitor>(monitorWorkflowId(model));
  const serverCpu0 = cpuSeconds(server.pid);
  const ownCpu0 = process.cpuUsage();
  const t0 = performance.now();
  let postedAt = 0;
  let forwardedAt = 0;
  let countedAt = 0;
  let counted: { items: number; labels: number; signals: number; dropped: number; duplicates: number; runs: number } | undefined;
  const posting = pool(labelRequests, CLIENTS, async (r) => {
    const from = r * LABEL_ITEMS;
    const items = Array.from({ length: Math.min(LABEL_ITEMS, ROWS - from) }, (_, k) => ({ predictionId: ids[from + k]!, label: truth(from + k) }));
    await postJson(`${base}/v1/models/${model}/feedback`, { items });
  }).then(() => (postedAt = performance.now()));
  const forwarding = (async () => {
    while ((await metric(base, 'perennial_serve_feedback_items_forwarded_total')) < ROWS) await sleep(POLL_MS);
    forwardedAt = performance.now();
  })();
  const deadline = Date.now() + 10 * 60_000;
  for (;;) {
    const status = await monitor.query(monitorStatusQuery).catch(() => undefined); // not started before the first forward
    if (status) {
      const live = status.live[version]?.all.labels ?? 0;
      counted = { ...status.counters, items: status.counters.items, labels: live };
      if (status.counters.items >= ROWS && live >= ROWS) break;
    }
    if (Date.now() > deadline) throw new Error(`the monitor counted ${JSON.stringify(counted)} of ${ROWS} labels in 10 minutes`);
    await sleep(POLL_MS);
  }
  countedAt = performance.now();
  await posting;
  await forwarding;
  const serverCpu = (cpuSeconds(server.pid) ?? NaN) - (serverCpu0 ?? NaN);
  const ownCpu = process.cpuUsage(ownCpu0);
  const seconds = (countedAt - t0) / 1000;
  const labelsPerSecond = ROWS / seconds;
  console.log(
    `labels: ${ROWS} posted in ${labelRequests} requests of ${LABEL_ITEMS} by ${CLIENTS} clients in ${((postedAt - t0) / 1000).toFixed(2)} s; ` +
      `all forwarded to ${monitorWorkflowId(model)} by ${((forwardedAt - t0) / 1000).toFixed(2)} s; all counted by the monitor at ${seconds.toFixed(2)} s`,
  );
  console.log(
    `  monitor: counters.items ${counted.items}, live labels of ${version} ${counted.labels} (sent ${ROWS}: ${counted.items === ROWS && counted.labels === ROWS ? 'nothing lost' : 'MISMATCH'}), ` +
      `${counted.signals} signals, ${counted.duplicates} duplicates, ${counted.dropped} dropped, run ${counted.runs}`,
  );
  console.log(
    `  end to end: ${Math.round(labelsPerSecond)} labels/s (floor ${LABELS_FLOOR}: ${labelsPerSecond >= LABELS_FLOOR ? 'met' : 'NOT met'}); ` +
      `the forward (first label posted to last signal sent): ${((forwardedAt - t0) / 1000).toFixed(2)} s; the monitor after the last signal: ${((countedAt - forwardedAt) / 1000).toFixed(2)} s`,
  );
  console.log(
    `  CPU over that time: the model server ${serverCpu.toFixed(2)} s (${((serverCpu / ROWS) * 1e6).toFixed(0)} µs per label), ` +
      `this process (label clients, status queries, the monitor's worker) ${((ownCpu.user + ownCpu.system) / 1e6).toFixed(2)} s; ` +
      `labels per CPU-second of the server: ${Math.round(ROWS / serverCpu)} (what the forward would reach with a core to itself)`,
  );
  // The state a monitor run carries to the next: the largest continue-as-new payload of this bench (Temporal warns at 512 KB).
  let carried = 0;
  for await (const run of client.workflow.list({ query: `WorkflowId = '${monitorWorkflowId(model)}' AND ExecutionStatus = 'ContinuedAsNew'` })) {
    // Only the close event: a page of the whole history (the signals' labels) is larger than gRPC's 4 MB default.
    const { history } = await client.workflowService.getWorkflowExecutionHistory({
      namespace: client.options.namespace,
      execution: { workflowId: run.workflowId, runId: run.runId },
      historyEventFilterType: proto.temporal.api.enums.v1.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT,
    });
    const bytes = history?.events?.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0]?.data?.length ?? 0;
    carried = Math.max(carried, bytes);
  }
  console.log(`  continue-as-new payload: ${carried} bytes at most (the state, with the prediction ids it remembers hashed)`);
  await monitor.terminate('bench over');

  // ---------------------------------------------------------------- drift signal → the triggered run's first activity
  console.log(`\ndrift signal to the run's first activity (${noData}: no spec, no data; each run fails at its first activity); machine now: ${machine()}`);
  const watched = await client.workflow.start<typeof ModelMonitor>('ModelMonitor', {
    taskQueue: config.taskQueue,
    workflowId: monitorWorkflowId(noData),
    args: [{ model: noData }],
  });
  await watched.executeUpdate(setThresholdsUpdate, { args: [{ cooldownMinutes: 0 }] });
  const drift: DriftSignal = {
    share: 1,
    drift: true,
    columns: [{ name: 'location', method: 'chisquare', statistic: 412.5, p_value: 1e-9, drift: true }],
  };
  const toScheduled: number[] = [];
  const toStarted: number[] = [];
  let lastEnded: string | undefined;
  for (let s = 0; s < SAMPLES; s++) {
    await watched.signal(monitorDriftSignal, drift);
    for (let i = 0; ; i++) {
      const status = await watched.query(monitorStatusQuery);
      if (status.lastRun && status.lastRun.endedAt !== lastEnded && !status.inFlight && !status.queued) {
        lastEnded = status.lastRun.endedAt;
        break;
      }
      if (i > 1200) throw new Error(`sample ${s}: the run did not end within 60 s: ${JSON.stringify(status.inFlight ?? status.lastRun)}`);
      await sleep(50);
    }
    // The monitor's newest drift signal, and the child it started after it.
    const events = (await client.workflow.getHandle(monitorWorkflowId(noData)).fetchHistory()).events ?? [];
    let at = events.length - 1;
    while (at >= 0 && events[at]!.workflowExecutionSignaledEventAttributes?.signalName !== DRIFT_SIGNAL) at--;
    const signalled = toMs(events[at]!.eventTime);
    const child = events.slice(at).find((e) => e.childWorkflowExecutionStartedEventAttributes)?.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (!child) throw new Error(`sample ${s}: no child started after the drift signal`);
    const runEvents = (await client.workflow.getHandle(child.workflowId!, child.runId!).fetchHistory()).events ?? [];
    const scheduled = runEvents.find((e) => e.activityTaskScheduledEventAttributes);
    const started = runEvents.find((e) => e.activityTaskStartedEventAttributes);
    if (!scheduled || !started) throw new Error(`sample ${s}: the run ${child.workflowId} scheduled no activity`);
    toScheduled.push(toMs(scheduled.eventTime) - signalled);
    toStarted.push(toMs(started.eventTime) - signalled);
    if (s === 0) {
      const type = scheduled.activityTaskScheduledEventAttributes!.activityType?.name;
      console.log(`  first activity of each run: ${type}, on ${scheduled.activityTaskScheduledEventAttributes!.taskQueue?.name}`);
    }
  }
  const final = await watched.query(monitorStatusQuery);
  await watched.terminate('bench over');
  const line = (what: string, values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const p50 = quantile(sorted, 0.5);
    return `  signal → first ${what}: p50 ${p50.toFixed(0)} ms, p99 ${quantile(sorted, 0.99).toFixed(0)} ms, min ${sorted[0]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms`;
  };
  console.log(`  ${SAMPLES} samples (runs started by the monitor: ${final.counters.triggers} triggers; last run: ${final.lastRun?.outcome})`);
  console.log(line('ActivityTaskScheduled', toScheduled));
  const p50 = quantile(
    [...toStarted].sort((a, b) => a - b),
    0.5,
  );
  console.log(`${line('ActivityTaskStarted', toStarted)} (floor: p50 under ${LATENCY_FLOOR_MS} ms: ${p50 < LATENCY_FLOOR_MS ? 'met' : 'NOT met'})`);
} finally {
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  await bench.stop();
  await rm(spoolDir, { recursive: true, force: true });
}
