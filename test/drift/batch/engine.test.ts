/**
 * Engine behaviour: validation errors, missing values, untestable columns,
 * unseen categories, pictures, dataset decision and corrections, MMD, and
 * worker threads giving the same report as in-thread computation.
 */
import { describe, expect, it } from 'vitest';
import { computeDrift, computeDriftSync, testColumn, VALID_METHOD_NAMES } from '../../../src/drift/engine';
import type { ColumnSample, DriftOptions, Sample } from '../../../src/drift/types';
import { NumpyRandomState } from '../../../src/drift/batch/rng';
import { bonferroni, fdr } from '../../../src/drift/batch/corrections';
import { mmdTest } from '../../../src/drift/batch/mmd';
import { METHOD_NAMES } from '../../../src/drift/batch/methods';
import { prestartWorkers, setWorkerEntryForTests, shutdownWorkers, tasksRunInWorkers } from '../../../src/drift/batch/pool';
import { cacheHits } from '../../../src/drift/batch/cache';

function normals(seed: number, n: number, shift = 0, scale = 1): Float64Array {
  const rng = new NumpyRandomState(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.random() || 1e-300;
    const v = rng.random();
    out[i] = shift + scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

function cats(seed: number, n: number, labels: string[], weights?: number[]): string[] {
  const rng = new NumpyRandomState(seed);
  const w = weights ?? labels.map(() => 1);
  const total = w.reduce((s, x) => s + x, 0);
  return Array.from({ length: n }, () => {
    let r = rng.random() * total;
    for (let i = 0; i < labels.length; i++) {
      r -= w[i]!;
      if (r < 0) return labels[i]!;
    }
    return labels[labels.length - 1]!;
  });
}

const num = (name: string, values: Float64Array): ColumnSample => ({ name, type: 'numerical', values });
const cat = (name: string, values: (string | null)[]): ColumnSample => ({ name, type: 'categorical', values });

describe('validation', () => {
  const ref: Sample = { columns: [num('a', normals(1, 50))] };
  const cur: Sample = { columns: [num('a', normals(2, 50))] };

  it('rejects an unknown method, listing the valid names', async () => {
    await expect(computeDrift(ref, cur, { method: 'kolmogorov' })).rejects.toThrow(/Unknown drift method "kolmogorov".*ks.*wasserstein.*chisquare_alibi/);
    expect(() => testColumn(ref.columns[0]!, cur.columns[0]!, 'nope')).toThrow(VALID_METHOD_NAMES.join(', '));
    await expect(computeDrift(ref, cur, { perColumnMethod: { a: 'bogus' } })).rejects.toThrow(/bogus/);
  });

  it('rejects a requested column that is absent, naming it', async () => {
    await expect(computeDrift(ref, cur, { columns: ['a', 'zz'] })).rejects.toThrow(/Column "zz" is not in the reference sample/);
    const cur2: Sample = { columns: [num('b', normals(2, 50))] };
    await expect(computeDrift(ref, cur2)).rejects.toThrow(/Column "a" is not in the current sample/);
  });
});

describe('columns', () => {
  it('counts missing values and tests the rest', () => {
    const r = normals(3, 200);
    const c = normals(4, 150, 0.2);
    r[0] = NaN;
    r[1] = Infinity;
    c[5] = NaN;
    const res = testColumn(num('x', r), num('x', c), 'ks');
    expect(res.missing).toEqual({ reference: 2, current: 1 });
    expect(res.testable).toBe(true);
    const clean = testColumn(num('x', r.filter(Number.isFinite)), num('x', c.filter(Number.isFinite)), 'ks');
    expect(res.p_value).toBe(clean.p_value);
    const cr = testColumn(cat('c', ['a', null, 'b', 'a']), cat('c', [null, null, 'a', 'b', 'b']), 'chisquare');
    expect(cr.missing).toEqual({ reference: 1, current: 2 });
  });

  it('marks constant, empty and non-numeric columns untestable, without NaN', () => {
    const constant = new Float64Array(30).fill(7);
    for (const m of ['t_test', 'anderson', 'es', 'mannw', 'cramer_von_mises']) {
      const r = testColumn(num('k', constant), num('k', constant.slice()), m);
      expect(r.testable, m).toBe(false);
      expect(r.reason, m).toMatch(/constant/);
      expect(r.statistic).toBeNull();
      expect(r.p_value).toBeNull();
      expect(r.drift).toBe(false);
    }
    // distance methods handle a constant column
    const w = testColumn(num('k', constant), num('k', constant.slice()), 'wasserstein');
    expect(w.testable).toBe(true);
    expect(w.statistic).toBe(0);

    const empty = testColumn(num('e', new Float64Array([NaN, NaN])), num('e', normals(5, 10)), 'ks');
    expect(empty.testable).toBe(false);
    expect(empty.reason).toMatch(/reference sample is empty/);
    expect(empty.missing).toEqual({ reference: 2, current: 0 });

    const text = testColumn({ name: 't', type: 'numerical', values: ['1', '2', 'abc'] }, { name: 't', type: 'numerical', values: ['1', '3', '4'] }, 'ks');
    expect(text.testable).toBe(false);
    expect(text.reason).toMatch(/not numbers.*abc/);

    const numericText = testColumn(
      { name: 't', type: 'numerical', values: ['1', '2', null, '5', '3.5', '2', '1', '8'] },
      { name: 't', type: 'numerical', values: ['1', '3', '4', '4', '9', '7', '', '6'] },
      'ks',
    );
    expect(numericText.testable).toBe(true);
    expect(numericText.missing).toEqual({ reference: 1, current: 1 });

    const oneCat = testColumn(cat('c', ['a', 'a']), cat('c', ['a', 'a', 'a']), 'chisquare');
    expect(oneCat.testable).toBe(false);
    expect(oneCat.reason).toMatch(/one category/);

    const ksOnText = testColumn(cat('c', ['a', 'b']), cat('c', ['a', 'b']), 'ks');
    expect(ksOnText.testable).toBe(false);
    expect(ksOnText.reason).toMatch(/numerical columns only/);
  });

  it('accepts bare values', () => {
    const r = testColumn(normals(1, 100), normals(2, 100, 1), 'ks');
    expect(r.type).toBe('numerical');
    expect(r.drift).toBe(true);
    const c = testColumn(['a', 'b', 'a'], ['b', 'b', null], 'auto');
    expect(c.type).toBe('categorical');
    expect(c.method).toBe('z');
    expect(c.missing).toEqual({ reference: 0, current: 1 });
  });

  it('lists categories unseen in the reference', () => {
    const r = testColumn(cat('c', ['a', 'b', 'a', 'b']), cat('c', ['a', 'c', 'd', 'c']), 'jensenshannon');
    expect(r.unseen_categories).toEqual(['c', 'd']);
    const chi = testColumn(cat('c', ['a', 'b', 'a', 'b']), cat('c', ['a', 'c', 'd', 'c']), 'chisquare');
    expect(chi.p_value).toBe(0);
    expect(chi.drift).toBe(true);
  });

  it('draws pictures: shared edges for numerical, bars for categorical', () => {
    const r = testColumn(num('x', normals(6, 1000)), num('x', normals(7, 800, 0.5)), 'auto');
    const pic = r.picture!;
    expect(pic.kind).toBe('histogram');
    expect(pic.edges!.length).toBe(pic.reference.length + 1);
    expect(pic.current.length).toBe(pic.reference.length);
    expect(pic.reference.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    expect(pic.current.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
    const c = testColumn(cat('c', cats(1, 300, ['x', 'y', 'z'])), cat('c', cats(2, 200, ['x', 'y', 'w'])), 'auto');
    expect(c.picture!.kind).toBe('bars');
    expect(new Set(c.picture!.labels)).toEqual(new Set(['x', 'y', 'z', 'w']));
    expect(c.picture!.current.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 12);
  });

  it('applies thresholds and directions', () => {
    const r = normals(8, 300);
    const c = normals(9, 300, 0.4);
    const ks = testColumn(num('x', r), num('x', c), 'ks');
    expect(ks.score).toBe('p_value');
    expect(ks.threshold).toBe(0.05);
    expect(ks.drift).toBe(ks.p_value! <= 0.05);
    const w = testColumn(num('x', r), num('x', c), 'wasserstein', 0.5);
    expect(w.score).toBe('distance');
    expect(w.threshold).toBe(0.5);
    expect(w.drift).toBe(w.statistic! >= 0.5);
  });

  it('runs every method on ordinary data without throwing', () => {
    const r = normals(10, 120);
    const c = normals(11, 100, 0.3);
    for (const m of METHOD_NAMES) {
      const res = testColumn(
        num('x', r),
        num(
          'x',
          Float64Array.from(c, (v) => Math.round(v * 2) / 2),
        ),
        m,
      );
      expect(res.method).toBe(m);
      if (res.testable) {
        expect(Number.isNaN(res.statistic ?? 0)).toBe(false);
        expect(Number.isNaN(res.p_value ?? 0)).toBe(false);
      }
    }
  });
});

describe('auto method choice (Evidently defaults)', () => {
  it('follows reference size and distinct values', () => {
    const small = testColumn(num('x', normals(1, 1000)), num('x', normals(2, 50)), 'auto');
    expect(small.method).toBe('ks');
    const big = testColumn(num('x', normals(1, 1001)), num('x', normals(2, 50)), 'auto');
    expect(big.method).toBe('wasserstein');
    const few = Float64Array.from({ length: 200 }, (_, i) => i % 4);
    expect(testColumn(num('x', few), num('x', few.slice()), 'auto').method).toBe('chisquare');
    const bin = Float64Array.from({ length: 200 }, (_, i) => i % 2);
    expect(testColumn(num('x', bin), num('x', bin.slice()), 'auto').method).toBe('z');
    const fewBig = Float64Array.from({ length: 2000 }, (_, i) => i % 4);
    expect(testColumn(num('x', fewBig), num('x', fewBig.slice()), 'auto').method).toBe('jensenshannon');
    expect(testColumn(cat('c', cats(1, 500, ['a', 'b', 'c'])), cat('c', cats(2, 500, ['a', 'b'])), 'auto').method).toBe('chisquare');
    expect(testColumn(cat('c', cats(1, 500, ['a', 'b'])), cat('c', cats(2, 500, ['a', 'b'])), 'auto').method).toBe('z');
    expect(testColumn(cat('c', cats(1, 1500, ['a', 'b'])), cat('c', cats(2, 500, ['a', 'b'])), 'auto').method).toBe('jensenshannon');
  });
});

describe('dataset decision', () => {
  const ref: Sample = {
    columns: [num('a', normals(1, 400)), num('b', normals(2, 400)), num('c', normals(3, 400)), cat('d', cats(4, 400, ['x', 'y', 'z']))],
  };
  const cur: Sample = {
    columns: [num('a', normals(5, 300, 1)), num('b', normals(6, 300)), num('c', normals(7, 300)), cat('d', cats(8, 300, ['x', 'y', 'z'], [3, 1, 1]))],
  };

  it('drifts when the share of drifted columns reaches drift_share', async () => {
    const rep = await computeDrift(ref, cur, { multivariate: false });
    expect(rep.number_of_columns).toBe(4);
    expect(rep.columns.map((c) => c.method)).toEqual(['ks', 'ks', 'ks', 'chisquare']);
    expect(rep.number_of_drifted_columns).toBe(2);
    expect(rep.share).toBe(0.5);
    expect(rep.drift).toBe(true);
    const strict = await computeDrift(ref, cur, { multivariate: false, driftShare: 0.75 });
    expect(strict.drift).toBe(false);
    const some = await computeDrift(ref, cur, { multivariate: false, columns: ['b', 'c'] });
    expect(some.number_of_columns).toBe(2);
    expect(some.drift).toBe(false);
  });

  it('applies Bonferroni and BH corrections as Alibi Detect does', async () => {
    expect(bonferroni([0.01, 0.2, 0.3], 0.05)).toBe(true);
    expect(bonferroni([0.02, 0.2, 0.3], 0.05)).toBe(false);
    expect(fdr([0.02, 0.03, 0.04], 0.05)).toBe(true); // 0.04 < 0.05 * 3/3
    expect(fdr([0.02, 0.2, 0.3], 0.05)).toBe(false); // 0.02 >= 0.05/3
    const rep = await computeDrift(ref, cur, { multivariate: false, correction: 'bonferroni', driftShare: 0.99 });
    expect(rep.correction).toBe('bonferroni');
    expect(rep.drift).toBe(true);
  });
});

describe('MMD', () => {
  it('is reproducible with a seed and detects a shift', () => {
    const r = [normals(1, 300), normals(2, 300)];
    const same = [normals(3, 300), normals(4, 300)];
    const shifted = [normals(5, 300, 0.6), normals(6, 300)];
    const a = mmdTest(r, same, { seed: 7 })!;
    const b = mmdTest(r, same, { seed: 7 })!;
    expect(a).toEqual(b);
    expect(a.permutations).toBe(100);
    expect(a.p_value).toBeGreaterThan(0.05);
    const s = mmdTest(r, shifted, { seed: 7 })!;
    expect(s.p_value).toBeLessThan(0.05);
    expect(s.drift).toBe(true);
    expect(s.bandwidth).toBeGreaterThan(0);
  });

  it('is part of the report', async () => {
    const rep = await computeDrift({ columns: [num('a', normals(1, 200))] }, { columns: [num('a', normals(2, 200, 1))] }, { seed: 3, mmdPermutations: 50 });
    expect(rep.multivariate?.method).toBe('mmd');
    expect(rep.multivariate?.permutations).toBe(50);
    expect(rep.multivariate?.drift).toBe(true);
  });
});

describe('sorted-array cache', () => {
  it('serves repeated calls and never a mutated array', async () => {
    const n = 130_000;
    const a = normals(1, n);
    const b = normals(2, n, 0.01);
    const ref: Sample = { columns: [num('a', a), num('b', normals(3, n))] };
    const cur: Sample = { columns: [num('a', b), num('b', normals(4, n))] };
    const opts: DriftOptions = { method: 'ks', multivariate: false };
    for (const workers of [1, 2]) {
      const first = await computeDrift(ref, cur, { ...opts, workers });
      const hits = cacheHits();
      const again = await computeDrift(ref, cur, { ...opts, workers });
      // every sorted array (2 columns x reference and current) came from the cache
      expect(cacheHits() - hits).toBe(4);
      expect(again.columns).toEqual(first.columns);
      // mutate the current sample: the cached sorted copy must not be used
      const saved = b.slice(0, 5000);
      for (let i = 0; i < 5000; i++) b[i] = b[i]! + 3;
      const before = cacheHits();
      const mutated = await computeDrift(ref, cur, { ...opts, workers });
      // all but the mutated array
      expect(cacheHits() - before).toBe(3);
      const fresh = computeDriftSync(
        { columns: ref.columns.map((c) => ({ ...c, values: (c.values as Float64Array).slice() })) },
        { columns: cur.columns.map((c) => ({ ...c, values: (c.values as Float64Array).slice() })) },
        opts,
      );
      expect(mutated.columns).toEqual(fresh.columns);
      expect(mutated.columns[0]!.statistic).not.toBe(first.columns[0]!.statistic);
      b.set(saved);
    }
  });
});

describe('cache: false (one-shot callers such as the CLI)', () => {
  it('gives the same report, and neither reads nor fills the cache', async () => {
    const n = 120_000;
    const opts: DriftOptions = { method: 'wasserstein', multivariate: false };
    for (const workers of [1, 2]) {
      // arrays of its own for each pass (the cache is keyed by the arrays)
      const ref: Sample = { columns: [num('a', normals(10 + workers, n)), num('b', normals(12, n))] };
      const cur: Sample = { columns: [num('a', normals(13, n, 0.02)), num('b', normals(14, n))] };
      const hits = cacheHits();
      const oneShot = await computeDrift(ref, cur, { ...opts, workers, cache: false });
      const cached = await computeDrift(ref, cur, { ...opts, workers });
      // the cached call found nothing left by the one-shot call
      expect(cacheHits()).toBe(hits);
      expect(oneShot.columns).toEqual(cached.columns);
      // and a one-shot call does not read what the cached call left
      await computeDrift(ref, cur, { ...opts, workers, cache: false });
      expect(cacheHits()).toBe(hits);
    }
  });
});

describe('worker threads', () => {
  it('give the same report as in-thread computation', async () => {
    const n = 120_000;
    const ref: Sample = { columns: [num('a', normals(1, n)), num('b', normals(2, n)), num('c', normals(3, n)), cat('d', cats(4, 1000, ['x', 'y']))] };
    const cur: Sample = {
      columns: [num('a', normals(4, n, 0.01)), num('b', normals(5, n)), num('c', normals(6, n, 0, 1.1)), cat('d', cats(5, 1000, ['x', 'y']))],
    };
    const opts: DriftOptions = { additionalMethods: ['ks', 'anderson'], multivariate: false };
    // a worker thread ready before the call (as the CLI starts it while it reads the files)
    await prestartWorkers(1);
    const ran = tasksRunInWorkers();
    // two threads: the calling one and one worker share the three numerical columns
    const par = await computeDrift(ref, cur, { ...opts, workers: 2 });
    const inWorker = tasksRunInWorkers() - ran;
    // the worker took the first columns at once (two in flight); the calling thread may take the last
    expect(inWorker).toBeGreaterThanOrEqual(2);
    expect(inWorker).toBeLessThanOrEqual(3);
    const seq = computeDriftSync(ref, cur, opts);
    const strip = (r: typeof par): unknown => ({ ...r, generated_at: '' });
    expect(strip(par)).toEqual(strip(seq));
    // the caller's arrays are not detached by the transfer
    expect((ref.columns[0]!.values as Float64Array).length).toBe(n);
  });

  it('do not hold up the calling thread while they start, and give the same report', async () => {
    await shutdownWorkers();
    const n = 100_000;
    const ref: Sample = { columns: [num('a', normals(1, n)), num('b', normals(2, n)), cat('c', cats(3, n, ['x', 'y', 'z']))] };
    const cur: Sample = { columns: [num('a', normals(4, n, 0.05)), num('b', normals(5, n)), cat('c', cats(6, n, ['x', 'y', 'z']))] };
    const opts: DriftOptions = { method: 'ks', seed: 2, mmdPermutations: 20 };
    // no worker is ready: the calling thread computes what it gets to first, the worker joins when it is ready
    const par = await computeDrift(ref, cur, { ...opts, workers: 2, cache: false });
    expect({ ...par, generated_at: '' }).toEqual({ ...computeDriftSync(ref, cur, opts), generated_at: '' });
    // the worker started for that call is kept for the next one
    await prestartWorkers(1);
    const ran = tasksRunInWorkers();
    const again = await computeDrift(ref, cur, { ...opts, workers: 2, cache: false });
    expect(tasksRunInWorkers() - ran).toBeGreaterThanOrEqual(1);
    expect({ ...again, generated_at: '' }).toEqual({ ...par, generated_at: '' });
  });

  it('fall back to in-thread computation when threads cannot start', async () => {
    const n = 150_000;
    const ref: Sample = { columns: [num('a', normals(1, n)), num('b', normals(2, n))] };
    const cur: Sample = { columns: [num('a', normals(3, n, 0.02)), num('b', normals(4, n))] };
    await setWorkerEntryForTests(new URL('./no-such-worker-entry.mjs', import.meta.url));
    try {
      const ran = tasksRunInWorkers();
      const par = await computeDrift(ref, cur, { workers: 2, multivariate: false });
      expect(tasksRunInWorkers()).toBe(ran);
      const seq = computeDriftSync(ref, cur, { multivariate: false });
      expect({ ...par, generated_at: '' }).toEqual({ ...seq, generated_at: '' });
    } finally {
      await setWorkerEntryForTests(null);
    }
  });
});
