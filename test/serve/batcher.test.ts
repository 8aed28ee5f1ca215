/**
 * Adaptive batching without a server: requests merged into one model call and
 * split back, the row and wait caps, no wait when the model is idle, tables
 * with other columns kept apart, failures kept to their own requests, and the
 * answers of the real scorer (the weather preprocessor and a tfjs MLP) bit for
 * bit those of each request scored alone.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { textColumn, type ColumnTable } from '../../src/data/columns';
import { selectBackend, type Tf } from '../../src/model';
import { fitTableLabels, fitTablePreprocessor, type PreprocessorArtifact } from '../../src/preprocess';
import { Batcher, concatTables, sliceScored, type Scorable } from '../../src/serve/batcher';
import { inputsOf } from '../../src/serve/inputs';
import { rowWiseModel, versionScorer } from '../../src/serve/loaded';
import { decodeV1, type Scored } from '../../src/serve/protocol';
import { loadModelSpecFile } from '../../src/spec';
import { weatherRequestRow, weatherTable } from '../helpers/weather';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A table of `values` in one number column `x` (and, with `text`, a text column `t`). */
function numbers(values: number[], text?: (string | null)[]): ColumnTable {
  const columns = new Map<string, ColumnTable['columns'] extends Map<string, infer C> ? C : never>();
  columns.set('x', { kind: 'number', values: Float64Array.from(values) });
  if (text) columns.set('t', textColumn(text, text.length));
  return { source: 'test', rows: values.length, names: [...columns.keys()], columns, rowNumber: (i) => i + 1 };
}

interface Call {
  rows: number;
  xs: number[];
  at: number;
}

/**
 * A regression stand-in whose answer for a row is 2x + 1 (and the text's
 * length, when there is a `t` column): every call recorded. `delayMs`: it
 * answers after a timer (an asynchronous model) instead of at once.
 */
function standIn(options: { version?: string; delayMs?: number; fails?: (xs: number[]) => string | undefined; rowWise?: boolean } = {}) {
  const calls: Call[] = [];
  const scorable: Scorable = {
    model: 'm',
    version: options.version ?? 'v1',
    rowWise: options.rowWise,
    async score(table) {
      const column = table.columns.get('x') as { values: Float64Array };
      const xs = Array.from(column.values);
      calls.push({ rows: table.rows, xs, at: performance.now() });
      if (options.delayMs) await new Promise((r) => setTimeout(r, options.delayMs));
      const failure = options.fails?.(xs);
      if (failure) throw new Error(failure);
      const text = table.columns.get('t') as { codes: Int32Array; dictionary: string[] } | undefined;
      const values = Float64Array.from(xs, (x, i) => 2 * x + 1 + (text ? (text.dictionary[text.codes[i]!]?.length ?? -1) : 0));
      return { task: 'regression', rows: table.rows, values };
    },
  };
  return { scorable, calls };
}

const valuesOf = (s: Scored) => (s.task === 'regression' ? Array.from(s.values) : []);
const turn = () => new Promise((r) => setImmediate(r));

describe('Batcher', () => {
  it('scores a request at once when the model is idle: the model call starts inside score(), before anything is awaited', async () => {
    const { scorable, calls } = standIn();
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 50 });
    const answer = batcher.score(scorable, numbers([3]));
    expect(calls).toHaveLength(1);
    expect(valuesOf(await answer)).toEqual([7]);
    // Idle again once the turn in which the call ended is over: the next request is scored at once too.
    await turn();
    expect(batcher.busy).toBe(false);
    const next = batcher.score(scorable, numbers([4]));
    expect(calls).toHaveLength(2);
    expect(valuesOf(await next)).toEqual([9]);
  });

  it('merges the requests that arrive while a call runs into one call, up to maxRows, and gives each exactly its own rows', async () => {
    const { scorable, calls } = standIn();
    const called: { rows: number; requests: number }[] = [];
    const waits: number[] = [];
    const batcher = new Batcher({
      maxRows: 64,
      maxWaitMs: 1000,
      events: { called: (_m, _v, rows, requests) => called.push({ rows, requests }), waited: (_m, _v, s) => waits.push(s) },
    });
    // 100 single-row requests in one turn: the first finds the model idle; the others arrive while it is busy.
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => batcher.score(scorable, numbers([i]))));
    expect(answers.map(valuesOf)).toEqual(Array.from({ length: 100 }, (_, i) => [2 * i + 1]));
    // At once (1), full at maxRows (64, scored the moment the 64th row queued), then the rest when the turn ends (35).
    expect(called).toEqual([
      { rows: 1, requests: 1 },
      { rows: 64, requests: 64 },
      { rows: 35, requests: 35 },
    ]);
    expect(calls.map((c) => c.xs)).toEqual([[0], Array.from({ length: 64 }, (_, i) => i + 1), Array.from({ length: 35 }, (_, i) => i + 65)]);
    expect(waits).toHaveLength(100);
    // Nobody waited for the 1 s cap: the batches went when the model was free.
    expect(waits.reduce((m, w) => Math.max(m, w), 0)).toBeLessThan(0.5);
  });

  it('queues what arrives in the event-loop turn a call ended in (the requests a blocking call kept waiting), and scores them together when the turn ends', async () => {
    const { scorable, calls } = standIn();
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000 });
    await batcher.score(scorable, numbers([0]));
    // The call is over, its turn is not: as requests read just after a call that blocked the loop.
    expect(batcher.busy).toBe(true);
    const late = [batcher.score(scorable, numbers([1])), batcher.score(scorable, numbers([2])), batcher.score(scorable, numbers([3]))];
    expect(calls).toHaveLength(1);
    expect((await Promise.all(late)).map(valuesOf)).toEqual([[3], [5], [7]]);
    expect(calls.map((c) => c.xs)).toEqual([[0], [1, 2, 3]]);
  });

  it('merges multi-row requests too, never splits one, and scores one of maxRows rows or more alone', async () => {
    const { scorable, calls } = standIn();
    const batcher = new Batcher({ maxRows: 8, maxWaitMs: 1000 });
    const sizes = [1, 3, 4, 2, 9, 5, 1];
    let next = 0;
    const tables = sizes.map((n) => numbers(Array.from({ length: n }, () => next++)));
    const answers = await Promise.all(tables.map((t) => batcher.score(scorable, t)));
    answers.forEach((a, i) => expect(valuesOf(a)).toEqual(Array.from((tables[i]!.columns.get('x') as { values: Float64Array }).values, (x) => 2 * x + 1)));
    // [1] at once; 3 + 4 queued (7), 2 more would pass 8: the 7 go, 2 queues; 9 rows: alone at once; 2 + 5 + 1 = 8: full, scored.
    expect(calls.map((c) => c.rows)).toEqual([1, 7, 9, 8]);
    expect(calls.every((c) => c.rows <= 8 || c.rows === 9)).toBe(true);
  });

  it('keeps tables with other columns or other column kinds, and other versions, out of each other’s batches', async () => {
    const a = standIn({ version: 'v1' });
    const b = standIn({ version: 'v2' });
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000 });
    const kindOther: ColumnTable = {
      source: 'test',
      rows: 1,
      names: ['x'],
      columns: new Map([['x', { kind: 'date', values: Float64Array.of(5) }]]),
      rowNumber: (i) => i + 1,
    };
    const answers = await Promise.all([
      batcher.score(a.scorable, numbers([0])),
      batcher.score(a.scorable, numbers([1])),
      batcher.score(a.scorable, numbers([2], ['ab'])),
      batcher.score(a.scorable, numbers([3], ['abc'])),
      batcher.score(a.scorable, kindOther),
      batcher.score(b.scorable, numbers([4])),
      batcher.score(a.scorable, numbers([5])),
      batcher.score(b.scorable, numbers([6])),
    ]);
    expect(answers.map(valuesOf)).toEqual([[1], [3], [7], [10], [11], [9], [11], [13]]);
    // v1: [0] at once, then x-only [1, 5], x+t [2, 3], the date table alone; v2: [4, 6].
    expect(a.calls.map((c) => c.xs).sort()).toEqual([[0], [1, 5], [2, 3], [5]].sort());
    expect(b.calls.map((c) => c.xs)).toEqual([[4, 6]]);
  });

  it('caps the wait: a request queued behind a slow asynchronous call goes after maxWaitMs, not when the call ends', async () => {
    const { scorable, calls } = standIn({ delayMs: 150 });
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 10 });
    const first = batcher.score(scorable, numbers([1]));
    await new Promise((r) => setTimeout(r, 5));
    const queuedAt = performance.now();
    const second = batcher.score(scorable, numbers([2]));
    const third = batcher.score(scorable, numbers([3]));
    expect(calls).toHaveLength(1);
    await Promise.all([first, second, third]);
    expect(calls.map((c) => c.xs)).toEqual([[1], [2, 3]]);
    const waited = calls[1]!.at - queuedAt;
    // The cap (10 ms; timers are coarse on a busy machine), well before the first call's 150 ms.
    expect(waited).toBeGreaterThanOrEqual(8);
    expect(waited).toBeLessThan(100);
  });

  it('with a cap longer than the running call, queued requests go as soon as it ends', async () => {
    const { scorable, calls } = standIn({ delayMs: 60 });
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 5000 });
    const first = batcher.score(scorable, numbers([1]));
    const queuedAt = performance.now();
    const rest = [batcher.score(scorable, numbers([2])), batcher.score(scorable, numbers([3]))];
    await Promise.all([first, ...rest]);
    expect(calls.map((c) => c.xs)).toEqual([[1], [2, 3]]);
    const waited = calls[1]!.at - queuedAt;
    expect(waited).toBeGreaterThanOrEqual(50);
    expect(waited).toBeLessThan(1000);
  });

  it('scores every request alone with maxWaitMs 0 (off), and a version that is not row-wise alone (said once)', async () => {
    const off = standIn();
    const batcherOff = new Batcher({ maxRows: 64, maxWaitMs: 0 });
    expect(batcherOff.enabled).toBe(false);
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcherOff.score(off.scorable, numbers([i]))));
    expect(off.calls.map((c) => c.rows)).toEqual(Array.from({ length: 10 }, () => 1));

    const notRowWise = standIn({ rowWise: false });
    const lines: string[] = [];
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000, log: (line) => lines.push(line) });
    await Promise.all(Array.from({ length: 10 }, (_, i) => batcher.score(notRowWise.scorable, numbers([i]))));
    expect(notRowWise.calls.map((c) => c.rows)).toEqual(Array.from({ length: 10 }, () => 1));
    expect(lines).toEqual([expect.stringMatching(/m\/v1 does not give the same bits for a row scored alone and in a batch .*\(not batched\)/)]);
  });

  it('a failing model call fails only its own batch’s requests, each with an error naming the version and the cause', async () => {
    const broken = standIn({ version: 'v9', fails: () => 'weights are NaN' });
    const healthy = standIn({ version: 'v1' });
    const failed: number[] = [];
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000, events: { failed: (_m, _v, n) => failed.push(n) } });
    const outcomes = await Promise.allSettled([
      batcher.score(healthy.scorable, numbers([0])),
      batcher.score(broken.scorable, numbers([1])),
      batcher.score(healthy.scorable, numbers([2])),
      batcher.score(broken.scorable, numbers([3])),
      batcher.score(healthy.scorable, numbers([4])),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'rejected', 'fulfilled']);
    expect(outcomes.filter((o) => o.status === 'fulfilled').map((o) => valuesOf(o.value))).toEqual([[1], [5], [9]]);
    for (const o of outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected')) {
      expect((o.reason as Error).message).toMatch(/^m\/v9 could not score the request's 1 row\(s\).*weights are NaN$/);
    }
    // The merged call of v9 ([1, 3]) failed, then each was tried alone (and failed alone).
    expect(broken.calls.map((c) => c.xs)).toEqual([[1, 3], [1], [3]]);
    expect(failed).toEqual([2]);
  });

  it('a request whose rows break a merged call fails alone: the others of its batch get their answers', async () => {
    const { scorable, calls } = standIn({ fails: (xs) => (xs.includes(13) ? 'row 13 cannot be scored' : undefined) });
    const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000 });
    const outcomes = await Promise.allSettled([10, 11, 12, 13, 14].map((x) => batcher.score(scorable, numbers([x]))));
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? valuesOf(o.value) : (o.reason as Error).message))).toEqual([
      [21],
      [23],
      [25],
      expect.stringMatching(
        /^m\/v1 could not score the request's 1 row\(s\) \(scored alone after a batch of 4 requests failed: row 13 .*\): row 13 cannot be scored$/,
      ),
      [29],
    ]);
    expect(calls.map((c) => c.xs)).toEqual([[10], [11, 12, 13, 14], [11], [12], [13], [14]]);
  });
});

describe('concatTables and sliceScored', () => {
  it('concatenates number, date and text columns, merging dictionaries and keeping missing values', () => {
    const a = numbers([1, NaN], ['Seattle', null]);
    const b = numbers([3], ['New York']);
    const c = numbers([4, 5], ['Seattle', 'Paris']);
    const merged = concatTables([a, b, c]);
    expect(merged.rows).toBe(5);
    expect(Array.from((merged.columns.get('x') as { values: Float64Array }).values)).toEqual([1, NaN, 3, 4, 5]);
    const t = merged.columns.get('t') as { codes: Int32Array; dictionary: string[] };
    expect(Array.from(t.codes, (code) => (code < 0 ? null : t.dictionary[code]))).toEqual(['Seattle', null, 'New York', 'Seattle', 'Paris']);
    expect(t.dictionary).toEqual(['Seattle', 'New York', 'Paris']);
    expect(() => concatTables([a, numbers([1])])).toThrow(/column 't'/);
  });

  it('slices a classification answer by rows, probabilities included', () => {
    const scored: Scored = {
      task: 'classification',
      rows: 3,
      classes: ['a', 'b'],
      labels: ['a', 'b', 'b'],
      probabilities: Float32Array.of(0.9, 0.1, 0.2, 0.8, 0.4, 0.6),
    };
    expect(sliceScored(scored, 1, 2)).toEqual({
      task: 'classification',
      rows: 2,
      classes: ['a', 'b'],
      labels: ['b', 'b'],
      probabilities: Float32Array.of(0.2, 0.8, 0.4, 0.6),
    });
  });
});

describe('batched answers of the real scorer', () => {
  /** The weather preprocessor fitted on vega-datasets' rows as the pipeline fits it, and an untrained MLP of the spec's shape (seeded). */
  async function weatherScorer(tf: Tf) {
    const spec = await loadModelSpecFile(join(ROOT, 'models/weather.yaml'));
    const table = await weatherTable();
    const artifact: PreprocessorArtifact = {
      preprocessor: fitTablePreprocessor(table, spec.features),
      labels: fitTableLabels(table, spec.label, 'classification', ['drizzle', 'fog', 'rain', 'snow', 'sun']),
    };
    const cols = artifact.preprocessor.columns.length;
    const model = tf.sequential();
    spec.model.hiddenUnits.forEach((units, i) =>
      model.add(
        tf.layers.dense({
          units,
          activation: 'relu',
          inputShape: i === 0 ? [cols] : undefined,
          kernelInitializer: tf.initializers.glorotUniform({ seed: 7 + i }),
        }),
      ),
    );
    model.add(tf.layers.dense({ units: 5, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 99 }) }));
    return { score: versionScorer(tf, model, artifact), inputs: inputsOf(artifact, spec), model, cols };
  }

  it('gives every request the same bits batched as scored alone (labels and float32 probabilities), on the backend in use', async () => {
    const { tf, name } = await selectBackend(undefined, { log: () => {} });
    const { score, inputs, model, cols } = await weatherScorer(tf);
    try {
      expect(await rowWiseModel(tf, model, cols)).toBe(true);
      // 300 requests of 1 to 3 rows: both locations, every month, a missing wind, an unseen location.
      const requests = Array.from({ length: 300 }, (_, r) => {
        const rows = Array.from({ length: 1 + (r % 3) }, (_, i): Record<string, unknown> => weatherRequestRow(r * 3 + i));
        if (r % 17 === 0) rows[0]!.wind = null;
        if (r % 23 === 0) rows[0]!.location = 'Paris';
        return decodeV1({ instances: rows }, inputs).table;
      });
      const alone: Scored[] = [];
      for (const table of requests) alone.push(await score(table));
      const requestsPerCall: number[] = [];
      const batcher = new Batcher({ maxRows: 64, maxWaitMs: 1000, events: { called: (_m, _v, _rows, n) => requestsPerCall.push(n) } });
      const scorable: Scorable = { model: 'weather', version: 'v1', score, rowWise: true };
      const batched = await Promise.all(requests.map((t) => batcher.score(scorable, t)));
      const most = requestsPerCall.reduce((m, n) => Math.max(m, n), 0);
      expect(most, 'requests were merged').toBeGreaterThan(10);
      let differing = 0;
      batched.forEach((b, i) => {
        const a = alone[i]!;
        if (a.task !== 'classification' || b.task !== 'classification') throw new Error('expected classification answers');
        expect(b.rows).toBe(a.rows);
        expect(b.labels).toEqual(a.labels);
        const [x, y] = [new Uint32Array(a.probabilities.slice().buffer), new Uint32Array(b.probabilities.slice().buffer)];
        for (let k = 0; k < x.length; k++) if (x[k] !== y[k]) differing += 1;
      });
      console.log(
        `batched vs alone on ${name}: ${requests.length} requests (${requests.reduce((n, t) => n + t.rows, 0)} rows) in ${requestsPerCall.length} model calls (up to ${most} requests each), ${differing} differing probability bits`,
      );
      expect(differing).toBe(0);
    } finally {
      model.dispose();
    }
  });
});
