/**
 * Benchmark (not a test): the flights model through RetrainingPipeline on all
 * 3 million rows (or every nth), with the worker program run as users run it
 * (separate processes; --workers N starts N of them, so N training workers
 * share the fanned-out validateBatch and snapshotPart tasks). Prints per
 * activity its tasks, wall time (first start to last completion, from the
 * workflow history), rows/s, summed task seconds and tasks per worker, and
 * the peak resident memory of every worker process and of the training
 * children under them. Needs the services:
 *   npm run services && npx tsx scripts/bench/flights-pipeline.ts [--every 1] [--workers 1] [--partition-rows 500000]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadConfig } from '../../src/config';
import { bootstrapFlights } from '../../src/demo/flights';
import { S3Store } from '../../src/store';
import { connectClient, startRetrain } from '../../src/temporal';

const { values: flags } = parseArgs({
  options: { every: { type: 'string', default: '1' }, workers: { type: 'string', default: '1' }, 'partition-rows': { type: 'string' } },
  strict: true,
});
const everyNth = Number(flags.every);
const id = Math.random().toString(16).slice(2, 10);
const taskQueue = `perennial-bench-${id}`;
const config = { ...loadConfig(), taskQueue, trainingTaskQueue: `${taskQueue}-training` };
const store = S3Store.fromConfig(config);
const client = await connectClient(config);
const model = `flights-bench-${id}`;

// --- peak RSS of each worker process and every process under it (training children), from /proc
const peaks = new Map<number, { name: string; kb: number }>();
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(entry));
    } catch {
      // gone already
    }
  }
  return out;
}
function sample(root: number, label: string): void {
  const visit = (pid: number, name: string) => {
    try {
      const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
      const environ = readFileSync(`/proc/${pid}/environ`, 'utf8');
      const kind = cmd.includes('esbuild')
        ? `${label} tsx compiler (esbuild) ${pid}`
        : cmd.includes('train-child')
          ? `${label} training child ${pid}`
          : environ.includes('PERENNIAL_WORKER_ROLE=training')
            ? `${label} training worker ${pid}`
            : name;
      const kb = Number(hwm?.[1] ?? 0);
      if (kb > (peaks.get(pid)?.kb ?? 0)) peaks.set(pid, { name: kind, kb });
    } catch {
      return;
    }
    for (const c of childrenOf(pid)) visit(c, `${label} child ${c}`);
  };
  visit(root, label);
}

const workers: ChildProcess[] = [];
for (let i = 0; i < Number(flags.workers); i++) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/worker/main.ts'], {
    env: { ...process.env, PERENNIAL_TASK_QUEUE: taskQueue, PERENNIAL_LOG_LEVEL: 'WARN' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  workers.push(child);
}
const sampler = setInterval(() => workers.forEach((w, i) => sample(w.pid!, `worker program ${i + 1}`)), 250);

const bootStarted = performance.now();
const { batches } = await bootstrapFlights(store, { model, everyNth });
const rows = batches.reduce((n, b) => n + b.rows, 0);
console.log(
  `flights: ${rows.toLocaleString('en-US')} rows in ${batches.length} monthly Parquet batches uploaded in ${((performance.now() - bootStarted) / 1000).toFixed(1)} s`,
);

const started = performance.now();
const partitionRows = flags['partition-rows'] ? Number(flags['partition-rows']) : undefined;
const { handle } = await startRetrain(client, config, { model, trigger: 'bench', ...(partitionRows ? { partitionRows } : {}) });
const result = await handle.result();
const wall = (performance.now() - started) / 1000;
clearInterval(sampler);

const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
const scheduled = new Map<string, string>();
const startedAt = new Map<string, number>();
/** Per activity type: tasks, their summed seconds, first start and last completion (its wall time: tasks of one stage run in parallel). */
const stages = new Map<string, { tasks: number; taskSeconds: number; first: number; last: number; workers: Map<string, number> }>();
for (const e of (await handle.fetchHistory()).events ?? []) {
  if (e.activityTaskScheduledEventAttributes) scheduled.set(String(e.eventId), e.activityTaskScheduledEventAttributes.activityType!.name!);
  const started = e.activityTaskStartedEventAttributes;
  if (started) {
    startedAt.set(String(started.scheduledEventId), toMs(e.eventTime));
    const stage = stages.get(scheduled.get(String(started.scheduledEventId))!) ?? { tasks: 0, taskSeconds: 0, first: Infinity, last: 0, workers: new Map() };
    stage.workers.set(started.identity!, (stage.workers.get(started.identity!) ?? 0) + 1);
    stages.set(scheduled.get(String(started.scheduledEventId))!, stage);
  }
  if (e.activityTaskCompletedEventAttributes) {
    const s = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
    const stage = stages.get(scheduled.get(s)!)!;
    stage.tasks += 1;
    stage.taskSeconds += (toMs(e.eventTime) - startedAt.get(s)!) / 1000;
    stage.first = Math.min(stage.first, startedAt.get(s)!);
    stage.last = Math.max(stage.last, toMs(e.eventTime));
  }
}
const m = result.metrics?.candidate;
console.log(
  `outcome ${result.outcome} (${result.version ?? result.message}); wall ${wall.toFixed(1)} s; ` +
    (m?.task === 'regression' ? `holdout RMSE ${m.rmse.toFixed(2)} vs mean baseline ${result.metrics!.baseline!.toFixed(2)}` : ''),
);
console.log('activity       tasks  wall s      rows/s  task s  tasks per worker');
for (const [name, stage] of stages) {
  const seconds = (stage.last - stage.first) / 1000;
  console.log(
    `${name.padEnd(14)} ${String(stage.tasks).padStart(5)} ${seconds.toFixed(1).padStart(7)} ${Math.round(rows / seconds)
      .toLocaleString('en-US')
      .padStart(11)} ${stage.taskSeconds.toFixed(1).padStart(7)}  ${[...stage.workers.values()].join(' + ')}`,
  );
}
console.log('peak RSS (VmHWM):');
for (const { name, kb } of [...peaks.values()].sort((a, b) => a.name.localeCompare(b.name)))
  console.log(`  ${name.padEnd(36)} ${(kb / 1024).toFixed(0).padStart(6)} MB`);

for (const w of workers) w.kill('SIGTERM');
await Promise.all(workers.map((w) => new Promise((r) => w.once('exit', r))));
await client.connection.close();
