/**
 * The feedback log without services: the request's checks (each bad item a
 * 400 naming its index), the join of a label with its prediction (correct,
 * error), first-label-wins deduplication (within a segment, across segments,
 * a re-processed segment writing its own rows again), pending labels (backoff,
 * not due, unmatched after the limit), the Parquet columns as DuckDB reads
 * them, and the whole log on an in-memory store: spooled, joined from memory
 * and from the prediction log's parts, forwarded in batches, a failed forward
 * retried with nothing lost or doubled. Also the receiver workflow's payload check.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { queryParquetBytes } from '../helpers/parquet-parts';
import { ServeError } from '../../src/serve';
import {
  FeedbackLog,
  FirstLabelWins,
  joinFeedback,
  joinSegment,
  parseFeedback,
  predictionRows,
  RecentPredictions,
  retryDelayMs,
  writeFeedbackParts,
  type FeedbackEvents,
  type FeedbackRecord,
  type PredictionRow,
} from '../../src/serve/feedback';
import { PredictionLog, type PredictionRecord } from '../../src/serve/prediction-log';
import { keys, MemoryStore } from '../../src/store';
import type { FeedbackSignalItem } from '../../workflows/definitions';
import { checkFeedbackPayload } from '../../workflows/feedback-receiver';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'perennial-feedback-test-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const CLASSIFIER = { task: 'classification' as const, classes: ['rain', 'sun'] };

function record(ids: string[], labels: string[] = ids.map(() => 'sun'), time = '2026-03-01T10:00:00.000Z'): PredictionRecord {
  return {
    model: 'weather',
    version: 'v1',
    arm: 'champion',
    time,
    latency_ms: 1,
    ids,
    kinds: { temp: 'number', city: 'category', day: 'date' },
    inputs: { temp: ids.map((_, i) => 20 + i), city: ids.map(() => 'Oslo'), day: ids.map(() => '2015-06-01') },
    task: 'classification',
    classes: ['rain', 'sun'],
    labels,
    probabilities: labels.flatMap((l) => (l === 'sun' ? [0.25, 0.75] : [0.75, 0.25])),
  };
}

const rowsById = (r: PredictionRecord) => new Map(predictionRows(r).map((p) => [p.predictionId, p]));
const fb = (model: string, time: string, items: FeedbackRecord['items']): FeedbackRecord => ({ model, time, ids: items.map((i) => i.predictionId), items });

function status(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (error) {
    if (error instanceof ServeError) return { status: error.status, message: error.message };
    throw error;
  }
  return { status: 200, message: '' };
}

describe('the feedback request', () => {
  it('takes one item or a batch, labels and flags', () => {
    expect(parseFeedback({ predictionId: 'a', label: 'sun' }, CLASSIFIER)).toEqual([{ predictionId: 'a', label: 'sun' }]);
    expect(
      parseFeedback(
        {
          items: [
            { predictionId: 'a', label: 'rain' },
            { predictionId: 'b', flag: 'wrong' },
          ],
        },
        CLASSIFIER,
      ),
    ).toEqual([
      { predictionId: 'a', label: 'rain' },
      { predictionId: 'b', flag: 'wrong' },
    ]);
    expect(parseFeedback({ items: [{ predictionId: 'r', label: 2.5 }] }, { task: 'regression' })).toEqual([{ predictionId: 'r', label: 2.5 }]);
  });

  it('answers 400 naming the item index and the problem', () => {
    const bad = (body: unknown, target = CLASSIFIER) => status(() => parseFeedback(body, target));
    const items = (...list: unknown[]) => ({ items: list });
    expect(bad(items({ predictionId: 'a', label: 'sun' }, { predictionId: 'b', label: 'snow' }))).toEqual({
      status: 400,
      message: "item 1 (items[1]): 'label' 'snow' is not one of the model's classes (rain, sun)",
    });
    expect(bad(items({ predictionId: 'a' })).message).toMatch(/^item 0 \(items\[0\]\): send a 'label'.+or a 'flag'/);
    expect(bad(items({ label: 'sun' })).message).toMatch(/^item 0 \(items\[0\]\): 'predictionId' must be/);
    expect(bad(items({ predictionId: 'a', label: 'sun' }, 'x')).message).toMatch(/^item 1 \(items\[1\]\) must be an object/);
    expect(bad(items({ predictionId: 'a', flag: '' })).message).toMatch(/^item 0 \(items\[0\]\): 'flag' must be/);
    expect(bad(items({ predictionId: 'a', label: 'nope' }), { task: 'regression' } as never).message).toBe(
      "item 0 (items[0]): 'label' must be a finite number for this regression model, found 'nope'",
    );
    expect(bad({ items: [] }).message).toMatch(/'items' is empty/);
    expect(bad([1]).status).toBe(400);
  });
});

describe('the join', () => {
  it('joins a label with its prediction: correct for a classifier, prediction − label for a regression', () => {
    const p = rowsById(record(['a', 'b'], ['sun', 'rain']));
    expect(joinFeedback({ predictionId: 'a', label: 'sun' }, 5, p.get('a')!)).toMatchObject({ correct: true, label: 'sun', feedbackTime: 5 });
    expect(joinFeedback({ predictionId: 'b', label: 'sun' }, 5, p.get('b')!).correct).toBe(false);
    const flagged = joinFeedback({ predictionId: 'b', flag: 'wrong' }, 5, p.get('b')!);
    expect(flagged.flag).toBe('wrong');
    expect('correct' in flagged).toBe(false);
    const reg: PredictionRow = { predictionId: 'r', model: 'm', version: 'v1', arm: 'champion', time: 0, inputs: {}, task: 'regression', prediction: 10 };
    expect(joinFeedback({ predictionId: 'r', label: 12.5 }, 0, reg).error).toBe(-2.5);
  });

  it('keeps the last predictions in memory, the oldest forgotten first', () => {
    const recent = new RecentPredictions(3);
    recent.add(record(['a', 'b']));
    recent.add(record(['c', 'd']));
    expect(recent.size).toBe(3);
    expect(recent.get('a')).toBeUndefined();
    expect(recent.get('d')?.probabilities).toEqual({ rain: 0.25, sun: 0.75 });
  });

  it('counts duplicates once, the first label winning, within a segment and across segments', async () => {
    const p = rowsById(record(['a', 'b']));
    const find = async (_m: string, ids: string[]) => new Map(ids.flatMap((id) => (p.has(id) ? [[id, p.get(id)!] as const] : [])));
    const dedup = new FirstLabelWins();
    const t = '2026-03-01T10:01:00.000Z';
    const first = await joinSegment(
      [
        fb('weather', t, [{ predictionId: 'a', label: 'sun' }]),
        fb('weather', t, [
          { predictionId: 'a', label: 'rain' },
          { predictionId: 'b', label: 'rain' },
        ]),
      ],
      'seg1',
      dedup,
      find,
      Date.parse(t),
      86_400_000,
    );
    expect(first.joined.map((j) => [j.predictionId, j.label])).toEqual([
      ['a', 'sun'],
      ['b', 'rain'],
    ]);
    expect(first.duplicates).toEqual(new Map([['weather', 1]]));
    // The same segment processed again (a failed forward): its own rows again, not duplicates.
    const again = await joinSegment([fb('weather', t, [{ predictionId: 'a', label: 'sun' }])], 'seg1', dedup, find, Date.parse(t), 86_400_000);
    expect(again.joined).toHaveLength(1);
    // Another segment: a duplicate.
    const later = await joinSegment([fb('weather', t, [{ predictionId: 'a', label: 'rain' }])], 'seg2', dedup, find, Date.parse(t), 86_400_000);
    expect(later.joined).toEqual([]);
    expect(later.duplicates.get('weather')).toBe(1);
    // An id remembered from the feedback log (a restart) is a duplicate too.
    dedup.remember('weather/b2');
    expect(dedup.claim('weather/b2', 'seg3')).toBe(false);
  });

  it('keeps a label whose prediction is not found pending, with backoff, and unmatched only after the limit', async () => {
    const none = async () => new Map<string, PredictionRow>();
    const dedup = new FirstLabelWins();
    const t0 = Date.parse('2026-03-01T10:00:00.000Z');
    const received = fb('weather', new Date(t0).toISOString(), [{ predictionId: 'x', label: 'sun' }]);
    const first = await joinSegment([received], 's1', dedup, none, t0, 60_000);
    expect(first.joined).toEqual([]);
    expect(first.pending).toEqual([{ ...received, tries: 1, nextTryAt: new Date(t0 + 2000).toISOString() }]);
    // Not due yet: kept as it is, not looked up.
    let looked = 0;
    const counting = async () => {
      looked += 1;
      return new Map<string, PredictionRow>();
    };
    const early = await joinSegment(first.pending, 's2', dedup, counting, t0 + 1000, 60_000);
    expect(early.pending).toEqual(first.pending);
    expect(looked).toBe(0);
    const second = await joinSegment(first.pending, 's3', dedup, counting, t0 + 2000, 60_000);
    expect(second.pending[0]).toMatchObject({ tries: 2, nextTryAt: new Date(t0 + 2000 + 4000).toISOString() });
    expect([1, 2, 3, 10, 20].map(retryDelayMs)).toEqual([2000, 4000, 8000, 300_000, 300_000]);
    // Found at last: joined with its original receive time.
    const p = rowsById(record(['x']));
    const found = await joinSegment(second.pending, 's4', dedup, async () => p, t0 + 10_000, 60_000);
    expect(found.joined.map((j) => [j.predictionId, j.feedbackTime])).toEqual([['x', t0]]);
    // Never found within the limit: unmatched (kept, not dropped).
    const late = await joinSegment(second.pending, 's5', new FirstLabelWins(), none, t0 + 60_000, 60_000);
    expect(late.unmatched.map((r) => r.ids)).toEqual([['x']]);
    expect(late.pending).toEqual([]);
  });
});

const readParquet = queryParquetBytes;

describe('the feedback parts', () => {
  it('have the documented columns and types, one part per model and feedback day', async () => {
    const p = rowsById(record(['a', 'b'], ['sun', 'rain']));
    const joined = [
      joinFeedback({ predictionId: 'a', label: 'sun' }, Date.parse('2026-03-02T08:00:00Z'), p.get('a')!),
      joinFeedback({ predictionId: 'b', flag: 'wrong' }, Date.parse('2026-03-03T08:00:00Z'), p.get('b')!),
    ];
    const parts = await writeFeedbackParts(joined, 'seg', root, () => ({ temp: 'number', city: 'category', day: 'date' }));
    expect(parts.map((x) => x.key)).toEqual([
      keys.feedbackPart('weather', new Date('2026-03-02'), 'seg'),
      keys.feedbackPart('weather', new Date('2026-03-03'), 'seg'),
    ]);
    expect(parts[0]!.key).toBe('logs/weather/feedback/dt=2026-03-02/seg.parquet');
    const { readFile } = await import('node:fs/promises');
    const schema = await readParquet(await readFile(parts[0]!.path), (path) => `DESCRIBE SELECT * FROM read_parquet(${path})`);
    expect(Object.fromEntries(schema.map((r) => [r.column_name, r.column_type]))).toEqual({
      prediction_id: 'VARCHAR',
      feedback_time: 'TIMESTAMP WITH TIME ZONE',
      prediction_time: 'TIMESTAMP WITH TIME ZONE',
      model: 'VARCHAR',
      version: 'VARCHAR',
      arm: 'VARCHAR',
      inputs: 'STRUCT("temp" DOUBLE, city VARCHAR, "day" TIMESTAMP)',
      predicted_label: 'VARCHAR',
      probabilities: 'STRUCT(rain DOUBLE, sun DOUBLE)',
      label: 'VARCHAR',
      correct: 'BOOLEAN',
      flag: 'VARCHAR',
    });
    const [second] = await readParquet(
      await readFile(parts[1]!.path),
      (path) => `SELECT prediction_id, label, flag, correct, predicted_label, epoch_ms(prediction_time) AS pt FROM read_parquet(${path})`,
    );
    expect(second).toEqual({ prediction_id: 'b', label: null, flag: 'wrong', correct: null, predicted_label: 'rain', pt: Date.parse('2026-03-01T10:00:00Z') });
  });
});

describe('the feedback log', () => {
  function events() {
    const counts = { received: 0, joined: 0, duplicates: 0, unmatched: 0, forwarded: 0, forwardFailed: 0, failed: 0 };
    const e: FeedbackEvents = {
      received: (_m, n) => (counts.received += n),
      joined: (_m, n) => (counts.joined += n),
      duplicates: (_m, n) => (counts.duplicates += n),
      unmatched: (_m, n) => (counts.unmatched += n),
      forwarded: (_m, n) => (counts.forwarded += n),
      forwardFailed: () => (counts.forwardFailed += 1),
      failed: () => (counts.failed += 1),
    };
    return { counts, e };
  }

  async function feedbackRows(store: MemoryStore) {
    const rows: Record<string, unknown>[] = [];
    for (const o of await store.list(keys.feedbackLogs('weather'))) {
      for (const row of await readParquet(await store.get(o.key), (path) => `SELECT prediction_id, label, correct, version FROM read_parquet(${path})`))
        rows.push(row);
    }
    return rows.sort((a, b) => String(a.prediction_id).localeCompare(String(b.prediction_id)));
  }

  it('joins from memory and from the prediction log, forwards in batches, and retries a failed forward without doubling rows', async () => {
    const store = new MemoryStore();
    // 'old' was answered by another server: only in the prediction log's parts.
    const predictions = new PredictionLog(
      store,
      { spoolDir: join(root, 'p'), maxRows: 1 },
      { spooled() {}, uploaded() {}, uploadFailed() {}, ignoredLines() {} },
      () => {},
    );
    await predictions.start();
    await predictions.append(record(['old'], ['rain'], new Date().toISOString()));
    await predictions.uploadClosed();
    await predictions.close();
    const sent: FeedbackSignalItem[][] = [];
    let failNext = true;
    const { counts, e } = events();
    const log = new FeedbackLog(
      store,
      {
        spoolDir: root,
        maxRows: 100,
        models: ['weather'],
        background: false,
        forwardBatch: 2,
        forward: async (_model, items) => {
          if (failNext) {
            failNext = false;
            throw new Error('Temporal is down');
          }
          sent.push(items);
        },
      },
      e,
      () => {},
    );
    await log.start();
    log.recent.add(record(['a', 'b', 'c'], ['sun', 'sun', 'rain']));
    await log.append('weather', [
      { predictionId: 'a', label: 'sun' },
      { predictionId: 'b', label: 'rain' },
      { predictionId: 'old', label: 'rain' },
      { predictionId: 'a', label: 'rain' },
      { predictionId: 'later', label: 'sun' },
    ]);
    await log.spool.rotate();
    await expect(log.processClosed()).rejects.toThrow(/Temporal is down/);
    expect(counts.forwardFailed).toBe(1);
    // The segment stayed: processed again, the same rows (same part key), forwarded now.
    expect(await log.processClosed()).toBe(1);
    expect(sent.map((b) => b.length)).toEqual([2, 1]);
    expect(sent.flat()).toEqual([
      { predictionId: 'a', version: 'v1', prediction: 'sun', label: 'sun' },
      { predictionId: 'b', version: 'v1', prediction: 'sun', label: 'rain' },
      { predictionId: 'old', version: 'v1', prediction: 'rain', label: 'rain' },
    ]);
    expect(await feedbackRows(store)).toEqual([
      { prediction_id: 'a', label: 'sun', correct: true, version: 'v1' },
      { prediction_id: 'b', label: 'rain', correct: false, version: 'v1' },
      { prediction_id: 'old', label: 'rain', correct: true, version: 'v1' },
    ]);
    expect(log.pending).toBe(1);
    // 'later' is answered now; its pending line comes round and is joined.
    log.recent.add(record(['later'], ['rain']));
    await log.spool.rotate();
    await new Promise((r) => setTimeout(r, 2100));
    await log.processClosed();
    expect(log.pending).toBe(0);
    expect((await feedbackRows(store)).map((r) => [r.prediction_id, r.correct])).toEqual([
      ['a', true],
      ['b', false],
      ['later', false],
      ['old', true],
    ]);
    expect(counts).toMatchObject({ received: 5, joined: 4, duplicates: 1, forwarded: 4 });
    await log.close();

    // A restarted server reads the feedback log back: a label for 'a' again is a duplicate.
    const restarted = new FeedbackLog(
      store,
      { spoolDir: root, models: ['weather'], background: false, forward: async (_m, items) => void sent.push(items) },
      events().e,
      () => {},
    );
    await restarted.start();
    restarted.recent.add(record(['a']));
    await restarted.append('weather', [{ predictionId: 'a', label: 'rain' }]);
    await restarted.spool.rotate();
    await restarted.processClosed();
    expect((await feedbackRows(store)).filter((r) => r.prediction_id === 'a')).toEqual([{ prediction_id: 'a', label: 'sun', correct: true, version: 'v1' }]);
    await restarted.close();
  });
});

describe("the receiver workflow's payload check", () => {
  it('takes the items of issue 10 and names the first problem of a bad payload', () => {
    expect(checkFeedbackPayload({ items: [{ predictionId: 'a', version: 'v1', prediction: 'sun', label: 'rain', extra: 1 }] })).toEqual([
      { predictionId: 'a', version: 'v1', prediction: 'sun', label: 'rain' },
    ]);
    expect(checkFeedbackPayload({ items: [{ predictionId: 'a', version: 'v1', prediction: 3.5, flag: 'wrong' }] })).toHaveLength(1);
    expect(checkFeedbackPayload('nope')).toBe('the payload must be {"items": [...]}');
    expect(checkFeedbackPayload({ items: [{ predictionId: 'a', version: 'v1', prediction: 'sun' }] })).toBe('items[0] has neither a label nor a flag');
    expect(checkFeedbackPayload({ items: [{ predictionId: 'a', prediction: 'sun', label: 'x' }] })).toBe('items[0].version must be a non-empty string');
  });
});
