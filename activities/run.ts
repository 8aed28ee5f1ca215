import { Context } from '@temporalio/activity';

/**
 * The workflow run an activity works for: it keys staging, checkpoints,
 * evaluation reports, version claims and alias history. Outside a workflow
 * (a standalone activity, a test's MockActivityEnvironment) the activity stands in.
 */
export function currentRun(): { workflowId: string; runId: string } {
  const info = Context.current().info;
  return info.workflowExecution ?? { workflowId: `activity/${info.activityType}`, runId: info.activityId };
}
