/**
 * The prediction log without services: the spool (group commit, rotation by
 * rows and by age, adoption of a dead server's directory, a torn last line
 * ignored with every complete line kept) and the Parquet parts (columns and
 * types as DuckDB reads them, one part per model and day, deterministic keys,
 * a failing store retried with nothing dropped), on an in-memory store.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryParquetBytes } from '../helpers/parquet-parts';
import { PredictionLog, predictionRecord, readSegment, Spool, writeLogParts, type PredictionRecord } from '../../src/serve';
import { decodeV2 } from '../../src/serve';
import { keys, MemoryStore, type ObjectStore, type PutOptions } from '../../src/store';
import { PredictionLookup } from '../../src/serve/feedback';
import { writeParquetPart } from '../../src/serve/parquet-parts';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'perennial-spool-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const line = (id: string, extra: Partial<PredictionRecord> = {}) => JSON.stringify(record([id], extra)) + '\n';

function record(ids: string[], extra: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    model: 'weather',
    version: 'v1',
    arm: 'champion',
    time: '2026-03-01T10:00:00.000Z',
    latency_ms: 1.5,
    ids,
    kinds: { temp: 'number', city: 'category', day: 'date' },
    inputs: { temp: ids.map((_, i) => (i % 2 ? null : 20 + i)), city: ids.map(() => 'Oslo'), day: ids.map(() => '2015-06-01') },
    task: 'classification',
    classes: ['rain', 'sun'],
    labels: ids.map(() => 'sun'),
    probabilities: ids.flatMap(() => [0.25, 0.75]),
    ...extra,
  };
}

/** A pid no process has: a child that has already exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid;
}

const segmentsIn = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-'));

describe('the spool', () => {
  it('writes before it resolves, commits concurrent appends together and rotates after maxRows', async () => {
    const spool = new Spool({ root, store: 'memory', maxRows: 10, maxAgeMs: 60_000, log: () => {} });
    await spool.open();
    await spool.append(line('a'), 1);
    // Resolved: the line is in the file (the OS has it), before anything else happens.
    const [first] = segmentsIn(spool.dir);
    expect(readFileSync(join(spool.dir, first!), 'utf8')).toBe(line('a'));
    // 24 at once: written together (one write, after the first), in whole lines; the segment then holds 25 >= 10 rows and is closed.
    await Promise.all(Array.from({ length: 24 }, (_, i) => spool.append(line(`b${i}`), 1)));
    expect(spool.backlogRows).toBe(25);
    expect(await spool.closedSegments()).toHaveLength(1);
    // One at a time: closed at the 10th row.
    for (let i = 0; i < 12; i++) await spool.append(line(`c${i}`), 1);
    expect(await spool.closedSegments()).toHaveLength(2);
    await spool.rotate();
    const closed = await spool.closedSegments();
    const read = await Promise.all(closed.map((s) => readSegment<PredictionRecord>(s.path)));
    expect(read.map((r) => r.rows)).toEqual([25, 10, 2]);
    expect(read.every((r) => r.tornBytes === 0 && r.corrupt.length === 0)).toBe(true);
    const ids = read.flatMap((r) => r.records.flatMap((x) => x.ids));
    expect(new Set(ids).size).toBe(37);
    // Oldest first: 'a' is in the first segment.
    expect(read[0]!.records[0]!.ids).toEqual(['a']);
    await spool.close();
  });

  it('closes a segment with rows after maxAgeMs, and never leaves an empty one', async () => {
    let rotated = 0;
    const spool = new Spool({ root, store: 'memory', maxRows: 1000, maxAgeMs: 100, onRotate: () => rotated++, log: () => {} });
    await spool.open();
    await spool.append(line('a'), 1);
    // Several age checks pass: the segment with a row is closed once, and no empty one is opened or closed after it.
    await new Promise((r) => setTimeout(r, 400));
    expect(rotated).toBe(1);
    const closed = await spool.closedSegments();
    expect(closed).toHaveLength(1);
    expect(segmentsIn(spool.dir)).toEqual([`seg-${closed[0]!.id}.jsonl`]);
    expect((await readSegment<PredictionRecord>(closed[0]!.path)).rows).toBe(1);
    // A rotation and a close with nothing written since: still no zero-row segment, and no rotation.
    await spool.rotate();
    await spool.close();
    expect(rotated).toBe(1);
    expect(segmentsIn(spool.dir)).toEqual([`seg-${closed[0]!.id}.jsonl`]);
    expect(spool.backlogRows).toBe(1);
  });

  it('adopts the segments of a killed server (same store only); a torn last line is ignored, every complete line kept', async () => {
    // A live server's directory: never touched.
    const live = new Spool({ root, store: 'memory', log: () => {} });
    await live.open();
    await live.append(line('live'), 1);
    // What a server killed mid-write leaves: two complete lines, then half of a third.
    const dead = join(root, 'serve-99999-dead01');
    mkdirSync(dead);
    writeFileSync(join(dead, 'owner.json'), JSON.stringify({ pid: deadPid(), store: 'memory', startedAt: new Date().toISOString() }));
    const path = join(dead, 'seg-20260301T100000000Z-0000abcd.jsonl');
    writeFileSync(path, line('p1') + line('p2'));
    appendFileSync(path, line('p3').slice(0, 40));
    // Another store's leftovers: not touched.
    const other = join(root, 'serve-99998-other1');
    mkdirSync(other);
    writeFileSync(join(other, 'owner.json'), JSON.stringify({ pid: deadPid(), store: 's3://elsewhere', startedAt: '' }));
    writeFileSync(join(other, 'seg-20260301T100000000Z-0000ffff.jsonl'), line('x1'));

    const logs: string[] = [];
    const spool = new Spool({ root, store: 'memory', log: (l) => logs.push(l) });
    await spool.open();
    expect(existsSync(dead)).toBe(false);
    expect(segmentsIn(other)).toHaveLength(1);
    expect(segmentsIn(live.dir)).toHaveLength(1);
    expect(logs.join('\n')).toContain('adopted 1 prediction log segment');
    const [segment] = await spool.closedSegments();
    expect(segment!.id).toBe('20260301T100000000Z-0000abcd');
    expect(spool.backlogRows).toBe(2);
    const read = await readSegment<PredictionRecord>(segment!.path);
    expect(read.records.map((r) => r.ids[0])).toEqual(['p1', 'p2']);
    expect(read.tornBytes).toBe(40);
    expect(read.corrupt).toEqual([]);
    // This process appends to a segment of its own, never after the torn tail.
    await spool.append(line('p4'), 1);
    expect(segmentsIn(spool.dir)).toHaveLength(2);
    expect(readFileSync(segment!.path, 'utf8').endsWith(line('p3').slice(0, 40))).toBe(true);
    await spool.close();
    await live.close();
  });
});

describe('the Parquet parts', () => {
  it('has the columns a drift check reads, typed, one part per model and UTC day, keyed by the segment id', async () => {
    const inputs = [
      { name: 'temp', kind: 'number' as const, datatype: 'FP64' as const, nullable: true, numericCategory: false },
      { name: 'city', kind: 'category' as const, datatype: 'BYTES' as const, nullable: true, numericCategory: false },
      { name: 'day', kind: 'date' as const, datatype: 'BYTES' as const, nullable: true, numericCategory: false },
    ];
    const decoded = decodeV2(
      {
        inputs: [
          { name: 'temp', datatype: 'FP64', shape: [2], data: [21.5, null] },
          { name: 'city', datatype: 'BYTES', shape: [2], data: ['Oslo', 'Paris'] },
          { name: 'day', datatype: 'BYTES', shape: [2], data: ['2015-06-01', '2015-06-02T10:30'] },
        ],
      },
      undefined,
      inputs,
    );
    const probabilities = new Float32Array([0.1, 0.9, 0.7, 0.3]);
    const classified = predictionRecord(
      { model: 'weather', version: 'v3', inputs },
      decoded,
      { task: 'classification', rows: 2, classes: ['rain', 'sun'], labels: ['sun', 'rain'], probabilities },
      ['id-1', 'id-2'],
      new Date('2026-03-01T23:59:59.500Z'),
      2.25,
    );
    const regression: PredictionRecord = {
      ...record(['id-3']),
      model: 'flights',
      task: 'regression',
      classes: undefined,
      labels: undefined,
      probabilities: undefined,
      predictions: [12.5],
      time: '2026-03-02T00:00:00.100Z',
    };
    const nextDay: PredictionRecord = { ...record(['id-4']), time: '2026-03-02T08:00:00.000Z' };
    const dir = await mkdtemp(join(tmpdir(), 'perennial-parts-'));
    try {
      const parts = await writeLogParts([classified, regression, nextDay], 'SEG1', dir);
      expect(parts.map((p) => [p.key, p.rows])).toEqual([
        [keys.predictionLogPart('weather', new Date('2026-03-01T00:00:00Z'), 'SEG1'), 2],
        [keys.predictionLogPart('flights', new Date('2026-03-02T00:00:00Z'), 'SEG1'), 1],
        [keys.predictionLogPart('weather', new Date('2026-03-02T00:00:00Z'), 'SEG1'), 1],
      ]);
      expect(parts[0]!.key).toBe('logs/weather/predictions/dt=2026-03-01/SEG1.parquet');
      const bytes = readFileSync(parts[0]!.path);
      const types = await queryParquetBytes(bytes, (p) => `SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(${p}))`);
      expect(Object.fromEntries(types.map((t) => [t.column_name, t.column_type]))).toEqual({
        prediction_id: 'VARCHAR',
        time: 'TIMESTAMP WITH TIME ZONE',
        model: 'VARCHAR',
        version: 'VARCHAR',
        arm: 'VARCHAR',
        shadow_of: 'VARCHAR',
        latency_ms: 'DOUBLE',
        inputs: 'STRUCT("temp" DOUBLE, city VARCHAR, "day" TIMESTAMP)',
        label: 'VARCHAR',
        probabilities: 'STRUCT(rain DOUBLE, sun DOUBLE)',
      });
      const rows = await queryParquetBytes(
        bytes,
        (p) =>
          `SELECT prediction_id, epoch_ms(time) AS t, version, arm, latency_ms, inputs.temp AS temp, inputs.city AS city, strftime(inputs.day, '%Y-%m-%dT%H:%M') AS day, label, probabilities.rain AS rain, probabilities.sun AS sun FROM read_parquet(${p}) ORDER BY 1`,
      );
      expect(rows).toEqual([
        {
          prediction_id: 'id-1',
          t: Date.parse('2026-03-01T23:59:59.500Z'),
          version: 'v3',
          arm: 'champion',
          latency_ms: 2.25,
          temp: 21.5,
          city: 'Oslo',
          day: '2015-06-01T00:00',
          label: 'sun',
          rain: probabilities[0],
          sun: probabilities[1],
        },
        {
          prediction_id: 'id-2',
          t: Date.parse('2026-03-01T23:59:59.500Z'),
          version: 'v3',
          arm: 'champion',
          latency_ms: 2.25,
          temp: null,
          city: 'Paris',
          day: '2015-06-02T10:30',
          label: 'rain',
          rain: probabilities[2],
          sun: probabilities[3],
        },
      ]);
      const flights = await queryParquetBytes(readFileSync(parts[1]!.path), (p) => `SELECT prediction_id, prediction FROM read_parquet(${p})`);
      expect(flights).toEqual([{ prediction_id: 'id-3', prediction: 12.5 }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('release arms in the log', () => {
  it('logs candidate and shadow rows; a shadow row has its own id and shadow_of the champion id; parts written before releases still read', async () => {
    const champion = record(['c-1', 'c-2'], { version: 'v1' });
    const candidate = record(['k-1'], { version: 'v2', arm: 'candidate' });
    const shadow = record(['s-1', 's-2'], { version: 'v2', arm: 'shadow', shadowOf: ['c-1', 'c-2'], labels: ['rain', 'rain'] });
    const dir = await mkdtemp(join(tmpdir(), 'perennial-parts-'));
    try {
      const [part] = await writeLogParts([champion, candidate, shadow], 'NEW', dir);
      const rows = await queryParquetBytes(
        readFileSync(part!.path),
        (p) => `SELECT prediction_id, version, arm, shadow_of, label FROM read_parquet(${p}) ORDER BY prediction_id`,
      );
      expect(rows).toEqual([
        { prediction_id: 'c-1', version: 'v1', arm: 'champion', shadow_of: null, label: 'sun' },
        { prediction_id: 'c-2', version: 'v1', arm: 'champion', shadow_of: null, label: 'sun' },
        { prediction_id: 'k-1', version: 'v2', arm: 'candidate', shadow_of: null, label: 'sun' },
        { prediction_id: 's-1', version: 'v2', arm: 'shadow', shadow_of: 'c-1', label: 'rain' },
        { prediction_id: 's-2', version: 'v2', arm: 'shadow', shadow_of: 'c-2', label: 'rain' },
      ]);
      // A part as the server wrote them before releases: no shadow_of column.
      const old = await writeParquetPart(
        dir,
        'old',
        [
          JSON.stringify({
            prediction_id: 'o-1',
            time: '2026-03-01T09:00:00.000Z',
            model: 'weather',
            version: 'v0',
            arm: 'champion',
            latency_ms: 1,
            inputs: { temp: 3 },
            label: 'rain',
            probabilities: { rain: 0.6, sun: 0.4 },
          }),
        ],
        [
          ['prediction_id', 'VARCHAR'],
          ['time', 'TIMESTAMPTZ'],
          ['model', 'VARCHAR'],
          ['version', 'VARCHAR'],
          ['arm', 'VARCHAR'],
          ['latency_ms', 'DOUBLE'],
          ['inputs', 'STRUCT("temp" DOUBLE)'],
          ['label', 'VARCHAR'],
          ['probabilities', 'STRUCT(rain DOUBLE, sun DOUBLE)'],
        ],
      );
      const store = new MemoryStore();
      const day = new Date('2026-03-01T00:00:00Z');
      await store.put(keys.predictionLogPart('weather', day, 'OLD'), readFileSync(old));
      await store.put(keys.predictionLogPart('weather', day, 'NEW'), readFileSync(part!.path));
      // The feedback join's lookup reads both; a label for c-1 finds the champion's row, never the shadow's.
      const lookup = new PredictionLookup(store, 30);
      try {
        const found = await lookup.find('weather', ['o-1', 'c-1', 'c-2'], Date.parse('2026-03-01T12:00:00Z'));
        expect([...found.values()].map((r) => [r.predictionId, r.version, r.arm, r.label])).toEqual(
          expect.arrayContaining([
            ['o-1', 'v0', 'champion', 'rain'],
            ['c-1', 'v1', 'champion', 'sun'],
            ['c-2', 'v1', 'champion', 'sun'],
          ]),
        );
        expect(found.size).toBe(3);
      } finally {
        await lookup.close();
      }
      // And with DuckDB as a user reads the log: union_by_name = true, the old rows' shadow_of is NULL.
      const both = await queryParquetBytes(
        readFileSync(part!.path),
        (p) =>
          `SELECT arm, count(*)::INT AS n, count(shadow_of)::INT AS linked FROM read_parquet([${p}, '${old}'], union_by_name = true) GROUP BY arm ORDER BY arm`,
      );
      expect(both).toEqual([
        { arm: 'candidate', n: 1, linked: 0 },
        { arm: 'champion', n: 3, linked: 0 },
        { arm: 'shadow', n: 2, linked: 2 },
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps a shadow line without its champion ids out of the log, as corrupt', async () => {
    const store = new MemoryStore();
    const bad: string[] = [];
    const log = new PredictionLog(
      store,
      { spoolDir: root, maxRows: 100, maxSeconds: 60, drainMs: 0 },
      { spooled: () => {}, uploaded: () => {}, uploadFailed: () => {}, ignoredLines: (reason, n) => bad.push(`${reason} ${n}`) },
      () => {},
    );
    await log.start();
    await log.append(record(['c-1']));
    await log.append(record(['s-1'], { arm: 'shadow', version: 'v2' }));
    await log.close();
    expect(bad).toEqual(['corrupt 1']);
    const parts = (await store.list(keys.predictionLogs('weather'))).filter((o) => o.key.endsWith('.parquet'));
    const ids = await queryParquetBytes(await store.get(parts[0]!.key), (p) => `SELECT prediction_id FROM read_parquet(${p})`);
    expect(ids).toEqual([{ prediction_id: 'c-1' }]);
  });
});

/** A store whose puts fail while `failing` is set. */
class FlakyStore implements ObjectStore {
  readonly description = 'memory';
  failing = true;
  puts = 0;
  constructor(readonly inner = new MemoryStore()) {}
  get = (key: string) => this.inner.get(key);
  getIfExists = (key: string) => this.inner.getIfExists(key);
  head = (key: string) => this.inner.head(key);
  list = (prefix: string) => this.inner.list(prefix);
  delete = (key: string) => this.inner.delete(key);
  async put(key: string, body: Buffer | string, options?: PutOptions) {
    this.puts += 1;
    if (this.failing) throw new Error('S3 is down');
    return this.inner.put(key, body, options);
  }
}

describe('the uploader', () => {
  it('keeps a segment while its upload fails, retries, and removes it only once stored: every row once', async () => {
    const store = new FlakyStore();
    const events = { spooled: 0, uploaded: 0, failed: 0 };
    const log = new PredictionLog(
      store,
      { spoolDir: root, maxRows: 5, maxSeconds: 60, drainMs: 0 },
      {
        spooled: (_m, n) => (events.spooled += n),
        uploaded: (_m, n) => (events.uploaded += n),
        uploadFailed: () => events.failed++,
        ignoredLines: () => {},
      },
      () => {},
    );
    await log.start();
    const ids = Array.from({ length: 12 }, (_, i) => `id-${String(i).padStart(2, '0')}`);
    for (const id of ids) await log.append(record([id]));
    await log.spool.rotate();
    await expect(log.uploadClosed()).rejects.toThrow('S3 is down');
    expect(log.spool.backlogRows).toBe(12);
    expect((await log.spool.closedSegments()).length).toBe(3);
    store.failing = false;
    await log.uploadClosed();
    expect(log.spool.backlogRows).toBe(0);
    expect(await log.spool.closedSegments()).toEqual([]);
    expect(events).toMatchObject({ spooled: 12, uploaded: 12 });
    const stored = await store.inner.list(keys.predictionLogs('weather'));
    expect(stored).toHaveLength(3);
    const all: string[] = [];
    for (const o of stored) {
      const rows = await queryParquetBytes(await store.inner.get(o.key), (p) => `SELECT prediction_id FROM read_parquet(${p})`);
      for (const r of rows) all.push(r.prediction_id as string);
    }
    expect(all.sort()).toEqual(ids);
    await log.close();
    expect(existsSync(log.spool.dir)).toBe(false);
  });

  it('uploads a segment again after a crash before its removal: the same keys, every row once', async () => {
    const store = new MemoryStore();
    const quiet = { spooled: () => {}, uploaded: () => {}, uploadFailed: () => {}, ignoredLines: () => {} };
    const first = new PredictionLog(store, { spoolDir: root, maxSeconds: 60, drainMs: 0 }, quiet, () => {});
    await first.start();
    await first.append(record(['a', 'b']));
    await first.append(record(['c'], { time: '2026-03-02T08:00:00.000Z' }));
    await first.append(record(['d'], { model: 'flights' }));
    await first.spool.rotate();
    // The process dies after the parts are stored, before the segment is removed.
    first.spool.remove = () => Promise.reject(new Error('killed before removal'));
    await expect(first.uploadClosed()).rejects.toThrow('killed before removal');
    await first.close();
    const [segment] = segmentsIn(first.spool.dir);
    expect(segment).toBeDefined();
    const keysOnce = (await store.list('logs/')).map((o) => o.key).sort();
    expect(keysOnce).toHaveLength(3);
    // The next start adopts the segment and uploads it again: the same three keys, overwritten, and the segment goes.
    const second = new PredictionLog(store, { spoolDir: root }, quiet, () => {});
    await second.start();
    await second.uploadClosed();
    expect(await second.spool.closedSegments()).toEqual([]);
    expect(existsSync(join(second.spool.dir, segment!))).toBe(false);
    const stored = await store.list('logs/');
    expect(stored.map((o) => o.key).sort()).toEqual(keysOnce);
    const all: string[] = [];
    for (const o of stored) {
      for (const r of await queryParquetBytes(await store.get(o.key), (p) => `SELECT prediction_id FROM read_parquet(${p})`))
        all.push(r.prediction_id as string);
    }
    expect(all.sort()).toEqual(['a', 'b', 'c', 'd']);
    await second.close();
  });

  it('never takes the segment being written for a closed one: appends, rotations and uploads at once lose no row', async () => {
    const store = new MemoryStore();
    const quiet = { spooled: () => {}, uploaded: () => {}, uploadFailed: () => {}, ignoredLines: () => {} };
    const log = new PredictionLog(store, { spoolDir: root, maxRows: 3, maxSeconds: 0.05 }, quiet, () => {});
    await log.start();
    let writing = true;
    const uploads = (async () => {
      while (writing) await log.uploadClosed();
    })();
    const ids: string[] = [];
    await Promise.all(
      Array.from({ length: 8 }, async (_, c) => {
        for (let i = 0; i < 40; i++) {
          const id = `c${c}-${String(i).padStart(3, '0')}`;
          await log.append(record([id]));
          ids.push(id);
          if (i % 7 === 0) await new Promise((r) => setTimeout(r, 1));
        }
      }),
    );
    writing = false;
    await uploads;
    await log.close();
    const all: string[] = [];
    for (const o of await store.list(keys.predictionLogs('weather'))) {
      const rows = await queryParquetBytes(await store.get(o.key), (p) => `SELECT prediction_id FROM read_parquet(${p})`);
      for (const r of rows) all.push(r.prediction_id as string);
    }
    expect(all.sort()).toEqual(ids.sort());
  });

  it('leaves what it could not upload in the spool on close; the next start adopts and uploads it', async () => {
    const store = new FlakyStore();
    const quiet = { spooled: () => {}, uploaded: () => {}, uploadFailed: () => {}, ignoredLines: () => {} };
    const first = new PredictionLog(store, { spoolDir: root, drainMs: 0 }, quiet, () => {});
    await first.start();
    await first.append(record(['a', 'b']));
    await first.close();
    expect(segmentsIn(first.spool.dir)).toHaveLength(1);
    store.failing = false;
    const second = new PredictionLog(store, { spoolDir: root }, quiet, () => {});
    await second.start();
    expect(existsSync(first.spool.dir)).toBe(false);
    await second.uploadClosed();
    await second.close();
    const stored = await store.inner.list(keys.predictionLogs('weather'));
    expect(stored).toHaveLength(1);
    expect(readdirSync(root)).toEqual([]);
  });
});
