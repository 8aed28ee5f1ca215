/**
 * DDM (Drift Detection Method), Gama et al. 2004, as River's
 * river.drift.binary.DDM. Input: 1 = error, 0 = correct. Warning when
 * p + s > p_min + warning_threshold * s_min, drift when
 * p + s > p_min + drift_threshold * s_min (after `warm_start` values).
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, encodeNumber } from './types';

export interface DdmParams {
  warm_start: number;
  warning_threshold: number;
  drift_threshold: number;
}

export class Ddm implements StreamDetector {
  readonly name = 'ddm' as const;
  readonly hasWarningZone = true;
  readonly params: DdmParams;

  private _drift = false;
  private _warning = false;
  private n = 0;
  private p = 0;
  private pMin: number | null = null;
  private sMin: number | null = null;
  private psMin = Infinity;

  constructor(params: DdmParams) {
    this.params = { ...params };
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this._warning = false;
    this.n = 0;
    this.p = 0;
    this.pMin = null;
    this.sMin = null;
    this.psMin = Infinity;
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
    this.p += (1 / this.n) * (x - this.p);
    const p = this.p;
    const n = this.n;
    const s = Math.sqrt((p * (1 - p)) / n);
    if (n > this.params.warm_start) {
      if (p + s <= this.psMin) {
        this.pMin = p;
        this.sMin = s;
        this.psMin = this.pMin + this.sMin;
      }
      // pMin/sMin are set on the first pass here: p + s <= Infinity.
      const pMin = this.pMin!;
      const sMin = this.sMin!;
      this._warning = p + s > pMin + this.params.warning_threshold * sMin;
      if (p + s > pMin + this.params.drift_threshold * sMin) {
        this._drift = true;
        this._warning = false;
      }
    }
  }

  toJSON(): DetectorState {
    return {
      detector: 'ddm',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: this._warning,
      state: {
        n: this.n,
        p: encodeNumber(this.p),
        pMin: this.pMin === null ? null : encodeNumber(this.pMin),
        sMin: this.sMin === null ? null : encodeNumber(this.sMin),
        psMin: encodeNumber(this.psMin),
      },
    };
  }

  static fromJSON(s: DetectorState): Ddm {
    const d = new Ddm(s.params as unknown as DdmParams);
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d._warning = decodeBoolean(s.warningDetected, 'warningDetected');
    d.n = decodeNumber(st.n, 'n');
    d.p = decodeNumber(st.p, 'p');
    d.pMin = st.pMin === null ? null : decodeNumber(st.pMin, 'pMin');
    d.sMin = st.sMin === null ? null : decodeNumber(st.sMin, 'sMin');
    d.psMin = decodeNumber(st.psMin, 'psMin');
    return d;
  }
}
