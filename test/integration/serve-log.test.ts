/**
 * The prediction log loses nothing, on the real services: `perennial serve`
 * runs as a separate process on the real S3 registry, several clients send
 * V2 and V1 requests at once, the server is killed with SIGKILL under that
 * load and started again on the same spool directory, and then every
 * prediction id a client received (a 200 answer) is in the Parquet log
 * exactly once, with the version and the output the client was given.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
const model = `weather-log-${uniqueId()}`;
const CLIENTS = 6;

let h: Harness;
let spoolDir: string;
let port: number;
const servers: (ChildProcess & { output: string })[] = [];

/** `perennial serve` as its own process, on the harness's bucket; resolves once it listens. */
async function startServer(): Promise<ChildProcess & { output: string }> {
  const child = spawn(
    process.execPath,
    [
      'bin/perennial.mjs',
      'serve',
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
      '--poll-ms',
      '500',
    ],
    { cwd: ROOT, env: { ...h.env, PERENNIAL_LOG_LEVEL: 'WARN' }, stdio: ['ignore', 'pipe', 'pipe'] },
  ) as ChildProcess & { output: string };
  child.output = '';
  child.stdout!.on('data', (d) => (child.output += d));
  child.stderr!.on('data', (d) => (child.output += d));
  servers.push(child);
  await waitFor(
    'perennial serve listening',
    () => child.output.includes('listening on') || child.exitCode !== null,
    120,
    () => child.output,
  );
  expect(child.exitCode, child.output).toBeNull();
  return child;
}

const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => child.once('exit', () => resolve()));

/** What a client was answered for one prediction id. */
interface Received {
  version: string;
  label: string;
  probabilities: Record<string, number>;
}

const received = new Map<string, Received>();
const failures = { network: 0, status: new Map<number, number>() };
let running = true;

/** One client: V2 and V1 requests of 1 to 4 rows in turn, as fast as answers come; a refused connection (the server is down) is retried. */
async function client(c: number): Promise<void> {
  for (let n = 0; running; n++) {
    const rows = Array.from({ length: 1 + ((n + c) % 4) }, (_, i) => weatherRequestRow(c * 100_000 + n * 4 + i));
    const v2 = (n + c) % 2 === 0;
    const body = v2
      ? {
          id: `c${c}-${n}`,
          inputs: Object.keys(rows[0]!).map((name) => ({
            name,
            datatype: typeof (rows[0] as Record<string, unknown>)[name] === 'number' ? 'FP64' : 'BYTES',
            shape: [rows.length, 1],
            data: rows.map((r) => (r as Record<string, unknown>)[name]),
          })),
        }
      : { instances: rows };
    try {
      const response = await fetch(`http://127.0.0.1:${port}${v2 ? `/v2/models/${model}/infer` : `/v1/models/${model}:predict`}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await response.json()) as Body;
      if (response.status !== 200) {
        failures.status.set(response.status, (failures.status.get(response.status) ?? 0) + 1);
        continue;
      }
      if (v2) {
        const classes: string[] = answer.parameters.classes;
        const [labels, probabilities] = answer.outputs;
        (answer.parameters.prediction_ids as string[]).forEach((id, i) =>
          received.set(id, {
            version: answer.model_version,
            label: labels.data[i],
            probabilities: Object.fromEntries(classes.map((k, j) => [k, probabilities.data[i * classes.length + j]])),
          }),
        );
      } else {
        (answer.prediction_ids as string[]).forEach((id, i) =>
          received.set(id, { version: answer.model_version, label: answer.predictions[i].label, probabilities: answer.predictions[i].probabilities }),
        );
      }
    } catch {
      failures.network += 1;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function metric(name: string): Promise<number | undefined> {
  return scrapeMetric(`http://127.0.0.1:${port}`, name);
}

/** Every segment file under the spool root (any process's directory). */
function spoolSegments(): string[] {
  return readdirSync(spoolDir, { recursive: true, encoding: 'utf8' }).filter((f) => /seg-[^/]+\.jsonl$/.test(f));
}

/** Every row of the model's prediction log, read by DuckDB from the Parquet parts in S3. */
async function readLog() {
  return queryStoredParts<{ prediction_id: string; version: string; arm: string; label: string; probabilities: string; t: number; dt: string; inputs: string }>(
    h.store,
    keys.predictionLogs(model),
    (parts) =>
      `SELECT prediction_id, version, arm, label, to_json(probabilities) AS probabilities, epoch_ms(time) AS t, dt::VARCHAR AS dt, to_json(inputs) AS inputs FROM ${parts}`,
  );
}

beforeAll(async () => {
  h = await createHarness();
  const worker = await h.startWorker();
  try {
    await bootstrapWeather(h.store, { model });
    const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
    expect(result.outcome, result.message).toBe('promoted');
  } finally {
    await worker.stop();
  }
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-serve-spool-'));
  port = await freePort();
}, 600_000);

afterAll(async () => {
  running = false;
  for (const s of servers) if (s.exitCode === null && s.signalCode === null) s.kill('SIGKILL');
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describe('the prediction log of perennial serve', () => {
  it('holds every prediction a client received, exactly once, after a SIGKILL under load and a restart', async () => {
    const first = await startServer();
    const loops = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const started = Date.now();
    await waitFor('400 predictions answered', () => received.size >= 400, 60);
    // Killed mid-load: requests in flight, the open segment unfinished.
    first.kill('SIGKILL');
    await exited(first);
    const answeredBeforeKill = received.size;
    const leftInSpool = spoolSegments().length;
    expect(leftInSpool).toBeGreaterThan(0);

    const restartedAt = Date.now();
    const second = await startServer();
    const listeningMs = Date.now() - restartedAt;
    // Load goes on against the new process for a while.
    const resumedFrom = received.size;
    await waitFor('more predictions after the restart', () => received.size >= resumedFrom + 200, 60);
    running = false;
    await Promise.all(loops);
    const loadSeconds = (Date.now() - started) / 1000;

    // Everything uploaded: nothing left in the spool (open segments close within --log-seconds).
    await waitFor(
      'the spool backlog at 0',
      async () => (await metric('perennial_serve_log_backlog_rows')) === 0 && spoolSegments().length === 0,
      60,
      () => second.output,
    );
    const uploadedMs = Date.now() - restartedAt;
    expect(second.output).toMatch(/adopted \d+ prediction log segment\(s\) left by a stopped server/);
    expect(await metric('perennial_serve_log_upload_failures_total')).toBe(0);
    const spooled = (await metric('perennial_serve_log_rows_spooled_total'))!;
    const uploaded = (await metric('perennial_serve_log_rows_uploaded_total'))!;

    const log = await readLog();
    const counts = new Map<string, number>();
    for (const row of log.rows) counts.set(row.prediction_id, (counts.get(row.prediction_id) ?? 0) + 1);
    const missing = [...received.keys()].filter((id) => !counts.has(id));
    const duplicated = [...counts].filter(([, n]) => n > 1);
    const byId = new Map(log.rows.map((r) => [r.prediction_id, r]));
    const mismatched = [...received].filter(([id, got]) => {
      const row = byId.get(id);
      if (!row) return false;
      const probabilities = JSON.parse(row.probabilities) as Record<string, number>;
      return (
        row.version !== got.version ||
        row.label !== got.label ||
        row.arm !== 'champion' ||
        Object.keys(got.probabilities).some((k) => probabilities[k] !== got.probabilities[k])
      );
    });
    console.log(
      [
        `prediction log under a SIGKILL: ${CLIENTS} clients for ${loadSeconds.toFixed(1)} s, ${received.size} predictions answered (${answeredBeforeKill} before the kill),`,
        `${failures.network} requests refused or cut while the server was down, ${[...failures.status].map(([s, n]) => `${n} x ${s}`).join(', ') || 'no error status'};`,
        `${leftInSpool} spool segment(s) left by the killed server; restarted server listening after ${(listeningMs / 1000).toFixed(2)} s,`,
        `spool fully uploaded ${(uploadedMs / 1000).toFixed(2)} s after the restart (second server: ${spooled} rows spooled, ${uploaded} uploaded incl. adopted);`,
        `log: ${log.rows.length} rows in ${log.parts.length} Parquet part(s); received ids found ${received.size - missing.length}/${received.size},`,
        `${log.rows.length - (received.size - missing.length)} logged rows answered but never received (cut by the kill), ${duplicated.length} duplicated, ${mismatched.length} mismatched`,
      ].join(' '),
    );
    expect(missing).toEqual([]);
    expect(duplicated).toEqual([]);
    expect(mismatched).toEqual([]);
    expect(failures.status.size).toBe(0);
    // Only ids this test's clients could have been sent (answered, perhaps cut by the kill): at most a few requests' worth beyond those received.
    expect(log.rows.length - received.size).toBeLessThanOrEqual(CLIENTS * 4);
    expect(log.parts.every((k) => /\/predictions\/dt=\d{4}-\d{2}-\d{2}\/[^/]+\.parquet$/.test(k))).toBe(true);
    const today = new Date().toISOString().slice(0, 10);
    expect(log.rows.every((r) => r.t >= started - 1000 && r.t <= Date.now() && [today, new Date(started).toISOString().slice(0, 10)].includes(r.dt))).toBe(
      true,
    );
    // The inputs as the model received them.
    const sample = JSON.parse(log.rows[0]!.inputs) as Record<string, unknown>;
    expect(Object.keys(sample).sort()).toEqual(['date', 'location', 'precipitation', 'temp_max', 'temp_min', 'wind']);

    // A clean stop uploads what is left and leaves an empty spool.
    second.kill('SIGTERM');
    await exited(second);
    expect(second.exitCode, second.output).toBe(0);
    expect(readdirSync(spoolDir)).toEqual([]);
  });
});
