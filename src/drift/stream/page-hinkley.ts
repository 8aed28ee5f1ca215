/**
 * Page-Hinkley test (CUSUM-style) as River's river.drift.PageHinkley: a
 * (fading) running mean, cumulative deviations in both directions, drift when
 * the selected direction(s) exceed `threshold`. No warning zone.
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, encodeNumber } from './types';

export interface PageHinkleyParams {
  min_instances: number;
  delta: number;
  threshold: number;
  alpha: number;
  mode: 'up' | 'down' | 'both';
}

export class PageHinkley implements StreamDetector {
  readonly name = 'page-hinkley' as const;
  readonly hasWarningZone = false;
  readonly params: PageHinkleyParams;

  private _drift = false;
  private n = 0;
  private mean = 0;
  private sumIncrease = 0;
  private sumDecrease = 0;
  private minIncrease = Infinity;
  private maxDecrease = -1;

  constructor(params: PageHinkleyParams) {
    this.params = { ...params };
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this.n = 0;
    this.mean = 0;
    this.sumIncrease = 0;
    this.sumDecrease = 0;
    this.minIncrease = Infinity;
    this.maxDecrease = -1;
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return false;
  }

  update(x: number): void {
    if (this._drift) this.reset();
    const { alpha, delta, threshold, mode, min_instances } = this.params;
    this.n += 1;
    this.mean += (1 / this.n) * (x - this.mean);
    const dev = x - this.mean;
    this.sumIncrease = alpha * this.sumIncrease + dev - delta;
    this.sumDecrease = alpha * this.sumDecrease + dev + delta;
    if (this.sumIncrease < this.minIncrease) this.minIncrease = this.sumIncrease;
    if (this.sumDecrease > this.maxDecrease) this.maxDecrease = this.sumDecrease;
    if (this.n >= min_instances) {
      const testIncrease = this.sumIncrease - this.minIncrease;
      const testDecrease = this.maxDecrease - this.sumDecrease;
      this._drift =
        mode === 'up'
          ? testIncrease > threshold
          : mode === 'down'
            ? testDecrease > threshold
            : testIncrease > threshold || testDecrease > threshold;
    }
  }

  toJSON(): DetectorState {
    return {
      detector: 'page-hinkley',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: false,
      state: {
        n: this.n,
        mean: encodeNumber(this.mean),
        sumIncrease: encodeNumber(this.sumIncrease),
        sumDecrease: encodeNumber(this.sumDecrease),
        minIncrease: encodeNumber(this.minIncrease),
        maxDecrease: encodeNumber(this.maxDecrease),
      },
    };
  }

  static fromJSON(s: DetectorState): PageHinkley {
    const d = new PageHinkley(s.params as unknown as PageHinkleyParams);
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d.n = decodeNumber(st.n, 'n');
    d.mean = decodeNumber(st.mean, 'mean');
    d.sumIncrease = decodeNumber(st.sumIncrease, 'sumIncrease');
    d.sumDecrease = decodeNumber(st.sumDecrease, 'sumDecrease');
    d.minIncrease = decodeNumber(st.minIncrease, 'minIncrease');
    d.maxDecrease = decodeNumber(st.maxDecrease, 'maxDecrease');
    return d;
  }
}
