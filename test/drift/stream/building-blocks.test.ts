/** CPython random.sample reproduction, and the batch ks_2samp on KSWIN-shaped samples. */
import { describe, expect, it } from 'vitest';
import { ks2Pvalue } from '../../../src/drift/batch/kolmogorov';
import { ksStatistic } from '../../../src/drift/batch/numerical';
import { PythonRandom } from '../../../src/drift/stream/python-random';
import { loadBuildingBlocks } from './fixtures';

const blocks = loadBuildingBlocks();

describe('PythonRandom (CPython random.Random)', () => {
  for (const s of blocks.python_random_sample) {
    it(`seed ${s.seed}: getrandbits(32) and sample(range(${s.n}), ${s.k}) x${s.draws.length}`, () => {
      expect(new PythonRandom(s.seed).getrandbits(32)).toBe(s.first_uint32);
      const r = new PythonRandom(s.seed);
      for (const draw of s.draws) expect(r.sampleRange(s.n, s.k)).toEqual(draw);
    });
  }

  it('state round-trips through JSON mid-sequence', () => {
    const a = new PythonRandom(42);
    a.sampleRange(70, 30);
    const b = PythonRandom.fromState(JSON.parse(JSON.stringify(a.toJSON())));
    for (let i = 0; i < 50; i++) expect(b.sampleRange(70, 30)).toEqual(a.sampleRange(70, 30));
  });
});

describe('batch ksStatistic + ks2Pvalue as KSWIN calls them (scipy.stats.ks_2samp, method=auto)', () => {
  const sorted = (xs: number[]) => Float64Array.from(xs).sort();
  blocks.ks_2samp.forEach((c, i) => {
    it(`case ${i}: n=${c.a.length}, D=${c.statistic}, p=${c.pvalue}`, () => {
      const n = c.a.length;
      expect(c.b).toHaveLength(n);
      const r = ks2Pvalue(n, n, ksStatistic(sorted(c.a), sorted(c.b)));
      expect(r.d).toBe(c.statistic);
      expect(r.p).toBe(c.pvalue);
    });
  });
});
