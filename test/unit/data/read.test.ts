/**
 * Reading files through the engine (readColumnTable): CSV, JSON Lines, gzip,
 * the errors that name file, row and column, and the writers read back.
 * Each case writes its text to a temp file and names it `source`, so messages
 * show the names the assertions expect.
 */
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { rowsOf, type ColumnTable } from '../../../src/data/columns';
import { formatCsv } from '../../../src/data/csv';
import { formatOf } from '../../../src/data/format';
import { formatJsonl } from '../../../src/data/jsonl';
import { readColumnTable, type ReadColumnsOptions } from '../../../src/data/read-columns';
import { DataError } from '../../../src/data/table';

const { fresh, write } = tempFiles('perennial-read-');

/** `content` read by the engine as the file `name` (unreadable rows collected unless told otherwise). */
function read(name: string, content: string | Buffer, options: ReadColumnsOptions = {}) {
  return readColumnTable(write(name, content), { source: name, onRowError: 'collect', ...options });
}

/** The file line of every row. */
const lines = (table: ColumnTable): number[] => Array.from({ length: table.rows }, (_, i) => table.rowNumber(i));

/** The thrown error, so a test can check its class and message together. */
function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to throw');
}

/** The rejection of a promise, so a test can check its class and message together. */
async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected the promise to reject');
    },
    (error: unknown) => error as Error,
  );
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

describe('reading CSV', () => {
  it('reads quoted fields with commas, doubled quotes and newlines inside', async () => {
    const text = 'id,comment,city\n1,"rain, then sun",Seattle\n2,"she said ""wet""",New York\n3,"line one\nline two",Seattle\n';
    const table = await read('q.csv', text);
    expect(table.names).toEqual(['id', 'comment', 'city']);
    expect(rowsOf(table)).toEqual([
      { id: 1, comment: 'rain, then sun', city: 'Seattle' },
      { id: 2, comment: 'she said "wet"', city: 'New York' },
      { id: 3, comment: 'line one\nline two', city: 'Seattle' },
    ]);
    expect(table.rowErrors).toEqual([]);
    expect(table.source).toBe('q.csv');
  });

  it('drops a UTF-8 byte order mark from the first column name', async () => {
    const bytes = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('date,temp\n2012-01-01,5\n')]);
    const table = await read('bom.csv', bytes);
    expect(table.names).toEqual(['date', 'temp']);
    expect(table.names[0]!.charCodeAt(0)).toBe('d'.charCodeAt(0));
    expect(rowsOf(table)).toEqual([{ date: '2012-01-01', temp: 5 }]);
  });

  it('turns empty cells into missing values, keeps text as text', async () => {
    const table = await read('e.csv', 'a,b,c\n1,,x\n,,\n');
    expect(rowsOf(table)).toEqual([
      { a: 1, b: null, c: 'x' },
      { a: null, b: null, c: null },
    ]);
  });

  it('trims spaces around unquoted cells but keeps spaces inside quotes', async () => {
    const table = await read('s.csv', 'a,b\n  x , " y " \n');
    expect(rowsOf(table)).toEqual([{ a: 'x', b: ' y ' }]);
  });

  it('reads whitespace-only cells as missing', async () => {
    const table = await read('w.csv', 'a,b\n  ,1\n\t,2\n');
    expect(rowsOf(table)).toEqual([
      { a: null, b: 1 },
      { a: null, b: 2 },
    ]);
  });

  it('accepts CRLF line ends and numbers rows by file line (header = line 1)', async () => {
    const table = await read('crlf.csv', 'a,b\r\n1,2\r\n3,4\r\n');
    expect(rowsOf(table)).toEqual([
      { a: 1, b: 2 },
      { a: 3, b: 4 },
    ]);
    expect(lines(table)).toEqual([2, 3]);
  });

  it('collects ragged rows as row errors with their file line, never padding them', async () => {
    const table = await read('ragged.csv', 'a,b\n1,2\n3\n4,5,6\n7,8\n');
    expect(rowsOf(table)).toEqual([
      { a: 1, b: 2 },
      { a: 7, b: 8 },
    ]);
    expect(table.rows).toBe(2);
    expect(lines(table)).toEqual([2, 5]);
    expect(table.rowErrors).toEqual([
      { source: 'ragged.csv', row: 3, reason: 'expected 2 fields, found 1' },
      { source: 'ragged.csv', row: 4, reason: 'expected 2 fields, found 3' },
    ]);
  });

  it('counts skipped blank lines in the line numbers', async () => {
    const table = await read('blank.csv', 'a,b\n\n1,2\n\n3,4,5\n');
    expect(lines(table)).toEqual([3]);
    expect(table.rowErrors.map((e) => e.row)).toEqual([5]);
  });

  it('numbers rows after a multi-line quoted field by their real file line', async () => {
    // Line 1 header, lines 2-4 one record, line 5 ragged, line 6 good.
    const table = await read('multi.csv', 'a,b\n"first\nsecond\nthird",2\n"x","y","z"\n4,5\n');
    expect(rowsOf(table)).toEqual([
      { a: 'first\nsecond\nthird', b: 2 },
      { a: '4', b: 5 },
    ]);
    expect(table.rowErrors).toEqual([{ source: 'multi.csv', row: 5, reason: 'expected 2 fields, found 3' }]);
    expect(lines(table)).toEqual([2, 6]);
  });

  it("with onRowError 'throw' (the default) stops at the first ragged row, naming file and line", async () => {
    const error = await rejection(readColumnTable(write('strict.csv', 'a,b\n1,2\n3\n4\n'), { source: 'strict.csv' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('strict.csv, row 3: expected 2 fields, found 1');
  });

  it('refuses a header that names a column twice', async () => {
    const error = await rejection(read('dup.csv', 'date,temp,temp\n2012-01-01,1,2\n'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe("dup.csv, row 1: the header names column 'temp' twice");
  });

  it('refuses an empty file (zero bytes, blank lines only, or only a BOM), naming it', async () => {
    const zero = await rejection(read('empty.csv', ''));
    expect(zero).toBeInstanceOf(DataError);
    expect(zero.message).toBe('empty.csv: the file is empty');
    for (const text of ['  \n\n', '\uFEFF']) {
      const error = await rejection(read('empty.csv', text));
      expect(error).toBeInstanceOf(DataError);
      expect(error.message).toBe('empty.csv: the file is empty (no header, no rows)');
    }
  });

  it('reports broken quoting as invalid CSV with file and line', async () => {
    const error = await rejection(read('broken.csv', 'a,b\n1,2\n3,"open\n'));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^broken\.csv, row 3: not valid CSV: /);
    expect((error as DataError).source).toBe('broken.csv');
  });

  it('a header alone gives columns and no rows', async () => {
    const table = await read('header.csv', 'a,b,c\n');
    expect(table.names).toEqual(['a', 'b', 'c']);
    expect(table.rows).toBe(0);
    expect(rowsOf(table)).toEqual([]);
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

  it('round-trips through the reader (strings and nulls)', async () => {
    const columns = ['date', 'comment', 'city'];
    const rows = [
      ['2012-01-01', 'rain, heavy', 'Seattle'],
      ['2012-01-02', 'quote " inside', null],
      ['2012-01-03', 'multi\nline\r\ntext', 'New York'],
      [null, 'x', 'y'],
    ];
    const table = await read('round.csv', formatCsv(columns, rows));
    expect(table.names).toEqual(columns);
    expect(rowsOf(table)).toEqual(rows.map((row) => Object.fromEntries(columns.map((c, k) => [c, row[k]]))));
    expect(table.rowErrors).toEqual([]);
  });
});

describe('reading JSON Lines', () => {
  it('collects a line that is not JSON and a line that is not an object, with their line numbers', async () => {
    const table = await read('b.jsonl', '{"a":1}\nnot json\n[1,2]\n42\nnull\n"text"\n{"a":2}\n');
    expect(rowsOf(table)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(lines(table)).toEqual([1, 7]);
    expect(table.rowErrors.map((e) => [e.row, e.reason.startsWith('not valid JSON') ? 'json' : e.reason])).toEqual([
      [2, 'json'],
      [3, 'expected a JSON object'],
      [4, 'expected a JSON object'],
      [5, 'expected a JSON object'],
      [6, 'expected a JSON object'],
    ]);
    expect(table.rowErrors.every((e) => e.source === 'b.jsonl')).toBe(true);
  });

  it('takes the union of keys in order of first appearance; missing keys are missing', async () => {
    const text = '{"date":"2012-01-01","temp":5}\n{"temp":6,"date":"2012-01-02"}\n{"date":"2012-01-03","wind":3.5}\n';
    const table = await read('late.jsonl', text);
    expect(table.names).toEqual(['date', 'temp', 'wind']);
    expect(rowsOf(table)).toEqual([
      { date: '2012-01-01', temp: 5, wind: null },
      { date: '2012-01-02', temp: 6, wind: null },
      { date: '2012-01-03', temp: null, wind: 3.5 },
    ]);
  });

  it('reads numbers as numbers, booleans as their text, and writes nested values as JSON text', async () => {
    const table = await read('nested.jsonl', '{"n":1.5,"b":false,"s":"x","nil":null,"obj":{"k":[1,2]},"arr":["a"]}\n');
    expect(rowsOf(table)).toEqual([{ n: 1.5, b: 'false', s: 'x', nil: null, obj: '{"k":[1,2]}', arr: '["a"]' }]);
  });

  it('reads a JSON number and a JSON string holding a number the same', async () => {
    const table = await read('same.jsonl', '{"x":7}\n{"x":"7"}\n{"x":" 2.5 "}\n');
    expect(table.columns.get('x')!.kind).toBe('number');
    expect(rowsOf(table)).toEqual([{ x: 7 }, { x: 7 }, { x: 2.5 }]);
  });

  it('skips blank lines but counts them, and accepts CRLF', async () => {
    const table = await read('crlf.jsonl', '{"a":1}\r\n\r\n{"a":2}\r\n');
    expect(rowsOf(table)).toEqual([{ a: 1 }, { a: 2 }]);
    expect(lines(table)).toEqual([1, 3]);
  });

  it("with onRowError 'throw' (the default) stops at the first bad line", async () => {
    const error = await rejection(readColumnTable(write('strict.jsonl', '{"a":1}\n[1]\n'), { source: 'strict.jsonl' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe('strict.jsonl, row 2: expected a JSON object');
  });

  it('refuses an empty file, naming it', async () => {
    const error = await rejection(read('empty.jsonl', ' \n\n'));
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

  it('round-trips through the reader (numbers as numbers, booleans as their text)', async () => {
    const columns = ['date', 'temp', 'rain', 'note'];
    const rows = [
      ['2012-01-01', 5.5, true, 'a "quoted" note'],
      ['2012-01-02', null, false, null],
      ['2012-01-03', -3, null, 'line\nbreak'],
    ];
    const table = await read('round.jsonl', formatJsonl(columns, rows));
    expect(table.names).toEqual(columns);
    expect(rowsOf(table)).toEqual([
      { date: '2012-01-01', temp: 5.5, rain: 'true', note: 'a "quoted" note' },
      { date: '2012-01-02', temp: null, rain: 'false', note: null },
      { date: '2012-01-03', temp: -3, rain: null, note: 'line\nbreak' },
    ]);
    expect(lines(table)).toEqual([1, 2, 3]);
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

describe('readColumnTable', () => {
  it('reads CSV and JSONL by the name', async () => {
    expect(rowsOf(await read('x.csv', 'a,b\n1,2\n'))).toEqual([{ a: 1, b: 2 }]);
    expect(rowsOf(await read('x.ndjson', '{"a":1,"b":2}\n'))).toEqual([{ a: 1, b: 2 }]);
  });

  it('refuses zero bytes naming the file, and an unknown type before reading', async () => {
    expect((await rejection(read('e.jsonl', Buffer.alloc(0)))).message).toBe('e.jsonl: the file is empty');
    // The type is refused from the name: the file is never opened (here it does not even exist).
    const error = await rejection(readColumnTable(fresh('never-written.xlsx'), { source: 'e.xlsx' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/^e\.xlsx: unsupported file type '\.xlsx'/);
  });

  it('reads a local file, rows named after its path', async () => {
    const path = write('w.csv', 'date,temp\n2012-01-01,5\n2012-01-02\n');
    const table = await readColumnTable(path, { onRowError: 'collect' });
    expect(table.source).toBe(path);
    expect(rowsOf(table)).toEqual([{ date: '2012-01-01', temp: 5 }]);
    expect(table.rowErrors).toEqual([{ source: path, row: 3, reason: 'expected 2 fields, found 1' }]);
  });

  it('reads only the columns asked for, and names a column the file does not have', async () => {
    const table = await read('cols.csv', 'a,b,c\n1,x,3\n', { columns: ['c', 'a'] });
    expect(table.names).toEqual(['a', 'b', 'c']);
    expect([...table.columns.keys()]).toEqual(['c', 'a']);
    const error = await rejection(read('cols.csv', 'a,b\n1,2\n', { columns: ['z'] }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe("cols.csv, column 'z': no column 'z'; the file has: a, b");
  });

  it('says which file cannot be read and why', async () => {
    const path = fresh('missing.csv');
    const error = await rejection(readColumnTable(path));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toBe(`${path}: cannot read the file: ENOENT`);
  });
});
