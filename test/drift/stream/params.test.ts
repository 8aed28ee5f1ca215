import { describe, expect, it } from 'vitest';
import { DETECTOR_NAMES, DetectorParamError, createDetector, describeParams, runStream } from '../../../src/drift/stream';

describe('createDetector parameter validation', () => {
  it('builds every detector with River defaults', () => {
    for (const name of DETECTOR_NAMES) {
      const d = createDetector(name, {});
      expect(d.name).toBe(name);
      expect(d.driftDetected).toBe(false);
      expect(d.warningDetected).toBe(false);
    }
    expect(createDetector('adwin').toJSON().params).toEqual({
      delta: 0.002,
      clock: 32,
      max_buckets: 5,
      min_window_length: 5,
      grace_period: 10,
    });
    expect(createDetector('page-hinkley').toJSON().params).toEqual({
      min_instances: 30,
      delta: 0.005,
      threshold: 50,
      alpha: 1 - 0.0001,
      mode: 'both',
    });
    expect(createDetector('kswin').toJSON().params).toMatchObject({ alpha: 0.005, window_size: 100, stat_size: 30, seed: null });
    expect(createDetector('ddm').toJSON().params).toEqual({ warm_start: 30, warning_threshold: 2, drift_threshold: 3 });
    expect(createDetector('eddm').toJSON().params).toEqual({ warm_start: 30, alpha: 0.95, beta: 0.9 });
    expect(createDetector('hddm-a').toJSON().params).toEqual({
      drift_confidence: 0.001,
      warning_confidence: 0.005,
      two_sided_test: false,
    });
    expect(createDetector('hddm-w').toJSON().params).toEqual({
      drift_confidence: 0.001,
      warning_confidence: 0.005,
      lambda_val: 0.05,
      two_sided_test: false,
    });
  });

  it('unknown detector lists the valid ones', () => {
    expect(() => createDetector('cusum', {})).toThrow("unknown detector 'cusum'; valid detectors: adwin, page-hinkley, kswin, ddm, eddm, hddm-a, hddm-w");
  });

  it('unknown parameter lists the valid ones for that detector', () => {
    expect(() => createDetector('adwin', { alpha: 0.1 })).toThrow(
      "adwin: unknown parameter 'alpha'; valid parameters: delta, clock, max_buckets, min_window_length, grace_period",
    );
    expect(() => createDetector('ddm', { warmstart: 3 })).toThrow(/valid parameters: warm_start, warning_threshold, drift_threshold/);
  });

  it('wrong type or range names the parameter and what is expected', () => {
    const cases: [string, Record<string, number | string | boolean>, RegExp][] = [
      ['adwin', { delta: 0 }, /adwin: parameter 'delta' expects a finite number > 0 and < 1, got 0/],
      ['adwin', { clock: 2.5 }, /parameter 'clock' expects an integer >= 1, got 2.5/],
      ['adwin', { clock: 'often' }, /parameter 'clock' expects an integer >= 1, got "often"/],
      ['page-hinkley', { mode: 'sideways' }, /parameter 'mode' expects one of 'up', 'down', 'both'/],
      ['kswin', { seed: -1 }, /parameter 'seed' expects a non-negative integer/],
      ['kswin', { stat_size: 100 }, /'stat_size' must be smaller than 'window_size'/],
      ['kswin', { alpha: 2 }, /parameter 'alpha' expects a finite number >= 0 and <= 1/],
      ['eddm', { alpha: 0.5, beta: 0.9 }, /'alpha' must be greater than or equal to 'beta'/],
      ['hddm-a', { two_sided_test: 'maybe' }, /parameter 'two_sided_test' expects a boolean/],
      ['hddm-w', { lambda_val: 1.5 }, /parameter 'lambda_val' expects a finite number > 0 and <= 1/],
      ['ddm', { drift_threshold: true }, /parameter 'drift_threshold' expects a finite number > 0/],
    ];
    for (const [name, params, re] of cases) {
      expect(() => createDetector(name, params)).toThrow(DetectorParamError);
      expect(() => createDetector(name, params)).toThrow(re);
    }
  });

  it('parses string values (as the CLI passes them)', () => {
    const d = createDetector('hddm-w', { lambda_val: '0.1', two_sided_test: 'true', drift_confidence: '1e-4' });
    expect(d.toJSON().params).toEqual({ drift_confidence: 1e-4, warning_confidence: 0.005, lambda_val: 0.1, two_sided_test: true });
    expect(createDetector('kswin', { seed: '42', window: '1,2,3' }).toJSON().state.window).toEqual([1, 2, 3]);
  });

  it('describes parameters', () => {
    expect(describeParams('adwin')).toContain('delta (a finite number > 0 and < 1; default 0.002)');
  });
});

describe('reset semantics (River): a detector resets itself on the update after a drift', () => {
  it('ADWIN width restarts from 1 after a drift', () => {
    const d = createDetector('adwin', { clock: 1 }) as ReturnType<typeof createDetector> & { width: number };
    let i = 0;
    for (; i < 5000; i++) {
      d.update(i < 1000 ? 0 : 10);
      if (d.driftDetected) break;
    }
    expect(d.driftDetected).toBe(true);
    d.update(10);
    expect(d.driftDetected).toBe(false);
    expect(d.width).toBe(1);
  });

  it('KSWIN treats NaN as SciPy does (no drift while a test sample holds it), as River 0.26.1', () => {
    // Expected indices from River: drift.KSWIN(seed=1, window_size=20, stat_size=5, alpha=0.05).
    const river: Record<number, number[]> = { 0: [34], 25: [], 31: [], 33: [], 36: [34], 40: [34] };
    for (const [pos, drifts] of Object.entries(river)) {
      const values = Array.from({ length: 60 }, (_, i) => (i < 30 ? 0 : 100) + (i % 3));
      values[Number(pos)] = NaN;
      const d = createDetector('kswin', { seed: 1, window_size: 20, stat_size: 5, alpha: 0.05 });
      expect(runStream(d, values).drifts, `NaN at ${pos}`).toEqual(drifts);
    }
  });
});
