/**
 * `perennial feedback --model <m> --file labels.csv` as a user runs it (the CLI
 * in a child process) against a real model server (`createModelServer` with a
 * bearer token, on the real S3 registry) serving the weather model trained
 * through the real pipeline (three epochs), whose joined feedback goes to
 * monitor/<model> on the real Temporal server. The labels posted in batches
 * reach the monitor once each (a duplicate in the file is sent once); a bad
 * row is named by file, line and field and nothing is sent; a missing token
 * is refused by the server (exit 1, what to pass).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather } from '../../src/demo/weather';
import { createModelServer, monitorForwarder, type ModelServer } from '../../src/serve';
import { publishSpec } from '../../src/spec';
import { startRetrain } from '../../src/temporal';
import { monitorWorkflowId } from '../../workflows/definitions';
import { monitorStatusQuery } from '../../workflows/monitor';
import { runPerennial } from '../helpers/programs';
import { tempFiles } from '../helpers/temp-files';
import { weatherRequestRow } from '../helpers/weather';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

const model = `weather-feedback-cli-${uniqueId()}`;
const TOKEN = `token-${uniqueId()}-${uniqueId()}`;
const files = tempFiles('perennial-feedback-cli-');
let h: Harness;
let worker: { stop(): Promise<void> };
let server: ModelServer | undefined;
let url: string;
let spoolDir: string;

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  const { spec } = await bootstrapWeather(h.store, { model });
  await publishSpec(h.store, { ...spec, model: { ...spec.model, epochs: 3 }, evaluation: { ...spec.evaluation, gate: {} } });
  const result = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(result.outcome, result.message).toBe('promoted');
  spoolDir = await mkdtemp(join(tmpdir(), 'perennial-feedback-cli-spool-'));
  server = await createModelServer({
    registry: h.registry,
    models: [model],
    pollMs: 250,
    predictionLog: { spoolDir, maxRows: 1000, maxSeconds: 1 },
    feedback: { maxSeconds: 0.5, forward: monitorForwarder(async () => h.client, h.config.taskQueue) },
    token: TOKEN,
    log: () => {},
  });
  url = await server.listen(0, '127.0.0.1');
}, 600_000);

afterAll(async () => {
  await server?.close();
  await h?.client.workflow
    .getHandle(monitorWorkflowId(model))
    .terminate('test over')
    .catch(() => {});
  await worker?.stop();
  await h?.close();
  if (spoolDir) await rm(spoolDir, { recursive: true, force: true });
});

async function predict(rows: number): Promise<{ ids: string[]; labels: string[] }> {
  const response = await fetch(`${url}/v1/models/${model}:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ instances: Array.from({ length: rows }, (_, i) => weatherRequestRow(i)) }),
  });
  const body = (await response.json()) as { prediction_ids: string[]; predictions: { label: string }[] };
  expect(response.status).toBe(200);
  return { ids: body.prediction_ids, labels: body.predictions.map((p) => p.label) };
}

const feedback = (...args: string[]) => runPerennial(['feedback', '--model', model, '--server', url, ...args], { env: h.env });

describe('perennial feedback', () => {
  it('posts the labels in batches; each reaches the monitor once, a duplicate in the file is sent once', async () => {
    const { ids, labels } = await predict(25);
    // 20 labels (the first 10 right, the next 10 wrong), a flag without a label, and the first label again.
    const lines = ['prediction_id,label,flag'];
    for (let i = 0; i < 20; i++) lines.push(`${ids[i]},${i < 10 ? labels[i] : labels[i] === 'sun' ? 'rain' : 'sun'},`);
    lines.push(`${ids[20]},,wrong`);
    lines.push(`${ids[0]},${labels[0]},`);
    const file = files.write('labels.csv', lines.join('\n') + '\n');
    const run = await feedback('--file', file, '--token', TOKEN, '--batch', '7');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe(
      `${model}: 21 label(s) from ${file} accepted by ${url} in 3 batch(es); 1 duplicate prediction id(s) in the file sent once (the first label wins)`,
    );
    const monitor = h.client.workflow.getHandle(monitorWorkflowId(model));
    await waitFor('the monitor to count the feedback', async () => (await monitor.query(monitorStatusQuery).catch(() => null))?.counters.items === 21, 60);
    const status = await monitor.query(monitorStatusQuery);
    expect(status.live.v1!.all).toMatchObject({ labels: 20, accuracy: 0.5, flags: 1 });
  }, 120_000);

  it('a bad row is named by file, line and field, and nothing is sent', async () => {
    const file = files.write('bad.csv', 'prediction_id,label\np-1,sun\n,rain\np-3,hail\np-4,\n');
    const run = await feedback('--file', file, '--token', TOKEN);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${file}: 3 bad row(s), nothing sent:`);
    expect(run.stderr).toContain(`${file}: line 3, field prediction_id: the id the server answered with the prediction (1-200 characters), found ''`);
    expect(run.stderr).toContain(`${file}: line 4, field label: 'hail' is not one of the model's classes (drizzle, fog, rain, snow, sun)`);
    expect(run.stderr).toContain(`${file}: line 5, field label: a label (the true answer) or a flag (such as wrong) is needed`);
    const header = await feedback('--file', files.write('header.csv', 'id,label\nx,sun\n'), '--token', TOKEN);
    expect(header.code).toBe(2);
    expect(header.stderr).toContain("line 1: the header must name prediction_id and label and/or flag, found 'id', 'label'");
  }, 60_000);

  it('without the token the server refuses the labels: exit 1, saying what to pass', async () => {
    const { ids, labels } = await predict(1);
    const file = files.write('one.csv', `prediction_id,label\n${ids[0]},${labels[0]}\n`);
    const run = await runPerennial(['feedback', '--model', model, '--server', url, '--file', file], { env: { ...h.env, PERENNIAL_SERVE_TOKEN: '' } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('(HTTP 401)');
    expect(run.stderr).toContain("(pass the server's token: --token <t> or PERENNIAL_SERVE_TOKEN)");
    expect(run.stderr).toContain('accepted before that: 0 of 1');
  }, 60_000);
});
