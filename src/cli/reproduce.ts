import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { workflowIds, type ReproduceResult } from '../../workflows/definitions';
import type { ReproduceVersion } from '../../workflows';
import { loadConfig, workflowUrl } from '../config';
import { checkName } from '../names';
import { DEFAULT_REPRODUCE_TOLERANCE, type ReproduceTolerance } from '../registry';
import { connectClient, workflowFailureMessage } from '../temporal';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

function toleranceOption(value: string | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new Error(`${option} must be a number >= 0, not '${value}'`);
  return parsed;
}

/** The verdict as a person reads it: backends, weights, preprocessor, metrics side by side. */
export function formatReproduction(result: ReproduceResult): string {
  const { weights } = result;
  const lines = [
    `${result.model}/${result.version}: ${result.verdict}`,
    `  backend    recorded ${result.backends.recorded}, reproduced ${result.backends.reproduced}` +
      (result.tolerance ? ` (tolerance: weights ${result.tolerance.weights}, metrics ${result.tolerance.metrics})` : ' (same backend: every bit must match)'),
    `  code       recorded ${result.codeVersions.recorded}, reproduced ${result.codeVersions.reproduced}`,
    `  weights    ${weights.differing} of ${weights.values} differ, max |diff| ${weights.maxAbsDiff.toPrecision(3)}`,
    ...weights.tensors.map((t) => `    ${t.name.padEnd(28)} [${t.shape.join('x')}]  ${t.differing} differ, max |diff| ${t.maxAbsDiff.toPrecision(3)}`),
    `  preprocessor ${result.preprocessor.identical ? 'identical' : `${result.preprocessor.differences.length} field(s) differ`}`,
    ...result.preprocessor.differences.map((d) => `    ${d.field}: ${d.from} -> ${d.to}`),
    '  metrics',
    ...result.metrics.map(
      (m) => `    ${m.name.padEnd(12)} ${String(m.recorded).padEnd(22)} ${String(m.reproduced).padEnd(22)} ${m.diff === 0 ? '=' : m.diff.toPrecision(3)}`,
    ),
    `  report     ${result.reportKey}`,
    '',
    result.message,
  ];
  return lines.join('\n');
}

/**
 * `perennial reproduce --model <name> --version <v>`: retrains the version from
 * its lineage through the ReproduceVersion workflow and says whether weights
 * and metrics match. Exit codes: 0 identical (same backend) or within
 * tolerance (another backend), 1 differs or cannot be reproduced, 2 bad usage.
 */
export async function runReproduceCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('reproduce', argv, {
    model: { type: 'string' },
    version: { type: 'string' },
    'allow-other-code': { type: 'boolean', default: false },
    'weights-tolerance': { type: 'string' },
    'metrics-tolerance': { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.model || !values.version) throw new Error('reproduce needs --model <name> and --version <v> (see: perennial registry show --model <name>)');
  checkName('model', values.model, '--model');
  checkName('version', values.version, '--version');
  const tolerance: ReproduceTolerance = {
    weights: toleranceOption(values['weights-tolerance'], '--weights-tolerance', DEFAULT_REPRODUCE_TOLERANCE.weights),
    metrics: toleranceOption(values['metrics-tolerance'], '--metrics-tolerance', DEFAULT_REPRODUCE_TOLERANCE.metrics),
  };
  const config = loadConfig();
  const client = await connectClient(config);
  try {
    const workflowId = workflowIds.reproduce(values.model, values.version);
    let handle;
    try {
      handle = await client.workflow.start<typeof ReproduceVersion>('ReproduceVersion', {
        taskQueue: config.taskQueue,
        workflowId,
        args: [{ model: values.model, version: values.version, requestedBy: `cli:${userName()}`, allowOtherCode: values['allow-other-code'], tolerance }],
        staticSummary: `Reproduce **${values.model}/${values.version}** from its lineage`,
      });
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
      io.stderr(`${values.model}/${values.version} is being reproduced already (${workflowId}); wait for it`);
      return 1;
    }
    if (!values.json) {
      io.stdout(`started: ${workflowId}`);
      io.stdout(`Temporal UI: ${workflowUrl(config, workflowId, handle.firstExecutionRunId)}`);
    }
    let result: ReproduceResult;
    try {
      result = await handle.result();
    } catch (error) {
      io.stderr(`cannot reproduce: ${workflowFailureMessage(error)}`);
      return 1;
    }
    io.stdout(values.json ? JSON.stringify(result, null, 2) : formatReproduction(result));
    return result.verdict === 'differs' ? 1 : 0;
  } finally {
    await client.connection.close();
  }
}
