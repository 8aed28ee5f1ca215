/**
 * The activities of ReproduceVersion that RetrainingPipeline has not:
 * reading what a version was trained from, and comparing the retrained model
 * with it. Preprocess, train and evaluate are the pipeline's own.
 */
import { CodeVersionMismatchError, ReproduceRefusedError } from '../src/errors';
import { checkName } from '../src/names';
import { judgeReproduction, loadBundle, readModelArtifacts, readPreprocessor, type ReproductionReport } from '../src/registry';
import { compareWeights } from '../src/model';
import { getJsonIfExists, keys, putJson } from '../src/store';
import type { SnapshotManifest } from './datasets';
import { refOf } from './datasets';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { currentRun } from './run';
import type { CompareReproductionInput, PrepareReproductionInput, PrepareReproductionOutput } from './types';

export function createReproduceActivities({ store, registry, code }: ActivityDeps) {
  const workerCode = code.version + (code.dirty ? '-dirty' : '');

  return {
    /**
     * The version's spec (as published when it trained), its snapshot and its
     * seed, every artifact checked against its sha256. Refuses a version whose
     * snapshot is gone, and code other than the version's unless asked.
     */
    prepareReproduction: ({ model, version, allowOtherCode }: PrepareReproductionInput): Promise<PrepareReproductionOutput> =>
      withHeartbeat(async () => {
        checkName('model', model);
        checkName('version', version);
        if (!(await registry.getLineage(model, version))) {
          const versions = await registry.listVersions(model);
          throw new ReproduceRefusedError(model, version, `no such version (versions: ${versions.join(', ') || 'none'})`);
        }
        const { lineage, spec } = await loadBundle(registry, model, version);
        if (spec.model.seed !== lineage.seed) {
          throw new ReproduceRefusedError(model, version, `its spec.json says seed ${spec.model.seed}, its lineage ${lineage.seed}`);
        }
        if (lineage.code.version !== workerCode && !allowOtherCode) {
          throw new CodeVersionMismatchError(lineage.code.version, `${workerCode} (or pass --allow-other-code to measure what the other code changes)`);
        }
        const { snapshotKey, snapshotSha256 } = lineage.data;
        if (!(await store.head(snapshotKey))) {
          throw new ReproduceRefusedError(
            model,
            version,
            `its training snapshot ${snapshotKey} is no longer in ${store.description} (removed by retention or by hand)`,
          );
        }
        // The manifest has the batches with their checksums; a version whose manifest is gone still has what lineage recorded.
        const manifest = (await getJsonIfExists<SnapshotManifest>(store, keys.snapshotManifest(model, snapshotSha256)))?.value;
        const snapshot = manifest
          ? refOf(manifest)
          : {
              sha256: snapshotSha256,
              key: snapshotKey,
              fileSha256: lineage.data.snapshotFileSha256,
              rows: lineage.data.rows,
              timeRange: lineage.data.timeRange,
              batches: lineage.data.batches.map((key) => ({ key, sha256: '', bytes: 0 })),
            };
        return {
          spec,
          snapshot,
          recorded: { backend: lineage.backend, codeVersion: lineage.code.version, seed: lineage.seed, trainRows: lineage.data.trainRows },
          workerCode,
        };
      }),

    /** The retrained model against the registered one: every weight, the preprocessor and the metrics; the report goes to S3. */
    compareReproduction: (input: CompareReproductionInput): Promise<ReproductionReport & { reportKey: string }> =>
      withHeartbeat(async () => {
        const { model, version, preprocess, train, evaluation, tolerance } = input;
        const recorded = await loadBundle(registry, model, version);
        const reproduced = {
          model: await readModelArtifacts(store, train.modelJsonKey, train.weightsKey),
          preprocessor: await readPreprocessor(store, preprocess.preprocessorKey),
        };
        const report = judgeReproduction(
          model,
          version,
          { backend: recorded.lineage.backend, metrics: recorded.lineage.metrics, preprocessor: recorded.preprocessor },
          { backend: train.backend, metrics: evaluation.candidate, preprocessor: reproduced.preprocessor },
          compareWeights(recorded.model, reproduced.model),
          tolerance,
        );
        const reportKey = keys.reproduction(model, version, currentRun().runId);
        await putJson(store, reportKey, { ...report, codeVersions: { recorded: recorded.lineage.code.version, reproduced: workerCode } });
        return { ...report, reportKey };
      }),
  };
}
