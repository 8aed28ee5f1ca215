/**
 * numpy's legacy RandomState: MT19937 seeded like `np.random.seed(int)`
 * (init_genrand), with numpy's `random_interval` (masked rejection sampling)
 * so permutations reproduce `np.random.permutation` / `choice(replace=False)`
 * of the legacy RandomState for populations below 2^32.
 */
import { MT19937 } from '../mt19937';

export class NumpyRandomState extends MT19937 {
  constructor(seed: number) {
    super();
    this.initGenrand(seed);
  }

  /** Uniform integer in [0, max] (numpy random_interval, max < 2^32). */
  interval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let v: number;
    while ((v = (this.nextUint32() & mask) >>> 0) > max);
    return v;
  }

  /** Uniform double in [0, 1) with 53 random bits (genrand_res53). */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }
}
