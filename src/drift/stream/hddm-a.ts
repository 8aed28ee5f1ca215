/**
 * HDDM_A (Hoeffding's-bound drift detection, moving-average test),
 * Frías-Blanco et al. 2014, as River's river.drift.binary.HDDMA (after MOA).
 * Input: values in [0, 1], typically 1 = error.
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, encodeNumber } from './types';

export interface HddmAParams {
  drift_confidence: number;
  warning_confidence: number;
  two_sided_test: boolean;
}

interface RunningMean {
  n: number;
  mean: number;
}

export class HddmA implements StreamDetector {
  readonly name = 'hddm-a' as const;
  readonly hasWarningZone = true;
  readonly params: HddmAParams;

  private _drift = false;
  private _warning = false;
  /** Global mean, and the cut points tracking an increase (xMin) / a decrease (xMax). */
  private z: RunningMean = { n: 0, mean: 0 };
  private xMin: RunningMean = { n: 0, mean: 0 };
  private xMax: RunningMean = { n: 0, mean: 0 };

  constructor(params: HddmAParams) {
    this.params = { ...params };
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this._warning = false;
    this.z = { n: 0, mean: 0 };
    this.xMin = { n: 0, mean: 0 };
    this.xMax = { n: 0, mean: 0 };
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return this._warning;
  }

  private hoeffdingBound(n: number): number {
    return Math.sqrt((1.0 / (2 * n)) * Math.log(1.0 / this.params.drift_confidence));
  }

  private meanIncreased(confidence: number): boolean {
    if (this.xMin.n === this.z.n) return false;
    const m = ((this.z.n - this.xMin.n) / this.xMin.n) * (1.0 / this.z.n);
    const eps = Math.sqrt((m / 2) * Math.log(2.0 / confidence));
    return this.z.mean - this.xMin.mean >= eps;
  }

  private meanDecreased(confidence: number): boolean {
    if (this.xMax.n === this.z.n) return false;
    const m = ((this.z.n - this.xMax.n) / this.xMax.n) * (1.0 / this.z.n);
    const eps = Math.sqrt((m / 2) * Math.log(2.0 / confidence));
    return this.xMax.mean - this.z.mean >= eps;
  }

  update(x: number): void {
    if (this._drift) this.reset();
    const z = this.z;
    z.n += 1;
    z.mean += (1 / z.n) * (x - z.mean);
    if (this.xMin.n === 0) this.xMin = { ...z };
    if (this.xMax.n === 0) this.xMax = { ...z };

    const epsZ = this.hoeffdingBound(z.n);
    let epsX = this.hoeffdingBound(this.xMin.n);
    if (this.xMin.mean + epsX >= z.mean + epsZ) this.xMin = { ...z };
    epsX = this.hoeffdingBound(this.xMax.n);
    if (this.xMax.mean - epsX <= z.mean - epsZ) this.xMax = { ...z };

    const { drift_confidence: dc, warning_confidence: wc } = this.params;
    if (this.meanIncreased(dc)) {
      this._warning = false;
      this._drift = true;
    } else if (this.meanIncreased(wc)) {
      this._warning = true;
      this._drift = false;
    } else {
      this._warning = false;
      this._drift = false;
    }
    if (this.params.two_sided_test) {
      if (this.meanDecreased(dc)) this._drift = true;
      else if (this.meanDecreased(wc)) this._warning = true;
    }
  }

  toJSON(): DetectorState {
    const enc = (m: RunningMean) => ({ n: m.n, mean: encodeNumber(m.mean) });
    return {
      detector: 'hddm-a',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: this._warning,
      state: { z: enc(this.z), xMin: enc(this.xMin), xMax: enc(this.xMax) },
    };
  }

  static fromJSON(s: DetectorState): HddmA {
    const d = new HddmA(s.params as unknown as HddmAParams);
    const dec = (v: unknown, what: string): RunningMean => {
      const o = v as { n?: unknown; mean?: unknown } | null;
      if (!o || typeof o !== 'object') throw new Error(`invalid detector state: ${what}`);
      return { n: decodeNumber(o.n, `${what}.n`), mean: decodeNumber(o.mean, `${what}.mean`) };
    };
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d._warning = decodeBoolean(s.warningDetected, 'warningDetected');
    d.z = dec(s.state.z, 'z');
    d.xMin = dec(s.state.xMin, 'xMin');
    d.xMax = dec(s.state.xMax, 'xMax');
    return d;
  }
}
