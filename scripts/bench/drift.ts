/**
 * npm run bench:drift — prints figures, asserts nothing.
 *
 *  (a) synthetic: 1,000,000 reference rows vs 1,000,000 current rows, 20
 *      numerical + 5 categorical columns (seeded; some shifted): the full
 *      `auto` report, then ks on every numerical column;
 *  (b) vega-datasets flights-3m.parquet: the first three months against the
 *      last three months of the file on delay, distance, origin, destination.
 *
 * Each run is its own child process, so its peak RSS
 * (process.resourceUsage().maxRSS) is its own and the engine's sorted-array
 * cache starts cold (one run measures it warm). When python3 can import scipy,
 * scripts/reference/drift_bench_scipy.py runs the same tests on the same data
 * (written to raw files first; neither data generation nor loading is timed)
 * and the ratio Perennial / scipy is printed.
 *
 *   npx tsx scripts/bench/drift.ts [--scenario synthetic|flights] [--rows N] [--no-scipy]
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { dateText, type Column, type ColumnTable } from '../../src/data/columns';
import { readColumnTable } from '../../src/data/read-columns';
import { computeDrift, sampleRows, type ColumnSample, type DriftOptions, type DriftReport, type Sample } from '../../src/drift';
import { buildSamples } from '../../src/drift/sample';
import { mulberry32 } from '../../src/model/rng';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const FLIGHTS = join(ROOT, 'node_modules/vega-datasets/data/flights-3m.parquet');
const SCIPY_SCRIPT = join(ROOT, 'scripts/reference/drift_bench_scipy.py');

interface Timing {
  label: string;
  rows: number;
  columns: number;
  seconds: number;
  peakRssMb: number;
  scipySeconds?: number;
  note?: string;
}

interface ScenarioResult {
  scenario: string;
  timings: Timing[];
  notes: string[];
}

const peakRssMb = (): number => process.resourceUsage().maxRSS / 1024;
const now = (): number => performance.now() / 1000;

// ---- seeded data ----------------------------------------------------------

/** A standard normal draw (Box-Muller, one of the pair) from a uniform generator on [0, 1). */
function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function normals(n: number, mean: number, sd: number, random: () => number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = mean + sd * gaussian(random);
  return out;
}

function categories(n: number, labels: string[], p: number[], u: () => number): string[] {
  const cum: number[] = [];
  p.reduce((s, x, i) => (cum[i] = s + x), 0);
  const total = cum[cum.length - 1]!;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const x = u() * total;
    // first k with x < cum[k]
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (x < cum[mid]!) hi = mid;
      else lo = mid + 1;
    }
    out[i] = labels[lo]!;
  }
  return out;
}

function syntheticSamples(rows: number): { reference: Sample; current: Sample; shifted: string[] } {
  const u = mulberry32(20261126);
  const ref: ColumnSample[] = [];
  const cur: ColumnSample[] = [];
  const shifted: string[] = [];
  for (let j = 0; j < 20; j++) {
    const name = `num_${String(j).padStart(2, '0')}`;
    const mean = (j % 7) * 3 - 5;
    const sd = 1 + (j % 4);
    // every fourth column moves: a mean shift of 0.25 sd, or (j = 15) a wider spread
    const shift = j % 4 === 3 ? (j === 15 ? 0 : 0.25 * sd) : 0;
    const widen = j === 15 ? 1.5 : 1;
    if (shift !== 0 || widen !== 1) shifted.push(name);
    ref.push({ name, type: 'numerical', values: normals(rows, mean, sd, u) });
    cur.push({ name, type: 'numerical', values: normals(rows, mean + shift, sd * widen, u) });
  }
  const cats: { k: number; moved: boolean }[] = [
    { k: 3, moved: false },
    { k: 8, moved: true },
    { k: 20, moved: false },
    { k: 50, moved: true },
    { k: 200, moved: false },
  ];
  cats.forEach(({ k, moved }, j) => {
    const name = `cat_${j}`;
    const labels = Array.from({ length: k }, (_, i) => `${name}_v${i}`);
    const p = labels.map((_, i) => 1 / (i + 1)); // Zipf-like
    const q = moved ? p.map((x, i) => (i % 2 === 0 ? x * 3 : x)) : p;
    if (moved) shifted.push(name);
    ref.push({ name, type: 'categorical', values: categories(rows, labels, p, u) });
    cur.push({ name, type: 'categorical', values: categories(rows, labels, q, u) });
  });
  return { reference: { columns: ref }, current: { columns: cur }, shifted };
}

// ---- flights --------------------------------------------------------------

/** The rows `keep` marks as a table of their own (typed arrays copied; text shares its dictionary). */
function subset(table: ColumnTable, keep: Uint8Array, want: number, source: string): ColumnTable {
  const index = new Int32Array(want);
  let k = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i]) index[k++] = i;
  const columns = new Map<string, Column>();
  for (const [name, column] of table.columns) {
    if (column.kind === 'text') {
      const codes = new Int32Array(want);
      for (let j = 0; j < want; j++) codes[j] = column.codes[index[j]!]!;
      columns.set(name, { kind: 'text', codes, dictionary: column.dictionary });
    } else {
      const values = new Float64Array(want);
      for (let j = 0; j < want; j++) values[j] = column.values[index[j]!]!;
      columns.set(name, { kind: column.kind, values });
    }
  }
  return { source, rows: want, names: table.names, columns, rowNumber: (j) => table.rowNumber(index[j]!) };
}

const DAY_MS = 86_400_000;

/** 'YYYY-MM' of every row of a date column (ISO text or timestamps), 'null' when missing; each distinct day or text worked out once. */
function monthsOf(date: Column): string[] {
  if (date.kind === 'text') {
    const months = date.dictionary.map((d) => d.slice(0, 7));
    return Array.from(date.codes, (code) => (code < 0 ? 'null' : months[code]!));
  }
  if (date.kind !== 'date') throw new Error(`flights: date is expected as timestamps, found a ${date.kind} column`);
  const byDay = new Map<number, string>();
  return Array.from(date.values, (ms) => {
    if (Number.isNaN(ms)) return 'null';
    const day = Math.floor(ms / DAY_MS);
    let month = byDay.get(day);
    if (month === undefined) byDay.set(day, (month = dateText(day * DAY_MS).slice(0, 7)));
    return month;
  });
}

async function flightsSamples(notes: string[]): Promise<{ reference: Sample; current: Sample; readSeconds: number; prepareSeconds: number }> {
  const t0 = now();
  const table = await readColumnTable(FLIGHTS, { columns: ['date', 'delay', 'distance', 'origin', 'destination'] });
  const readSeconds = now() - t0;
  const t1 = now();
  const months = monthsOf(table.columns.get('date')!);
  const present = [...new Set(months)].filter((m) => m !== 'null').sort();
  // whole months only (the file ends with a handful of rows at 2001-07-01 00:00)
  const counts = new Map<string, number>();
  for (const m of months) counts.set(m, (counts.get(m) ?? 0) + 1);
  const whole = present.filter((m) => (counts.get(m) ?? 0) > 1000);
  const first = whole.slice(0, 3);
  const last = whole.slice(-3);
  notes.push(
    `flights-3m.parquet spans ${present[0]} .. ${present[present.length - 1]} (${table.rows} rows); reference = ${first.join(', ')}, current = ${last.join(', ')}`,
  );
  const isRef = new Uint8Array(table.rows);
  const isCur = new Uint8Array(table.rows);
  let nr = 0;
  let nc = 0;
  months.forEach((m, i) => {
    if (first.includes(m)) {
      isRef[i] = 1;
      nr++;
    } else if (last.includes(m)) {
      isCur[i] = 1;
      nc++;
    }
  });
  const ref = subset(table, isRef, nr, `${FLIGHTS} [${first[0]}..${first[2]}]`);
  const cur = subset(table, isCur, nc, `${FLIGHTS} [${last[0]}..${last[2]}]`);
  const pair = buildSamples(ref, cur, { columns: ['delay', 'distance', 'origin', 'destination'] });
  return { reference: pair.reference, current: pair.current, readSeconds, prepareSeconds: now() - t1 };
}

// ---- scipy side -----------------------------------------------------------

function scipyAvailable(): { ok: boolean; version?: string } {
  const r = spawnSync('python3', ['-c', 'import scipy, numpy; print(scipy.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? { ok: true, version: r.stdout.trim() } : { ok: false };
}

interface ScipySuite {
  name: string;
  seconds: number;
  columns: { name: string; method: string; statistic: number | null; p_value: number | null; seconds: number }[];
  skipped: string[];
}

/** Writes the samples as raw files (categorical as integer codes over a shared dictionary). */
async function writeForScipy(dir: string, reference: Sample, current: Sample, suites: { name: string; methods: Map<string, string> }[]): Promise<void> {
  const files = new Map<string, { file: string; kind: 'f64' | 'i32' }>();
  for (const [j, col] of reference.columns.entries()) {
    const other = current.columns.find((c) => c.name === col.name)!;
    const file = `c${j}`;
    if (col.values instanceof Float64Array && other.values instanceof Float64Array) {
      await writeFile(join(dir, `${file}.ref.f64`), new Uint8Array(col.values.buffer, col.values.byteOffset, col.values.byteLength));
      await writeFile(join(dir, `${file}.cur.f64`), new Uint8Array(other.values.buffer, other.values.byteOffset, other.values.byteLength));
      files.set(col.name, { file, kind: 'f64' });
    } else {
      const dict = new Map<string, number>();
      const encode = (values: (string | null)[]): Int32Array => {
        const out = new Int32Array(values.length);
        for (let i = 0; i < values.length; i++) {
          const v = values[i];
          if (v === null || v === undefined) out[i] = -1;
          else {
            let code = dict.get(v);
            if (code === undefined) dict.set(v, (code = dict.size));
            out[i] = code;
          }
        }
        return out;
      };
      const r = encode(col.values as (string | null)[]);
      const c = encode(other.values as (string | null)[]);
      await writeFile(join(dir, `${file}.ref.i32`), new Uint8Array(r.buffer));
      await writeFile(join(dir, `${file}.cur.i32`), new Uint8Array(c.buffer));
      files.set(col.name, { file, kind: 'i32' });
    }
  }
  const meta = {
    suites: suites.map((s) => ({
      name: s.name,
      columns: [...s.methods].map(([name, method]) => ({ name, method, ...files.get(name)! })),
    })),
  };
  await writeFile(join(dir, 'meta.json'), JSON.stringify(meta));
}

async function runScipy(reference: Sample, current: Sample, suites: { name: string; methods: Map<string, string> }[]): Promise<ScipySuite[] | string> {
  if (!scipyAvailable().ok) return 'python3 with scipy is not importable: scipy side skipped';
  const dir = await mkdtemp(join(tmpdir(), 'perennial-bench-'));
  try {
    await writeForScipy(dir, reference, current, suites);
    try {
      const { stdout } = await promisify(execFile)('python3', [SCIPY_SCRIPT, dir], { maxBuffer: 16 * 1024 * 1024 });
      return (JSON.parse(stdout) as { suites: ScipySuite[] }).suites;
    } catch (error) {
      return `scipy side failed: ${(error as { stderr?: string }).stderr?.trim().split('\n').pop() ?? (error as Error).message}`;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- one scenario ----------------------------------------------------------

function summarizeMethods(report: DriftReport): string {
  const by = new Map<string, string[]>();
  for (const c of report.columns) by.set(`${c.type} -> ${c.method}`, [...(by.get(`${c.type} -> ${c.method}`) ?? []), c.name]);
  return [...by].map(([k, v]) => `${k} (${v.length})`).join('; ');
}

function compare(columns: [string, string, number | null][], suite: ScipySuite | undefined, notes: string[], label: string): void {
  if (!suite) return;
  const stats = new Map(columns.map(([name, , statistic]) => [name, statistic]));
  let worst = 0;
  let worstAt = '';
  for (const s of suite.columns) {
    const mine = stats.get(s.name);
    if (mine === undefined || mine === null || s.statistic === null) continue;
    const rel = Math.abs(mine - s.statistic) / Math.max(1e-300, Math.abs(s.statistic));
    if (rel > worst) {
      worst = rel;
      worstAt = `${s.name} (${s.method}: perennial ${mine}, scipy ${s.statistic})`;
    }
  }
  notes.push(
    `${label}: largest relative difference of statistics vs scipy ${worst.toExponential(2)}${worstAt ? ' at ' + worstAt : ''}${suite.skipped.length ? `; scipy skipped ${suite.skipped.join(', ')}` : ''}`,
  );
}

interface Run {
  label: string;
  options: DriftOptions;
  /** Only the numerical columns. */
  numericalOnly?: boolean;
  /** The scipy suite run for this one (its methods taken from this run's report). */
  scipy?: boolean;
  /** Compared with the scipy time of another run's suite. */
  scipyFrom?: string;
  /** Run twice on the same arrays, timing the second (the engine's sorted-array cache). */
  warm?: boolean;
}

const RUNS: Run[] = [
  { label: 'auto: full report (+MMD)', options: { method: 'auto' } },
  { label: 'auto: column tests', options: { method: 'auto', multivariate: false }, scipy: true },
  { label: 'auto: column tests, 1 thread', options: { method: 'auto', multivariate: false, workers: 1 }, scipyFrom: 'auto: column tests' },
  { label: 'auto: column tests, warm cache', options: { method: 'auto', multivariate: false }, scipyFrom: 'auto: column tests', warm: true },
  { label: 'ks: numerical columns', options: { method: 'ks', multivariate: false }, numericalOnly: true, scipy: true },
  {
    label: 'ks: numerical columns, 1 thread',
    options: { method: 'ks', multivariate: false, workers: 1 },
    numericalOnly: true,
    scipyFrom: 'ks: numerical columns',
  },
];

async function loadScenario(name: string, rows: number, notes: string[], timings: Timing[]): Promise<{ reference: Sample; current: Sample }> {
  if (name === 'synthetic') {
    const t = now();
    const s = syntheticSamples(rows);
    notes.push(`generated ${rows} + ${rows} rows in ${(now() - t).toFixed(1)} s (not timed); shifted columns: ${s.shifted.join(', ')}`);
    return s;
  }
  if (name !== 'flights') throw new Error(`unknown scenario '${name}' (synthetic or flights)`);
  const f = await flightsSamples(notes);
  const n = sampleRows(f.reference) + sampleRows(f.current);
  timings.push({ label: 'read parquet (4 columns + date)', rows: 3_000_000, columns: 5, seconds: f.readSeconds, peakRssMb: peakRssMb() });
  timings.push({ label: 'split by month + types', rows: n, columns: 4, seconds: f.prepareSeconds, peakRssMb: peakRssMb() });
  return f;
}

interface RunResult extends ScenarioResult {
  /** Column name -> [method, statistic] of the report (for the scipy side). */
  columns: [string, string, number | null][];
}

/** One run in a fresh process: its peak RSS is its own (data included), and no cache is warm. */
async function childRun(name: string, rows: number, index: number): Promise<RunResult> {
  const notes: string[] = [];
  const timings: Timing[] = [];
  const { reference, current } = await loadScenario(name, rows, notes, timings);
  if (index > 0) {
    // reading and splitting are reported once
    timings.length = 0;
    notes.length = 0;
  }
  const run = RUNS[index]!;
  const numerical = reference.columns.filter((c) => c.type === 'numerical').map((c) => c.name);
  const options: DriftOptions = { ...run.options, ...(run.numericalOnly ? { columns: numerical } : {}) };
  const nRows = sampleRows(reference) + sampleRows(current);
  // warm the JIT on a small slice (copies, so the cache stays cold), as the scipy side warms its imports
  const slice = (x: Sample): Sample => ({ columns: x.columns.map((c) => ({ ...c, values: c.values.slice(0, 2000) })) });
  await computeDrift(slice(reference), slice(current), options);
  if (run.warm) await computeDrift(reference, current, options);
  const t = now();
  const report = await computeDrift(reference, current, options);
  const seconds = now() - t;
  timings.push({ label: run.label, rows: nRows, columns: report.number_of_columns, seconds, peakRssMb: peakRssMb() });
  const mv = report.multivariate ? `; MMD p ${report.multivariate.p_value} (${report.multivariate.permutations} permutations)` : '';
  if (!run.scipyFrom) {
    notes.push(
      `${run.label}: ${summarizeMethods(report)}; drifted ${report.number_of_drifted_columns}/${report.number_of_columns} (${report.columns
        .filter((c) => c.drift)
        .map((c) => c.name)
        .join(', ')}); dataset drift ${report.drift}${mv}`,
    );
  }
  return { scenario: name, timings, notes, columns: report.columns.map((c) => [c.name, c.method, c.statistic]) };
}

/** The scipy side on the same data, with the methods the engine chose. */
async function childScipy(name: string, rows: number, suitesFile: string): Promise<{ suites: ScipySuite[] } | { error: string }> {
  const { reference, current } = await loadScenario(name, rows, [], []);
  const suites = JSON.parse(await readFile(suitesFile, 'utf8')) as { name: string; methods: [string, string][] }[];
  const result = await runScipy(
    reference,
    current,
    suites.map((s) => ({ name: s.name, methods: new Map(s.methods) })),
  );
  return typeof result === 'string' ? { error: result } : { suites: result };
}

function spawnChild(args: string[]): unknown {
  const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const marker = child.stdout.lastIndexOf('@@RESULT@@');
  if (child.status !== 0 || marker < 0) throw new Error(`bench child ${args.join(' ')} failed (exit ${child.status})\n${child.stdout}`);
  return JSON.parse(child.stdout.slice(marker + '@@RESULT@@'.length));
}

async function scenario(name: string, rows: number, useScipy: boolean): Promise<ScenarioResult> {
  const result: ScenarioResult = { scenario: name, timings: [], notes: [] };
  const byLabel = new Map<string, RunResult>();
  for (const [i, run] of RUNS.entries()) {
    console.error(`bench:drift: ${name}: ${run.label}`);
    const r = spawnChild(['--scenario', name, '--rows', String(rows), '--run', String(i)]) as RunResult;
    byLabel.set(run.label, r);
    for (const t of r.timings) result.timings.push(t);
    for (const n of r.notes) result.notes.push(n);
  }
  if (!useScipy) return result;
  const compared = RUNS.filter((r) => r.scipy);
  const dir = await mkdtemp(join(tmpdir(), 'perennial-bench-suites-'));
  try {
    const file = join(dir, 'suites.json');
    await writeFile(file, JSON.stringify(compared.map((r) => ({ name: r.label, methods: byLabel.get(r.label)!.columns.map(([n, m]) => [n, m]) }))));
    console.error(`bench:drift: ${name}: scipy`);
    const scipy = spawnChild(['--scenario', name, '--rows', String(rows), '--scipy', file]) as { suites: ScipySuite[] } | { error: string };
    if ('error' in scipy) {
      result.notes.push(scipy.error);
      return result;
    }
    for (const suite of scipy.suites) {
      for (const r of RUNS.filter((x) => x.label === suite.name || x.scipyFrom === suite.name)) {
        const timing = result.timings.find((t) => t.label === r.label);
        if (timing) timing.scipySeconds = suite.seconds;
      }
      compare(byLabel.get(suite.name)!.columns, suite, result.notes, suite.name);
      const perMethod = new Map<string, number>();
      for (const c of suite.columns) perMethod.set(c.method, (perMethod.get(c.method) ?? 0) + c.seconds);
      result.notes.push(`${suite.name}: scipy seconds by method: ${[...perMethod].map(([m, sec]) => `${m} ${sec.toFixed(3)}`).join(', ')}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  return result;
}

// ---- main ------------------------------------------------------------------

function print(results: ScenarioResult[], info: string[]): void {
  const out: string[] = ['', ...info, ''];
  const header = ['scenario', 'step', 'rows', 'cols', 'wall s', 'rows/s', 'peak RSS MB', 'scipy s', 'perennial/scipy'];
  const table: string[][] = [];
  for (const r of results) {
    for (const t of r.timings) {
      table.push([
        r.scenario,
        t.label,
        t.rows.toLocaleString('en-US'),
        String(t.columns),
        t.seconds.toFixed(3),
        Math.round(t.rows / t.seconds).toLocaleString('en-US'),
        t.peakRssMb.toFixed(0),
        t.scipySeconds === undefined ? '-' : t.scipySeconds.toFixed(3),
        t.scipySeconds === undefined ? '-' : (t.seconds / t.scipySeconds).toFixed(2),
      ]);
    }
  }
  const widths = header.map((h, i) => {
    let w = h.length;
    for (const row of table) w = Math.max(w, row[i]!.length);
    return w;
  });
  const line = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  out.push(line(header), widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of table) out.push(line(row));
  out.push('');
  for (const r of results) for (const n of r.notes) out.push(`[${r.scenario}] ${n}`);
  out.push(
    '',
    'rows = reference + current rows. Every run is its own process: cold caches, and peak RSS (maxRSS, worker threads included) covers that run plus its data in memory.',
  );
  out.push('scipy times only the tests (single-threaded numpy/scipy), not loading; Perennial times computeDrift (worker threads, pictures included).');
  console.log(out.join('\n'));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      scenario: { type: 'string' },
      rows: { type: 'string', default: '1000000' },
      'no-scipy': { type: 'boolean', default: false },
      child: { type: 'boolean', default: false },
      run: { type: 'string' },
      scipy: { type: 'string' },
    },
  });
  const rows = Number(values.rows);
  const useScipy = !values['no-scipy'];
  if (values.child) {
    const result =
      values.scipy !== undefined ? await childScipy(values.scenario!, rows, values.scipy) : await childRun(values.scenario!, rows, Number(values.run));
    process.stdout.write('\n@@RESULT@@' + JSON.stringify(result) + '\n');
    return;
  }
  const scenarios = values.scenario ? [values.scenario] : ['synthetic', 'flights'];
  const scipy = scipyAvailable();
  const info = [
    `node ${process.version}, ${availableParallelism()} cores available (${cpus()[0]?.model ?? 'unknown cpu'}); the engine spreads columns over worker threads (default: all cores)`,
    scipy.ok && useScipy ? `python3 scipy ${scipy.version} (single process)` : 'scipy comparison off',
    `load average at start: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')} (other processes on the machine skew wall times)`,
  ];
  const results: ScenarioResult[] = [];
  for (const name of scenarios) {
    try {
      results.push(await scenario(name, rows, useScipy));
    } catch (error) {
      console.error(`bench:drift: scenario ${name} failed: ${(error as Error).message}`);
    }
  }
  info.push(
    `load average at end: ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  print(results, info);
}

await main();
