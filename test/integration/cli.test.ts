/**
 * The `perennial` command as a user runs it (node bin/perennial.mjs), against
 * the real services, with a worker of this test's own task queue.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadModelSpecFile } from '../../src/spec';
import { WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { createHarness, uniqueId, type Harness } from './harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let h: Harness;
let worker: { stop(): Promise<void> };
const model = `cli-${uniqueId()}`;

function perennial(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/perennial.mjs', ...args], {
      cwd: ROOT,
      env: h.env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
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
    expect(r.stdout).toContain(`started: retrain/${model}/manual`);
    expect(r.stdout).toMatch(new RegExp(`Temporal UI: http://[^ ]+/namespaces/${h.config.temporalNamespace}/workflows/retrain%2F${model}%2Fmanual/[0-9a-f-]+/history`));
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
    expect(lineage.workflow.id).toBe(`retrain/${model}/manual`);
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
    const badSpec = await perennial('retrain', '--model', model, '--spec', join(ROOT, 'package.json'));
    expect(badSpec.code).toBe(2);
    expect(badSpec.stderr).toMatch(/package\.json: the model spec is not valid:\n\s+- \(top level\): Unrecognized keys|package\.json: the model spec is not valid/);
  });
});
