/** Reader and validation cases found in review. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { applyWindow, formatCsv, parseCsv, parseJsonl, parseTable, validateTable, type TableSchema } from '../../../src/data';

describe('readers', () => {
  it('a quoted field spanning lines is reported at the line where its record starts', () => {
    const table = parseCsv('a,b\n1,"x\ny"\n2\n3,z\n', 'f.csv');
    expect(table.rowNumbers).toEqual([2, 5]);
    expect(table.rowErrors).toEqual([{ source: 'f.csv', row: 4, reason: 'expected 2 fields, found 1' }]);
  });

  it('JSON Lines with a byte-order mark read like CSV with one', () => {
    const table = parseJsonl('\uFEFF{"a":1}\n{"a":2}\n', 'f.jsonl');
    expect(table.rowErrors).toEqual([]);
    expect(table.rows).toEqual([[1], [2]]);
  });

  it('a .gz batch is decompressed; gzip-named text that is not gzip is refused by name', async () => {
    const table = await parseTable(gzipSync('a,b\n1,2\n'), 'batch.CSV.GZ');
    expect(table.columns).toEqual(['a', 'b']);
    expect(table.rows).toEqual([['1', '2']]);
    await expect(parseTable(Buffer.from('a,b\n'), 'x.csv.gz')).rejects.toThrow(/x\.csv\.gz: named \.gz but not gzip data/);
  });

  it('cells with edge spaces survive a CSV round trip', () => {
    const text = formatCsv(['a'], [[' x '], ['y']]);
    expect(parseCsv(text, 'f.csv').rows).toEqual([[' x '], ['y']]);
  });
});

describe('validation and windows', () => {
  it('whitespace-only values count as missing', () => {
    const schema: TableSchema = { fields: [{ name: 'a', type: 'string', nullable: true }], maxMissingRate: 0.2 };
    const result = validateTable(parseJsonl('{"a":" "}\n{"a":" "}\n{"a":"x"}\n', 'f.jsonl'), schema);
    expect(result.missing.a).toBe(2);
    expect(result.batchErrors[0]).toMatch(/column 'a' is missing in 66\.7% of rows, above maxMissingRate 20\.0%/);
  });

  it('a days window counts whole UTC days, also for date-times', () => {
    const rows = [{ t: '2012-01-09T23:00:00Z' }, { t: '2012-01-10T01:00:00Z' }, { t: '2012-01-10T20:00:00Z' }];
    expect(applyWindow(rows, { kind: 'days', days: 1 }, 't').map((r) => r.t)).toEqual(['2012-01-10T01:00:00Z', '2012-01-10T20:00:00Z']);
    expect(applyWindow(rows, { kind: 'days', days: 2 }, 't')).toHaveLength(3);
  });
});
