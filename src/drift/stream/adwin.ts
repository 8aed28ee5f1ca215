/**
 * ADWIN (ADaptive WINdowing), Bifet & Gavaldà 2007, as River implements it
 * (river.drift.ADWIN → the AdaptiveWindowing helper, bucket-compressed window,
 * Welford-style variance). Arithmetic follows River's order of operations so
 * detections match index for index.
 */
import { Detector } from './detector';
import { open01, paramTable, type ParamsOf } from './param-spec';
import { customField, decodeNumberArray, encodeNumber, numberField } from './state';

export const ADWIN_PARAMS = paramTable({
  delta: { kind: 'number', default: 0.002, ...open01, doc: 'significance value' },
  clock: { kind: 'integer', default: 32, min: 1, doc: 'check for changes every `clock` updates' },
  max_buckets: { kind: 'integer', default: 5, min: 1, doc: 'buckets of each size kept before merging' },
  min_window_length: { kind: 'integer', default: 5, min: 1, doc: 'minimum length of a sub-window' },
  grace_period: { kind: 'integer', default: 10, min: 0, doc: 'no detection before this many values' },
});
export type AdwinParams = ParamsOf<typeof ADWIN_PARAMS.specs>;

/** One row of the exponential histogram: up to max_buckets + 1 summaries of 2^level values each. */
class BucketRow {
  readonly totals: Float64Array;
  readonly variances: Float64Array;
  size = 0;

  constructor(capacity: number) {
    this.totals = new Float64Array(capacity);
    this.variances = new Float64Array(capacity);
  }

  push(total: number, variance: number): void {
    this.totals[this.size] = total;
    this.variances[this.size] = variance;
    this.size++;
  }

  /** Drop the first `count` summaries. */
  shift(count: number): void {
    this.totals.copyWithin(0, count, this.size);
    this.variances.copyWithin(0, count, this.size);
    for (let i = this.size - count; i < this.size; i++) {
      this.totals[i] = 0;
      this.variances[i] = 0;
    }
    this.size -= count;
  }
}

const ADWIN_STATE = {
  total: numberField(0),
  variance: numberField(0),
  /** Number of values in the adaptive window. */
  width: numberField(0),
  tick: numberField(0),
  /** The window, compressed: row `level` holds summaries of 2^level values, oldest first. */
  rows: customField<BucketRow[], AdwinParams>({
    initial: (params) => [new BucketRow(params.max_buckets + 1)],
    toJSON: (rows) =>
      rows.map((r) => ({
        totals: Array.from(r.totals.subarray(0, r.size), encodeNumber),
        variances: Array.from(r.variances.subarray(0, r.size), encodeNumber),
      })),
    fromJSON: (json, path, params) => {
      if (!Array.isArray(json) || json.length === 0) throw new Error('invalid detector state: adwin rows');
      const capacity = params.max_buckets + 1;
      return json.map((r: { totals?: unknown; variances?: unknown } | null, i) => {
        if (!r || typeof r !== 'object') throw new Error(`invalid detector state: adwin ${path}[${i}]`);
        const totals = decodeNumberArray(r.totals, `${path}[${i}].totals`);
        const variances = decodeNumberArray(r.variances, `${path}[${i}].variances`);
        if (totals.length !== variances.length || totals.length > capacity) {
          throw new Error(`invalid detector state: adwin ${path}[${i}]`);
        }
        const row = new BucketRow(capacity);
        for (let k = 0; k < totals.length; k++) row.push(totals[k]!, variances[k]!);
        return row;
      });
    },
  }),
};

export class Adwin extends Detector<AdwinParams, typeof ADWIN_STATE> {
  readonly name = 'adwin' as const;
  readonly hasWarningZone = false;

  constructor(params: AdwinParams) {
    super(params, ADWIN_STATE);
  }

  /** Number of values in the adaptive window. */
  get width(): number {
    return this.state.width;
  }

  protected step(value: number): void {
    this.insert(value);
    this.drift = this.detectChange();
  }

  private insert(value: number): void {
    const st = this.state;
    st.rows[0]!.push(value, 0);
    st.width += 1;
    let inc = 0;
    if (st.width > 1) {
      const d = value - st.total / (st.width - 1);
      inc = ((st.width - 1) * d * d) / st.width;
    }
    st.variance += inc;
    st.total += value;
    this.compress();
  }

  private compress(): void {
    const rows = this.state.rows;
    const maxB = this.params.max_buckets;
    for (let level = 0; ; level++) {
      const row = rows[level]!;
      if (row.size !== maxB + 1) break;
      const n1 = 2 ** level;
      const t0 = row.totals[0]!;
      const t1 = row.totals[1]!;
      const mu1 = t0 / n1;
      const mu2 = t1 / n1;
      const v12 = row.variances[0]! + row.variances[1]! + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2);
      if (level + 1 >= rows.length) rows.push(new BucketRow(maxB + 1));
      const next = rows[level + 1]!;
      next.push(t0 + t1, v12);
      row.shift(2);
      if (next.size <= maxB) break;
    }
  }

  /** Drop the oldest summary (in the last row). */
  private deleteOldest(): void {
    const st = this.state;
    const last = st.rows.length - 1;
    const row = st.rows[last]!;
    const n = 2 ** last;
    const u = row.totals[0]!;
    const v = row.variances[0]!;
    const mu = u / n;
    st.width -= n;
    st.total -= u;
    const muWindow = st.total / st.width;
    st.variance -= v + (n * st.width * (mu - muWindow) * (mu - muWindow)) / (n + st.width);
    row.shift(1);
    if (row.size === 0) {
      st.rows.pop();
      if (st.rows.length === 0) st.rows.push(new BucketRow(this.params.max_buckets + 1));
    }
  }

  private evaluateCut(n0: number, n1: number, deltaMean: number): boolean {
    const { delta, min_window_length: mwl } = this.params;
    const st = this.state;
    const deltaPrime = Math.log((2.0 * Math.log(st.width)) / delta);
    const mRecip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
    const epsilon = Math.sqrt(2.0 * mRecip * (st.variance / st.width) * deltaPrime) + (2.0 / 3.0) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }

  private detectChange(): boolean {
    const st = this.state;
    let changed = false;
    st.tick += 1;
    const { clock, grace_period: grace, min_window_length: mwl } = this.params;
    if (st.tick % clock === 0 && st.width > grace) {
      let reduce = true;
      while (reduce) {
        reduce = false;
        let n0 = 0;
        let n1 = st.width;
        let u0 = 0;
        let u1 = st.total;
        outer: for (let level = st.rows.length - 1; level >= 0; level--) {
          const row = st.rows[level]!;
          const size = 2 ** level;
          const count = row.size;
          for (let k = 0; k < count; k++) {
            n0 += size;
            n1 -= size;
            const t = row.totals[k]!;
            u0 += t;
            u1 -= t;
            if (level === 0 && k === count - 1) break outer;
            const deltaMean = u0 / n0 - u1 / n1;
            if (n1 >= mwl && n0 >= mwl && this.evaluateCut(n0, n1, deltaMean)) {
              reduce = true;
              changed = true;
              if (st.width > 0) {
                this.deleteOldest();
                break outer;
              }
            }
          }
        }
      }
    }
    return changed;
  }
}
