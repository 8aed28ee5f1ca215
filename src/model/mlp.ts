import type * as TfModule from '@tensorflow/tfjs';
import { abortError } from './abort';
import { BACKENDS, selectBackend, type BackendName, type Tf } from './backend';
import { parseModelParams, type ModelParams, type ModelParamsInput } from './params';
import { hashSeed, mulberry32, permutation } from './rng';
import type { Task } from '../metrics/task';

export type LayersModel = TfModule.LayersModel;

/** A model as two blobs: tfjs's model.json (topology + weights manifest) and weights.bin. */
export interface ModelArtifacts {
  modelJson: string;
  weights: Uint8Array;
}

export interface OptimizerWeight {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface EpochLogs {
  /** Mean training loss over the epoch (class-weighted for classification). */
  loss: number;
  valLoss?: number;
  valAccuracy?: number;
  seconds: number;
  rowsPerSecond: number;
}

export interface EpochRecord extends EpochLogs {
  epoch: number;
}

/**
 * Everything needed to continue training after `epoch` (1-based, completed).
 * Plain data only (strings, numbers, typed arrays): structured-clone friendly,
 * crosses process boundaries and can be written to a store as is.
 */
export interface Checkpoint {
  format: 'perennial-checkpoint';
  version: 1;
  epoch: number;
  task: Task;
  cols: number;
  outputs: number;
  params: ModelParams;
  backend: BackendName;
  model: ModelArtifacts;
  optimizer: OptimizerWeight[];
  history: EpochRecord[];
}

export interface Dataset {
  /** Row-major features, rows x cols. */
  x: Float32Array;
  rows: number;
  cols: number;
  /** Class indexes (classification) or targets (regression). */
  y: Int32Array | Float32Array | number[];
}

export interface TrainInput extends Dataset {
  task: Task;
  /** Number of classes (classification; default max(y) + 1). */
  numClasses?: number;
  params?: ModelParamsInput;
  /** Scored after each epoch (valLoss, valAccuracy), not trained on. */
  validation?: Dataset;
  resumeFrom?: Checkpoint;
}

export interface TrainOptions extends TrainInput {
  /** A loaded tfjs (from selectBackend); default: selectBackend(backend). */
  tf?: Tf;
  backend?: BackendName;
  /** Called after each epoch with a checkpoint to resume from; awaited before the next epoch. */
  onEpoch?: (epoch: number, logs: EpochLogs, checkpoint: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
}

export interface TrainResult {
  model: LayersModel;
  artifacts: ModelArtifacts;
  history: EpochRecord[];
  backend: BackendName;
  /** The checkpoint's epoch when resumed, else null. */
  resumedFromEpoch: number | null;
}

function checkDataset(name: string, d: Dataset, task: Task, outputs: number): void {
  if (!Number.isInteger(d.rows) || d.rows <= 0) throw new Error(`${name}: rows must be a positive integer, got ${d.rows}`);
  if (!Number.isInteger(d.cols) || d.cols <= 0) throw new Error(`${name}: cols must be a positive integer, got ${d.cols}`);
  if (d.x.length !== d.rows * d.cols) throw new Error(`${name}: x has ${d.x.length} values, expected rows ${d.rows} x cols ${d.cols} = ${d.rows * d.cols}`);
  if (d.y.length !== d.rows) throw new Error(`${name}: y has ${d.y.length} labels for ${d.rows} rows`);
  for (let i = 0; i < d.x.length; i++) {
    if (!Number.isFinite(d.x[i]!))
      throw new Error(`${name}: x row ${Math.floor(i / d.cols) + 1} column ${(i % d.cols) + 1} is ${d.x[i]} (features must be finite; impute missing values)`);
  }
  for (let i = 0; i < d.rows; i++) {
    const v = d.y[i]!;
    if (task === 'classification' ? !Number.isInteger(v) || v < 0 || v >= outputs : !Number.isFinite(v)) {
      throw new Error(`${name}: y[${i}] = ${v} is not ${task === 'classification' ? `a class index in 0..${outputs - 1}` : 'a finite number'}`);
    }
  }
}

/**
 * Dropout whose masks come from explicit seeds, not from Math.random (tfjs's
 * own Dropout layer draws unseeded masks from Math.random, or one fixed mask
 * for every batch when given a seed). `startEpoch(seed)` before each epoch's
 * fit; the n-th training call of the epoch then uses tf.dropout with seed
 * hashSeed(epochSeed, n), so the masks depend only on (seed, epoch, layer,
 * batch) and nothing process-wide is touched. tf.dropout draws its mask in JS
 * (seedrandom), so the masks are the same on every backend.
 *
 * It serializes as a standard 'Dropout' layer (same config: rate), so
 * model.json stays plain tfjs and any loader reads it as a Dropout (identity
 * at inference). A model loaded from model.json therefore has tfjs's own
 * Dropout; `train` rebuilds the model with this layer when resuming.
 */
interface SeededDropoutLayer extends TfModule.layers.Layer {
  startEpoch(seed: number): void;
}
type SeededDropoutCtor = new (args: { rate: number; name: string }) => SeededDropoutLayer;
const seededDropoutClasses = new WeakMap<Tf, SeededDropoutCtor>();

function seededDropout(tf: Tf): SeededDropoutCtor {
  const known = seededDropoutClasses.get(tf);
  if (known) return known;
  class SeededDropout extends tf.layers.Layer implements SeededDropoutLayer {
    /** The class name written to model.json: a plain tfjs Dropout. */
    static className = 'Dropout';
    readonly rate: number;
    private epochSeed = 1;
    private calls = 0;
    constructor(args: { rate: number; name: string }) {
      super({ name: args.name });
      this.rate = args.rate;
      this.supportsMasking = true;
    }
    startEpoch(seed: number): void {
      this.epochSeed = seed;
      this.calls = 0;
    }
    override call(inputs: TfModule.Tensor | TfModule.Tensor[], kwargs: Record<string, unknown>): TfModule.Tensor {
      const input = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (kwargs['training'] !== true || !(this.rate > 0 && this.rate < 1)) return input;
      // tfjs treats seed 0 as "unseeded": never pass it.
      const seed = hashSeed(this.epochSeed, this.calls++) || 1;
      return tf.tidy(() => tf.dropout(input, this.rate, undefined, seed));
    }
    override getConfig(): TfModule.serialization.ConfigDict {
      return { rate: this.rate, ...super.getConfig() };
    }
  }
  seededDropoutClasses.set(tf, SeededDropout);
  return SeededDropout;
}

/** The MLP: dense hidden layers (seeded Glorot-uniform kernels, zero biases), seeded dropout, softmax or linear output. */
function buildModel(tf: Tf, cols: number, outputs: number, task: Task, params: ModelParams): LayersModel {
  const model = tf.sequential();
  params.hiddenUnits.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: params.activation,
        inputShape: i === 0 ? [cols] : undefined,
        kernelInitializer: tf.initializers.glorotUniform({ seed: hashSeed(params.seed, i) }),
        biasInitializer: 'zeros',
        name: `hidden_${i + 1}`,
      }),
    );
    if (params.dropout > 0) model.add(new (seededDropout(tf))({ rate: params.dropout, name: `dropout_${i + 1}` }));
  });
  model.add(
    tf.layers.dense({
      units: task === 'classification' ? outputs : 1,
      activation: task === 'classification' ? 'softmax' : 'linear',
      inputShape: params.hiddenUnits.length === 0 ? [cols] : undefined,
      kernelInitializer: tf.initializers.glorotUniform({ seed: hashSeed(params.seed, params.hiddenUnits.length) }),
      biasInitializer: 'zeros',
      name: 'output',
    }),
  );
  return model;
}

function compile(tf: Tf, model: LayersModel, task: Task, params: ModelParams): void {
  model.compile({
    optimizer: tf.train.adam(params.learningRate),
    loss: task === 'classification' ? 'categoricalCrossentropy' : 'meanSquaredError',
  });
}

function toArrayBuffer(data: ArrayBuffer | ArrayBuffer[] | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const total = data.reduce((s, b) => s + b.byteLength, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), o);
    o += b.byteLength;
  }
  return out.buffer;
}

/** The model as tfjs's standard model.json (weights path 'weights.bin') and the weight bytes. */
export async function serializeModel(model: LayersModel): Promise<ModelArtifacts> {
  let result: ModelArtifacts | undefined;
  await model.save({
    save: async (artifacts: TfModule.io.ModelArtifacts) => {
      const weights = new Uint8Array(toArrayBuffer(artifacts.weightData));
      const modelJson = JSON.stringify({
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs ?? [] }],
      });
      result = { modelJson, weights };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    },
  });
  if (!result) throw new Error('serializeModel: tfjs did not hand over the model artifacts');
  return result;
}

/** Loads a model saved by serializeModel (or any tfjs layers model.json + single weights file). */
export async function loadModel(tf: Tf, artifacts: ModelArtifacts): Promise<LayersModel> {
  let json: { modelTopology?: unknown; weightsManifest?: { weights: TfModule.io.WeightsManifestEntry[] }[] };
  try {
    json = JSON.parse(artifacts.modelJson) as typeof json;
  } catch (error) {
    throw new Error(`loadModel: model.json is not JSON: ${(error as Error).message}`, { cause: error });
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest))
    throw new Error('loadModel: model.json has no modelTopology or weightsManifest (not a tfjs layers model)');
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const w = artifacts.weights;
  const weightData = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
  const expected = weightSpecs.reduce((s, spec) => s + spec.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (expected !== weightData.byteLength) throw new Error(`loadModel: weights are ${weightData.byteLength} bytes, model.json expects ${expected}`);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology as TfModule.io.ModelArtifacts['modelTopology'], weightSpecs, weightData }));
}

/** Number of input columns and outputs of a model. */
export function modelShape(model: LayersModel): { cols: number; outputs: number } {
  const inShape = model.inputs[0]?.shape;
  const outShape = model.outputs[0]?.shape;
  return { cols: Number(inShape?.[1] ?? 0), outputs: Number(outShape?.[1] ?? 1) };
}

/**
 * Scores rows: class probabilities (row-major, rows x classes) for a
 * classifier, values (one per row) for a regressor. Works in chunks to bound memory.
 */
export async function predict(model: LayersModel, x: Float32Array, options: { chunkRows?: number; tf?: Tf } = {}): Promise<Float32Array> {
  const tf = options.tf ?? (await import('@tensorflow/tfjs'));
  const { cols, outputs } = modelShape(model);
  if (cols <= 0 || x.length % cols !== 0) throw new Error(`predict: x has ${x.length} values, not a multiple of the model's ${cols} input columns`);
  const rows = x.length / cols;
  const out = new Float32Array(rows * outputs);
  const chunk = options.chunkRows ?? 2048;
  for (let start = 0; start < rows; start += chunk) {
    const n = Math.min(chunk, rows - start);
    const values = tf.tidy(() => {
      const input = tf.tensor2d(x.subarray(start * cols, (start + n) * cols), [n, cols]);
      return (model.predict(input, { batchSize: n }) as TfModule.Tensor).dataSync() as Float32Array;
    });
    out.set(values, start * outputs);
  }
  return out;
}

function oneHot(y: ArrayLike<number>, k: number): Float32Array {
  const out = new Float32Array(y.length * k);
  for (let i = 0; i < y.length; i++) out[i * k + y[i]!] = 1;
  return out;
}

function balancedWeights(y: ArrayLike<number>, k: number): Record<number, number> {
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < y.length; i++) counts[y[i]!]! += 1;
  const weights: Record<number, number> = {};
  counts.forEach((c, i) => (weights[i] = c > 0 ? y.length / (k * c) : 1));
  return weights;
}

/** The backend name of a tfjs handed in by the caller (it must be one selectBackend can give). */
function backendOf(tf: Tf): BackendName {
  const name = tf.getBackend();
  if (!(BACKENDS as readonly string[]).includes(name)) {
    throw new Error(`the tf passed to train runs backend '${name}', not one of ${BACKENDS.join(', ')}; get it from selectBackend`);
  }
  return name as BackendName;
}

/**
 * Trains the MLP with a fixed seed: the same data, params and backend give the
 * same weights. Each epoch shuffles with a permutation derived from
 * (seed, epoch) and runs one `fit` with shuffle off, so a run resumed from the
 * checkpoint of epoch e reproduces epochs e+1.. of the uninterrupted run.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const backend = options.tf ? { tf: options.tf, name: backendOf(options.tf) } : await selectBackend(options.backend);
  const tf = backend.tf;
  const params = parseModelParams(options.params);
  const { task } = options;
  if (task !== 'classification' && task !== 'regression') throw new Error(`task must be 'classification' or 'regression', got '${String(task)}'`);
  let outputs = 1;
  if (task === 'classification') {
    let max = 0;
    for (let i = 0; i < options.y.length; i++) max = Math.max(max, options.y[i]!);
    outputs = options.numClasses ?? max + 1;
    if (outputs < 2) throw new Error(`classification needs at least 2 classes, got numClasses ${outputs}`);
  }
  checkDataset('training data', options, task, outputs);
  if (options.validation) {
    checkDataset('validation data', options.validation, task, outputs);
    if (options.validation.cols !== options.cols) throw new Error(`validation data has ${options.validation.cols} columns, training data ${options.cols}`);
  }

  let model: LayersModel;
  let history: EpochRecord[] = [];
  let startEpoch = 1;
  const resume = options.resumeFrom;
  if (resume) {
    if (resume.format !== 'perennial-checkpoint' || resume.version !== 1) throw new Error('resumeFrom is not a perennial checkpoint (format/version)');
    if (resume.task !== task || resume.cols !== options.cols || resume.outputs !== outputs) {
      throw new Error(
        `checkpoint does not match the data: checkpoint ${resume.task} with ${resume.cols} columns and ${resume.outputs} outputs, data ${task} with ${options.cols} columns and ${outputs} outputs`,
      );
    }
    const differing = (Object.keys(params) as (keyof ModelParams)[]).filter(
      (k) => k !== 'epochs' && JSON.stringify(params[k]) !== JSON.stringify(resume.params[k]),
    );
    if (differing.length > 0)
      throw new Error(`checkpoint was trained with different params (${differing.join(', ')}); resume with the same params or start over`);
    if (resume.backend !== backend.name) {
      console.warn(
        `[perennial:model] resuming a checkpoint made on '${resume.backend}' with '${backend.name}': the result will be close to, not bit-identical with, an uninterrupted run`,
      );
    }
    // Rebuilt, then given the checkpoint's weights: the loaded model.json has
    // tfjs's own Dropout, and training needs the seeded one.
    const loaded = await loadModel(tf, resume.model);
    model = buildModel(tf, options.cols, outputs, task, params);
    model.setWeights(loaded.getWeights());
    loaded.dispose();
    compile(tf, model, task, params);
    const weights = resume.optimizer.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape) }));
    await model.optimizer.setWeights(weights);
    weights.forEach((w) => w.tensor.dispose());
    history = resume.history.map((h) => ({ ...h }));
    startEpoch = resume.epoch + 1;
  } else {
    model = buildModel(tf, options.cols, outputs, task, params);
    compile(tf, model, task, params);
  }

  const { rows, cols } = options;
  const yFlat = task === 'classification' ? oneHot(options.y, outputs) : Float32Array.from(options.y);
  const yCols = task === 'classification' ? outputs : 1;
  const classWeight = task === 'classification' && params.classWeight === 'balanced' ? balancedWeights(options.y, outputs) : undefined;
  const xs = new Float32Array(rows * cols);
  const ys = new Float32Array(rows * yCols);
  let valX: TfModule.Tensor | undefined;
  let valY: TfModule.Tensor | undefined;
  if (options.validation) {
    const v = options.validation;
    valX = tf.tensor2d(v.x, [v.rows, v.cols]);
    valY = task === 'classification' ? tf.tensor2d(oneHot(v.y, outputs), [v.rows, outputs]) : tf.tensor2d(Float32Array.from(v.y), [v.rows, 1]);
  }

  const dropouts = model.layers.filter((l): l is SeededDropoutLayer => typeof (l as Partial<SeededDropoutLayer>).startEpoch === 'function');
  let last: Checkpoint | undefined;
  try {
    for (let epoch = startEpoch; epoch <= params.epochs; epoch++) {
      if (options.signal?.aborted) throw abortError(options.signal, 'training was aborted');
      const started = performance.now();
      const order = permutation(rows, mulberry32(hashSeed(params.seed, epoch, 1)));
      for (let i = 0; i < rows; i++) {
        const r = order[i]!;
        xs.set(options.x.subarray(r * cols, (r + 1) * cols), i * cols);
        ys.set(yFlat.subarray(r * yCols, (r + 1) * yCols), i * yCols);
      }
      const xt = tf.tensor2d(xs, [rows, cols]);
      const yt = tf.tensor2d(ys, [rows, yCols]);
      let loss: number;
      try {
        dropouts.forEach((d, i) => d.startEpoch(hashSeed(params.seed, epoch, 2, i)));
        const h = await model.fit(xt, yt, { epochs: 1, batchSize: params.batchSize, shuffle: false, verbose: 0, classWeight });
        loss = Number(h.history.loss?.[0]);
      } finally {
        xt.dispose();
        yt.dispose();
      }
      const logs: EpochLogs = { loss, seconds: 0, rowsPerSecond: 0 };
      if (valX && valY) {
        const vx = valX;
        const vy = valY;
        const [vl, va] = tf.tidy(() => {
          const pred = model.predict(vx, { batchSize: 2048 }) as TfModule.Tensor;
          if (task === 'classification') {
            const l = tf.metrics.categoricalCrossentropy(vy, pred).mean();
            const a = tf.metrics.categoricalAccuracy(vy, pred).mean();
            return [l.dataSync()[0]!, a.dataSync()[0]!];
          }
          return [tf.losses.meanSquaredError(vy, pred).dataSync()[0]!, undefined];
        });
        logs.valLoss = vl;
        if (va !== undefined) logs.valAccuracy = va;
      }
      logs.seconds = (performance.now() - started) / 1000;
      logs.rowsPerSecond = rows / Math.max(logs.seconds, 1e-9);
      history.push({ epoch, ...logs });
      if (options.onEpoch) {
        last = await makeCheckpoint(model, { epoch, task, cols, outputs, params, backend: backend.name, history });
        await options.onEpoch(epoch, logs, last);
      }
    }
  } finally {
    valX?.dispose();
    valY?.dispose();
  }
  // The last epoch's checkpoint already holds the final weights.
  const artifacts = last?.epoch === params.epochs ? last.model : await serializeModel(model);
  return { model, artifacts, history, backend: backend.name, resumedFromEpoch: resume ? resume.epoch : null };
}

async function makeCheckpoint(
  model: LayersModel,
  meta: { epoch: number; task: Task; cols: number; outputs: number; params: ModelParams; backend: BackendName; history: EpochRecord[] },
): Promise<Checkpoint> {
  const named = await model.optimizer.getWeights();
  const optimizer: OptimizerWeight[] = [];
  for (const w of named) optimizer.push({ name: w.name, shape: [...w.tensor.shape], data: Float32Array.from(await w.tensor.data()) });
  return {
    format: 'perennial-checkpoint',
    version: 1,
    ...meta,
    history: meta.history.map((h) => ({ ...h })),
    model: await serializeModel(model),
    optimizer,
  };
}

/** Flattened model weights (for comparing two models in tests and reports). */
export function modelWeights(model: LayersModel): Float32Array[] {
  return model.getWeights().map((w) => w.dataSync() as Float32Array);
}
