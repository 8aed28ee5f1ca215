/**
 * KSWIN (Kolmogorov–Smirnov Windowing), Raab et al. 2020, as River's
 * river.drift.KSWIN: a sliding window of `window_size` values; once full, the
 * last `stat_size` values are compared with `stat_size` values drawn without
 * replacement from the older part by a two-sample KS test. Drift when
 * p <= alpha and D > 0.1. No warning zone.
 *
 * The draw reproduces CPython's `random.Random(seed).sample(...)` (River uses
 * Python's `random`, reseeded on every reset), and the test is the batch
 * engine's SciPy `ks_2samp` (exact distribution for stat_size <= KS_MAX_AUTO_N),
 * so with the same integer seed the detections match River's.
 */
import { ks2Pvalue } from '../batch/kolmogorov';
import { ksStatistic } from '../batch/numerical';
import { PythonRandom, type PythonRandomState } from './python-random';
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, decodeNumberArray, encodeNumber } from './types';

export interface KswinParams {
  alpha: number;
  window_size: number;
  stat_size: number;
  /** null: a fresh random seed on construction and on every reset (River: Random(None)). */
  seed: number | null;
  /** Initial window, comma-separated (River's `window`), or null. */
  window: string | null;
}

function randomSeed(): number {
  // A 53-bit seed from the platform CSPRNG (like Random(None) drawing from os.urandom).
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! & 0x1fffff) * 2 ** 32 + words[1]!;
}

export class Kswin implements StreamDetector {
  readonly name = 'kswin' as const;
  readonly hasWarningZone = false;
  readonly params: KswinParams;

  private _drift = false;
  /** Values since the last reset (River's `n`). */
  private n = 0;
  /** Ring buffer holding the window, oldest first from `start`. */
  private readonly buf: Float64Array;
  private start = 0;
  private len = 0;
  private rng: PythonRandom | undefined;

  /**
   * `initialWindow` defaults to the `window` parameter (River's cold-start
   * values); a restore passes the saved window instead.
   */
  constructor(params: KswinParams, initialWindow: readonly number[] = params.window ? params.window.split(',').map(Number) : []) {
    this.params = { ...params };
    this.buf = new Float64Array(params.window_size);
    this.reset();
    for (const v of initialWindow) this.push(v);
  }

  private reset(): void {
    this._drift = false;
    this.n = 0;
    this.start = 0;
    this.len = 0;
    // Seeded: reseed identically on every reset, as River does. Unseeded: a
    // CSPRNG seed at construction, then each reset's seed is drawn from the
    // current generator, so a restored detector continues exactly.
    let seed = this.params.seed;
    if (seed === null) {
      seed = this.rng ? (this.rng.getrandbits(21) * 2 ** 32 + this.rng.getrandbits(32)) : randomSeed();
    }
    this.rng = new PythonRandom(seed);
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return false;
  }
  /** Current window contents, oldest first. */
  get window(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.len; i++) out.push(this.at(i));
    return out;
  }

  private at(i: number): number {
    return this.buf[(this.start + i) % this.buf.length]!;
  }

  private push(x: number): void {
    const cap = this.buf.length;
    if (this.len < cap) {
      this.buf[(this.start + this.len) % cap] = x;
      this.len++;
    } else {
      this.buf[this.start] = x;
      this.start = (this.start + 1) % cap;
    }
  }

  update(x: number): void {
    if (this._drift) this.reset();
    this.n += 1;
    this.push(x);
    this._drift = false;
    const { window_size: ws, stat_size: ss, alpha } = this.params;
    if (this.len < ws) return;
    const idx = this.rng!.sampleRange(ws - ss, ss);
    // Fresh arrays each test: the batch merge caches its result per array.
    const sampled = new Float64Array(ss);
    const recent = new Float64Array(ss);
    for (let i = 0; i < ss; i++) {
      sampled[i] = this.at(idx[i]!);
      recent[i] = this.at(ws - ss + i);
    }
    // SciPy propagates NaN (statistic and p-value NaN): never a drift.
    if (sampled.some(Number.isNaN) || recent.some(Number.isNaN)) return;
    const { d, p } = ks2Pvalue(ss, ss, ksStatistic(sampled.sort(), recent.sort()));
    if (p <= alpha && d > 0.1) {
      this._drift = true;
      // River keeps only the most recent values, in order (then clears all on
      // the next update's reset).
      const keep = this.window.slice(ws - ss);
      this.start = 0;
      this.len = 0;
      for (const v of keep) this.push(v);
    }
  }

  toJSON(): DetectorState {
    return {
      detector: 'kswin',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: false,
      state: {
        n: this.n,
        window: this.window.map(encodeNumber),
        rng: this.rng!.toJSON(),
      },
    };
  }

  static fromJSON(s: DetectorState): Kswin {
    const params = s.params as unknown as KswinParams;
    const st = s.state;
    // The saved window replaces the initial `window` parameter.
    const win = decodeNumberArray(st.window, 'window');
    if (win.length > params.window_size) throw new Error('invalid detector state: kswin window too long');
    const d = new Kswin(params, win);
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d.n = decodeNumber(st.n, 'n');
    d.rng = PythonRandom.fromState(st.rng as PythonRandomState);
    return d;
  }
}
