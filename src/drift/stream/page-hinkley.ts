/**
 * Page-Hinkley test (CUSUM-style) as River's river.drift.PageHinkley: a
 * (fading) running mean, cumulative deviations in both directions, drift when
 * the selected direction(s) exceed `threshold`. No warning zone.
 */
import { Detector } from './detector';
import { paramTable, type ParamsOf } from './param-spec';
import { numberField } from './state';

export const PAGE_HINKLEY_PARAMS = paramTable({
  min_instances: { kind: 'integer', default: 30, min: 1, doc: 'values seen before detecting' },
  delta: { kind: 'number', default: 0.005, min: { value: 0, inclusive: true }, doc: 'delta factor of the test' },
  threshold: { kind: 'number', default: 50.0, min: { value: 0, inclusive: false }, doc: 'detection threshold (lambda)' },
  alpha: {
    kind: 'number',
    default: 1 - 0.0001,
    min: { value: 0, inclusive: false },
    max: { value: 1, inclusive: true },
    doc: 'forgetting factor',
  },
  mode: { kind: 'enum', default: 'both', values: ['up', 'down', 'both'], doc: 'direction of changes to monitor' },
});
export type PageHinkleyParams = ParamsOf<typeof PAGE_HINKLEY_PARAMS.specs>;

const PAGE_HINKLEY_STATE = {
  n: numberField(0),
  mean: numberField(0),
  sumIncrease: numberField(0),
  sumDecrease: numberField(0),
  minIncrease: numberField(Infinity),
  maxDecrease: numberField(-1),
};

export class PageHinkley extends Detector<PageHinkleyParams, typeof PAGE_HINKLEY_STATE> {
  readonly name = 'page-hinkley' as const;
  readonly hasWarningZone = false;

  constructor(params: PageHinkleyParams) {
    super(params, PAGE_HINKLEY_STATE);
  }

  protected step(x: number): void {
    const { alpha, delta, threshold, mode, min_instances } = this.params;
    const st = this.state;
    st.n += 1;
    st.mean += (1 / st.n) * (x - st.mean);
    const dev = x - st.mean;
    st.sumIncrease = alpha * st.sumIncrease + dev - delta;
    st.sumDecrease = alpha * st.sumDecrease + dev + delta;
    if (st.sumIncrease < st.minIncrease) st.minIncrease = st.sumIncrease;
    if (st.sumDecrease > st.maxDecrease) st.maxDecrease = st.sumDecrease;
    if (st.n >= min_instances) {
      const testIncrease = st.sumIncrease - st.minIncrease;
      const testDecrease = st.maxDecrease - st.sumDecrease;
      this.drift = mode === 'up' ? testIncrease > threshold : mode === 'down' ? testDecrease > threshold : testIncrease > threshold || testDecrease > threshold;
    }
  }
}
