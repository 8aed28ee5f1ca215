/**
 * HDDM_W (Hoeffding's-bound drift detection, weighted moving-average test),
 * Frías-Blanco et al. 2014, as River's river.drift.binary.HDDMW (after MOA):
 * EWMA estimates compared with McDiarmid's bound. Input: values in [0, 1].
 */
import type { DetectorState, StreamDetector } from './types';
import { decodeBoolean, decodeNumber, encodeNumber } from './types';

export interface HddmWParams {
  drift_confidence: number;
  warning_confidence: number;
  lambda_val: number;
  two_sided_test: boolean;
}

/** River's SampleInfo: an EWMA plus its independent bound condition (ibc). */
interface SampleInfo {
  ewma: number;
  ewmaInit: boolean;
  isInit: boolean;
  ibc: number;
}

const newSample = (): SampleInfo => ({ ewma: 0, ewmaInit: false, isInit: false, ibc: 1.0 });

export class HddmW implements StreamDetector {
  readonly name = 'hddm-w' as const;
  readonly hasWarningZone = true;
  readonly params: HddmWParams;

  private _drift = false;
  private _warning = false;
  private total: SampleInfo = newSample();
  private s1Decr: SampleInfo = newSample();
  private s1Incr: SampleInfo = newSample();
  private s2Decr: SampleInfo = newSample();
  private s2Incr: SampleInfo = newSample();
  private incrCutpoint = Infinity;
  private decrCutpoint = -Infinity;
  private readonly lambdaSq: number;
  private readonly cLambdaSq: number;
  private readonly oneMinusLambda: number;

  constructor(params: HddmWParams) {
    this.params = { ...params };
    const l = params.lambda_val;
    this.lambdaSq = l * l;
    this.cLambdaSq = (1 - l) ** 2;
    this.oneMinusLambda = 1.0 - l;
    this.reset();
  }

  private reset(): void {
    this._drift = false;
    this._warning = false;
    this.total = newSample();
    this.s1Decr = newSample();
    this.s1Incr = newSample();
    this.s2Decr = newSample();
    this.s2Incr = newSample();
    this.incrCutpoint = Infinity;
    this.decrCutpoint = -Infinity;
  }

  get driftDetected(): boolean {
    return this._drift;
  }
  get warningDetected(): boolean {
    return this._warning;
  }

  private updateSample(s: SampleInfo, x: number): void {
    if (!s.ewmaInit) {
      s.ewma = x;
      s.ewmaInit = true;
    } else {
      s.ewma = this.params.lambda_val * x + this.oneMinusLambda * s.ewma;
    }
    s.isInit = true;
    s.ibc = this.lambdaSq + this.cLambdaSq * s.ibc;
  }

  private bound(ibc: number, confidence: number): number {
    return Math.sqrt((ibc * Math.log(1 / confidence)) / 2);
  }

  private meanChanged(a: SampleInfo, b: SampleInfo, confidence: number): boolean {
    if (!(a.isInit && b.isInit)) return false;
    return b.ewma - a.ewma > this.bound(a.ibc + b.ibc, confidence);
  }

  update(x: number): void {
    if (this._drift) this.reset();
    const { drift_confidence: dc, warning_confidence: wc } = this.params;
    this.updateSample(this.total, x);

    let eps = this.bound(this.total.ibc, dc);
    if (this.total.ewma + eps < this.incrCutpoint) {
      this.incrCutpoint = this.total.ewma + eps;
      this.s1Incr = { ...this.total };
      this.s2Incr = newSample();
    } else {
      this.updateSample(this.s2Incr, x);
    }
    if (this.meanChanged(this.s1Incr, this.s2Incr, dc)) {
      this._warning = false;
      this._drift = true;
    } else if (this.meanChanged(this.s1Incr, this.s2Incr, wc)) {
      this._warning = true;
      this._drift = false;
    } else {
      this._warning = false;
      this._drift = false;
    }

    eps = this.bound(this.total.ibc, dc);
    if (this.total.ewma - eps > this.decrCutpoint) {
      this.decrCutpoint = this.total.ewma - eps;
      this.s1Decr = { ...this.total };
      this.s2Decr = newSample();
    } else {
      this.updateSample(this.s2Decr, x);
    }
    if (this.params.two_sided_test) {
      if (this.meanChanged(this.s2Decr, this.s1Decr, dc)) this._drift = true;
      else if (this.meanChanged(this.s2Decr, this.s1Decr, wc)) this._warning = true;
    }
  }

  toJSON(): DetectorState {
    const enc = (s: SampleInfo) => ({ ewma: encodeNumber(s.ewma), ewmaInit: s.ewmaInit, isInit: s.isInit, ibc: encodeNumber(s.ibc) });
    return {
      detector: 'hddm-w',
      version: 1,
      params: { ...this.params },
      driftDetected: this._drift,
      warningDetected: this._warning,
      state: {
        total: enc(this.total),
        s1Decr: enc(this.s1Decr),
        s1Incr: enc(this.s1Incr),
        s2Decr: enc(this.s2Decr),
        s2Incr: enc(this.s2Incr),
        incrCutpoint: encodeNumber(this.incrCutpoint),
        decrCutpoint: encodeNumber(this.decrCutpoint),
      },
    };
  }

  static fromJSON(s: DetectorState): HddmW {
    const d = new HddmW(s.params as unknown as HddmWParams);
    const dec = (v: unknown, what: string): SampleInfo => {
      const o = v as Record<string, unknown> | null;
      if (!o || typeof o !== 'object') throw new Error(`invalid detector state: ${what}`);
      return {
        ewma: decodeNumber(o.ewma, `${what}.ewma`),
        ewmaInit: decodeBoolean(o.ewmaInit, `${what}.ewmaInit`),
        isInit: decodeBoolean(o.isInit, `${what}.isInit`),
        ibc: decodeNumber(o.ibc, `${what}.ibc`),
      };
    };
    const st = s.state;
    d._drift = decodeBoolean(s.driftDetected, 'driftDetected');
    d._warning = decodeBoolean(s.warningDetected, 'warningDetected');
    d.total = dec(st.total, 'total');
    d.s1Decr = dec(st.s1Decr, 's1Decr');
    d.s1Incr = dec(st.s1Incr, 's1Incr');
    d.s2Decr = dec(st.s2Decr, 's2Decr');
    d.s2Incr = dec(st.s2Incr, 's2Incr');
    d.incrCutpoint = decodeNumber(st.incrCutpoint, 'incrCutpoint');
    d.decrCutpoint = decodeNumber(st.decrCutpoint, 'decrCutpoint');
    return d;
  }
}
