import { describe, expect, it } from 'vitest';
import { parseCsv } from '../../../src/data/csv';
import { parseJsonl } from '../../../src/data/jsonl';
import { inferSchema, isDateText, tableSchema, toNumber, type TableSchema } from '../../../src/data/schema';
import type { RawTable } from '../../../src/data/table';
import { describeRows, validateTable } from '../../../src/data/validate';

const weatherSchema: TableSchema = tableSchema.parse({
  fields: [
    { name: 'date', type: 'date', nullable: false },
    { name: 'temp', type: 'number', min: -40, max: 50 },
    { name: 'count', type: 'number', integer: true, min: 0 },
    { name: 'weather', type: 'category', values: ['rain', 'sun'], nullable: false },
    { name: 'note', type: 'string' },
  ],
});

describe('tableSchema', () => {
  it('fills defaults: fields nullable, maxMissingRate 0.2', () => {
    const schema = tableSchema.parse({ fields: [{ name: 'a', type: 'number' }] });
    expect(schema.maxMissingRate).toBe(0.2);
    expect(schema.fields[0]!.nullable).toBe(true);
  });
});

describe('isDateText and toNumber', () => {
  it('accepts ISO dates and date-times, refuses other text and impossible dates', () => {
    expect(isDateText('2012-01-01')).toBe(true);
    expect(isDateText('2012-01-01T10:30:00Z')).toBe(true);
    expect(isDateText('2012-01-01 10:30')).toBe(true);
    expect(isDateText('2012-01-01T10:30:00.123+02:00')).toBe(true);
    expect(isDateText('01/02/2012')).toBe(false);
    expect(isDateText('2012-13-45')).toBe(false);
    expect(isDateText('2012')).toBe(false);
  });

  it('reads numbers from numbers and numeric text only', () => {
    expect(toNumber('3.5')).toBe(3.5);
    expect(toNumber(' -2 ')).toBe(-2);
    expect(toNumber(7)).toBe(7);
    expect(toNumber('1e3')).toBe(1000);
    expect(toNumber('abc')).toBeUndefined();
    expect(toNumber('')).toBeUndefined();
    expect(toNumber('  ')).toBeUndefined();
    expect(toNumber(Number.NaN)).toBeUndefined();
    expect(toNumber(Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(toNumber('Infinity')).toBeUndefined();
    expect(toNumber(true)).toBeUndefined();
    expect(toNumber(null)).toBeUndefined();
  });
});

describe('validateTable', () => {
  // line 1 header; each later comment is the file line.
  const csv = [
    'date,temp,count,weather,note', //   1
    '2012-01-01,5.5,3,rain,first', //    2 ok
    '2012-01-02,abc,1,sun,', //          3 text in a number column
    '2012-01-03,99,2,sun', //            4 ragged (4 fields)
    '2012-01-04,-60,1,hail,x', //        5 two problems: below min, unknown category
    ',10,1,sun,y', //                    6 missing non-nullable date
    '2012-13-45,10,1,sun,z', //          7 not a date
    '2012-01-08,12,2.5,rain,w', //       8 not a whole number
    '2012-01-09,,,sun,', //              9 ok: missing nullable values
    '2012-01-10,51,0,rain,v', //        10 above max
  ].join('\n');
  const table = parseCsv(csv + '\n', 'batch.csv');
  const schema: TableSchema = { ...weatherSchema, maxMissingRate: 1 };
  const result = validateTable(table, schema);

  it('keeps good rows, typed, with their file line', () => {
    expect(result.rows).toEqual([
      { date: '2012-01-01', temp: 5.5, count: 3, weather: 'rain', note: 'first' },
      { date: '2012-01-09', temp: null, count: null, weather: 'sun', note: null },
    ]);
    expect(result.rowNumbers).toEqual([2, 9]);
    expect(result.rowsRead).toBe(9);
    expect(result.source).toBe('batch.csv');
  });

  it('names row, column and reason for every problem', () => {
    const problems = result.errors.map((e) => `${e.row}|${e.column ?? '-'}|${e.reason}`);
    expect(problems).toEqual([
      '4|-|expected 5 fields, found 4',
      "3|temp|expected a number, found 'abc'",
      '5|temp|-60 is below the minimum -40',
      "5|weather|'hail' is not one of the allowed values (rain, sun)",
      '6|date|is missing and the schema does not allow it',
      "7|date|expected a date (YYYY-MM-DD), found '2012-13-45'",
      '8|count|expected a whole number, found 2.5',
      '10|temp|51 is above the maximum 50',
    ]);
    expect(result.errors.every((e) => e.source === 'batch.csv')).toBe(true);
  });

  it('lists rejected rows once each, sorted (reader errors included)', () => {
    expect(result.rejectedRows).toEqual([3, 4, 5, 6, 7, 8, 10]);
  });

  it('counts missing values per column among the rows read', () => {
    // rows read by the parser: lines 2,3,5,6,7,8,9,10 (line 4 is ragged)
    expect(result.missing).toEqual({ date: 1, temp: 1, count: 1, weather: 0, note: 2 });
    expect(result.batchErrors).toEqual([]);
  });

  it('reports a missing column as a batch error and checks no rows', () => {
    const t = parseCsv('date,weather\n2012-01-01,rain\n', 'nocol.csv');
    const r = validateTable(t, weatherSchema);
    expect(r.batchErrors).toEqual([
      "column 'temp' is missing (the file has: date, weather)",
      "column 'count' is missing (the file has: date, weather)",
      "column 'note' is missing (the file has: date, weather)",
    ]);
    expect(r.rows).toEqual([]);
    expect(r.errors).toEqual([]);
    expect(r.missing).toEqual({ date: 0, temp: 0, count: 0, weather: 0, note: 0 });
  });

  it('reports a column missing in more than maxMissingRate of the rows', () => {
    // temp missing in 2 of 5 rows = 40% > 20%; note missing in 1 of 5 = 20%, not above.
    const t = parseCsv(
      'date,temp,count,weather,note\n2012-01-01,,1,sun,a\n2012-01-02,,1,sun,b\n2012-01-03,3,1,sun,\n2012-01-04,4,1,sun,d\n2012-01-05,5,1,sun,e\n',
      'holes.csv',
    );
    const r = validateTable(t, weatherSchema);
    expect(r.batchErrors).toEqual(["column 'temp' is missing in 40.0% of rows, above maxMissingRate 20.0%"]);
    expect(r.missing.temp).toBe(2);
    expect(r.missing.note).toBe(1);
    // The rows themselves are fine: the batch decision belongs to the caller.
    expect(r.rows).toHaveLength(5);
  });

  it('says when a file has a header but no rows', () => {
    const r = validateTable(parseCsv('date,temp,count,weather,note\n', 'header.csv'), weatherSchema);
    expect(r.batchErrors).toEqual(['the file has a header but no rows']);
    expect(r.rowsRead).toBe(0);
    expect(r.rows).toEqual([]);
  });

  it('does not call a file with only unreadable rows empty; lists them instead', () => {
    const r = validateTable(parseCsv('date,temp,count,weather,note\n1,2\n3\n', 'allbad.csv'), weatherSchema);
    expect(r.batchErrors).toEqual([]);
    expect(r.rejectedRows).toEqual([2, 3]);
    expect(r.rowsRead).toBe(2);
  });

  it('validates JSONL values by type: numbers stay numbers, wrong JSON types are named', () => {
    const t = parseJsonl(
      [
        '{"date":"2012-01-01","temp":5,"count":2,"weather":"sun","note":"n"}',
        '{"date":"2012-01-02","temp":true,"count":2,"weather":"sun"}',
        '{"date":20120103,"temp":"7","count":2,"weather":"rain"}',
      ].join('\n'),
      'b.jsonl',
    );
    const r = validateTable(t, { ...weatherSchema, maxMissingRate: 1 });
    expect(r.rows).toEqual([{ date: '2012-01-01', temp: 5, count: 2, weather: 'sun', note: 'n' }]);
    expect(r.errors.map((e) => `${e.row}|${e.column}|${e.reason}`)).toEqual([
      "2|temp|expected a number, found 'true'",
      "3|date|expected a date (YYYY-MM-DD), found '20120103'",
    ]);
  });

  it('accepts any text in a category without values and in a string field', () => {
    const schema = tableSchema.parse({
      fields: [
        { name: 'city', type: 'category' },
        { name: 'comment', type: 'string' },
      ],
    });
    const r = validateTable(parseCsv('city,comment\nAnywhere,"free, text"\n', 'c.csv'), schema);
    expect(r.rows).toEqual([{ city: 'Anywhere', comment: 'free, text' }]);
    expect(r.errors).toEqual([]);
  });
});

describe('describeRows', () => {
  it('says no rows, one row, or several', () => {
    expect(describeRows([])).toBe('no rows');
    expect(describeRows([7])).toBe('row 7');
    expect(describeRows([3, 5, 9])).toBe('rows 3, 5, 9');
  });

  it('shows at most `limit` rows and counts the rest', () => {
    const rows = Array.from({ length: 12 }, (_, i) => i + 2); // 2..13
    expect(describeRows(rows)).toBe('rows 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 and 2 more');
    expect(describeRows([4, 8, 15], 2)).toBe('rows 4, 8 and 1 more');
    expect(describeRows(Array.from({ length: 10 }, (_, i) => i + 1))).toBe('rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10');
  });
});

describe('inferSchema', () => {
  const table: RawTable = parseCsv(
    [
      'date,temp,count,weather,note,empty',
      '2012-01-01,1.5,3,rain,alpha,',
      '2012-01-02,-2,4,sun,beta,',
      '2012-01-03,,5,rain,gamma,',
      '2012-01-04,0.5,6,sun,delta,',
      '2012-01-05,3,7,rain,epsilon,',
    ].join('\n'),
    'ref.csv',
  );

  it('infers number, integer, date, category and string fields with nullability', () => {
    const schema = inferSchema(table, { maxCategories: 3 });
    expect(schema.fields).toEqual([
      { name: 'date', type: 'date', nullable: false },
      { name: 'temp', type: 'number', nullable: true, integer: false },
      { name: 'count', type: 'number', nullable: false, integer: true },
      { name: 'weather', type: 'category', values: ['rain', 'sun'], nullable: false },
      { name: 'note', type: 'string', nullable: false },
      { name: 'empty', type: 'category', values: undefined, nullable: true },
    ]);
  });

  it('sets maxMissingRate to twice the worst column, between 0.2 and 1', () => {
    // 'empty' is missing in every row: 2 x 1.0, capped at 1.
    expect(inferSchema(table).maxMissingRate).toBe(1);
    const noEmpty: RawTable = { ...table, columns: table.columns.slice(0, 5), rows: table.rows.map((r) => r.slice(0, 5)) };
    // worst is temp: 1 of 5 = 0.2, doubled 0.4.
    expect(inferSchema(noEmpty).maxMissingRate).toBeCloseTo(0.4, 12);
    const full: RawTable = { ...table, columns: ['count'], rows: table.rows.map((r) => [r[2]!]) };
    expect(inferSchema(full).maxMissingRate).toBe(0.2);
  });

  it('records observed min and max only with strictRanges', () => {
    const loose = inferSchema(table);
    const temp = loose.fields.find((f) => f.name === 'temp');
    expect(temp).not.toHaveProperty('min');
    expect(temp).not.toHaveProperty('max');
    const strict = inferSchema(table, { strictRanges: true });
    expect(strict.fields.find((f) => f.name === 'temp')).toMatchObject({ type: 'number', min: -2, max: 3 });
    expect(strict.fields.find((f) => f.name === 'count')).toMatchObject({ type: 'number', min: 3, max: 7 });
  });

  it('infers strict ranges from a 1,000,000-row reference (no data-sized spread)', () => {
    const n = 1_000_000;
    const rows: RawTable['rows'] = new Array(n);
    const rowNumbers: number[] = new Array(n);
    for (let i = 0; i < n; i++) {
      rows[i] = [((i * 7919) % n) - 500_000, i % 3 === 0 ? 'rain' : 'sun'];
      rowNumbers[i] = i + 2;
    }
    const big: RawTable = { source: 'big.csv', columns: ['delay', 'weather'], rows, rowNumbers, rowErrors: [] };
    const schema = inferSchema(big, { strictRanges: true });
    expect(schema.fields[0]).toEqual({ name: 'delay', type: 'number', nullable: false, integer: true, min: -500_000, max: 499_999 });
    expect(schema.fields[1]).toEqual({ name: 'weather', type: 'category', values: ['rain', 'sun'], nullable: false });
    expect(validateTable(big, tableSchema.parse(schema)).rejectedRows).toEqual([]);
  });

  it('with the default maxCategories a small text column is a category with sorted values', () => {
    const schema = inferSchema(table);
    expect(schema.fields.find((f) => f.name === 'note')).toEqual({
      name: 'note',
      type: 'category',
      values: ['alpha', 'beta', 'delta', 'epsilon', 'gamma'],
      nullable: false,
    });
  });

  it('produces a schema that tableSchema accepts and that its own table passes', () => {
    const schema = tableSchema.parse(inferSchema(table, { strictRanges: true }));
    const result = validateTable(table, schema);
    expect(result.errors).toEqual([]);
    expect(result.batchErrors).toEqual([]);
    expect(result.rows).toHaveLength(5);
  });

  it('with strictRanges, a value outside the reference range is rejected', () => {
    const schema = inferSchema(table, { strictRanges: true });
    const next = parseCsv('date,temp,count,weather,note,empty\n2012-02-01,3.5,5,sun,beta,\n', 'next.csv');
    const result = validateTable(next, schema);
    expect(result.errors.map((e) => e.reason)).toEqual(['3.5 is above the maximum 3']);
  });

  it('reads JSON types: numbers as numbers, booleans as a category', () => {
    const t = parseJsonl('{"x":1,"ok":true,"when":"2012-01-01T00:00:00Z"}\n{"x":2.5,"ok":false,"when":"2012-01-02T00:00:00Z"}\n', 'j.jsonl');
    expect(inferSchema(t).fields).toEqual([
      { name: 'x', type: 'number', nullable: false, integer: false },
      { name: 'ok', type: 'category', values: ['false', 'true'], nullable: false },
      { name: 'when', type: 'date', nullable: false },
    ]);
  });
});
