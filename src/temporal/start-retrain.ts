import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { PerennialConfig } from '../config';
import { checkName } from '../names';
import { SA_MODEL, SA_TRIGGER, workflowIds, type RetrainInput } from '../../workflows/definitions';
import type { RetrainingPipeline } from '../../workflows';

export interface StartedRetrain {
  handle: WorkflowHandle<typeof RetrainingPipeline>;
  workflowId: string;
  /** false when a retraining of the same model and trigger was already running: we joined it. */
  started: boolean;
}

/** Starts RetrainingPipeline (or joins the one already running for this model and trigger). */
export async function startRetrain(client: Client, config: PerennialConfig, input: RetrainInput): Promise<StartedRetrain> {
  checkName('model', input.model);
  checkName('trigger', input.trigger);
  const workflowId = workflowIds.retrain(input.model, input.trigger);
  try {
    const handle = await client.workflow.start<typeof RetrainingPipeline>('RetrainingPipeline', {
      taskQueue: config.taskQueue,
      workflowId,
      args: [{ retryBudgetMinutes: config.retryBudgetMinutes, ...input }],
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
