import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { classificationMetrics, majorityBaseline, meanBaseline, regressionMetrics } from '../../src/metrics';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/metrics/${name}.json`, import.meta.url), 'utf8'));
const TOL = 1e-9;

describe('classificationMetrics against scikit-learn', () => {
  for (const name of ['multiclass', 'binary']) {
    it(`${name}: accuracy, F1s, log loss, per class, confusion, baseline`, () => {
      const f = fixture(name);
      const proba = Float32Array.from(f.proba as number[]);
      // The fixture's probabilities are float32 values: the cast is exact.
      expect(Array.from(proba)).toEqual(f.proba);
      const m = classificationMetrics(Int32Array.from(f.yTrue), proba, f.classes);
      const e = f.expected;
      expect(m.accuracy).toBeCloseTo(e.accuracy, 12);
      expect(Math.abs(m.macroF1 - e.macroF1)).toBeLessThan(TOL);
      expect(Math.abs(m.weightedF1 - e.weightedF1)).toBeLessThan(TOL);
      expect(Math.abs(m.logLoss - e.logLoss)).toBeLessThan(TOL);
      m.perClass.forEach((c, i) => {
        expect(c.class).toBe(f.classes[i]);
        expect(Math.abs(c.precision - e.precision[i])).toBeLessThan(TOL);
        expect(Math.abs(c.recall - e.recall[i])).toBeLessThan(TOL);
        expect(Math.abs(c.f1 - e.f1[i])).toBeLessThan(TOL);
        expect(c.support).toBe(e.support[i]);
      });
      expect(m.confusion).toEqual(e.confusion);
      const b = majorityBaseline(f.yTrue, f.classes, f.yTrain);
      expect(b.classIndex).toBe(e.baselineClass);
      expect(Math.abs(b.accuracy - e.baselineAccuracy)).toBeLessThan(TOL);
    });
  }

  it('multiclass fixture has a class never predicted and a class absent from the truth', () => {
    const f = fixture('multiclass');
    const m = classificationMetrics(f.yTrue, Float32Array.from(f.proba), f.classes);
    const snow = m.perClass.find((c) => c.class === 'snow')!;
    expect(snow.precision).toBe(0);
    expect(snow.f1).toBe(0);
    expect(m.perClass.find((c) => c.class === 'fog')!.support).toBe(0);
  });

  it('hand-computed small case', () => {
    // truth 0,0,1,1 ; predicted 0,1,1,1
    const proba = Float32Array.from([0.75, 0.25, 0.5, 0.5 + 1 / 1024, 0.25, 0.75, 0, 1]);
    const m = classificationMetrics([0, 0, 1, 1], proba, ['a', 'b']);
    expect(m.accuracy).toBe(0.75);
    expect(m.confusion).toEqual([
      [1, 1],
      [0, 2],
    ]);
    // class a: p=1, r=.5, f1=2/3 ; class b: p=2/3, r=1, f1=.8
    expect(m.perClass[0]!.f1).toBeCloseTo(2 / 3, 15);
    expect(m.perClass[1]!.f1).toBeCloseTo(0.8, 15);
    expect(m.macroF1).toBeCloseTo((2 / 3 + 0.8) / 2, 15);
    const ll = -(Math.log(0.75) + Math.log(0.5) + Math.log(0.75) + Math.log(1 - Number.EPSILON)) / 4;
    expect(m.logLoss).toBeCloseTo(ll, 12);
  });

  it('rejects bad shapes and labels with clear messages', () => {
    expect(() => classificationMetrics([0, 1], new Float32Array(3), ['a', 'b'])).toThrow(/proba has 3 values, expected 2 rows x 2 classes/);
    expect(() => classificationMetrics([0, 2], new Float32Array(4), ['a', 'b'])).toThrow(/yTrue\[1\] = 2 is not a class index/);
    expect(() => classificationMetrics([], new Float32Array(0), ['a', 'b'])).toThrow(/no samples/);
  });
});

describe('regressionMetrics against scikit-learn', () => {
  it('rmse, mae, r2 and the mean baseline', () => {
    const f = fixture('regression');
    const m = regressionMetrics(f.yTrue, f.yPred);
    expect(Math.abs(m.rmse - f.expected.rmse)).toBeLessThan(TOL);
    expect(Math.abs(m.mae - f.expected.mae)).toBeLessThan(TOL);
    expect(Math.abs(m.r2 - f.expected.r2)).toBeLessThan(TOL);
    const b = meanBaseline(f.yTrue, f.yTrain);
    expect(Math.abs(b.value - f.expected.baselineValue)).toBeLessThan(TOL);
    expect(Math.abs(b.rmse - f.expected.baselineRmse)).toBeLessThan(TOL);
    expect(Math.abs(b.mae - f.expected.baselineMae)).toBeLessThan(TOL);
    expect(Math.abs(b.r2 - f.expected.baselineR2)).toBeLessThan(TOL);
  });

  it('hand-computed small case', () => {
    const m = regressionMetrics([1, 2, 3, 4], [1, 2, 3, 6]);
    expect(m.rmse).toBe(1); // sqrt(4/4)
    expect(m.mae).toBe(0.5);
    expect(m.r2).toBeCloseTo(1 - 4 / 5, 15); // SS_tot = 2.25+.25+.25+2.25 = 5
  });
});
