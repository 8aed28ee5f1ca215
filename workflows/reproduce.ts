/**
 * ReproduceVersion: retrains a registered version from its lineage (the same
 * snapshot, spec and seed, on code checked against the version's) with the
 * pipeline's own preprocess, train and evaluate activities, then compares
 * weights, preprocessor and metrics with the version's. Registers and promotes
 * nothing; the retrained model's staging is removed at the end, whatever happened.
 */
import { ApplicationFailure, CancellationScope, log, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { headlineMetrics } from '../src/metrics/headline';
import { activityOptions } from './activity-options';
import { DEFAULT_RETRY_BUDGET_MINUTES, SA_MODEL, SA_STAGE, SA_TRIGGER, SA_VERSION, type ReproduceInput, type ReproduceResult } from './definitions';
import { reasonOf } from './reason';

export async function ReproduceVersion(input: ReproduceInput): Promise<ReproduceResult> {
  const { model, version } = input;
  try {
    checkName('model', model);
    checkName('version', version);
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  const { light, registration, data, compute } = activityOptions(input.retryBudgetMinutes ?? DEFAULT_RETRY_BUDGET_MINUTES);
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: 'reproduce' },
    { key: SA_VERSION, value: version },
  ]);
  const stage = (name: string, detail: string) => {
    upsertSearchAttributes([{ key: SA_STAGE, value: name }]);
    setCurrentDetails(`**${model}/${version}** · reproduce, asked by ${input.requestedBy} · stage **${name}**: ${detail}`);
  };

  try {
    stage('prepare', 'reading the lineage, spec and snapshot');
    const prepared = await data.prepareReproduction.executeWithOptions({ summary: `lineage of ${model}/${version}` }, [
      { model, version, allowOtherCode: input.allowOtherCode },
    ]);
    const { spec, snapshot } = prepared;
    stage('preprocess', `snapshot ${snapshot.sha256.slice(0, 12)}, ${snapshot.rows} rows`);
    const preprocess = await data.preprocess.executeWithOptions({ summary: 'fit the preprocessor again' }, [{ model, spec, snapshot }]);
    stage('train', `${spec.model.epochs} epochs, seed ${spec.model.seed}`);
    const train = await compute.train.executeWithOptions({ summary: `train again (seed ${spec.model.seed}; recorded on ${prepared.recorded.backend})` }, [
      { model, spec, snapshot, preprocess },
    ]);
    stage('evaluate', `on ${train.backend}`);
    const evaluation = await compute.evaluate.executeWithOptions({ summary: 'score the holdout again' }, [
      { model, spec, snapshot, preprocess, train, champion: null },
    ]);
    stage('compare', `${headlineMetrics(evaluation.candidate)} against the version's`);
    const report = await registration.compareReproduction.executeWithOptions({ summary: `compare with ${model}/${version}` }, [
      { model, version, preprocess, train, evaluation, tolerance: input.tolerance },
    ]);
    upsertSearchAttributes([{ key: SA_STAGE, value: report.verdict }]);
    setCurrentDetails(`**${model}/${version}** · ${report.verdict}: ${report.message}`);
    return {
      ...report,
      codeVersions: { recorded: prepared.recorded.codeVersion, reproduced: prepared.workerCode },
      evaluationKey: evaluation.reportKey,
    };
  } catch (error) {
    upsertSearchAttributes([{ key: SA_STAGE, value: 'failed' }]);
    setCurrentDetails(`**${model}/${version}** · reproduce failed: ${reasonOf(error)}`);
    throw error;
  } finally {
    // The retrained model is a measurement, never a version: its staging and checkpoints go, even when cancelled.
    await CancellationScope.nonCancellable(() => light.discardRun({ model })).catch((cleanupError: unknown) =>
      log.warn('Could not remove the staging of the reproduction', { model, version, error: reasonOf(cleanupError) }),
    );
  }
}
