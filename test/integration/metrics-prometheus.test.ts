/**
 * The monitors' metrics in a real Prometheus: the worker program (role all,
 * PERENNIAL_WORKER_METRICS_ADDRESS set) runs a ModelMonitor that a service
 * signals (a retrain that trains and promotes v1, labelled feedback with
 * segments, a drift result with its CBPE estimate, a malformed payload), and
 * Debian's `prometheus` scrapes the worker and a model server. Prometheus
 * must hold the figures the monitor's `status` query reports, the training
 * process's series must come through the same address, and every query of
 * the "Perennial models" dashboard must return a series.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDashboards, startPrometheus, waitForScrapes, type LocalPrometheus } from '../../scripts/check-dashboards';
import { bootstrapWeather } from '../../src/demo/weather';
import { createModelServer, type ModelServer } from '../../src/serve';
import { DRIFT_SIGNAL, FEEDBACK_SIGNAL, MONITOR_STATUS_QUERY, monitorWorkflowId, RETRAIN_SIGNAL } from '../../src/temporal/monitor-contract';
import type { ModelMonitorStatus } from '../../workflows/monitor';
import { startProgram } from '../faults/faults';
import { freePort } from '../helpers/programs';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

let h: Harness;
let worker: (ChildProcess & { output: string }) | undefined;
let server: ModelServer | undefined;
let prometheus: LocalPrometheus | undefined;
const model = `metrics-${uniqueId()}`;
let workerMetrics: string;

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Sample[]> {
  const answer = await fetch(`${prometheus!.url}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await answer.json()) as { status: string; data: { result: Sample[] }; error?: string };
  if (body.status !== 'success') throw new Error(`${expr}: ${body.error}`);
  return body.data.result;
}

/** The one value of `expr` once Prometheus has it (undefined: no series within 60 s, so the assertion names the query). */
async function valueOf(expr: string): Promise<number | undefined> {
  let value: number | undefined;
  await waitFor(
    `a series for ${expr}`,
    async () => {
      const result = await query(expr);
      value = result.length === 1 ? Number(result[0]!.value[1]) : undefined;
      return value !== undefined;
    },
    60,
  ).catch(() => undefined);
  return value;
}

const monitor = () => h.client.workflow.getHandle(monitorWorkflowId(model));
const status = () => monitor().query<ModelMonitorStatus>(MONITOR_STATUS_QUERY);

beforeAll(async () => {
  h = await createHarness();
  await bootstrapWeather(h.store, { model });
  workerMetrics = `127.0.0.1:${await freePort()}`;
  worker = startProgram(h, 'src/worker/main.ts', { PERENNIAL_WORKER_METRICS_ADDRESS: workerMetrics });
  await waitFor(
    'the worker to poll both task queues',
    () => (worker!.output.match(/perennial worker: task queue/g) ?? []).length >= 2,
    90,
    () => worker!.output,
  );
}, 180_000);

afterAll(async () => {
  await server?.close();
  await prometheus?.stop();
  if (worker && worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker!.once('exit', resolve));
  }
  await monitor()
    .terminate('metrics test done')
    .catch(() => undefined);
  await h?.close();
});

describe('the monitors in Prometheus', () => {
  it(
    'has the figures the status query reports, both processes on one address, and every query of the models dashboard answered',
    { timeout: 600_000 },
    async () => {
      // A service asks for a retraining: the monitor starts (signal-with-start), trains and promotes v1.
      await h.client.workflow.signalWithStart('ModelMonitor', {
        workflowId: monitorWorkflowId(model),
        taskQueue: h.config.taskQueue,
        args: [{ model }],
        signal: RETRAIN_SIGNAL,
        signalArgs: [{ reason: 'metrics test: first model', requestedBy: 'metrics-test' }],
      });
      // Ended, and the champion read again from the registry (a promoted run) or not (any other outcome).
      const ended = (s: ModelMonitorStatus) => s.lastRun !== null && (s.lastRun.outcome !== 'promoted' || s.champion !== null);
      await waitFor(
        'the retraining run to end',
        async () => ended(await status()),
        400,
        () => worker!.output,
      );
      const afterRun = await status();
      expect(afterRun.lastRun?.outcome, afterRun.lastRun?.message).toBe('promoted');
      expect(afterRun.champion).toBe('v1');

      // Labels: v1 right 7 times in 10 (Seattle 5 of 6, New York 2 of 4), one duplicate, then a malformed payload.
      const items = Array.from({ length: 10 }, (_, i) => ({
        predictionId: `p${i}`,
        version: 'v1',
        prediction: 'rain',
        label: [0, 1, 2, 3, 4, 6, 7].includes(i) ? 'rain' : 'sun',
        segment: { location: i < 6 ? 'Seattle' : 'New York' },
      }));
      await monitor().signal(FEEDBACK_SIGNAL, { items: items.slice(0, 6) });
      await monitor().signal(FEEDBACK_SIGNAL, { items: items.slice(5) });
      await monitor().signal(FEEDBACK_SIGNAL, { items: 'not a list' });
      const columns = [
        { name: 'location', method: 'chisquare', statistic: 812, p_value: 0, drift: true },
        { name: 'wind', method: 'ks', statistic: 0.05, p_value: 0.4, drift: false },
      ];
      const estimated = { version: 'v1', rows: 150, accuracy: 0.83, macroF1: 0.61, reference: { accuracy: 0.84, macroF1: 0.62 } };
      await monitor().signal(DRIFT_SIGNAL, { share: 0.5, drift: false, columns, estimated });
      await waitFor('the monitor to count the signals', async () => (await status()).counters.signals >= 5, 30);
      const s = await status();
      const all = s.live.v1!.all;
      const window = s.live.v1!.window;
      expect(all.labels).toBe(10);
      expect(all.accuracy).toBeCloseTo(0.7, 12);
      expect(s.counters.dropped).toBe(1);

      // Prometheus scrapes the worker's one address and the model server (serving v1).
      server = await createModelServer({ registry: h.registry, models: [model], pollMs: 250, predictionLog: false, feedback: false, log: () => {} });
      const serverUrl = await server.listen(0, '127.0.0.1');
      prometheus = await startPrometheus({ 'perennial-worker': workerMetrics, 'perennial-model-server': serverUrl }, { intervalSeconds: 1 });
      await waitForScrapes(prometheus.url, 60);

      const m = `model="${model}"`;
      const figures: [string, number | undefined][] = [
        [`perennial_monitor_live_accuracy{${m}, version="v1", window="all", segment="all"}`, all.accuracy],
        [`perennial_monitor_live_macro_f1{${m}, version="v1", window="all", segment="all"}`, all.macroF1],
        [`perennial_monitor_live_labels{${m}, version="v1", window="all", segment="all"}`, all.labels],
        [`perennial_monitor_live_flag_rate{${m}, version="v1", window="all", segment="all"}`, all.flagRate ?? undefined],
        [`perennial_monitor_live_accuracy{${m}, version="v1", window="window", segment="all"}`, window.accuracy],
        [`perennial_monitor_live_accuracy{${m}, version="v1", window="window", segment="location=Seattle"}`, s.segments.v1?.['location=Seattle']?.accuracy],
        [`perennial_monitor_live_accuracy{${m}, version="v1", window="window", segment="location=New York"}`, s.segments.v1?.['location=New York']?.accuracy],
        [`perennial_monitor_estimated_accuracy{${m}, version="v1"}`, s.estimated?.accuracy],
        [`perennial_monitor_estimated_macro_f1{${m}, version="v1"}`, s.estimated?.macroF1],
        [`perennial_monitor_estimated_reference_accuracy{${m}, version="v1"}`, s.estimated?.reference.accuracy],
        [`perennial_monitor_drift_share{${m}}`, s.drift?.share],
        [`perennial_monitor_dataset_drift{${m}}`, s.drift?.drift ? 1 : 0],
        [`perennial_monitor_champion{${m}, version="v1"}`, 1],
        [
          `perennial_monitor_triggers_total{${m}, source="service", outcome="started"}`,
          s.triggers.filter((t) => t.source === 'service' && t.outcome === 'started').length,
        ],
        [`perennial_monitor_runs_total{${m}, trigger="service", outcome="promoted"}`, 1],
        [`perennial_monitor_run_duration_seconds_count{${m}, trigger="service", outcome="promoted"}`, 1],
        [`perennial_monitor_signals_dropped_total{${m}, signal="feedback"}`, s.counters.dropped],
        [`perennial_serve_traffic_weight{${m}, version="v1", role="champion"}`, 1],
      ];
      // The status query reports each of these (a figure it lacks would make the comparison vacuous).
      expect(figures.filter(([, expected]) => expected === undefined).map(([expr]) => expr)).toEqual([]);
      const seen: Record<string, number | undefined> = {};
      for (const [expr] of figures) seen[expr] = await valueOf(expr);
      expect(seen).toEqual(Object.fromEntries(figures.map(([expr, expected]) => [expr, expected])));
      expect(s.segments.v1?.['location=Seattle']?.accuracy).toBeCloseTo(5 / 6, 12);
      // The run's duration lies in its buckets (5 s to 4 h) and adds up to what it took.
      const seconds = (Date.parse(afterRun.lastRun!.endedAt) - Date.parse(afterRun.triggers[0]!.at)) / 1000;
      const sum = await valueOf(`perennial_monitor_run_duration_seconds_sum{${m}}`);
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThanOrEqual(seconds);
      expect(await valueOf(`perennial_monitor_run_duration_seconds_bucket{${m}, le="14400"}`)).toBe(1);
      console.log(`run duration ${sum} s recorded (trigger to end ${seconds} s)`);

      // Each series names its worker process and task queue; the training process's series come through the same address.
      const [series] = await query(`perennial_monitor_live_accuracy{${m}, window="all", segment="all"}`);
      expect(series!.metric).toMatchObject({
        worker_process: 'workflows',
        taskQueue: h.config.taskQueue,
        workflowType: 'ModelMonitor',
        job: 'perennial-worker',
      });
      const training = await valueOf(
        `sum(temporal_activity_execution_latency_count{task_queue="${h.config.trainingTaskQueue}", worker_process="training", activity_type="train"})`,
      );
      expect(training).toBeGreaterThanOrEqual(1);

      // Every query of the models dashboard answers (its $model narrowed to this test's model).
      const dir = await mkdtemp(join(tmpdir(), 'perennial-dashboards-'));
      try {
        const source = fileURLToPath(new URL('../../deploy/grafana/dashboards/perennial-models.json', import.meta.url));
        const dashboard = JSON.parse(await readFile(source, 'utf8')) as { templating: { list: { name: string; query: unknown; definition?: string }[] } };
        const variable = dashboard.templating.list.find((v) => v.name === 'model')!;
        variable.query = variable.definition = `label_values(perennial_monitor_champion{${m}}, model)`;
        await writeFile(join(dir, 'perennial-models.json'), JSON.stringify(dashboard));
        const { results, problems, failed } = await checkDashboards(prometheus.url, { dir, waitSeconds: 30 });
        for (const r of results) console.log(`${r.withValue ? 'ok  ' : 'NONE'} ${r.series} series  ${r.panel}: ${r.expr}`);
        expect(problems).toEqual([]);
        expect(failed.map((r) => `${r.panel}: ${r.expr}`)).toEqual([]);
        expect(results.length).toBeGreaterThan(15);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  );
});
