import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  columnarSource,
  checkpointFromBytes,
  checkpointToBytes,
  loadModel,
  modelParams,
  modelWeights,
  predict,
  selectBackend,
  serializeModel,
  train,
  type Backend,
  type Checkpoint,
} from '../../src/model';
import { classificationMetrics, regressionMetrics } from '../../src/metrics';
import { asTable, blobs, linear, maxAbsDiff } from './helpers';

const quiet = { log: () => {} };
let backend: Backend;

beforeAll(async () => {
  backend = await selectBackend(undefined, quiet);
});

describe('selectBackend', () => {
  const saved = process.env.PERENNIAL_TF_BACKEND;
  afterEach(async () => {
    if (saved === undefined) delete process.env.PERENNIAL_TF_BACKEND;
    else process.env.PERENNIAL_TF_BACKEND = saved;
    await selectBackend(undefined, quiet); // back to the default for the other tests
  });

  it('tries tfjs-node first, says why it was not used, and falls back', async () => {
    const lines: string[] = [];
    const b = await selectBackend(undefined, { log: (m) => lines.push(m) });
    let hasNode = true;
    try {
      await import(/* @vite-ignore */ ['@tensorflow', 'tfjs-node'].join('/'));
    } catch {
      hasNode = false;
    }
    if (hasNode) expect(b.name).toBe('tensorflow');
    else {
      expect(b.name).toBe('wasm');
      expect(b.notes.join(' ')).toMatch(/tensorflow: @tensorflow\/tfjs-node is not installed/);
    }
    expect(b.tf.getBackend()).toBe(b.name);
    expect(lines[0]).toMatch(new RegExp(`backend '${b.name}'`));
  });

  it('a preferred backend starts the chain lower; PERENNIAL_TF_BACKEND forces one', async () => {
    const cpu = await selectBackend('cpu', quiet);
    expect(cpu.name).toBe('cpu');
    expect(cpu.tf.getBackend()).toBe('cpu');
    process.env.PERENNIAL_TF_BACKEND = 'wasm';
    const forced = await selectBackend('cpu', quiet);
    expect(forced.name).toBe('wasm');
    expect(forced.notes[0]).toMatch(/PERENNIAL_TF_BACKEND=wasm forces/);
    process.env.PERENNIAL_TF_BACKEND = 'gpu';
    await expect(selectBackend(undefined, quiet)).rejects.toThrow(/PERENNIAL_TF_BACKEND='gpu' is not a backend; use one of tensorflow, wasm, cpu/);
  });
});

describe('modelParams', () => {
  it('has the documented defaults and rejects unknown keys', () => {
    expect(modelParams.parse({})).toEqual({
      hiddenUnits: [32, 16],
      activation: 'relu',
      dropout: 0,
      learningRate: 0.01,
      epochs: 40,
      batchSize: 64,
      seed: 42,
      optimizer: 'adam',
      classWeight: 'balanced',
    });
    expect(modelParams.safeParse({ epoch: 3 }).success).toBe(false);
    expect(modelParams.safeParse({ optimizer: 'sgd' }).success).toBe(false);
  });
});

describe('train', () => {
  const data = blobs(1500);
  const params = { epochs: 6, hiddenUnits: [16, 8], batchSize: 64, learningRate: 0.02 };

  it('learns a classifier; probabilities sum to 1', async () => {
    const r = await train({ tf: backend.tf, ...data, task: 'classification', params });
    expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.history[5]!.loss).toBeLessThan(r.history[0]!.loss);
    expect(r.resumedFromEpoch).toBeNull();
    const proba = await predict(r.model, data.x);
    expect(proba.length).toBe(data.rows * 3);
    for (let i = 0; i < 10; i++) expect(proba[i * 3]! + proba[i * 3 + 1]! + proba[i * 3 + 2]!).toBeCloseTo(1, 5);
    expect(classificationMetrics(data.y, proba, ['a', 'b', 'c']).accuracy).toBeGreaterThan(0.9);
  });

  it('learns a regressor', async () => {
    const d = linear(1500);
    const r = await train({ tf: backend.tf, ...d, task: 'regression', params: { epochs: 15, learningRate: 0.01 } });
    const pred = await predict(r.model, d.x);
    expect(pred.length).toBe(d.rows);
    expect(regressionMetrics(d.y, pred).r2).toBeGreaterThan(0.95);
  });

  it('is deterministic: two runs with the same seed give identical weights; another seed differs', async () => {
    const a = await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, dropout: 0.2 } });
    const b = await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, dropout: 0.2 } });
    expect(maxAbsDiff(modelWeights(a.model), modelWeights(b.model))).toBe(0);
    expect(Buffer.from(a.artifacts.weights).equals(Buffer.from(b.artifacts.weights))).toBe(true);
    const c = await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, dropout: 0.2, seed: 7 } });
    expect(maxAbsDiff(modelWeights(a.model), modelWeights(c.model))).toBeGreaterThan(1e-3);
  });

  it('dropout draws its masks from explicit seeds: Math.random is neither replaced nor called, model.json has a plain Dropout', async () => {
    const original = Math.random;
    const spy = vi.spyOn(Math, 'random');
    try {
      const r = await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, epochs: 2, dropout: 0.3 } });
      expect(spy).not.toHaveBeenCalled();
      const layers = JSON.parse(r.artifacts.modelJson).modelTopology.config.layers as { class_name: string; config: { rate?: number } }[];
      expect(layers.map((l) => l.class_name)).toEqual(['Dense', 'Dropout', 'Dense', 'Dropout', 'Dense']);
      expect(layers[1]!.config.rate).toBe(0.3);
      const none = await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, epochs: 2 } });
      expect(r.history[0]!.loss).not.toBe(none.history[0]!.loss); // the masks are applied
    } finally {
      spy.mockRestore();
    }
    expect(Math.random).toBe(original);
  });

  for (const [task, dropout] of [
    ['classification', 0],
    ['classification', 0.2],
    ['regression', 0],
  ] as const) {
    it(`resumed from a checkpoint (${task}, dropout ${dropout}) it ends with the weights of an uninterrupted run`, async () => {
      const d = task === 'classification' ? data : linear(1500);
      const p = { ...params, dropout };
      const checkpoints: Checkpoint[] = [];
      const full = await train({ tf: backend.tf, ...d, task, params: p, onEpoch: (_e, _l, cp) => void checkpoints.push(cp) });
      expect(checkpoints.map((c) => c.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      // The checkpoint survives structured cloning (IPC, worker threads) as is.
      const cp = structuredClone(checkpoints[2]!);
      expect(cp.model.weights).toBeInstanceOf(Uint8Array);
      const resumed = await train({ tf: backend.tf, ...d, task, params: p, resumeFrom: cp });
      expect(resumed.resumedFromEpoch).toBe(3);
      expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
      expect(maxAbsDiff(modelWeights(full.model), modelWeights(resumed.model))).toBeLessThan(1e-5);
      resumed.history.forEach((h, i) => expect(h.loss).toBeCloseTo(full.history[i]!.loss, 5));
    });
  }

  it('streams in chunks: chunkRows changes neither the batches nor the weights (dropout masks included)', async () => {
    const p = { ...params, epochs: 3, dropout: 0.2 };
    const whole = await train({ tf: backend.tf, ...data, task: 'classification', params: p });
    // 100 rows round down to 64 (one batch): 24 fits an epoch instead of one.
    const chunked = await train({ tf: backend.tf, ...data, task: 'classification', params: p, chunkRows: 100 });
    expect(maxAbsDiff(modelWeights(whole.model), modelWeights(chunked.model))).toBe(0);
    chunked.history.forEach((h, i) => expect(h.loss).toBeCloseTo(whole.history[i]!.loss, 5));
  });

  it('trains on a column table a chunk at a time, with validation rows scored each epoch', async () => {
    const { table, artifact } = asTable(data, 'classification');
    const trainRows = Int32Array.from({ length: 1200 }, (_, i) => i);
    const validationRows = Int32Array.from({ length: 300 }, (_, i) => 1200 + i);
    const r = await train({
      tf: backend.tf,
      source: columnarSource(table, artifact, trainRows),
      validation: columnarSource(table, artifact, validationRows),
      task: 'classification',
      params,
      chunkRows: 256,
    });
    const dense = await train({
      tf: backend.tf,
      x: data.x.subarray(0, 1200 * 4),
      y: data.y.subarray(0, 1200),
      rows: 1200,
      cols: 4,
      task: 'classification',
      params,
    });
    expect(maxAbsDiff(modelWeights(r.model), modelWeights(dense.model))).toBe(0);
    // The last epoch's validation figures are those of the final model on the validation rows.
    const proba = await predict(r.model, data.x.subarray(1200 * 4));
    const m = classificationMetrics(data.y.subarray(1200), proba, ['a', 'b', 'c']);
    const last = r.history.at(-1)!;
    expect(last.valAccuracy).toBeCloseTo(m.accuracy, 6);
    expect(last.valLoss).toBeCloseTo(m.logLoss, 4);
  });

  it('a checkpoint round-trips through bytes (for the store) and still resumes', async () => {
    const cps: Checkpoint[] = [];
    const full = await train({ tf: backend.tf, ...data, task: 'classification', params, onEpoch: (_e, _l, cp) => void cps.push(cp) });
    const bytes = checkpointToBytes(cps[3]!);
    const back = checkpointFromBytes(bytes);
    expect(back).toEqual(cps[3]);
    const resumed = await train({ tf: backend.tf, ...data, task: 'classification', params, resumeFrom: back });
    expect(maxAbsDiff(modelWeights(full.model), modelWeights(resumed.model))).toBeLessThan(1e-5);
    expect(() => checkpointFromBytes(bytes.subarray(0, bytes.length - 4))).toThrow(/truncated or corrupt/);
    expect(() => checkpointFromBytes(new Uint8Array(20))).toThrow(/no 'PCKP' magic/);
  });

  it('refuses a checkpoint that does not match', async () => {
    let cp: Checkpoint | undefined;
    await train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, epochs: 1 }, onEpoch: (_e, _l, c) => void (cp = c) });
    await expect(train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, learningRate: 0.5 }, resumeFrom: cp })).rejects.toThrow(
      /checkpoint was trained with different params \(learningRate\)/,
    );
    const other = blobs(100, 5);
    await expect(train({ tf: backend.tf, ...other, task: 'classification', params, resumeFrom: cp })).rejects.toThrow(/checkpoint does not match the data/);
  });

  it('bad input gives a clear error', async () => {
    await expect(train({ tf: backend.tf, ...data, cols: 5, task: 'classification' })).rejects.toThrow(/x has 6000 values, expected rows 1500 x cols 5/);
    const x = data.x.slice();
    x[7] = NaN;
    await expect(train({ tf: backend.tf, ...data, x, task: 'classification' })).rejects.toThrow(/x row 2 column 4 is NaN \(features must be finite/);
    await expect(train({ tf: backend.tf, ...data, task: 'classification', numClasses: 2 })).rejects.toThrow(/is not a class index in 0..1/);
    await expect(train({ tf: backend.tf, ...data, task: 'classification', params: { epochs: 0 } })).rejects.toThrow(/invalid model params: epochs/);
  });

  it('stops between epochs when the signal aborts', async () => {
    const ac = new AbortController();
    const seen: number[] = [];
    await expect(
      train({
        tf: backend.tf,
        ...data,
        task: 'classification',
        params: { ...params, epochs: 50 },
        signal: ac.signal,
        onEpoch: (e) => {
          seen.push(e);
          if (e === 2) ac.abort(new Error('activity cancelled'));
        },
      }),
    ).rejects.toThrow('activity cancelled');
    expect(seen).toEqual([1, 2]);
  });
});

describe('serializeModel / loadModel', () => {
  it('round-trips to identical predictions, in tfjs model.json format', async () => {
    const data = blobs(300);
    const r = await train({ tf: backend.tf, ...data, task: 'classification', params: { epochs: 2 } });
    const artifacts = await serializeModel(r.model);
    const json = JSON.parse(artifacts.modelJson);
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0].paths).toEqual(['weights.bin']);
    expect(artifacts.weights.byteLength).toBe((4 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3) * 4);
    const loaded = await loadModel(backend.tf, structuredClone(artifacts));
    expect(await predict(loaded, data.x)).toEqual(await predict(r.model, data.x));
    await expect(loadModel(backend.tf, { modelJson: '{', weights: artifacts.weights })).rejects.toThrow(/model.json is not JSON/);
    await expect(loadModel(backend.tf, { ...artifacts, weights: artifacts.weights.subarray(4) })).rejects.toThrow(/weights are \d+ bytes, model.json expects/);
  });

  it('predict refuses the wrong number of columns', async () => {
    const r = await train({ tf: backend.tf, ...blobs(100), task: 'classification', params: { epochs: 1 } });
    await expect(predict(r.model, new Float32Array(10))).rejects.toThrow(/not a multiple of the model's 4 input columns/);
  });
});
