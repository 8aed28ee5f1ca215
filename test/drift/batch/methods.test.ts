/**
 * The method registry: every entry carries an implementation that fits its
 * column types, drift rules are Evidently's (pinned at value = threshold),
 * and the numerical tests take data-sized inputs.
 */
import { describe, expect, it } from 'vitest';
import { computeDriftSync, testColumn } from '../../../src/drift/engine';
import { METHODS, METHOD_NAMES, isMethodName, type Rule } from '../../../src/drift/batch/methods';
import { NumpyRandomState } from '../../../src/drift/batch/rng';

function normals(seed: number, n: number, shift = 0): Float64Array {
  const rng = new NumpyRandomState(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.random() || 1e-300;
    const v = rng.random();
    out[i] = shift + Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

describe('method registry', () => {
  it('every entry is named by its key and has an implementation for its column types', () => {
    expect(METHOD_NAMES.length).toBeGreaterThan(0);
    for (const name of METHOD_NAMES) {
      const spec = METHODS[name];
      expect(spec.name).toBe(name);
      expect(spec.sorted !== undefined || spec.counts !== undefined, name).toBe(true);
      // categorical columns need a test on counts; numerical-only methods have none
      expect(spec.counts !== undefined, name).toBe(spec.types.includes('categorical'));
      if (spec.types.includes('numerical') && !spec.types.includes('categorical')) expect(spec.sorted, name).toBeDefined();
    }
    expect(isMethodName('ks')).toBe(true);
    expect(isMethodName('auto')).toBe(false);
    expect(isMethodName('toString')).toBe(false);
  });

  it("rejects 'auto' among the additional methods (it names no method)", () => {
    const sample = { columns: [{ name: 'a', type: 'numerical' as const, values: normals(1, 20) }] };
    expect(() => computeDriftSync(sample, sample, { additionalMethods: ['ks', 'auto'] })).toThrow(/"auto" is not a method/);
  });

  it("drift rules are Evidently 0.7's (legacy stattests) and Alibi Detect's", () => {
    // `return p_value, p_value <= threshold` in ks_stattest.py and cramer_von_mises_stattest.py,
    // `distance > threshold` in energy_distance.py, `>=` for the other distances, `<` for the other p-values.
    const expected: Record<string, Rule> = {
      ks: '<=',
      cramer_von_mises: '<=',
      ed: '>',
      wasserstein: '>=',
      psi: '>=',
      jensenshannon: '>=',
      kl_div: '>=',
      hellinger: '>=',
    };
    for (const name of METHOD_NAMES) {
      const spec = METHODS[name];
      expect(spec.rule, name).toBe(expected[name] ?? '<');
      expect(spec.score, name).toBe(['<', '<='].includes(spec.rule) ? 'p_value' : 'distance');
    }
  });
});

describe('a value exactly at the threshold', () => {
  const ref = normals(1, 40);
  const cur = normals(2, 40, 0.4);
  const at = (method: string): { value: number; drift: boolean } => {
    const first = testColumn(ref, cur, method);
    const value = (first.score === 'p_value' ? first.p_value : first.statistic)!;
    expect(Number.isFinite(value), method).toBe(true);
    return { value, drift: testColumn(ref, cur, method, value).drift };
  };

  it('drifts for ks (p <= threshold) and not for mannw (p < threshold)', () => {
    expect(at('ks').drift).toBe(true);
    expect(at('mannw').drift).toBe(false);
  });

  it('drifts for wasserstein (distance >= threshold) and not for ed (distance > threshold)', () => {
    expect(at('wasserstein').drift).toBe(true);
    expect(at('ed').drift).toBe(false);
  });
});

describe('data-sized inputs (no array spread into call arguments)', () => {
  const n = 1_000_000;
  const ref = normals(3, n);
  const cur = normals(4, n, 0.01);

  for (const method of ['es', 'anderson', 'ks', 'wasserstein', 'ed', 'mannw', 't_test', 'cramer_von_mises', 'psi', 'hellinger']) {
    it(`${method} on ${n.toLocaleString('en')} values per sample`, () => {
      const r = testColumn(ref, cur, method);
      expect(r.testable, r.reason).toBe(true);
      expect(Number.isFinite(r.score === 'p_value' ? r.p_value : r.statistic)).toBe(true);
    });
  }
});
