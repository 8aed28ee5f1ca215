/** CPython random.sample reproduction and SciPy ks_2samp p-values. */
import { describe, expect, it } from 'vitest';
import { ks2SampEqualSizes } from '../../../src/drift/stream/ks';
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

describe('ks2SampEqualSizes (scipy.stats.ks_2samp, method=auto)', () => {
  blocks.ks_2samp.forEach((c, i) => {
    it(`case ${i}: n=${c.a.length}, D=${c.statistic}, p=${c.pvalue}`, () => {
      const r = ks2SampEqualSizes(c.a, c.b);
      expect(r.statistic).toBe(c.statistic);
      expect(r.pValue).toBe(c.pvalue);
    });
  });

  it('rejects unequal or oversized samples instead of diverging from SciPy', () => {
    expect(() => ks2SampEqualSizes([1, 2], [1])).toThrow(/equal sizes/);
    expect(() => ks2SampEqualSizes([], [])).toThrow(/empty/);
    const big = new Float64Array(10001);
    expect(() => ks2SampEqualSizes(big, big)).toThrow(/n <= 10000/);
  });
});
