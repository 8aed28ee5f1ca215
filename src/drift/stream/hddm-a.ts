/**
 * HDDM_A (Hoeffding's-bound drift detection, moving-average test),
 * Frías-Blanco et al. 2014, as River's river.drift.binary.HDDMA (after MOA).
 * Input: values in [0, 1], typically 1 = error.
 */
import { Detector } from './detector';
import { open01, paramTable, type ParamsOf } from './param-spec';
import { numberField, recordField, type StateOf } from './state';

export const HDDM_A_PARAMS = paramTable({
  drift_confidence: { kind: 'number', default: 0.001, ...open01, doc: 'confidence for drift' },
  warning_confidence: { kind: 'number', default: 0.005, ...open01, doc: 'confidence for warning' },
  two_sided_test: { kind: 'boolean', default: false, doc: 'also monitor decreases' },
});
export type HddmAParams = ParamsOf<typeof HDDM_A_PARAMS.specs>;

const RUNNING_MEAN = { n: numberField(0), mean: numberField(0) };
type RunningMean = StateOf<typeof RUNNING_MEAN>;

const HDDM_A_STATE = {
  /** Global mean, and the cut points tracking an increase (xMin) / a decrease (xMax). */
  z: recordField(RUNNING_MEAN),
  xMin: recordField(RUNNING_MEAN),
  xMax: recordField(RUNNING_MEAN),
};

export class HddmA extends Detector<HddmAParams, typeof HDDM_A_STATE> {
  readonly name = 'hddm-a' as const;
  readonly hasWarningZone = true;

  constructor(params: HddmAParams) {
    super(params, HDDM_A_STATE);
  }

  private hoeffdingBound(n: number): number {
    return Math.sqrt((1.0 / (2 * n)) * Math.log(1.0 / this.params.drift_confidence));
  }

  private meanIncreased(confidence: number): boolean {
    const { z, xMin } = this.state;
    if (xMin.n === z.n) return false;
    const m = ((z.n - xMin.n) / xMin.n) * (1.0 / z.n);
    const eps = Math.sqrt((m / 2) * Math.log(2.0 / confidence));
    return z.mean - xMin.mean >= eps;
  }

  private meanDecreased(confidence: number): boolean {
    const { z, xMax } = this.state;
    if (xMax.n === z.n) return false;
    const m = ((z.n - xMax.n) / xMax.n) * (1.0 / z.n);
    const eps = Math.sqrt((m / 2) * Math.log(2.0 / confidence));
    return xMax.mean - z.mean >= eps;
  }

  protected step(x: number): void {
    const st = this.state;
    const z: RunningMean = st.z;
    z.n += 1;
    z.mean += (1 / z.n) * (x - z.mean);
    if (st.xMin.n === 0) st.xMin = { ...z };
    if (st.xMax.n === 0) st.xMax = { ...z };

    const epsZ = this.hoeffdingBound(z.n);
    let epsX = this.hoeffdingBound(st.xMin.n);
    if (st.xMin.mean + epsX >= z.mean + epsZ) st.xMin = { ...z };
    epsX = this.hoeffdingBound(st.xMax.n);
    if (st.xMax.mean - epsX <= z.mean - epsZ) st.xMax = { ...z };

    const { drift_confidence: dc, warning_confidence: wc } = this.params;
    if (this.meanIncreased(dc)) {
      this.warning = false;
      this.drift = true;
    } else if (this.meanIncreased(wc)) {
      this.warning = true;
      this.drift = false;
    } else {
      this.warning = false;
      this.drift = false;
    }
    if (this.params.two_sided_test) {
      if (this.meanDecreased(dc)) this.drift = true;
      else if (this.meanDecreased(wc)) this.warning = true;
    }
  }
}
