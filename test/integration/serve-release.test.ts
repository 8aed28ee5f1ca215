/**
 * Releases on the real services: the weather model trained through the real
 * pipeline (v1, the champion) and a second version registered from v1's files
 * with its weights scaled (v2: it loads and passes every check, and answers
 * differently), served by `createModelServer` from the real S3 registry on a
 * free port, its aliases moved by the registry's release operations as the
 * ReleaseWorkflow will move them.
 *
 * - canary at 0.25: the candidate's share of distinct routing keys is within a
 *   binomial bound of 0.25, and each key always gets the version the
 *   documented hash says;
 * - weight to 1, then promoted; a release of the old champion, then rolled
 *   back: each followed within 2 s, while clients send requests all along and
 *   not one fails;
 * - a candidate whose weights.bin was tampered with is refused, and all traffic
 *   stays on the champion;
 * - shadow: every answer is the champion's, bit for bit the answer without the
 *   release, and the prediction log holds the candidate's shadow rows linked
 *   to the champion's rows by shadow_of.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import type { BundleFile } from '../../src/store';
import { keys } from '../../src/store';
import { createModelServer, type ModelServer } from '../../src/serve';
import { startRetrain } from '../../src/temporal';
import { queryStoredParts } from '../helpers/parquet-parts';
import { scrapeMetric } from '../helpers/programs';
import { weatherRequestRow } from '../helpers/weather';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- JSON answers, checked field by field
type Body = any;

const model = `weather-release-${uniqueId()}`;
const BY = 'serve-release-test';

let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
let server: ModelServer | undefined;
let spoolDir: string;
let url: string;
const logs: string[] = [];
/** v1: trained, the champion; v2: v1 with its weights scaled; v3: v1's files, its weights.bin tampered with after register. */
const versions = { v1: '', v2: '', v3: '' };

type Row = ReturnType<typeof weatherRequestRow>;

function v2Body(rows: Row[], parameters?: Record<string, unknown>) {
  return {
    id: 'r',
    ...(parameters ? { parameters } : {}),
    inputs: Object.keys(rows[0]!).map((name) => ({
      name,
      datatype: typeof rows[0]![name as keyof Row] === 'number' ? 'FP64' : 'BYTES',
      shape: [rows.length, 1],
      data: rows.map((r) => r[name as keyof Row]),
    })),
  };
}

async function post(path: string, body: unknown, key?: string) {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key !== undefined ? { 'x-routing-key': key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Body };
}

const infer = (rows: Row[], key?: string) => post(`/v2/models/${model}/infer`, v2Body(rows), key);
const meta = async () => (await fetch(`${url}/v2/models/${model}`)).json() as Promise<Body>;

/** The arm README documents for a key: sha256(candidate NUL key), first 48 bits over 2^48, below the weight. */
function documentedArm(key: string, candidate: string, weight: number): 'candidate' | 'champion' {
  const u = createHash('sha256').update(`${candidate}\0${key}`).digest().readUIntBE(0, 6) / 2 ** 48;
  return u < weight ? 'candidate' : 'champion';
}

/** Runs `n` tasks with `width` at a time. */
async function pool<T>(n: number, width: number, task: (i: number) => Promise<T>): Promise<T[]> {
  const out = new Array<T>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await task(i);
      }
    }),
  );
  return out;
}

/** Waits until the server routes what the aliases say (its metadata's release), or none. */
async function routed(release: { candidate: string; mode: string; weight: number } | null, seconds = 5): Promise<number> {
  const started = Date.now();
  const want = JSON.stringify(release);
  await waitFor(`the server to route ${want}`, async () => JSON.stringify((await meta()).parameters.release) === want, seconds);
  return Date.now() - started;
}

/** A version from v1's files, `change` applied to weights.bin before register (its lineage records the changed bytes). */
async function registerFromV1(tag: string, change: (weights: Buffer) => Buffer = (b) => b): Promise<string> {
  const v1 = (await h.registry.getLineage(model, versions.v1))!;
  const { version: _v, artifacts, createdAt: _c, ...rest } = v1;
  const bundle = await Promise.all(
    artifacts.map(async (a) => {
      const body = await h.store.get(a.key);
      return { name: a.name as BundleFile, body: a.name === 'weights.bin' ? change(body) : body };
    }),
  );
  return (await h.registry.register(model, bundle, { ...rest, workflow: { id: `serve-release-test/${tag}`, runId: `${tag}-${uniqueId()}` } }, new Date()))
    .version;
}

beforeAll(async () => {
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-release-spool-'));
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model });
  const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(result.outcome, result.message).toBe('promoted');
  await worker.stop();
  worker = undefined;
  versions.v1 = result.version!;
  // Scaled weights: a model that loads, warms up and answers finite values, differently from v1.
  versions.v2 = await registerFromV1('scaled', (bytes) => {
    const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
    for (let i = 0; i < floats.length; i++) floats[i] = floats[i]! * 0.5;
    return Buffer.from(floats.buffer);
  });
  versions.v3 = await registerFromV1('tampered');
  server = await createModelServer({
    registry: h.registry,
    models: [model],
    pollMs: 500,
    retryRefusedMs: 60_000,
    predictionLog: { spoolDir, maxRows: 10_000, maxSeconds: 60 },
    feedback: false,
    log: (line) => logs.push(line),
  });
  url = await server.listen(0, '127.0.0.1');
}, 300_000);

afterAll(async () => {
  await server?.close();
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

describe('releases on the model server', () => {
  it('canary at 0.25: a binomial share of routing keys on the candidate, each key always on the version its hash names', async () => {
    const { v1, v2 } = versions;
    // The two versions answer differently (else the checks below could not tell them apart).
    const rows = Array.from({ length: 20 }, (_, i) => weatherRequestRow(i));
    const [a, b] = [await post(`/v2/models/${model}/versions/${v1}/infer`, v2Body(rows)), await infer(rows)];
    expect(a.body.model_version).toBe(v1);
    expect(b.body.outputs[1].data).toEqual(a.body.outputs[1].data);
    expect((await post(`/v2/models/${model}/versions/${v2}/infer`, v2Body(rows))).status).toBe(404);

    await h.registry.startRelease(model, { candidate: v2, mode: 'canary', weight: 0.25, expectedChampion: v1, by: BY, now: new Date(), reason: 'test' });
    await routed({ mode: 'canary', weight: 0.25, candidate: v2 });
    const direct = await post(`/v2/models/${model}/versions/${v2}/infer`, v2Body(rows));
    expect(direct.body.model_version).toBe(v2);
    expect(direct.body.outputs[1].data).not.toEqual(a.body.outputs[1].data);

    const N = 800;
    const keysOf = Array.from({ length: N }, (_, i) => `user-${i}-${uniqueId()}`);
    const first = await pool(N, 8, async (i) => (await infer([weatherRequestRow(i)], keysOf[i])).body.model_version as string);
    const share = first.filter((v) => v === v2).length / N;
    const sd = Math.sqrt((0.25 * 0.75) / N);
    console.log(
      `canary 0.25: ${first.filter((v) => v === v2).length} of ${N} keys on the candidate (share ${share.toFixed(3)}, bound ±${(4.5 * sd).toFixed(3)})`,
    );
    expect(Math.abs(share - 0.25), `share ${share}`).toBeLessThanOrEqual(4.5 * sd);
    keysOf.forEach((k, i) => expect(first[i], k).toBe(documentedArm(k, v2, 0.25) === 'candidate' ? v2 : v1));
    // The same keys again (other rows, and the key in the OIP parameters instead of the header): the same versions.
    const again = await pool(300, 8, async (i) => {
      const body = v2Body([weatherRequestRow(i + 5000)], i % 2 ? { routing_key: keysOf[i] } : undefined);
      return (await post(`/v2/models/${model}/infer`, body, i % 2 ? undefined : keysOf[i])).body.model_version as string;
    });
    expect(again).toEqual(first.slice(0, 300));
    // V1 rows follow the header too; a request without a key draws, both arms appear.
    const v1Route = await post(`/v1/models/${model}:predict`, { instances: [weatherRequestRow(1)] }, keysOf[0]);
    expect(v1Route.body.model_version).toBe(first[0]);
    const unkeyed = await pool(80, 8, async (i) => (await infer([weatherRequestRow(i)])).body.model_version as string);
    expect(new Set(unkeyed)).toEqual(new Set([v1, v2]));

    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain(`perennial_serve_release_weight{model="${model}",mode="canary",version="${v2}"} 0.25`);
    expect(text).toMatch(new RegExp(`perennial_serve_requests_total\\{model="${model}",version="${v2}",protocol="v2",code="200"\\} \\d+`));
  });

  it('weight to 1, promoted, then a release of the old champion rolled back: each followed within 2 s, not one request failed', async () => {
    const { v1, v2 } = versions;
    const answers: { at: number; status: number; version?: string; error?: string }[] = [];
    let running = true;
    let n = 0;
    const client = async (c: number) => {
      while (running) {
        const i = n++;
        try {
          const r = await infer([weatherRequestRow(i), weatherRequestRow(i + 1)], `loop-${c}-${i}`);
          answers.push({ at: Date.now(), status: r.status, version: r.body.model_version, error: r.body.error });
        } catch (error) {
          answers.push({ at: Date.now(), status: 0, error: (error as Error).message });
        }
      }
    };
    const loops = [0, 1, 2, 3].map(client);
    /** How long after `since` every answer is `version` (the last other answer's time, 0 if none), once the loops answered for 600 ms more. */
    const settled = async (version: string, since: number) => {
      await waitFor(`answers from ${version}`, () => answers.some((x) => x.at >= since && x.version === version), 5);
      await new Promise((r) => setTimeout(r, 600));
      const others = answers.filter((x) => x.at >= since && x.version !== version);
      return others.reduce((latest, x) => Math.max(latest, x.at - since), 0);
    };
    const figures: Record<string, number> = {};
    try {
      await new Promise((r) => setTimeout(r, 300));
      await h.registry.setReleaseWeight(model, { candidate: v2, weight: 1, by: BY, now: new Date() });
      figures.weight1Ms = await settled(v2, Date.now());
      // Followed without loading anything again.
      expect(logs.filter((l) => l.includes(`release candidate ${model}/${v2} loaded`))).toHaveLength(1);
      expect(logs).toContain(`perennial serve: release of ${model}/${v2} now canary, weight 1`);

      const promoted = await h.registry.endRelease(model, { candidate: v2, outcome: 'promoted', by: BY, now: new Date(), reason: 'non-inferior' });
      expect([promoted.champion, promoted.previous, promoted.canary, promoted.release]).toEqual([v2, v1, null, undefined]);
      const since = Date.now();
      await routed(null);
      figures.promotedMs = Date.now() - since;
      expect(await settled(v2, since)).toBe(0);
      const m = await meta();
      expect([m.parameters.champion, m.parameters.serving]).toEqual([v2, v2]);
      expect(logs.some((l) => l.includes(`release candidate ${model}/${v2} promoted`))).toBe(true);

      // The old champion as a candidate (the same checks), half the traffic, then rolled back.
      await h.registry.startRelease(model, { candidate: v1, mode: 'ab', weight: 0.5, expectedChampion: v2, by: BY, now: new Date() });
      const abStart = Date.now();
      await waitFor('answers from the candidate', () => answers.some((x) => x.at >= abStart && x.version === v1), 5);
      figures.abStartMs = answers.find((x) => x.at >= abStart && x.version === v1)!.at - abStart;
      await h.registry.endRelease(model, { candidate: v1, outcome: 'rolled-back', by: BY, now: new Date(), reason: 'inferior' });
      figures.rolledBackMs = await settled(v2, Date.now());
    } finally {
      running = false;
      await Promise.all(loops);
    }
    const failed = answers.filter((x) => x.status !== 200);
    console.log(`switches: ${answers.length} requests, ${failed.length} failed; ${JSON.stringify(figures)}`);
    expect(failed, JSON.stringify(failed.slice(0, 3))).toEqual([]);
    expect(answers.length).toBeGreaterThan(100);
    for (const [what, ms] of Object.entries(figures)) expect(ms, what).toBeLessThanOrEqual(2000);
    const aliases = await h.registry.getAliases(model);
    expect(aliases.history.slice(-5).map((e) => [e.action, e.to, e.outcome ?? e.weight])).toEqual([
      ['release-start', v2, 0.25],
      ['release-weight', v2, 1],
      ['release-end', v2, 'promoted'],
      ['release-start', v1, 0.5],
      ['release-end', v1, 'rolled-back'],
    ]);
  });

  it('a candidate whose weights.bin was tampered with is refused and logged; all traffic stays on the champion', async () => {
    const { v2, v3 } = versions;
    const weights = (await h.registry.getLineage(model, v3))!.artifacts.find((a) => a.name === 'weights.bin')!;
    const bad = Buffer.from(await h.store.get(weights.key));
    bad[100] = bad[100]! ^ 0xff;
    await h.store.put(weights.key, bad);
    await h.registry.startRelease(model, { candidate: v3, mode: 'canary', weight: 1, expectedChampion: v2, by: BY, now: new Date() });
    await waitFor('the refusal of the tampered candidate', () => logs.some((l) => l.includes(`refused ${model}/${v3} as release candidate`)), 5);
    const line = logs.find((l) => l.includes(`refused ${model}/${v3}`))!;
    expect(line).toContain('all traffic stays on the champion');
    expect(line).toContain(`checksum mismatch for ${weights.key}`);
    const answers = await pool(100, 4, async (i) => (await infer([weatherRequestRow(i)], `k-${i}`)).body.model_version as string);
    expect(new Set(answers)).toEqual(new Set([v2]));
    const m = await meta();
    expect(m.parameters.release).toBeNull();
    expect(m.parameters.release_named).toEqual({ candidate: v3, mode: 'canary', weight: 1 });
    expect(m.parameters.refused.map((r: Body) => r.version)).toContain(v3);
    expect((await post(`/v2/models/${model}/versions/${v3}/infer`, v2Body([weatherRequestRow(1)]))).status).toBe(404);
    expect(await scrapeMetric(url, 'perennial_serve_release_weight')).toBeUndefined();
    await h.registry.endRelease(model, { candidate: v3, outcome: 'rolled-back', by: BY, now: new Date(), reason: 'refused by the server' });
  });

  it('shadow: every answer is the champion’s, bit for bit; the log holds the candidate’s rows linked by shadow_of', async () => {
    const { v1, v2 } = versions;
    const requests = Array.from({ length: 40 }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, j) => weatherRequestRow(9000 + i * 3 + j)));
    const ask = () => pool(requests.length, 4, async (i) => (await infer(requests[i]!, `s-${i}`)).body);
    const before = await ask();
    expect(new Set(before.map((b) => b.model_version))).toEqual(new Set([v2]));

    await h.registry.startRelease(model, { candidate: v1, mode: 'shadow', expectedChampion: v2, by: BY, now: new Date() });
    await routed({ mode: 'shadow', weight: 1, candidate: v1 });
    const scoredBefore = (await scrapeMetric(url, 'perennial_serve_shadow_requests_total')) ?? 0;
    const during = await ask();
    // The candidate's own answers for the same rows, asked by version while it is in release.
    const candidateAnswers = await pool(requests.length, 4, async (i) => (await post(`/v2/models/${model}/versions/${v1}/infer`, v2Body(requests[i]!))).body);
    expect(candidateAnswers.every((b) => b.model_version === v1)).toBe(true);
    during.forEach((b, i) => {
      expect(b.model_version).toBe(v2);
      expect(b.outputs).toEqual(before[i].outputs);
    });
    await waitFor(
      'every shadow scoring',
      async () => ((await scrapeMetric(url, 'perennial_serve_shadow_requests_total')) ?? 0) - scoredBefore >= requests.length,
      5,
    );
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain(`perennial_serve_shadow_requests_total{model="${model}",version="${v1}",outcome="scored"} ${requests.length}`);
    expect(text).toContain(`perennial_serve_release_weight{model="${model}",mode="shadow",version="${v1}"} 1`);
    expect(text).not.toContain('outcome="failed"');
    await h.registry.endRelease(model, { candidate: v1, outcome: 'rolled-back', by: BY, now: new Date() });
    await routed(null);

    // The log, once the server is closed (its spool uploaded): per champion prediction of the shadow phase, one shadow row of v1.
    await server!.close();
    server = undefined;
    const { rows } = await queryStoredParts<{ id: string; version: string; arm: string; shadow_of: string | null; label: string; p: string }>(
      h.store,
      keys.predictionLogs(model),
      (parts) => `SELECT prediction_id AS id, version, arm, shadow_of, label, to_json(probabilities) AS p FROM ${parts}`,
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.size).toBe(rows.length);
    const shadows = rows.filter((r) => r.arm === 'shadow');
    const championIds = during.flatMap((b) => b.parameters.prediction_ids as string[]);
    expect(shadows.map((r) => r.shadow_of).sort()).toEqual([...championIds].sort());
    for (const s of shadows) {
      expect(s.version).toBe(v1);
      expect(byId.get(s.shadow_of!)).toMatchObject({ arm: 'champion', version: v2, shadow_of: null });
      expect(championIds).not.toContain(s.id);
    }
    // Each shadow row holds what the candidate answers for that row.
    during.forEach((b, i) => {
      const k = b.parameters.classes.length;
      (b.parameters.prediction_ids as string[]).forEach((id, row) => {
        const s = shadows.find((x) => x.shadow_of === id)!;
        expect(s.label).toBe(candidateAnswers[i].outputs[0].data[row]);
        const p = JSON.parse(s.p) as Record<string, number>;
        b.parameters.classes.forEach((c: string, j: number) => expect(p[c]).toBe(candidateAnswers[i].outputs[1].data[row * k + j]));
      });
    });
    console.log(`shadow: ${requests.length} requests, ${championIds.length} champion rows, ${shadows.length} shadow rows linked`);
  });
});
