/**
 * HDDM_W (Hoeffding's-bound drift detection, weighted moving-average test),
 * Frías-Blanco et al. 2014, as River's river.drift.binary.HDDMW (after MOA):
 * EWMA estimates compared with McDiarmid's bound. Input: values in [0, 1].
 */
import { Detector } from './detector';
import { open01, paramTable, type ParamsOf } from './param-spec';
import { booleanField, numberField, recordField, type StateOf } from './state';

export const HDDM_W_PARAMS = paramTable({
  drift_confidence: { kind: 'number', default: 0.001, ...open01, doc: 'confidence for drift' },
  warning_confidence: { kind: 'number', default: 0.005, ...open01, doc: 'confidence for warning' },
  lambda_val: {
    kind: 'number',
    default: 0.05,
    min: { value: 0, inclusive: false },
    max: { value: 1, inclusive: true },
    doc: 'weight given to recent data',
  },
  two_sided_test: { kind: 'boolean', default: false, doc: 'also monitor decreases' },
});
export type HddmWParams = ParamsOf<typeof HDDM_W_PARAMS.specs>;

/** River's SampleInfo: an EWMA plus its independent bound condition (ibc). */
const SAMPLE_INFO_FIELDS = { ewma: numberField(0), ewmaInit: booleanField(false), isInit: booleanField(false), ibc: numberField(1.0) };
type SampleInfo = StateOf<typeof SAMPLE_INFO_FIELDS>;
const SAMPLE_INFO = recordField(SAMPLE_INFO_FIELDS);
const newSample = (): SampleInfo => SAMPLE_INFO.initial(undefined);

const HDDM_W_STATE = {
  total: SAMPLE_INFO,
  s1Decr: SAMPLE_INFO,
  s1Incr: SAMPLE_INFO,
  s2Decr: SAMPLE_INFO,
  s2Incr: SAMPLE_INFO,
  incrCutpoint: numberField(Infinity),
  decrCutpoint: numberField(-Infinity),
};

export class HddmW extends Detector<HddmWParams, typeof HDDM_W_STATE> {
  readonly name = 'hddm-w' as const;
  readonly hasWarningZone = true;
  private readonly lambdaSq: number;
  private readonly cLambdaSq: number;
  private readonly oneMinusLambda: number;

  constructor(params: HddmWParams) {
    super(params, HDDM_W_STATE);
    const l = params.lambda_val;
    this.lambdaSq = l * l;
    this.cLambdaSq = (1 - l) ** 2;
    this.oneMinusLambda = 1.0 - l;
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

  protected step(x: number): void {
    const { drift_confidence: dc, warning_confidence: wc } = this.params;
    const st = this.state;
    this.updateSample(st.total, x);

    let eps = this.bound(st.total.ibc, dc);
    if (st.total.ewma + eps < st.incrCutpoint) {
      st.incrCutpoint = st.total.ewma + eps;
      st.s1Incr = { ...st.total };
      st.s2Incr = newSample();
    } else {
      this.updateSample(st.s2Incr, x);
    }
    if (this.meanChanged(st.s1Incr, st.s2Incr, dc)) {
      this.warning = false;
      this.drift = true;
    } else if (this.meanChanged(st.s1Incr, st.s2Incr, wc)) {
      this.warning = true;
      this.drift = false;
    } else {
      this.warning = false;
      this.drift = false;
    }

    eps = this.bound(st.total.ibc, dc);
    if (st.total.ewma - eps > st.decrCutpoint) {
      st.decrCutpoint = st.total.ewma - eps;
      st.s1Decr = { ...st.total };
      st.s2Decr = newSample();
    } else {
      this.updateSample(st.s2Decr, x);
    }
    if (this.params.two_sided_test) {
      if (this.meanChanged(st.s2Decr, st.s1Decr, dc)) this.drift = true;
      else if (this.meanChanged(st.s2Decr, st.s1Decr, wc)) this.warning = true;
    }
  }
}
