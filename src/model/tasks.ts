/** The work a training child process can do, shared by the parent (child.ts) and the child (train-child.ts). */
import type { BackendName } from './backend';
import { selectBackend } from './backend';
import { classificationMetrics, majorityBaseline, meanBaseline, regressionMetrics, type Baseline, type Metrics } from '../metrics';
import {
  decodeRegression,
  encodeTableLabels,
  fitTableLabels,
  fitTablePreprocessor,
  tableEncoder,
  type FeatureSpecInput,
  type PreprocessorArtifact,
} from '../preprocess';
import type { Task } from '../metrics';
import { fitCalibration, type CbpeCalibration } from '../monitor/cbpe';
import { columnarSource, tableOfData, type ColumnarData } from './columnar';
import { DEFAULT_CHUNK_ROWS, loadModel, modelShape, predict, train, type Checkpoint, type EpochLogs, type EpochRecord, type ModelArtifacts } from './mlp';
import type { ModelParamsInput } from './params';

export interface ChildTrainInput {
  /** The feature and label columns: `columnarData(table, artifact)`. */
  data: ColumnarData;
  /** The fitted preprocessor and labels; the task and the classes come from `artifact.labels`. */
  artifact: PreprocessorArtifact;
  /** Table rows to train on, every one labeled (`labeledRowIndexes`); default every row. */
  trainRows?: Int32Array;
  /** Table rows scored after each epoch (valLoss, valAccuracy), never trained on. */
  validationRows?: Int32Array;
  params?: ModelParamsInput;
  resumeFrom?: Checkpoint;
  backend?: BackendName;
  /** Rows encoded and fitted at a time (default 32768, rounded down to a multiple of batchSize): bounds the child's memory. */
  chunkRows?: number;
}

export interface ChildFitInput {
  /** The feature and label columns: `columnsOf(table, [...feature names, label])`. */
  data: ColumnarData;
  features: FeatureSpecInput;
  label: string;
  task: Task;
  /** Classification: the class list and its order (the schema's allowed values). */
  classes?: string[];
  /** Regression: standardize the label. */
  standardize?: boolean;
  /** Table rows to fit on (the training rows); default every row. */
  rows?: Int32Array;
}

export interface ChildFitResult {
  artifact: PreprocessorArtifact;
  seconds: number;
}

export interface ChildTrainResult {
  model: ModelArtifacts;
  history: EpochRecord[];
  backend: BackendName;
  resumedFromEpoch: number | null;
  /** The child's peak resident memory (process.resourceUsage().maxRSS), bytes. */
  peakRssBytes: number;
}

export interface EpochProgress {
  epoch: number;
  logs: EpochLogs;
  checkpoint: Checkpoint;
}

export interface ChildPredictInput {
  model: ModelArtifacts;
  /** Row-major features (rows x the model's input columns). */
  x: Float32Array;
  backend?: BackendName;
  chunkRows?: number;
}

export interface ChildPredictResult {
  /** Probabilities (rows x classes) or values (one per row). */
  output: Float32Array;
  rows: number;
  outputs: number;
  backend: BackendName;
  seconds: number;
}

export interface ChildEvaluateInput {
  model: ModelArtifacts;
  /** The feature and label columns: `columnarData(table, artifact)`. */
  data: ColumnarData;
  /** The model's preprocessor and labels: class names, or the regression scaling (metrics are then in label units). */
  artifact: PreprocessorArtifact;
  /** Table rows scored (the holdout), every one labeled; default every row. */
  rows?: Int32Array;
  /** Table rows the model was trained on: the baseline predicts from their labels; default `rows`. */
  trainRows?: Int32Array;
  backend?: BackendName;
  /** Rows encoded and scored at a time (default 32768). */
  chunkRows?: number;
  /** Classification: also fit CBPE's calibration on these rows' probabilities and labels. */
  calibrate?: boolean;
}

export interface ChildEvaluateResult {
  metrics: Metrics;
  baseline: Baseline;
  /** With `calibrate`: the calibration, or why it could not be fitted. */
  calibration?: CbpeCalibration;
  calibrationError?: string;
  backend: BackendName;
  rows: number;
  seconds: number;
  /** The child's peak resident memory (process.resourceUsage().maxRSS), bytes. */
  peakRssBytes: number;
}

/** Task name -> input, progress and result types. */
export interface ChildTasks {
  train: { input: ChildTrainInput; progress: EpochProgress; result: ChildTrainResult };
  predict: { input: ChildPredictInput; progress: never; result: ChildPredictResult };
  evaluate: { input: ChildEvaluateInput; progress: never; result: ChildEvaluateResult };
  /** Fits the preprocessor and the labels on rows of the columns. */
  fit: { input: ChildFitInput; progress: never; result: ChildFitResult };
  /** Loads the backend and answers: measures child start-up. */
  ping: { input: { backend?: BackendName }; progress: never; result: { backend: BackendName } };
}
export type ChildTaskName = keyof ChildTasks;

/** Loads a serialized model on the chosen backend, scores x, and frees the model. */
async function score(
  artifacts: ModelArtifacts,
  x: Float32Array,
  backendName: BackendName | undefined,
  chunkRows?: number,
): Promise<{ output: Float32Array; outputs: number; backend: BackendName; seconds: number }> {
  const backend = await selectBackend(backendName);
  const started = performance.now();
  const model = await loadModel(backend.tf, artifacts);
  try {
    const output = await predict(model, x, { tf: backend.tf, chunkRows });
    return { output, outputs: modelShape(model).outputs, backend: backend.name, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.dispose();
  }
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * Scores rows of a column table a chunk at a time (features imputed as at
 * serving), and encodes their labels and the training rows' (for the baseline).
 */
async function scoreTable(
  i: ChildEvaluateInput,
): Promise<{ output: Float32Array; y: Int32Array | Float32Array; yTrain?: Int32Array | Float32Array; backend: BackendName; seconds: number }> {
  const table = tableOfData(i.data);
  const y = encodeTableLabels(i.artifact.labels, table, i.rows);
  const yTrain = i.trainRows ? encodeTableLabels(i.artifact.labels, table, i.trainRows) : undefined;
  const encode = tableEncoder(i.artifact.preprocessor, table, { invalidValues: 'impute', absentColumns: 'impute' });
  const backend = await selectBackend(i.backend);
  const started = performance.now();
  const model = await loadModel(backend.tf, i.model);
  try {
    const { outputs } = modelShape(model);
    const n = y.length;
    const cols = i.artifact.preprocessor.columns.length;
    const chunk = Math.max(1, Math.min(n, i.chunkRows ?? DEFAULT_CHUNK_ROWS));
    const x = new Float32Array(chunk * cols);
    const all = i.rows ?? new Int32Array(0);
    const part = new Int32Array(i.rows ? 0 : chunk);
    const output = new Float32Array(n * outputs);
    for (let start = 0; start < n; start += chunk) {
      const m = Math.min(chunk, n - start);
      let rows: Int32Array;
      if (i.rows) rows = all.subarray(start, start + m);
      else {
        rows = part.subarray(0, m);
        for (let k = 0; k < m; k++) rows[k] = start + k;
      }
      encode(rows, x);
      output.set(await predict(model, x.subarray(0, m * cols), { tf: backend.tf }), start * outputs);
    }
    return { output, y, yTrain, backend: backend.name, seconds: (performance.now() - started) / 1000 };
  } finally {
    model.dispose();
  }
}

/** Runs a task in the current process (the child calls this; tests may too). */
export async function runTask<K extends ChildTaskName>(
  task: K,
  input: ChildTasks[K]['input'],
  progress: (p: ChildTasks[K]['progress']) => Promise<void> | void,
): Promise<ChildTasks[K]['result']> {
  switch (task) {
    case 'train': {
      const i = input as ChildTrainInput;
      const backend = await selectBackend(i.backend);
      const table = tableOfData(i.data);
      const labels = i.artifact.labels;
      // Fitted on these rows: a missing column or a bad value is a bug to report, not to impute.
      const strict = { absentColumns: 'error', invalidValues: 'error' } as const;
      const r = await train({
        source: columnarSource(table, i.artifact, i.trainRows, strict),
        validation: i.validationRows ? columnarSource(table, i.artifact, i.validationRows, strict) : undefined,
        task: labels.kind,
        numClasses: labels.kind === 'classification' ? labels.classes.length : undefined,
        params: i.params,
        resumeFrom: i.resumeFrom,
        chunkRows: i.chunkRows,
        tf: backend.tf,
        onEpoch: (epoch, logs, checkpoint) => progress({ epoch, logs, checkpoint }),
      });
      r.model.dispose();
      const result: ChildTrainResult = {
        model: r.artifacts,
        history: r.history,
        backend: backend.name,
        resumedFromEpoch: r.resumedFromEpoch,
        peakRssBytes: peakRss(),
      };
      return result;
    }
    case 'predict': {
      const i = input as ChildPredictInput;
      const { output, outputs, backend, seconds } = await score(i.model, i.x, i.backend, i.chunkRows);
      const result: ChildPredictResult = { output, rows: output.length / outputs, outputs, backend, seconds };
      return result;
    }
    case 'evaluate': {
      const i = input as ChildEvaluateInput;
      const scored = await scoreTable(i);
      const { output, y, yTrain, backend } = scored;
      const labels = i.artifact.labels;
      const started = performance.now();
      let metrics: Metrics;
      let baseline: Baseline;
      let calibrated: Pick<ChildEvaluateResult, 'calibration' | 'calibrationError'> = {};
      if (labels.kind === 'classification') {
        metrics = classificationMetrics(y, output, labels.classes);
        baseline = majorityBaseline(y, labels.classes, yTrain);
        if (i.calibrate) {
          // A calibration that cannot be fitted costs the estimate, not the evaluation.
          try {
            calibrated = { calibration: fitCalibration(output, y, labels.classes, 'the holdout') };
          } catch (error) {
            calibrated = { calibrationError: (error as Error).message };
          }
        }
      } else {
        const yTrue = decodeRegression(labels, y);
        metrics = regressionMetrics(yTrue, decodeRegression(labels, output));
        baseline = meanBaseline(yTrue, yTrain ? decodeRegression(labels, yTrain) : undefined);
      }
      const result: ChildEvaluateResult = {
        metrics,
        baseline,
        ...calibrated,
        backend,
        rows: y.length,
        seconds: scored.seconds + (performance.now() - started) / 1000,
        peakRssBytes: peakRss(),
      };
      return result;
    }
    case 'fit': {
      const i = input as ChildFitInput;
      const started = performance.now();
      const table = tableOfData(i.data);
      const artifact: PreprocessorArtifact = {
        preprocessor: fitTablePreprocessor(table, i.features, i.rows),
        labels: fitTableLabels(table, i.label, i.task, i.classes, { standardize: i.standardize, rows: i.rows }),
      };
      const result: ChildFitResult = { artifact, seconds: (performance.now() - started) / 1000 };
      return result;
    }
    case 'ping': {
      const backend = await selectBackend((input as { backend?: BackendName }).backend);
      return { backend: backend.name } as ChildTasks[K]['result'];
    }
    default:
      throw new Error(`unknown child task '${String(task)}'`);
  }
}
