/** Reader and validation cases found in review, through the engine. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { rowsOf } from '../../../src/data/columns';
import { formatCsv } from '../../../src/data/csv';
import { literal, withConnection } from '../../../src/data/engine';
import { readColumnTable } from '../../../src/data/read-columns';
import { tableSchema, type TableSchema } from '../../../src/data/schema';
import { buildSnapshot, readSnapshotTable } from '../../../src/data/snapshot';
import { validateFile } from '../../../src/data/validate';

const { fresh, write } = tempFiles('perennial-read-fixes-');

/** `content` read by the engine as the file `name`, unreadable rows collected. */
const read = (name: string, content: string | Buffer) => readColumnTable(write(name, content), { source: name, onRowError: 'collect' });

describe('readers', () => {
  it('a quoted field spanning lines is reported at the line where its record starts', async () => {
    const table = await read('f.csv', 'a,b\n1,"x\ny"\n2\n3,z\n');
    expect(Array.from({ length: table.rows }, (_, i) => table.rowNumber(i))).toEqual([2, 5]);
    expect(rowsOf(table)).toEqual([
      { a: 1, b: 'x\ny' },
      { a: 3, b: 'z' },
    ]);
    expect(table.rowErrors).toEqual([{ source: 'f.csv', row: 4, reason: 'expected 2 fields, found 1' }]);
  });

  it('JSON Lines with a byte-order mark read like CSV with one', async () => {
    const table = await read('f.jsonl', '\uFEFF{"a":1}\n{"a":2}\n');
    expect(table.rowErrors).toEqual([]);
    expect(table.names).toEqual(['a']);
    expect(rowsOf(table)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('a .gz batch is decompressed; gzip-named text that is not gzip is refused by name', async () => {
    const table = await read('batch.CSV.GZ', gzipSync('a,b\n1,2\n'));
    expect(table.names).toEqual(['a', 'b']);
    expect(rowsOf(table)).toEqual([{ a: 1, b: 2 }]);
    const jsonl = await read('batch.jsonl.gz', gzipSync('{"a":"x"}\n\n{"a":"y"}\n'));
    expect(rowsOf(jsonl)).toEqual([{ a: 'x' }, { a: 'y' }]);
    expect([jsonl.rowNumber(0), jsonl.rowNumber(1)]).toEqual([1, 3]);
    await expect(read('x.csv.gz', Buffer.from('a,b\n'))).rejects.toThrow(/x\.csv\.gz: named \.gz but not gzip data/);
  });

  it('cells with edge spaces survive a CSV round trip', async () => {
    const text = formatCsv(['a'], [[' x '], ['y']]);
    expect(rowsOf(await read('f.csv', text))).toEqual([{ a: ' x ' }, { a: 'y' }]);
  });

  it('skips spaces and tabs around quoted fields (as the old reader did) and keeps the value between the quotes as written', async () => {
    const table = await read('around.csv', 'a,b,c\n1, "x, y" ,\t" z "\t\n2,"multi\nline" , w\r\n3,4,"""q"""\n');
    expect(rowsOf(table)).toEqual([
      { a: 1, b: 'x, y', c: ' z ' },
      { a: 2, b: 'multi\nline', c: 'w' },
      { a: 3, b: '4', c: '"q"' },
    ]);
    expect(Array.from({ length: table.rows }, (_, i) => table.rowNumber(i))).toEqual([2, 3, 5]);
    expect(table.rowErrors).toEqual([]);
  });

  it('a quoted value of whitespace only is missing, and stays a row in a one-column file', async () => {
    const table = await read('one.csv', 'a\n" \t "\n\nx\n');
    expect(rowsOf(table)).toEqual([{ a: null }, { a: 'x' }]);
    expect([table.rowNumber(0), table.rowNumber(1)]).toEqual([2, 4]);
  });

  it('JSON Lines and Parquet strings keep their edge spaces; whitespace only is missing', async () => {
    expect(rowsOf(await read('s.jsonl', '{"a":" x ","b":"\\t"}\n{"a":"y","b":"z"}\n'))).toEqual([
      { a: ' x ', b: null },
      { a: 'y', b: 'z' },
    ]);
    const path = fresh('strings.parquet');
    await withConnection((c) => c.run(`COPY (SELECT * FROM (VALUES (' x ', '\t'), ('y', 'z')) t(a, b)) TO ${literal(path)} (FORMAT parquet)`));
    expect(rowsOf(await readColumnTable(path, { source: 'strings.parquet' }))).toEqual([
      { a: ' x ', b: null },
      { a: 'y', b: 'z' },
    ]);
  });
});

describe('validation and windows', () => {
  const stringSchema: TableSchema = { fields: [{ name: 'a', type: 'string', nullable: true }], maxMissingRate: 0.2 };

  it('whitespace-only values count as missing', async () => {
    const result = await validateFile(write('f.jsonl', '{"a":" "}\n{"a":" "}\n{"a":"x"}\n'), stringSchema, { source: 'f.jsonl' });
    expect(result.missing.a).toBe(2);
    expect(result.batchErrors[0]).toMatch(/column 'a' is missing in 66\.7% of rows, above maxMissingRate 20\.0%/);
  });

  it('whitespace-only values count as missing whatever the whitespace (tabs too), in CSV and JSON Lines', async () => {
    const csv = await validateFile(write('t.csv', 'a,b\n\t,1\n" \t ",2\nx,3\n'), stringSchema, { source: 't.csv' });
    expect(csv.missing.a).toBe(2);
    const jsonl = await validateFile(write('t.jsonl', '{"a":"\\t"}\n{"a":" \\t "}\n{"a":"x"}\n'), stringSchema, { source: 't.jsonl' });
    expect(jsonl.missing.a).toBe(2);
  });

  it('a days window counts whole UTC days, also for date-times', async () => {
    const schema = tableSchema.parse({ fields: [{ name: 't', type: 'date' }] });
    const input = { path: write('w.csv', 't\n2012-01-09T23:00:00Z\n2012-01-10T01:00:00Z\n2012-01-10T20:00:00Z\n'), source: 'w.csv' };
    const window = async (days: number) => {
      const out = fresh(`window-${days}.parquet`);
      const built = await buildSnapshot([input], schema, { window: { kind: 'days', days }, timeColumn: 't', out });
      return { built, rows: rowsOf(await readSnapshotTable(out, schema, `window-${days}.parquet`)).map((r) => r.t) };
    };
    const one = await window(1);
    expect(one.rows).toEqual(['2012-01-10T01:00:00', '2012-01-10T20:00:00']);
    expect(one.built.rows).toBe(2);
    const two = await window(2);
    expect(two.rows).toHaveLength(3);
  });
});
