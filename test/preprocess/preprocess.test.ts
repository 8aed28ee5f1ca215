import { describe, expect, it } from 'vitest';
import type { TypedRow } from '../../src/data/validate';
import { featureSpec, fitPreprocessor, transform, FeatureError, parseDateFields, type FittedPreprocessor } from '../../src/preprocess';

const rows: TypedRow[] = [
  { a: 1, color: 'red', day: '2012-01-01' },
  { a: 2, color: 'blue', day: '2012-03-01' },
  { a: null, color: 'red', day: '2012-12-31' },
  { a: 5, color: null, day: null },
];

const close = (actual: ArrayLike<number>, expected: number[]) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => expect(actual[i]).toBeCloseTo(e, 6));
};

describe('featureSpec', () => {
  it('applies defaults and rejects bad specs', () => {
    expect(featureSpec.parse([{ name: 'a', kind: 'numeric' }])).toEqual([{ name: 'a', kind: 'numeric', impute: 'median', scale: 'standard' }]);
    expect(featureSpec.parse([{ name: 'c', kind: 'categorical' }])).toEqual([{ name: 'c', kind: 'categorical', impute: 'most_frequent' }]);
    expect(
      featureSpec.safeParse([
        { name: 'a', kind: 'numeric' },
        { name: 'a', kind: 'numeric' },
      ]).success,
    ).toBe(false);
    expect(featureSpec.safeParse([{ name: 'd', kind: 'date', parts: ['week'] }]).success).toBe(false);
    expect(() => fitPreprocessor(rows, [{ name: 'a', kind: 'numerc' } as never])).toThrow(/invalid feature spec/);
  });
});

describe('numeric features', () => {
  it('median impute, standard scale (hand-computed)', () => {
    // present 1,2,5 -> median 2; imputed 1,2,2,5 -> mean 2.5, population std 1.5
    const pre = fitPreprocessor(rows, [{ name: 'a', kind: 'numeric' }]);
    const f = pre.features[0]!;
    expect(f).toMatchObject({ kind: 'numeric', impute: 2, imputeRule: 'median', mean: 2.5, std: 1.5, missingInTraining: 1 });
    const t = transform(pre, rows);
    expect(t.cols).toBe(1);
    close(t.x, [-1, -1 / 3, -1 / 3, 5 / 3]);
  });

  it('mean impute, constant impute, no scaling', () => {
    const mean = fitPreprocessor(rows, [{ name: 'a', kind: 'numeric', impute: 'mean', scale: 'none' }]);
    close(transform(mean, rows).x, [1, 2, 8 / 3, 5]);
    const constant = fitPreprocessor(rows, [{ name: 'a', kind: 'numeric', impute: -1, scale: 'none' }]);
    close(transform(constant, rows).x, [1, 2, -1, 5]);
  });

  it('a constant column scales with std 1 instead of dividing by 0', () => {
    const pre = fitPreprocessor([{ a: 3 }, { a: 3 }], [{ name: 'a', kind: 'numeric' }]);
    close(transform(pre, [{ a: 3 }, { a: 4 }]).x, [0, 1]);
  });

  it('accepts numeric text, names the feature and row for other text', () => {
    const pre = fitPreprocessor([{ a: '1' }, { a: '3' }], [{ name: 'a', kind: 'numeric', scale: 'none' }]);
    close(transform(pre, [{ a: '2.5' }]).x, [2.5]);
    expect(() => fitPreprocessor([{ a: 1 }, { a: 'abc' }], [{ name: 'a', kind: 'numeric' }])).toThrow(FeatureError);
    expect(() => fitPreprocessor([{ a: 1 }, { a: 'abc' }], [{ name: 'a', kind: 'numeric' }])).toThrow(/feature 'a' \(row 2\): expected a number, found "abc"/);
    expect(() => transform(pre, [{ a: 'x' }])).toThrow(/feature 'a' \(row 1\): expected a number/);
    close(transform(pre, [{ a: 'x' }], { invalidValues: 'impute' }).x, [2]);
  });

  it('all values missing: a clear error unless a constant is given', () => {
    expect(() => fitPreprocessor([{ a: null }], [{ name: 'a', kind: 'numeric' }])).toThrow(/feature 'a': every training value is missing/);
    close(transform(fitPreprocessor([{ a: null }], [{ name: 'a', kind: 'numeric', impute: 0, scale: 'none' }]), [{ a: null }]).x, [0]);
  });
});

describe('categorical features', () => {
  it('most-frequent impute, sorted one-hot columns, __other__ for unseen', () => {
    // red 2, blue 1, missing 1 -> impute red (3)
    const pre = fitPreprocessor(rows, [{ name: 'color', kind: 'categorical' }]);
    expect(pre.columns).toEqual(['color=blue', 'color=red', 'color=__other__']);
    expect(pre.features[0]).toMatchObject({ impute: 'red', categories: ['blue', 'red'], counts: [1, 3], otherCount: 0 });
    const t = transform(pre, [...rows, { color: 'green' }]);
    close(t.x, [0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('maxCategories keeps the most frequent; the rest go to __other__', () => {
    const data: TypedRow[] = ['a', 'a', 'a', 'b', 'b', 'c', 'd'].map((c) => ({ c }));
    const pre = fitPreprocessor(data, [{ name: 'c', kind: 'categorical', maxCategories: 2 }]);
    expect(pre.columns).toEqual(['c=a', 'c=b', 'c=__other__']);
    expect(pre.features[0]).toMatchObject({ otherCount: 2 });
    close(transform(pre, [{ c: 'c' }, { c: 'b' }]).x, [0, 0, 1, 0, 1, 0]);
  });

  it('constant impute becomes a category when training had missing values', () => {
    const pre = fitPreprocessor(rows, [{ name: 'color', kind: 'categorical', impute: 'unknown' }]);
    expect(pre.columns).toEqual(['color=blue', 'color=red', 'color=unknown', 'color=__other__']);
    close(transform(pre, [{ color: null }]).x, [0, 0, 1, 0]);
  });
});

describe('date features', () => {
  it('parses wall-clock fields, independent of time zone', () => {
    expect(parseDateFields('2012-12-31')).toMatchObject({ year: 2012, month: 12, dayOfYear: 366, daysInYear: 366, dayOfWeek: 0 });
    expect(parseDateFields('2001-01-01T23:30:00.000Z')).toMatchObject({ hour: 23, minute: 30, dayOfWeek: 0 });
    expect(parseDateFields('2021-02-30')).toBeUndefined();
    expect(parseDateFields('yesterday')).toBeUndefined();
  });

  it('cyclic month, day of week and year (hand-computed)', () => {
    const pre = fitPreprocessor(rows, [{ name: 'day', kind: 'date', parts: ['month_cyclic', 'dayofweek_cyclic', 'year'] }]);
    expect(pre.columns).toEqual(['day:month_sin', 'day:month_cos', 'day:dayofweek_sin', 'day:dayofweek_cos', 'day:year']);
    const t = transform(pre, rows);
    const sunday = (2 * Math.PI * 6) / 7; // 2012-01-01 is a Sunday (Monday = 0)
    const thursday = (2 * Math.PI * 3) / 7; // 2012-03-01
    close(t.x.subarray(0, 5), [0, 1, Math.sin(sunday), Math.cos(sunday), 0]);
    close(t.x.subarray(5, 10), [Math.sin(Math.PI / 3), 0.5, Math.sin(thursday), Math.cos(thursday), 0]);
    close(t.x.subarray(10, 15), [Math.sin((2 * Math.PI * 11) / 12), Math.cos((2 * Math.PI * 11) / 12), 0, 1, 0]);
    close(t.x.subarray(15, 20), [0, 0, 0, 0, 0]); // missing date
  });

  it('year is standardized with the training mean and std; hour and day of year are cyclic', () => {
    const pre = fitPreprocessor([{ d: '2012-06-01' }, { d: '2014-06-01' }], [{ name: 'd', kind: 'date', parts: ['year', 'dayofyear_cyclic', 'hour_cyclic'] }]);
    const t = transform(pre, [{ d: '2016-01-01T06:00:00Z' }]);
    close(t.x, [3, 0, 1, 1, 0]); // (2016 - 2013) / 1 ; day 1 ; 06:00 = quarter turn
  });

  it('a malformed date is an error naming the feature', () => {
    expect(() => fitPreprocessor([{ d: '2012-01-01' }, { d: '01/02/2012' }], [{ name: 'd', kind: 'date', parts: ['year'] }])).toThrow(
      /feature 'd' \(row 2\): expected an ISO date/,
    );
  });
});

describe('transform at serving', () => {
  const spec = [
    { name: 'a', kind: 'numeric' as const },
    { name: 'color', kind: 'categorical' as const },
    { name: 'day', kind: 'date' as const, parts: ['month_cyclic' as const] },
  ];
  let pre: FittedPreprocessor;
  it('output columns are the concatenation in spec order, and the fitted preprocessor is plain JSON', () => {
    pre = fitPreprocessor(rows, spec);
    expect(pre.columns).toEqual(['a', 'color=blue', 'color=red', 'color=__other__', 'day:month_sin', 'day:month_cos']);
    expect(pre).toMatchObject({ format: 'perennial-preprocessor', version: 1, rowsFitted: 4 });
    const copy = JSON.parse(JSON.stringify(pre)) as FittedPreprocessor;
    expect(transform(copy, rows)).toEqual(transform(pre, rows));
  });

  it('a row with missing values and unseen categories is handled', () => {
    const t = transform(pre, [{ a: null, color: 'purple', day: null }, { color: 'blue' }]);
    expect(t.rows).toBe(2);
    close(t.x, [-1 / 3, 0, 0, 1, 0, 0, -1 / 3, 1, 0, 0, 0, 0]);
  });

  it('a fitted column absent from the whole batch is a clear error (or imputed on request)', () => {
    expect(() => transform(pre, [{ a: 1, color: 'red' }])).toThrow(/feature 'day': column is absent from the data \(the rows have: a, color\)/);
    expect(transform(pre, [{ a: 1, color: 'red' }], { absentColumns: 'impute' }).cols).toBe(6);
    expect(() => fitPreprocessor([{ b: 1 }], [{ name: 'a', kind: 'numeric' }])).toThrow(/feature 'a': column is absent/);
  });

  it('empty batch gives an empty matrix; a foreign object is refused', () => {
    expect(transform(pre, [])).toEqual({ x: new Float32Array(0), rows: 0, cols: 6 });
    expect(() => transform({ ...pre, version: 2 } as never, rows)).toThrow(/version 2 is not supported/);
    expect(() => transform({} as never, rows)).toThrow(/not a fitted preprocessor/);
  });
});
