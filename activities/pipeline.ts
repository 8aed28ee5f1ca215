/**
 * The activities of RetrainingPipeline, built from their dependencies.
 * Each is idempotent: a retry or a duplicate delivery never registers two
 * versions, promotes twice, or loses a row.
 */
import { ApplicationFailure, log } from '@temporalio/activity';
import { ChampionMovedError, RollbackRefusedError } from '../src/errors';
import { checkName } from '../src/names';
import { clearStaging, collectBundle } from '../src/registry';
import { loadPublishedSpec } from '../src/spec';
import { deletePrefix, getJsonIfExists, keys } from '../src/store';
import { createDatasetActivities, listNewBatches, refOf, type SnapshotManifest } from './datasets';
import { withHeartbeat } from './heartbeat';
import { pullSources } from './sources';
import { createTrainingActivities } from './training';
import { createReproduceActivities } from './reproduce';
import { createReleaseActivities } from './release';
import { createMonitorActivities } from './monitor';
import { createScheduledRetrainActivities } from './scheduled-retrain';
import { createRetrainRunActivities } from './retrain-runs';
import type { ActivityDeps } from './deps';
import { currentRun } from './run';
import type {
  ChampionRef,
  EvaluateInput,
  IngestInput,
  IngestOutput,
  PreprocessInput,
  PromoteInput,
  PromoteOutput,
  RegisterInput,
  RegisterOutput,
  RollbackInput,
  SnapshotInput,
  TrainInput,
  ValidateBatchInput,
  ValidateInput,
  SnapshotPartInput,
} from './types';

/** The same activity, heartbeating on a timer while it runs. */
function heartbeating<I, O>(activity: (input: I) => Promise<O>): (input: I) => Promise<O> {
  return (input) => withHeartbeat(() => activity(input));
}

export function createPipelineActivities(deps: ActivityDeps) {
  const { store, registry, clock, code } = deps;
  const datasets = createDatasetActivities(deps);
  const training = createTrainingActivities(deps);

  return {
    validate: heartbeating((input: ValidateInput) => datasets.validate(input)),
    validateBatch: heartbeating((input: ValidateBatchInput) => datasets.validateBatch(input)),
    snapshotPart: heartbeating((input: SnapshotPartInput) => datasets.snapshotPart(input)),
    snapshot: heartbeating((input: SnapshotInput) => datasets.snapshot(input)),
    preprocess: heartbeating((input: PreprocessInput) => training.preprocess(input)),
    // train and evaluate heartbeat themselves, with the epoch and checkpoint a retry resumes from.
    train: (input: TrainInput) => training.train(input),
    evaluate: (input: EvaluateInput) => training.evaluate(input),
    // ReproduceVersion: what a version was trained from, and the retrained model compared with it.
    ...createReproduceActivities(deps),
    // ReleaseWorkflow: the release's moves in the registry, the analysis of each look, the release record.
    ...createReleaseActivities(deps),
    // ModelMonitor: the champion in force and its holdout figures.
    ...createMonitorActivities(deps),
    // ScheduledRetrain: ask the monitor for a run, wait for the run that answers.
    ...createScheduledRetrainActivities(),
    // ModelMonitor: follow its run in flight to its end, across its own continue-as-new.
    ...createRetrainRunActivities(),

    /** Reads the model's spec, its champion, and the batches not yet trained on. */
    ingest: heartbeating(async ({ model }: IngestInput): Promise<IngestOutput> => {
      checkName('model', model);
      // A missing or invalid spec is a SpecError or SpecNotFoundError: permanent, not retried.
      const { spec, key: specKey, sha256: specSha256 } = await loadPublishedSpec(store, model);
      const aliases = await registry.getAliases(model);
      let champion: ChampionRef | null = null;
      let base: SnapshotManifest | null = null;
      if (aliases.champion) {
        const lineage = await registry.getLineage(model, aliases.champion);
        if (lineage) {
          champion = {
            version: lineage.version,
            snapshotSha256: lineage.data.snapshotSha256,
            codeVersion: lineage.code.version,
            specSha256: lineage.spec.sha256,
          };
          base = (await getJsonIfExists<SnapshotManifest>(store, keys.snapshotManifest(model, lineage.data.snapshotSha256)))?.value ?? null;
        }
      }
      // The spec's other sources first: what they deliver lands in incoming/<source>/ and is listed with the rest.
      for (const pulled of await pullSources(store, model, spec, clock())) {
        if (pulled.copied.length > 0)
          log.info('Pulled new batches from a data source', { source: pulled.source, copied: pulled.copied, unchanged: pulled.unchanged });
      }
      const batches = await listNewBatches(
        store,
        model,
        base,
        (spec.data.sources ?? []).map((s) => s.name),
      );
      return {
        spec,
        specSha256,
        specKey,
        codeVersion: code.version + (code.dirty ? '-dirty' : ''),
        base: base ? refOf(base) : null,
        batches,
        champion,
      };
    }),

    /** Registers the candidate as an immutable version, once per workflow run. */
    register: heartbeating(async (input: RegisterInput): Promise<RegisterOutput> => {
      const { workflowId, runId } = currentRun();
      // Collected lazily: an attempt that died after registering cleared the staging, and its version is this run's answer.
      const lineage = await registry.register(
        input.model,
        () => collectBundle(store, { model: input.model, runId, evaluation: input.evaluation, specSha256: input.specSha256 }),
        {
          model: input.model,
          task: input.spec.task,
          data: {
            snapshotSha256: input.snapshot.sha256,
            snapshotKey: input.snapshot.key,
            snapshotFileSha256: input.snapshot.fileSha256,
            timeRange: input.snapshot.timeRange,
            rows: input.snapshot.rows,
            trainRows: input.preprocess.trainRows,
            holdoutRows: input.preprocess.holdoutRows,
            batches: input.snapshot.batches.map((b) => b.key),
          },
          code: { version: input.codeVersion, dirty: code.dirty, package: code.package },
          spec: { sha256: input.specSha256, key: input.specKey },
          params: input.spec.model,
          seed: input.spec.model.seed,
          backend: input.train.backend,
          trigger: input.trigger,
          ...(input.triggerReason ? { triggerReason: input.triggerReason } : {}),
          parent: input.parent ?? null,
          workflow: { id: workflowId, runId },
          metrics: input.evaluation.candidate,
          training: {
            epochs: input.train.epochs,
            resumedFromEpoch: input.train.resumedFromEpoch,
            finalLoss: input.train.finalLoss,
            seconds: input.train.trainSeconds,
          },
        },
        clock(),
      );
      // The version holds its own copies now.
      await clearStaging(store, input.model, runId);
      return lineage;
    }),

    async promote({ model, version, reason, expectedChampion }: PromoteInput): Promise<PromoteOutput> {
      const { workflowId, runId } = currentRun();
      try {
        return await registry.promote(model, version, `${workflowId}/${runId}`, clock(), reason, expectedChampion);
      } catch (error) {
        // The workflow reports who holds the champion alias now.
        if (error instanceof ChampionMovedError) {
          throw ApplicationFailure.create({ type: error.name, message: error.message, nonRetryable: true, details: [{ current: error.current }] });
        }
        throw error;
      }
    },

    /** A rejected or failed run leaves nothing behind: its staged candidate and its checkpoints go. Idempotent. */
    async discardRun({ model }: { model: string }): Promise<{ removed: number }> {
      const { runId } = currentRun();
      const removed = (await clearStaging(store, model, runId)) + (await deletePrefix(store, keys.checkpoints(model, runId)));
      return { removed };
    },

    /** Compensation of register. */
    async unregister(model: string, version: string): Promise<boolean> {
      return registry.unregister(model, version, currentRun().runId);
    },

    /**
     * Puts a version that was champion back in place of the champion (the
     * rollback CLI's workflow, and the monitor's when a champion disappoints).
     * Idempotent; refuses a version that is not registered, or a champion that moved.
     */
    async rollback({ model, from, to, reason }: RollbackInput): Promise<PromoteOutput> {
      const { workflowId, runId } = currentRun();
      if (!(await registry.getLineage(model, to))) {
        const versions = await registry.listVersions(model);
        throw new RollbackRefusedError(model, `it has no version '${to}' (versions: ${versions.join(', ') || 'none'})`);
      }
      return registry.rollback(model, { from, to, by: `${workflowId}/${runId}`, now: clock(), reason });
    },

    /** Compensation of promote. */
    async revertPromotion(model: string, version: string): Promise<PromoteOutput> {
      const { workflowId, runId } = currentRun();
      return registry.revertPromotion(model, version, `${workflowId}/${runId}`, clock());
    },
  };
}
