/**
 * Quick self-check of the batch drift engine's speed: 1M reference rows vs 1M
 * current rows on a few columns, the auto report plus KS on every numerical
 * column. (The full benchmark against scipy lives elsewhere.)
 *
 *   npx tsx scripts/bench/drift-batch-quick.ts [rows=1000000] [numCols=4] [catCols=1]
 */
import { computeDrift } from '../../src/drift/engine';
import type { ColumnSample, Sample } from '../../src/drift/types';
import { MT19937 } from '../../src/drift/batch/rng';

const rows = Number(process.argv[2] ?? 1_000_000);
const numCols = Number(process.argv[3] ?? 4);
const catCols = Number(process.argv[4] ?? 1);

function normal(rng: MT19937): number {
  // Box-Muller
  const u = rng.random() || 1e-300;
  const v = rng.random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

function makeSample(seed: number, shift: number): Sample {
  const rng = new MT19937(seed);
  const columns: ColumnSample[] = [];
  for (let c = 0; c < numCols; c++) {
    const v = new Float64Array(rows);
    for (let i = 0; i < rows; i++) v[i] = Math.round((normal(rng) + shift * (c % 2)) * 1e4) / 1e4;
    columns.push({ name: `x${c}`, type: 'numerical', values: v });
  }
  const cats = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'];
  for (let c = 0; c < catCols; c++) {
    const v: (string | null)[] = new Array(rows);
    for (let i = 0; i < rows; i++) v[i] = cats[Math.min(7, Math.floor(rng.random() * (8 + shift)))]!;
    columns.push({ name: `c${c}`, type: 'categorical', values: v });
  }
  return { columns };
}

const t0 = performance.now();
const ref = makeSample(1, 0);
const cur = makeSample(2, 0.05);
const t1 = performance.now();
console.log(`data: ${rows} x ${rows} rows, ${numCols} numerical + ${catCols} categorical columns (generated in ${((t1 - t0) / 1000).toFixed(2)} s)`);

/** Fresh arrays with the same content: the sorted-array cache cannot help. */
function clone(s: Sample): Sample {
  return { columns: s.columns.map((c) => ({ ...c, values: c.values instanceof Float64Array ? c.values.slice() : c.values.slice() })) };
}

async function timed(label: string, f: () => Promise<unknown>): Promise<void> {
  const s = performance.now();
  await f();
  console.log(`${label}: ${((performance.now() - s) / 1000).toFixed(2)} s`);
}

const base = { multivariate: false } as const;
await timed('auto + ks (one call, additionalMethods), in-thread, cold', () => computeDrift(clone(ref), clone(cur), { ...base, method: 'auto', additionalMethods: ['ks'], workers: 1 }));
await timed('auto + ks (one call), worker threads, cold data, threads starting', () => computeDrift(clone(ref), clone(cur), { ...base, method: 'auto', additionalMethods: ['ks'] }));
await timed('auto + ks (one call), worker threads, cold data, threads running', () => computeDrift(clone(ref), clone(cur), { ...base, method: 'auto', additionalMethods: ['ks'] }));
const r2 = clone(ref);
const c2 = clone(cur);
await timed('auto report then ks report (two calls), worker threads, cold data', async () => {
  await computeDrift(r2, c2, { ...base, method: 'auto' });
  await computeDrift(r2, c2, { ...base, method: 'ks' });
});
await timed('same two calls again (sorted arrays cached)', async () => {
  await computeDrift(r2, c2, { ...base, method: 'auto' });
  await computeDrift(r2, c2, { ...base, method: 'ks' });
});
const s = performance.now();
const report = await computeDrift(clone(ref), clone(cur), { method: 'auto', additionalMethods: ['ks'] });
console.log(`auto + ks + MMD (500 rows/sample, 100 permutations), cold data: ${((performance.now() - s) / 1000).toFixed(2)} s  (mmd p=${report.multivariate?.p_value})`);
for (const c of report.columns.slice(0, 6)) {
  console.log(`  ${c.name}: ${c.method}=${c.statistic?.toPrecision(6)} drift=${c.drift}; ks p=${c.additional?.[0]?.p_value?.toExponential(3)}`);
}
