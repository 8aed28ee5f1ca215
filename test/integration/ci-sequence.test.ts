/**
 * The CI/CD sequence as the GitHub Actions workflow runs it
 * (scripts/ci-retrain.sh: publish the spec, retrain through the pipeline for
 * the commit, wait), against the real services with a worker of this test
 * (its code version is this checkout's commit): exit 0 and a version traceable
 * to the commit when the gate passes; exit 1 and the champion untouched when
 * it rejects, or when the workers run other code than the commit; 2 on bad usage.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { bootstrapWeather, WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { loadModelSpecFile, type ModelSpec } from '../../src/spec';
import { tempFiles } from '../helpers/temp-files';
import { createHarness, uniqueId, type Harness } from './harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const exec = promisify(execFile);
const { fresh, write } = tempFiles('perennial-ci-');
let h: Harness;
let worker: { stop(): Promise<void> };
const model = `ci-${uniqueId()}`;
let spec: ModelSpec;

async function ciRetrain(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('bash', ['scripts/ci-retrain.sh', ...args], { cwd: ROOT, env: h.env });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The spec as a file named after the model, as models/<model>.yaml is in a repository. */
function specFile(over: Partial<ModelSpec> = {}): string {
  fresh(`${model}.yaml`);
  return write(`${model}.yaml`, stringify({ ...spec, ...over, name: model }));
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
  await bootstrapWeather(h.store, { model });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('CI/CD: scripts/ci-retrain.sh against the real services', () => {
  // The commit the workers run: what CI checks out and starts a worker from. Lineage records
  // the workers' code as ingest reports it ('-dirty' when run from a tree with local changes).
  const commit = () => h.deps.code.version;
  const running = () => `${h.deps.code.version}${h.deps.code.dirty ? '-dirty' : ''}`;

  it('retrains the changed model with the commit as code version and exits 0 when it is promoted', async () => {
    const run = await ciRetrain(commit(), specFile());
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`== ${model}`);
    expect(run.stdout).toMatch(/promoted: .*v1 promoted to champion/);
    const lineage = (await h.registry.getLineage(model, 'v1'))!;
    expect(lineage.code.version).toBe(running());
    expect(lineage.trigger).toBe('ci');
    expect(lineage.triggerReason).toBe(`commit ${commit()}`);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
  });

  it('exits 1 when the gate rejects the candidate, and the champion stays', async () => {
    const strict = specFile({ evaluation: { ...spec.evaluation, gate: { ...spec.evaluation.gate, minAccuracy: 0.99 } } });
    const run = await ciRetrain(commit(), strict);
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stdout).toMatch(/rejected: the candidate did not pass the gate \(accuracy [0-9.]+ < minAccuracy 0\.99/);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
  });

  it('exits 1 without training when the workers run other code than the commit under test', async () => {
    const other = 'feedface0123456789abcdef0123456789abcdef';
    const run = await ciRetrain(other, specFile());
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(1);
    expect(run.stderr).toContain(`this run was started for code ${other}, but the workers run ${running()}: deploy that commit's worker`);
    expect(run.stdout).not.toContain('train ');
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
  });

  it('exits 2 on bad usage, saying how to call it', async () => {
    const run = await ciRetrain(commit());
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('usage: scripts/ci-retrain.sh <commit> <spec.yaml>');
  });
});
