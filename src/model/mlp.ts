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

/**
 * Rows the model reads a chunk at a time, so no array of every row's features
 * is ever built (columnarSource encodes a column table on demand; denseSource
 * wraps a Dataset).
 */
export interface RowSource {
  rows: number;
  cols: number;
  /** Target of every row (class indexes or values): one number a row, small next to the features. */
  y: Int32Array | Float32Array | number[];
  /** Writes the features of `rows` (indexes 0..rows-1 of this source) into x, row-major, from x[0] on. */
  features(rows: Uint32Array, x: Float32Array): void;
}

/** A dense matrix as a RowSource (checks its shape). */
export function denseSource(name: string, d: Dataset): RowSource {
  if (!Number.isInteger(d.rows) || d.rows <= 0) throw new Error(`${name}: rows must be a positive integer, got ${d.rows}`);
  if (!Number.isInteger(d.cols) || d.cols <= 0) throw new Error(`${name}: cols must be a positive integer, got ${d.cols}`);
  if (d.x.length !== d.rows * d.cols) throw new Error(`${name}: x has ${d.x.length} values, expected rows ${d.rows} x cols ${d.cols} = ${d.rows * d.cols}`);
  const { x: all, cols } = d;
  return {
    rows: d.rows,
    cols,
    y: d.y,
    features: (rows, x) => {
      for (let k = 0; k < rows.length; k++) x.set(all.subarray(rows[k]! * cols, (rows[k]! + 1) * cols), k * cols);
    },
  };
}

/** Rows encoded at a time when training and scoring (rounded down to a multiple of batchSize). */
export const DEFAULT_CHUNK_ROWS = 32_768;

interface TrainCommon {
  task: Task;
  /** Number of classes (classification; default max(y) + 1). */
  numClasses?: number;
  params?: ModelParamsInput;
  /** Scored after each epoch (valLoss, valAccuracy), not trained on. */
  validation?: Dataset | RowSource;
  resumeFrom?: Checkpoint;
  /** Rows encoded and fitted at a time (default DEFAULT_CHUNK_ROWS, rounded down to a multiple of batchSize): bounds memory, not the result. */
  chunkRows?: number;
}

/** The training rows: a dense matrix (x, rows, cols, y) or a `source` read chunk by chunk. */
export type TrainInput = TrainCommon & (Dataset | { source: RowSource });

export type TrainOptions = TrainInput & {
  /** A loaded tfjs (from selectBackend); default: selectBackend(backend). */
  tf?: Tf;
  backend?: BackendName;
  /** Called after each epoch with a checkpoint to resume from; awaited before the next epoch. */
  onEpoch?: (epoch: number, logs: EpochLogs, checkpoint: Checkpoint) => void | Promise<void>;
  signal?: AbortSignal;
};

export interface TrainResult {
  model: LayersModel;
  artifacts: ModelArtifacts;
  history: EpochRecord[];
  backend: BackendName;
  /** The checkpoint's epoch when resumed, else null. */
  resumedFromEpoch: number | null;
}

function checkTargets(name: string, source: RowSource, task: Task, outputs: number): void {
  if (source.y.length !== source.rows) throw new Error(`${name}: y has ${source.y.length} labels for ${source.rows} rows`);
  for (let i = 0; i < source.rows; i++) {
    const v = source.y[i]!;
    if (task === 'classification' ? !Number.isInteger(v) || v < 0 || v >= outputs : !Number.isFinite(v)) {
      throw new Error(`${name}: y[${i}] = ${v} is not ${task === 'classification' ? `a class index in 0..${outputs - 1}` : 'a finite number'}`);
    }
  }
}

/** Features must be finite (the preprocessor imputes; a hand-made matrix may not). `rows` names the source rows. */
function checkFinite(name: string, x: Float32Array, rows: Uint32Array, cols: number): void {
  for (let i = 0; i < rows.length * cols; i++) {
    if (!Number.isFinite(x[i]!)) {
      const row = rows[Math.floor(i / cols)]!;
      throw new Error(`${name}: x row ${row + 1} column ${(i % cols) + 1} is ${x[i]} (features must be finite; impute missing values)`);
    }
  }
}

/** Rows per chunk: a multiple of the batch size, so the batches are those of one fit over the whole epoch. */
function chunkSize(chunkRows: number | undefined, batchSize: number): number {
  const wanted = chunkRows ?? DEFAULT_CHUNK_ROWS;
  if (!Number.isInteger(wanted) || wanted <= 0) throw new Error(`chunkRows must be a positive integer, got ${wanted}`);
  return Math.max(batchSize, Math.floor(wanted / batchSize) * batchSize);
}

/** Targets of `rows` as the model's output rows: one-hot for classification. */
function writeTargets(y: RowSource['y'], rows: Uint32Array, out: Float32Array, task: Task, outputs: number): void {
  if (task === 'classification') {
    out.fill(0, 0, rows.length * outputs);
    for (let k = 0; k < rows.length; k++) out[k * outputs + y[rows[k]!]!] = 1;
  } else for (let k = 0; k < rows.length; k++) out[k] = y[rows[k]!]!;
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

function sourceOf(name: string, d: Dataset | RowSource): RowSource {
  return 'features' in d ? d : denseSource(name, d);
}

/** Validation loss (and accuracy) over every row of `source`, a chunk at a time. */
function validationLogs(tf: Tf, model: LayersModel, source: RowSource, task: Task, outputs: number, chunk: number): { valLoss: number; valAccuracy?: number } {
  const { rows, cols } = source;
  const size = Math.min(chunk, rows);
  const x = new Float32Array(size * cols);
  const y = new Float32Array(size * outputs);
  const part = new Uint32Array(size);
  let lossSum = 0;
  let correct = 0;
  for (let start = 0; start < rows; start += size) {
    const m = Math.min(size, rows - start);
    const indexes = part.subarray(0, m);
    for (let k = 0; k < m; k++) indexes[k] = start + k;
    source.features(indexes, x);
    checkFinite('validation data', x, indexes, cols);
    writeTargets(source.y, indexes, y, task, outputs);
    const [l, a] = tf.tidy(() => {
      const pred = model.predict(tf.tensor2d(x.subarray(0, m * cols), [m, cols]), { batchSize: 2048 }) as TfModule.Tensor;
      const truth = tf.tensor2d(y.subarray(0, m * outputs), [m, outputs]);
      if (task === 'classification') {
        return [tf.metrics.categoricalCrossentropy(truth, pred).sum().dataSync()[0]!, tf.metrics.categoricalAccuracy(truth, pred).sum().dataSync()[0]!];
      }
      return [tf.squaredDifference(truth, pred).sum().dataSync()[0]!, 0];
    });
    lossSum += l;
    correct += a;
  }
  return task === 'classification' ? { valLoss: lossSum / rows, valAccuracy: correct / rows } : { valLoss: lossSum / rows };
}

/**
 * Trains the MLP with a fixed seed: the same data, params and backend give the
 * same weights. Each epoch shuffles the rows with a permutation derived from
 * (seed, epoch), then encodes and fits them `chunkRows` at a time with shuffle
 * off (chunks are whole batches, so the batches and weights do not depend on
 * chunkRows); a run resumed from the checkpoint of epoch e reproduces epochs
 * e+1.. of the uninterrupted run. Memory: one chunk of features, never all rows.
 */
export async function train(options: TrainOptions): Promise<TrainResult> {
  const backend = options.tf ? { tf: options.tf, name: backendOf(options.tf) } : await selectBackend(options.backend);
  const tf = backend.tf;
  const params = parseModelParams(options.params);
  const { task } = options;
  if (task !== 'classification' && task !== 'regression') throw new Error(`task must be 'classification' or 'regression', got '${String(task)}'`);
  const source = 'source' in options ? options.source : denseSource('training data', options);
  if (!Number.isInteger(source.rows) || source.rows <= 0) throw new Error(`training data: rows must be a positive integer, got ${source.rows}`);
  let outputs = 1;
  if (task === 'classification') {
    let max = 0;
    for (let i = 0; i < source.y.length; i++) max = Math.max(max, source.y[i]!);
    outputs = options.numClasses ?? max + 1;
    if (outputs < 2) throw new Error(`classification needs at least 2 classes, got numClasses ${outputs}`);
  }
  checkTargets('training data', source, task, outputs);
  const validation = options.validation ? sourceOf('validation data', options.validation) : undefined;
  if (validation) {
    checkTargets('validation data', validation, task, outputs);
    if (validation.cols !== source.cols) throw new Error(`validation data has ${validation.cols} columns, training data ${source.cols}`);
  }
  const chunk = chunkSize(options.chunkRows, params.batchSize);

  let model: LayersModel;
  let history: EpochRecord[] = [];
  let startEpoch = 1;
  const resume = options.resumeFrom;
  if (resume) {
    if (resume.format !== 'perennial-checkpoint' || resume.version !== 1) throw new Error('resumeFrom is not a perennial checkpoint (format/version)');
    if (resume.task !== task || resume.cols !== source.cols || resume.outputs !== outputs) {
      throw new Error(
        `checkpoint does not match the data: checkpoint ${resume.task} with ${resume.cols} columns and ${resume.outputs} outputs, data ${task} with ${source.cols} columns and ${outputs} outputs`,
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
    model = buildModel(tf, source.cols, outputs, task, params);
    model.setWeights(loaded.getWeights());
    loaded.dispose();
    compile(tf, model, task, params);
    const weights = resume.optimizer.map((w) => ({ name: w.name, tensor: tf.tensor(w.data, w.shape) }));
    await model.optimizer.setWeights(weights);
    weights.forEach((w) => w.tensor.dispose());
    history = resume.history.map((h) => ({ ...h }));
    startEpoch = resume.epoch + 1;
  } else {
    model = buildModel(tf, source.cols, outputs, task, params);
    compile(tf, model, task, params);
  }

  const { rows, cols } = source;
  const yCols = task === 'classification' ? outputs : 1;
  const classWeight = task === 'classification' && params.classWeight === 'balanced' ? balancedWeights(source.y, outputs) : undefined;
  const size = Math.min(chunk, rows);
  const xs = new Float32Array(size * cols);
  const ys = new Float32Array(size * yCols);

  const dropouts = model.layers.filter((l): l is SeededDropoutLayer => typeof (l as Partial<SeededDropoutLayer>).startEpoch === 'function');
  let last: Checkpoint | undefined;
  for (let epoch = startEpoch; epoch <= params.epochs; epoch++) {
    if (options.signal?.aborted) throw abortError(options.signal, 'training was aborted');
    const started = performance.now();
    const order = permutation(rows, mulberry32(hashSeed(params.seed, epoch, 1)));
    // Once per epoch: the dropout masks then follow the batch count across chunks.
    dropouts.forEach((d, i) => d.startEpoch(hashSeed(params.seed, epoch, 2, i)));
    let lossSum = 0;
    for (let start = 0; start < rows; start += size) {
      const part = order.subarray(start, Math.min(rows, start + size));
      const m = part.length;
      source.features(part, xs);
      checkFinite('training data', xs, part, cols);
      writeTargets(source.y, part, ys, task, outputs);
      const xt = tf.tensor2d(xs.subarray(0, m * cols), [m, cols]);
      const yt = tf.tensor2d(ys.subarray(0, m * yCols), [m, yCols]);
      try {
        const h = await model.fit(xt, yt, { epochs: 1, batchSize: params.batchSize, shuffle: false, verbose: 0, classWeight });
        // fit reports the mean over its rows; weighted by rows, the chunks give the epoch's mean.
        lossSum += Number(h.history.loss?.[0]) * m;
      } finally {
        xt.dispose();
        yt.dispose();
      }
    }
    const logs: EpochLogs = { loss: lossSum / rows, seconds: 0, rowsPerSecond: 0 };
    if (validation) Object.assign(logs, validationLogs(tf, model, validation, task, outputs, chunk));
    logs.seconds = (performance.now() - started) / 1000;
    logs.rowsPerSecond = rows / Math.max(logs.seconds, 1e-9);
    history.push({ epoch, ...logs });
    if (options.onEpoch) {
      last = await makeCheckpoint(model, { epoch, task, cols, outputs, params, backend: backend.name, history });
      await options.onEpoch(epoch, logs, last);
    }
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
