/**
 * The demo's whole story (`npm run demo`, after scripts/demo.sh has trained
 * weather v1): a model of its own, `weather-story`, starts from nothing and
 * its v1 is trained on Seattle; the model server answers production traffic, a
 * load generator sends Seattle's days and posts their true weather a moment
 * later; then the traffic shifts to New York. Drift checks run every few
 * seconds; the model's monitor sees the drift, the estimate before labels and
 * the live accuracy fall, and starts a retraining by itself. The run learns
 * New York from the labelled production traffic (the spec's feedback source),
 * proves its candidate in a canary release on live traffic, and promotes it.
 * Every event is printed as it happens with its Temporal UI link, and a
 * summary ends it. Everything is real: the worker the demo started, the
 * model server as its own process (`perennial serve`), Temporal and S3.
 *
 *   tsx scripts/demo-story.ts [--port 8081] [--seattle-seconds 30] [--max-minutes 12]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { WithStartWorkflowOperation, type Client } from '@temporalio/client';
import { loadConfig, workflowUrl, type PerennialConfig } from '../src/config';
import { loadModelSpecFile, parseModelSpec, publishSpec, type ModelSpec } from '../src/spec';
import { Registry } from '../src/registry';
import { deletePrefix, keys, S3Store, type ObjectStore } from '../src/store';
import { connectClient } from '../src/temporal';
import { monitorWorkflowId } from '../src/temporal/monitor-contract';
import { pipelineStatusQuery, releaseStatusQuery, workflowIds, type PipelineStatus } from '../workflows/definitions';
import type { DriftCheckResult } from '../workflows/drift-check';
import type { ModelMonitorStatus } from '../workflows/monitor';
import { monitorStatusQuery, setThresholdsUpdate } from '../workflows/monitor';
import { monitorThresholds } from '../src/spec/monitoring-spec';
import { bootstrapWeather, WEATHER_SPEC_PATH, weatherRows } from '../src/demo/weather';
import { startRetrain } from '../src/temporal/start-retrain';

/** The story's own model: each run starts it afresh, whatever an earlier run (or a person) did to `weather`. */
const MODEL = 'weather-story';

/** What the story adds to models/weather.yaml: production traffic as training data, a canary release, how the monitor watches. */
function storySpec(base: ModelSpec): ModelSpec {
  return parseModelSpec(
    {
      ...base,
      name: MODEL,
      data: { ...base.data, sources: [...(base.data.sources ?? []), { kind: 'feedback', name: 'production' }] },
      monitoring: {
        segments: ['location'],
        drift: { schedule: 'hourly', window: 1, minRows: 200, maxRows: 100_000, method: 'auto', driftShare: 0.5 },
        // A short cooldown: the story cannot wait an hour between two automatic runs.
        performance: { minAccuracy: 0.55, maxEstimatedDrop: 0.08, minLabels: 150, window: 400, cooldownMinutes: 2 },
        probation: { hours: 1, minLabels: 150, maxDrop: 0.05, alpha: 0.01 },
      },
      release: {
        strategy: 'canary',
        steps: [
          { weight: 0.25, bakeSeconds: 10 },
          { weight: 0.5, bakeSeconds: 10 },
        ],
        minLabels: 60,
        lookEverySeconds: 5,
        maxHours: 1,
      },
    },
    'the demo story (models/weather.yaml with a feedback source, monitoring and a canary release)',
  );
}

interface Day {
  instance: Record<string, unknown>;
  label: string;
}

/** The location's days in a fixed shuffled order: production traffic comes from every season at once, not in date order. */
async function daysOf(location: 'Seattle' | 'New York'): Promise<Day[]> {
  const { columns, rows } = await weatherRows(location);
  const at = (name: string) => columns.indexOf(name);
  const order = rows.map((_, i) => i);
  let seed = 42;
  for (let i = order.length - 1; i > 0; i--) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const j = seed % (i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order
    .map((i) => rows[i]!)
    .map((r) => ({
      instance: {
        precipitation: Number(r[at('precipitation')]),
        temp_max: Number(r[at('temp_max')]),
        temp_min: Number(r[at('temp_min')]),
        wind: Number(r[at('wind')]),
        location,
        date: r[at('date')],
      },
      label: String(r[at('weather')]),
    }));
}

/**
 * Clients sending 8 days a request (each a user of its own) every `pauseMs`, and posting the true labels
 * `labelDelayMs` later. About 50 rows a second: each day comes back a few times, and the labelled traffic the
 * next run trains on stays in the thousands of rows.
 */
function loadGenerator(url: string, first: Day[], clients: number, labelDelayMs: number, pauseMs = 160) {
  let days = first;
  let next = 0;
  let stopped = false;
  const counts = { requests: 0, failed: 0, labels: 0, byVersion: new Map<string, number>(), firstFailure: '' };
  const pending: { at: number; items: { predictionId: string; label: string }[] }[] = [];
  const client = async () => {
    while (!stopped) {
      const batch = Array.from({ length: 8 }, () => days[next++ % days.length]!);
      try {
        const answer = await fetch(`${url}/v1/models/${MODEL}:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-routing-key': `user-${next}` },
          body: JSON.stringify({ instances: batch.map((d) => d.instance) }),
        });
        counts.requests++;
        const body = (await answer.json()) as { model_version: string; prediction_ids: string[] };
        if (answer.status !== 200) {
          counts.failed++;
          counts.firstFailure ||= `HTTP ${answer.status}: ${JSON.stringify(body).slice(0, 200)}`;
          continue;
        }
        counts.byVersion.set(body.model_version, (counts.byVersion.get(body.model_version) ?? 0) + 8);
        pending.push({ at: Date.now() + labelDelayMs, items: body.prediction_ids.map((predictionId, i) => ({ predictionId, label: batch[i]!.label })) });
      } catch (error) {
        counts.failed++;
        counts.firstFailure ||= (error as Error).message;
        await new Promise((r) => setTimeout(r, 200));
      }
      // A steady pace rather than as fast as the server goes: the worker trains on the same cores.
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const labeller = async () => {
    while (!stopped || pending.length > 0) {
      const due = pending.length > 0 && pending[0]!.at <= Date.now() ? pending.splice(0, 50) : [];
      if (due.length === 0) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const items = due.flatMap((d) => d.items);
      const answer = await fetch(`${url}/v1/models/${MODEL}/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ items }),
      }).catch(() => undefined);
      if (answer?.status === 200) counts.labels += items.length;
    }
  };
  const running = Promise.all([...Array.from({ length: clients }, client), labeller()]);
  return {
    counts,
    send(to: Day[]) {
      days = to;
      next = 0;
    },
    async stop() {
      stopped = true;
      await running;
    },
  };
}

async function startServer(port: number): Promise<{ url: string; process: ChildProcess }> {
  const url = `http://127.0.0.1:${port}`;
  if (await fetch(`${url}/v2/health/live`).catch(() => undefined))
    throw new Error(`port ${port} is taken (an earlier story's server?): stop it, or pass --port <another>`);
  const server = spawn(
    process.execPath,
    [
      'bin/perennial.mjs',
      'serve',
      '--port',
      String(port),
      '--models',
      MODEL,
      '--workers',
      '1',
      '--poll-ms',
      '300',
      '--log-seconds',
      '2',
      '--feedback-seconds',
      '1',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  for (let i = 0; i < 240; i++) {
    if (server.exitCode !== null) throw new Error(`perennial serve exited with code ${server.exitCode} (is port ${port} free? --port <another>)`);
    const ready = await fetch(`${url}/v2/health/ready`).catch(() => undefined);
    if (ready?.status === 200) return { url, process: server };
    await new Promise((r) => setTimeout(r, 250));
  }
  server.kill();
  throw new Error(`perennial serve did not get ready on ${url} within 60 s`);
}

/**
 * The story starts from nothing: an earlier run's monitor, retraining and release are ended, and everything the
 * model had in the store (versions, data, production logs, reports) is removed.
 */
async function resetModel(client: Client, store: ObjectStore): Promise<number> {
  const running = client.workflow.list({ query: `ExecutionStatus = 'Running' AND PerennialModel = '${MODEL}'` });
  for await (const w of running)
    await client.workflow
      .getHandle(w.workflowId)
      .terminate('a new demo story starts')
      .catch(() => undefined);
  let removed = 0;
  for (const prefix of [`datasets/${MODEL}/`, `models/${MODEL}/`, `reports/${MODEL}/`, keys.logs(MODEL)]) removed += await deletePrefix(store, prefix);
  return removed;
}

/**
 * The dashboards' check (scripts/check-dashboards.ts) beside the story: Debian's Prometheus scraping the worker
 * and the model server while the story runs, then every query of every dashboard. Only with `prometheus` on the
 * PATH and the worker's metrics address set (scripts/demo.sh sets it).
 */
function checkDashboards(serverUrl: string, waitSeconds: number): { done: Promise<string> } | undefined {
  const worker = process.env.PERENNIAL_WORKER_METRICS_ADDRESS;
  if (!worker || process.env.PERENNIAL_DEMO_DASHBOARDS === '0') return undefined;
  const check = spawn(
    process.execPath,
    ['--import', 'tsx', 'scripts/check-dashboards.ts', '--worker', worker, '--server', serverUrl, '--wait', String(waitSeconds)],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  check.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  check.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return {
    done: new Promise((resolve) => {
      const timer = setTimeout(() => check.kill('SIGTERM'), waitSeconds * 1000 + 60_000);
      check.on('error', (error) => resolve(`the dashboards' check did not start: ${error.message}`));
      check.on('close', () => {
        clearTimeout(timer);
        resolve(output);
      });
    }),
  };
}

const fmt = (x: number | undefined, digits = 3) => (x === undefined ? 'n/a' : x.toFixed(digits));

/** Prints what the monitor, its run and the run's release did since the last look. */
function narrator(client: Client, config: PerennialConfig, started: number) {
  const said = new Set<string>();
  let stage = '';
  let weight = -1;
  const say = (key: string, text: string) => {
    if (said.has(key)) return;
    said.add(key);
    console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${text}`);
  };
  return {
    say,
    async look(): Promise<ModelMonitorStatus> {
      const status = await client.workflow.getHandle(monitorWorkflowId(MODEL)).query(monitorStatusQuery);
      if (status.drift) {
        say(
          `drift ${status.drift.at}`,
          `drift check: ${status.drift.drift ? 'DATASET DRIFT' : 'no dataset drift'}, share ${fmt(status.drift.share, 2)}${status.drift.drifted.length ? ` (${status.drift.drifted.join(', ')})` : ''}${status.drift.reportKey ? `; report s3://${config.s3.bucket}/${status.drift.reportKey}` : ''}`,
        );
      }
      if (status.estimated) {
        const e = status.estimated;
        say(
          `estimate ${e.at}`,
          `estimated accuracy of ${e.version} before labels (CBPE): ${fmt(e.accuracy)} over ${e.rows} predictions (on its holdout: ${fmt(e.reference.accuracy)})`,
        );
      }
      for (const t of status.triggers) {
        say(`trigger ${t.at} ${t.reason}`, `TRIGGER ${t.source}: ${t.reason}${t.evidence ? ` (${t.evidence})` : ''} -> ${t.held ?? t.outcome}`);
      }
      const run = status.inFlight;
      if (run) {
        const handle = client.workflow.getHandle(run.workflowId);
        const { runId } = await handle.describe();
        say(`run ${runId}`, `retraining started by the monitor (${run.source}): ${workflowUrl(config, run.workflowId, runId)}`);
        const pipeline: PipelineStatus | undefined = await handle.query(pipelineStatusQuery).catch(() => undefined);
        if (pipeline && pipeline.stage !== stage) {
          stage = pipeline.stage;
          const done = pipeline.stages.at(-2);
          say(`stage ${runId} ${stage}`, `  stage ${stage}${done?.detail ? ` (after ${done.stage}: ${done.detail})` : ''}`);
        }
        if (pipeline?.stage === 'release') await this.release();
      }
      if (status.lastRun) say(`lastRun ${status.lastRun.endedAt}`, `retraining ended: ${status.lastRun.outcome}: ${status.lastRun.message}`);
      if (status.champion) say(`champion ${status.champion}`, `champion: ${status.champion}`);
      return status;
    },
    async release() {
      const candidates = client.workflow.list({
        query: `WorkflowType = 'ReleaseWorkflow' AND ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH 'release/${MODEL}/'`,
      });
      for await (const w of candidates) {
        const r = await client.workflow
          .getHandle(w.workflowId, w.runId)
          .query(releaseStatusQuery)
          .catch(() => undefined);
        if (!r) continue;
        say(`release ${w.runId}`, `  canary release of ${r.candidate} against ${r.champion}: ${workflowUrl(config, w.workflowId, w.runId)}`);
        if (r.weight !== weight) {
          weight = r.weight;
          say(
            `weight ${w.runId} ${r.weight}`,
            `  ${r.candidate} takes ${(r.weight * 100).toFixed(0)}% of traffic (step ${r.step} of ${r.steps}); test so far: ${r.analysis.decision}`,
          );
        }
      }
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8081' },
      'seattle-seconds': { type: 'string', default: '30' },
      'max-minutes': { type: 'string', default: '12' },
    },
  });
  const config = loadConfig();
  const store = S3Store.fromConfig(config);
  const registry = new Registry(store);
  const client = await connectClient(config);
  const started = Date.now();

  const removed = await resetModel(client, store);
  if (removed > 0) console.log(`${MODEL}: an earlier story's workflows ended and its ${removed} objects removed`);
  // Seattle's four years as incoming batches, then the story's spec: production traffic as training data, a monitor, a canary release.
  await bootstrapWeather(store, { model: MODEL });
  const spec = storySpec(await loadModelSpecFile(WEATHER_SPEC_PATH));
  await publishSpec(store, spec);
  const first = await startRetrain(client, config, { model: MODEL, trigger: 'manual', reason: 'the demo story: v1 on Seattle' });
  console.log(`${MODEL} v1 on Seattle: ${workflowUrl(config, first.workflowId)}`);
  const v1 = await first.handle.result();
  console.log(`  ${v1.outcome}: ${v1.message}`);
  if (v1.outcome !== 'promoted') throw new Error(`v1 was not promoted (${v1.outcome}): the story needs a champion`);

  const { url, process: server } = await startServer(Number(values.port));
  // Ctrl-C ends the server with the story.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => (server.kill('SIGTERM'), process.exit(130)));
  console.log(`model server: ${url} (perennial serve, its own process)`);
  // The monitor, with the spec's thresholds (what `perennial models apply` does).
  await client.workflow.executeUpdateWithStart(setThresholdsUpdate, {
    args: [monitorThresholds(spec)],
    startWorkflowOperation: new WithStartWorkflowOperation('ModelMonitor', {
      workflowId: monitorWorkflowId(MODEL),
      taskQueue: config.taskQueue,
      args: [{ model: MODEL }],
      workflowIdConflictPolicy: 'USE_EXISTING',
    }),
  });
  const monitorRun = (await client.workflow.getHandle(monitorWorkflowId(MODEL)).describe()).runId;
  console.log(`monitor: ${workflowUrl(config, monitorWorkflowId(MODEL), monitorRun)}`);

  const dashboards = checkDashboards(url, 240);
  if (dashboards)
    console.log(
      `dashboards: Prometheus scrapes the worker (${process.env.PERENNIAL_WORKER_METRICS_ADDRESS}) and ${url}; every dashboard query is run once they answer`,
    );
  const seattle = await daysOf('Seattle');
  const newYork = await daysOf('New York');
  const load = loadGenerator(url, seattle, 1, 3000);
  const story = narrator(client, config, started);
  story.say('seattle', `traffic: Seattle's days, labels ${3} s later`);

  const timeline: Record<string, number> = {};
  let before: ModelMonitorStatus | undefined;
  let driftChecks = 0;
  const deadline = started + Number(values['max-minutes']) * 60_000;
  let nextCheck = Date.now() + 10_000;
  let status: ModelMonitorStatus | undefined;
  try {
    while (Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      status = await story.look();
      if (!timeline.shift && Date.now() - started >= Number(values['seattle-seconds']) * 1000) {
        before = status;
        load.send(newYork);
        timeline.shift = Date.now();
        story.say('shift', "TRAFFIC SHIFTS: New York's days from now on");
      }
      if (timeline.shift && !timeline.detected && status.triggers.some((t) => Date.parse(t.at) >= timeline.shift!)) timeline.detected = Date.now();
      if (Date.now() >= nextCheck && !status.inFlight) {
        // What the spec's hourly DriftCheck schedule does, every 15 s for the demo.
        driftChecks++;
        nextCheck = Date.now() + 15_000;
        void client.workflow
          .execute<(input: { model: string; requestedBy: string }) => Promise<DriftCheckResult>>('DriftCheck', {
            taskQueue: config.taskQueue,
            workflowId: `${workflowIds.driftCheck(MODEL)}/demo-${driftChecks}`,
            args: [{ model: MODEL, requestedBy: 'the demo' }],
          })
          .catch((error: Error) => story.say(`check ${driftChecks}`, `drift check failed: ${error.message}`));
      }
      if (timeline.shift && status.champion && before?.champion && status.champion !== before.champion && !timeline.promoted) {
        timeline.promoted = Date.now();
        story.say('promoted', `PROMOTED: ${status.champion} replaces ${before.champion}; 20 s more of New York traffic to see it live`);
        await new Promise((r) => setTimeout(r, 20_000));
        if (dashboards) {
          story.say('dashboards', "waiting for the dashboards' check (traffic goes on)");
          const output = await dashboards.done;
          const lines = output.trim().split('\n');
          const none = lines.filter((l) => l.trimStart().startsWith('NONE'));
          story.say('dashboards done', `dashboards: ${lines.at(-1)}${none.length ? `; without a series:\n${none.join('\n')}` : ''}`);
        }
        status = await story.look();
        break;
      }
    }
  } finally {
    await load.stop();
    server.kill('SIGTERM');
  }

  console.log('\n== summary ==');
  const seg = (s: ModelMonitorStatus | undefined, v: string | null | undefined, key: string) => (v ? s?.segments[v]?.[key] : undefined);
  const old = before?.champion ?? 'v1';
  console.log(
    `requests: ${load.counts.requests} (${load.counts.failed} failed${load.counts.firstFailure ? `, the first: ${load.counts.firstFailure}` : ''}), labels posted: ${load.counts.labels}`,
  );
  for (const version of await registry.listVersions(MODEL)) {
    const lineage = await registry.getLineage(MODEL, version);
    const m = lineage?.metrics;
    if (m?.task === 'classification')
      console.log(`${version}: trained on ${lineage!.data.rows} rows; holdout accuracy ${fmt(m.accuracy)}, macro F1 ${fmt(m.macroF1)}`);
  }
  console.log(
    `${old} live accuracy on Seattle: ${fmt(seg(status, old, 'location=Seattle')?.accuracy)}; on New York: ${fmt(seg(status, old, 'location=New York')?.accuracy)}`,
  );
  if (timeline.promoted && status?.champion) {
    console.log(
      `${status.champion} live accuracy on New York after promotion: ${fmt(seg(status, status.champion, 'location=New York')?.accuracy)} (${seg(status, status.champion, 'location=New York')?.labels ?? 0} labels)`,
    );
  }
  if (timeline.shift) {
    console.log(`from the shift to the first trigger: ${timeline.detected ? `${((timeline.detected - timeline.shift) / 1000).toFixed(0)} s` : 'none'}`);
    console.log(
      `from the shift to promotion: ${timeline.promoted ? `${((timeline.promoted - timeline.shift) / 1000).toFixed(0)} s` : `not within ${values['max-minutes']} min`}`,
    );
  }
  console.log(`monitor: ${workflowUrl(config, monitorWorkflowId(MODEL))}`);
  await client.connection.close();
  if (!timeline.promoted) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`demo: ${(error as Error).message}`);
  process.exit(1);
});
