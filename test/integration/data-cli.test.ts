/**
 * `perennial data list|show|diff` as a user runs it (node bin/perennial.mjs),
 * on the real services: two retrainings of the weather model with a new batch
 * in between make two snapshots and two versions.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { publishSpec } from '../../src/spec';
import { keys } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import type { RetrainResult } from '../../workflows/definitions';
import { runPerennial, type ProgramRun } from '../helpers/programs';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `data-${uniqueId()}`;
let first: RetrainResult;
let second: RetrainResult;
let newYork2015Rows: number;

function perennial(...args: string[]): Promise<ProgramRun> {
  return runPerennial(args, { env: h.env });
}

async function retrain(): Promise<RetrainResult> {
  const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual' });
  return handle.result();
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  // Only the baseline gate: both versions are registered whatever their accuracy on the smaller data (this test is about the data).
  const { spec } = await bootstrapWeather(h.store, { model, years: [2013, 2014, 2015] });
  await publishSpec(h.store, { ...spec, name: model, evaluation: { ...spec.evaluation, gate: { mustBeatBaseline: true } } });
  // v1: Seattle 2013-2015.
  first = await retrain();
  // v2: New York's 2015 arrives.
  await bootstrapWeather(h.store, { model, location: 'New York', years: [2015] });
  await publishSpec(h.store, { ...spec, name: model, evaluation: { ...spec.evaluation, gate: { mustBeatBaseline: true } } });
  second = await retrain();
  const { columns, rows } = await weatherRows('New York');
  newYork2015Rows = rows.filter((r) => String(r[columns.indexOf('date')]).startsWith('2015-')).length;
}, 300_000);

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('perennial data', () => {
  it('made two snapshots and two versions to look at', () => {
    expect(first.outcome, first.message).toBe('promoted');
    expect(second.outcome, second.message).toBe('promoted');
    expect([first.version, second.version]).toEqual(['v1', 'v2']);
  });

  it('list shows both snapshots, newest first, with rows, batches and the versions trained on them', async () => {
    const v1 = (await h.registry.getLineage(model, 'v1'))!.data;
    const v2 = (await h.registry.getLineage(model, 'v2'))!.data;
    const run = await perennial('data', 'list', '--model', model);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines[0]).toBe(`${model}: 2 snapshot(s), champion v2 (* trained the champion)`);
    const newer = lines.findIndex((l) => l.includes(v2.snapshotSha256.slice(0, 12)));
    const older = lines.findIndex((l) => l.includes(v1.snapshotSha256.slice(0, 12)));
    expect(newer).toBeGreaterThan(0);
    expect(older).toBeGreaterThan(newer);
    expect(lines[newer]).toMatch(new RegExp(`^\\* ${v2.snapshotSha256.slice(0, 12)} .* 1460 +2013-01-01\\.\\.2015-12-31 +4 +v2 \\(champion\\)$`));
    expect(lines[older]).toMatch(new RegExp(`^  ${v1.snapshotSha256.slice(0, 12)} .* 1095 +2013-01-01\\.\\.2015-12-31 +3 +v1$`));

    const json = await perennial('data', 'list', '--model', model, '--json');
    expect(json.code).toBe(0);
    const entries = JSON.parse(json.stdout) as { id: string; rows: number; batches: number; versions: string[]; champion: boolean }[];
    expect(entries.map((e) => [e.id, e.rows, e.batches, e.versions, e.champion])).toEqual([
      [v2.snapshotSha256, 1460, 4, ['v2'], true],
      [v1.snapshotSha256, 1095, 3, ['v1'], false],
    ]);
  });

  it('show prints the manifest: batches with key, sha256, source and rows, window, file sha256, versions', async () => {
    const v2 = (await h.registry.getLineage(model, 'v2'))!.data;
    const run = await perennial('data', 'show', '--model', model, '--snapshot', 'champion');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`snapshot ${v2.snapshotSha256}\n`);
    expect(run.stdout).toContain(`  file sha256 ${v2.snapshotFileSha256}\n`);
    expect(run.stdout).toContain('  rows        1460\n');
    expect(run.stdout).toContain('  window      {"kind":"days","days":1461}\n');
    expect(run.stdout).toContain('  versions    v2 (champion)\n');
    expect(run.stdout).toMatch(new RegExp(`${keys.incomingBatch(model, 'new-york-2015.csv')} +[0-9a-f]{12} +- +365\\n`));
    for (const year of [2013, 2014, 2015]) expect(run.stdout).toContain(keys.incomingBatch(model, `seattle-${year}.csv`));

    // a prefix and a version name the same snapshot; --json parses
    const json = await perennial('data', 'show', '--model', model, '--snapshot', v2.snapshotSha256.slice(0, 8), '--json');
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout) as {
      id: string;
      fileSha256: string;
      batches: { key: string; sha256: string; acceptedRows?: number }[];
      versions: string[];
    };
    expect(shown.id).toBe(v2.snapshotSha256);
    expect(shown.fileSha256).toBe(v2.snapshotFileSha256);
    expect(shown.versions).toEqual(['v2']);
    expect(shown.batches).toHaveLength(4);
    expect(shown.batches.every((b) => /^[0-9a-f]{64}$/.test(b.sha256))).toBe(true);
    expect(shown.batches.find((b) => b.key.endsWith('new-york-2015.csv'))!.acceptedRows).toBe(365);
    const byVersion = JSON.parse((await perennial('data', 'show', '--model', model, '--snapshot', 'v2', '--json')).stdout) as { id: string };
    expect(byVersion.id).toBe(v2.snapshotSha256);
  });

  it('diff says the rows and batches added, no schema change, and the drift per column', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'data-diff-'));
    const html = join(dir, 'report.html');
    const run = await perennial('data', 'diff', '--model', model, '--from', 'v1', '--to', 'champion', '--html', html);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`rows        1095 -> 1460: ${newYork2015Rows} added, 0 removed, 1095 in both`);
    expect(run.stdout).toContain('batches     1 added, 0 removed, 3 in both');
    expect(run.stdout).toContain(`  + ${keys.incomingBatch(model, 'new-york-2015.csv')}`);
    expect(run.stdout).toContain('schema      no change (7 columns)');
    // The drift engine's table: New York in the location column is real drift.
    expect(run.stdout).toMatch(/^Dataset drift: /m);
    expect(run.stdout).toMatch(/^column +type +method +statistic +p-value +threshold +drift/m);
    for (const column of ['location', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']) expect(run.stdout).toMatch(new RegExp(`^${column} `, 'm'));
    expect(run.stdout).toMatch(/^location +categorical +\S+ .* DRIFT/m);
    expect(await readFile(html, 'utf8')).toContain('<html');

    const json = await perennial('data', 'diff', '--model', model, '--from', 'v1', '--to', 'v2', '--json');
    expect(json.code).toBe(0);
    const diff = JSON.parse(json.stdout) as {
      rows: { added: number; removed: number; common: number };
      batches: { added: { key: string }[]; removed: unknown[]; kept: number };
      schema: { unchanged: boolean; added: unknown[]; removed: unknown[]; changed: unknown[] };
      drift: { share: number; drift_share: number; columns: { name: string; method: string; p_value: number | null; drift: boolean }[] };
    };
    expect(diff.rows).toMatchObject({ added: newYork2015Rows, removed: 0, common: 1095 });
    expect(diff.batches.added.map((b) => b.key)).toEqual([keys.incomingBatch(model, 'new-york-2015.csv')]);
    expect(diff.batches.removed).toEqual([]);
    expect(diff.schema).toMatchObject({ unchanged: true, added: [], removed: [], changed: [] });
    expect(diff.drift.columns.map((c) => c.name).sort()).toEqual(['location', 'precipitation', 'temp_max', 'temp_min', 'weather', 'wind']);
    expect(diff.drift.columns.find((c) => c.name === 'location')!.drift).toBe(true);
    expect(diff.drift.drift_share).toBe(0.5);

    // The other way round: the same rows, removed.
    const back = JSON.parse((await perennial('data', 'diff', '--model', model, '--from', 'v2', '--to', 'v1', '--json')).stdout) as typeof diff;
    expect(back.rows).toMatchObject({ added: 0, removed: newYork2015Rows });
  });

  it('an unknown snapshot exits 2 naming the snapshots there are', async () => {
    const v1 = (await h.registry.getLineage(model, 'v1'))!.data.snapshotSha256.slice(0, 12);
    const v2 = (await h.registry.getLineage(model, 'v2'))!.data.snapshotSha256.slice(0, 12);
    const run = await perennial('data', 'show', '--model', model, '--snapshot', 'ffffffff');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(`no snapshot of model '${model}' starts with 'ffffffff'; model '${model}' has: `);
    expect(run.stderr).toContain(`${v1} (v1)`);
    expect(run.stderr).toContain(`${v2} (v2)`);
    const version = await perennial('data', 'diff', '--model', model, '--from', 'v9', '--to', 'v1');
    expect(version.code).toBe(2);
    expect(version.stderr).toContain(`--from v9: model '${model}' has no version 'v9'`);
    const usage = await perennial('data', 'diff', '--model', model, '--from', 'v1');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('data diff needs --from and --to');
  });
});
