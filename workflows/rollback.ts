/**
 * RollbackModel: puts a version that was champion back in place of the
 * champion, through the same activity the monitor's automatic rollback uses
 * (activities/pipeline.ts `rollback`). A workflow, not a direct write, so a
 * rollback shows in the Temporal UI with who asked and why, and retries a
 * store that is briefly down. The model server follows the alias by itself.
 */
import { ApplicationFailure, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type * as pipelineActivities from '../activities/pipeline';
import { InvalidNameError } from '../src/errors';
import { checkName } from '../src/names';
import { ACTIVITY_RETRY, SA_MODEL, SA_TRIGGER, SA_VERSION, type RollbackRequest, type RollbackResult } from './definitions';

type Activities = ReturnType<typeof pipelineActivities.createPipelineActivities>;

const { rollback } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  // A store outage is retried for a few minutes; a refusal (RollbackRefusedError) is not.
  scheduleToCloseTimeout: '5 minutes',
  retry: ACTIVITY_RETRY,
});

export async function RollbackModel(request: RollbackRequest): Promise<RollbackResult> {
  const { model, from, to, reason, requestedBy } = request;
  try {
    checkName('model', model);
    checkName('version', from, 'from');
    checkName('version', to, 'to');
  } catch (error) {
    throw ApplicationFailure.nonRetryable((error as Error).message, InvalidNameError.name);
  }
  upsertSearchAttributes([
    { key: SA_MODEL, value: model },
    { key: SA_TRIGGER, value: 'rollback' },
    { key: SA_VERSION, value: to },
  ]);
  setCurrentDetails(`**${model}** · rolling back ${from} → ${to} · asked by ${requestedBy}: ${reason}`);
  const aliases = await rollback({ model, from, to, reason: `${reason} (asked by ${requestedBy})` });
  const message = `${model}: champion ${aliases.champion ?? '(none)'} (rolled back from ${from}), previous ${aliases.previous ?? '(none)'}`;
  setCurrentDetails(`**${model}** · ${message}`);
  return { model, from, to, champion: aliases.champion, previous: aliases.previous, message };
}
