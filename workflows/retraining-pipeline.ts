/**
 * RetrainingPipeline: ingest → validate → snapshot → preprocess → train →
 * evaluate → register → promote, for one model. Every step is an activity;
 * this function only decides. A failure after register runs the compensations
 * in reverse (saga), so registry and champion end as they were.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  executeChild,
  log,
  ParentClosePolicy,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { EvaluateOutput, PreprocessOutput, TrainOutput, ValidateOutput } from '../activities/types';
import { batchesRefused, DEFAULT_PARTITION_ROWS, mergeBatchOutcomes, planSnapshot } from '../src/data/fan-out';
import type { RowSetSums } from '../src/data/snapshot';
import { ChampionMovedError, CodeVersionMismatchError, DataValidationError, InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { headlineMetrics } from '../src/metrics/headline';
import { keys } from '../src/store/keys';
import { activityOptions } from './activity-options';
import { reasonOf } from './reason';
import { ReleaseWorkflow } from './release';
import {
  DEFAULT_RETRY_BUDGET_MINUTES,
  pipelineStatusQuery,
  SA_MODEL,
  SA_STAGE,
  SA_TRIGGER,
  SA_VERSION,
  type PipelineStage,
  type PipelineStatus,
  type RetrainInput,
  type RetrainResult,
  type StageRecord,
  workflowIds,
} from './definitions';

/**
 * Patch (2026-11): rejected and failed runs remove their staging and checkpoints.
 * Runs started before it replay without the extra activity.
 */
const DISCARD_RUN_LEFTOVERS = 'discard-run-leftovers';

/**
 * Patch (2026-12): validate runs one activity per batch and the snapshot's
 * id is summed in parts, in parallel on the training queue, so every training
 * worker takes a share of a large delivery. Runs started before it replay
 * with the one validate activity and a snapshot that hashes its own rows.
 */
const FAN_OUT_DATA_STAGES = 'fan-out-data-stages';

/**
 * Patch (2026-12): a spec with a `release` section proves the candidate on
 * live traffic (ReleaseWorkflow, a child) instead of promoting it at once.
 * Runs started before it replay with the direct promotion.
 */
const RELEASE_ON_LIVE_TRAFFIC = 'release-on-live-traffic';

/** Patch (2026-12): a candidate whose release the registry refused to start is unregistered, as a refused promotion is. */
const UNREGISTER_REFUSED_RELEASE = 'unregister-refused-release';

/** When promote refused because the champion moved (compare-and-set), who the champion is now. */
function championMoved(error: unknown): { current: string | null } | undefined {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof ApplicationFailure) || error.cause.type !== ChampionMovedError.name) return undefined;
  const [details] = error.cause.details as [{ current?: string | null }?];
  return { current: details?.current ?? null };
}

/** Why the registry refused to start a release (startRelease's ReleaseRefusedError: no traffic moved), found in a child's failure chain. */
function releaseRefusedAtStart(error: unknown): string | undefined {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e instanceof ActivityFailure && e.activityType === 'startRelease') {
      const cause = e.cause;
      return cause instanceof ApplicationFailure && cause.type === 'ReleaseRefusedError' ? cause.message : undefined;
    }
  }
  return undefined;
}

export async function RetrainingPipeline(input: RetrainInput): Promise<RetrainResult> {
  const { model, trigger } = input;
  // A name that cannot be a key or an id fails the run at once, before any command (replay-safe for valid input).
  try {
    checkName('model', model);
    checkName('trigger', trigger);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  const { light, registration, data, compute } = activityOptions(input.retryBudgetMinutes ?? DEFAULT_RETRY_BUDGET_MINUTES);
  const status: PipelineStatus = { model, trigger, stage: 'ingest', stages: [] };
  setHandler(pipelineStatusQuery, () => status);
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: trigger },
  ]);

  const now = () => new Date().toISOString(); // workflow time: deterministic
  let current: StageRecord | undefined;
  const begin = (stage: PipelineStage | 'compensate', detail: string) => {
    current = { stage, status: 'running', startedAt: now(), detail };
    status.stages.push(current);
    status.stage = stage;
    upsertSearchAttributes([{ key: SA_STAGE, value: stage }]);
    setCurrentDetails(`**${model}** · trigger \`${trigger}\` · stage **${stage}**: ${detail}`);
  };
  const end = (detail: string, outcome: StageRecord['status'] = 'completed') => {
    if (!current) return;
    current.status = outcome;
    current.endedAt = now();
    current.detail = detail;
  };
  const finish = (result: Omit<RetrainResult, 'model' | 'trigger' | 'stages'>): RetrainResult => {
    status.stage = 'done';
    status.outcome = result.outcome;
    upsertSearchAttributes([{ key: SA_STAGE, value: result.outcome }]);
    setCurrentDetails(`**${model}** · ${result.outcome}: ${result.message}`);
    return { model, trigger, stages: status.stages, ...result };
  };

  try {
    begin('ingest', 'looking for new batches');
    const ingest = await data.ingest.executeWithOptions({ summary: `ingest ${model}: list new batches` }, [{ model }]);
    end(`${ingest.batches.length} new batch(es); base snapshot ${ingest.base ? ingest.base.sha256.slice(0, 12) : 'none'}`);
    // CI asked for its commit: a worker on other code would train, and record, other code. (Only runs started with it: replay-safe.)
    if (input.codeVersion && !ingest.codeVersion.startsWith(input.codeVersion)) {
      const mismatch = new CodeVersionMismatchError(input.codeVersion, ingest.codeVersion);
      throw ApplicationFailure.nonRetryable(mismatch.message, mismatch.name);
    }

    // One activity per batch and per part of the snapshot, shared by every training worker (runs started before: one each).
    const fanOut = patched(FAN_OUT_DATA_STAGES);
    begin('validate', `${ingest.batches.length} batch(es)`);
    let validated: ValidateOutput;
    if (fanOut) {
      const outcomes = await Promise.all(
        ingest.batches.map((batch) => data.validateBatch.executeWithOptions({ summary: `validate ${batch.key}` }, [{ model, spec: ingest.spec, batch }])),
      );
      const { accepted, failures, rowsAccepted, rowsRejected } = mergeBatchOutcomes(outcomes);
      if (failures.length > 0) throw batchesRefused(model, failures);
      validated = { accepted, rowsAccepted, rowsRejected };
    } else {
      validated = await data.validate.executeWithOptions({ summary: `validate ${ingest.batches.length} batch(es)` }, [
        { model, spec: ingest.spec, batches: ingest.batches },
      ]);
    }
    end(`${validated.rowsAccepted} rows accepted, ${validated.rowsRejected} quarantined`);

    begin('snapshot', 'merging under the window policy');
    let parts: RowSetSums[] | undefined;
    const plan = fanOut
      ? planSnapshot(
          [
            ...(ingest.base ? [ingest.base] : []).map((base) => ({
              key: base.key,
              fileSha256: base.fileSha256 ?? base.sha256,
              rows: base.rows,
              timeRange: base.timeRange,
            })),
            ...validated.accepted.map((batch) => ({ key: batch.validatedKey, rows: batch.rows, timeRange: batch.timeRange })),
          ],
          ingest.spec.data.window,
          input.partitionRows ?? DEFAULT_PARTITION_ROWS,
        )
      : null;
    if (plan) {
      parts = await Promise.all(
        plan.parts.map((part) =>
          data.snapshotPart.executeWithOptions({ summary: `row-set sums of ${part.key}${part.range ? ` rows ${part.range.from}-${part.range.to - 1}` : ''}` }, [
            { model, spec: ingest.spec, part, ...(plan.sinceDay !== undefined ? { sinceDay: plan.sinceDay } : {}) },
          ]),
        ),
      );
    }
    const snapshot = await data.snapshot.executeWithOptions({ summary: 'content-addressed training snapshot' }, [
      { model, spec: ingest.spec, base: ingest.base, accepted: validated.accepted, ...(parts ? { parts } : {}) },
    ]);
    end(
      `${snapshot.rows} rows, id ${snapshot.sha256.slice(0, 12)}${snapshot.created ? '' : ' (already stored)'}${parts ? `; ${parts.length} part(s) summed on the training workers` : ''}`,
    );

    const champion = ingest.champion;
    const unchanged =
      champion !== null &&
      champion.snapshotSha256 === snapshot.sha256 &&
      champion.codeVersion === ingest.codeVersion &&
      champion.specSha256 === ingest.specSha256;
    if (unchanged && !input.force) {
      log.info('Data, code and spec are those of the champion: nothing to retrain', { model, champion: champion.version });
      return finish({
        outcome: 'unchanged',
        champion: champion.version,
        snapshot: snapshot.sha256,
        message: `champion ${champion.version} was trained on this very snapshot, code and spec; nothing to do (use force to retrain anyway)`,
      });
    }
    if (snapshot.rows === 0) {
      throw ApplicationFailure.nonRetryable(`model '${model}' has no training data: put batches under ${keys.incoming(model)}`, DataValidationError.name);
    }

    begin('preprocess', 'fitting imputation, scaling and encoding on the training rows');
    const preprocess: PreprocessOutput = await data.preprocess.executeWithOptions({ summary: 'fit the preprocessor (time-based holdout)' }, [
      { model, spec: ingest.spec, snapshot },
    ]);
    end(`${preprocess.trainRows} train rows, ${preprocess.holdoutRows} holdout rows from ${preprocess.holdoutFrom}, ${preprocess.inputColumns} inputs`);

    begin('train', `${ingest.spec.model.epochs} epochs`);
    const train: TrainOutput = await compute.train.executeWithOptions(
      { summary: `train ${model} (${ingest.spec.model.epochs} epochs, seed ${ingest.spec.model.seed})` },
      [{ model, spec: ingest.spec, snapshot, preprocess }],
    );
    end(
      `${train.epochs} epochs on ${train.backend}, loss ${train.finalLoss.toFixed(4)}${train.resumedFromEpoch !== null ? `, resumed after epoch ${train.resumedFromEpoch}` : ''}`,
    );

    begin('evaluate', `candidate vs ${champion ? `champion ${champion.version}` : 'no champion'} on the same holdout`);
    const evaluation: EvaluateOutput = await compute.evaluate.executeWithOptions({ summary: `evaluate candidate vs ${champion?.version ?? 'none'}` }, [
      { model, spec: ingest.spec, snapshot, preprocess, train, champion },
    ]);
    const failedChecks = evaluation.gate.checks.filter((c) => !c.passed);
    end(
      `${headlineMetrics(evaluation.candidate)}${evaluation.champion ? ` vs champion ${headlineMetrics(evaluation.champion)}` : ''}; ` +
        (evaluation.gate.passed ? 'gate passed' : `gate rejected: ${failedChecks.map((c) => c.detail).join('; ')}`),
    );
    const metrics = { candidate: evaluation.candidate, champion: evaluation.champion, baseline: evaluation.baseline ?? undefined };
    if (!evaluation.gate.passed) {
      if (patched(DISCARD_RUN_LEFTOVERS)) await light.discardRun({ model });
      return finish({
        outcome: 'rejected',
        champion: champion?.version ?? null,
        snapshot: snapshot.sha256,
        gate: evaluation.gate,
        metrics,
        message: `the candidate did not pass the gate (${failedChecks.map((c) => c.detail).join('; ')}); champion ${champion?.version ?? '(none)'} stays`,
      });
    }

    // From here on every step that changed something has its undo on this stack.
    const compensations: { name: string; run: () => Promise<unknown> }[] = [];
    try {
      begin('register', 'immutable version with artifacts, checksums and lineage');
      const lineage = await registration.register.executeWithOptions({ summary: `register a new version of ${model}` }, [
        {
          model,
          spec: ingest.spec,
          specSha256: ingest.specSha256,
          specKey: ingest.specKey,
          codeVersion: ingest.codeVersion,
          trigger,
          ...(input.reason ? { triggerReason: input.reason } : {}),
          parent: champion?.version ?? null,
          snapshot,
          preprocess,
          train,
          evaluation,
        },
      ]);
      compensations.push({ name: `unregister ${lineage.version}`, run: () => light.unregister(model, lineage.version) });
      upsertSearchAttributes([{ key: SA_VERSION, value: lineage.version }]);
      end(`${model}/${lineage.version}`);

      const release = ingest.spec.release;
      if (release && champion && patched(RELEASE_ON_LIVE_TRAFFIC)) {
        // Once it takes live traffic the version is evidence (its predictions are logged): it stays registered
        // whatever happens, and the release puts the traffic back on the champion by itself.
        compensations.length = 0;
        const workflowId = workflowIds.release(model, lineage.version);
        begin('release', `${release.strategy} release of ${lineage.version} against champion ${champion.version} (${workflowId})`);
        let released;
        try {
          released = await executeChild(ReleaseWorkflow, {
            workflowId,
            args: [{ model, candidate: lineage.version, champion: champion.version, task: ingest.spec.task, release, trigger }],
            // A pipeline terminated by hand still lets its release put the traffic back.
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
            staticSummary: `Release **${model}/${lineage.version}** (${release.strategy}) against ${champion.version}`,
          });
        } catch (error) {
          // The champion moved, or another release is in flight: the candidate never took traffic. A decision, not a failure.
          const refusal = releaseRefusedAtStart(error);
          if (!refusal) throw error;
          end(refusal, 'failed');
          // It never took traffic: like a candidate whose promotion was refused, it goes (the direct path's
          // compensation). Runs that ended here before this patch kept it registered.
          if (patched(UNREGISTER_REFUSED_RELEASE)) await light.unregister(model, lineage.version);
          return finish({
            outcome: 'rejected',
            version: lineage.version,
            champion: champion.version,
            snapshot: snapshot.sha256,
            gate: evaluation.gate,
            metrics,
            message: `${model}/${lineage.version} was not released (and is unregistered): ${refusal}`,
          });
        }
        end(`${released.outcome}: ${released.reason}`, released.outcome === 'promoted' ? 'completed' : 'failed');
        return finish({
          outcome: released.outcome === 'promoted' ? 'promoted' : 'rejected',
          version: lineage.version,
          champion: released.champion,
          snapshot: snapshot.sha256,
          gate: evaluation.gate,
          metrics,
          message:
            released.outcome === 'promoted'
              ? `${model}/${lineage.version} promoted to champion after its ${release.strategy} release (previous: ${champion.version}): ${released.reason}`
              : `${model}/${lineage.version} rolled back after its ${release.strategy} release; champion ${champion.version} stays: ${released.reason}`,
        });
      }

      begin('promote', `${lineage.version} becomes champion`);
      compensations.push({ name: `revert promotion of ${lineage.version}`, run: () => light.revertPromotion(model, lineage.version) });
      const aliases = await light.promote.executeWithOptions({ summary: `promote ${lineage.version} to champion` }, [
        { model, version: lineage.version, reason: `${trigger}: gate passed`, expectedChampion: champion?.version ?? null },
      ]);
      end(`champion ${aliases.champion}, previous ${aliases.previous ?? '(none)'}`);

      return finish({
        outcome: 'promoted',
        version: lineage.version,
        champion: aliases.champion,
        snapshot: snapshot.sha256,
        gate: evaluation.gate,
        metrics,
        message: `${model}/${lineage.version} promoted to champion${aliases.previous ? ` (previous: ${aliases.previous})` : ''}`,
      });
    } catch (error) {
      end(reasonOf(error), 'failed');
      // Compensations must run even if the workflow is being cancelled.
      await CancellationScope.nonCancellable(async () => {
        for (const compensation of compensations.reverse()) {
          begin('compensate', compensation.name);
          try {
            await compensation.run();
            end(`${compensation.name}: done`);
          } catch (undoError) {
            end(`${compensation.name}: failed: ${reasonOf(undoError)}`, 'failed');
            log.error('Compensation failed', { model, compensation: compensation.name, error: reasonOf(undoError) });
          }
        }
      });
      // The champion moved while this run was in flight: a decision, not a failure. The candidate
      // was never compared with the new champion, so it is not promoted (and was unregistered above).
      const moved = championMoved(error);
      if (moved) {
        return finish({
          outcome: 'rejected',
          champion: moved.current,
          snapshot: snapshot.sha256,
          gate: evaluation.gate,
          metrics,
          message: reasonOf(error),
        });
      }
      throw error;
    }
  } catch (error) {
    // Any failure: the stage that failed says so, and the UI's PerennialStage reads 'failed'.
    if (current?.status === 'running') end(reasonOf(error), 'failed');
    if (patched(DISCARD_RUN_LEFTOVERS)) {
      // Best effort, even while cancelled: a cleanup that fails must not hide why the run failed.
      await CancellationScope.nonCancellable(() => light.discardRun({ model })).catch((cleanupError: unknown) =>
        log.warn('Could not remove the staging and checkpoints of the failed run', { model, error: reasonOf(cleanupError) }),
      );
    }
    status.outcome = 'failed';
    upsertSearchAttributes([{ key: SA_STAGE, value: 'failed' }]);
    setCurrentDetails(`**${model}** · failed in ${current?.stage ?? 'start'}: ${reasonOf(error)}`);
    throw error;
  }
}
