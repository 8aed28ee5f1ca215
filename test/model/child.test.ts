import { describe, expect, it } from 'vitest';
import { tableFromRows } from '../../src/data/columns';
import { weatherRows } from '../helpers/weather';
import {
  ChildTaskError,
  columnarData,
  columnsOf,
  loadModel,
  modelWeights,
  predict,
  runEvaluateInChild,
  runFitInChild,
  runInChild,
  runPredictInChild,
  runTrainingInChild,
  selectBackend,
  train,
  type Checkpoint,
  type ChildTrainInput,
} from '../../src/model';
import { classificationMetrics, majorityBaseline, meanBaseline, regressionMetrics } from '../../src/metrics';
import { decodeRegression, encodeTable, fitTableLabels, fitTablePreprocessor, labeledRowIndexes, type PreprocessorArtifact } from '../../src/preprocess';
import { asTable, blobs, bytesToFloats, maxAbsDiff } from './helpers';

const data = blobs(2000, 6);
const params = { epochs: 5, hiddenUnits: [32, 16], batchSize: 64 };
// The same rows as columns: the child encodes them back to exactly data.x and data.y.
const blobsTable = asTable(data, 'classification');
const input: ChildTrainInput = { data: columnarData(blobsTable.table, blobsTable.artifact), artifact: blobsTable.artifact, params };

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

describe('runTrainingInChild', () => {
  it("trains in a child process while the parent's event loop keeps ticking; same weights as in process", async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 50);
    const epochs: number[] = [];
    let ticksAtFirstEpoch = -1;
    let startup = 0;
    const started = Date.now();
    const result = await runTrainingInChild(
      { ...input, chunkRows: 512 },
      {
        onStart: (i) => (startup = i.startupMs),
        onEpoch: (epoch, logs, checkpoint) => {
          if (epochs.length === 0) ticksAtFirstEpoch = ticks;
          epochs.push(epoch);
          expect(logs.loss).toBeGreaterThan(0);
          expect(checkpoint.epoch).toBe(epoch);
          expect(checkpoint.model.weights).toBeInstanceOf(Uint8Array);
          expect(checkpoint.optimizer[0]!.data).toBeInstanceOf(Float32Array);
        },
      },
    );
    clearInterval(timer);
    const elapsed = Date.now() - started;
    expect(epochs).toEqual([1, 2, 3, 4, 5]);
    expect(result.history).toHaveLength(5);
    expect(result.resumedFromEpoch).toBeNull();
    expect(result.model.weights).toBeInstanceOf(Uint8Array);
    expect(result.peakRssBytes).toBeGreaterThan(50e6);
    expect(startup).toBeGreaterThan(0);
    // The parent did nothing but wait: its timer fired throughout, including while epochs ran.
    expect(ticks - ticksAtFirstEpoch).toBeGreaterThanOrEqual(3);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 50 / 3));
    expect(ticks).toBeGreaterThanOrEqual(10);

    // Same backend, same seed: the child's weights, trained from columns 512 rows at a time,
    // equal an in-process run on the dense matrix in one chunk.
    const backend = await selectBackend(undefined, { log: () => {} });
    expect(result.backend).toBe(backend.name);
    const local = await train({ tf: backend.tf, ...data, task: 'classification', params });
    expect(maxAbsDiff([bytesToFloats(result.model.weights)], [bytesToFloats(local.artifacts.weights)])).toBe(0);

    // Scoring in a child gives the in-process predictions.
    const scored = await runPredictInChild({ model: result.model, x: data.x });
    expect(scored.rows).toBe(data.rows);
    expect(scored.outputs).toBe(3);
    expect(scored.output).toEqual(await predict(await loadModel(backend.tf, result.model), data.x));
  });

  it('trains on the selected rows only and scores the validation rows each epoch', async () => {
    const trainRows = Int32Array.from({ length: 1500 }, (_, i) => i + 500);
    const validationRows = Int32Array.from({ length: 500 }, (_, i) => i);
    const result = await runTrainingInChild({ ...input, params: { ...params, epochs: 2 }, trainRows, validationRows });
    for (const h of result.history) {
      expect(h.valLoss).toBeGreaterThan(0);
      expect(h.valAccuracy).toBeGreaterThan(0.5);
      expect(h.valAccuracy).toBeLessThanOrEqual(1);
    }
    const backend = await selectBackend(undefined, { log: () => {} });
    const part = { x: data.x.subarray(500 * data.cols), y: data.y.subarray(500), rows: 1500, cols: data.cols };
    const local = await train({ tf: backend.tf, ...part, task: 'classification', params: { ...params, epochs: 2 } });
    expect(maxAbsDiff([bytesToFloats(result.model.weights)], [bytesToFloats(local.artifacts.weights)])).toBe(0);
  });

  it('aborting kills the child; a new child resumes from the last checkpoint and matches an uninterrupted run', async () => {
    const ac = new AbortController();
    let pid = 0;
    let last: Checkpoint | undefined;
    await expect(
      runTrainingInChild(input, {
        signal: ac.signal,
        onStart: (i) => (pid = i.pid),
        onEpoch: (epoch, _logs, checkpoint) => {
          last = checkpoint;
          if (epoch === 2) ac.abort(new Error('activity cancelled'));
        },
      }),
    ).rejects.toThrow('activity cancelled');
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntil(() => !alive(pid), 5000)).toBe(true);
    expect(last?.epoch).toBe(2);

    const resumed = await runTrainingInChild({ ...input, resumeFrom: last });
    expect(resumed.resumedFromEpoch).toBe(2);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    const full = await runTrainingInChild(input);
    const backend = await selectBackend(undefined, { log: () => {} });
    const [a, b] = await Promise.all([loadModel(backend.tf, resumed.model), loadModel(backend.tf, full.model)]);
    expect(maxAbsDiff(modelWeights(a), modelWeights(b))).toBeLessThan(1e-5);
  });

  it('evaluates weather in a child, chunk by chunk: metrics and baseline equal the dense path, regression in label units', async () => {
    const rows = await weatherRows();
    const table = tableFromRows(rows, { kinds: { date: 'date' } });
    // Train on Seattle before 2015; score every other row, 500 rows at a time.
    const isTrain = (i: number) => rows[i]!.location === 'Seattle' && String(rows[i]!.date) < '2015-01-01';
    const trainRows = Int32Array.from(rows.keys()).filter(isTrain);
    const holdout = Int32Array.from(rows.keys()).filter((i) => !isTrain(i));
    expect(holdout.length).toBeGreaterThan(1500);
    const features = [
      { name: 'precipitation', kind: 'numeric' as const },
      { name: 'wind', kind: 'numeric' as const },
      { name: 'location', kind: 'categorical' as const },
      { name: 'date', kind: 'date' as const, parts: ['month_cyclic' as const] },
    ];
    const backend = await selectBackend(undefined, { log: () => {} });
    for (const [label, task] of [
      ['weather', 'classification'],
      ['temp_max', 'regression'],
    ] as const) {
      const artifact: PreprocessorArtifact = {
        preprocessor: fitTablePreprocessor(table, features, trainRows),
        labels: fitTableLabels(table, label, task, undefined, { standardize: task === 'regression', rows: trainRows }),
      };
      const data = columnarData(table, artifact);
      expect([...data.columns.keys()]).toEqual(['precipitation', 'wind', 'location', 'date', label]);
      const trained = await runTrainingInChild({ data, artifact, trainRows, params: { epochs: 3 } });
      const ev = await runEvaluateInChild({ model: trained.model, data, artifact, rows: holdout, trainRows, chunkRows: 500 });
      expect(ev.rows).toBe(holdout.length);
      expect(ev.peakRssBytes).toBeGreaterThan(50e6);

      // The dense path: every holdout row encoded at once, one predict.
      const dense = encodeTable(artifact, table, holdout);
      const yTrain = encodeTable(artifact, table, trainRows).y;
      const out = await predict(await loadModel(backend.tf, trained.model), dense.x);
      if (artifact.labels.kind === 'classification') {
        expect(ev.metrics).toEqual(classificationMetrics(dense.y, out, artifact.labels.classes));
        expect(ev.baseline).toEqual(majorityBaseline(dense.y, artifact.labels.classes, yTrain));
      } else {
        const yTrue = decodeRegression(artifact.labels, dense.y);
        expect(ev.metrics).toEqual(regressionMetrics(yTrue, decodeRegression(artifact.labels, out)));
        expect(ev.baseline).toEqual(meanBaseline(yTrue, decodeRegression(artifact.labels, yTrain)));
        // In label units (°C), not standardized: the RMSE is a few degrees.
        expect(ev.metrics.task === 'regression' && ev.metrics.rmse).toBeGreaterThan(1);
      }
    }
  });

  it("rejects with the child's error message", async () => {
    const unlabeled = asTable(blobs(100, 3), 'classification');
    unlabeled.table.columns.set('y', { kind: 'text', codes: Int32Array.from({ length: 100 }, (_, i) => (i === 4 ? -1 : 0)), dictionary: ['a'] });
    const error = await runTrainingInChild({ data: columnarData(unlabeled.table, unlabeled.artifact), artifact: unlabeled.artifact, params }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ChildTaskError);
    expect((error as Error).message).toBe(
      "train failed in the child process: label 'y' (row 5): is missing; drop unlabeled rows (labeledRowIndexes) before encoding",
    );
    expect(labeledRowIndexes(unlabeled.table, 'y')).toHaveLength(99);
    const noFeature = { ...input.data, columns: new Map([...input.data.columns].filter(([name]) => name !== 'f2')) };
    await expect(runTrainingInChild({ ...input, data: noFeature })).rejects.toThrow(
      /train failed in the child process: feature 'f2': column is absent from the data \(the rows have: f0, f1, f3, f4, f5, y\)/,
    );
    const bad = await runPredictInChild({ model: { modelJson: 'nope', weights: new Uint8Array(0) }, x: data.x }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/predict failed in the child process: loadModel: model.json is not JSON/);
  });

  it('an already-aborted signal never starts a child; a throwing progress callback stops it', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(runTrainingInChild(input, { signal: ac.signal })).rejects.toThrow('shutting down');
    let pid = 0;
    await expect(
      runTrainingInChild(input, {
        onStart: (i) => (pid = i.pid),
        onEpoch: () => {
          throw new Error('heartbeat failed');
        },
      }),
    ).rejects.toThrow(/progress callback failed, child stopped: heartbeat failed/);
    expect(await waitUntil(() => !alive(pid), 5000)).toBe(true);
  });

  it('a child that dies says so', async () => {
    const error = await runInChild('ping', { backend: 'cpu' }, { env: { PERENNIAL_TF_BACKEND: 'nonsense' } }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/ping failed in the child process: PERENNIAL_TF_BACKEND='nonsense' is not a backend/);
  });
});

describe('runFitInChild', () => {
  it('fits in a child process exactly what the same fit gives in process, on the rows asked for only', async () => {
    const rows = await weatherRows();
    const table = tableFromRows(rows, { kinds: { date: 'date' } });
    const features = [
      { name: 'precipitation', kind: 'numeric' as const },
      { name: 'location', kind: 'categorical' as const },
      { name: 'date', kind: 'date' as const, parts: ['month_cyclic' as const] },
    ];
    const train = Int32Array.from({ length: 1000 }, (_, i) => i);
    const { artifact } = await runFitInChild({
      data: columnsOf(table, ['precipitation', 'location', 'date', 'weather']),
      features,
      label: 'weather',
      task: 'classification',
      rows: train,
    });
    expect(artifact.preprocessor).toEqual(fitTablePreprocessor(table, features, train));
    expect(artifact.preprocessor.rowsFitted).toBe(1000);
    expect(artifact.labels).toEqual(fitTableLabels(table, 'weather', 'classification', undefined, { rows: train }));
    // A problem in the child comes back with its message.
    await expect(
      runFitInChild({
        data: columnsOf(table, ['location', 'weather']),
        features: [{ name: 'location', kind: 'numeric' }],
        label: 'weather',
        task: 'classification',
      }),
    ).rejects.toThrow(/feature 'location'.*expected a number/);
  });
});
