import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { workflowIds, type RollbackResult } from '../../workflows/definitions';
import type { RollbackModel } from '../../workflows';
import { loadConfig, workflowUrl } from '../config';
import { checkName } from '../names';
import { Registry } from '../registry';
import { S3Store } from '../store';
import { connectClient, workflowFailureMessage } from '../temporal';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

/**
 * `perennial rollback --model <name> [--to <version>] [--reason <text>]`: the
 * champion goes back to the previous one (or to --to), through the RollbackModel
 * workflow and the same activity the automatic rollback uses. Exit codes: 0
 * rolled back (or already there), 1 refused (no champion, nothing to go back
 * to, an unknown version, the champion moved meanwhile), 2 bad usage.
 */
export async function runRollbackCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('rollback', argv, {
    model: { type: 'string' },
    to: { type: 'string' },
    reason: { type: 'string', default: 'rolled back by hand' },
  });
  if (!values.model) throw new Error('rollback needs --model <name> (see: perennial registry list)');
  checkName('model', values.model, '--model');
  if (values.to !== undefined) checkName('version', values.to, '--to');
  const config = loadConfig();
  const registry = new Registry(S3Store.fromConfig(config));
  const aliases = await registry.getAliases(values.model);
  const from = aliases.champion;
  const to = values.to ?? aliases.previous;
  if (!from) {
    io.stderr(`cannot roll back '${values.model}': it has no champion (see: perennial registry show --model ${values.model})`);
    return 1;
  }
  if (!to) {
    io.stderr(`cannot roll back '${values.model}': champion ${from} has no previous version to go back to; name one with --to <version>`);
    return 1;
  }
  if (to === from) {
    io.stdout(`${values.model}: ${to} is the champion already; nothing to do`);
    return 0;
  }
  const client = await connectClient(config);
  try {
    const workflowId = workflowIds.rollback(values.model);
    let handle;
    try {
      handle = await client.workflow.start<typeof RollbackModel>('RollbackModel', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ model: values.model, from, to, reason: values.reason, requestedBy: `cli:${userName()}` }],
        staticSummary: `Roll back **${values.model}**: ${from} → ${to}`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      io.stderr(`a rollback of '${values.model}' is already running (${workflowId}); wait for it, then look: perennial registry show --model ${values.model}`);
      return 1;
    }
    io.stdout(`started: ${workflowId}`);
    io.stdout(`Temporal UI: ${workflowUrl(config, workflowId, handle.firstExecutionRunId)}`);
    let result: RollbackResult;
    try {
      result = await handle.result();
    } catch (error) {
      io.stderr(`refused: ${workflowFailureMessage(error)}`);
      return 1;
    }
    io.stdout(`rolled back: ${result.message}`);
    return 0;
  } finally {
    await client.connection.close();
  }
}
