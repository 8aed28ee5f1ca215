/**
 * The Mersenne Twister MT19937 (Matsumoto & Nishimura 1998, mt19937ar.c):
 * one state array, twist and tempering, with the reference code's two
 * seedings. numpy's legacy `np.random.seed(int)` uses `init_genrand`
 * (batch/rng.ts); CPython's `random.seed(int)` uses `init_by_array` over the
 * 32-bit words of the seed (stream/python-random.ts). The state is plain data
 * (624 words and a position) so a generator can be saved and resumed exactly.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export interface MT19937State {
  mt: number[];
  mti: number;
}

export class MT19937 {
  protected mt = new Uint32Array(N);
  /** Next word to temper; N or more: twist first. */
  protected mti = N + 1;

  /** Seed like mt19937ar.c `init_genrand(s)` (numpy's legacy integer seeding). */
  protected initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      // 1812433253 * prev + i, modulo 2^32, without losing precision.
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
    this.mti = N;
  }

  /** Seed like mt19937ar.c `init_by_array(key)` (CPython's integer seeding). */
  protected initByArray(key: readonly number[]): void {
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

  /** Next 32-bit output (genrand_uint32). */
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

  toJSON(): MT19937State {
    return { mt: Array.from(this.mt), mti: this.mti };
  }

  /** Continue from a saved state; `what` names the generator in the error. */
  protected restoreState(state: MT19937State, what: string): void {
    if (!state || !Array.isArray(state.mt) || state.mt.length !== N || typeof state.mti !== 'number') {
      throw new Error(`invalid ${what} state: expected ${N} words and a position`);
    }
    this.mt = Uint32Array.from(state.mt);
    this.mti = state.mti;
  }
}
