/**
 * DDM (Drift Detection Method), Gama et al. 2004, as River's
 * river.drift.binary.DDM. Input: 1 = error, 0 = correct. Warning when
 * p + s > p_min + warning_threshold * s_min, drift when
 * p + s > p_min + drift_threshold * s_min (after `warm_start` values).
 */
import { Detector } from './detector';
import { paramTable, type ParamsOf } from './param-spec';
import { nullableNumberField, numberField } from './state';

export const DDM_PARAMS = paramTable({
  warm_start: { kind: 'integer', default: 30, min: 0, doc: 'values seen before detecting' },
  warning_threshold: { kind: 'number', default: 2.0, min: { value: 0, inclusive: false }, doc: 'warning threshold' },
  drift_threshold: { kind: 'number', default: 3.0, min: { value: 0, inclusive: false }, doc: 'drift threshold' },
});
export type DdmParams = ParamsOf<typeof DDM_PARAMS.specs>;

const DDM_STATE = {
  n: numberField(0),
  /** running error rate */
  p: numberField(0),
  pMin: nullableNumberField(),
  sMin: nullableNumberField(),
  psMin: numberField(Infinity),
};

export class Ddm extends Detector<DdmParams, typeof DDM_STATE> {
  readonly name = 'ddm' as const;
  readonly hasWarningZone = true;

  constructor(params: DdmParams) {
    super(params, DDM_STATE);
  }

  protected step(x: number): void {
    const st = this.state;
    st.n += 1;
    st.p += (1 / st.n) * (x - st.p);
    const p = st.p;
    const n = st.n;
    const s = Math.sqrt((p * (1 - p)) / n);
    if (n > this.params.warm_start) {
      if (p + s <= st.psMin) {
        st.pMin = p;
        st.sMin = s;
        st.psMin = st.pMin + st.sMin;
      }
      // pMin/sMin are set on the first pass here: p + s <= Infinity.
      const pMin = st.pMin!;
      const sMin = st.sMin!;
      this.warning = p + s > pMin + this.params.warning_threshold * sMin;
      if (p + s > pMin + this.params.drift_threshold * sMin) {
        this.drift = true;
        this.warning = false;
      }
    }
  }
}
