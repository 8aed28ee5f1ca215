/**
 * EDDM (Early Drift Detection Method), Baena-García et al. 2006, as River's
 * river.drift.binary.EDDM: tracks the mean and standard deviation of the
 * distance between consecutive errors (input 1). With
 * level = (p' + 2s') / max(p' + 2s'): warning when level < alpha, drift when
 * level < beta (after `warm_start` values and `warm_start` errors).
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, encodeNumber } from './types';

export interface EddmParams {
  warm_start: number;
  alpha: number;
  beta: number;
}

export class Eddm implements StreamDetector {
  readonly name = 'eddm' as const;
  readonly hasWarningZone = true;
  readonly params: EddmParams;

  private _drift = false;
  private _warning = false;
  /** Running stats of the error distances (River stats.Var, ddof=1). */
  private distN = 0;
  private distMean = 0;
  private distS = 0;
  private n = 0;
  private lastError = 0;
  private nErrors = 0;
  private p2sMax = -1;

  constructor(params: EddmParams) {
    this.params = { ...params };
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this._warning = false;
    this.distN = 0;
    this.distMean = 0;
    this.distS = 0;
    this.n = 0;
    this.lastError = 0;
    this.nErrors = 0;
    this.p2sMax = -1;
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return this._warning;
  }

  update(x: number): void {
    if (this._drift) this.reset();
    this.n += 1;
    if (x === 1) {
      this.nErrors += 1;
      const dist = this.n - this.lastError;
      const meanOld = this.distMean;
      this.distN += 1;
      this.distMean += (1 / this.distN) * (dist - this.distMean);
      this.distS += 1 * (dist - meanOld) * (dist - this.distMean);
      if (this.n > this.params.warm_start) {
        const pi = this.distMean;
        const variance = this.distN > 1 ? this.distS / (this.distN - 1) : 0;
        const si = Math.sqrt(variance);
        const p2s = pi + 2 * si;
        if (p2s > this.p2sMax) {
          this.p2sMax = p2s;
        } else if (this.nErrors > this.params.warm_start) {
          const level = p2s / this.p2sMax;
          if (level < this.params.beta) this._drift = true;
          else if (level < this.params.alpha) this._warning = true;
          else this._warning = false;
        }
      }
      this.lastError = this.n;
    }
  }

  toJSON(): DetectorState {
    return {
      detector: 'eddm',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: this._warning,
      state: {
        distN: this.distN,
        distMean: encodeNumber(this.distMean),
        distS: encodeNumber(this.distS),
        n: this.n,
        lastError: this.lastError,
        nErrors: this.nErrors,
        p2sMax: encodeNumber(this.p2sMax),
      },
    };
  }

  static fromJSON(s: DetectorState): Eddm {
    const d = new Eddm(s.params as unknown as EddmParams);
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d._warning = decodeBoolean(s.warningDetected, 'warningDetected');
    d.distN = decodeNumber(st.distN, 'distN');
    d.distMean = decodeNumber(st.distMean, 'distMean');
    d.distS = decodeNumber(st.distS, 'distS');
    d.n = decodeNumber(st.n, 'n');
    d.lastError = decodeNumber(st.lastError, 'lastError');
    d.nErrors = decodeNumber(st.nErrors, 'nErrors');
    d.p2sMax = decodeNumber(st.p2sMax, 'p2sMax');
    return d;
  }
}
