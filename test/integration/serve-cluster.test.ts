/**
 * `perennial serve --workers 2` on the real services: the weather model
 * trained through the real pipeline, the server run as a user runs it (its
 * own process, the cluster primary, forking two workers on one port), six
 * clients sending single-row V1 and V2 requests on connections of their own.
 *
 * Both workers answer (each response names its worker); /metrics, whichever
 * worker is asked, sums both (the requests counted equal the answers the
 * clients received); a worker killed with SIGKILL under load is replaced,
 * the server keeps answering, and the cluster's request counter does not go
 * down; a label posted to the other worker than the one that answered its
 * prediction is joined once it is uploaded, and a second label for the same
 * prediction posted to the first worker counts as a duplicate (cluster-wide
 * first label wins); SIGTERM drains both workers, and then every prediction a
 * client received, those of the killed worker included, is in the Parquet
 * log exactly once, and the spool is empty.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { queryStoredParts } from '../helpers/parquet-parts';
import { freePort, scrapeMetric } from '../helpers/programs';
import { weatherRequestRow } from '../helpers/weather';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field
type Body = any;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const model = `weather-cluster-${uniqueId()}`;
const CLIENTS = 6;

let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
let spoolDir: string;
let port: number;
let server: (ChildProcess & { output: string }) | undefined;

/** One HTTP exchange on `agent` (a connection of its own: the cluster hands each connection to one worker). */
function request(agent: http.Agent, method: string, path: string, body?: unknown): Promise<{ status: number; body: Body; worker: string; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method,
        agent,
        headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {},
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          let parsed: Body;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, worker: String(res.headers['x-perennial-worker'] ?? ''), text });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A client's own limit, as real clients have: a request lost with its worker fails instead of hanging the test.
    req.setTimeout(15_000, () => req.destroy(new Error('no answer in 15 s')));
    req.end(data);
  });
}

const pidOf = (workerHeader: string) => Number(/pid=(\d+)/.exec(workerHeader)?.[1]);

interface Received {
  version: string;
  label: string;
  probabilities: Record<string, number>;
  pid: number;
}

const received = new Map<string, Received>();
const byPid = new Map<number, number>();
const failures = { network: 0, status: new Map<number, number>() };
let running = true;
let paused = false;
let inFlight = 0;

/**
 * One client on a connection of its own: single-row V2 and V1 requests in
 * turn. It opens a new connection every 25 requests (the cluster hands each
 * new connection to the next worker, so a replaced worker gets its share) and
 * when one is cut (its worker killed): a cut is counted.
 */
async function client(c: number): Promise<void> {
  let agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let n = 0; running; n++) {
    if (paused) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    if (n % 25 === 0) {
      agent.destroy();
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    }
    const row = weatherRequestRow(c * 100_000 + n);
    const v2 = n % 2 === 0;
    const body = v2
      ? {
          id: `c${c}-${n}`,
          inputs: Object.entries(row).map(([name, value]) => ({ name, datatype: typeof value === 'number' ? 'FP64' : 'BYTES', shape: [1, 1], data: [value] })),
        }
      : { instances: [row] };
    inFlight += 1;
    try {
      const answer = await request(agent, 'POST', v2 ? `/v2/models/${model}/infer` : `/v1/models/${model}:predict`, body);
      if (answer.status !== 200) {
        failures.status.set(answer.status, (failures.status.get(answer.status) ?? 0) + 1);
        continue;
      }
      const pid = pidOf(answer.worker);
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
      const b = answer.body;
      if (v2) {
        const classes: string[] = b.parameters.classes;
        const [labels, probabilities] = b.outputs;
        received.set(b.parameters.prediction_ids[0], {
          version: b.model_version,
          label: labels.data[0],
          probabilities: Object.fromEntries(classes.map((k, j) => [k, probabilities.data[j]])),
          pid,
        });
      } else received.set(b.prediction_ids[0], { version: b.model_version, label: b.predictions[0].label, probabilities: b.predictions[0].probabilities, pid });
    } catch {
      failures.network += 1;
      agent.destroy();
      agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      await new Promise((r) => setTimeout(r, 20));
    } finally {
      inFlight -= 1;
    }
  }
  agent.destroy();
}

const metric = (name: string) => scrapeMetric(`http://127.0.0.1:${port}`, name);

/** Every series of a metric on the cluster's /metrics page, with its labels as text. */
async function series(name: string): Promise<{ labels: string; value: number }[]> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .map((line) => ({ labels: line.slice(name.length, line.lastIndexOf(' ')), value: Number(line.split(' ').at(-1)) }));
}

/** The clients stop sending and every request in flight is answered. */
async function quiesce(): Promise<void> {
  paused = true;
  await waitFor('the requests in flight answered', () => inFlight === 0, 30);
}

/** A keep-alive connection that the cluster handed to the worker with `pid` (new connections go to the workers in turn). */
async function connectionTo(pid: number): Promise<http.Agent> {
  for (let i = 0; i < 20; i++) {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const answer = await request(agent, 'GET', '/v2/health/live');
    if (pidOf(answer.worker) === pid) return agent;
    agent.destroy();
  }
  throw new Error(`no connection reached worker pid ${pid} in 20 tries`);
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model });
  const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(result.outcome, result.message).toBe('promoted');
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-serve-cluster-'));
  port = await freePort();
}, 600_000);

afterAll(async () => {
  running = false;
  if (server && server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describe('perennial serve --workers 2', () => {
  it(
    'answers from both workers, aggregates /metrics, replaces a killed worker, joins labels across workers once, and uploads every answered prediction on SIGTERM',
    { timeout: 300_000 },
    async () => {
      const phase = (what: string) => console.log(`[${new Date().toISOString()}] ${what}: ${received.size} answered, ${inFlight} in flight`);
      const child = spawn(
        process.execPath,
        [
          'bin/perennial.mjs',
          'serve',
          '--workers',
          '2',
          '--port',
          String(port),
          '--models',
          model,
          '--spool-dir',
          spoolDir,
          '--log-rows',
          '200',
          '--log-seconds',
          '1',
          '--feedback-seconds',
          '0.5',
          '--poll-ms',
          '500',
        ],
        { cwd: ROOT, env: { ...h.env, PERENNIAL_LOG_LEVEL: 'WARN' }, stdio: ['ignore', 'pipe', 'pipe'] },
      ) as ChildProcess & { output: string };
      server = child;
      child.output = '';
      child.stdout!.on('data', (d) => (child.output += d));
      child.stderr!.on('data', (d) => (child.output += d));
      const startedAt = Date.now();
      await waitFor(
        'perennial serve listening with 2 workers',
        () => /listening on \S+ with 2 workers/.test(child.output) || child.exitCode !== null,
        120,
        () => child.output,
      );
      expect(child.exitCode, child.output).toBeNull();
      const listeningSeconds = (Date.now() - startedAt) / 1000;
      const slotOf = new Map([...child.output.matchAll(/\[worker (\d), pid (\d+)\]: ready/g)].map((m) => [Number(m[2]), Number(m[1])]));
      const workerPids = [...slotOf.keys()];
      expect(workerPids).toHaveLength(2);
      expect(workerPids).not.toContain(child.pid);

      // ---------------------------------------------------------------- both workers answer, /metrics sums them
      phase('both workers answer, /metrics sums them');
      const loops = Array.from({ length: CLIENTS }, (_, c) => client(c));
      await waitFor(
        '300 predictions answered by both workers',
        () => received.size >= 300 && workerPids.every((p) => (byPid.get(p) ?? 0) > 0),
        60,
        () => child.output,
      );
      await quiesce();
      const answeredBefore = received.size;
      const shares = workerPids.map((p) => byPid.get(p) ?? 0);
      const workerInfo = await series('perennial_serve_worker_info');
      expect(workerInfo.map((s) => Number(/pid="(\d+)"/.exec(s.labels)?.[1])).sort()).toEqual([...workerPids].sort());
      expect(await metric('perennial_serve_cluster_workers')).toBe(2);
      const requests200 = (await series('perennial_serve_requests_total')).filter((s) => s.labels.includes('code="200"')).reduce((n, s) => n + s.value, 0);
      // Every answer counted once, whichever worker gave it and whichever worker this scrape reached.
      expect(requests200).toBe(answeredBefore);
      expect(await metric('perennial_serve_batch_rows_sum')).toBe(answeredBefore);
      expect(await metric('perennial_serve_log_rows_spooled_total')).toBe(answeredBefore);
      const calls = (await metric('perennial_serve_batch_rows_count'))!;

      // ---------------------------------------------------------------- a worker killed under load is replaced
      phase('a worker killed under load is replaced');
      paused = false;
      const victim = workerPids[0]!;
      const survivor = workerPids[1]!;
      const victimDir = readdirSync(spoolDir).find((d) => d.startsWith(`serve-${victim}-`));
      await new Promise((r) => setTimeout(r, 300));
      process.kill(victim, 'SIGKILL');
      const killedAt = Date.now();
      const leftByVictim =
        victimDir && existsSync(join(spoolDir, victimDir)) ? readdirSync(join(spoolDir, victimDir)).filter((f) => f.startsWith('seg-')).length : 0;
      let replacement = 0;
      await waitFor(
        'an answer from the worker that replaced the killed one',
        () => {
          replacement = [...byPid.keys()].find((p) => !workerPids.includes(p)) ?? 0;
          return replacement > 0;
        },
        120,
        () => child.output,
      );
      const replacedSeconds = (Date.now() - killedAt) / 1000;
      const afterKill = received.size;
      await waitFor('more answers after the replacement', () => received.size >= afterKill + 200, 60);
      await quiesce();
      expect(child.output).toMatch(new RegExp(`worker ${slotOf.get(victim)} \\(pid ${victim}\\) was killed by SIGKILL .*starting another`));
      expect(await metric('perennial_serve_cluster_worker_restarts_total')).toBe(1);
      expect(await metric('perennial_serve_cluster_workers')).toBe(2);
      const info = (await series('perennial_serve_worker_info')).map((s) => Number(/pid="(\d+)"/.exec(s.labels)?.[1])).sort();
      expect(info).toEqual([survivor, replacement].sort());
      // The dead worker's counts stay in the sums: the cluster's counter never went down.
      const requestsAfter = (await series('perennial_serve_requests_total')).filter((s) => s.labels.includes('code="200"')).reduce((n, s) => n + s.value, 0);
      expect(requestsAfter).toBeGreaterThanOrEqual(requests200);
      if (leftByVictim > 0) expect(child.output).toMatch(/adopted \d+ prediction log segment\(s\) left by a stopped server/);

      // ---------------------------------------------------------------- a label reaches the other worker
      phase('a label reaches the other worker');
      const toSurvivor = await connectionTo(survivor);
      const toReplacement = await connectionTo(replacement);
      const predicted = await request(toSurvivor, 'POST', `/v1/models/${model}:predict`, { instances: [weatherRequestRow(999_999)] });
      expect(predicted.status).toBe(200);
      expect(pidOf(predicted.worker)).toBe(survivor);
      const id: string = predicted.body.prediction_ids[0];
      received.set(id, {
        version: predicted.body.model_version,
        label: predicted.body.predictions[0].label,
        probabilities: predicted.body.predictions[0].probabilities,
        pid: survivor,
      });
      const other = ['drizzle', 'fog', 'rain', 'snow', 'sun'].find((c) => c !== predicted.body.predictions[0].label)!;
      // First to the worker that did not answer it (not in its memory: joined from the log once the other worker uploads it) ...
      const labelledAt = Date.now();
      const first = await request(toReplacement, 'POST', `/v1/models/${model}/feedback`, { predictionId: id, label: other });
      expect(first.status, first.text).toBe(200);
      expect(pidOf(first.worker)).toBe(replacement);
      // ... then a second label for the same prediction to the worker that answered it: a duplicate, cluster-wide.
      const second = await request(toSurvivor, 'POST', `/v1/models/${model}/feedback`, { predictionId: id, label: predicted.body.predictions[0].label });
      expect(second.status, second.text).toBe(200);
      await waitFor(
        'one label joined and one counted as a duplicate',
        async () => (await metric('perennial_serve_feedback_items_joined_total')) === 1 && (await metric('perennial_serve_feedback_duplicates_total')) === 1,
        60,
        () => child.output,
      );
      const joinedSeconds = (Date.now() - labelledAt) / 1000;
      toSurvivor.destroy();
      toReplacement.destroy();

      // ---------------------------------------------------------------- SIGTERM drains both workers
      phase('SIGTERM drains both workers');
      running = false;
      await Promise.all(loops);
      const stoppingAt = Date.now();
      child.kill('SIGTERM');
      await new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
      const drainSeconds = (Date.now() - stoppingAt) / 1000;
      expect(child.exitCode, child.output).toBe(0);
      expect(child.output).toMatch(/SIGTERM: stopping 2 worker\(s\)/);
      expect(child.output).toMatch(/perennial serve: stopped \(2 workers\)/);
      expect(child.output).toContain(`[worker ${slotOf.get(survivor)}, pid ${survivor}]: stopped`);
      expect(child.output).toContain(`[worker ${slotOf.get(victim)}, pid ${replacement}]: stopped`);
      expect(readdirSync(spoolDir)).toEqual([]);

      const log = await queryStoredParts<{ prediction_id: string; version: string; arm: string; label: string; probabilities: string }>(
        h.store,
        keys.predictionLogs(model),
        (parts) => `SELECT prediction_id, version, arm, label, to_json(probabilities) AS probabilities FROM ${parts}`,
      );
      const counts = new Map<string, number>();
      for (const row of log.rows) counts.set(row.prediction_id, (counts.get(row.prediction_id) ?? 0) + 1);
      const missing = [...received.keys()].filter((k) => !counts.has(k));
      const duplicated = [...counts].filter(([, n]) => n > 1);
      const byId = new Map(log.rows.map((r) => [r.prediction_id, r]));
      const mismatched = [...received].filter(([k, got]) => {
        const row = byId.get(k);
        if (!row) return false;
        const probabilities = JSON.parse(row.probabilities) as Record<string, number>;
        return (
          row.version !== got.version ||
          row.label !== got.label ||
          row.arm !== 'champion' ||
          Object.keys(got.probabilities).some((c) => probabilities[c] !== got.probabilities[c])
        );
      });
      const fromVictim = [...received.values()].filter((r) => r.pid === victim).length;
      const feedback = await queryStoredParts<{ prediction_id: string; label: string }>(
        h.store,
        keys.feedbackLogs(model),
        (parts) => `SELECT prediction_id, label FROM ${parts}`,
      );
      console.log(
        [
          `cluster: 2 workers listening ${listeningSeconds.toFixed(1)} s after the start; ${CLIENTS} clients, ${received.size} single-row predictions answered`,
          `(${[...byPid].map(([pid, n]) => `pid ${pid}: ${n}`).join(', ')}); before the kill ${shares.join(' + ')} = ${answeredBefore} answers, /metrics counted ${requests200} in ${calls} model calls;`,
          `worker ${victim} killed (${fromVictim} of its answers, ${leftByVictim} spool segment(s) left), replaced by ${replacement} answering ${replacedSeconds.toFixed(1)} s later;`,
          `${failures.network} requests cut, ${[...failures.status].map(([s, n]) => `${n} x ${s}`).join(', ') || 'no error status'};`,
          `a label on the other worker joined and its duplicate counted ${joinedSeconds.toFixed(1)} s after it was posted; SIGTERM drained in ${drainSeconds.toFixed(1)} s;`,
          `log: ${log.rows.length} rows in ${log.parts.length} parts, received ids found ${received.size - missing.length}/${received.size}, ${duplicated.length} duplicated, ${mismatched.length} mismatched`,
        ].join(' '),
      );
      expect(missing).toEqual([]);
      expect(duplicated).toEqual([]);
      expect(mismatched).toEqual([]);
      expect(failures.status.size).toBe(0);
      expect(fromVictim).toBeGreaterThan(0);
      // The log holds what was answered, and at most the few requests the kill cut after they were spooled.
      expect(log.rows.length - received.size).toBeLessThanOrEqual(CLIENTS);
      // One label joined for the prediction, once: whichever was joined first (the one posted to the worker that answered, from its
      // memory, unless the other worker found the prediction in the log first).
      const labels = feedback.rows.filter((r) => r.prediction_id === id);
      expect(labels).toHaveLength(1);
      expect([other, predicted.body.predictions[0].label]).toContain(labels[0]!.label);
    },
  );
});
