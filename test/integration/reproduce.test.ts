/**
 * `perennial reproduce` as a user runs it (node bin/perennial.mjs) against the
 * real services: a weather version trained by the pipeline is retrained from
 * its lineage by the ReproduceVersion workflow. On the backend that trained
 * it, every weight, the preprocessor and every metric come back bit for bit;
 * on another backend (tfjs 'cpu' against 'wasm') they differ in the last bits
 * and the report says by how much against the stated tolerance. Code other
 * than the version's, an unknown version and a snapshot that is gone are
 * refused with exit code 1; nothing is registered or promoted, and the run
 * leaves no staging behind.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds, type ReproduceResult } from '../../workflows/definitions';
import { bootstrapWeather } from '../../src/demo/weather';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { SA_MODEL, SA_STAGE, SA_VERSION } from '../../src/temporal/search-attributes';
import { runPerennial, type ProgramRun } from '../helpers/programs';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> } | undefined;
const model = `reproduce-${uniqueId()}`;

function perennial(...args: string[]): Promise<ProgramRun> {
  return runPerennial(args, { env: h.env });
}

async function useWorker(options: Parameters<Harness['startWorker']>[0] = {}): Promise<void> {
  await worker?.stop();
  worker = await h.startWorker(options);
}

const leftovers = async () => [...(await h.store.list(`models/${model}/staging/`)), ...(await h.store.list(`models/${model}/checkpoints/`))].map((o) => o.key);

beforeAll(async () => {
  h = await createHarness();
  await useWorker();
  await bootstrapWeather(h.store, { model });
  const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
  const result = await handle.result();
  expect(result.outcome, result.message).toBe('promoted');
}, 240_000);

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('perennial reproduce', () => {
  it('retrains v1 from its lineage on the backend that trained it and gets every bit back', async () => {
    const lineage = (await h.registry.getLineage(model, 'v1'))!;
    const run = await perennial('reproduce', '--model', model, '--version', 'v1');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain(`started: ${workflowIds.reproduce(model, 'v1')}`);
    expect(run.stdout).toContain(`${model}/v1: identical`);
    expect(run.stdout).toContain(`backend    recorded ${lineage.backend}, reproduced ${lineage.backend} (same backend: every bit must match)`);
    expect(run.stdout).toMatch(/weights {4}0 of \d+ differ, max \|diff\| 0\.00/);
    expect(run.stdout).toContain('preprocessor identical');

    // The report on S3 has every metric of the version, unchanged.
    const reports = await h.store.list(keys.reproductions(model));
    expect(reports).toHaveLength(1);
    const report = JSON.parse((await h.store.get(reports[0]!.key)).toString()) as ReproduceResult;
    expect(report.verdict).toBe('identical');
    expect(report.metrics.find((m) => m.name === 'accuracy')).toEqual({
      name: 'accuracy',
      recorded: (lineage.metrics as { accuracy: number }).accuracy,
      reproduced: (lineage.metrics as { accuracy: number }).accuracy,
      diff: 0,
    });
    expect(report.weights.values).toBeGreaterThan(500);
    console.log(
      `reproduce ${report.backends.recorded} -> ${report.backends.reproduced}: ${report.weights.differing} of ${report.weights.values} weights differ (${report.verdict})`,
    );

    // A measurement, not a version: nothing registered or moved, nothing staged left.
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
    expect(await leftovers()).toEqual([]);
    const description = await h.client.workflow.getHandle(workflowIds.reproduce(model, 'v1')).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(SA_MODEL)).toBe(model);
    expect(description.typedSearchAttributes.get(SA_VERSION)).toBe('v1');
    expect(description.typedSearchAttributes.get(SA_STAGE)).toBe('identical');
  }, 180_000);

  it('refuses workers on other code, then on --allow-other-code and the cpu backend reproduces within tolerance, naming both', async () => {
    await useWorker({ deps: { backend: 'cpu', code: { version: 'other-commit', dirty: false, package: 'perennial@0.1.0' } } });
    const refused = await perennial('reproduce', '--model', model, '--version', 'v1');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/cannot reproduce: this run was started for code \S+, but the workers run other-commit/);

    const run = await perennial('reproduce', '--model', model, '--version', 'v1', '--allow-other-code', '--json');
    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    const result = JSON.parse(run.stdout) as ReproduceResult;
    expect(result.backends).toEqual({ recorded: 'wasm', reproduced: 'cpu' });
    expect(result.codeVersions.reproduced).toBe('other-commit');
    expect(result.verdict).toBe('within-tolerance');
    expect(result.tolerance).toEqual({ weights: 1e-3, metrics: 5e-3 });
    // Other rounding: some weights differ, by little; the preprocessor is plain JavaScript and identical.
    expect(result.weights.differing).toBeGreaterThan(0);
    expect(result.weights.maxAbsDiff).toBeLessThanOrEqual(1e-3);
    expect(result.preprocessor.identical).toBe(true);
    for (const m of result.metrics) expect(Math.abs(m.diff), m.name).toBeLessThanOrEqual(5e-3);
    // The figures the README and the closing note quote.
    console.log(
      `reproduce ${result.backends.recorded} -> ${result.backends.reproduced}: ${result.weights.differing} of ${result.weights.values} weights differ, max |diff| ${result.weights.maxAbsDiff.toPrecision(3)}; ` +
        result.metrics.map((m) => `${m.name} ${m.diff === 0 ? '=' : m.diff.toPrecision(3)}`).join(', '),
    );
  }, 240_000);

  it('says it differs, with exit code 1 and the tensor, when the tolerance is tighter than the backends agree', async () => {
    const run = await perennial('reproduce', '--model', model, '--version', 'v1', '--allow-other-code', '--weights-tolerance', '0');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain(`${model}/v1: differs`);
    expect(run.stdout).toMatch(/did not reproduce on cpu \(it was trained on wasm\): \d+ of \d+ weights differ, by up to \S+ \(in \S+\), over the tolerance 0/);
    expect(await leftovers()).toEqual([]);
  }, 240_000);

  it('refuses an unknown version, a snapshot that is gone and bad usage, naming what is wrong', async () => {
    const unknown = await perennial('reproduce', '--model', model, '--version', 'v7', '--allow-other-code');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`cannot reproduce ${model}/v7: no such version (versions: v1)`);

    const usage = await perennial('reproduce', '--model', model, '--version', 'v1', '--weights-tolerance', 'lots');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--weights-tolerance must be a number >= 0, not 'lots'");

    const { snapshotKey } = (await h.registry.getLineage(model, 'v1'))!.data;
    await h.store.delete(snapshotKey);
    const gone = await perennial('reproduce', '--model', model, '--version', 'v1', '--allow-other-code');
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot reproduce ${model}/v1: its training snapshot ${snapshotKey} is no longer in`);
  }, 120_000);
});
