/**
 * The `perennial` command as a user runs it (node bin/perennial.mjs), against
 * the real services, with a worker of this test's own task queue.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSpecFile } from '../../src/spec';
import { WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { runPerennial } from '../helpers/programs';
import { createHarness, uniqueId, type Harness } from './harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let h: Harness;
let worker: { stop(): Promise<void> };
const model = `cli-${uniqueId()}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI as a user would; `until` ends it (SIGINT) once stderr matches. */
function perennial(...args: string[]): Promise<Run> {
  return runCli(args);
}

function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; until?: RegExp; shell?: string } = {}): Promise<Run> {
  return runPerennial(args, { ...options, env: options.env ?? h.env });
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('perennial CLI', () => {
  it('bootstrap puts the spec and the yearly batches into S3', async () => {
    const r = await perennial('bootstrap', '--model', model);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(keys.incomingBatch(model, 'seattle-2012.csv'));
    expect(await h.store.head(keys.spec(model))).not.toBeNull();
  });

  it('retrain --wait prints the workflow id, the UI link and each stage, and exits 0 when promoted', async () => {
    const r = await perennial('retrain', '--model', model, '--wait');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`started: retrain/${model}`);
    expect(r.stdout).toMatch(new RegExp(`Temporal UI: http://[^ ]+/namespaces/${h.config.temporalNamespace}/workflows/retrain%2F${model}/[0-9a-f-]+/history`));
    for (const stage of ['ingest', 'validate', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote']) {
      expect(r.stdout).toMatch(new RegExp(`✓ ${stage}\\s`));
    }
    expect(r.stdout).toContain(`promoted: ${model}/v1 promoted to champion`);
  });

  it('registry list and show tell what is in the registry', async () => {
    const list = await perennial('registry', 'list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${model}: 1 version(s) [v1], champion v1`);
    const show = await perennial('registry', 'show', '--model', model);
    expect(show.stdout).toMatch(/v1 \[champion\].*trigger manual.*accuracy 0\.\d+/);
    const version = await perennial('registry', 'show', '--model', model, '--version', 'v1');
    const lineage = JSON.parse(version.stdout);
    expect(lineage.version).toBe('v1');
    expect(lineage.workflow.id).toBe(`retrain/${model}`);
    const missing = await perennial('registry', 'show', '--model', model, '--version', 'v9');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`model '${model}' has no version 'v9'; it has: v1`);
  });

  it('retrain --wait exits 1 when the gate rejects the candidate, and the champion stays', async () => {
    const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
    const dir = await mkdtemp(join(tmpdir(), 'perennial-cli-'));
    const file = join(dir, 'strict.json');
    await writeFile(file, JSON.stringify({ ...spec, name: model, evaluation: { ...spec.evaluation, gate: { minAccuracy: 0.99 } } }));
    const r = await perennial('retrain', '--model', model, '--spec', file, '--trigger', 'ci', '--wait');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`spec ${file} published`);
    expect(r.stdout).toMatch(/rejected: the candidate did not pass the gate \(accuracy 0\.\d+ < minAccuracy 0\.99/);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
    // The rejected run left nothing behind: no staged candidate, no checkpoints.
    const { runId } = await h.client.workflow.getHandle(`retrain/${model}`).describe();
    expect(await h.store.list(keys.staging(model, runId))).toEqual([]);
    expect(await h.store.list(keys.checkpoints(model, runId))).toEqual([]);
  });

  it('bad usage and a model without a spec get clear messages', async () => {
    const noModel = await perennial('retrain');
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('retrain needs --model <name>');
    const unknown = await perennial('retrain', '--model', model, '--colour', 'red');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--colour'.*accepts --model/);
    const nospec = await perennial('retrain', '--model', `nospec-${uniqueId()}`, '--wait');
    expect(nospec.code).toBe(1);
    expect(nospec.stderr).toMatch(/has no spec at .*upload one with/);
    const badName = await perennial('retrain', '--model', '../etc', '--wait');
    expect(badName.code).toBe(2);
    expect(badName.stderr).toBe(
      "perennial retrain: --model '../etc' is not a valid model name: lower-case letters, digits, - and _ (at most 63), starting with a letter or digit\n",
    );
    const badTrigger = await perennial('retrain', '--model', model, '--trigger', 'Drift Alert');
    expect(badTrigger.code).toBe(2);
    expect(badTrigger.stderr).toContain("--trigger 'Drift Alert' is not a valid trigger name");
    const badSpec = await perennial('retrain', '--model', model, '--spec', join(ROOT, 'package.json'));
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(
      /package\.json: the model spec is not valid:\n\s+- \(top level\): Unrecognized keys|package\.json: the model spec is not valid/,
    );
  });

  it('bootstrap with a bad model name writes nothing', async () => {
    const r = await perennial('bootstrap', '--model', 'Bad Name');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--model 'Bad Name' is not a valid model name");
    // Nothing under that name, in any spelling (other test files write to the same bucket meanwhile: no global count).
    const written = [...(await h.store.list('datasets/')), ...(await h.store.list('models/'))].filter((o) => /bad[ _-]?name/i.test(o.key));
    expect(written).toEqual([]);
  });

  it('a reader that goes away (| head -1) ends the output without a stack trace', async () => {
    const r = await runCli([], { shell: `node bin/perennial.mjs registry show --model ${model} --version v1 | head -1; exit \${PIPESTATUS[0]}` });
    expect(r.stdout).toBe('{\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('retrain --wait says within seconds that no worker polls the task queue, and keeps waiting', async () => {
    const queue = `nobody-${uniqueId()}`;
    const started = Date.now();
    const r = await runCli(['retrain', '--model', model, '--trigger', 'no-worker', '--wait'], {
      env: { ...h.env, PERENNIAL_TASK_QUEUE: queue },
      until: /no worker polls/,
    });
    expect(r.stderr).toContain(
      `no worker polls task queue '${queue}' or '${queue}-training' in namespace '${h.config.temporalNamespace}': start one with 'npm run worker'`,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    // The run is still there, waiting for a worker: stopping the CLI did not stop it.
    const run = h.client.workflow.getHandle(`retrain/${model}`);
    const waiting = await run.describe();
    expect(waiting.status.name).toBe('RUNNING');
    // Another trigger for the same model joins the run in flight instead of racing it, and says so.
    const second = await runCli(['retrain', '--model', model, '--trigger', 'drift'], { env: { ...h.env, PERENNIAL_TASK_QUEUE: queue } });
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`a retraining of '${model}' is already running; joined it instead of starting another: retrain/${model}`);
    // Still the same run, started by the first trigger.
    const after = await run.describe();
    expect(after.runId).toBe(waiting.runId);
    expect(after.searchAttributes.PerennialTrigger).toEqual(['no-worker']);
    await run.terminate('test: no worker will come');
  });
});
