/**
 * Bad input, one case per thing a careful user tries, through the engine's
 * reader and validator (readValidated, as the validate step and `perennial
 * validate` use them, on the file written to disk) and through `perennial
 * validate`. Each case gets a verdict: the file refused
 * as a whole (a DataError naming the file, and the line and column where they
 * apply), or rows rejected with their line, column and reason, the rest
 * accepted and none lost. Every message is short (a 10 MB field makes no 10 MB
 * message) and holds no raw control characters. Assertions are on messages and
 * outcomes only, so they keep holding when the readers are replaced.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../../src/cli/main';
import { tableSchema, type TableSchema } from '../../../src/data/schema';
import type { RowError } from '../../../src/data/table';
import { readValidated } from '../../../src/data/validate';
import { binaryBytes, damagedParquet, hugeField, latin1, parquetBytes, RAW_CONTROL, truncatedParquet, utf16 } from './bad-input-fixtures';

/** The schema of every case unless it names its own; the same as SPEC_YAML's. */
const SPEC_YAML = `name: badinput
task: classification
label: weather
data: { timeColumn: date }
schema:
  maxMissingRate: 1
  fields:
    - { name: date, type: date, nullable: false }
    - { name: temp, type: number, min: -50, max: 60 }
    - { name: weather, type: category, values: [rain, sun, fog], nullable: false }
features:
  - { name: temp, kind: numeric }
`;
const SCHEMA: TableSchema = tableSchema.parse({
  maxMissingRate: 1,
  fields: [
    { name: 'date', type: 'date', nullable: false },
    { name: 'temp', type: 'number', min: -50, max: 60 },
    { name: 'weather', type: 'category', values: ['rain', 'sun', 'fog'], nullable: false },
  ],
});
const HEADER = 'date,temp,weather';
const csv = (...lines: string[]) => [HEADER, ...lines].join('\n') + '\n';
const row = (date: string, temp: unknown, weather: unknown) => JSON.stringify({ date, temp, weather });
const jsonl = (...lines: string[]) => lines.join('\n') + '\n';

interface Case {
  name: string;
  /** The file's name: its extension picks the reader. */
  file: string;
  bytes: () => Buffer | string;
  schema?: TableSchema;
  /** The whole file is refused: a DataError whose message matches, at this line and column when given. */
  refused?: { message: RegExp; row?: number; column?: string };
  /** The file is read: these rows rejected (exactly), with at least these problems; every other row accepted. */
  rejected?: number[];
  problems?: [row: number, column: string | undefined, reason: RegExp][];
  rowsRead?: number;
  batch?: RegExp[];
  extraColumns?: string[];
  /** Also run through `perennial validate` (off for the slowest, huge ones). */
  cli?: boolean;
}

const CASES: Case[] = [
  // --- malformed CSV
  {
    name: 'CSV: a quote that is never closed',
    file: 'unclosed.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,"6,sun', '2016-01-03,7,fog'),
    refused: { message: /not valid CSV: a quoted field starts here and is never closed/, row: 3 },
  },
  {
    name: 'CSV: a quote inside an unquoted field',
    file: 'stray-quote.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,6,su"n'),
    refused: { message: /not valid CSV: a '"' inside the unquoted field 'su': quote the whole field/, row: 3, column: 'weather' },
  },
  {
    name: 'CSV: text after a closing quote',
    file: 'after-quote.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,"6"C,sun'),
    refused: { message: /not valid CSV: text after the closing '"' of a quoted field/, row: 3, column: 'temp' },
  },
  {
    name: 'CSV: a stray quote in a file that quotes other fields properly',
    file: 'stray-late.csv',
    bytes: () => csv('2016-01-01,5,"rain"', '2016-01-02,6,"say ""sun"""', '2016-01-03,7,fo"g'),
    refused: { message: /not valid CSV: a '"' inside the unquoted field 'fo': quote the whole field/, row: 4, column: 'weather' },
  },
  {
    name: 'CSV: quoted fields with doubled quotes, edge spaces, and spaces or tabs around them (RFC 4180, read as the old reader did)',
    file: 'quoted.csv',
    bytes: () => csv('2016-01-01,5,"rain"', '"2016-01-02" , "6",\t"sun"\t', '2016-01-03,7," fog "', '2016-01-04,\t8\t,fog ', '2016-01-05,9,"say ""sun"""'),
    rejected: [4, 6],
    problems: [
      [4, 'weather', /^' fog ' is not one of the allowed values \(rain, sun, fog\)$/],
      [6, 'weather', /^'say \\"sun\\"' is not one of the allowed values/],
    ],
    rowsRead: 5,
  },
  {
    name: 'CSV: rows with too many and too few fields',
    file: 'ragged.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,6,sun,extra', '2016-01-03,7', '2016-01-04,8,fog'),
    rejected: [3, 4],
    problems: [
      [3, undefined, /^expected 3 fields, found 4$/],
      [4, undefined, /^expected 3 fields, found 2$/],
    ],
    rowsRead: 4,
  },
  {
    name: 'CSV: a binary file named .csv',
    file: 'photo.csv',
    bytes: () => binaryBytes(),
    refused: { message: /binary data, not text: the line has a NUL byte/, row: 1 },
  },
  {
    name: 'CSV: a NUL byte in one cell',
    file: 'nul.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,6,s\u0000un'),
    refused: { message: /binary data, not text: the line has a NUL byte/, row: 3 },
  },
  {
    name: 'CSV: CRLF line ends and a quoted field over two lines, then a ragged row (numbered by its real line)',
    file: 'crlf.csv',
    bytes: () => `${HEADER}\r\n2016-01-01,5,"rain\r\nand wind"\r\n2016-01-02,6\r\n2016-01-03,7,sun\r\n`,
    rejected: [2, 4],
    problems: [
      [2, 'weather', /^'rain\\r\\nand wind' is not one of the allowed values \(rain, sun, fog\)$/],
      [4, undefined, /^expected 3 fields, found 2$/],
    ],
    rowsRead: 3,
  },
  {
    name: 'CSV: separated by semicolons',
    file: 'excel-eu.csv',
    bytes: () => 'date;temp;weather\n2016-01-01;5;rain\n',
    batch: [
      /^column 'date' is missing \(the file has: date;temp;weather\); the header looks separated by ';', but CSV files here are comma-separated$/,
      /^column 'temp' is missing/,
      /^column 'weather' is missing/,
    ],
    rowsRead: 1,
    extraColumns: ['date;temp;weather'],
  },

  // --- malformed JSON Lines
  {
    name: 'JSONL: a line that is not JSON',
    file: 'not-json.jsonl',
    bytes: () => jsonl(row('2016-01-01', 5, 'rain'), 'rain, 6 degrees', row('2016-01-03', 7, 'fog')),
    rejected: [2],
    problems: [[2, undefined, /^not valid JSON: /]],
    rowsRead: 3,
  },
  {
    name: 'JSONL: an array and a number instead of objects',
    file: 'not-objects.jsonl',
    bytes: () => jsonl(row('2016-01-01', 5, 'rain'), '["2016-01-02",6,"sun"]', '42'),
    rejected: [2, 3],
    problems: [
      [2, undefined, /^expected a JSON object$/],
      [3, undefined, /^expected a JSON object$/],
    ],
    rowsRead: 3,
  },
  {
    name: 'JSONL: trailing garbage after an object',
    file: 'trailing.jsonl',
    bytes: () => jsonl(`${row('2016-01-01', 5, 'rain')} ,"oops"`, row('2016-01-02', 6, 'sun')),
    rejected: [1],
    problems: [[1, undefined, /^not valid JSON: Unexpected non-whitespace character after JSON/]],
    rowsRead: 2,
  },
  {
    name: 'JSONL: a truncated last line',
    file: 'truncated.jsonl',
    bytes: () => `${row('2016-01-01', 5, 'rain')}\n${row('2016-01-02', 6, 'sun')}\n{"date":"2016-01-03","te`,
    rejected: [3],
    problems: [[3, undefined, /^not valid JSON: /]],
    rowsRead: 3,
  },

  // --- malformed Parquet
  {
    name: 'Parquet: random bytes',
    file: 'random.parquet',
    bytes: () => binaryBytes(),
    refused: { message: /not a readable Parquet file: / },
  },
  {
    name: 'Parquet: truncated (an interrupted upload)',
    file: 'half.parquet',
    bytes: () => truncatedParquet(),
    refused: { message: /not a readable Parquet file: / },
  },
  {
    name: 'Parquet: the footer reads, the pages are damaged',
    file: 'damaged.parquet',
    bytes: () => damagedParquet(),
    refused: { message: /not a readable Parquet file: / },
  },
  {
    name: 'Parquet: a valid file whose column types are not the schema’s',
    file: 'wrong-types.parquet',
    bytes: () => parquetBytes(),
    schema: tableSchema.parse({
      fields: [
        { name: 'x', type: 'date' },
        { name: 'color', type: 'number' },
      ],
    }),
    rejected: Array.from({ length: 300 }, (_, i) => i + 1),
    problems: [
      [1, 'x', /^expected a date \(YYYY-MM-DD\), found '-?[\d.]+'$/],
      [1, 'color', /^expected a number, found '(red|green|blue|purple)'$/],
      [300, 'color', /^expected a number, found /],
    ],
    rowsRead: 300,
    extraColumns: ['y', 'level'],
  },
  {
    name: 'Parquet: a valid file with other columns',
    file: 'other-columns.parquet',
    bytes: () => parquetBytes(),
    batch: [/^column 'date' is missing \(the file has: x, y, color, level\)$/, /^column 'temp' is missing/, /^column 'weather' is missing/],
    rowsRead: 300,
  },

  // --- wrong encodings
  {
    name: 'CSV in UTF-16 LE with a byte order mark',
    file: 'utf16le.csv',
    bytes: () => utf16(csv('2016-01-01,5,rain'), 'le'),
    refused: { message: /the file is UTF-16 text .*; save it as UTF-8/ },
  },
  {
    name: 'JSONL in UTF-16 BE with a byte order mark',
    file: 'utf16be.jsonl',
    bytes: () => utf16(jsonl(row('2016-01-01', 5, 'rain')), 'be'),
    refused: { message: /the file is UTF-16 text .*; save it as UTF-8/ },
  },
  {
    name: 'CSV in UTF-16 without a byte order mark',
    file: 'utf16-nobom.csv',
    bytes: () => Buffer.from(csv('2016-01-01,5,rain'), 'utf16le'),
    refused: { message: /binary data, not text: the line has a NUL byte \(UTF-16 without a byte order mark/, row: 1 },
  },
  {
    name: 'CSV in Latin-1 (invalid UTF-8 bytes)',
    file: 'latin1.csv',
    bytes: () => latin1(csv('2016-01-01,5,rain', '2016-01-02,6,soleil d\u00e9gag\u00e9')),
    refused: { message: /not UTF-8 text: .*Latin-1.*; save the file as UTF-8/, row: 3 },
  },

  // --- NaN, Infinity and numbers past a double
  {
    name: 'CSV: NaN, Infinity, -Infinity, 1e400 and NA as text in a number column',
    file: 'nan.csv',
    bytes: () =>
      csv('2016-01-01,NaN,rain', '2016-01-02,Infinity,sun', '2016-01-03,-Infinity,fog', '2016-01-04,1e400,rain', '2016-01-05,NA,sun', '2016-01-06,5,sun'),
    rejected: [2, 3, 4, 5, 6],
    problems: [
      [2, 'temp', /^expected a number, found 'NaN' \(leave a missing value empty, or null in JSON\)$/],
      [3, 'temp', /^expected a finite number, found 'Infinity'$/],
      [4, 'temp', /^expected a finite number, found '-Infinity'$/],
      [5, 'temp', /^expected a finite number, found '1e400'$/],
      [6, 'temp', /^expected a number, found 'NA' \(leave a missing value empty/],
    ],
    rowsRead: 6,
  },
  {
    name: 'JSONL: NaN and Infinity as values (as Python writes them), 1e400, and "NaN" as text',
    file: 'nan.jsonl',
    bytes: () =>
      jsonl(
        '{"date":"2016-01-01","temp":NaN,"weather":"rain"}',
        '{"date":"2016-01-02","temp":Infinity,"weather":"sun"}',
        '{"date":"2016-01-03","temp":-Infinity,"weather":"fog"}',
        '{"date":"2016-01-04","temp":1e400,"weather":"rain"}',
        row('2016-01-05', 'NaN', 'sun'),
        row('2016-01-06', 5, 'sun'),
      ),
    rejected: [1, 2, 3, 4, 5],
    problems: [
      [1, undefined, /^not valid JSON: NaN and Infinity are not JSON values \(write null for a missing value\)$/],
      [2, undefined, /^not valid JSON: NaN and Infinity are not JSON values/],
      [3, undefined, /^not valid JSON: NaN and Infinity are not JSON values/],
      [4, 'temp', /^expected a finite number, found Infinity$/],
      [5, 'temp', /^expected a number, found 'NaN' \(leave a missing value empty, or null in JSON\)$/],
    ],
    rowsRead: 6,
  },

  // --- huge fields and rows
  {
    name: 'CSV: a 10 MB field in a number column',
    file: 'huge-number.csv',
    bytes: () => csv('2016-01-01,5,rain', `2016-01-02,${hugeField()},sun`),
    rejected: [3],
    problems: [[3, 'temp', /^expected a number, found 'z{80}'\.\.\. \(10000000 characters\)$/]],
    rowsRead: 2,
    cli: true,
  },
  {
    name: 'JSONL: a 10 MB label',
    file: 'huge-label.jsonl',
    bytes: () => jsonl(row('2016-01-01', 5, 'rain'), row('2016-01-02', 6, hugeField())),
    rejected: [2],
    problems: [[2, 'weather', /^'z{80}'\.\.\. \(10000000 characters\) is not one of the allowed values \(rain, sun, fog\)$/]],
    rowsRead: 2,
    cli: false,
  },
  {
    name: 'CSV: a 10 MB field with a stray quote in it',
    file: 'huge-quote.csv',
    bytes: () => csv('2016-01-01,5,rain', `2016-01-02,6,${hugeField(5_000_000)}"${hugeField(5_000_000)}`),
    refused: { message: /a '"' inside the unquoted field 'z{80}'\.\.\. \(5000000 characters\)/, row: 3, column: 'weather' },
    cli: false,
  },
  {
    name: 'CSV: a row of a million fields',
    file: 'huge-row.csv',
    bytes: () => csv('2016-01-01,5,rain', `2016-01-02,${'6,'.repeat(999_998)}sun`),
    rejected: [3],
    problems: [[3, undefined, /^expected 3 fields, found 1000000$/]],
    rowsRead: 2,
    cli: false,
  },
  {
    name: 'CSV: a header of 100,000 columns, none of them the schema’s',
    file: 'wide.csv',
    bytes: () => Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(',') + '\n',
    batch: [/^column 'date' is missing \(the file has: c0, c1, .*, c19, \.\.\. and 99980 more\)$/, /^column 'temp'/, /^column 'weather'/],
    rowsRead: 0,
    cli: false,
  },

  // --- empty files
  { name: 'CSV: empty (0 bytes)', file: 'empty.csv', bytes: () => '', refused: { message: /the file is empty/ } },
  { name: 'JSONL: empty (0 bytes)', file: 'empty.jsonl', bytes: () => '', refused: { message: /the file is empty/ } },
  { name: 'Parquet: empty (0 bytes)', file: 'empty.parquet', bytes: () => '', refused: { message: /the file is empty/ } },
  { name: 'CSV: whitespace only', file: 'blank.csv', bytes: () => ' \n\t\n  \r\n', refused: { message: /the file is empty \(no header, no rows\)/ } },
  { name: 'JSONL: whitespace only', file: 'blank.jsonl', bytes: () => '\n  \n\t\n', refused: { message: /the file is empty \(no rows\)/ } },
  { name: 'CSV: a header and no rows', file: 'header-only.csv', bytes: () => csv(), batch: [/^the file has a header but no rows$/], rowsRead: 0 },

  // --- columns and labels
  {
    name: 'CSV: a column named twice',
    file: 'dup.csv',
    bytes: () => 'date,temp,weather,temp\n2016-01-01,5,rain,6\n',
    refused: { message: /the header names column 'temp' twice/, row: 1 },
  },
  {
    name: 'an unknown label',
    file: 'hail.csv',
    bytes: () => csv('2016-01-01,5,rain', '2016-01-02,6,hail', '2016-01-03,7,Rain'),
    rejected: [3, 4],
    problems: [
      [3, 'weather', /^'hail' is not one of the allowed values \(rain, sun, fog\)$/],
      [4, 'weather', /^'Rain' is not one of the allowed values/],
    ],
    rowsRead: 3,
  },
  {
    name: 'a new column the schema does not name (accepted, and said)',
    file: 'humidity.csv',
    bytes: () => 'date,temp,humidity,weather\n2016-01-01,5,80,rain\n2016-01-02,6,75,sun\n',
    rejected: [],
    rowsRead: 2,
    extraColumns: ['humidity'],
  },
  {
    name: 'a required column missing',
    file: 'no-temp.jsonl',
    bytes: () => jsonl('{"date":"2016-01-01","weather":"rain"}'),
    batch: [/^column 'temp' is missing \(the file has: date, weather\)$/],
    rowsRead: 1,
  },

  // --- control characters in values and names
  {
    name: 'CSV: control characters in values (bell, terminal escapes, DEL, C1)',
    file: 'control.csv',
    bytes: () => csv('2016-01-01,5\u0007,rain', '2016-01-02,6,sun\u001b[2J', '2016-01-03,7,fog\u007f\u009b31m'),
    rejected: [2, 3, 4],
    problems: [
      [2, 'temp', /^expected a number, found '5\\u0007'$/],
      [3, 'weather', /^'sun\\u001b\[2J' is not one of the allowed values/],
      [4, 'weather', /^'fog\\u007f\\u009b31m' is not one of the allowed values/],
    ],
    rowsRead: 3,
  },
  {
    name: 'JSONL: escaped control characters in a value and in a column name',
    file: 'control.jsonl',
    bytes: () => jsonl('{"date":"2016-01-01","temp":5,"weather":"rain\\u0000\\n"}', '{"date":"2016-01-02","temp":6,"weather":"sun","\\u001b[31mred":1}'),
    rejected: [1],
    problems: [[1, 'weather', /^'rain\\u0000\\n' is not one of the allowed values/]],
    rowsRead: 2,
    extraColumns: ['\u001b[31mred'],
  },
];

type Verdict =
  | { refused: Error }
  | {
      refused?: undefined;
      rowsRead: number;
      accepted: number;
      /** File lines of the rows read as accepted (null when a batch error rejects the file whole). */
      acceptedRows: number[] | null;
      rejectedRows: number[];
      errors: RowError[];
      batchErrors: string[];
      extraColumns: string[];
    };

const VERDICT_DIR = mkdtempSync(join(tmpdir(), 'perennial-verdict-'));
afterAll(() => rmSync(VERDICT_DIR, { recursive: true, force: true }));

/** What the pipeline's validate step makes of a file, named as its S3 key, written to disk as it is downloaded. */
async function verdict(file: string, bytes: Buffer | string, schema: TableSchema): Promise<Verdict> {
  const path = join(VERDICT_DIR, file);
  await writeFile(path, bytes);
  try {
    const { result, table } = await readValidated(path, schema, { source: file });
    const acceptedRows = table && Array.from({ length: table.rows }, (_, i) => table.rowNumber(i));
    return { ...result, accepted: result.rowsAccepted, acceptedRows };
  } catch (error) {
    return { refused: error as Error };
  } finally {
    await rm(path, { force: true });
  }
}

function expectFitForAMessage(text: string): void {
  expect(text.length, text.slice(0, 200)).toBeLessThan(500);
  expect(text).not.toMatch(RAW_CONTROL);
}

describe('bad input through the readers and the validator', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const v = await verdict(c.file, c.bytes(), c.schema ?? SCHEMA);
    if (c.refused) {
      expect(v.refused, 'the file should be refused as a whole').toBeDefined();
      const error = v.refused!;
      // A DataError (permanent: no retry), never a bare TypeError or RangeError.
      expect(error.name).toBe('DataError');
      const where = [c.file, c.refused.row !== undefined ? `row ${c.refused.row}` : undefined, c.refused.column && `column '${c.refused.column}'`];
      expect(error.message.startsWith(`${where.filter(Boolean).join(', ')}: `), error.message).toBe(true);
      expect(error.message).toMatch(c.refused.message);
      expectFitForAMessage(error.message);
      return;
    }
    if (v.refused) throw new Error(`expected the file to be read, it was refused: ${v.refused.message}`);
    expect(v.rowsRead).toBe(c.rowsRead);
    // Nothing lost: every row read is accepted or rejected with its line; a batch error rejects the batch whole.
    if (v.batchErrors.length === 0) {
      expect(v.accepted + v.rejectedRows.length).toBe(v.rowsRead);
      expect(v.acceptedRows).toHaveLength(v.accepted);
      expect(v.acceptedRows!.filter((line) => v.rejectedRows.includes(line))).toEqual([]);
    } else expect(v.acceptedRows).toBeNull();
    expect(v.batchErrors.length).toBe(c.batch?.length ?? 0);
    c.batch?.forEach((pattern, i) => expect(v.batchErrors[i]).toMatch(pattern));
    if (c.rejected) expect(v.rejectedRows).toEqual(c.rejected);
    for (const [row, column, reason] of c.problems ?? []) {
      const found = v.errors.filter((e) => e.row === row && e.column === column);
      expect(
        found.map((e) => e.reason).some((r) => reason.test(r)),
        `row ${row} ${column}: ${JSON.stringify(found)}`,
      ).toBe(true);
    }
    for (const e of v.errors) {
      expect(e.source).toBe(c.file);
      expect(v.rejectedRows).toContain(e.row);
      expectFitForAMessage(e.reason);
    }
    for (const b of v.batchErrors) expectFitForAMessage(b);
    if (c.extraColumns || !c.batch) expect(v.extraColumns).toEqual(c.extraColumns ?? []);
  });
});

describe('bad input through `perennial validate --spec`', () => {
  let dir: string;
  let spec: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perennial-bad-input-'));
    spec = join(dir, 'badinput.yaml');
    await writeFile(spec, SPEC_YAML);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases = CASES.filter((c) => !c.schema && c.cli !== false);
  it.each(cases.map((c) => [c.name, c] as const))('%s', async (_, c) => {
    const path = join(dir, c.file);
    await writeFile(path, c.bytes());
    const out = { stdout: '', stderr: '' };
    const code = await main(['validate', '--spec', spec, '--current', path], {
      stdout: (t: string) => (out.stdout += t + '\n'),
      stderr: (t: string) => (out.stderr += t + '\n'),
    });
    const clean = !c.refused && !c.batch?.length && !c.rejected?.length;
    expect(code).toBe(c.refused ? 2 : clean ? 0 : 1);
    // Names the file; one problem a line, each short and printable.
    expect(out.stdout + out.stderr).toContain(path);
    for (const line of (out.stdout + out.stderr).split('\n')) {
      expect(line.length, line.slice(0, 200)).toBeLessThan(500);
      expect(line).not.toMatch(RAW_CONTROL);
    }
    if (c.refused) expect(out.stderr).toMatch(c.refused.message);
    for (const [row, column] of c.problems ?? []) expect(out.stdout).toContain(`row ${row}${column ? `, column '${column}'` : ''}: `);
    if (c.extraColumns) expect(out.stdout).toContain('not in the schema, neither checked nor kept: ');
  });
});
