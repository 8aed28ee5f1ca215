/**
 * Preprocess, train and evaluate. Training and scoring run in a child process
 * (src/model's runners) so this worker's event loop keeps heartbeating and
 * answering workflow tasks; each epoch's checkpoint goes to S3 and into the
 * heartbeat, so a retried attempt resumes from the last finished epoch.
 */
import { Context, log } from '@temporalio/activity';
import { splitByTime, type ColumnTable } from '../src/data';
import { DataValidationError } from '../src/errors';
import { applyGate, type Metrics } from '../src/metrics';
import {
  checkpointFromBytes,
  checkpointToBytes,
  columnarData,
  columnsOf,
  runEvaluateInChild,
  runFitInChild,
  runTrainingInChild,
  type Checkpoint,
  type ModelArtifacts,
} from '../src/model';
import { labeledRowIndexes, type PreprocessorArtifact } from '../src/preprocess';
import { loadBundle, readModelArtifacts, readPreprocessor, stageModel, stagePreprocessor } from '../src/registry';
import type { ModelSpec } from '../src/spec';
import { deletePrefix, keys, putJson, type ObjectStore } from '../src/store';
import { readSnapshot } from './datasets';
import type { ActivityDeps } from './deps';
import { currentRun } from './run';
import type { EvaluateInput, EvaluateOutput, PreprocessInput, PreprocessOutput, SnapshotRef, TrainInput, TrainOutput } from './types';

interface TrainHeartbeat {
  epoch: number;
  checkpointKey: string;
}

/** The snapshot and its labeled rows split by time: indexes into the table, never copies of its rows. */
async function splitSnapshot(store: ObjectStore, spec: ModelSpec, snapshot: SnapshotRef) {
  const table = await readSnapshot(store, spec, snapshot);
  const labeled = labeledRowIndexes(table, spec.label);
  return { table, ...splitByTime(table, labeled, spec.evaluation.holdoutFraction, spec.data.timeColumn) };
}

export function createTrainingActivities({ store, registry, backend }: ActivityDeps) {
  const runId = () => currentRun().runId;

  /**
   * Metrics of a model on the holdout rows and the trivial baseline fitted on
   * the training rows, in label units, computed in a child process that
   * encodes the columns a chunk of rows at a time.
   */
  async function score(
    artifact: PreprocessorArtifact,
    model: ModelArtifacts,
    table: ColumnTable,
    holdout: Int32Array,
    trainRows: Int32Array,
    calibrate = false,
  ) {
    const { metrics, baseline, calibration, calibrationError } = await runEvaluateInChild(
      { model, data: columnarData(table, artifact), artifact, rows: holdout, trainRows, backend, calibrate },
      { signal: Context.current().cancellationSignal },
    );
    return { metrics, baseline, calibration, calibrationError };
  }

  return {
    /** Fits imputation, scaling, encoding and the labels on the training rows only (the holdout stays unseen). */
    async preprocess({ model, spec, snapshot }: PreprocessInput): Promise<PreprocessOutput> {
      const { table, train, holdout, from } = await splitSnapshot(store, spec, snapshot);
      const labelField = spec.schema.fields.find((f) => f.name === spec.label);
      const classes = labelField?.type === 'category' ? labelField.values : undefined;
      // Fitted in a child process: on millions of rows it is seconds of CPU this worker's event loop needs for heartbeats.
      const { artifact } = await runFitInChild(
        {
          data: columnsOf(table, [...spec.features.map((f) => f.name), spec.label]),
          features: spec.features,
          label: spec.label,
          task: spec.task,
          classes,
          standardize: spec.task === 'regression',
          rows: train,
        },
        { signal: Context.current().cancellationSignal },
      );
      const key = await stagePreprocessor(store, model, runId(), artifact);
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
      const artifact = await readPreprocessor(store, preprocess.preprocessorKey);
      const { table, train } = await splitSnapshot(store, spec, snapshot);

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
        { data: columnarData(table, artifact), artifact, trainRows: train, params: spec.model, resumeFrom, backend },
        {
          signal: context.cancellationSignal,
          onEpoch: async (epoch, logs, checkpoint) => {
            const checkpointKey = keys.checkpoint(model, runId(), epoch);
            await store.put(checkpointKey, Buffer.from(checkpointToBytes(checkpoint)));
            details = { epoch, checkpointKey, loss: logs.loss } satisfies TrainHeartbeat & { loss: number };
            context.heartbeat(details);
            if (previousKey && previousKey !== checkpointKey) await store.delete(previousKey);
            previousKey = checkpointKey;
          },
        },
      ).finally(() => clearInterval(beat));
      const staged = await stageModel(store, model, runId(), result.model);
      // The staged model supersedes the checkpoints.
      await deletePrefix(store, keys.checkpoints(model, runId()));
      const history = result.history;
      return {
        ...staged,
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
      const artifact = await readPreprocessor(store, preprocess.preprocessorKey);
      const candidateModel = await readModelArtifacts(store, train.modelJsonKey, train.weightsKey);
      const scoreChampion = async (): Promise<Metrics | null> => {
        if (!champion) return null;
        // Checksums are verified and every file parsed before the champion is loaded.
        const bundle = await loadBundle(registry, model, champion.version);
        try {
          return (await score(bundle.preprocessor, bundle.model, split.table, split.holdout, split.train)).metrics;
        } catch (error) {
          throw new DataValidationError(
            `champion ${model}/${champion.version} cannot score the holdout rows (${(error as Error).message}): its classes or features no longer match the data; fix the data or the spec`,
          );
        }
      };
      // Both models score at once, each in its own child (two cores); this event loop is free to heartbeat.
      const context = Context.current();
      const beat = setInterval(() => context.heartbeat('scoring'), 2000);
      let candidate: Awaited<ReturnType<typeof score>>;
      let championMetrics: Metrics | null;
      try {
        // The candidate's holdout also fits CBPE's calibration, stored with its version (metrics.json) for estimates before labels.
        [candidate, championMetrics] = await Promise.all([score(artifact, candidateModel, split.table, split.holdout, split.train, true), scoreChampion()]);
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
        ...(candidate.calibration ? { estimated: candidate.calibration.reference } : {}),
      };
      if (candidate.calibrationError)
        log.warn('No CBPE calibration for the candidate: no performance estimates before labels', { error: candidate.calibrationError });
      const reportKey = keys.evaluation(model, runId());
      await putJson(store, reportKey, report);
      return {
        reportKey,
        candidate: candidate.metrics,
        champion: championMetrics,
        baseline: baselineValue,
        gate,
        ...(candidate.calibration ? { calibration: candidate.calibration } : {}),
      };
    },
  };
}
