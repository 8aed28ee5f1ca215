/**
 * Preprocess, train and evaluate. Training and scoring run in a child process
 * (src/model's runners) so this worker's event loop keeps heartbeating and
 * answering workflow tasks; each epoch's checkpoint goes to S3 and into the
 * heartbeat, so a retried attempt resumes from the last finished epoch.
 */
import { ApplicationFailure, Context, log } from '@temporalio/activity';
import { timeHoldout, type TypedRow } from '../src/data';
import { applyGate, type Metrics } from '../src/metrics';
import { checkpointFromBytes, checkpointToBytes, runEvaluateInChild, runTrainingInChild, type BackendName, type Checkpoint, type ModelArtifacts } from '../src/model';
import { encodeLabels, fitLabels, fitPreprocessor, labeledRows, transform, type FittedLabels, type FittedPreprocessor } from '../src/preprocess';
import type { ModelSpec } from '../src/spec';
import { keys, putJson, getJson, type ObjectStore } from '../src/store';
import { readSnapshotRows } from './datasets';
import type { ActivityDeps } from './deps';
import { currentRun } from './run';
import type { EvaluateInput, EvaluateOutput, PreprocessInput, PreprocessOutput, SnapshotRef, TrainInput, TrainOutput } from './types';

/** Where a run keeps its candidate until register copies it into an immutable version. */
export const stagingKey = (model: string, runId: string) => `models/${model}/staging/${runId}/`;

/** preprocessor.json: the fitted feature pipeline and label encoding, applied identically when serving. */
export interface PreprocessorArtifact {
  preprocessor: FittedPreprocessor;
  labels: FittedLabels;
}

interface TrainHeartbeat {
  epoch: number;
  checkpointKey: string;
}

async function splitSnapshot(store: ObjectStore, spec: ModelSpec, snapshot: SnapshotRef) {
  const rows = labeledRows(await readSnapshotRows(store, spec, snapshot), spec.label);
  return timeHoldout(rows, spec.evaluation.holdoutFraction, spec.data.timeColumn);
}

/** Features and labels of rows, as a model sees them (missing or unseen values imputed, never a crash). */
export function encodeRows(artifact: PreprocessorArtifact, rows: TypedRow[]) {
  const { x, cols } = transform(artifact.preprocessor, rows, { invalidValues: 'impute', absentColumns: 'impute' });
  return { x, rows: rows.length, cols, y: encodeLabels(artifact.labels, rows) };
}

function modelArtifactsFrom(modelJson: Buffer, weights: Buffer): ModelArtifacts {
  return { modelJson: modelJson.toString('utf8'), weights: new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength) };
}

export function createTrainingActivities({ store, registry, backend }: ActivityDeps) {
  const runId = () => currentRun().runId;

  /** Metrics and the trivial baseline of a model on rows, computed in a child process (in label units). */
  async function score(artifact: PreprocessorArtifact, model: ModelArtifacts, rows: TypedRow[], yTrain: Int32Array | Float32Array) {
    const data = encodeRows(artifact, rows);
    const { metrics, baseline } = await runEvaluateInChild(
      { model, x: data.x, y: data.y, labels: artifact.labels, yTrain, backend: backend as BackendName | undefined },
      { signal: Context.current().cancellationSignal },
    );
    return { metrics, baseline };
  }

  return {
    /** Fits imputation, scaling, encoding and the labels on the training rows only (the holdout stays unseen). */
    async preprocess({ model, spec, snapshot }: PreprocessInput): Promise<PreprocessOutput> {
      const { train, holdout, from } = await splitSnapshot(store, spec, snapshot);
      const labelField = spec.schema.fields.find((f) => f.name === spec.label);
      const classes = labelField?.type === 'category' ? labelField.values : undefined;
      const artifact: PreprocessorArtifact = {
        preprocessor: fitPreprocessor(train, spec.features),
        labels: fitLabels(train, spec.label, spec.task, classes, { standardize: spec.task === 'regression' }),
      };
      const key = stagingKey(model, runId()) + 'preprocessor.json';
      await putJson(store, key, artifact);
      return {
        preprocessorKey: key,
        trainRows: train.length,
        holdoutRows: holdout.length,
        holdoutFrom: from,
        inputColumns: artifact.preprocessor.columns.length,
        classes: artifact.labels.kind === 'classification' ? artifact.labels.classes : undefined,
      };
    },

    /** Trains the candidate in a child process, resuming from the last checkpoint of an earlier attempt. */
    async train({ model, spec, snapshot, preprocess }: TrainInput): Promise<TrainOutput> {
      const context = Context.current();
      const staged = stagingKey(model, runId());
      const artifact = await getJson<PreprocessorArtifact>(store, preprocess.preprocessorKey);
      const { train } = await splitSnapshot(store, spec, snapshot);
      const data = encodeRows(artifact, train);

      // Resume from the newest checkpoint this run wrote. The heartbeat the server
      // holds may lag a few epochs behind (heartbeats are throttled), so the
      // store, not the heartbeat, says which epoch finished last.
      let resumeFrom: Checkpoint | undefined;
      const last = context.info.heartbeatDetails as TrainHeartbeat | undefined;
      const saved = (await store.list(keys.checkpoints(model, runId()))).map((o) => o.key).sort();
      const newest = saved.at(-1);
      if (newest) {
        resumeFrom = checkpointFromBytes(await store.get(newest));
        log.info('Resuming training from checkpoint', { epoch: resumeFrom.epoch, key: newest, heartbeatEpoch: last?.epoch, attempt: context.info.attempt });
      }
      // Heartbeat on a timer too: an epoch may take longer than the heartbeat timeout.
      let details: unknown = last ?? { epoch: resumeFrom?.epoch ?? 0, checkpointKey: newest ?? '' };
      context.heartbeat(details);
      const beat = setInterval(() => context.heartbeat(details), 2000);

      const started = Date.now();
      let previousKey: string | undefined = newest;
      const result = await runTrainingInChild(
        {
          ...data,
          task: spec.task,
          numClasses: artifact.labels.kind === 'classification' ? artifact.labels.classes.length : undefined,
          params: spec.model,
          resumeFrom,
          backend: backend as BackendName | undefined,
        },
        {
          signal: context.cancellationSignal,
          onEpoch: async (epoch, logs, checkpoint) => {
            const checkpointKey = `${keys.checkpoints(model, runId())}epoch-${String(epoch).padStart(4, '0')}.bin`;
            await store.put(checkpointKey, Buffer.from(checkpointToBytes(checkpoint)));
            details = { epoch, checkpointKey, loss: logs.loss } satisfies TrainHeartbeat & { loss: number };
            context.heartbeat(details);
            if (previousKey && previousKey !== checkpointKey) await store.delete(previousKey);
            previousKey = checkpointKey;
          },
        },
      ).finally(() => clearInterval(beat));
      await store.put(staged + 'model.json', result.model.modelJson, { contentType: 'application/json' });
      // The staged model supersedes the checkpoints.
      await store.put(staged + 'weights.bin', Buffer.from(result.model.weights));
      for (const o of await store.list(keys.checkpoints(model, runId()))) await store.delete(o.key);
      const history = result.history;
      return {
        modelJsonKey: staged + 'model.json',
        weightsKey: staged + 'weights.bin',
        backend: result.backend,
        epochs: history.length > 0 ? history[history.length - 1]!.epoch : 0,
        resumedFromEpoch: result.resumedFromEpoch,
        finalLoss: history.length > 0 ? history[history.length - 1]!.loss : NaN,
        trainSeconds: (Date.now() - started) / 1000,
      };
    },

    /** Candidate and champion on the same holdout rows, then the gate. */
    async evaluate({ model, spec, snapshot, preprocess, train, champion }: EvaluateInput): Promise<EvaluateOutput> {
      const split = await splitSnapshot(store, spec, snapshot);
      const artifact = await getJson<PreprocessorArtifact>(store, preprocess.preprocessorKey);
      const yTrain = encodeLabels(artifact.labels, split.train);
      const candidateModel = modelArtifactsFrom(await store.get(train.modelJsonKey), await store.get(train.weightsKey));
      const scoreChampion = async (): Promise<Metrics | null> => {
        if (!champion) return null;
        // Checksums are verified before the champion is loaded.
        const { artifacts } = await registry.loadArtifacts(model, champion.version);
        const championArtifact = JSON.parse(artifacts.get('preprocessor.json')!.toString('utf8')) as PreprocessorArtifact;
        const championModel = modelArtifactsFrom(artifacts.get('model.json')!, artifacts.get('weights.bin')!);
        try {
          return (await score(championArtifact, championModel, split.holdout, encodeLabels(championArtifact.labels, split.train))).metrics;
        } catch (error) {
          throw ApplicationFailure.nonRetryable(
            `champion ${model}/${champion.version} cannot score the holdout rows (${(error as Error).message}): its classes or features no longer match the data; fix the data or the spec`,
            'DataValidationError',
          );
        }
      };
      // Both models score at once, each in its own child (two cores); this event loop is free to heartbeat.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat('scoring'), 2000);
      let candidate: Awaited<ReturnType<typeof score>>;
      let championMetrics: Metrics | null;
      try {
        [candidate, championMetrics] = await Promise.all([score(artifact, candidateModel, split.holdout, yTrain), scoreChampion()]);
      } finally {
        clearInterval(beat);
      }
      const gate = applyGate(candidate.metrics, championMetrics, spec.evaluation.gate, candidate.baseline);
      const baselineValue = candidate.baseline.task === 'classification' ? candidate.baseline.accuracy : candidate.baseline.rmse;
      const report = {
        model,
        runId: runId(),
        snapshot: snapshot.sha256,
        holdout: { rows: preprocess.holdoutRows, from: preprocess.holdoutFrom },
        candidate: candidate.metrics,
        champion: champion ? { version: champion.version, metrics: championMetrics } : null,
        baseline: candidate.baseline,
        gate,
      };
      const reportKey = `${keys.evaluations(model)}${runId()}.json`;
      await putJson(store, reportKey, report);
      return {
        reportKey,
        candidate: candidate.metrics as unknown as Record<string, unknown>,
        champion: championMetrics as unknown as Record<string, unknown> | null,
        baseline: baselineValue,
        gate,
      };
    },
  };
}
