import { setTimeout as sleep } from 'node:timers/promises';
import { pipelineStatusQuery, type StageRecord } from '../../workflows/definitions';
import { loadConfig, workflowUrl } from '../config';
import { loadModelSpecFile, publishSpec } from '../spec';
import { S3Store } from '../store';
import { connectClient, queuesWithoutWorkers, startRetrain, workflowFailureMessage } from '../temporal';
import { checkName } from '../names';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * `perennial retrain --model <name> [--spec file.yaml] [--wait] [--force] [--trigger manual] [--reason text] [--code-version <commit>]`
 * Exit codes with --wait: 0 promoted or unchanged, 1 rejected by the gate or failed, 2 bad usage.
 */
export async function runRetrainCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('retrain', argv, {
    model: { type: 'string' },
    spec: { type: 'string' },
    wait: { type: 'boolean', default: false },
    force: { type: 'boolean', default: false },
    trigger: { type: 'string', default: 'manual' },
    reason: { type: 'string' },
    'code-version': { type: 'string' },
  });
  if (!values.model) throw new Error('retrain needs --model <name> (see: perennial registry list)');
  checkName('model', values.model, '--model');
  checkName('trigger', values.trigger, '--trigger');
  const config = loadConfig();
  if (values.spec) {
    const spec = await loadModelSpecFile(values.spec);
    if (spec.name !== values.model) throw new Error(`${values.spec}: the spec is for model '${spec.name}', not '${values.model}'`);
    const published = await publishSpec(S3Store.fromConfig(config), spec);
    io.stdout(`spec ${values.spec} published as ${published.key}`);
  }
  const client = await connectClient(config);
  try {
    const { handle, workflowId, started } = await startRetrain(client, config, {
      model: values.model,
      trigger: values.trigger,
      force: values.force,
      reason: values.reason,
      ...(values['code-version'] ? { codeVersion: values['code-version'] } : {}),
    });
    const description = await handle.describe();
    io.stdout(
      started ? `started: ${workflowId}` : `a retraining of '${values.model}' is already running; joined it instead of starting another: ${workflowId}`,
    );
    io.stdout(`Temporal UI: ${workflowUrl(config, workflowId, description.runId)}`);
    if (!values.wait) return 0;

    const printed = new Set<number>();
    const printStages = (stages: StageRecord[]) => {
      stages.forEach((s, i) => {
        if (s.status === 'running' || printed.has(i)) return;
        printed.add(i);
        io.stdout(`  ${s.status === 'completed' ? '✓' : s.status === 'failed' ? '✗' : '·'} ${s.stage.padEnd(10)} ${s.detail ?? ''}`);
      });
    };
    const result = handle.result();
    let done = false;
    result.then(
      () => (done = true),
      () => (done = true),
    );
    // A run with no worker waits in silence (a query to it blocks too): after a moment, say which queue nobody polls, and keep waiting.
    const workerCheck = setTimeout(() => {
      queuesWithoutWorkers(client, { workflows: config.taskQueue, activities: [config.trainingTaskQueue] })
        .then((idle) => {
          if (idle.length === 0 || done) return;
          io.stderr(
            `no worker polls task queue ${idle.map((q) => `'${q}'`).join(' or ')} in namespace '${config.temporalNamespace}': ` +
              `start one with 'npm run worker' (still waiting; Ctrl-C stops waiting, not the run)`,
          );
        })
        .catch(() => undefined);
    }, 2000);
    while (!done) {
      try {
        printStages((await handle.query(pipelineStatusQuery)).stages);
      } catch {
        // No worker has picked the workflow up yet: keep waiting.
      }
      await Promise.race([sleep(1000), result.catch(() => undefined)]);
    }
    clearTimeout(workerCheck);
    try {
      const outcome = await result;
      printStages(outcome.stages);
      io.stdout(`${outcome.outcome}: ${outcome.message}`);
      return outcome.outcome === 'promoted' || outcome.outcome === 'unchanged' ? 0 : 1;
    } catch (error) {
      try {
        printStages((await handle.query(pipelineStatusQuery)).stages);
      } catch {
        /* the history may be gone; the error below says enough */
      }
      io.stderr(`failed: ${workflowFailureMessage(error)}`);
      return 1;
    }
  } finally {
    await client.connection.close();
  }
}
