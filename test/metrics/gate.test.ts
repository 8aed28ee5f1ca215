import { describe, expect, it } from 'vitest';
import { applyGate, gateSpec, type ClassificationMetrics, type RegressionMetrics } from '../../src/metrics';

const cls = (accuracy: number, macroF1: number, logLoss: number): ClassificationMetrics => ({
  task: 'classification',
  n: 100,
  accuracy,
  macroF1,
  weightedF1: macroF1,
  logLoss,
  perClass: [],
  confusion: [],
  classes: ['a', 'b'],
});
const reg = (rmse: number, mae: number, r2: number): RegressionMetrics => ({ task: 'regression', n: 100, rmse, mae, r2 });
const baseline = { task: 'classification' as const, classIndex: 0, className: 'a', accuracy: 0.6 };

describe('applyGate', () => {
  it('absolute thresholds with readable details', () => {
    const r = applyGate(cls(0.812, 0.7, 0.5), null, { minAccuracy: 0.7, minMacroF1: 0.75, maxLogLoss: 0.6 }, baseline);
    expect(r.passed).toBe(false);
    const byName = Object.fromEntries(r.checks.map((c) => [c.name, c]));
    expect(byName.minAccuracy).toEqual({ name: 'minAccuracy', passed: true, detail: 'accuracy 0.812 >= minAccuracy 0.7' });
    expect(byName.minMacroF1!.passed).toBe(false);
    expect(byName.minMacroF1!.detail).toBe('macroF1 0.7 < minMacroF1 0.75');
    expect(byName.maxLogLoss!.detail).toBe('logLoss 0.5 <= maxLogLoss 0.6');
    expect(byName.mustBeatBaseline!.passed).toBe(true);
  });

  it('maxRegression is direction-aware', () => {
    const champion = cls(0.8, 0.7, 0.5);
    // accuracy: higher is better; dropping 0.01 with 0.02 allowed passes, 0.03 fails
    expect(applyGate(cls(0.79, 0.7, 0.5), champion, { maxRegression: { metric: 'accuracy', by: 0.02 } }, baseline).passed).toBe(true);
    const worse = applyGate(cls(0.77, 0.7, 0.5), champion, { maxRegression: { metric: 'accuracy', by: 0.02 } }, baseline);
    expect(worse.passed).toBe(false);
    expect(worse.checks[0]!.detail).toMatch(/accuracy 0.77 < 0.78 \(champion 0.8 - allowed 0.02; higher is better\)/);
    // log loss: lower is better; a rise of 0.05 with 0.1 allowed passes, 0.2 fails
    expect(applyGate(cls(0.8, 0.7, 0.55), champion, { maxRegression: { metric: 'logLoss', by: 0.1 } }, baseline).passed).toBe(true);
    expect(applyGate(cls(0.8, 0.7, 0.7), champion, { maxRegression: { metric: 'logLoss', by: 0.1 } }, baseline).passed).toBe(false);
    // better than the champion always passes
    expect(
      applyGate(
        cls(0.9, 0.7, 0.1),
        champion,
        {
          maxRegression: [
            { metric: 'accuracy', by: 0 },
            { metric: 'logLoss', by: 0 },
          ],
        },
        baseline,
      ).passed,
    ).toBe(true);
    // regression metrics
    const rc = reg(10, 8, 0.5);
    expect(applyGate(reg(10.5, 8, 0.5), rc, { maxRegression: { metric: 'rmse', by: 1 } }).passed).toBe(true);
    expect(applyGate(reg(11.5, 8, 0.5), rc, { maxRegression: { metric: 'rmse', by: 1 } }).passed).toBe(false);
    expect(applyGate(reg(10, 8, 0.3), rc, { maxRegression: { metric: 'r2', by: 0.1 } }).passed).toBe(false);
  });

  it('no champion: maxRegression is skipped and says so', () => {
    const r = applyGate(cls(0.8, 0.7, 0.5), null, { maxRegression: { metric: 'accuracy', by: 0.01 } }, baseline);
    expect(r.passed).toBe(true);
    expect(r.checks[0]!.detail).toMatch(/no champion yet/);
  });

  it('mustBeatBaseline defaults to true for classification', () => {
    const r = applyGate(cls(0.6, 0.5, 0.7), null, {}, baseline);
    expect(r.passed).toBe(false);
    expect(r.checks[0]!.detail).toBe("accuracy 0.6 <= majority-class baseline 0.6 (always 'a')");
    expect(applyGate(cls(0.6, 0.5, 0.7), null, { mustBeatBaseline: false }, baseline).passed).toBe(true);
    expect(applyGate(cls(0.9, 0.5, 0.7), null, {}).passed).toBe(false); // no baseline given
    expect(applyGate(reg(1, 1, 0.5), null, {}).passed).toBe(true); // regression: off by default
    const rb = { task: 'regression' as const, value: 0, rmse: 2, mae: 2, r2: 0 };
    expect(applyGate(reg(3, 1, 0.5), null, { mustBeatBaseline: true }, rb).passed).toBe(false);
  });

  it('a metric the task does not report fails the check clearly; a bad gate is rejected', () => {
    const r = applyGate(cls(0.9, 0.9, 0.1), null, { maxRmse: 3 }, baseline);
    expect(r.passed).toBe(false);
    expect(r.checks[0]!.detail).toMatch(/needs rmse, which a classification model does not report/);
    expect(() => applyGate(cls(0.9, 0.9, 0.1), null, { minAccuracy: 2 }, baseline)).toThrow(/invalid gate: minAccuracy/);
    expect(() => applyGate(cls(0.9, 0.9, 0.1), null, { minAcuracy: 0.5 } as never, baseline)).toThrow(/invalid gate/);
    expect(gateSpec.parse({})).toEqual({});
  });
});
