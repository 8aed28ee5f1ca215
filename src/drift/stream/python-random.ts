/**
 * A reimplementation of CPython's `random.Random` for the few operations KSWIN
 * needs: integer seeding, `getrandbits`, `_randbelow` and `sample(range(n), k)`.
 *
 * River's KSWIN draws its reference sub-window with
 * `random.Random(seed).sample(range(window_size - stat_size), stat_size)`, so
 * matching River index-for-index means matching CPython's MT19937 seeding
 * (`init_by_array` over the 32-bit words of |seed|) and its sampling algorithm
 * (pool method for small populations, rejection set otherwise).
 *
 * The generator (../mt19937.ts, shared with the batch code's numpy seeding)
 * has plain-data state (624 words + position), so it can be serialized into a
 * detector's JSON state and resumed exactly.
 */
import { MT19937, type MT19937State } from '../mt19937';

export type PythonRandomState = MT19937State;

export class PythonRandom extends MT19937 {
  /** Seeds like `random.Random(seed)` for a non-negative integer seed (up to 2^53 - 1). */
  constructor(seed: number) {
    super();
    this.seed(seed);
  }

  static fromState(state: PythonRandomState): PythonRandom {
    const r = new PythonRandom(0);
    r.restoreState(state, 'PythonRandom');
    return r;
  }

  /** CPython: the key is the little-endian 32-bit words of abs(seed); [0] for zero. */
  private seed(seed: number): void {
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be a safe integer, got ${seed}`);
    let n = BigInt(Math.abs(seed));
    const key: number[] = [];
    if (n === 0n) key.push(0);
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    }
    this.initByArray(key);
  }

  /** `random.getrandbits(k)` for 0 <= k <= 32 (all KSWIN ever needs). */
  getrandbits(k: number): number {
    if (k === 0) return 0;
    if (k < 0 || k > 32 || !Number.isInteger(k)) throw new Error(`getrandbits supports 0..32 bits, got ${k}`);
    return this.nextUint32() >>> (32 - k);
  }

  /** `random._randbelow_with_getrandbits(n)`: uniform in [0, n), n >= 1. */
  randbelow(n: number): number {
    const k = bitLength(n);
    let r = this.getrandbits(k);
    while (r >= n) r = this.getrandbits(k);
    return r;
  }

  /** `random.sample(range(n), k)`: k distinct indices in [0, n), in CPython's order. */
  sampleRange(n: number, k: number): number[] {
    if (k < 0 || k > n) throw new Error('Sample larger than population or is negative');
    const result = new Array<number>(k);
    let setsize = 21;
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(k * 3) / Math.log(4));
    if (n <= setsize) {
      const pool = new Array<number>(n);
      for (let i = 0; i < n; i++) pool[i] = i;
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result[i] = pool[j]!;
        pool[j] = pool[n - i - 1]!;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result[i] = j;
      }
    }
    return result;
  }
}

function bitLength(n: number): number {
  return n <= 0 ? 0 : 32 - Math.clz32(n);
}
