/**
 * One MT19937 core, two seedings: numpy's legacy `np.random.seed` (init_genrand)
 * and CPython's `random.seed` (init_by_array). The fixtures in
 * test/drift/batch and test/drift/stream check long sequences; these are the
 * well-known first values.
 */
import { describe, expect, it } from 'vitest';
import { type MT19937 } from '../../src/drift/mt19937';
import { NumpyRandomState } from '../../src/drift/batch/rng';
import { PythonRandom } from '../../src/drift/stream/python-random';

/** genrand_res53, as numpy's random_sample and CPython's random() compute it. */
function res53(g: MT19937): number {
  const a = g.nextUint32() >>> 5;
  const b = g.nextUint32() >>> 6;
  return (a * 67108864 + b) / 9007199254740992;
}

describe('MT19937 seedings', () => {
  it('init_genrand: the reference output for seed 5489 and numpy RandomState(0).random_sample()', () => {
    expect(new NumpyRandomState(5489).nextUint32()).toBe(3499211612);
    expect(new NumpyRandomState(0).random()).toBe(0.5488135039273248);
    expect(res53(new NumpyRandomState(0))).toBe(0.5488135039273248);
  });

  it('init_by_array: CPython random.Random(0).random() and Random(42).random()', () => {
    expect(res53(new PythonRandom(0))).toBe(0.8444218515250481);
    expect(res53(new PythonRandom(42))).toBe(0.6394267984578837);
  });

  it('both share the core: the same state gives the same stream', () => {
    const numpy = new NumpyRandomState(7);
    for (let i = 0; i < 700; i++) numpy.nextUint32(); // past a twist
    const python = PythonRandom.fromState(JSON.parse(JSON.stringify(numpy.toJSON())));
    for (let i = 0; i < 2000; i++) expect(python.nextUint32()).toBe(numpy.nextUint32());
  });
});
