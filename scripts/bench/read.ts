/**
 * npm run bench:read — prints figures, asserts nothing (issue 8: the read
 * path moved from hand-written JS readers to an embedded DuckDB engine).
 *
 *  1. Generates seeded reference and current samples (20 numerical + 5
 *     categorical columns; a few columns of the current sample shifted) as
 *     CSV, CSV.gz, JSON Lines, JSON Lines .gz and Parquet in a temp dir (not timed).
 *  2. Reads each reference file with the old path (readTableFile; Parquet:
 *     readParquetSource) and the new one (readColumnTable), each read in a
 *     process of its own so its peak RSS is its own; median of 3 runs.
 *  3. Times `perennial drift --json` on the CSV pair end to end (the whole
 *     process, as a user runs it) beside pandas + Evidently on the same files
 *     (scripts/reference/read_drift_evidently.py), when Python has them (PERENNIAL_PYTHON, else a .data/venv-* that has them, else python3).
 *     perennial drift runs as bin/perennial.mjs picks (the precompiled CLI when
 *     fresh: `npm run build:cli`), and once more from source through tsx.
 *
 *   npx tsx scripts/bench/read.ts [--rows 200000,1000000] [--formats csv,jsonl,...] [--no-python] [--keep DIR [--generate-only]]
 *   (--keep: the files stay in DIR, and a later run with the same DIR reads them again instead of writing them)
 *   PERENNIAL_PYTHON=/path/to/venv/bin/python npx tsx scripts/bench/read.ts   (the Python with Evidently)
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createGzip } from 'node:zlib';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Column } from '../../src/data/columns';
import { readParquetSource, type SourceTable } from './legacy/parquet';
import { mulberry32 } from '../../src/model/rng';
import { readTableFile } from './legacy/read';
import { readColumnTable } from '../../src/data/read-columns';
import type { RawTable } from '../../src/data/table';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const EVIDENTLY_SCRIPT = join(ROOT, 'scripts/reference/read_drift_evidently.py');
const REPEAT = 3;
/** An old-path read expected to take longer than this is skipped. */
const OLD_PATH_BUDGET_SECONDS = 60;
const FORMATS = ['csv', 'csv.gz', 'jsonl', 'jsonl.gz', 'parquet'] as const;
type Format = (typeof FORMATS)[number];
const RESULT = '@@RESULT@@';
/** The Python with pandas and Evidently: PERENNIAL_PYTHON (a venv's python, say), else the python of the first .data/venv-* folder that has them, else python3 on PATH. */
const PYTHON = process.env.PERENNIAL_PYTHON ?? findPython();

function findPython(): string {
  const data = join(ROOT, '.data');
  const venvs = existsSync(data) ? readdirSync(data).filter((d) => d.startsWith('venv-')) : [];
  for (const venv of venvs.sort()) {
    const python = join(data, venv, 'bin/python');
    if (existsSync(python) && spawnSync(python, ['-c', 'import evidently, pandas'], { stdio: 'ignore' }).status === 0) return python;
  }
  return 'python3';
}

const now = (): number => performance.now() / 1000;
const mb = (bytes: number): number => bytes / 1024 / 1024;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number, digits = 2): string => x.toFixed(digits);
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const load = (): string =>
  loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');

// ---- seeded data (not timed) ----------------------------------------------

/** A seeded uniform generator on [0, 1): the one training uses. */
const uniform = mulberry32;

function gaussian(u: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

const NUMERIC = Array.from({ length: 20 }, (_, j) => `num_${String(j).padStart(2, '0')}`);
const CATEGORICAL = Array.from({ length: 5 }, (_, j) => `cat_${j}`);
const LABELS = CATEGORICAL.map((name) => Array.from({ length: 12 }, (_, i) => `${name}_v${String(i).padStart(2, '0')}`));
/** Moved in the current sample: mean shifts (num_03, num_07), a wider spread (num_11), reweighted categories (cat_1). */
const SHIFTED = ['num_03', 'num_07', 'num_11', 'cat_1'];

/** One CSV row. num_01 and cat_2 have ~1% missing cells (empty fields), so both paths read nulls. */
function csvRow(u: () => number, current: boolean): string {
  const cells: string[] = [];
  for (let j = 0; j < NUMERIC.length; j++) {
    const mean = (j % 7) * 3 - 5;
    const sd = 1 + (j % 4);
    const shift = current && (j === 3 || j === 7) ? 0.3 * sd : 0;
    const widen = current && j === 11 ? 1.5 : 1;
    const x = mean + shift + sd * widen * gaussian(u);
    if (j === 1 && u() < 0.01) cells.push('');
    // the last two are integer columns (ages, counts), the rest 4 decimals
    else cells.push(j >= 18 ? String(Math.round(40 + 12 * x)) : x.toFixed(4));
  }
  for (let j = 0; j < CATEGORICAL.length; j++) {
    const labels = LABELS[j]!;
    // Zipf-like shares; in the current sample cat_1's even labels are three times as likely
    const weights = labels.map((_, i) => (current && j === 1 && i % 2 === 0 ? 3 : 1) / (i + 1));
    let x = u() * weights.reduce((s, w) => s + w, 0);
    let k = 0;
    while (k < labels.length - 1 && x >= weights[k]!) x -= weights[k++]!;
    cells.push(j === 2 && u() < 0.01 ? '' : labels[k]!);
  }
  return cells.join(',');
}

async function writeCsv(path: string, rows: number, seed: number, current: boolean): Promise<void> {
  const u = uniform(seed);
  const out = createWriteStream(path);
  out.write([...NUMERIC, ...CATEGORICAL].join(',') + '\n');
  for (let i = 0; i < rows; i += 10_000) {
    const chunk: string[] = [];
    for (let k = i; k < Math.min(rows, i + 10_000); k++) chunk.push(csvRow(u, current));
    // respect back-pressure so a million rows do not pile up in memory
    if (!out.write(chunk.join('\n') + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((done, fail) => out.end((error?: Error | null) => (error ? fail(error) : done())));
}

/** The reference and current files of one size in every format: `${dir}/{ref,cur}.${format}`. */
async function generate(dir: string, rows: number): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  for (const [name, seed, current] of [
    ['ref', 20260101, false],
    ['cur', 20260202, true],
  ] as const) {
    const csv = join(dir, `${name}.csv`);
    await writeCsv(csv, rows, seed, current);
    await pipeline(createReadStream(csv), createGzip(), createWriteStream(`${csv}.gz`));
    // DuckDB writes the other formats from the same CSV, so every format holds the same values
    const source = `SELECT * FROM read_csv('${csv}', header = true)`;
    await connection.run(`COPY (${source}) TO '${join(dir, `${name}.jsonl`)}' (FORMAT json)`);
    await pipeline(createReadStream(join(dir, `${name}.jsonl`)), createGzip(), createWriteStream(join(dir, `${name}.jsonl.gz`)));
    await connection.run(`COPY (${source}) TO '${join(dir, `${name}.parquet`)}' (FORMAT parquet)`);
  }
  connection.closeSync();
  db.closeSync();
}

// ---- one read, in a child process -------------------------------------------

interface ReadResult {
  seconds: number;
  rows: number;
  peakRssMb: number;
  /** What was read, in a form both paths can produce (to catch a reader that differs). */
  check: string;
}

/** Column checks: the kinds found (and any column the file does not have), sum(num_00), missing num_01, distinct and missing cat_2. */
function describe(names: string[], kinds: string[], sum: number, missingNum: number, distinctCat: number, missingCat: number): string {
  const count = (k: string) => kinds.filter((x) => x === k).length;
  const kindText = ['number', 'date', 'text'].map((k) => `${count(k)} ${k}`).join('/');
  const extra = names.filter((n) => !NUMERIC.includes(n) && !CATEGORICAL.includes(n));
  return (
    `${names.length} columns (${kindText}${extra.length > 0 ? `; not in the file: ${extra.join(', ')}` : ''}); ` +
    `sum(num_00) ${sum.toPrecision(12)}; num_01 missing ${missingNum}; cat_2 ${distinctCat} values, ${missingCat} missing`
  );
}

function checkColumns(columns: Map<string, Column>): string {
  const kinds = [...columns.values()].map((c) => c.kind);
  const num = (name: string) => (columns.get(name) as { values: Float64Array }).values;
  const cat = columns.get('cat_2') as Column & { kind: 'text' };
  const sum = num('num_00').reduce((s, x) => (Number.isNaN(x) ? s : s + x), 0);
  const missing = num('num_01').filter((x) => Number.isNaN(x)).length;
  return describe([...columns.keys()], kinds, sum, missing, cat.dictionary.length, cat.codes.filter((c) => c < 0).length);
}

/** The same checks on cells: a column is a number column when every present cell is a number (or numeric text). */
function checkCells(names: string[], cellsOf: (name: string) => ArrayLike<unknown>): string {
  const present = (x: unknown) => x !== null && x !== undefined && x !== '' && !Number.isNaN(x);
  const kinds = names.map((name) => {
    const cells = Array.from(cellsOf(name));
    return cells.every((x) => !present(x) || Number.isFinite(Number(x))) ? 'number' : 'text';
  });
  const sum = Array.from(cellsOf('num_00')).reduce<number>((s, x) => (present(x) ? s + Number(x) : s), 0);
  const missing = Array.from(cellsOf('num_01')).filter((x) => !present(x)).length;
  const cat = Array.from(cellsOf('cat_2'));
  return describe(names, kinds, sum, missing, new Set(cat.filter(present)).size, cat.filter((x) => !present(x)).length);
}

function checkRawTable(table: RawTable): string {
  return checkCells(table.columns, (name) => {
    const j = table.columns.indexOf(name);
    return table.rows.map((row) => row[j]);
  });
}

function checkSourceTable(table: SourceTable): string {
  return checkCells(table.names, (name) => {
    const column = table.columns.get(name)!;
    return column.kind === 'numbers' ? column.values : column.cells;
  });
}

async function childRead(reader: 'old' | 'new', file: string): Promise<ReadResult> {
  const t = now();
  // the old path reads Parquet column by column (readParquetSource), as the drift CLI did before
  if (reader === 'old' && file.endsWith('.parquet')) {
    const table = await readParquetSource(await readFile(file), file);
    const seconds = now() - t;
    return { seconds, rows: table.rows, peakRssMb: mb(process.resourceUsage().maxRSS * 1024), check: checkSourceTable(table) };
  }
  if (reader === 'old') {
    const table = await readTableFile(file);
    const seconds = now() - t;
    return { seconds, rows: table.rows.length, peakRssMb: mb(process.resourceUsage().maxRSS * 1024), check: checkRawTable(table) };
  }
  // timed from a cold start: the DuckDB instance is created by the first read, as in the CLI
  const table = await readColumnTable(file);
  const seconds = now() - t;
  return { seconds, rows: table.rows, peakRssMb: mb(process.resourceUsage().maxRSS * 1024), check: checkColumns(table.columns) };
}

function spawnRead(reader: 'old' | 'new', file: string): ReadResult | { error: string } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', reader, '--file', file], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const marker = child.stdout.lastIndexOf(RESULT);
  if (child.status !== 0 || marker < 0) {
    const why = (child.stderr.trim().split('\n').filter(Boolean).pop() ?? '').slice(0, 160);
    return { error: `failed (exit ${child.status ?? child.signal}): ${why}` };
  }
  return JSON.parse(child.stdout.slice(marker + RESULT.length)) as ReadResult;
}

// ---- read throughput ------------------------------------------------------

interface Measured {
  runs: ReadResult[];
  note?: string;
}

/** REPEAT runs; one only when the first is over budget; none when `estimate` already is. */
function measure(reader: 'old' | 'new', file: string, estimate?: number): Measured {
  if (estimate !== undefined && estimate > OLD_PATH_BUDGET_SECONDS) {
    return { runs: [], note: `skipped: ~${fmt(estimate, 0)} s estimated from the smaller size (over ${OLD_PATH_BUDGET_SECONDS} s)` };
  }
  const runs: ReadResult[] = [];
  for (let k = 0; k < REPEAT; k++) {
    const r = spawnRead(reader, file);
    if ('error' in r) return { runs, note: r.error };
    runs.push(r);
    if (r.seconds > OLD_PATH_BUDGET_SECONDS) return { runs, note: `1 run only (over ${OLD_PATH_BUDGET_SECONDS} s)` };
  }
  return { runs };
}

function printTable(header: string[], rows: string[][], leftColumns: number): void {
  const widths = header.map((h, i) => rows.reduce((w, r) => Math.max(w, r[i]!.length), h.length));
  const line = (r: string[]) => r.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log([line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n'));
}

/** Seconds per row of the old path by format, from the previous (smaller) size: to skip reads that would be too slow. */
const oldSecondsPerRow = new Map<Format, number>();

function throughput(dir: string, rows: number, formats: readonly Format[]): void {
  console.log(`\n## Read throughput, ${int(rows)} rows x 25 columns (reference file; median of ${REPEAT} runs, each in its own process)\n`);
  const table: string[][] = [];
  const checks: string[] = [];
  for (const format of formats) {
    const file = join(dir, `ref.${format}`);
    const bytes = statSync(file).size;
    const perRow = oldSecondsPerRow.get(format);
    const results = {
      old: measure('old', file, perRow === undefined ? undefined : perRow * rows),
      new: measure('new', file),
    };
    for (const reader of ['old', 'new'] as const) {
      const { runs, note } = results[reader];
      const label = reader === 'old' ? (format === 'parquet' ? 'old (hyparquet)' : 'old (JS)') : 'new (DuckDB)';
      if (runs.length === 0) {
        table.push([format, label, fmt(mb(bytes), 1), '-', '-', '-', '-', '-', note ?? '']);
        continue;
      }
      const seconds = median(runs.map((r) => r.seconds));
      if (reader === 'old') oldSecondsPerRow.set(format, seconds / rows);
      const oldRuns = results.old.runs;
      const speedup = reader === 'new' && oldRuns.length > 0 ? `${fmt(median(oldRuns.map((r) => r.seconds)) / seconds, 1)}x` : '';
      table.push([
        format,
        label,
        fmt(mb(bytes), 1),
        fmt(seconds, 3),
        fmt(mb(bytes) / seconds, 1),
        int(runs[0]!.rows / seconds),
        fmt(median(runs.map((r) => r.peakRssMb)), 0),
        speedup,
        note ?? '',
      ]);
    }
    // both paths should see the same table; print what each saw when they differ
    const [o, n] = [results.old.runs[0]?.check, results.new.runs[0]?.check];
    if (o !== undefined && n !== undefined && o !== n) checks.push(`${format}: old read ${o}\n${' '.repeat(format.length + 2)}new read ${n}`);
    else if (n !== undefined) checks.push(`${format}: ${o === undefined ? 'new read' : 'both read'} ${n}`);
  }
  printTable(['format', 'path', 'file MB', 'seconds', 'MB/s', 'rows/s', 'peak RSS MB', 'speed-up', 'note'], table, 2);
  console.log(`\nWhat each path read (differences would be a correctness problem):\n${checks.map((c) => `  ${c}`).join('\n')}`);
}

// ---- drift end to end -----------------------------------------------------

interface ProcessRun {
  seconds: number;
  peakRssMb?: number;
  stdout: string;
  stderr: string;
}

const TIME = '/usr/bin/time';

/** Runs a command as a user would, timing the whole process (and its peak RSS through /usr/bin/time when there is one). */
function runProcess(command: string, args: string[], dir: string, env: Record<string, string> = {}): ProcessRun | { error: string } {
  const rssFile = join(dir, 'maxrss.txt');
  const useTime = existsSync(TIME);
  const t = now();
  const child = useTime
    ? spawnSync(TIME, ['-f', '%M', '-o', rssFile, command, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        env: { ...process.env, ...env },
      })
    : spawnSync(command, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  const seconds = now() - t;
  if (child.status !== 0) return { error: `exit ${child.status ?? child.signal}: ${child.stderr.trim().split('\n').pop() ?? ''}` };
  const peakRssMb = useTime ? Number(spawnSync('tail', ['-1', rssFile], { encoding: 'utf8' }).stdout) / 1024 : undefined;
  return { seconds, peakRssMb, stdout: child.stdout, stderr: child.stderr };
}

function pythonVersions(): { ok: true; versions: string } | { ok: false; why: string } {
  const r = spawnSync(PYTHON, ['-c', 'import sys, evidently, pandas; print(sys.version.split()[0], evidently.__version__, pandas.__version__)'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) return { ok: false, why: (r.stderr || r.error?.message || '').trim().split('\n').pop() ?? `${PYTHON} failed` };
  const [python, evidently, pandas] = r.stdout.trim().split(' ');
  return { ok: true, versions: `python ${python}, evidently ${evidently}, pandas ${pandas}` };
}

interface EvidentlyOut {
  seconds: number;
  read_seconds: number;
  drift_seconds: number;
  drifted_columns: string[];
  methods: string[];
  api: string;
}

function drift(dir: string, rows: number, python: boolean): void {
  console.log(`\n## perennial drift --json vs pandas + Evidently, CSV ${int(rows)} + ${int(rows)} rows (median of ${REPEAT} runs)\n`);
  const [ref, cur] = [join(dir, 'ref.csv'), join(dir, 'cur.csv')];
  const runs = {
    perennial: [] as ProcessRun[],
    source: [] as ProcessRun[],
    evidently: [] as (ProcessRun & { own: EvidentlyOut })[],
  };
  const notes: string[] = [];
  for (let k = 0; k < REPEAT; k++) {
    const perennial = [join(ROOT, 'bin/perennial.mjs'), 'drift', '--reference', ref, '--current', cur, '--json'];
    const p = runProcess(process.execPath, perennial, dir, { PERENNIAL_CLI_TRACE: '1' });
    if ('error' in p) notes.push(`perennial drift failed: ${p.error}`);
    else runs.perennial.push(p);
    const s = runProcess(process.execPath, perennial, dir, { PERENNIAL_CLI_SOURCE: '1' });
    if ('error' in s) notes.push(`perennial drift (source) failed: ${s.error}`);
    else runs.source.push(s);
    if (!python) continue;
    const e = runProcess(PYTHON, [EVIDENTLY_SCRIPT, ref, cur], dir);
    if ('error' in e) notes.push(`Evidently failed: ${e.error}`);
    else runs.evidently.push({ ...e, own: JSON.parse(e.stdout) as EvidentlyOut });
  }
  const table: string[][] = [];
  const p = runs.perennial;
  const pSeconds = p.length > 0 ? median(p.map((r) => r.seconds)) : NaN;
  const rss = (xs: ProcessRun[]) => (xs[0]?.peakRssMb === undefined ? '-' : fmt(median(xs.map((r) => r.peakRssMb!)), 0));
  if (p.length > 0) {
    const report = JSON.parse(p[0]!.stdout) as { columns: { name: string; method: string; drift: boolean }[] };
    const drifted = report.columns.filter((c) => c.drift).map((c) => c.name);
    const methods = [...new Set(report.columns.map((c) => c.method))].sort();
    table.push(['perennial drift (whole process)', fmt(pSeconds), rss(p), '', drifted.join(' ')]);
    notes.push(`perennial methods: ${methods.join(', ')}`);
    const ran = [...new Set(p.map((r) => /^perennial: running (.*)$/m.exec(r.stderr)?.[1] ?? '(not said)'))];
    notes.push(`perennial drift ran: ${ran.join('; ')}`);
  }
  if (runs.source.length > 0) {
    table.push(['perennial drift from source (tsx)', fmt(median(runs.source.map((r) => r.seconds))), rss(runs.source), '', '']);
  }
  const e = runs.evidently;
  if (e.length > 0) {
    const own = median(e.map((r) => r.own.seconds));
    const wall = median(e.map((r) => r.seconds));
    const ratio = (x: number) => (Number.isNaN(pSeconds) ? '-' : `${fmt(x / pSeconds)}x`);
    table.push(['Evidently: read_csv + drift (own timer)', fmt(own), '', ratio(own), e[0]!.own.drifted_columns.join(' ')]);
    table.push([
      `  of which pandas.read_csv / drift table`,
      `${fmt(median(e.map((r) => r.own.read_seconds)))} / ${fmt(median(e.map((r) => r.own.drift_seconds)))}`,
      '',
      '',
      '',
    ]);
    table.push(['Evidently: Python process (whole)', fmt(wall), rss(e), ratio(wall), '']);
    notes.push(`Evidently methods: ${e[0]!.own.methods.join(', ')} (${e[0]!.own.api})`);
  }
  if (table.length > 0) printTable(['run', 'seconds', 'peak RSS MB', 'Evidently / Perennial', 'drifted columns'], table, 1);
  if (!python) notes.push('Python side skipped (see above)');
  console.log(`\n${notes.map((n) => `  ${n}`).join('\n')}`);
}

// ---- main -----------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string', default: '200000,1000000' },
      /** Only these formats in the throughput table (all by default). */
      formats: { type: 'string', default: FORMATS.join(',') },
      'no-python': { type: 'boolean', default: false },
      keep: { type: 'string' },
      /** Only write the files (into --keep), measure nothing: for profiling by hand. */
      'generate-only': { type: 'boolean', default: false },
      child: { type: 'string' },
      file: { type: 'string' },
    },
  });
  if (values.child !== undefined) {
    const result = await childRead(values.child as 'old' | 'new', values.file!);
    process.stdout.write(`\n${RESULT}${JSON.stringify(result)}\n`);
    return;
  }
  const formats = values.formats.split(',').map((f) => f.trim()) as Format[];
  if (formats.some((f) => !FORMATS.includes(f))) throw new Error(`--formats must name some of ${FORMATS.join(', ')}, got '${values.formats}'`);
  const sizes = values.rows.split(',').map((s) => Number(s.trim()));
  if (sizes.some((n) => !Number.isInteger(n) || n <= 0)) throw new Error(`--rows must be positive integers, got '${values.rows}'`);
  sizes.sort((a, b) => a - b); // smallest first: its old-path times decide what is skipped at the larger sizes

  console.log('# bench:read — the data read path (issue 8: hand-written JS readers -> embedded DuckDB)\n');
  console.log(`node ${process.version}; ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'})`);
  console.log(`load average at start: ${load()} (other processes on the machine skew the times)`);
  let python = !values['no-python'];
  if (python) {
    const v = pythonVersions();
    console.log(v.ok ? `Python side: ${v.versions}` : `Python side skipped: ${PYTHON} cannot import evidently and pandas (${v.why})`);
    python = v.ok;
  } else console.log('Python side skipped (--no-python)');

  const root = values.keep !== undefined ? resolve(values.keep) : await mkdtemp(join(tmpdir(), 'perennial-bench-read-'));
  try {
    for (const rows of sizes) {
      const dir = join(root, String(rows));
      const t = now();
      // Files kept by an earlier run (--keep) are read again rather than written again.
      const kept = values.keep !== undefined && ['ref', 'cur'].every((name) => FORMATS.every((f) => existsSync(join(dir, `${name}.${f}`))));
      if (kept) console.log(`\n(reusing the ${int(rows)} + ${int(rows)} rows kept in ${dir}; shifted in current: ${SHIFTED.join(', ')})`);
      else {
        await generate(dir, rows);
        console.log(`\n(generated ${int(rows)} + ${int(rows)} rows in ${dir} in ${fmt(now() - t, 1)} s, not timed; shifted in current: ${SHIFTED.join(', ')})`);
      }
      if (values['generate-only']) continue;
      throughput(dir, rows, formats);
      drift(dir, rows, python);
    }
  } finally {
    if (values.keep === undefined) await rm(root, { recursive: true, force: true });
  }
  console.log(`\nload average at end: ${load()}`);
  console.log('MB/s = file bytes on disk / seconds (csv.gz: compressed bytes). Reads are timed inside the process (startup not counted; the new');
  console.log('path includes creating the DuckDB instance). Peak RSS is the process maxRSS (Node + tsx + the data). perennial drift is timed as');
  console.log('a whole process (node startup, tsx, read, tests, JSON out); the Evidently script times itself after its imports.');
}

await main();
