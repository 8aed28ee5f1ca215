import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDriftCommand } from '../../../src/cli/drift';
import type { CliIo } from '../../../src/cli/main';
import type { DriftReport } from '../../../src/drift/types';
import { chromiumForTests, dumpDom } from '../report/chromium';
import { expectDomMatchesJson } from '../report/dom-vs-json';

const FIX = 'test/fixtures/drift/cli/';
const WEATHER = 'node_modules/vega-datasets/data/weather.csv';

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIo = { stdout: (t) => void (out += t.endsWith('\n') ? t : t + '\n'), stderr: (t) => void (err += t.endsWith('\n') ? t : t + '\n') };
  const code = await runDriftCommand(argv, io);
  return { code, out, err };
}

async function json(...argv: string[]): Promise<DriftReport> {
  const r = await run(...argv, '--json');
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as DriftReport;
}

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'perennial-drift-cli-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('perennial drift --json', () => {
  it('reports every column with name, type, method, statistic, p_value, threshold, drift, missing; and share and drift', async () => {
    const report = await json('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv');
    expect(report.columns.map((c) => [c.name, c.type])).toEqual([
      ['x', 'numerical'],
      ['y', 'numerical'],
      ['color', 'categorical'],
      ['level', 'categorical'],
    ]);
    for (const c of report.columns) {
      expect(typeof c.method).toBe('string');
      // a chi-square with a category unseen in the reference is +Infinity, which JSON writes as null
      expect(c.statistic === null || typeof c.statistic === 'number').toBe(true);
      expect(c.p_value === null || typeof c.p_value === 'number').toBe(true);
      expect(typeof c.threshold).toBe('number');
      expect(typeof c.drift).toBe('boolean');
      expect(c.missing).toEqual({ reference: expect.any(Number), current: expect.any(Number) });
    }
    expect(typeof report.share).toBe('number');
    expect(typeof report.drift).toBe('boolean');
    const col = Object.fromEntries(report.columns.map((c) => [c.name, c]));
    // x moved by 1.5 standard deviations, level and color changed their mix; y did not change
    expect(col.x!.drift).toBe(true);
    expect(col.level!.drift).toBe(true);
    expect(col.color!.drift).toBe(true);
    expect(col.color!.unseen_categories).toEqual(['purple']);
    expect(col.y!.drift).toBe(false);
    expect(col.y!.missing).toEqual({ reference: 1, current: 0 });
    expect(col.x!.missing).toEqual({ reference: 0, current: 1 });
    expect(report.drift).toBe(true);
    expect(report.reference_rows).toBe(300);
  });

  it('reads CSV, JSONL and Parquet alike', async () => {
    const strip = (r: DriftReport) => ({ ...r, generated_at: '' });
    const a = await json('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv');
    const b = await json('--reference', FIX + 'ref.jsonl', '--current', FIX + 'cur_shift.parquet');
    const c = await json('--reference', FIX + 'ref.parquet', '--current', FIX + 'cur_shift.jsonl');
    expect(strip(b)).toEqual(strip(a));
    expect(strip(c)).toEqual(strip(a));
  });

  it('reads gzipped files (.csv.gz, .parquet.gz) as the plain ones', async () => {
    const strip = (r: DriftReport) => ({ ...r, generated_at: '' });
    const gz = async (name: string) => {
      const file = join(dir, `${name}.gz`);
      await writeFile(file, gzipSync(await readFile(FIX + name)));
      return file;
    };
    const plain = await json('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.parquet');
    const zipped = await json('--reference', await gz('ref.csv'), '--current', await gz('cur_shift.parquet'));
    expect(strip(zipped)).toEqual(strip(plain));
    const some = await json('--reference', await gz('ref.parquet'), '--current', await gz('cur_shift.parquet'), '--columns', 'level,x');
    expect(some.columns.map((c) => c.name)).toEqual(['level', 'x']);
    const byName = new Map(plain.columns.map((c) => [c.name, c]));
    expect(some.columns).toEqual([byName.get('level'), byName.get('x')]);
    const notGzip = join(dir, 'plain.csv.gz');
    await writeFile(notGzip, await readFile(FIX + 'cur_shift.csv'));
    const bad = await run('--reference', FIX + 'ref.csv', '--current', notGzip);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/plain\.csv\.gz: named \.gz but not gzip data/);
  });

  it('finds no drift between two samples of one distribution', async () => {
    const report = await json('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_same.csv');
    expect(report.drift).toBe(false);
    expect(report.share).toBeLessThan(0.5);
  });

  it('passes --columns, --method, --threshold and --drift-share to the engine', async () => {
    const report = await json(
      '--reference',
      FIX + 'ref.csv',
      '--current',
      FIX + 'cur_shift.csv',
      '--columns',
      'y,x',
      '--method',
      'ks',
      '--threshold',
      '0.01',
      '--drift-share',
      '0.4',
    );
    expect(report.columns.map((c) => c.name).sort()).toEqual(['x', 'y']);
    expect(report.columns.every((c) => c.method === 'ks' && c.threshold === 0.01)).toBe(true);
    expect(report.drift_share).toBe(0.4);
    // one of two columns drifted: 0.5 >= 0.4
    expect(report.share).toBe(0.5);
    expect(report.drift).toBe(true);
    const wass = await json('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--columns', 'x', '--method', 'wasserstein');
    expect(wass.columns[0]!.method).toBe('wasserstein');
    expect(wass.columns[0]!.p_value).toBeNull();
  });
});

describe('perennial drift (table, exit codes, HTML)', () => {
  it('prints a readable table, most drifted first', async () => {
    const r = await run('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^Dataset drift: YES — \d of 4 testable columns drifted/);
    expect(r.out).toMatch(/column\s+type\s+method\s+statistic\s+p-value\s+threshold\s+drift\s+missing ref\/cur/);
    const lines = r.out.split('\n');
    expect(lines.findIndex((l) => l.startsWith('y '))).toBeGreaterThan(lines.findIndex((l) => l.startsWith('x ')));
    expect(r.out).toContain("Unseen categories in 'color': purple");
  });

  it('--fail-on-drift exits 1 on dataset drift, 0 without', async () => {
    expect((await run('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--fail-on-drift')).code).toBe(1);
    expect((await run('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_same.csv', '--fail-on-drift')).code).toBe(0);
    expect((await run('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv')).code).toBe(0);
  });

  it('--html writes the report; with --json stdout stays JSON', async () => {
    const out = join(dir, 'report.html');
    const r = await run('--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--json', '--html', out);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as DriftReport;
    expect(r.err).toContain(`HTML report written to ${out}`);
    const html = await readFile(out, 'utf8');
    expect(html).toContain('Dataset drift detected');
    for (const c of report.columns) expect(html).toContain(`data-column-card="${c.name}"`);
  });
});

describe('perennial drift errors exit 2 naming file, row and column', () => {
  const cases: [string, string[], RegExp][] = [
    [
      'an unknown --columns name',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--columns', 'x,nope'],
      /ref\.csv, column 'nope': no column 'nope'; the file has: x, y, color, level/,
    ],
    ['a file that does not parse (CSV)', ['--reference', FIX + 'ref.csv', '--current', FIX + 'quoted.csv'], /quoted\.csv, row 2: not valid CSV/],
    ['a file that does not parse (JSONL)', ['--reference', FIX + 'broken.jsonl', '--current', FIX + 'cur_shift.csv'], /broken\.jsonl, row 2: not valid JSON/],
    [
      'a file that does not parse (Parquet)',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'not_parquet.parquet'],
      /not_parquet\.parquet: not a readable Parquet file/,
    ],
    ['a missing file', ['--reference', FIX + 'nowhere.csv', '--current', FIX + 'cur_shift.csv'], /nowhere\.csv: cannot read the file: ENOENT/],
    [
      'a row with the wrong number of fields',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'ragged.csv'],
      /ragged\.csv, row 4: expected 4 fields, found 5/,
    ],
    [
      'text in a numeric column',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'text_in_numeric.csv'],
      /text_in_numeric\.csv, row 8, column 'x': text 'about 3' in a numeric column/,
    ],
    [
      '--threshold not a number',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--threshold', 'abc'],
      /--threshold must be a number greater than 0, got 'abc'/,
    ],
    [
      '--threshold negative',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--threshold=-0.1'],
      /--threshold must be a number greater than 0/,
    ],
    [
      '--drift-share above 1',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--drift-share', '1.5'],
      /--drift-share must be a number in \(0, 1\], got '1.5'/,
    ],
    [
      '--drift-share zero',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--drift-share', '0'],
      /--drift-share must be a number in \(0, 1\]/,
    ],
    ['a --columns name given twice', ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--columns', 'x,y,x'], /--columns names 'x' twice/],
    [
      'an empty --columns entry',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--columns', 'x,,y'],
      /--columns must be a comma-separated list/,
    ],
    ['a file with a header and no rows', ['--reference', FIX + 'ref.csv', '--current', FIX + 'header_only.csv'], /header_only\.csv: no data rows/],
    [
      'an --html path that cannot be written',
      ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--html', '/nonexistent-dir/report.html'],
      /ENOENT.*\/nonexistent-dir\/report\.html/,
    ],
    ['no --current', ['--reference', FIX + 'ref.csv'], /--current <file> is required/],
    ['an unknown option', ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--colums', 'x'], /Unknown option '--colums'/],
    ['an unsupported file type', ['--reference', FIX + 'make.py', '--current', FIX + 'cur_shift.csv'], /make\.py: unsupported file type '\.py'/],
    ['an unknown method', ['--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.csv', '--method', 'astrology'], /astrology/],
    // checked before the files are read
    [
      'an unknown method, files missing',
      ['--reference', FIX + 'nowhere.csv', '--current', FIX + 'nowhere.parquet', '--method', 'astrology'],
      /--method: Unknown drift method "astrology"/,
    ],
    [
      'an unknown --columns name (Parquet)',
      ['--reference', FIX + 'ref.parquet', '--current', FIX + 'cur_shift.parquet', '--columns', 'x,nope'],
      /ref\.parquet, column 'nope': no column 'nope'; the file has: x, y, color, level/,
    ],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out).toBe('');
    });
  }
});

describe('real data: vega-datasets weather.csv', () => {
  let seattle = '';
  let newYork = '';
  let seattleEarly = '';
  let seattleLate = '';
  beforeAll(async () => {
    const [header, ...rows] = (await readFile(WEATHER, 'utf8')).trim().split('\n');
    const write = async (name: string, keep: (row: string) => boolean) => {
      const file = join(dir, name);
      await writeFile(file, [header, ...rows.filter(keep)].join('\n') + '\n');
      return file;
    };
    seattle = await write('seattle.csv', (r) => r.startsWith('Seattle,'));
    newYork = await write('new-york.csv', (r) => r.startsWith('New York,'));
    seattleEarly = await write('seattle-2012-2013.csv', (r) => /^Seattle,201[23]-/.test(r));
    seattleLate = await write('seattle-2014-2015.csv', (r) => /^Seattle,201[45]-/.test(r));
  });
  const FEATURES = 'precipitation,temp_max,temp_min,wind,weather';

  it('Seattle vs New York is dataset drift (a real location shift)', async () => {
    const r = await run('--reference', seattle, '--current', newYork, '--columns', FEATURES, '--json', '--fail-on-drift');
    expect(r.code, r.err).toBe(1);
    const report = JSON.parse(r.out) as DriftReport;
    expect(report.drift).toBe(true);
    expect(report.reference_rows).toBe(1461);
    expect(report.current_rows).toBe(1461);
    const col = Object.fromEntries(report.columns.map((c) => [c.name, c]));
    expect(col.temp_max!.drift).toBe(true);
    expect(col.wind!.drift).toBe(true);
    expect(report.share).toBeGreaterThanOrEqual(0.8);
    // without --columns the date column is left out (datetime) and said so
    const all = await run('--reference', seattle, '--current', newYork, '--json');
    expect(all.err).toContain("skipped column 'date': datetime column");
    expect((JSON.parse(all.out) as DriftReport).columns.map((c) => c.name)).toEqual(['location', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather']);
  });

  it('Seattle 2012-2013 vs Seattle 2014-2015 drifts much less', async () => {
    // Evidently's defaults (auto): every feature drifts across cities; within Seattle fewer do.
    // Within Seattle is not drift-free: 2014-2015 were warmer years and the weather labels
    // changed between the years (rain 349 -> 292, sun 291 -> 349, fog 21 -> 80).
    const across = await json('--reference', seattle, '--current', newYork, '--columns', FEATURES);
    const within = await json('--reference', seattleEarly, '--current', seattleLate, '--columns', FEATURES);
    expect(within.reference_rows).toBe(731);
    expect(across.share).toBe(1);
    expect(within.share).toBeLessThan(across.share);
    expect(within.number_of_drifted_columns).toBeLessThan(across.number_of_drifted_columns);
    // one method for both (auto picks ks below 1000 rows and wasserstein above): distances are what differ
    const numerical = 'precipitation,temp_max,temp_min,wind';
    const a = await json('--reference', seattle, '--current', newYork, '--columns', numerical, '--method', 'wasserstein');
    const w = await json('--reference', seattleEarly, '--current', seattleLate, '--columns', numerical, '--method', 'wasserstein');
    expect(a.number_of_drifted_columns).toBe(4);
    expect(w.number_of_drifted_columns).toBeLessThanOrEqual(2);
    const dist = (r: DriftReport, name: string) => r.columns.find((c) => c.name === name)!.statistic!;
    const total = (r: DriftReport) => r.columns.reduce((sum, c) => sum + c.statistic!, 0);
    expect(total(w)).toBeLessThan(0.5 * total(a));
    expect(dist(w, 'wind')).toBeLessThan(dist(a, 'wind') / 3);
    expect(dist(w, 'temp_min')).toBeLessThan(dist(a, 'temp_min') / 3);
  });
});

describe('end to end: node bin/perennial.mjs drift', () => {
  const exec = promisify(execFile);
  const root = resolve('.');
  const chromium = chromiumForTests('test/drift/cli/drift.test.ts (the DOM check of the HTML the CLI writes)');

  it('prints the JSON report and exits 1 with --fail-on-drift', async () => {
    const html = join(dir, 'e2e.html');
    const result = await exec(
      process.execPath,
      ['bin/perennial.mjs', 'drift', '--reference', FIX + 'ref.csv', '--current', FIX + 'cur_shift.parquet', '--json', '--html', html, '--fail-on-drift'],
      { cwd: root },
    ).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as DriftReport;
    expect(report.drift).toBe(true);
    expect(existsSync(html)).toBe(true);
    // the HTML written by the real CLI, opened in a real browser, shows the very numbers of the JSON
    // (skipped without chromium, unless PERENNIAL_REQUIRE_CHROMIUM makes chromiumForTests throw)
    if (chromium) expectDomMatchesJson(await dumpDom(chromium, html), result.stdout);
  });

  it('exits 2 with the file, row and column on bad data', async () => {
    const result = await exec(process.execPath, ['bin/perennial.mjs', 'drift', '--reference', FIX + 'ref.csv', '--current', FIX + 'text_in_numeric.csv'], {
      cwd: root,
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("text_in_numeric.csv, row 8, column 'x': text 'about 3' in a numeric column");
  });
});
