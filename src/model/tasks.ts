/** The work a training child process can do, shared by the parent (child.ts) and the child (train-child.ts). */
import type { BackendName } from './backend';
import { selectBackend } from './backend';
import { classificationMetrics, majorityBaseline, meanBaseline, regressionMetrics, type Baseline, type Metrics } from '../metrics';
import { decodeRegression, type FittedLabels } from '../preprocess/labels';
import { loadModel, modelShape, predict, train, type Checkpoint, type EpochLogs, type EpochRecord, type ModelArtifacts, type TrainInput } from './mlp';

export interface ChildTrainInput extends TrainInput {
  backend?: BackendName;
}

export interface ChildTrainResult {
  model: ModelArtifacts;
  history: EpochRecord[];
  backend: BackendName;
  resumedFromEpoch: number | null;
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
  x: Float32Array;
  /** Targets as the model learned them (encodeLabels output). */
  y: Int32Array | Float32Array | number[];
  /** The fitted labels: class names, or the regression scaling (metrics are then in label units). */
  labels: FittedLabels;
  /** Training targets (same encoding) for the baseline; default: y. */
  yTrain?: Int32Array | Float32Array | number[];
  backend?: BackendName;
}

export interface ChildEvaluateResult {
  metrics: Metrics;
  baseline: Baseline;
  backend: BackendName;
  rows: number;
  seconds: number;
}

/** Task name -> input, progress and result types. */
export interface ChildTasks {
  train: { input: ChildTrainInput; progress: EpochProgress; result: ChildTrainResult };
  predict: { input: ChildPredictInput; progress: never; result: ChildPredictResult };
  evaluate: { input: ChildEvaluateInput; progress: never; result: ChildEvaluateResult };
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
      const r = await train({
        ...i,
        tf: backend.tf,
        onEpoch: (epoch, logs, checkpoint) => progress({ epoch, logs, checkpoint }),
      });
      r.model.dispose();
      const result: ChildTrainResult = { model: r.artifacts, history: r.history, backend: backend.name, resumedFromEpoch: r.resumedFromEpoch };
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
      const scored = await score(i.model, i.x, i.backend);
      const { output, backend } = scored;
      const started = performance.now();
      let metrics: Metrics;
      let baseline: Baseline;
      if (i.labels.kind === 'classification') {
        metrics = classificationMetrics(i.y, output, i.labels.classes);
        baseline = majorityBaseline(i.y, i.labels.classes, i.yTrain);
      } else {
        const labels = i.labels;
        const yTrue = decodeRegression(labels, i.y);
        metrics = regressionMetrics(yTrue, decodeRegression(labels, output));
        baseline = meanBaseline(yTrue, i.yTrain ? decodeRegression(labels, i.yTrain) : undefined);
      }
      const result: ChildEvaluateResult = { metrics, baseline, backend, rows: i.y.length, seconds: scored.seconds + (performance.now() - started) / 1000 };
      return result;
    }
    case 'ping': {
      const backend = await selectBackend(input.backend);
      return { backend: backend.name } as ChildTasks[K]['result'];
    }
    default:
      throw new Error(`unknown child task '${String(task)}'`);
  }
}
