/**
 * What the feedback log forwards, without services: each item's segment (the
 * served row's values in the version's `monitoring.segments`, "(missing)"
 * for none), the segment columns read from the version's own spec in the
 * store (a version without one, or with a broken one, forwards without
 * segments; a store error is retried), signals cut by items and bytes, a
 * burst's last segment closed once quiet (not held for the age limit), and a
 * segment whose parts failed to store not forwarded twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { FeedbackLog, segmentOf, signalBatches, VersionSegments, type FeedbackEvents } from '../../src/serve/feedback';
import type { PredictionRecord } from '../../src/serve/prediction-log';
import { loadModelSpecFile } from '../../src/spec';
import { keys, MemoryStore, sha256, type PutOptions } from '../../src/store';
import type { FeedbackSignalItem } from '../../src/temporal/monitor-contract';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'perennial-feedback-forward-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A version's lineage and its own spec.json in `store`, as register writes them (only what the segment reader needs). */
async function putVersion(store: MemoryStore, model: string, version: string, specBody: string, sha = sha256(Buffer.from(specBody))) {
  const specKey = keys.versionFile(model, version, 'spec.json');
  await store.put(specKey, specBody);
  await store.put(
    keys.versionFile(model, version, 'lineage.json'),
    JSON.stringify({ model, version, artifacts: [{ name: 'spec.json', key: specKey, sha256: sha }] }),
  );
  return specKey;
}

async function weatherSpec(segments?: string[]): Promise<string> {
  const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
  return JSON.stringify({ ...spec, monitoring: { ...spec.monitoring, ...(segments ? { segments } : {}) } }, null, 2) + '\n';
}

describe('the segment of a forwarded item', () => {
  it("is the row's value in each column, as text; null, empty, NaN or absent is (missing)", () => {
    const inputs = { location: 'New York', code: 3, empty: '', none: null, nan: Number.NaN };
    expect(segmentOf(inputs, ['location', 'code', 'empty', 'none', 'nan', 'absent'])).toEqual({
      location: 'New York',
      code: '3',
      empty: '(missing)',
      none: '(missing)',
      nan: '(missing)',
      absent: '(missing)',
    });
    // A column named like an Object property is a column like any other.
    expect(segmentOf({}, ['constructor'])).toEqual({ constructor: '(missing)' });
  });
});

describe("a version's segment columns", () => {
  it("come from the version's own spec; none without lineage or with a spec that fails its checksum; a store error is thrown and read again", async () => {
    const store = new MemoryStore();
    const lines: string[] = [];
    await putVersion(store, 'weather', 'v1', await weatherSpec(['location']));
    await putVersion(store, 'weather', 'v2', await weatherSpec());
    const tampered = await putVersion(store, 'weather', 'v3', await weatherSpec(['location']), sha256(Buffer.from('other bytes')));
    const segments = new VersionSegments(store, (line) => lines.push(line));
    expect(await segments.of('weather', 'v1')).toEqual(['location']);
    expect(await segments.of('weather', 'v2')).toEqual([]);
    expect(await segments.of('weather', 'v3')).toEqual([]);
    expect(lines.join('\n')).toContain(`the spec of weather/v3 (memory/${tampered}) cannot be read`);
    expect(await segments.of('weather', 'v9')).toEqual([]);
    expect(lines.join('\n')).toContain(`memory/${keys.versionFile('weather', 'v9', 'lineage.json')} is missing`);

    // S3 unreachable: thrown (the feedback segment stays and is retried), not remembered as "no segments".
    let down = true;
    const flaky = Object.assign(Object.create(store) as MemoryStore, {
      getIfExists: (key: string) => (down ? Promise.reject(new Error('connect ECONNREFUSED')) : store.getIfExists(key)),
    });
    await putVersion(store, 'weather', 'v4', await weatherSpec(['location']));
    const again = new VersionSegments(flaky, () => {});
    await expect(again.of('weather', 'v4')).rejects.toThrow(/ECONNREFUSED/);
    down = false;
    expect(await again.of('weather', 'v4')).toEqual(['location']);
  });
});

describe('signals', () => {
  const item = (i: number, segment?: Record<string, string>): FeedbackSignalItem => ({
    predictionId: `p${i}`,
    version: 'v1',
    prediction: 'sun',
    label: 'rain',
    ...(segment ? { segment } : {}),
  });

  it('hold at most the batch size, and at most 256 KiB of items, every item once in order', () => {
    const small = Array.from({ length: 4_500 }, (_, i) => item(i));
    expect(signalBatches(small, 2_000).map((b) => b.length)).toEqual([2_000, 2_000, 500]);
    // Items of about 1 KiB: the bytes decide.
    const large = Array.from({ length: 600 }, (_, i) => item(i, { note: 'x'.repeat(1_000) }));
    const batches = signalBatches(large, 2_000);
    expect(batches.length).toBeGreaterThan(2);
    for (const b of batches) expect(Buffer.byteLength(JSON.stringify({ items: b }))).toBeLessThanOrEqual(256 * 1024);
    expect(batches.flat()).toEqual(large);
  });
});

describe('the feedback log', () => {
  function predictions(ids: string[]): PredictionRecord {
    return {
      model: 'weather',
      version: 'v1',
      arm: 'champion',
      time: new Date().toISOString(),
      latency_ms: 1,
      ids,
      kinds: { temp: 'number', location: 'category' },
      inputs: { temp: ids.map((_, i) => i), location: ids.map((_, i) => (i % 3 === 0 ? null : i % 3 === 1 ? 'Seattle' : 'New York')) },
      task: 'classification',
      classes: ['rain', 'sun'],
      labels: ids.map(() => 'sun'),
      probabilities: ids.flatMap(() => [0.25, 0.75]),
    };
  }
  const quiet: FeedbackEvents = {
    received() {},
    joined() {},
    duplicates() {},
    unmatched() {},
    forwarded() {},
    forwardFailed() {},
    failed() {},
  };

  it("forwards a burst's last segment once quiet, not after its age limit, with each item's segment; a trickle waits for the age", async () => {
    const store = new MemoryStore();
    await putVersion(store, 'weather', 'v1', await weatherSpec(['location']));
    const sent: FeedbackSignalItem[] = [];
    // An age limit of an hour: only the quiet rule can close these segments during the test.
    const log = new FeedbackLog(
      store,
      {
        spoolDir: root,
        maxSeconds: 3600,
        models: ['weather'],
        forward: async (_m, items) => {
          for (const item of items) sent.push(item);
        },
      },
      quiet,
      () => {},
    );
    await log.start();
    try {
      const ids = Array.from({ length: 1_200 }, (_, i) => `id-${i}`);
      log.recent.add(predictions(ids));
      await log.append(
        'weather',
        ids.map((predictionId) => ({ predictionId, label: 'rain' })),
      );
      for (let i = 0; i < 200 && sent.length < ids.length; i++) await new Promise((r) => setTimeout(r, 100));
      expect(sent.map((s) => s.predictionId).sort()).toEqual([...ids].sort());
      const byId = new Map(sent.map((s) => [s.predictionId, s.segment]));
      expect([0, 1, 2].map((i) => byId.get(`id-${i}`))).toEqual([{ location: '(missing)' }, { location: 'Seattle' }, { location: 'New York' }]);

      // Ten labels: a trickle's segment is not closed early.
      const few = ['t-1', 't-2', 't-3', 't-4', 't-5', 't-6', 't-7', 't-8', 't-9', 't-10'];
      log.recent.add(predictions(few));
      await log.append(
        'weather',
        few.map((predictionId) => ({ predictionId, label: 'sun' })),
      );
      await new Promise((r) => setTimeout(r, 2_500));
      expect(sent.length).toBe(ids.length);
    } finally {
      await log.close();
    }
  });

  it('does not forward a segment again when only its parts failed to store', async () => {
    const store = new MemoryStore();
    let failParts = true;
    const failing = Object.assign(Object.create(store) as MemoryStore, {
      put: (key: string, body: Buffer | string, options?: PutOptions) => {
        if (failParts && key.startsWith(keys.feedbackLogs('weather'))) return Promise.reject(new Error('S3 is down'));
        return store.put(key, body, options);
      },
    });
    const calls: number[] = [];
    const log = new FeedbackLog(
      failing,
      { spoolDir: root, models: ['weather'], background: false, forwardBatch: 3, forward: async (_m, items) => void calls.push(items.length) },
      quiet,
      () => {},
    );
    await log.start();
    try {
      const ids = ['a', 'b', 'c', 'd', 'e'];
      log.recent.add(predictions(ids));
      await log.append(
        'weather',
        ids.map((predictionId) => ({ predictionId, label: 'rain' })),
      );
      await log.spool.rotate();
      await expect(log.processClosed()).rejects.toThrow(/S3 is down/);
      expect(calls).toEqual([3, 2]);
      failParts = false;
      expect(await log.processClosed()).toBe(1);
      expect(calls).toEqual([3, 2]);
      expect((await store.list(keys.feedbackLogs('weather'))).length).toBe(1);
    } finally {
      await log.close();
    }
  });
});
