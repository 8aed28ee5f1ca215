// End to end on real data: Seattle weather -> preprocess -> train -> metrics -> gate.
import { describe, expect, it } from 'vitest';
import { weatherRows } from '../helpers/weather';
import { applyGate, classificationMetrics, majorityBaseline } from '../../src/metrics';
import { loadModel, predict, selectBackend, train } from '../../src/model';
import { encodeLabels, fitLabels, fitPreprocessor, transform } from '../../src/preprocess';

describe('weather model (Seattle, vega-datasets)', () => {
  it('trains a classifier that beats the majority class and passes a gate; New York serves without errors', async () => {
    const rows = await weatherRows();
    const seattle = rows.filter((r) => r.location === 'Seattle');
    expect(seattle.length).toBe(1461);
    const trainRows = seattle.filter((r) => String(r.date) < '2015-01-01');
    const testRows = seattle.filter((r) => String(r.date) >= '2015-01-01');
    const pre = fitPreprocessor(trainRows, [
      { name: 'precipitation', kind: 'numeric' },
      { name: 'temp_max', kind: 'numeric' },
      { name: 'temp_min', kind: 'numeric' },
      { name: 'wind', kind: 'numeric' },
      { name: 'date', kind: 'date', parts: ['month_cyclic'] },
    ]);
    const labels = fitLabels(trainRows, 'weather', 'classification', ['drizzle', 'fog', 'rain', 'snow', 'sun']);
    if (labels.kind !== 'classification') throw new Error('expected classification labels');
    const tr = transform(pre, trainRows);
    const te = transform(pre, testRows);
    const yTrain = encodeLabels(labels, trainRows) as Int32Array;
    const yTest = encodeLabels(labels, testRows) as Int32Array;

    const { tf } = await selectBackend(undefined, { log: () => {} });
    const result = await train({ tf, ...tr, y: yTrain, task: 'classification', numClasses: 5, params: { epochs: 20, classWeight: 'none' } });
    const model = await loadModel(tf, result.artifacts);
    const metrics = classificationMetrics(yTest, await predict(model, te.x), labels.classes);
    const baseline = majorityBaseline(yTest, labels.classes, yTrain);
    expect(metrics.accuracy).toBeGreaterThan(baseline.accuracy);
    const gate = applyGate(metrics, null, { minAccuracy: 0.5 }, baseline);
    expect(gate.passed, JSON.stringify(gate.checks)).toBe(true);

    // Serving: New York rows (drift) with a missing value still transform and score.
    const ny = rows.filter((r) => r.location === 'New York').slice(0, 50);
    ny[0] = { ...ny[0]!, wind: null };
    const p = await predict(model, transform(pre, ny).x);
    expect(p.length).toBe(50 * 5);
    expect(p.every(Number.isFinite)).toBe(true);
  });
});
