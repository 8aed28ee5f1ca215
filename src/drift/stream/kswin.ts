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
import { KS_MAX_AUTO_N, ks2Pvalue } from '../batch/kolmogorov';
import { ksStatistic } from '../batch/numerical/ks';
import { Detector } from './detector';
import { DetectorParamError, paramTable, type ParamsOf } from './param-spec';
import { PythonRandom, type PythonRandomState } from './python-random';
import { customField, decodeNumberArray, encodeNumber, numberField } from './state';

export const KSWIN_PARAMS = paramTable(
  {
    alpha: {
      kind: 'number',
      default: 0.005,
      min: { value: 0, inclusive: true },
      max: { value: 1, inclusive: true },
      doc: 'significance level of the KS test',
    },
    window_size: { kind: 'integer', default: 100, min: 2, max: 2 ** 31 - 1, doc: 'size of the sliding window' },
    stat_size: { kind: 'integer', default: 30, min: 1, max: KS_MAX_AUTO_N, doc: 'size of the statistic window (< window_size)' },
    /** null: a fresh random seed on construction and on every reset (River: Random(None)). */
    seed: { kind: 'seed', default: null, doc: 'random seed (non-negative integer) for the sub-window sampling' },
    /** Initial window, comma-separated (River's `window`), or null. */
    window: { kind: 'numberList', default: null, doc: 'initial window values (comma-separated) to avoid a cold start' },
  },
  (p) => {
    if (p.stat_size >= p.window_size) {
      throw new DetectorParamError(
        `kswin: parameter 'stat_size' must be smaller than 'window_size' (got stat_size=${p.stat_size}, window_size=${p.window_size})`,
      );
    }
  },
);
export type KswinParams = ParamsOf<typeof KSWIN_PARAMS.specs>;

/** The last `capacity` values, oldest first (a ring buffer). */
class SlidingWindow {
  private readonly buf: Float64Array;
  private start = 0;
  length = 0;

  constructor(capacity: number) {
    this.buf = new Float64Array(capacity);
  }

  at(i: number): number {
    return this.buf[(this.start + i) % this.buf.length]!;
  }

  push(x: number): void {
    const cap = this.buf.length;
    if (this.length < cap) {
      this.buf[(this.start + this.length) % cap] = x;
      this.length++;
    } else {
      this.buf[this.start] = x;
      this.start = (this.start + 1) % cap;
    }
  }

  values(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.at(i));
    return out;
  }

  /** Keep only the newest `count` values. */
  keepNewest(count: number): void {
    const keep = this.values().slice(this.length - count);
    this.start = 0;
    this.length = 0;
    for (const v of keep) this.push(v);
  }
}

function randomSeed(): number {
  // A 53-bit seed from the platform CSPRNG (like Random(None) drawing from os.urandom).
  const words = new Uint32Array(2);
  globalThis.crypto.getRandomValues(words);
  return (words[0]! & 0x1fffff) * 2 ** 32 + words[1]!;
}

const KSWIN_STATE = {
  /** Values since the last reset (River's `n`). */
  n: numberField(0),
  window: customField<SlidingWindow, KswinParams>({
    initial: (params) => new SlidingWindow(params.window_size),
    toJSON: (w) => w.values().map(encodeNumber),
    fromJSON: (json, path, params) => {
      const values = decodeNumberArray(json, path);
      if (values.length > params.window_size) throw new Error('invalid detector state: kswin window too long');
      const w = new SlidingWindow(params.window_size);
      for (const v of values) w.push(v);
      return w;
    },
  }),
  rng: customField<PythonRandom, KswinParams>({
    // Seeded: reseed identically on every reset, as River does. Unseeded: a
    // CSPRNG seed at construction, then each reset's seed is drawn from the
    // current generator, so a restored detector continues exactly.
    initial: (params, previous) => new PythonRandom(params.seed ?? (previous ? previous.getrandbits(21) * 2 ** 32 + previous.getrandbits(32) : randomSeed())),
    toJSON: (rng) => rng.toJSON(),
    fromJSON: (json) => PythonRandom.fromState(json as PythonRandomState),
  }),
};

export class Kswin extends Detector<KswinParams, typeof KSWIN_STATE> {
  readonly name = 'kswin' as const;
  readonly hasWarningZone = false;

  constructor(params: KswinParams) {
    super(params, KSWIN_STATE);
    // River's cold-start values (not restored on a reset)
    if (params.window) for (const v of params.window.split(',').map(Number)) this.state.window.push(v);
  }

  /** Current window contents, oldest first. */
  get window(): number[] {
    return this.state.window.values();
  }

  protected step(x: number): void {
    const st = this.state;
    st.n += 1;
    st.window.push(x);
    this.drift = false;
    const { window_size: ws, stat_size: ss, alpha } = this.params;
    if (st.window.length < ws) return;
    const idx = st.rng.sampleRange(ws - ss, ss);
    // Fresh arrays each test: the batch merge caches its result per array.
    const sampled = new Float64Array(ss);
    const recent = new Float64Array(ss);
    for (let i = 0; i < ss; i++) {
      sampled[i] = st.window.at(idx[i]!);
      recent[i] = st.window.at(ws - ss + i);
    }
    // SciPy propagates NaN (statistic and p-value NaN): never a drift.
    if (sampled.some(Number.isNaN) || recent.some(Number.isNaN)) return;
    const { d, p } = ks2Pvalue(ss, ss, ksStatistic(sampled.sort(), recent.sort()));
    if (p <= alpha && d > 0.1) {
      this.drift = true;
      // River keeps only the most recent values, in order (then clears all on
      // the next update's reset).
      st.window.keepNewest(ss);
    }
  }
}
