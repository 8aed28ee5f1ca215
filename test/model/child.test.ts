import { describe, expect, it } from 'vitest';
import {
  ChildTaskError,
  loadModel,
  modelWeights,
  predict,
  runEvaluateInChild,
  runInChild,
  runPredictInChild,
  runTrainingInChild,
  selectBackend,
  train,
  type Checkpoint,
} from '../../src/model';
import { classificationMetrics, majorityBaseline, regressionMetrics } from '../../src/metrics';
import { blobs, bytesToFloats, linear, maxAbsDiff } from './helpers';

const data = blobs(2000, 6);
const params = { epochs: 5, hiddenUnits: [32, 16], batchSize: 64 };

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
      { ...data, task: 'classification', params },
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
    expect(startup).toBeGreaterThan(0);
    // The parent did nothing but wait: its timer fired throughout, including while epochs ran.
    expect(ticks - ticksAtFirstEpoch).toBeGreaterThanOrEqual(3);
    expect(ticks).toBeGreaterThanOrEqual(Math.floor(elapsed / 50 / 3));
    expect(ticks).toBeGreaterThanOrEqual(10);

    // Same backend, same seed: the child's weights equal an in-process run's.
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

  it('aborting kills the child; a new child resumes from the last checkpoint and matches an uninterrupted run', async () => {
    const ac = new AbortController();
    let pid = 0;
    let last: Checkpoint | undefined;
    await expect(
      runTrainingInChild(
        { ...data, task: 'classification', params },
        {
          signal: ac.signal,
          onStart: (i) => (pid = i.pid),
          onEpoch: (epoch, _logs, checkpoint) => {
            last = checkpoint;
            if (epoch === 2) ac.abort(new Error('activity cancelled'));
          },
        },
      ),
    ).rejects.toThrow('activity cancelled');
    expect(pid).toBeGreaterThan(0);
    expect(await waitUntil(() => !alive(pid), 5000)).toBe(true);
    expect(last?.epoch).toBe(2);

    const resumed = await runTrainingInChild({ ...data, task: 'classification', params, resumeFrom: last });
    expect(resumed.resumedFromEpoch).toBe(2);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4, 5]);
    const full = await runTrainingInChild({ ...data, task: 'classification', params });
    const backend = await selectBackend(undefined, { log: () => {} });
    const [a, b] = await Promise.all([loadModel(backend.tf, resumed.model), loadModel(backend.tf, full.model)]);
    expect(maxAbsDiff(modelWeights(a), modelWeights(b))).toBeLessThan(1e-5);
  });

  it('evaluates in a child: metrics and baseline as computed in process, regression in label units', async () => {
    const trained = await runTrainingInChild({ ...data, task: 'classification', params: { ...params, epochs: 2 } });
    const labels = { kind: 'classification' as const, label: 'y', classes: ['a', 'b', 'c'], counts: [0, 0, 0] };
    const ev = await runEvaluateInChild({ model: trained.model, x: data.x, y: data.y, labels });
    const backend = await selectBackend(undefined, { log: () => {} });
    const proba = await predict(await loadModel(backend.tf, trained.model), data.x);
    expect(ev.metrics).toEqual(classificationMetrics(data.y, proba, labels.classes));
    expect(ev.baseline).toEqual(majorityBaseline(data.y, labels.classes));

    const d = linear(1000);
    const reg = { kind: 'regression' as const, label: 'y', standardize: true, mean: 100, std: 10 };
    const r = await runTrainingInChild({ ...d, task: 'regression', params: { ...params, epochs: 3 } });
    const e2 = await runEvaluateInChild({ model: r.model, x: d.x, y: d.y, labels: reg });
    const pred = await predict(await loadModel(backend.tf, r.model), d.x);
    const inUnits = regressionMetrics(
      Array.from(d.y, (v) => v * 10 + 100),
      Array.from(pred, (v) => v * 10 + 100),
    );
    expect(e2.metrics.task).toBe('regression');
    if (e2.metrics.task === 'regression') {
      expect(e2.metrics.rmse).toBeCloseTo(inUnits.rmse, 6);
      expect(e2.metrics.r2).toBeCloseTo(inUnits.r2, 6);
    }
  });

  it("rejects with the child's error message", async () => {
    const error = await runTrainingInChild({ ...data, cols: 7, task: 'classification', params }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChildTaskError);
    expect((error as Error).message).toBe('train failed in the child process: training data: x has 12000 values, expected rows 2000 x cols 7 = 14000');
    const bad = await runPredictInChild({ model: { modelJson: 'nope', weights: new Uint8Array(0) }, x: data.x }).catch((e: unknown) => e);
    expect((bad as Error).message).toMatch(/predict failed in the child process: loadModel: model.json is not JSON/);
  });

  it('an already-aborted signal never starts a child; a throwing progress callback stops it', async () => {
    const ac = new AbortController();
    ac.abort(new Error('shutting down'));
    await expect(runTrainingInChild({ ...data, task: 'classification', params }, { signal: ac.signal })).rejects.toThrow('shutting down');
    let pid = 0;
    await expect(
      runTrainingInChild(
        { ...data, task: 'classification', params },
        {
          onStart: (i) => (pid = i.pid),
          onEpoch: () => {
            throw new Error('heartbeat failed');
          },
        },
      ),
    ).rejects.toThrow(/progress callback failed, child stopped: heartbeat failed/);
    expect(await waitUntil(() => !alive(pid), 5000)).toBe(true);
  });

  it('a child that dies says so', async () => {
    const error = await runInChild('ping', { backend: 'cpu' }, { env: { PERENNIAL_TF_BACKEND: 'nonsense' } }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/ping failed in the child process: PERENNIAL_TF_BACKEND='nonsense' is not a backend/);
  });
});
