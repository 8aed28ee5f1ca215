/**
 * `perennial reproduce`'s comparison: weights tensor by tensor (compareWeights)
 * and the verdict (judgeReproduction): every bit on the same backend, the
 * stated tolerance on another, the preprocessor always identical.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { ClassificationMetrics } from '../../../src/metrics';
import { compareWeights, selectBackend, train, type Backend, type ModelArtifacts } from '../../../src/model';
import type { PreprocessorArtifact } from '../../../src/preprocess';
import { DEFAULT_REPRODUCE_TOLERANCE, judgeReproduction, type ReproductionSide } from '../../../src/registry';
import { asTable, blobs } from '../../model/helpers';

/** A model.json manifest of two tensors and their float32 values, in a Buffer at an odd offset (as S3 reads can be). */
function artifacts(kernel: number[], bias: number[]): ModelArtifacts {
  const modelJson = JSON.stringify({
    modelTopology: {},
    weightsManifest: [
      {
        paths: ['weights.bin'],
        weights: [
          { name: 'dense/kernel', shape: [2, 2], dtype: 'float32' },
          { name: 'dense/bias', shape: [2], dtype: 'float32' },
        ],
      },
    ],
  });
  const floats = new Float32Array([...kernel, ...bias]);
  const padded = Buffer.alloc(floats.byteLength + 1);
  Buffer.from(floats.buffer).copy(padded, 1);
  return { modelJson, weights: padded.subarray(1) };
}

const metrics = (accuracy: number, logLoss = 0.5): ClassificationMetrics => ({
  task: 'classification',
  n: 100,
  accuracy,
  macroF1: 0.7,
  weightedF1: 0.75,
  logLoss,
  perClass: [],
  confusion: [],
  classes: ['a', 'b'],
});

let preprocessor: PreprocessorArtifact;
const side = (backend: ReproductionSide['backend'], m = metrics(0.8), pre = preprocessor): ReproductionSide => ({ backend, metrics: m, preprocessor: pre });

beforeAll(() => {
  preprocessor = asTable(blobs(50), 'classification').artifact;
});

describe('compareWeights', () => {
  it('finds identical weights identical, and counts and measures differences per tensor', () => {
    const same = compareWeights(artifacts([1, 2, 3, 4], [0.5, -0.5]), artifacts([1, 2, 3, 4], [0.5, -0.5]));
    expect(same).toMatchObject({ identical: true, values: 6, differing: 0, maxAbsDiff: 0 });
    const other = compareWeights(artifacts([1, 2, 3, 4], [0.5, -0.5]), artifacts([1, 2.25, 3, 4], [0.5, -0.5 + 2 ** -20]));
    expect(other.identical).toBe(false);
    expect(other.tensors).toEqual([
      { name: 'dense/kernel', shape: [2, 2], values: 4, differing: 1, maxAbsDiff: 0.25 },
      { name: 'dense/bias', shape: [2], values: 2, differing: 1, maxAbsDiff: 2 ** -20 },
    ]);
    expect(other.maxAbsDiff).toBe(0.25);
  });

  it('counts a NaN against a number as an infinite difference', () => {
    expect(compareWeights(artifacts([1, 2, 3, 4], [0, 0]), artifacts([1, NaN, 3, 4], [0, 0])).maxAbsDiff).toBe(Infinity);
  });

  it('refuses models whose tensors differ, naming both lists', () => {
    const wider = { ...artifacts([1, 2, 3, 4], [0, 0]) };
    wider.modelJson = wider.modelJson.replace('"shape":[2]', '"shape":[3]');
    expect(() => compareWeights(artifacts([1, 2, 3, 4], [0, 0]), wider)).toThrow(
      'the models have different tensors: recorded dense/kernel[2x2], dense/bias[2]; reproduced dense/kernel[2x2], dense/bias[3]',
    );
  });
});

describe('judgeReproduction', () => {
  const same = compareWeights(artifacts([1, 2, 3, 4], [0, 0]), artifacts([1, 2, 3, 4], [0, 0]));
  const lastBits = compareWeights(artifacts([1, 2, 3, 4], [0, 0]), artifacts([1, 2 + 2 ** -22, 3, 4], [0, 0]));

  it('is identical when every weight, the preprocessor and every metric are', () => {
    const report = judgeReproduction('weather', 'v3', side('wasm'), side('wasm'), same);
    expect(report).toMatchObject({ verdict: 'identical', sameBackend: true, tolerance: null, reasons: [] });
    expect(report.message).toBe('weather/v3 reproduced on wasm, the backend that trained it: every weight, the preprocessor and every metric identical');
  });

  it('on the same backend, one weight off in its last bits differs, naming the tensor', () => {
    const report = judgeReproduction('weather', 'v3', side('wasm'), side('wasm'), lastBits);
    expect(report.verdict).toBe('differs');
    expect(report.reasons).toEqual([
      `1 of 6 weights differ, by up to ${(2 ** -22).toPrecision(3)} (in dense/kernel) on the same backend (wasm), where every bit must match`,
    ]);
  });

  it('on another backend, the same difference is within tolerance and both backends are named', () => {
    const report = judgeReproduction('weather', 'v3', side('wasm'), side('cpu', metrics(0.8, 0.5 + 1e-7)), lastBits);
    expect(report).toMatchObject({ verdict: 'within-tolerance', sameBackend: false, backends: { recorded: 'wasm', reproduced: 'cpu' } });
    expect(report.tolerance).toEqual(DEFAULT_REPRODUCE_TOLERANCE);
    expect(report.message).toMatch(/^weather\/v3 reproduced on cpu \(it was trained on wasm\) within tolerance: weights differ by up to 2\.38e-7/);
  });

  it('on another backend, a metric beyond the tolerance differs', () => {
    const report = judgeReproduction('weather', 'v3', side('wasm'), side('cpu', metrics(0.79)), lastBits);
    expect(report.verdict).toBe('differs');
    expect(report.reasons).toEqual(['accuracy 0.8 -> 0.79 (-0.0100)']);
  });

  it('a preprocessor that fitted other values always differs, naming the field', () => {
    const changed = structuredClone(preprocessor);
    changed.preprocessor.columns[0] = 'renamed';
    const report = judgeReproduction('weather', 'v3', side('wasm'), side('cpu', metrics(0.8), changed), same);
    expect(report.verdict).toBe('differs');
    expect(report.preprocessor.identical).toBe(false);
    expect(report.reasons[0]).toMatch(/^the preprocessor differs in 1 field\(s\), first preprocessor\.columns: .* -> .*renamed/);
  });

  it('refuses a tolerance that is not a number >= 0', () => {
    expect(() => judgeReproduction('weather', 'v3', side('wasm'), side('cpu'), same, { weights: -1, metrics: 0 })).toThrow(/tolerance must be numbers >= 0/);
  });
});

describe('the default tolerance against a real change', () => {
  let backend: Backend;
  beforeAll(async () => {
    backend = await selectBackend(undefined, { log: () => {} });
  });

  it('another seed moves the weights far beyond it, the same seed not at all', async () => {
    const data = blobs(600);
    const params = { epochs: 4, hiddenUnits: [16, 8], batchSize: 64, learningRate: 0.02 };
    const run = (seed: number) => train({ tf: backend.tf, ...data, task: 'classification', params: { ...params, seed } });
    const [a, b, c] = [await run(42), await run(42), await run(7)];
    expect(compareWeights(a.artifacts, b.artifacts).identical).toBe(true);
    expect(compareWeights(a.artifacts, c.artifacts).maxAbsDiff).toBeGreaterThan(100 * DEFAULT_REPRODUCE_TOLERANCE.weights);
  });
});
