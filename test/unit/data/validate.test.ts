/**
 * Checking files against a schema through the engine (validateFile,
 * readValidated) and inferring a schema from a table read by it (inferSchema).
 * Each case writes its text to a temp file and names it `source`, so results
 * and messages show the names the assertions expect.
 */
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { rowsOf, type ColumnTable } from '../../../src/data/columns';
import { readColumnTable, type ReadColumnsOptions } from '../../../src/data/read-columns';
import { inferSchema, isDateText, tableSchema, toNumber, type TableSchema } from '../../../src/data/schema';
import { describeRows, readValidated, validateFile } from '../../../src/data/validate';

const { write } = tempFiles('perennial-validate-');

/** `content` checked as the file `name`: the result and the accepted rows, typed. */
const validated = (name: string, content: string, schema: TableSchema) => readValidated(write(name, content), schema, { source: name });
const validate = (name: string, content: string, schema: TableSchema) => validateFile(write(name, content), schema, { source: name });
const read = (name: string, content: string, options: ReadColumnsOptions = {}) => readColumnTable(write(name, content), { source: name, ...options });

/** The file line of every row. */
const lines = (table: ColumnTable): number[] => Array.from({ length: table.rows }, (_, i) => table.rowNumber(i));

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

describe('validateFile and readValidated', () => {
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
  const schema: TableSchema = { ...weatherSchema, maxMissingRate: 1 };
  let once: ReturnType<typeof validated> | undefined;
  /** Checked once, when a test first asks. */
  const checked = () => (once ??= validated('batch.csv', csv + '\n', schema));

  it('keeps good rows, typed, with their file line', async () => {
    const { result, table } = await checked();
    expect(table).not.toBeNull();
    expect(table!.columns.get('date')!.kind).toBe('date');
    expect(rowsOf(table!)).toEqual([
      { date: '2012-01-01', temp: 5.5, count: 3, weather: 'rain', note: 'first' },
      { date: '2012-01-09', temp: null, count: null, weather: 'sun', note: null },
    ]);
    expect(lines(table!)).toEqual([2, 9]);
    expect(result.rowsAccepted).toBe(2);
    expect(result.rowsRead).toBe(9);
    expect(result.source).toBe('batch.csv');
    expect(table!.source).toBe('batch.csv');
  });

  it('names row, column and reason for every problem, in file order', async () => {
    const { result } = await checked();
    const problems = result.errors.map((e) => `${e.row}|${e.column ?? '-'}|${e.reason}`);
    expect(problems).toEqual([
      "3|temp|expected a number, found 'abc'",
      '4|-|expected 5 fields, found 4',
      '5|temp|-60 is below the minimum -40',
      "5|weather|'hail' is not one of the allowed values (rain, sun)",
      '6|date|is missing and the schema does not allow it',
      "7|date|expected a date (YYYY-MM-DD), found '2012-13-45'",
      '8|count|expected a whole number, found 2.5',
      '10|temp|51 is above the maximum 50',
    ]);
    expect(result.errors.every((e) => e.source === 'batch.csv')).toBe(true);
  });

  it('lists rejected rows once each, sorted (reader errors included)', async () => {
    const { result } = await checked();
    expect(result.rejectedRows).toEqual([3, 4, 5, 6, 7, 8, 10]);
  });

  it('counts missing values per column among the rows read', async () => {
    const { result } = await checked();
    // rows read by the reader: lines 2,3,5,6,7,8,9,10 (line 4 is ragged)
    expect(result.missing).toEqual({ date: 1, temp: 1, count: 1, weather: 0, note: 2 });
    expect(result.batchErrors).toEqual([]);
    expect(result.extraColumns).toEqual([]);
  });

  it('validateFile gives the same result as readValidated', async () => {
    expect(await validate('batch.csv', csv + '\n', schema)).toEqual((await checked()).result);
  });

  it('reports a missing column as a batch error and checks no rows', async () => {
    const { result, table } = await validated('nocol.csv', 'date,weather,extra\n2012-01-01,rain,1\n', weatherSchema);
    expect(result.batchErrors).toEqual([
      "column 'temp' is missing (the file has: date, weather, extra)",
      "column 'count' is missing (the file has: date, weather, extra)",
      "column 'note' is missing (the file has: date, weather, extra)",
    ]);
    expect(result.extraColumns).toEqual(['extra']);
    expect(result.rowsAccepted).toBe(0);
    expect(table).toBeNull();
    expect(result.errors).toEqual([]);
    expect(result.missing).toEqual({ date: 0, temp: 0, count: 0, weather: 0, note: 0 });
  });

  it('reports a column missing in more than maxMissingRate of the rows', async () => {
    // temp missing in 2 of 5 rows = 40% > 20%; note missing in 1 of 5 = 20%, not above.
    const r = await validate(
      'holes.csv',
      'date,temp,count,weather,note\n2012-01-01,,1,sun,a\n2012-01-02,,1,sun,b\n2012-01-03,3,1,sun,\n2012-01-04,4,1,sun,d\n2012-01-05,5,1,sun,e\n',
      weatherSchema,
    );
    expect(r.batchErrors).toEqual(["column 'temp' is missing in 40.0% of rows, above maxMissingRate 20.0%"]);
    expect(r.missing.temp).toBe(2);
    expect(r.missing.note).toBe(1);
    // The rows themselves are fine: the batch decision belongs to the caller.
    expect(r.rowsAccepted).toBe(5);
    expect(r.rejectedRows).toEqual([]);
    expect(r.errors).toEqual([]);
  });

  it('says when a file has a header but no rows', async () => {
    const { result, table } = await validated('header.csv', 'date,temp,count,weather,note\n', weatherSchema);
    expect(result.batchErrors).toEqual(['the file has a header but no rows']);
    expect(result.rowsRead).toBe(0);
    expect(result.rowsAccepted).toBe(0);
    expect(table).toBeNull();
  });

  it('does not call a file with only unreadable rows empty; lists them instead', async () => {
    const r = await validate('allbad.csv', 'date,temp,count,weather,note\n1,2\n3\n', weatherSchema);
    expect(r.batchErrors).toEqual([]);
    expect(r.rejectedRows).toEqual([2, 3]);
    expect(r.rowsRead).toBe(2);
    expect(r.rowsAccepted).toBe(0);
  });

  it('validates JSONL values by type: numbers (and numeric strings) are numbers, wrong JSON types are named', async () => {
    const { result, table } = await validated(
      'b.jsonl',
      [
        '{"date":"2012-01-01","temp":5,"count":2,"weather":"sun","note":"n"}',
        '{"date":"2012-01-02","temp":true,"count":2,"weather":"sun"}',
        '{"date":20120103,"temp":"7","count":2,"weather":"rain"}',
        '{"date":"2012-01-04","temp":"7","count":"3","weather":"rain"}',
      ].join('\n'),
      { ...weatherSchema, maxMissingRate: 1 },
    );
    expect(rowsOf(table!)).toEqual([
      { date: '2012-01-01', temp: 5, count: 2, weather: 'sun', note: 'n' },
      { date: '2012-01-04', temp: 7, count: 3, weather: 'rain', note: null },
    ]);
    expect(lines(table!)).toEqual([1, 4]);
    expect(result.errors.map((e) => `${e.row}|${e.column}|${e.reason}`)).toEqual([
      "2|temp|expected a number, found 'true'",
      "3|date|expected a date (YYYY-MM-DD), found '20120103'",
    ]);
    expect(result.errors.every((e) => e.source === 'b.jsonl')).toBe(true);
  });

  it('accepts any text in a category without values and in a string field', async () => {
    const schema = tableSchema.parse({
      fields: [
        { name: 'city', type: 'category' },
        { name: 'comment', type: 'string' },
      ],
    });
    const { result, table } = await validated('c.csv', 'city,comment\nAnywhere,"free, text"\n', schema);
    expect(rowsOf(table!)).toEqual([{ city: 'Anywhere', comment: 'free, text' }]);
    expect(result.errors).toEqual([]);
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
  const REF = [
    'date,temp,count,weather,note,empty',
    '2012-01-01,1.5,3,rain,alpha,',
    '2012-01-02,-2,4,sun,beta,',
    '2012-01-03,,5,rain,gamma,',
    '2012-01-04,0.5,6,sun,delta,',
    '2012-01-05,3,7,rain,epsilon,',
  ].join('\n');
  let once: ReturnType<typeof read> | undefined;
  /** Read once, when a test first asks. */
  const reference = () => (once ??= read('ref.csv', REF));

  it('infers number, integer, date, category and string fields with nullability', async () => {
    const schema = inferSchema(await reference(), { maxCategories: 3 });
    expect(schema.fields).toEqual([
      { name: 'date', type: 'date', nullable: false },
      { name: 'temp', type: 'number', nullable: true, integer: false },
      { name: 'count', type: 'number', nullable: false, integer: true },
      { name: 'weather', type: 'category', values: ['rain', 'sun'], nullable: false },
      { name: 'note', type: 'string', nullable: false },
      { name: 'empty', type: 'category', values: undefined, nullable: true },
    ]);
  });

  it('sets maxMissingRate to twice the worst column, between 0.2 and 1', async () => {
    // 'empty' is missing in every row: 2 x 1.0, capped at 1.
    expect(inferSchema(await reference()).maxMissingRate).toBe(1);
    // worst is temp: 1 of 5 = 0.2, doubled 0.4.
    const noEmpty = await read('ref.csv', REF, { columns: ['date', 'temp', 'count', 'weather', 'note'] });
    expect(inferSchema(noEmpty).maxMissingRate).toBeCloseTo(0.4, 12);
    const full = await read('ref.csv', REF, { columns: ['count'] });
    expect(inferSchema(full).fields.map((f) => f.name)).toEqual(['count']);
    expect(inferSchema(full).maxMissingRate).toBe(0.2);
  });

  it('records observed min and max only with strictRanges', async () => {
    const loose = inferSchema(await reference());
    const temp = loose.fields.find((f) => f.name === 'temp');
    expect(temp).not.toHaveProperty('min');
    expect(temp).not.toHaveProperty('max');
    const strict = inferSchema(await reference(), { strictRanges: true });
    expect(strict.fields.find((f) => f.name === 'temp')).toMatchObject({ type: 'number', min: -2, max: 3 });
    expect(strict.fields.find((f) => f.name === 'count')).toMatchObject({ type: 'number', min: 3, max: 7 });
  });

  it('infers strict ranges from a 1,000,000-row reference (no data-sized spread)', async () => {
    const n = 1_000_000;
    const delay = new Float64Array(n);
    const codes = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      delay[i] = ((i * 7919) % n) - 500_000;
      codes[i] = i % 3 === 0 ? 0 : 1;
    }
    const big: ColumnTable = {
      source: 'big.csv',
      rows: n,
      names: ['delay', 'weather'],
      columns: new Map([
        ['delay', { kind: 'number', values: delay }],
        ['weather', { kind: 'text', codes, dictionary: ['rain', 'sun'] }],
      ]),
      rowNumber: (i) => i + 2,
    };
    const schema = inferSchema(big, { strictRanges: true });
    expect(schema.fields[0]).toEqual({ name: 'delay', type: 'number', nullable: false, integer: true, min: -500_000, max: 499_999 });
    expect(schema.fields[1]).toEqual({ name: 'weather', type: 'category', values: ['rain', 'sun'], nullable: false });
    // The same rows written as a file pass the schema inferred from them.
    const text = new Array<string>(n + 1);
    text[0] = 'delay,weather';
    for (let i = 0; i < n; i++) text[i + 1] = `${delay[i]},${codes[i] === 0 ? 'rain' : 'sun'}`;
    const result = await validate('big.csv', text.join('\n') + '\n', tableSchema.parse(schema));
    expect(result.rejectedRows).toEqual([]);
    expect(result.batchErrors).toEqual([]);
    expect(result.rowsAccepted).toBe(n);
  }, 60_000);

  it('with the default maxCategories a small text column is a category with sorted values', async () => {
    const schema = inferSchema(await reference());
    expect(schema.fields.find((f) => f.name === 'note')).toEqual({
      name: 'note',
      type: 'category',
      values: ['alpha', 'beta', 'delta', 'epsilon', 'gamma'],
      nullable: false,
    });
  });

  it('produces a schema that tableSchema accepts and that its own file passes', async () => {
    const schema = tableSchema.parse(inferSchema(await reference(), { strictRanges: true }));
    const { result, table: accepted } = await validated('ref.csv', REF, schema);
    expect(result.errors).toEqual([]);
    expect(result.batchErrors).toEqual([]);
    expect(result.rowsAccepted).toBe(5);
    expect(accepted!.rows).toBe(5);
    expect(lines(accepted!)).toEqual([2, 3, 4, 5, 6]);
  });

  it('with strictRanges, a value outside the reference range is rejected', async () => {
    const schema = inferSchema(await reference(), { strictRanges: true });
    const result = await validate('next.csv', 'date,temp,count,weather,note,empty\n2012-02-01,3.5,5,sun,beta,\n', schema);
    expect(result.errors.map((e) => e.reason)).toEqual(['3.5 is above the maximum 3']);
  });

  it('reads JSON types: numbers as numbers, booleans as a category', async () => {
    const t = await read('j.jsonl', '{"x":1,"ok":true,"when":"2012-01-01T00:00:00Z"}\n{"x":2.5,"ok":false,"when":"2012-01-02T00:00:00Z"}\n');
    expect(inferSchema(t).fields).toEqual([
      { name: 'x', type: 'number', nullable: false, integer: false },
      { name: 'ok', type: 'category', values: ['false', 'true'], nullable: false },
      { name: 'when', type: 'date', nullable: false },
    ]);
  });
});
