import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatCsv, parseCsv } from '../../../src/data/csv';
import { formatJsonl, parseJsonl } from '../../../src/data/jsonl';
import { formatOf, parseTable, readTableFile } from '../../../src/data/read';
import { DataError } from '../../../src/data/table';

/** The thrown error, so a test can check its class and message together. */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

describe('DataError', () => {
  it('names file, row and column before the reason', () => {
    const error = new DataError('expected a number', { source: 'batch.csv', row: 7, column: 'temp' });
    expect(error.message).toBe("batch.csv, row 7, column 'temp': expected a number");
    expect(error.name).toBe('DataError');
    expect(error).toBeInstanceOf(Error);
    expect([error.source, error.row, error.column]).toEqual(['batch.csv', 7, 'temp']);
  });

  it('leaves out the parts it does not know', () => {
    expect(new DataError('the file is empty', { source: 'a.csv' }).message).toBe('a.csv: the file is empty');
    expect(new DataError('bad', { source: 'a.csv', column: 'x' }).message).toBe("a.csv, column 'x': bad");
    expect(new DataError('bad', { source: 'a.csv', row: 2 }).message).toBe('a.csv, row 2: bad');
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and newlines inside', () => {
    const text = 'id,comment,city\n1,"rain, then sun",Seattle\n2,"she said ""wet""",New York\n3,"line one\nline two",Seattle\n';
    const table = parseCsv(text, 'q.csv');
    expect(table.columns).toEqual(['id', 'comment', 'city']);
    expect(table.rows).toEqual([
      ['1', 'rain, then sun', 'Seattle'],
      ['2', 'she said "wet"', 'New York'],
      ['3', 'line one\nline two', 'Seattle'],
    ]);
    expect(table.rowErrors).toEqual([]);
    expect(table.source).toBe('q.csv');
  });

  it('drops a UTF-8 byte order mark from the first column name (string and Buffer input)', () => {
    const text = '\uFEFFdate,temp\n2012-01-01,5\n';
    expect(parseCsv(text, 'bom.csv').columns).toEqual(['date', 'temp']);
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('date,temp\n2012-01-01,5\n')]);
    const table = parseCsv(bytes, 'bom.csv');
    expect(table.columns).toEqual(['date', 'temp']);
    expect(table.columns[0]!.charCodeAt(0)).toBe('d'.charCodeAt(0));
  });

  it('turns empty cells into null, keeps text as strings', () => {
    const table = parseCsv('a,b,c\n1,,x\n,,\n', 'e.csv');
    expect(table.rows).toEqual([
      ['1', null, 'x'],
      [null, null, null],
    ]);
  });

  it('trims spaces around unquoted cells but keeps spaces inside quotes', () => {
    const table = parseCsv('a,b\n  1 , " 2 " \n', 's.csv');
    expect(table.rows).toEqual([['1', ' 2 ']]);
  });

  it('accepts CRLF line ends and numbers rows by file line (header = line 1)', () => {
    const table = parseCsv('a,b\r\n1,2\r\n3,4\r\n', 'crlf.csv');
    expect(table.rows).toEqual([
      ['1', '2'],
      ['3', '4'],
    ]);
    expect(table.rowNumbers).toEqual([2, 3]);
  });

  it('collects ragged rows as row errors with their file line, never padding them', () => {
    const table = parseCsv('a,b\n1,2\n3\n4,5,6\n7,8\n', 'ragged.csv');
    expect(table.rows).toEqual([
      ['1', '2'],
      ['7', '8'],
    ]);
    expect(table.rowNumbers).toEqual([2, 5]);
    expect(table.rowErrors).toEqual([
      { source: 'ragged.csv', row: 3, reason: 'expected 2 fields, found 1' },
      { source: 'ragged.csv', row: 4, reason: 'expected 2 fields, found 3' },
    ]);
  });

  it('counts skipped blank lines in the line numbers', () => {
    const table = parseCsv('a,b\n\n1,2\n\n3,4,5\n', 'blank.csv');
    expect(table.rowNumbers).toEqual([3]);
    expect(table.rowErrors.map((e) => e.row)).toEqual([5]);
  });

  it('numbers rows after a multi-line quoted field by their real file line', () => {
    // Line 1 header, lines 2-4 one record, line 5 ragged, line 6 good.
    const table = parseCsv('a,b\n"first\nsecond\nthird",2\n"x","y","z"\n4,5\n', 'multi.csv');
    expect(table.rows).toEqual([
      ['first\nsecond\nthird', '2'],
      ['4', '5'],
    ]);
    expect(table.rowErrors).toEqual([{ source: 'multi.csv', row: 5, reason: 'expected 2 fields, found 3' }]);
    expect(table.rowNumbers[1]).toBe(6);
  });

  it("with onRowError 'throw' stops at the first ragged row, naming file and line", () => {
    const error = caught(() => parseCsv('a,b\n1,2\n3\n4\n', 'strict.csv', { onRowError: 'throw' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('strict.csv, row 3: expected 2 fields, found 1');
  });

  it('refuses a header that names a column twice', () => {
    const error = caught(() => parseCsv('date,temp,temp\n2012-01-01,1,2\n', 'dup.csv'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe("dup.csv, row 1: the header names column 'temp' twice");
  });

  it('refuses an empty file (also blank lines only, or only a BOM), naming it', () => {
    for (const text of ['', '  \n\n', '\uFEFF']) {
      const error = caught(() => parseCsv(text, 'empty.csv'));
      expect(error).toBeInstanceOf(DataError);
      expect(error.message).toBe('empty.csv: the file is empty (no header, no rows)');
    }
  });

  it('reports broken quoting as invalid CSV with file and line', () => {
    const error = caught(() => parseCsv('a,b\n1,2\n3,"open\n', 'broken.csv'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^broken\.csv, row \d+: not valid CSV: /);
    expect((error as DataError).source).toBe('broken.csv');
  });

  it('a header alone gives columns and no rows', () => {
    const table = parseCsv('a,b,c\n', 'header.csv');
    expect(table.columns).toEqual(['a', 'b', 'c']);
    expect(table.rows).toEqual([]);
    expect(table.rowErrors).toEqual([]);
  });
});

describe('formatCsv', () => {
  it('quotes only cells that need it and writes null as an empty cell', () => {
    const text = formatCsv(
      ['id', 'note', 'n'],
      [
        [1, 'plain', 2.5],
        [2, 'a,b', null],
        [3, 'say "hi"', true],
        [4, 'two\nlines', 0],
      ],
    );
    expect(text).toBe('id,note,n\n1,plain,2.5\n2,"a,b",\n3,"say ""hi""",true\n4,"two\nlines",0\n');
  });

  it('quotes header names that need it', () => {
    expect(formatCsv(['a,b', 'c'], [])).toBe('"a,b",c\n');
  });

  it('round-trips through parseCsv (strings and nulls)', () => {
    const columns = ['date', 'comment', 'city'];
    const rows = [
      ['2012-01-01', 'rain, heavy', 'Seattle'],
      ['2012-01-02', 'quote " inside', null],
      ['2012-01-03', 'multi\nline\r\ntext', 'New York'],
      [null, 'x', 'y'],
    ];
    const table = parseCsv(formatCsv(columns, rows), 'round.csv');
    expect(table.columns).toEqual(columns);
    expect(table.rows).toEqual(rows);
    expect(table.rowErrors).toEqual([]);
  });
});

describe('parseJsonl', () => {
  it('collects a line that is not JSON and a line that is not an object, with their line numbers', () => {
    const text = '{"a":1}\nnot json\n[1,2]\n42\nnull\n"text"\n{"a":2}\n';
    const table = parseJsonl(text, 'b.jsonl');
    expect(table.rows).toEqual([[1], [2]]);
    expect(table.rowNumbers).toEqual([1, 7]);
    expect(table.rowErrors.map((e) => [e.row, e.reason.startsWith('not valid JSON') ? 'json' : e.reason])).toEqual([
      [2, 'json'],
      [3, 'expected a JSON object'],
      [4, 'expected a JSON object'],
      [5, 'expected a JSON object'],
      [6, 'expected a JSON object'],
    ]);
    expect(table.rowErrors.every((e) => e.source === 'b.jsonl')).toBe(true);
  });

  it('takes the union of keys in order of first appearance; missing keys are null', () => {
    const text = '{"date":"2012-01-01","temp":5}\n{"temp":6,"date":"2012-01-02"}\n{"date":"2012-01-03","wind":3.5}\n';
    const table = parseJsonl(text, 'late.jsonl');
    expect(table.columns).toEqual(['date', 'temp', 'wind']);
    expect(table.rows).toEqual([
      ['2012-01-01', 5, null],
      ['2012-01-02', 6, null],
      ['2012-01-03', null, 3.5],
    ]);
  });

  it('keeps JSON types and writes nested values as JSON text', () => {
    const table = parseJsonl('{"n":1.5,"b":false,"s":"x","nil":null,"obj":{"k":[1,2]},"arr":["a"]}\n', 'nested.jsonl');
    expect(table.rows).toEqual([[1.5, false, 'x', null, '{"k":[1,2]}', '["a"]']]);
  });

  it('skips blank lines but counts them, and accepts CRLF', () => {
    const table = parseJsonl('{"a":1}\r\n\r\n{"a":2}\r\n', 'crlf.jsonl');
    expect(table.rows).toEqual([[1], [2]]);
    expect(table.rowNumbers).toEqual([1, 3]);
  });

  it("with onRowError 'throw' stops at the first bad line", () => {
    const error = caught(() => parseJsonl('{"a":1}\n[1]\n', 'strict.jsonl', { onRowError: 'throw' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('strict.jsonl, row 2: expected a JSON object');
  });

  it('refuses an empty file, naming it', () => {
    const error = caught(() => parseJsonl(' \n\n', 'empty.jsonl'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('empty.jsonl: the file is empty (no rows)');
  });
});

describe('formatJsonl', () => {
  it('writes one object per line with every column, null when missing', () => {
    expect(
      formatJsonl(
        ['a', 'b'],
        [
          [1, null],
          ['x', true],
        ],
      ),
    ).toBe('{"a":1,"b":null}\n{"a":"x","b":true}\n');
  });

  it('round-trips through parseJsonl, types included', () => {
    const columns = ['date', 'temp', 'rain', 'note'];
    const rows = [
      ['2012-01-01', 5.5, true, 'a "quoted" note'],
      ['2012-01-02', null, false, null],
      ['2012-01-03', -3, null, 'line\nbreak'],
    ];
    const table = parseJsonl(formatJsonl(columns, rows), 'round.jsonl');
    expect(table.columns).toEqual(columns);
    expect(table.rows).toEqual(rows);
    expect(table.rowNumbers).toEqual([1, 2, 3]);
  });
});

describe('formatOf', () => {
  it('picks the format from the extension, case-insensitively, ignoring .gz', () => {
    expect(formatOf('batch.csv')).toBe('csv');
    expect(formatOf('dir/BATCH.CSV')).toBe('csv');
    expect(formatOf('batch.jsonl')).toBe('jsonl');
    expect(formatOf('batch.ndjson')).toBe('jsonl');
    expect(formatOf('datasets/w/incoming/part-0.parquet')).toBe('parquet');
    expect(formatOf('batch.csv.gz')).toBe('csv');
  });

  it('refuses an unknown extension, naming the file and listing the supported ones', () => {
    for (const [name, ext] of [
      ['data.txt', '.txt'],
      ['data.json', '.json'],
      ['README', '(none)'],
    ] as const) {
      const error = caught(() => formatOf(name));
      expect(error).toBeInstanceOf(DataError);
      expect(error.message).toBe(`${name}: unsupported file type '${ext}': use .csv, .jsonl (or .ndjson) or .parquet`);
    }
  });
});

describe('parseTable and readTableFile', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perennial-read-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses CSV and JSONL bytes by the name', async () => {
    const csv = await parseTable(Buffer.from('a,b\n1,2\n'), 'x.csv');
    expect(csv.rows).toEqual([['1', '2']]);
    const jsonl = await parseTable(Buffer.from('{"a":1,"b":2}\n'), 'x.ndjson');
    expect(jsonl.rows).toEqual([[1, 2]]);
  });

  it('refuses zero bytes naming the file, and an unknown type before reading', async () => {
    await expect(parseTable(Buffer.alloc(0), 'e.jsonl')).rejects.toThrow('e.jsonl: the file is empty');
    await expect(parseTable(Buffer.from('a'), 'e.xlsx')).rejects.toThrow("e.xlsx: unsupported file type '.xlsx'");
  });

  it('reads a local file, rows named after its path', async () => {
    const path = join(dir, 'w.csv');
    await writeFile(path, 'date,temp\n2012-01-01,5\n2012-01-02\n');
    const table = await readTableFile(path);
    expect(table.source).toBe(path);
    expect(table.rows).toEqual([['2012-01-01', '5']]);
    expect(table.rowErrors).toEqual([{ source: path, row: 3, reason: 'expected 2 fields, found 1' }]);
  });

  it('says which file cannot be read and why', async () => {
    const path = join(dir, 'missing.csv');
    const error = await readTableFile(path).catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe(`${path}: cannot read the file: ENOENT`);
  });
});
