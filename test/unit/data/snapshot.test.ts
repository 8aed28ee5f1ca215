/**
 * Training snapshots through the engine: buildSnapshot merges inputs (Parquet,
 * or older CSV / JSON Lines, plain or gzipped), cuts them to the window, sorts
 * them by time and names them by their rows (rowSetId); readSnapshotTable
 * reads one back; splitByTime makes the time-based holdout. Every case writes
 * its files under a temp directory, removed at the end.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { cellAt, rowsOf, type ColumnTable } from '../../../src/data/columns';
import { formatCsv } from '../../../src/data/csv';
import { literal, withConnection } from '../../../src/data/engine';
import { formatJsonl } from '../../../src/data/jsonl';
import { tableSchema, type TableSchema } from '../../../src/data/schema';
import { planSnapshot, planSnapshotParts } from '../../../src/data/fan-out';
import {
  buildSnapshot,
  combineRowSetParts,
  readSnapshotTable,
  rowSetId,
  rowSetPart,
  splitByTime,
  type SnapshotInput,
  type WindowPolicy,
} from '../../../src/data/snapshot';

const { fresh, write } = tempFiles('perennial-snapshot-');

/** Writes `content` as the file `name` and returns it as a snapshot input, its name as the source. */
function file(name: string, content: string | Buffer): SnapshotInput {
  return { path: write(name, content), source: name };
}

const SCHEMA: TableSchema = tableSchema.parse({
  fields: [
    { name: 'date', type: 'date', nullable: false },
    { name: 'temp', type: 'number' },
    { name: 'weather', type: 'category', values: ['rain', 'sun', 'fog'] },
    { name: 'note', type: 'string' },
  ],
  maxMissingRate: 1,
});
const COLUMNS = SCHEMA.fields.map((f) => f.name);
type Row = [date: string, temp: number | null, weather: string | null, note: string | null];

/** Rows with what a reader can get wrong: a comma, quotes, edge spaces, a line break, a missing value, two rows a day. */
const ROWS: Row[] = [
  ['2012-01-03', 5.5, 'rain', 'wet, windy'],
  ['2012-01-01', -2, 'sun', 'she said "hi"'],
  ['2012-01-02', 0, 'fog', '  spaced  '],
  ['2012-01-02', 12.25, 'sun', null],
  ['2012-01-04', 7, null, 'two\nlines'],
  ['2012-01-01', 3, 'fog', 'é'],
];

const csv = (rows: Row[]) => formatCsv(COLUMNS, rows);
const jsonl = (rows: Row[]) => formatJsonl(COLUMNS, rows);

/** The rows as Parquet, written by DuckDB (a date column, a double column, text). */
async function parquet(name: string, rows: Row[], options: { gzip?: boolean } = {}): Promise<SnapshotInput> {
  const path = fresh(name);
  const sqlValue = (v: string | number | null, k: number) =>
    v === null ? 'NULL' : k === 0 ? `DATE ${literal(String(v))}` : typeof v === 'number' ? `${v}::DOUBLE` : literal(v);
  const values = rows.map((row) => `(${row.map(sqlValue).join(', ')})`).join(', ');
  const plain = options.gzip ? `${path}.plain.parquet` : path;
  await withConnection((c) => c.run(`COPY (SELECT * FROM (VALUES ${values}) t(${COLUMNS.join(', ')})) TO ${literal(plain)} (FORMAT parquet)`));
  if (options.gzip) writeFileSync(path, gzipSync(readFileSync(plain)));
  return { path, source: name };
}

/** A snapshot of `inputs` (window 'all' unless told), with its rows read back. */
async function snapshot(inputs: SnapshotInput[], options: { window?: WindowPolicy; schema?: TableSchema; timeColumn?: string } = {}) {
  const out = fresh('snapshot.parquet');
  const schema = options.schema ?? SCHEMA;
  const built = await buildSnapshot(inputs, schema, { window: options.window ?? { kind: 'all' }, timeColumn: options.timeColumn ?? 'date', out });
  const table = await readSnapshotTable(out, schema, 'snapshot.parquet');
  return { built, out, table, rows: rowsOf(table) };
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

/** Every row index of a table, in its (time) order. */
const all = (table: ColumnTable) => Int32Array.from({ length: table.rows }, (_, i) => i);
const timesOf = (table: ColumnTable, indexes: Int32Array) => Array.from(indexes, (i) => cellAt(table.columns.get('date')!, i) as string);

describe('buildSnapshot: the id is the rows', () => {
  it('gives the same id and rows for the same rows in CSV, JSON Lines or Parquet, gzipped or not, split over files in any order', async () => {
    const reversed = [...ROWS].reverse();
    const [first, second] = [ROWS.slice(0, 3), ROWS.slice(3)];
    const variants: Record<string, SnapshotInput[]> = {
      csv: [file('old.csv', csv(ROWS))],
      jsonl: [file('old.jsonl', jsonl(reversed))],
      parquet: [await parquet('batch.parquet', ROWS)],
      'csv.gz': [file('old.csv.gz', gzipSync(csv(reversed)))],
      'jsonl.gz': [file('old.jsonl.gz', gzipSync(jsonl(ROWS)))],
      'parquet.gz': [await parquet('batch.parquet.gz', reversed, { gzip: true })],
      'csv + jsonl.gz': [file('a.csv', csv(first)), file('b.jsonl.gz', gzipSync(jsonl(second)))],
      'jsonl.gz + csv': [file('b.jsonl.gz', gzipSync(jsonl(second))), file('a.csv', csv(first))],
      'parquet + csv + jsonl': [await parquet('c.parquet', ROWS.slice(4)), file('a.csv', csv(ROWS.slice(0, 2))), file('b.jsonl', jsonl(ROWS.slice(2, 4)))],
    };
    const results = new Map<string, Awaited<ReturnType<typeof snapshot>>>();
    for (const [name, inputs] of Object.entries(variants)) results.set(name, await snapshot(inputs));
    const reference = results.get('csv')!;
    expect(reference.built.rows).toBe(ROWS.length);
    expect(reference.built.id).toMatch(/^[0-9a-f]{64}$/);
    for (const [name, result] of results) {
      expect({ name, id: result.built.id, rows: result.built.rows }).toEqual({ name, id: reference.built.id, rows: ROWS.length });
      expect(result.rows, name).toEqual(reference.rows);
    }
    // The values as written, quoted ones with their spaces, the missing one missing.
    expect(reference.rows).toContainEqual({ date: '2012-01-02', temp: 0, weather: 'fog', note: '  spaced  ' });
    expect(reference.rows).toContainEqual({ date: '2012-01-01', temp: -2, weather: 'sun', note: 'she said "hi"' });
    expect(reference.rows).toContainEqual({ date: '2012-01-04', temp: 7, weather: null, note: 'two\nlines' });
  });

  it('gives another id when one value changes, also only its edge spaces', async () => {
    const base = await snapshot([file('base.csv', csv(ROWS))]);
    const changed = (k: number, column: number, value: string | number | null) =>
      ROWS.map((row, i) => (i === k ? (row.map((v, c) => (c === column ? value : v)) as Row) : row));
    const variants: [string, Row[]][] = [
      ['a number', changed(0, 1, 5.6)],
      ['a category', changed(0, 2, 'sun')],
      ['a date', changed(0, 0, '2012-01-05')],
      ['a text made missing', changed(0, 3, null)],
      ['edge spaces of a quoted text', changed(2, 3, 'spaced')],
    ];
    const ids = new Set([base.built.id]);
    for (const [what, rows] of variants) {
      const { built } = await snapshot([file('changed.csv', csv(rows))]);
      expect(built.rows, what).toBe(ROWS.length);
      expect(ids.has(built.id), `${what} should change the id`).toBe(false);
      ids.add(built.id);
    }
  });

  it('counts a duplicated row: it stays twice and the id changes', async () => {
    const base = await snapshot([file('base.csv', csv(ROWS))]);
    const twice = await snapshot([file('base.csv', csv(ROWS)), file('again.jsonl', jsonl([ROWS[0]!]))]);
    expect(twice.built.rows).toBe(ROWS.length + 1);
    expect(twice.built.id).not.toBe(base.built.id);
    expect(twice.rows.filter((r) => r.note === 'wet, windy')).toHaveLength(2);
  });

  it('names the file by an id its own rows give back, and fingerprints its bytes', async () => {
    const { built, out } = await snapshot([file('rows.csv', csv(ROWS))]);
    const again = await withConnection((c) => rowSetId(c, `read_parquet(${literal(out)})`, SCHEMA));
    expect(again).toEqual({ id: built.id, rows: ROWS.length });
    expect(built.fileSha256).toBe(createHash('sha256').update(readFileSync(out)).digest('hex'));
    expect(built.timeRange).toEqual({ from: '2012-01-01', to: '2012-01-04' });
  });

  it('says there is no time range for no rows', async () => {
    const { built, rows } = await snapshot([]);
    expect(built.rows).toBe(0);
    expect(built.timeRange).toBeNull();
    expect(rows).toEqual([]);
  });
});

describe('buildSnapshot: order and windows', () => {
  /** One row a day from 2012-01-01 for `n` days, temp = day number. */
  const days = (n: number): Row[] => Array.from({ length: n }, (_, i) => [`2012-01-${String(i + 1).padStart(2, '0')}`, i + 1, 'sun', null]);

  it('stores rows sorted by time (ties by every column), whatever the order of files and rows', async () => {
    const shuffled = [ROWS[4]!, ROWS[1]!, ROWS[3]!];
    const rest = [ROWS[5]!, ROWS[0]!, ROWS[2]!];
    const { rows } = await snapshot([file('late.jsonl', jsonl(shuffled)), file('early.csv', csv(rest))]);
    expect(rows.map((r) => [r.date, r.temp])).toEqual([
      ['2012-01-01', -2],
      ['2012-01-01', 3],
      ['2012-01-02', 0],
      ['2012-01-02', 12.25],
      ['2012-01-03', 5.5],
      ['2012-01-04', 7],
    ]);
  });

  it("window 'rows' keeps the newest maxRows rows: the snapshot of those rows alone", async () => {
    const rows = days(10);
    const windowed = await snapshot([file('ten.csv', csv(rows))], { window: { kind: 'rows', maxRows: 3 } });
    expect(windowed.rows.map((r) => r.date)).toEqual(['2012-01-08', '2012-01-09', '2012-01-10']);
    const alone = await snapshot([file('three.csv', csv(rows.slice(7)))]);
    expect(windowed.built.id).toBe(alone.built.id);
    expect(windowed.built.timeRange).toEqual({ from: '2012-01-08', to: '2012-01-10' });
    const more = await snapshot([file('ten.csv', csv(rows))], { window: { kind: 'rows', maxRows: 50 } });
    expect(more.built.rows).toBe(10);
  });

  it("window 'days' keeps whole UTC days, counted back from the newest row (not from today)", async () => {
    const schema = tableSchema.parse({
      fields: [
        { name: 'date', type: 'date' },
        { name: 'v', type: 'number' },
      ],
    });
    const text = [
      'date,v',
      '2012-01-07T23:59:59,1', // three days before the newest day: out of a 3-day window
      '2012-01-08T00:00:00,2', // the first instant of the oldest day kept
      '2012-01-08T12:00:00,3',
      '2012-01-09,4',
      '2012-01-10T01:00:00,5', // the newest day
      '2012-01-10T23:00:00,6',
    ].join('\n');
    const window = async (days: number) => snapshot([file('times.csv', text)], { schema, window: { kind: 'days', days } });
    const three = await window(3);
    expect(three.rows.map((r) => r.v)).toEqual([2, 3, 4, 5, 6]);
    expect(three.built.timeRange).toEqual({ from: '2012-01-08', to: '2012-01-10T23:00:00' });
    expect((await window(1)).rows.map((r) => r.v)).toEqual([5, 6]);
    expect((await window(30)).built.rows).toBe(6);
  });
});

describe('snapshot ids summed in parts (the data stages fanned out over workers)', () => {
  /** Sixty rows over twenty-nine days, two or three a day, some with missing values; written as two Parquet files and a CSV one. */
  const many: Row[] = Array.from({ length: 60 }, (_, i) => [
    `2012-02-${String(1 + (i % 29)).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}:00:00`,
    i % 7 === 0 ? null : i * 0.5,
    i % 5 === 0 ? null : (['rain', 'sun', 'fog'] as const)[i % 3]!,
    `row ${i}`,
  ]);

  /** The inputs as the pipeline knows them: file, rows, and the time range validate recorded. */
  async function sources() {
    const timed = async (input: SnapshotInput, rows: Row[]) => {
      const times = rows.map((r) => r[0]).sort();
      return { input, key: input.source, rows: rows.length, timeRange: { from: times[0]!, to: times.at(-1)! } };
    };
    return [
      await timed(await parquet('first.parquet', many.slice(0, 25)), many.slice(0, 25)),
      await timed(await parquet('second.parquet', many.slice(25, 50)), many.slice(25, 50)),
      await timed(file('older.csv', csv(many.slice(50))), many.slice(50)),
    ];
  }

  /** Every part summed on its own (in reverse: the order parts finish in must not matter), then put together. */
  async function summedInParts(window: WindowPolicy, partitionRows: number) {
    const all = await sources();
    const plan = planSnapshot(all, window, partitionRows)!;
    const pathOf = new Map(all.map((s) => [s.key, s.input.path]));
    const parts = [];
    for (const part of [...plan.parts].reverse()) {
      parts.push(
        await rowSetPart({ path: pathOf.get(part.key)!, source: part.key, range: part.range }, SCHEMA, { timeColumn: 'date', sinceDay: plan.sinceDay }),
      );
    }
    return { plan, parts, inputs: all.map((s) => s.input) };
  }

  for (const window of [{ kind: 'all' }, { kind: 'days', days: 7 }, { kind: 'days', days: 1 }] as WindowPolicy[]) {
    it(`gives buildSnapshot's id and row count for any partitioning (window ${JSON.stringify(window)})`, async () => {
      const whole = await snapshot(
        (await sources()).map((s) => s.input),
        { window },
      );
      expect(whole.built.rows).toBeGreaterThan(0);
      for (const partitionRows of [1, 4, 10, 25, 1000]) {
        const { parts } = await summedInParts(window, partitionRows);
        expect({ partitionRows, ...combineRowSetParts(parts, SCHEMA) }).toEqual({ partitionRows, id: whole.built.id, rows: whole.built.rows });
      }
    });
  }

  it('builds the same snapshot from the parts sums without hashing again, and refuses sums that miss rows', async () => {
    const window: WindowPolicy = { kind: 'days', days: 7 };
    const { parts, inputs } = await summedInParts(window, 10);
    const whole = await snapshot(inputs, { window });
    const built = await buildSnapshot(inputs, SCHEMA, {
      window,
      timeColumn: 'date',
      out: fresh('from-parts.parquet'),
      rowSet: combineRowSetParts(parts, SCHEMA),
    });
    expect(built).toEqual(whole.built);
    const missing = combineRowSetParts(parts.slice(1), SCHEMA);
    const error = await rejection(buildSnapshot(inputs, SCHEMA, { window, timeColumn: 'date', out: fresh('bad.parquet'), rowSet: missing }));
    expect(error.message).toMatch(/^the snapshot's parts counted \d+ rows under the window, the merge has \d+$/);
  });

  it('cuts Parquet sources into row ranges, other files whole, in source order', () => {
    const plan = planSnapshotParts(
      [
        { key: 'base.parquet', fileSha256: 'abc', rows: 10 },
        { key: 'old.csv', rows: 10 },
        { key: 'small.parquet', rows: 3 },
      ],
      4,
    );
    expect(plan).toEqual([
      { key: 'base.parquet', fileSha256: 'abc', range: { from: 0, to: 4 } },
      { key: 'base.parquet', fileSha256: 'abc', range: { from: 4, to: 8 } },
      { key: 'base.parquet', fileSha256: 'abc', range: { from: 8, to: 10 } },
      { key: 'old.csv' },
      { key: 'small.parquet' },
    ]);
  });

  it("cuts a days window from the newest input's newest day; a 'rows' window or an unknown newest time is not planned in parts", () => {
    const source = (to: string | null | undefined) => ({
      key: `${to}.parquet`,
      rows: 5,
      ...(to === undefined ? {} : { timeRange: to === null ? null : { from: to, to } }),
    });
    const days = { kind: 'days', days: 3 } as const;
    // 2012-03-10 is day 15,409 since 1970-01-01; three days back to the 8th.
    expect(planSnapshot([source('2012-03-01T10:00:00'), source('2012-03-10T23:59:59.999'), source(null)], days, 100)?.sinceDay).toBe(15_409 - 2);
    expect(planSnapshot([source('2012-03-10')], { kind: 'all' }, 100)).toEqual({ parts: [{ key: '2012-03-10.parquet' }] });
    expect(planSnapshot([source('2012-03-10')], { kind: 'rows', maxRows: 10 }, 100)).toBeNull();
    expect(planSnapshot([source('2012-03-10'), source(undefined)], days, 100)).toBeNull();
    expect(planSnapshot([source(null)], days, 100)).toBeNull();
  });
});

describe('buildSnapshot and readSnapshotTable: older CSV snapshots', () => {
  it('reads an older CSV snapshot that meets the schema as typed rows', async () => {
    const old = file('snapshots/old.csv', csv(ROWS));
    const table = await readSnapshotTable(old.path, SCHEMA, old.source);
    expect(table.rows).toBe(ROWS.length);
    expect(table.columns.get('temp')!.kind).toBe('number');
    expect(table.columns.get('date')!.kind).toBe('date');
    expect(rowsOf(table)[0]).toEqual({ date: '2012-01-03', temp: 5.5, weather: 'rain', note: 'wet, windy' });
  });

  it('refuses an older CSV snapshot that breaks the schema, naming the file and the problem', async () => {
    const bad = file('snapshots/2012-01-04.csv', csv([...ROWS.slice(0, 2), ['2012-01-05', 4, 'hail', null]]));
    const built = await rejection(
      buildSnapshot([file('ok.csv', csv(ROWS)), bad], SCHEMA, { window: { kind: 'all' }, timeColumn: 'date', out: fresh('never.parquet') }),
    );
    expect(built.name).toBe('DataError');
    expect(built.message).toMatch(
      /^snapshots\/2012-01-04\.csv: no longer meets the model's schema \(row 4: 'hail' is not one of the allowed values \(rain, sun, fog\)\)/,
    );
    const read = await rejection(readSnapshotTable(bad.path, SCHEMA, bad.source));
    expect(read.name).toBe('DataError');
    expect(read.message).toMatch(/^snapshots\/2012-01-04\.csv: no longer meets the model's schema/);
  });

  it('refuses an older CSV snapshot without a column of the schema, naming the file and the column', async () => {
    const bad = file('snapshots/old-schema.csv', 'date,temp,weather\n2012-01-01,5,rain\n');
    const error = await rejection(buildSnapshot([bad], SCHEMA, { window: { kind: 'all' }, timeColumn: 'date', out: fresh('never.parquet') }));
    expect(error.name).toBe('DataError');
    expect(error.message).toMatch(
      /^snapshots\/old-schema\.csv: no longer meets the model's schema \(column 'note' is missing \(the file has: date, temp, weather\)\)/,
    );
  });
});

describe('splitByTime', () => {
  /** `perDay` rows on each of `n` days (at the given times of day), v numbering them in time order. */
  function dayRows(n: number, times: string[]): string {
    const lines = ['date,v'];
    for (let d = 0; d < n; d++) for (const t of times) lines.push(`2012-02-${String(d + 1).padStart(2, '0')}${t},${lines.length}`);
    return lines.join('\n') + '\n';
  }
  const schema = tableSchema.parse({
    fields: [
      { name: 'date', type: 'date' },
      { name: 'v', type: 'number' },
    ],
  });
  const dayOf = (time: string) => time.slice(0, 10);

  /** The split of a snapshot of `text`, with the days on each side. */
  async function split(text: string, fraction: number) {
    // Rows handed over shuffled: the snapshot puts them in time order.
    const lines = text.trim().split('\n');
    const shuffled = [lines[0]!, ...lines.slice(1).reverse()].join('\n');
    const { table } = await snapshot([file('rows.csv', shuffled)], { schema });
    const { train, holdout, from } = splitByTime(table, all(table), fraction, 'date');
    return { table, train, holdout, from, trainTimes: timesOf(table, train), holdoutTimes: timesOf(table, holdout) };
  }

  it('holds out the newest fraction of the rows, in time order', async () => {
    const { table, train, holdout, from, trainTimes, holdoutTimes } = await split(dayRows(10, ['']), 0.2);
    expect(train.length + holdout.length).toBe(table.rows);
    expect(holdoutTimes).toEqual(['2012-02-09', '2012-02-10']);
    expect(trainTimes).toEqual(Array.from({ length: 8 }, (_, i) => `2012-02-${String(i + 1).padStart(2, '0')}`));
    expect(from).toBe('2012-02-09');
  });

  it('never splits a day between training and holdout rows (dates)', async () => {
    // Three rows a day: a cut at 80% of 24 rows falls inside the 7th day.
    const { trainTimes, holdoutTimes, from } = await split(dayRows(8, ['', '', '']), 0.2);
    const trainDays = new Set(trainTimes.map(dayOf));
    expect(holdoutTimes.filter((t) => trainDays.has(dayOf(t)))).toEqual([]);
    expect(holdoutTimes.length).toBeGreaterThanOrEqual(Math.ceil(24 * 0.2));
    expect(trainTimes.every((t) => t < holdoutTimes[0]!)).toBe(true);
    expect(from).toBe(holdoutTimes[0]);
  });

  it('never splits a day between training and holdout rows (date-times)', async () => {
    // Four rows a day at different hours: a cut at 70% of 20 rows falls inside the 4th day.
    const { trainTimes, holdoutTimes } = await split(dayRows(5, ['T06:00:00', 'T12:00:00', 'T18:00:00', 'T23:00:00']), 0.3);
    const trainDays = new Set(trainTimes.map(dayOf));
    expect(holdoutTimes.filter((t) => trainDays.has(dayOf(t)))).toEqual([]);
    expect(trainTimes.every((t) => t < holdoutTimes[0]!)).toBe(true);
  });

  it('keeps at least one row on each side, and refuses fewer than 2 rows, saying how many there are', async () => {
    const tiny = await split(dayRows(10, ['']), 0.01);
    expect([tiny.train.length, tiny.holdout.length]).toEqual([9, 1]);
    const huge = await split(dayRows(10, ['']), 0.99);
    expect([huge.train.length, huge.holdout.length]).toEqual([1, 9]);
    const { table } = await snapshot([file('one.csv', 'date,v\n2012-01-01,1\n')], { schema });
    expect(() => splitByTime(table, all(table), 0.2, 'date')).toThrow('a time-based holdout needs at least 2 rows, the snapshot has 1');
  });
});
