// The columnar preprocessor against the row-based code it replaced, on real data: what that code
// fitted and encoded on these rows is kept in fixtures/row-based-weather.json (see its "about").
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { tableFromRows, textColumn, type ColumnTable } from '../../src/data/columns';
import type { TypedRow } from '../../src/data';
import { weatherRows as readWeatherRows } from '../helpers/weather';
import {
  encodeLabels,
  encodeTable,
  encodeTableLabels,
  fitLabels,
  fitPreprocessor,
  fitTableLabels,
  fitTablePreprocessor,
  labeledRowIndexes,
  tableEncoder,
  transform,
  transformTable,
  type FeatureSpecInput,
} from '../../src/preprocess';

const ROW_BASED = JSON.parse(readFileSync(new URL('./fixtures/row-based-weather.json', import.meta.url), 'utf8')) as {
  all: { preprocessor: unknown; xSha256: string };
  train: { rows: number; preprocessor: unknown; xSha256: string };
  classification: { labeledRows: number; labels: unknown; ySha256: string };
  regression: { labels: unknown; ySha256: string };
};

/** Weather rows (Seattle and New York) with holes punched in, so every impute path runs. */
const WEATHER: TypedRow[] = await readWeatherRows();
function weatherRows(): TypedRow[] {
  const rows = WEATHER.map((r) => ({ ...r }));
  const holes: [string, number, number][] = [
    ['precipitation', 37, 5],
    ['temp_min', 41, 3],
    ['wind', 43, 7],
    ['location', 47, 11],
    ['weather', 53, 13],
    ['date', 59, 17],
  ];
  return rows.map((r, i) => {
    const copy: TypedRow = { ...r };
    for (const [name, every, at] of holes) if (i % every === at) copy[name] = null;
    return copy;
  });
}

const features: FeatureSpecInput = [
  { name: 'precipitation', kind: 'numeric' }, // median
  { name: 'temp_max', kind: 'numeric', impute: 'mean' },
  { name: 'temp_min', kind: 'numeric', impute: -5, scale: 'none' },
  { name: 'wind', kind: 'numeric' },
  { name: 'location', kind: 'categorical' },
  { name: 'weather', kind: 'categorical', maxCategories: 3 },
  { name: 'date', kind: 'date', parts: ['month_cyclic', 'dayofyear_cyclic', 'dayofweek_cyclic', 'hour_cyclic', 'year'] },
];

const bits = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const sha = (a: Float32Array | Int32Array) =>
  createHash('sha256')
    .update(Buffer.from(a.buffer, a.byteOffset, a.byteLength))
    .digest('hex');

describe('columnar preprocessing (weather)', () => {
  const rows = weatherRows();
  // Natural kinds: numbers as numbers, dates as wall-clock ms, text as codes.
  const table = tableFromRows(rows, { kinds: { date: 'date' } });
  const train = rows.filter((r) => r.date === null || String(r.date) < '2015-01-01');
  const trainRows = Int32Array.from(rows.keys()).filter((i) => rows[i]!.date === null || String(rows[i]!.date) < '2015-01-01');

  it('fits exactly what the row-based code fitted, and encodes the same x bit for bit', () => {
    expect(table.columns.get('date')!.kind).toBe('date');
    const pre = fitTablePreprocessor(table, features);
    expect(JSON.stringify(pre)).toBe(JSON.stringify(ROW_BASED.all.preprocessor));
    expect(sha(transformTable(pre, table).x)).toBe(ROW_BASED.all.xSha256);
    // The row-based entry points are wrappers and give the same.
    expect(JSON.stringify(fitPreprocessor(rows, features))).toBe(JSON.stringify(ROW_BASED.all.preprocessor));
    expect(sha(transform(pre, rows).x)).toBe(ROW_BASED.all.xSha256);
  });

  it('a row selection fits on those rows only (as the rows themselves would)', () => {
    const pre = fitTablePreprocessor(table, features, trainRows);
    expect(JSON.stringify(pre)).toBe(JSON.stringify(ROW_BASED.train.preprocessor));
    expect(pre.rowsFitted).toBe(ROW_BASED.train.rows);
    expect(sha(transformTable(pre, table, { rows: trainRows }).x)).toBe(ROW_BASED.train.xSha256);
  });

  it('labels: same fit and encoding as the row-based code, on a selection too', () => {
    const labeled = labeledRowIndexes(table, 'weather', trainRows);
    expect(labeled.length).toBe(ROW_BASED.classification.labeledRows);
    const cls = fitTableLabels(table, 'weather', 'classification', undefined, { rows: labeled });
    expect(cls).toEqual(ROW_BASED.classification.labels);
    expect(sha(encodeTableLabels(cls, table, labeled))).toBe(ROW_BASED.classification.ySha256);
    const reg = fitTableLabels(table, 'temp_max', 'regression', undefined, { standardize: true, rows: trainRows });
    expect(reg).toEqual(ROW_BASED.regression.labels);
    expect(sha(encodeTableLabels(reg, table, trainRows))).toBe(ROW_BASED.regression.ySha256);
    // The row-based entry points are wrappers and give the same.
    expect(sha(encodeLabels(reg, train))).toBe(ROW_BASED.regression.ySha256);
    expect(fitLabels(train, 'weather', 'classification')).toEqual(ROW_BASED.classification.labels);
  });

  it('encoding chunk by chunk into one reused array gives the rows of the whole', () => {
    const pre = fitTablePreprocessor(table, features, trainRows);
    const whole = transformTable(pre, table).x;
    const encode = tableEncoder(pre, table);
    const cols = pre.columns.length;
    const into = new Float32Array(500 * cols);
    for (let start = 0; start < table.rows; start += 500) {
      const chunk = Int32Array.from({ length: Math.min(500, table.rows - start) }, (_, k) => start + k);
      const { x, rows: n } = encode(chunk, into);
      expect(x).toBe(into);
      expect(bits(x.subarray(0, n * cols)).equals(bits(whole.subarray(start * cols, (start + n) * cols)))).toBe(true);
    }
    expect(() =>
      encode(
        Int32Array.from({ length: 501 }, (_, k) => k),
        into,
      ),
    ).toThrow(/holds \d+ values, 501 rows need/);
  });

  it("a request's text columns (numbers as text, dates as ISO text) encode as the typed columns", () => {
    const pre = fitTablePreprocessor(table, features);
    const asText: ColumnTable = {
      ...table,
      columns: new Map(
        [...table.columns].map(([name, c]) => {
          if (c.kind === 'text') return [name, c];
          const texts = Array.from({ length: table.rows }, (_, i) => {
            const v = rows[i]![name];
            return v === null ? null : String(v);
          });
          return [name, textColumn(texts, table.rows)];
        }),
      ),
    };
    expect(asText.columns.get('date')!.kind).toBe('text');
    expect(asText.columns.get('wind')!.kind).toBe('text');
    expect(bits(transformTable(pre, asText).x).equals(bits(transformTable(pre, table).x))).toBe(true);
    expect(JSON.stringify(fitTablePreprocessor(asText, features))).toBe(JSON.stringify(pre));
  });
});

describe('columnar preprocessing (edge cases)', () => {
  it('a categorical feature on a number column uses String(value); errors name the source row', () => {
    const table = tableFromRows([{ n: 1 }, { n: 2.5 }, { n: 1 }, { n: null }]);
    const pre = fitTablePreprocessor(table, [{ name: 'n', kind: 'categorical' }]);
    expect(pre.columns).toEqual(['n=1', 'n=2.5', 'n=__other__']);
    expect(pre.features[0]).toMatchObject({ impute: '1', counts: [3, 1] });

    // A source whose row i is file line i + 2 (a CSV header on line 1).
    const csvLike: ColumnTable = { ...tableFromRows([{ a: '1' }, { a: 'oops' }]), rowNumber: (i) => i + 2 };
    expect(() => fitTablePreprocessor(csvLike, [{ name: 'a', kind: 'numeric' }])).toThrow(/feature 'a' \(row 3\): expected a number, found "oops"/);
    const dates = tableFromRows([{ d: 5 }]);
    expect(() => fitTablePreprocessor(dates, [{ name: 'd', kind: 'date', parts: ['year'] }])).toThrow(/feature 'd' \(row 1\): expected an ISO date/);
  });

  it('encodeTable imputes what serving cannot refuse; a selection of no rows gives an empty matrix', () => {
    const table = tableFromRows([
      { a: 1, y: 'u' },
      { a: 3, y: 'v' },
    ]);
    const artifact = {
      preprocessor: fitTablePreprocessor(table, [{ name: 'a', kind: 'numeric', scale: 'none' }]),
      labels: fitTableLabels(table, 'y', 'classification'),
    };
    const serving = tableFromRows([{ a: 'n/a', y: 'v' }]);
    const e = encodeTable(artifact, serving);
    expect(Array.from(e.x)).toEqual([2]);
    expect(Array.from(e.y)).toEqual([1]);
    expect(transformTable(artifact.preprocessor, table, { rows: new Int32Array(0) })).toEqual({ x: new Float32Array(0), rows: 0, cols: 1 });
  });
});
