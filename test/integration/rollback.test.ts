/**
 * `perennial rollback` as a user runs it (node bin/perennial.mjs) against the
 * real services: the RollbackModel workflow on this test's worker moves the
 * champion alias in S3, records who and why, and refuses what it cannot do
 * with exit code 1 and the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowIds } from '../../workflows/definitions';
import { SA_MODEL, SA_VERSION } from '../../src/temporal/search-attributes';
import { testArtifacts, testLineage } from '../unit/registry/lineage-fixture';
import { runPerennial, type ProgramRun } from '../helpers/programs';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `rollback-${uniqueId()}`;

function perennial(...args: string[]): Promise<ProgramRun> {
  return runPerennial(args, { env: h.env });
}

/** Registers a version (a lineage and two small artifacts) and promotes it, as a pipeline run would. */
async function promoteNew(run: string): Promise<string> {
  const lineage = { ...testLineage(`${run}-${uniqueId()}`), model };
  const { version } = await h.registry.register(model, testArtifacts(run), lineage, new Date());
  await h.registry.promote(model, version, `retrain/${model}/${run}`, new Date());
  return version;
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  for (const run of ['a', 'b', 'c']) await promoteNew(run);
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('perennial rollback', () => {
  it('puts the previous champion back through the RollbackModel workflow, which the Temporal UI shows', async () => {
    const run = await perennial('rollback', '--model', model, '--reason', 'accuracy fell on live traffic');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`started: ${workflowIds.rollback(model)}`);
    expect(run.stdout).toContain(`rolled back: ${model}: champion v2 (rolled back from v3), previous v1`);
    const aliases = await h.registry.getAliases(model);
    expect([aliases.champion, aliases.previous]).toEqual(['v2', 'v1']);
    const entry = aliases.history.at(-1)!;
    expect(entry).toMatchObject({ action: 'rollback', from: 'v3', to: 'v2' });
    expect(entry.reason).toMatch(/^accuracy fell on live traffic \(asked by cli:.+\)$/);
    // Who moved it: the workflow run, as the UI lists it with its model and version.
    const description = await h.client.workflow.getHandle(workflowIds.rollback(model)).describe();
    expect(entry.by).toBe(`${workflowIds.rollback(model)}/${description.runId}`);
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(SA_MODEL)).toBe(model);
    expect(description.typedSearchAttributes.get(SA_VERSION)).toBe('v2');
  });

  it('goes to the version --to names, and says so when it is the champion already', async () => {
    const forward = await perennial('rollback', '--model', model, '--to', 'v3');
    expect(forward.code, forward.stderr).toBe(0);
    expect((await h.registry.getAliases(model)).champion).toBe('v3');
    const again = await perennial('rollback', '--model', model, '--to', 'v3');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`${model}: v3 is the champion already; nothing to do`);
  });

  it('refuses an unknown version with exit code 1, naming the versions there are, and changes nothing', async () => {
    const before = await h.registry.getAliases(model);
    const run = await perennial('rollback', '--model', model, '--to', 'v9');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`refused: cannot roll back '${model}': it has no version 'v9' (versions: v1, v2, v3)`);
    expect(await h.registry.getAliases(model)).toEqual(before);
  });

  it('refuses when there is nothing to go back to, and a bad name with exit code 2', async () => {
    const lone = `rollback-lone-${uniqueId()}`;
    const { version } = await h.registry.register(lone, testArtifacts('lone'), { ...testLineage(`lone-${uniqueId()}`), model: lone }, new Date());
    await h.registry.promote(lone, version, 'test', new Date());
    const run = await perennial('rollback', '--model', lone);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`cannot roll back '${lone}': champion v1 has no previous version to go back to; name one with --to <version>`);
    const bad = await perennial('rollback', '--model', model, '--to', 'latest');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--to');
  });
});

describe('perennial registry history and diff', () => {
  it('history lists every move of the champion with the workflow run that made it and why', async () => {
    const run = await perennial('registry', 'history', '--model', model, '--json');
    expect(run.code, run.stderr).toBe(0);
    const entries = JSON.parse(run.stdout) as {
      action: string;
      from: string | null;
      to: string;
      workflowId: string | null;
      runId: string | null;
      reason?: string;
    }[];
    // Three promotions, then the rollbacks of the tests above (in file order).
    expect(entries.map((e) => `${e.action}:${e.from}->${e.to}`).slice(0, 5)).toEqual([
      'promote:null->v1',
      'promote:v1->v2',
      'promote:v2->v3',
      'rollback:v3->v2',
      'rollback:v2->v3',
    ]);
    const rollback = entries[3]!;
    expect(rollback.workflowId).toBe(workflowIds.rollback(model));
    expect(rollback.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(rollback.reason).toMatch(/^accuracy fell on live traffic/);
    const printed = await perennial('registry', 'history', '--model', model);
    expect(printed.stdout).toMatch(new RegExp(`rollback +v3 -> v2 {2}by rollback/${model} \\(run [0-9a-f-]{36}\\): accuracy fell on live traffic`));
  });

  it('diff puts two versions side by side and names a version that does not exist', async () => {
    const run = await perennial('registry', 'diff', '--model', model, '--from', 'v1', '--to', 'v3', '--json');
    expect(run.code, run.stderr).toBe(0);
    const diff = JSON.parse(run.stdout) as { from: string; to: string; sections: Record<string, { field: string; changed: boolean }[]> };
    expect([diff.from, diff.to]).toEqual(['v1', 'v3']);
    expect(Object.keys(diff.sections)).toEqual(['data', 'spec', 'parameters', 'code', 'metrics', 'run']);
    // Same data and code in these test versions; their runs differ.
    expect(diff.sections.data!.filter((r) => r.changed)).toEqual([]);
    expect(diff.sections.run!.find((r) => r.field === 'created')).toBeDefined();
    const missing = await perennial('registry', 'diff', '--model', model, '--from', 'v1', '--to', 'v7');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`model '${model}' has no version 'v7'; it has: v1, v2, v3`);
  });
});
