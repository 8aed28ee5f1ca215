/**
 * Benchmark (not a test): RetrainingPipeline wall time on the weather model,
 * split into activity compute (started → completed, from the workflow history)
 * and orchestration overhead (everything else: scheduling, task queues,
 * workflow tasks, S3 round trips between steps). Needs the services:
 *   npm run services && npx tsx scripts/bench/pipeline.ts [runs]
 */
import { bootstrapWeather } from '../../src/demo/weather';
import { startRetrain } from '../../src/temporal';
import { startBenchWorkers } from './bench-workers';

const runs = Number(process.argv[2] ?? 3);
const { id, config, store, client, stop } = await startBenchWorkers();
const model = `bench-${id}`;
await bootstrapWeather(store, { model });

const toMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;

interface Row {
  run: string;
  outcome: string;
  wallMs: number;
  computeMs: number;
  queueMs: number;
  perActivity: Record<string, number>;
}
const rows: Row[] = [];
for (let i = 0; i < runs + 1; i++) {
  const force = i > 0 && i < runs; // run 0 trains on new data; forced re-runs train again; the last is 'unchanged'
  const started = performance.now();
  const { handle } = await startRetrain(client, config, { model, trigger: `bench${i}`, force });
  const result = await handle.result();
  const wallMs = performance.now() - started;
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, { name: string; at: number }>();
  const startedAt = new Map<string, number>();
  const perActivity: Record<string, number> = {};
  let computeMs = 0;
  let queueMs = 0;
  for (const e of history.events ?? []) {
    const id = String(e.eventId);
    if (e.activityTaskScheduledEventAttributes) scheduled.set(id, { name: e.activityTaskScheduledEventAttributes.activityType!.name!, at: toMs(e.eventTime) });
    if (e.activityTaskStartedEventAttributes) {
      const s = String(e.activityTaskStartedEventAttributes.scheduledEventId);
      startedAt.set(s, toMs(e.eventTime));
      queueMs += toMs(e.eventTime) - scheduled.get(s)!.at;
    }
    if (e.activityTaskCompletedEventAttributes) {
      const s = String(e.activityTaskCompletedEventAttributes.scheduledEventId);
      const ms = toMs(e.eventTime) - startedAt.get(s)!;
      const name = scheduled.get(s)!.name;
      perActivity[name] = (perActivity[name] ?? 0) + ms;
      computeMs += ms;
    }
  }
  rows.push({ run: `#${i}${force ? ' (force)' : ''}`, outcome: result.outcome, wallMs, computeMs, queueMs, perActivity });
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(2)}s`;
console.log(`RetrainingPipeline on weather (Seattle, 1461 rows, 40 epochs), Temporal ${config.temporalAddress}, S3 ${store.description}`);
console.log('run          outcome    wall     activities  overhead  (overhead %)  schedule→start');
for (const r of rows) {
  const overhead = r.wallMs - r.computeMs;
  console.log(
    `${r.run.padEnd(12)} ${r.outcome.padEnd(10)} ${fmt(r.wallMs).padStart(7)}  ${fmt(r.computeMs).padStart(9)}  ${fmt(overhead).padStart(8)}  ${((overhead / r.wallMs) * 100).toFixed(1).padStart(6)}%      ${fmt(r.queueMs)}`,
  );
}
console.log('\nactivity compute, per run (s):');
const names = [...new Set(rows.flatMap((r) => Object.keys(r.perActivity)))];
const width = (n: string) => Math.max(11, n.length + 2);
console.log('run          ' + names.map((n) => n.padStart(width(n))).join(''));
for (const r of rows)
  console.log(
    r.run.padEnd(12) + ' ' + names.map((n) => (r.perActivity[n] !== undefined ? (r.perActivity[n] / 1000).toFixed(3) : '-').padStart(width(n))).join(''),
  );

await stop();
