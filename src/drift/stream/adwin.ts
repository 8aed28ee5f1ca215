/**
 * ADWIN (ADaptive WINdowing), Bifet & Gavaldà 2007, as River implements it
 * (river.drift.ADWIN → the AdaptiveWindowing helper, bucket-compressed window,
 * Welford-style variance). Arithmetic follows River's order of operations so
 * detections match index for index.
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, decodeNumberArray } from './types';

export interface AdwinParams {
  delta: number;
  clock: number;
  max_buckets: number;
  min_window_length: number;
  grace_period: number;
}

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

export class Adwin implements StreamDetector {
  readonly name = 'adwin' as const;
  readonly hasWarningZone = false;
  readonly params: AdwinParams;

  private _drift = false;
  private total = 0;
  private variance = 0;
  private _width = 0;
  private tick = 0;
  private rows: BucketRow[] = [];

  constructor(params: AdwinParams) {
    this.params = { ...params };
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this.total = 0;
    this.variance = 0;
    this._width = 0;
    this.tick = 0;
    this.rows = [new BucketRow(this.params.max_buckets + 1)];
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return false;
  }
  /** Number of values in the adaptive window. */
  get width(): number {
    return this._width;
  }

  update(value: number): void {
    if (this._drift) this.reset();
    this.insert(value);
    this._drift = this.detectChange();
  }

  private insert(value: number): void {
    this.rows[0]!.push(value, 0);
    this._width += 1;
    let inc = 0;
    if (this._width > 1) {
      const d = value - this.total / (this._width - 1);
      inc = ((this._width - 1) * d * d) / this._width;
    }
    this.variance += inc;
    this.total += value;
    this.compress();
  }

  private compress(): void {
    const maxB = this.params.max_buckets;
    for (let level = 0; ; level++) {
      const row = this.rows[level]!;
      if (row.size !== maxB + 1) break;
      const n1 = 2 ** level;
      const t0 = row.totals[0]!;
      const t1 = row.totals[1]!;
      const mu1 = t0 / n1;
      const mu2 = t1 / n1;
      const v12 = row.variances[0]! + row.variances[1]! + n1 * 0.5 * (mu1 - mu2) * (mu1 - mu2);
      if (level + 1 >= this.rows.length) this.rows.push(new BucketRow(maxB + 1));
      const next = this.rows[level + 1]!;
      next.push(t0 + t1, v12);
      row.shift(2);
      if (next.size <= maxB) break;
    }
  }

  /** Drop the oldest summary (in the last row). */
  private deleteOldest(): void {
    const last = this.rows.length - 1;
    const row = this.rows[last]!;
    const n = 2 ** last;
    const u = row.totals[0]!;
    const v = row.variances[0]!;
    const mu = u / n;
    this._width -= n;
    this.total -= u;
    const muWindow = this.total / this._width;
    this.variance -= v + (n * this._width * (mu - muWindow) * (mu - muWindow)) / (n + this._width);
    row.shift(1);
    if (row.size === 0) {
      this.rows.pop();
      if (this.rows.length === 0) this.rows.push(new BucketRow(this.params.max_buckets + 1));
    }
  }

  private evaluateCut(n0: number, n1: number, deltaMean: number): boolean {
    const { delta, min_window_length: mwl } = this.params;
    const deltaPrime = Math.log((2.0 * Math.log(this._width)) / delta);
    const mRecip = 1.0 / (n0 - mwl + 1.0) + 1.0 / (n1 - mwl + 1.0);
    const epsilon =
      Math.sqrt(2.0 * mRecip * (this.variance / this._width) * deltaPrime) + (2.0 / 3.0) * deltaPrime * mRecip;
    return Math.abs(deltaMean) > epsilon;
  }

  private detectChange(): boolean {
    let changed = false;
    this.tick += 1;
    const { clock, grace_period: grace, min_window_length: mwl } = this.params;
    if (this.tick % clock === 0 && this._width > grace) {
      let reduce = true;
      while (reduce) {
        reduce = false;
        let n0 = 0;
        let n1 = this._width;
        let u0 = 0;
        let u1 = this.total;
        outer: for (let level = this.rows.length - 1; level >= 0; level--) {
          const row = this.rows[level]!;
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
              if (this._width > 0) {
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

  toJSON(): DetectorState {
    return {
      detector: 'adwin',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: false,
      state: {
        total: this.total,
        variance: this.variance,
        width: this._width,
        tick: this.tick,
        rows: this.rows.map((r) => ({
          totals: Array.from(r.totals.subarray(0, r.size)),
          variances: Array.from(r.variances.subarray(0, r.size)),
        })),
      },
    };
  }

  static fromJSON(s: DetectorState): Adwin {
    const d = new Adwin(s.params as unknown as AdwinParams);
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d.total = decodeNumber(st.total, 'total');
    d.variance = decodeNumber(st.variance, 'variance');
    d._width = decodeNumber(st.width, 'width');
    d.tick = decodeNumber(st.tick, 'tick');
    if (!Array.isArray(st.rows) || st.rows.length === 0) throw new Error('invalid detector state: adwin rows');
    const cap = d.params.max_buckets + 1;
    d.rows = (st.rows as { totals: unknown; variances: unknown }[]).map((r, i) => {
      const totals = decodeNumberArray(r.totals, `rows[${i}].totals`);
      const variances = decodeNumberArray(r.variances, `rows[${i}].variances`);
      if (totals.length !== variances.length || totals.length > cap) {
        throw new Error(`invalid detector state: adwin rows[${i}]`);
      }
      const row = new BucketRow(cap);
      for (let k = 0; k < totals.length; k++) row.push(totals[k]!, variances[k]!);
      return row;
    });
    return d;
  }
}
