/** Probation's verdict (src/monitor/probation.ts): when a new champion is rolled back, and when it is not. */
import { describe, expect, it } from 'vitest';
import { addFeedback, emptyVersionLive, windowFigures, type VersionLive } from '../../../src/monitor/live';
import { lossSummary, probationBreach, type Probation } from '../../../src/monitor/probation';

const policy = { hours: 24, minLabels: 100, maxDrop: 0.05, alpha: 0.01 };

/** A classifier's window: `n` labels, `right` of them right, spread evenly. */
function classifier(n: number, right: number): VersionLive {
  const live = emptyVersionLive();
  for (let i = 0; i < n; i++) {
    const ok = Math.floor(((i + 1) * right) / n) > Math.floor((i * right) / n);
    addFeedback(live, { predictionId: `p${i}`, version: 'v', prediction: 'sun', label: ok ? 'sun' : 'rain' }, 1000);
  }
  return live;
}

/** A regression's window of errors e_i = ±scale (alternating). */
function regression(n: number, scale: number): VersionLive {
  const live = emptyVersionLive();
  for (let i = 0; i < n; i++) addFeedback(live, { predictionId: `p${i}`, version: 'v', prediction: i % 2 ? scale : -scale, label: 0 }, 1000);
  return live;
}

function probation(baseline: VersionLive | null, gate = {}): Probation {
  return { version: 'v2', previous: 'v1', since: '', until: '', baseline: baseline ? lossSummary(baseline) : null, gate, policy };
}

const verdict = (p: Probation, live: VersionLive, estimated?: { accuracy: number; macroF1: number; rows: number }) =>
  probationBreach(p, windowFigures(live), lossSummary(live), estimated);

describe('probation', () => {
  it('summarises losses: 0/1 errors of a classifier, squared errors of a regression', () => {
    expect(lossSummary(classifier(200, 150))).toMatchObject({ n: 200, mean: 0.25, kind: 'error' });
    expect(lossSummary(classifier(200, 150))!.variance).toBeCloseTo((0.25 * 0.75 * 200) / 199, 12);
    expect(lossSummary(regression(10, 2))).toEqual({ n: 10, mean: 4, variance: 0, kind: 'squared-error' });
    expect(lossSummary(emptyVersionLive())).toBeNull();
  });

  it('rolls back a champion significantly worse than the previous one by more than the margin', () => {
    expect(verdict(probation(classifier(300, 255)), classifier(200, 120))).toMatch(
      /^live accuracy 0\.600 over 200 labels against 0\.850 over 300 for v1: worse by more than 0\.05 \(one-sided z-test p = [0-9.e-]+ < alpha 0\.01\)$/,
    );
  });

  it('keeps it with too few labels, within the margin, or when the drop is not significant', () => {
    expect(verdict(probation(classifier(300, 255)), classifier(99, 40))).toBeUndefined();
    expect(verdict(probation(classifier(300, 255)), classifier(300, 243))).toBeUndefined(); // 0.81: 4 points down
    // 0.78 against 0.85 with 100 labels each: 7 points down but p ≈ 0.1.
    expect(verdict(probation(classifier(100, 85)), classifier(100, 78))).toBeUndefined();
    // A previous champion with too few labels of its own: nothing to compare with.
    expect(verdict(probation(classifier(50, 45)), classifier(300, 150))).toBeUndefined();
  });

  it('holds a regression to RMSE: more than (1 + maxDrop) times the previous one, significantly', () => {
    // Squared errors without spread: the difference is certain once above the margin.
    expect(verdict(probation(regression(200, 1)), regression(200, 1.2))).toMatch(/^live RMSE 1\.200 over 200 labels against 1\.000 over 200 for v1/);
    expect(verdict(probation(regression(200, 1)), regression(200, 1.04))).toBeUndefined();
  });

  it('rolls back below the gate, live or estimated before labels, when the previous champion did better', () => {
    expect(verdict(probation(classifier(300, 210), { minAccuracy: 0.7 }), classifier(200, 130))).toBe(
      "its live (over 200 labels) accuracy 0.650 is below its gate's minAccuracy 0.7; v1 had 0.700 over its last 300 labels",
    );
    expect(verdict(probation(classifier(300, 210), { minAccuracy: 0.7 }), classifier(10, 10), { accuracy: 0.55, macroF1: 0.4, rows: 500 })).toBe(
      "its estimated (CBPE, over 500 unlabelled predictions) accuracy 0.550 is below its gate's minAccuracy 0.7; v1 had 0.700 over its last 300 labels",
    );
    expect(verdict(probation(classifier(300, 210), { minAccuracy: 0.7 }), classifier(10, 10), { accuracy: 0.55, macroF1: 0.4, rows: 50 })).toBeUndefined();
  });

  it('keeps a champion below its gate when the previous one did no better: the traffic shifted, and rolling back would not help', () => {
    // New York traffic: the new champion at 0.60 under a gate of 0.65, the old one at 0.45 on the same traffic.
    expect(verdict(probation(classifier(300, 135), { minAccuracy: 0.65 }), classifier(200, 120))).toBeUndefined();
    expect(verdict(probation(null, { minAccuracy: 0.65 }), classifier(200, 120))).toBeUndefined();
  });
});
