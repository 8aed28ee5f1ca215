/**
 * KSWIN (Kolmogorov–Smirnov Windowing), Raab et al. 2020, as River's
 * river.drift.KSWIN: a sliding window of `window_size` values; once full, the
 * last `stat_size` values are compared with `stat_size` values drawn without
 * replacement from the older part by a two-sample KS test. Drift when
 * p <= alpha and D > 0.1. No warning zone.
 *
 * The draw reproduces CPython's `random.Random(seed).sample(...)` (River uses
 * Python's `random`, reseeded on every reset), and the p-value is SciPy's exact
 * `ks_2samp`, so with the same integer seed the detections match River's.
 */
import { ks2SampEqualSizes } from './ks';
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
  private _pValue = 0;
  private _statistic = 0;
  /** Ring buffer holding the window, oldest first from `start`. */
  private buf: Float64Array;
  private start = 0;
  private len = 0;
  private rng: PythonRandom | undefined;
  // Scratch buffers for the KS test.
  private readonly sampled: Float64Array;
  private readonly recent: Float64Array;

  constructor(params: KswinParams) {
    this.params = { ...params };
    this.buf = new Float64Array(params.window_size);
    this.sampled = new Float64Array(params.stat_size);
    this.recent = new Float64Array(params.stat_size);
    this.reset();
    if (params.window) {
      const init = params.window.split(',').map(Number);
      for (const v of init) this.push(v);
    }
  }

  private reset(): void {
    this._drift = false;
    this._pValue = 0;
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
  /** p-value of the last KS test (0 before the window first fills, like River). */
  get pValue(): number {
    return this._pValue;
  }
  /** KS statistic of the last test. */
  get statistic(): number {
    return this._statistic;
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
    const { window_size: ws, stat_size: ss, alpha } = this.params;
    if (this.len >= ws) {
      const idx = this.rng!.sampleRange(ws - ss, ss);
      for (let i = 0; i < ss; i++) this.sampled[i] = this.at(idx[i]!);
      for (let i = 0; i < ss; i++) this.recent[i] = this.at(ws - ss + i);
      const { statistic, pValue } = ks2SampEqualSizes(this.sampled, this.recent);
      this._statistic = statistic;
      this._pValue = pValue;
      if (pValue <= alpha && statistic > 0.1) {
        this._drift = true;
        // River keeps only the most recent values (then clears all on the next update's reset).
        const keep = Array.from(this.recent);
        this.start = 0;
        this.len = 0;
        for (const v of keep) this.push(v);
      } else {
        this._drift = false;
      }
    } else {
      this._drift = false;
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
        pValue: encodeNumber(this._pValue),
        statistic: encodeNumber(this._statistic),
        window: this.window.map(encodeNumber),
        rng: this.rng!.toJSON(),
      },
    };
  }

  static fromJSON(s: DetectorState): Kswin {
    const params = s.params as unknown as KswinParams;
    // Do not replay the initial `window` parameter: the saved window replaces it.
    const d = new Kswin({ ...params, window: null });
    (d.params as KswinParams).window = params.window;
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d.n = decodeNumber(st.n, 'n');
    d._pValue = decodeNumber(st.pValue, 'pValue');
    d._statistic = decodeNumber(st.statistic, 'statistic');
    const win = decodeNumberArray(st.window, 'window');
    if (win.length > params.window_size) throw new Error('invalid detector state: kswin window too long');
    d.start = 0;
    d.len = 0;
    for (const v of win) d.push(v);
    d.rng = PythonRandom.fromState(st.rng as PythonRandomState);
    return d;
  }
}
