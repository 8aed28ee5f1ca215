import type { Client } from '@temporalio/client';

// TaskQueueType as the protocol numbers it.
const TASK_QUEUE_TYPE_WORKFLOW = 1;
const TASK_QUEUE_TYPE_ACTIVITY = 2;

/**
 * The task queues that no worker has polled lately (the server keeps pollers
 * of the last minutes): a run started there waits in silence until a worker comes.
 */
export async function queuesWithoutWorkers(client: Client, queues: { workflows: string; activities: string[] }): Promise<string[]> {
  const namespace = client.options.namespace;
  const idle: string[] = [];
  const check = async (name: string, taskQueueType: number) => {
    const response = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name }, taskQueueType });
    if ((response.pollers ?? []).length === 0) idle.push(name);
  };
  await check(queues.workflows, TASK_QUEUE_TYPE_WORKFLOW);
  for (const name of queues.activities) await check(name, TASK_QUEUE_TYPE_ACTIVITY);
  return idle;
}
