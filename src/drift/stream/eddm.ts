/**
 * EDDM (Early Drift Detection Method), Baena-García et al. 2006, as River's
 * river.drift.binary.EDDM: tracks the mean and standard deviation of the
 * distance between consecutive errors (input 1). With
 * level = (p' + 2s') / max(p' + 2s'): warning when level < alpha, drift when
 * level < beta (after `warm_start` values and `warm_start` errors).
 */
import { Detector } from './detector';
import { DetectorParamError, paramTable, type ParamsOf } from './param-spec';
import { numberField } from './state';

export const EDDM_PARAMS = paramTable(
  {
    warm_start: { kind: 'integer', default: 30, min: 0, doc: 'errors seen before detecting' },
    alpha: {
      kind: 'number',
      default: 0.95,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'warning threshold (>= beta)',
    },
    beta: {
      kind: 'number',
      default: 0.9,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'drift threshold (<= alpha)',
    },
  },
  (p) => {
    if (p.alpha < p.beta) {
      throw new DetectorParamError(`eddm: parameter 'alpha' must be greater than or equal to 'beta' (got alpha=${p.alpha}, beta=${p.beta})`);
    }
  },
);
export type EddmParams = ParamsOf<typeof EDDM_PARAMS.specs>;

const EDDM_STATE = {
  /** Running stats of the error distances (River stats.Var, ddof=1). */
  distN: numberField(0),
  distMean: numberField(0),
  distS: numberField(0),
  n: numberField(0),
  lastError: numberField(0),
  nErrors: numberField(0),
  p2sMax: numberField(-1),
};

export class Eddm extends Detector<EddmParams, typeof EDDM_STATE> {
  readonly name = 'eddm' as const;
  readonly hasWarningZone = true;

  constructor(params: EddmParams) {
    super(params, EDDM_STATE);
  }

  protected step(x: number): void {
    const st = this.state;
    st.n += 1;
    if (x === 1) {
      st.nErrors += 1;
      const dist = st.n - st.lastError;
      const meanOld = st.distMean;
      st.distN += 1;
      st.distMean += (1 / st.distN) * (dist - st.distMean);
      st.distS += 1 * (dist - meanOld) * (dist - st.distMean);
      if (st.n > this.params.warm_start) {
        const pi = st.distMean;
        const variance = st.distN > 1 ? st.distS / (st.distN - 1) : 0;
        const si = Math.sqrt(variance);
        const p2s = pi + 2 * si;
        if (p2s > st.p2sMax) {
          st.p2sMax = p2s;
        } else if (st.nErrors > this.params.warm_start) {
          const level = p2s / st.p2sMax;
          if (level < this.params.beta) this.drift = true;
          else if (level < this.params.alpha) this.warning = true;
          else this.warning = false;
        }
      }
      st.lastError = st.n;
    }
  }
}
