/**
 * Bad batches on the real S3 server, through the pipeline's ingest and
 * validate activities called directly (no worker: they need only an activity
 * context). Each bad batch is moved to quarantine with a .reasons.json that
 * names the problem, its bytes kept as they came; good batches proceed (a bad
 * row of theirs goes to a .rejected-rows.json); no row is lost; the incoming
 * prefix ends with the good batches only (they stay there: the snapshot's
 * manifest records them, see README "The retraining pipeline").
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { IngestOutput, SnapshotInput, SnapshotOutput, ValidateInput, ValidateOutput } from '../../activities/types';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCsv, formatJsonl, validateFile, type Cell } from '../../src/data';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import type { ModelSpec } from '../../src/spec';
import { keys, sha256 } from '../../src/store';
import { binaryBytes, damagedParquet, hugeField, RAW_CONTROL } from '../unit/data/bad-input-fixtures';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let spec: ModelSpec;
const model = `bad-${uniqueId()}`;
// An activity context (heartbeats, a logger kept quiet: failures are expected here); the services are real.
const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
let activities: ReturnType<typeof createPipelineActivities>;
const ingest = (): Promise<IngestOutput> => env.run((i: { model: string }) => activities.ingest(i), { model });
const validate = (input: ValidateInput): Promise<ValidateOutput> => env.run((i: ValidateInput) => activities.validate(i), input);
const snapshot = (input: SnapshotInput): Promise<SnapshotOutput> => env.run((i: SnapshotInput) => activities.snapshot(i), input);

let columns: string[];
/** Seattle's rows of one year, as the demo's batches hold them. */
let year: (y: number) => Cell[][];
const NUMBERS = ['precipitation', 'temp_max', 'temp_min', 'wind'];
/** JSON Lines with numbers as numbers. */
const asJsonl = (rows: Cell[][]) =>
  formatJsonl(
    columns,
    rows.map((r) => r.map((c, i) => (c !== null && NUMBERS.includes(columns[i]!) ? Number(c) : c))),
  );
/** Rows with `column` set to `value` at the given indexes. */
function withValue(rows: Cell[][], column: string, value: Cell, at: number[]): Cell[][] {
  return rows.map((r, i) => (at.includes(i) ? r.map((c, j) => (columns[j] === column ? value : c)) : [...r]));
}

interface Batch {
  name: string;
  body: Buffer;
  /** Data rows in the file (undefined: not readable as rows at all). */
  rows?: number;
  /** Good: accepted (with this many rows rejected into .rejected-rows.json). Bad: quarantined whole for this reason. */
  rejectedRows?: number;
  reason?: RegExp;
}

let batches: Batch[];
const of = (text: string) => Buffer.from(text);

beforeAll(async () => {
  h = await createHarness();
  ({ spec } = await bootstrapWeather(h.store, { model, years: [] }));
  activities = createPipelineActivities(h.deps);
  const weather = await weatherRows('Seattle');
  columns = weather.columns;
  year = (y) => weather.rows.filter((r) => String(r[columns.indexOf('date')]).startsWith(`${y}-`));
  batches = [
    // good batches, names with path characters, spaces and unicode
    { name: 'seattle-2013.csv', body: of(formatCsv(columns, withValue(year(2013), 'weather', 'NaN', [40]))), rows: 365, rejectedRows: 1 },
    {
      name: 'seattle 2014 (with humidity).csv',
      body: of(
        formatCsv(
          [...columns, 'humidity'],
          year(2014).map((r, i) => [...r, 60 + (i % 30)]),
        ),
      ),
      rows: 365,
      rejectedRows: 0,
    },
    { name: 'météo-2015.jsonl', body: of(asJsonl(year(2015))), rows: 365, rejectedRows: 0 },
    // bad batches
    { name: 'photo.csv', body: binaryBytes(), reason: /, row 1: binary data, not text/ },
    { name: 'header-only.csv', body: of(formatCsv(columns, [])), rows: 0, reason: /^the file has a header but no rows$/ },
    {
      name: 'nan-labels.csv',
      body: of(formatCsv(columns, withValue(year(2012).slice(0, 20), 'weather', 'NaN', [2, 5, 8, 11, 14]))),
      rows: 20,
      reason: /^5 of 20 rows are invalid \(25\.0% > errorBudget 5\.0%\)$/,
    },
    {
      name: 'broken.jsonl',
      body: of(
        asJsonl(year(2012).slice(20, 30))
          .trimEnd()
          .split('\n')
          .map((line, i) => (i === 3 ? 'rain, 6 degrees' : i === 9 ? line.slice(0, 25) : line)) // line 10 cut off, as an interrupted write leaves it
          .join('\n'),
      ),
      rows: 10,
      reason: /^2 of 10 rows are invalid \(20\.0% > errorBudget 5\.0%\)$/,
    },
    { name: 'corrupt.parquet', body: damagedParquet(), reason: /: not a readable Parquet file: / },
    {
      name: 'huge-field.csv',
      body: of(formatCsv(columns, withValue(year(2012).slice(30, 40), 'wind', hugeField(), [4]))),
      rows: 10,
      reason: /^1 of 10 rows are invalid \(10\.0% > errorBudget 5\.0%\)$/,
    },
  ];
  for (const b of batches) await h.store.put(keys.incomingBatch(model, b.name), b.body);
});

afterAll(async () => {
  await h?.close();
});

const good = () => batches.filter((b) => !b.reason);
const bad = () => batches.filter((b) => b.reason);

describe('bad batches through ingest and validate on S3', () => {
  it('validate quarantines each bad batch whole, naming it and its problem in a short message', async () => {
    const ingested = await ingest();
    expect(ingested.batches.map((b) => b.key).sort()).toEqual(batches.map((b) => keys.incomingBatch(model, b.name)).sort());
    const failure = await validate({ model, spec, batches: ingested.batches }).then(
      () => undefined,
      (e: unknown) => e as Error & { type?: string; details?: [{ failures: string[] }] },
    );
    expect(failure?.type).toBe('DataValidationError');
    const failures = failure!.details![0].failures;
    expect(failures).toHaveLength(bad().length);
    for (const b of bad()) {
      const line = failures.find((f) => f.startsWith(`${keys.incomingBatch(model, b.name)}`));
      expect(line, b.name).toBeDefined();
      // One failure per batch, short and printable even for the 10 MB field; the file named once.
      expect(line!.length, line!.slice(0, 200)).toBeLessThan(1000);
      expect(line).not.toMatch(RAW_CONTROL);
      expect(line!.split(keys.incomingBatch(model, b.name)).length).toBe(2);
    }
    expect(failures.find((f) => f.includes('huge-field.csv'))).toContain("(row 6 wind: expected a number, found 'zzzz");
  });

  it('each bad batch is in quarantine byte for byte, with a .reasons.json naming the problem and the rows', async () => {
    for (const b of bad()) {
      const sha = sha256(b.body);
      const copy = await h.store.get(keys.quarantinedBatch(model, sha, b.name));
      expect(sha256(copy), b.name).toBe(sha);
      const reasons = JSON.parse((await h.store.get(keys.quarantineReasons(model, sha, b.name))).toString());
      expect(reasons.batch).toBe(keys.incomingBatch(model, b.name));
      expect(reasons.reasons).toHaveLength(1);
      expect(reasons.reasons[0]).toMatch(b.reason!);
      for (const e of reasons.errors as { reason: string }[]) {
        expect(e.reason.length).toBeLessThan(500);
        expect(e.reason).not.toMatch(RAW_CONTROL);
      }
    }
    const errorsOf = async (name: string) => {
      const b = batches.find((x) => x.name === name)!;
      return JSON.parse((await h.store.get(keys.quarantineReasons(model, sha256(b.body), name))).toString()).errors as {
        row: number;
        column?: string;
        reason: string;
      }[];
    };
    expect((await errorsOf('nan-labels.csv')).map((e) => [e.row, e.column, e.reason])).toEqual(
      [4, 7, 10, 13, 16].map((row) => [row, 'weather', "'NaN' is not one of the allowed values (drizzle, fog, rain, snow, sun)"]),
    );
    expect((await errorsOf('broken.jsonl')).map((e) => [e.row, e.reason.slice(0, 15)])).toEqual([
      [4, 'not valid JSON:'],
      [10, 'not valid JSON:'],
    ]);
    expect((await errorsOf('huge-field.csv'))[0]).toMatchObject({
      row: 6,
      column: 'wind',
      reason: `expected a number, found '${'z'.repeat(80)}'... (10000000 characters)`,
    });
  });

  it('incoming keeps the good batches only; the next ingest and validate accept them and lose no row', async () => {
    const incoming = (await h.store.list(keys.incoming(model))).map((o) => o.key).sort();
    expect(incoming).toEqual(
      good()
        .map((b) => keys.incomingBatch(model, b.name))
        .sort(),
    );

    const ingested = await ingest();
    expect(ingested.batches.map((b) => b.key).sort()).toEqual(incoming);
    const out = await validate({ model, spec, batches: ingested.batches });
    expect(out.accepted).toHaveLength(good().length);
    // Rows in = rows accepted + rows quarantined.
    const rowsIn = good().reduce((n, b) => n + b.rows!, 0);
    expect(out.rowsAccepted + out.rowsRejected).toBe(rowsIn);
    expect(out.rowsRejected).toBe(1);
    for (const b of good()) {
      const batch = out.accepted.find((a) => a.key === keys.incomingBatch(model, b.name))!;
      expect(batch.rows + batch.rejectedRows, b.name).toBe(b.rows);
      expect(batch.rejectedRows).toBe(b.rejectedRows);
    }
    const nan = out.accepted.find((a) => a.key.endsWith('seattle-2013.csv'))!;
    const rejected = JSON.parse((await h.store.get(nan.quarantineKey!)).toString());
    expect(rejected.rows).toEqual([42]);
    expect(rejected.errors).toEqual([
      { source: nan.key, row: 42, column: 'weather', reason: "'NaN' is not one of the allowed values (drizzle, fog, rain, snow, sun)" },
    ]);

    const snap = await snapshot({ model, spec, base: null, accepted: out.accepted });
    expect(snap.rows).toBe(out.rowsAccepted);
    // The rows of the quarantined batches are all there too: each copy reads back to the rows it came with.
    const dir = await mkdtemp(join(tmpdir(), 'quarantined-'));
    for (const b of bad().filter((x) => x.rows !== undefined)) {
      const copy = join(dir, b.name);
      await writeFile(copy, await h.store.get(keys.quarantinedBatch(model, sha256(b.body), b.name)));
      expect((await validateFile(copy, spec.schema, { source: b.name })).rowsRead, b.name).toBe(b.rows);
    }
    await rm(dir, { recursive: true, force: true });
  });
});
