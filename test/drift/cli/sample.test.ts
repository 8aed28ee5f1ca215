import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { readColumnTable } from '../../../src/data/read-columns';
import { buildSamples, readSamples } from '../../../src/drift/sample';

const FIX = 'test/fixtures/drift/cli/';
const { write } = tempFiles('perennial-sample-');
/** Text written to a file and read by the engine, named `source` in errors. */
async function file(text: string, source: string, columns?: string[]) {
  return readColumnTable(write(source, text), { source, columns });
}
const csv = (text: string, source = 'mem.csv') => file(text, source);
const typesOf = (pair: ReturnType<typeof buildSamples>) => Object.fromEntries(pair.reference.columns.map((c) => [c.name, c.type]));

describe('column types (Evidently: integer columns with at most 5 distinct values are categorical)', () => {
  it('infers numerical, categorical, small-integer categorical and leaves dates out', async () => {
    const ref = await csv(
      'f,i5,i6,s,d,b\n0.5,1,1,a,2024-01-01,true\n1.5,2,2,b,2024-01-02,false\n2,3,3,a,2024-01-03,true\n3,4,4,c,2024-01-04,true\n4,5,5,a,2024-01-05,false\n5,5,6,b,2024-01-06,true\n',
    );
    const pair = buildSamples(ref, ref);
    expect(typesOf(pair)).toEqual({ f: 'numerical', i5: 'categorical', i6: 'numerical', s: 'categorical', b: 'categorical' });
    expect(pair.skipped).toEqual([{ name: 'd', reason: expect.stringContaining('datetime') }]);
    const i5 = pair.reference.columns.find((c) => c.name === 'i5')!;
    expect(i5.values).toEqual(['1', '2', '3', '4', '5', '5']);
    const f = pair.reference.columns.find((c) => c.name === 'f')!;
    expect(f.values).toBeInstanceOf(Float64Array);
  });

  it('counts distinct integers in the reference (the current one only when the reference has none)', async () => {
    const ref = await csv('k\n1\n2\n1\n');
    const cur = await csv('k\n1\n2\n3\n4\n5\n6\n7\n');
    expect(typesOf(buildSamples(ref, cur))).toEqual({ k: 'categorical' });
    expect(typesOf(buildSamples(cur, ref))).toEqual({ k: 'numerical' });
    expect(typesOf(buildSamples(await csv('k\n\n\n'), cur))).toEqual({ k: 'numerical' });
  });

  it('lets the caller override the type', async () => {
    const ref = await csv('k,z\n1,10\n2,20\n1,30\n');
    const pair = buildSamples(ref, ref, { types: { k: 'numerical', z: 'categorical' } });
    expect(typesOf(pair)).toEqual({ k: 'numerical', z: 'categorical' });
    expect(pair.current.columns[1]!.values).toEqual(['10', '20', '30']);
  });

  it('names file, row and column when a column typed numerical holds text', async () => {
    const ref = await csv('k,z\n1,a\n2,\n1,2024-01-01\n', 'ref.csv');
    expect(() => buildSamples(ref, ref, { types: { z: 'numerical' } })).toThrow("ref.csv, row 2, column 'z': 'a' is not a number, and the column is numerical");
    const dates = await csv('z\n3\n\n2024-01-01\n', 'dates.csv');
    expect(() => buildSamples(dates, dates, { types: { z: 'numerical' } })).toThrow("dates.csv, row 4, column 'z': '2024-01-01' is not a number");
  });

  it('builds only the columns asked for, yet knows every name', async () => {
    const table = await file('a,b,c\n1,2,3\n', 'abc.csv', ['c', 'a']);
    expect([...table.columns.keys()]).toEqual(['c', 'a']);
    expect(table.names).toEqual(['a', 'b', 'c']);
    await expect(file('a,b,c\n1,2,3\n', 'abc.csv', ['c', 'nope'])).rejects.toThrow("abc.csv, column 'nope': no column 'nope'; the file has: a, b, c");
  });

  it('keeps missing values as NaN / null, never dropped', async () => {
    const ref = await csv('x,c\n1.5,a\n,b\n2.5,\n');
    const pair = buildSamples(ref, ref);
    expect(Array.from(pair.reference.columns[0]!.values as Float64Array)).toEqual([1.5, NaN, 2.5]);
    expect(pair.reference.columns[1]!.values).toEqual(['a', 'b', null]);
  });

  it('treats "1" and "1.0" as one category, JSON numbers and CSV text alike', async () => {
    const ref = await csv('k\n1\n2.0\n');
    const cur = await file('{"k":1.0}\n{"k":2}\n', 'mem.jsonl');
    const pair = buildSamples(ref, cur);
    expect(pair.reference.columns[0]!.values).toEqual(['1', '2']);
    expect(pair.current.columns[0]!.values).toEqual(['1', '2']);
  });
});

describe('data errors name file, row and column', () => {
  it('text in a numeric column', async () => {
    const ref = await csv('x\n1.5\n2.5\n3.5\n', 'ref.csv');
    const cur = await csv('x\n1.5\nabout 3\n3.5\n', 'cur.csv');
    expect(() => buildSamples(ref, cur)).toThrow("cur.csv, row 3, column 'x': text 'about 3' in a numeric column");
  });

  it('a text column with a few numbers is categorical, not an error', async () => {
    const ref = await csv('c\nred\nblue\n3\n');
    expect(typesOf(buildSamples(ref, ref))).toEqual({ c: 'categorical' });
  });

  it('a row with the wrong number of fields', async () => {
    await expect(readSamples(FIX + 'ref.csv', FIX + 'ragged.csv')).rejects.toThrow('ragged.csv, row 4: expected 4 fields, found 5');
  });

  it('a column that does not exist, in either file', async () => {
    await expect(readSamples(FIX + 'ref.csv', FIX + 'cur_shift.csv', { columns: ['x', 'nope'] })).rejects.toThrow(
      "ref.csv, column 'nope': no column 'nope'; the file has: x, y, color, level",
    );
    const ref = await csv('x,only_ref\n1,2\n', 'ref.csv');
    const cur = await csv('x\n1\n', 'cur.csv');
    expect(() => buildSamples(ref, cur, { columns: ['only_ref'] })).toThrow("cur.csv, column 'only_ref': no column 'only_ref'");
    // without --columns, a column missing from the current file is skipped, as Evidently does
    expect(buildSamples(ref, cur).skipped).toEqual([{ name: 'only_ref', reason: 'not in the current file cur.csv' }]);
  });

  it('a date column asked for by name', async () => {
    const t = await csv('d,x\n2024-01-01,1\n2024-01-02,2\n', 'ref.csv');
    expect(() => buildSamples(t, t, { columns: ['d'] })).toThrow("ref.csv, column 'd': the column holds dates");
  });
});

describe('files', () => {
  it('reads CSV, JSONL and Parquet to the same samples', async () => {
    const a = await readSamples(FIX + 'ref.csv', FIX + 'cur_shift.csv');
    const b = await readSamples(FIX + 'ref.jsonl', FIX + 'cur_shift.parquet');
    const c = await readSamples(FIX + 'ref.parquet', FIX + 'cur_shift.jsonl');
    for (const other of [b, c]) {
      expect(other.reference.columns.map((x) => [x.name, x.type])).toEqual(a.reference.columns.map((x) => [x.name, x.type]));
      const values = (v: Float64Array | (string | null)[]): unknown[] => Array.from<unknown>(v);
      for (const [i, col] of a.current.columns.entries()) expect(values(other.current.columns[i]!.values)).toEqual(values(col.values));
      for (const [i, col] of a.reference.columns.entries()) expect(values(other.reference.columns[i]!.values)).toEqual(values(col.values));
    }
    expect(typesOf(a)).toEqual({ x: 'numerical', y: 'numerical', color: 'categorical', level: 'categorical' });
  });
});
