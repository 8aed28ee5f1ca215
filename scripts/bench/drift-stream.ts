/**
 * Throughput of the streaming drift detectors: updates per second on a
 * 1,000,000-value stream, and — when `python3 -c "import river"` works — River
 * on the same stream (written to a temp file, timed inside Python), with the
 * ratio and a check that both flagged the same indices.
 *
 *   npx tsx scripts/bench/drift-stream.ts [--n 1000000] [--river-kswin-values 50000] [--no-river]
 *
 * Numeric detectors (ADWIN, Page-Hinkley, KSWIN) get a Gaussian stream whose
 * mean/scale shifts every 100k values; binary detectors (DDM, EDDM, HDDM_A,
 * HDDM_W) get a 0/1 error stream whose rate shifts every 100k values. River's
 * KSWIN runs SciPy per update (a few thousand updates/s), so by default River
 * KSWIN is timed on the first `--river-kswin-values` values only.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDetector, runStream, type DetectorName, type ParamInput } from '../../src/drift/stream';
import { mulberry32 } from '../../src/model/rng'; // seeded: every run benchmarks the same stream

const { values: flags } = parseArgs({
  options: {
    n: { type: 'string', default: '1000000' },
    'river-kswin-values': { type: 'string', default: '50000' },
    'no-river': { type: 'boolean', default: false },
  },
});
const N = Number(flags.n);
const KSWIN_RIVER_N = Math.min(N, Number(flags['river-kswin-values']));

function numericStream(n: number): Float64Array {
  const rand = mulberry32(12345);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const regime = Math.floor(i / 100_000);
    const mu = [0, 2, 2, -1, 0.5][regime % 5]!;
    const sd = [1, 1, 3, 0.5, 1][regime % 5]!;
    const u1 = 1 - rand();
    const u2 = rand();
    // Rounded to 6 decimals so the text file round-trips to the same doubles.
    out[i] = Math.round((mu + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)) * 1e6) / 1e6;
  }
  return out;
}

function binaryStream(n: number): Float64Array {
  const rand = mulberry32(54321);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = [0.05, 0.3, 0.1, 0.5, 0.2][Math.floor(i / 100_000) % 5]!;
    out[i] = rand() < p ? 1 : 0;
  }
  return out;
}

interface Job {
  detector: DetectorName;
  params: ParamInput;
  stream: 'numeric' | 'binary';
  riverClass: string;
  riverParams: string;
}

const JOBS: Job[] = [
  { detector: 'adwin', params: {}, stream: 'numeric', riverClass: 'drift.ADWIN', riverParams: '' },
  { detector: 'page-hinkley', params: {}, stream: 'numeric', riverClass: 'drift.PageHinkley', riverParams: '' },
  { detector: 'kswin', params: { seed: 42 }, stream: 'numeric', riverClass: 'drift.KSWIN', riverParams: 'seed=42' },
  { detector: 'ddm', params: {}, stream: 'binary', riverClass: 'drift.binary.DDM', riverParams: '' },
  { detector: 'eddm', params: {}, stream: 'binary', riverClass: 'drift.binary.EDDM', riverParams: '' },
  { detector: 'hddm-a', params: {}, stream: 'binary', riverClass: 'drift.binary.HDDMA', riverParams: '' },
  { detector: 'hddm-w', params: {}, stream: 'binary', riverClass: 'drift.binary.HDDMW', riverParams: '' },
];

function runOurs(job: Job, data: Float64Array, limit: number) {
  let best = Infinity;
  let result = { drifts: [] as number[], warnings: [] as number[] };
  for (let rep = 0; rep < 2; rep++) {
    const det = createDetector(job.detector, job.params);
    const t0 = performance.now();
    result = runStream(det, data.subarray(0, limit));
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return { seconds: best, drifts: result.drifts, warnings: result.warnings.length };
}

function riverAvailable(): boolean {
  const r = spawnSync('python3', ['-c', 'import river; print(river.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? ((riverVersion = r.stdout.trim()), true) : false;
}
let riverVersion = '';

const PY = `
import json, sys, time
from river import drift
path, cls, params, limit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(path) as f:
    data = [float(line) for line in f][:limit]
det = eval(cls + "(" + params + ")")
drifts, warnings = [], 0
has_w = hasattr(det, "warning_detected")
t0 = time.perf_counter()
for i, x in enumerate(data):
    det.update(x)
    if det.drift_detected:
        drifts.append(i)
    if has_w and det.warning_detected:
        warnings += 1
dt = time.perf_counter() - t0
print(json.dumps({"seconds": dt, "drifts": drifts, "warnings": warnings}))
`;

function runRiver(job: Job, file: string, limit: number) {
  const out = execFileSync('python3', ['-c', PY, file, job.riverClass, job.riverParams, String(limit)], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  return JSON.parse(out) as { seconds: number; drifts: number[]; warnings: number };
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)}M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)}k` : x.toFixed(0));

const streams = { numeric: numericStream(N), binary: binaryStream(N) };
const withRiver = !flags['no-river'] && riverAvailable();
const dir = mkdtempSync(join(tmpdir(), 'perennial-bench-'));
const files = { numeric: join(dir, 'numeric.txt'), binary: join(dir, 'binary.txt') };
if (withRiver) {
  for (const k of ['numeric', 'binary'] as const) writeFileSync(files[k], Array.from(streams[k]).join('\n') + '\n');
}

console.log(
  `Streaming drift detectors, ${N.toLocaleString('en-US')} values per stream (node ${process.version}${withRiver ? `, River ${riverVersion}` : ', River not available'})`,
);
console.log(['detector'.padEnd(13), 'perennial/s'.padStart(12), 'river/s'.padStart(10), 'ratio'.padStart(8), 'drifts'.padStart(7), 'same indices'].join('  '));
try {
  for (const job of JOBS) {
    const data = streams[job.stream];
    const ours = runOurs(job, data, N);
    const oursRate = N / ours.seconds;
    let riverCol = '-';
    let ratioCol = '-';
    let same = '-';
    if (withRiver) {
      const limit = job.detector === 'kswin' ? KSWIN_RIVER_N : N;
      const river = runRiver(job, files[job.stream], limit);
      const riverRate = limit / river.seconds;
      riverCol = fmt(riverRate) + (limit < N ? '*' : '');
      ratioCol = `${(oursRate / riverRate).toFixed(2)}x`;
      const oursPrefix = limit < N ? runOurs(job, data, limit) : ours;
      const ok = JSON.stringify(oursPrefix.drifts) === JSON.stringify(river.drifts) && oursPrefix.warnings === river.warnings;
      same = ok ? `yes${limit < N ? ` (first ${limit.toLocaleString('en-US')})` : ''}` : `NO (river ${river.drifts.length} drifts)`;
    }
    console.log(
      [job.detector.padEnd(13), fmt(oursRate).padStart(12), riverCol.padStart(10), ratioCol.padStart(8), String(ours.drifts.length).padStart(7), same].join(
        '  ',
      ),
    );
  }
  if (withRiver && KSWIN_RIVER_N < N) {
    console.log(`* River KSWIN timed on the first ${KSWIN_RIVER_N.toLocaleString('en-US')} values (SciPy per update); use --river-kswin-values ${N} for all.`);
  }
  console.log('ratio = perennial updates/s ÷ River updates/s (>1: perennial faster).');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
