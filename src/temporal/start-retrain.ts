import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PerennialConfig } from '../config';
import { checkName } from '../names';
import { workflowIds, type RetrainInput } from '../../workflows/definitions';
import { SA_MODEL, SA_TRIGGER } from './search-attributes';
import type { RetrainingPipeline } from '../../workflows';

export interface StartedRetrain {
  handle: WorkflowHandle<typeof RetrainingPipeline>;
  workflowId: string;
  /** false when a retraining of the same model was already running: we joined it (see workflowId for its trigger). */
  started: boolean;
}

/**
 * The retraining of `model` that is running now under another id, if any:
 * runs started before ids were one per model were `retrain/<model>/<trigger>`
 * (visibility finds them, the server's own record confirms it).
 */
async function runningRetrainOf(client: Client, model: string): Promise<string | undefined> {
  const query = `WorkflowType = 'RetrainingPipeline' AND ExecutionStatus = 'Running' AND ${SA_MODEL.name} = '${model}'`;
  for await (const execution of client.workflow.list({ query })) {
    // Visibility lags by a moment: a run that just ended may still be listed.
    const { status } = await client.workflow.getHandle(execution.workflowId, execution.runId).describe();
    if (status.name === 'RUNNING') return execution.workflowId;
  }
  return undefined;
}

/**
 * Starts RetrainingPipeline, or joins the retraining already running for this
 * model (whatever its trigger): one run per model changes the registry at a
 * time. The id is one per model, so of starts in the same instant the server
 * lets exactly one through and the others join it. Promote's compare-and-set
 * still guards the registry against runs started some other way.
 */
export async function startRetrain(client: Client, config: PerennialConfig, input: RetrainInput): Promise<StartedRetrain> {
  checkName('model', input.model);
  checkName('trigger', input.trigger);
  const running = await runningRetrainOf(client, input.model);
  if (running) return { handle: client.workflow.getHandle<typeof RetrainingPipeline>(running), workflowId: running, started: false };
  const workflowId = workflowIds.retrain(input.model);
  try {
    const handle = await client.workflow.start<typeof RetrainingPipeline>('RetrainingPipeline', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [{ retryBudgetMinutes: config.retryBudgetMinutes, partitionRows: config.partitionRows, ...input }],
      typedSearchAttributes: [
        { key: SA_MODEL, value: input.model },
        { key: SA_TRIGGER, value: input.trigger },
      ],
      staticSummary: `Retrain **${input.model}** (trigger: ${input.trigger}${input.force ? ', forced' : ''})`,
      staticDetails: input.reason ? `Reason: ${input.reason}` : undefined,
    });
    return { handle, workflowId, started: true };
  } catch (error) {
    if (error instanceof WorkflowExecutionAlreadyStartedError) {
      return { handle: client.workflow.getHandle<typeof RetrainingPipeline>(workflowId), workflowId, started: false };
    }
    throw error;
  }
}
