import { describe, expect, it } from 'vitest';
import { sortFloat64 } from '../../../src/drift/batch/sort';
import { mulberry32 } from '../../../src/model/rng';

/** The sorted bits, so that -0 and +0 (and any other difference) count. */
const bits = (a: Float64Array): string => Array.from(new BigUint64Array(a.buffer, a.byteOffset, a.length), (b) => b.toString(16)).join(',');

function check(values: Float64Array): void {
  const expected = values.slice().sort();
  const got = values.slice();
  expect(sortFloat64(got)).toBe(got);
  expect(bits(got)).toBe(bits(expected));
}

describe('sortFloat64 (radix sort on the bits)', () => {
  const u = mulberry32(7);
  const make = (n: number, f: () => number): Float64Array => Float64Array.from({ length: n }, f);

  it('sorts as TypedArray.prototype.sort does, bit for bit', () => {
    for (const n of [0, 1, 5, 2047, 2048, 2049, 10_000, 100_001]) {
      check(make(n, () => (u() - 0.5) * 1e3));
      check(make(n, () => Math.round((u() - 0.3) * 1e4) / 1e4)); // few decimals: duplicates
    }
  });

  it('handles signs, zeros, infinities, subnormals, duplicates and one repeated value', () => {
    const special = [0, -0, Infinity, -Infinity, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 1, -1, 2 ** -1074 * 3];
    check(make(5000, () => special[Math.floor(u() * special.length)]!));
    check(make(5000, () => u() + 1)); // all positive, one exponent: passes skipped
    check(make(5000, () => -u() - 1)); // all negative
    check(new Float64Array(5000).fill(-2.5));
    check(new Float64Array(5000).fill(0));
    check(make(5000, () => (u() < 0.5 ? -0 : 0)));
    check(make(50_000, () => Math.round(40 + 12 * (u() - 0.5) * 6))); // integers
  });

  it('sorts a view into a larger buffer in place, leaving the rest alone', () => {
    const whole = make(30_000, () => u() - 0.5);
    const before = whole.slice();
    const view = whole.subarray(1000, 25_000);
    const expected = view.slice().sort();
    sortFloat64(view);
    expect(bits(view)).toBe(bits(expected));
    expect(bits(whole.subarray(0, 1000))).toBe(bits(before.subarray(0, 1000)));
    expect(bits(whole.subarray(25_000))).toBe(bits(before.subarray(25_000)));
  });
});
