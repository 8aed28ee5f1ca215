/**
 * Releases decided on live traffic, end to end on the real services: the
 * pipeline (in-process workers) trains and registers a candidate, its
 * ReleaseWorkflow moves aliases.json, the model server (createModelServer on a
 * free port, real S3) routes by routing key and logs every prediction, a load
 * generator in this test sends real weather rows and posts their true labels
 * to the feedback route, and each look of the release reads both arms' labels
 * back from the feedback log in S3.
 *
 * - a good candidate (same data, another seed) goes through both canary
 *   steps and is promoted by the pipeline, the sequential test concluding it
 *   no worse; not one request fails through the switches;
 * - a bad candidate (a model trained on the same rows with their labels
 *   shuffled) in an A/B release is rolled back by the test's 'inferior'
 *   decision, long before any time limit, and all traffic is back on the
 *   champion; the release record says why, with the evidence;
 * - shadow: the candidate never answers a client; its shadow predictions,
 *   paired with the labels posted for the champion's answers, get it rolled
 *   back;
 * - guards read from a real Prometheus (Debian's `prometheus`, scraping the
 *   model server every second): a p99 latency limit no server meets rolls the
 *   candidate back with the value Prometheus measured, before the test could
 *   decide anything.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCsv } from '../../src/data';
import { bootstrapWeather, weatherRows, WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { mulberry32 } from '../../src/model/rng';
import type { BundleFile } from '../../src/store';
import { keys } from '../../src/store';
import { createModelServer, type ModelServer } from '../../src/serve';
import { loadModelSpecFile, publishSpec, releaseSpec, type ModelSpec, type ReleaseSpec } from '../../src/spec';
import { startRetrain } from '../../src/temporal';
import { RELEASE_PARTS_PREFIX } from '../../activities/release';
import { workflowIds, type ReleaseResult } from '../../workflows/definitions';
import type { ReleaseWorkflow } from '../../workflows';
import { freePort, scrapeMetric } from '../helpers/programs';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

const model = `release-${uniqueId()}`;
let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
let server: ModelServer | undefined;
let spoolDir: string;
let url: string;
let spec: ModelSpec;
/** Seattle's days with their true weather: what the load generator sends and labels. */
let days: { instance: Record<string, unknown>; label: string }[];
/** The candidate trained on shuffled labels (the second test registers it). */
let bad = '';

beforeAll(async () => {
  h = await createHarness();
  // A release's log parts kept between looks go 5 s after its last look here (an hour by default).
  worker = await h.startWorker({ deps: { releasePartsIdleMs: 5000 } });
  await bootstrapWeather(h.store, { model });
  spec = { ...(await loadModelSpecFile(WEATHER_SPEC_PATH)), name: model };
  const first = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(first.outcome, first.message).toBe('promoted');

  const { columns, rows } = await weatherRows('Seattle');
  const at = (name: string) => columns.indexOf(name);
  days = rows.map((r) => ({
    instance: {
      precipitation: Number(r[at('precipitation')]),
      temp_max: Number(r[at('temp_max')]),
      temp_min: Number(r[at('temp_min')]),
      wind: Number(r[at('wind')]),
      location: 'Seattle',
      date: r[at('date')],
    },
    label: String(r[at('weather')]),
  }));

  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-release-'));
  server = await createModelServer({
    registry: h.registry,
    models: [model],
    pollMs: 200,
    predictionLog: { spoolDir, maxSeconds: 1 },
    feedback: { maxSeconds: 1 },
    log: () => {},
  });
  url = await server.listen(0, '127.0.0.1');
}, 300_000);

afterAll(async () => {
  await server?.close();
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

const REQUEST_TIMEOUT_MS = 30_000;

/**
 * Clients sending 8 days a request, each request its own routing key (a user),
 * then the true labels of what they were answered, until stopped.
 */
function loadGenerator(clients = 3) {
  let stopped = false;
  const counts = { requests: 0, failed: 0, labels: 0, byVersion: new Map<string, number>() };
  const failures: string[] = [];
  let next = 0;
  const client = async () => {
    while (!stopped) {
      const batch = Array.from({ length: 8 }, () => days[next++ % days.length]!);
      const key = `user-${next}`;
      try {
        const answer = await fetch(`${url}/v1/models/${model}:predict`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-routing-key': key },
          body: JSON.stringify({ instances: batch.map((d) => d.instance) }),
          // A request the server never answers is a failure with its name, not a test that hangs until its timeout.
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        counts.requests++;
        const body = (await answer.json()) as { model_version: string; prediction_ids: string[]; error?: string };
        if (answer.status !== 200) {
          counts.failed++;
          failures.push(`${answer.status}: ${body.error}`);
          continue;
        }
        counts.byVersion.set(body.model_version, (counts.byVersion.get(body.model_version) ?? 0) + 1);
        const labelled = await fetch(`${url}/v1/models/${model}/feedback`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ items: body.prediction_ids.map((predictionId, i) => ({ predictionId, label: batch[i]!.label })) }),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        if (labelled.status === 200) counts.labels += batch.length;
        else failures.push(`feedback ${labelled.status}: ${await labelled.text()}`);
      } catch (error) {
        counts.failed++;
        failures.push(`${(error as Error).name}: ${(error as Error).message}`);
      }
    }
  };
  const running = Promise.all(Array.from({ length: clients }, client));
  return {
    counts,
    failures,
    async stop() {
      stopped = true;
      await running;
    },
  };
}

/** The shuffled-label candidate released against champion v2 as the pipeline would start it, while clients send traffic and labels. */
async function releaseUnderLoad(release: ReleaseSpec, clients?: number): Promise<{ result: ReleaseResult; load: ReturnType<typeof loadGenerator> }> {
  // The server follows aliases.json every 200 ms: the release before this one must be over there too.
  await waitFor(
    'the server to route no release',
    async () => ((await (await fetch(`${url}/v2/models/${model}`)).json()) as { parameters: { release: unknown } }).parameters.release === null,
    10,
  );
  const load = loadGenerator(clients);
  try {
    const result = await h.client.workflow.execute<typeof ReleaseWorkflow>('ReleaseWorkflow', {
      taskQueue: h.config.taskQueue,
      workflowId: workflowIds.release(model, bad),
      args: [{ model, candidate: bad, champion: 'v2', task: 'classification', release, trigger: 'test' }],
    });
    return { result, load };
  } finally {
    await load.stop();
  }
}

describe('a release decided on live traffic', () => {
  it('a good candidate goes through every canary step and the pipeline promotes it; no request fails', async () => {
    const release = releaseSpec.parse({
      strategy: 'canary',
      steps: [
        { weight: 0.2, bakeSeconds: 3, minLabels: 40 },
        { weight: 0.5, bakeSeconds: 3, minLabels: 40 },
      ],
      lookEverySeconds: 2,
      minLabels: 100,
      margin: 0.1,
      maxLabels: 20_000,
      maxHours: 1,
    });
    await publishSpec(h.store, {
      ...spec,
      model: { ...spec.model, seed: 7 },
      evaluation: { ...spec.evaluation, gate: { ...spec.evaluation.gate, maxRegression: { metric: 'macroF1', by: 0.2 } } },
      release,
    });
    const load = loadGenerator();
    // The worker (in this process) keeps the release's log parts on disk between looks, and removes them once looks stop.
    const partsDirs = async () => (await readdir(tmpdir())).filter((name) => name.startsWith(`${RELEASE_PARTS_PREFIX}${model}-v2-`));
    let partsSeen = false;
    const watching = setInterval(() => void partsDirs().then((dirs) => (partsSeen ||= dirs.length > 0)), 250);
    let result;
    try {
      result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual', force: true })).handle.result();
    } finally {
      clearInterval(watching);
      await load.stop();
    }
    expect(result.outcome, result.message).toBe('promoted');
    expect(partsSeen).toBe(true);
    await waitFor('the log parts of the ended release removed', async () => (await partsDirs()).length === 0, 30);
    expect(result).toMatchObject({ version: 'v2', champion: 'v2' });
    expect(result.message).toMatch(
      /^.*\/v2 promoted to champion after its canary release \(previous: v1\): the candidate is no worse than the champion: candidate not inferior/,
    );
    expect(load.failures).toEqual([]);
    expect(load.counts.byVersion.get('v2')).toBeGreaterThan(0);
    // The server's live figures: every label posted, joined once, per version and arm (v2 answered as the candidate).
    await waitFor(
      'every posted label in the live metrics',
      async () => (await scrapeMetric(url, 'perennial_serve_live_labels_total')) === load.counts.labels,
      30,
    );
    const metrics = await (await fetch(`${url}/metrics`)).text();
    const liveOf = (version: string, arm: string, outcome: string) =>
      Number(
        new RegExp(`^perennial_serve_live_labels_total\\{[^}]*version="${version}"[^}]*arm="${arm}"[^}]*outcome="${outcome}"[^}]*\\} (\\S+)$`, 'm').exec(
          metrics,
        )?.[1] ?? 0,
      );
    expect(liveOf('v2', 'candidate', 'correct') + liveOf('v2', 'candidate', 'wrong')).toBeGreaterThan(0);
    expect(liveOf('v1', 'champion', 'correct') / (liveOf('v1', 'champion', 'correct') + liveOf('v1', 'champion', 'wrong'))).toBeGreaterThan(0.5);

    const aliases = await h.registry.getAliases(model);
    expect(aliases).toMatchObject({ champion: 'v2', previous: 'v1', canary: null });
    expect(aliases.history.filter((e) => e.action.startsWith('release-')).map((e) => [e.action, e.weight ?? e.outcome])).toEqual([
      ['release-start', 0.2],
      ['release-weight', 0.5],
      ['release-end', 'promoted'],
    ]);
    const record = JSON.parse((await h.store.get(keys.release(model, 'v2'))).toString()) as {
      outcome: string;
      analysis: { decision: string; labels: { candidate: number; champion: number } };
    };
    expect(record.outcome).toBe('promoted');
    expect(record.analysis.decision).toBe('non-inferior');
    expect(record.analysis.labels.candidate).toBeGreaterThanOrEqual(100);
    expect(record.analysis.labels.champion).toBeGreaterThanOrEqual(100);
    console.log(`canary release: ${load.counts.requests} requests, ${load.counts.failed} failed; ${result.message}`);
  }, 300_000);

  it('a candidate trained on shuffled labels is rolled back by the sequential test, and all traffic returns to the champion', async () => {
    // The same rows with their labels shuffled, trained by the pipeline as a model of its own (a gate it passes),
    // then registered here as a version, as a retraining on corrupted labels would have produced it.
    const shuffled = `${model}-shuffled`;
    const { columns, rows } = await weatherRows('Seattle');
    const label = columns.indexOf('weather');
    const random = mulberry32(11);
    const labels = rows.map((r) => r[label]);
    for (let i = labels.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [labels[i], labels[j]] = [labels[j]!, labels[i]!];
    }
    await h.store.put(
      keys.incomingBatch(shuffled, 'seattle-shuffled.csv'),
      formatCsv(
        columns,
        rows.map((r, i) => r.map((c, k) => (k === label ? labels[i]! : c))),
      ),
    );
    await publishSpec(h.store, { ...spec, name: shuffled, evaluation: { holdoutFraction: 0.2, gate: { minAccuracy: 0, mustBeatBaseline: false } } });
    const trained = await (await startRetrain(h.client, h.config, { model: shuffled, trigger: 'manual' })).handle.result();
    expect(trained.outcome, trained.message).toBe('promoted');
    const lineage = (await h.registry.getLineage(shuffled, 'v1'))!;
    const bundle = await Promise.all(lineage.artifacts.map(async (a) => ({ name: a.name as BundleFile, body: await h.store.get(a.key) })));
    const { version: _v, artifacts: _a, createdAt: _c, ...rest } = lineage;
    ({ version: bad } = await h.registry.register(
      model,
      bundle,
      { ...rest, model, workflow: { id: `release-test/${shuffled}`, runId: uniqueId() } },
      new Date(),
    ));

    const release = releaseSpec.parse({ strategy: 'ab', weight: 0.5, lookEverySeconds: 2, minLabels: 50, margin: 0.05, maxHours: 1 });
    const started = Date.now();
    const { result, load } = await releaseUnderLoad(release);
    const seconds = (Date.now() - started) / 1000;
    expect(result.outcome).toBe('rolled-back');
    expect(result.analysis.decision).toBe('inferior');
    expect(result.reason).toMatch(/^the candidate is worse than the champion: candidate inferior/);
    expect(seconds).toBeLessThan(120); // decided by the test, an hour before maxHours
    console.log(`A/B release of the shuffled-label candidate, rolled back after ${seconds.toFixed(1)} s: ${result.reason}`);
    expect(load.failures).toEqual([]);
    const aliases = await h.registry.getAliases(model);
    expect(aliases).toMatchObject({ champion: 'v2', canary: null });
    expect(aliases.history.at(-1)).toMatchObject({ action: 'release-end', outcome: 'rolled-back', to: bad });
    // The server follows: every answer from the champion again.
    const after = await fetch(`${url}/v1/models/${model}:predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-routing-key': 'after' },
      body: JSON.stringify({ instances: [days[0]!.instance] }),
    });
    expect(((await after.json()) as { model_version: string }).model_version).toBe('v2');
    const record = JSON.parse((await h.store.get(keys.release(model, bad))).toString()) as { outcome: string; reason: string };
    expect(record).toMatchObject({ outcome: 'rolled-back', reason: result.reason });
  }, 300_000);

  it('a guard read from Prometheus rolls the candidate back with the value it measured', async () => {
    if (!bad) throw new Error('the candidate of the test before is needed');
    const dir = await mkdtemp(join(tmpdir(), 'perennial-prometheus-'));
    const port = await freePort();
    await writeFile(
      join(dir, 'prometheus.yml'),
      `global: { scrape_interval: 1s }\nscrape_configs:\n  - job_name: perennial-model-server\n    static_configs: [{ targets: ['${new URL(url).host}'] }]\n`,
    );
    let prometheus: ChildProcess | undefined;
    const output: string[] = [];
    try {
      prometheus = spawn(
        'prometheus',
        [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      prometheus.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
      const prometheusUrl = `http://127.0.0.1:${port}`;
      await waitFor(
        'Prometheus to scrape the model server',
        async () => {
          const answer = await fetch(`${prometheusUrl}/api/v1/query?query=up`)
            .then((r) => r.json() as Promise<{ data?: { result: { value: [number, string] }[] } }>)
            // Not up yet: refused, or a page that is not JSON while it starts.
            .catch(() => null);
          return answer?.data?.result[0]?.value[1] === '1';
        },
        30,
        () => output.join(''),
      );
      await worker?.stop();
      worker = await h.startWorker({ deps: { prometheusUrl, releasePartsIdleMs: 5000 } });

      const release = releaseSpec.parse({
        strategy: 'ab',
        weight: 0.5,
        lookEverySeconds: 3,
        minLabels: 100_000,
        maxLabels: null,
        guards: [{ metric: 'p99-latency', maxMs: 0.001, minRequests: 5, inconclusiveLimit: 3 }],
      });
      const { result, load } = await releaseUnderLoad(release, 2);
      expect(result.outcome).toBe('rolled-back');
      expect(result.analysis.decision).toBe('continue');
      // The p99 Prometheus computed from the server's histogram, over the limit.
      expect(result.reason).toMatch(/^guard 'p99-latency' failed: .*p99 latency \d+(\.\d+)? ms .*0\.001 ms/);
      expect(load.failures).toEqual([]);
      expect((await h.registry.getAliases(model)).canary).toBeNull();
    } finally {
      prometheus?.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it("in shadow, every answer stays the champion's while the candidate's shadow predictions, paired with the labels, get it rolled back", async () => {
    if (!bad) throw new Error('the candidate of the tests before is needed');
    const release = releaseSpec.parse({ strategy: 'shadow', lookEverySeconds: 2, minLabels: 50, margin: 0.05, maxHours: 1 });
    const { result, load } = await releaseUnderLoad(release, 2);
    expect(result.outcome).toBe('rolled-back');
    expect(result.analysis.decision).toBe('inferior');
    expect(result.analysis.labels.candidate).toBe(result.analysis.labels.champion); // paired: the same rows, both arms
    expect(load.failures).toEqual([]);
    expect([...load.counts.byVersion.keys()]).toEqual(['v2']);
    console.log(`shadow release: ${load.counts.requests} requests, every answer v2's; ${result.reason}`);
    expect((await h.registry.getAliases(model)).canary).toBeNull();
  }, 300_000);
});
