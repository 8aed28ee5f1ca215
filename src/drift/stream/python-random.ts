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
 * The generator state is plain data (624 words + position) so it can be
 * serialized into a detector's JSON state and resumed exactly.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export interface PythonRandomState {
  mt: number[];
  mti: number;
}

export class PythonRandom {
  private mt: Uint32Array;
  private mti: number;

  /** Seeds like `random.Random(seed)` for a non-negative integer seed (up to 2^53 - 1). */
  constructor(seed: number) {
    this.mt = new Uint32Array(N);
    this.mti = N + 1;
    this.seed(seed);
  }

  static fromState(state: PythonRandomState): PythonRandom {
    if (!Array.isArray(state.mt) || state.mt.length !== N || typeof state.mti !== 'number') {
      throw new Error('invalid PythonRandom state: expected 624 words and a position');
    }
    const r = new PythonRandom(0);
    r.mt = Uint32Array.from(state.mt);
    r.mti = state.mti;
    return r;
  }

  toJSON(): PythonRandomState {
    return { mt: Array.from(this.mt), mti: this.mti };
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing precision.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    const keyLength = key.length;
    for (let k = Math.max(N, keyLength); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= keyLength) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
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

  /** Next 32-bit output of MT19937 (genrand_uint32). */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & UPPER_MASK) | (mt[kk + 1]! & LOWER_MASK);
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      }
      const y = (mt[N - 1]! & UPPER_MASK) | (mt[0]! & LOWER_MASK);
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
      this.mti = 0;
    }
    let y = mt[this.mti++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
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
