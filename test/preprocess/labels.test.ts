import { describe, expect, it } from 'vitest';
import { decodeClasses, decodeRegression, encodeLabels, fitLabels, labeledRows, type RegressionLabels } from '../../src/preprocess';

describe('labels', () => {
  const rows = [{ y: 'sun' }, { y: 'rain' }, { y: 'sun' }, { y: null }];

  it('classification: sorted classes seen, or the schema list in its order', () => {
    const seen = fitLabels(rows, 'y', 'classification');
    expect(seen).toEqual({ kind: 'classification', label: 'y', classes: ['rain', 'sun'], counts: [1, 2] });
    const given = fitLabels(rows, 'y', 'classification', ['sun', 'rain', 'snow']);
    expect(given.kind === 'classification' && given.classes).toEqual(['sun', 'rain', 'snow']);
    const labeled = labeledRows(rows, 'y');
    expect(labeled).toHaveLength(3);
    expect(Array.from(encodeLabels(given, labeled))).toEqual([0, 1, 0]);
    expect(given.kind === 'classification' && decodeClasses(given, [2, 0])).toEqual(['snow', 'sun']);
  });

  it('classification errors name the label and row', () => {
    expect(() => fitLabels(rows, 'y', 'classification', ['sun', 'snow'])).toThrow(/label 'y': values 'rain' are not among the allowed classes/);
    expect(() => fitLabels([{ y: 'a' }], 'y', 'classification')).toThrow(/at least 2 classes/);
    expect(() => fitLabels(rows, 'z', 'classification')).toThrow(/label 'z': column is absent/);
    const f = fitLabels(rows, 'y', 'classification');
    expect(() => encodeLabels(f, rows)).toThrow(/label 'y' \(row 4\): is missing/);
    expect(() => encodeLabels(f, [{ y: 'hail' }])).toThrow(/'hail' is not one of the model's classes \(rain, sun\)/);
  });

  it('regression: raw or standardized, with the inverse', () => {
    const data = [{ y: 1 }, { y: 3 }, { y: 5 }, { y: 7 }]; // mean 4, population std sqrt(5)
    const raw = fitLabels(data, 'y', 'regression');
    expect(Array.from(encodeLabels(raw, data))).toEqual([1, 3, 5, 7]);
    const std = fitLabels(data, 'y', 'regression', undefined, { standardize: true }) as RegressionLabels;
    expect(std.mean).toBe(4);
    expect(std.std).toBeCloseTo(Math.sqrt(5), 12);
    const enc = encodeLabels(std, data);
    expect(enc[0]).toBeCloseTo(-3 / Math.sqrt(5), 6);
    const dec = decodeRegression(std, enc);
    [1, 3, 5, 7].forEach((v, i) => expect(dec[i]).toBeCloseTo(v, 5));
    expect(() => fitLabels([{ y: 'x' }], 'y', 'regression')).toThrow(/label 'y' \(row 1\): expected a number/);
  });
});
