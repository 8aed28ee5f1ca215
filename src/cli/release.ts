import { WorkflowUpdateFailedError } from '@temporalio/client';
import {
  abortReleaseUpdate,
  approveReleaseUpdate,
  pauseReleaseUpdate,
  releaseStatusQuery,
  resumeReleaseUpdate,
  workflowIds,
  type ReleaseStatus,
} from '../../workflows/definitions';
import { loadConfig, workflowUrl } from '../config';
import { checkName } from '../names';
import { Registry, releaseOf } from '../registry';
import { S3Store } from '../store';
import { connectClient } from '../temporal';
import { parseCommandArgs, userName } from './args';
import type { CliIo } from './io';

const UPDATES = { approve: approveReleaseUpdate, abort: abortReleaseUpdate, pause: pauseReleaseUpdate, resume: resumeReleaseUpdate } as const;
type Action = 'status' | keyof typeof UPDATES;

/** A release as a person reads it: where it stands, what the test concluded so far, the guards, the last looks. */
export function formatReleaseStatus(s: ReleaseStatus): string {
  const lines = [
    `${s.model}/${s.candidate} against champion ${s.champion}: ${s.strategy}, ${s.phase}` +
      `${s.strategy === 'canary' ? `, step ${s.step}/${s.steps}` : ''}, weight ${Math.round(s.weight * 100)}%`,
    ...(s.reason ? [`  ${s.reason}`] : []),
    `  test     ${s.analysis.summary}`,
    `  guards   ${s.guards.guards.length === 0 ? 'none' : `${s.guards.phase}${s.guards.message ? `: ${s.guards.message}` : ''}`}`,
    '  looks',
    ...s.looks
      .slice(-5)
      .map((l) => `    ${l.at}  ${Math.round(l.weight * 100)}%  labels ${l.labels.candidate}/${l.labels.champion}  ${l.decision}  guards ${l.guards}`),
  ];
  return lines.join('\n');
}

/**
 * `perennial release status|approve|abort|pause|resume --model <name> [--version <v>] [--reason <text>]`:
 * the release in flight (the candidate aliases.json names, or --version), its
 * query and its updates. Exit codes: 0 done, 1 refused (no release, the
 * update's validator said no: the message says why), 2 bad usage.
 */
export async function runReleaseCommand(argv: string[], io: CliIo): Promise<number> {
  const [action, ...rest] = argv;
  if (action !== 'status' && !(action !== undefined && action in UPDATES)) {
    throw new Error(`release needs an action: status, approve, abort, pause or resume (got ${action === undefined ? 'none' : `'${action}'`})`);
  }
  const { values } = parseCommandArgs(`release ${action}`, rest, {
    model: { type: 'string' },
    version: { type: 'string' },
    reason: { type: 'string' },
    json: { type: 'boolean', default: false },
  });
  if (!values.model) throw new Error(`release ${action} needs --model <name>`);
  checkName('model', values.model, '--model');
  if (values.version !== undefined) checkName('version', values.version, '--version');
  if (action === 'abort' && !values.reason) throw new Error('release abort needs --reason <why> (it is recorded with the rollback)');
  const config = loadConfig();
  let version = values.version;
  if (!version) {
    const release = releaseOf(await new Registry(S3Store.fromConfig(config)).getAliases(values.model));
    if (!release) {
      io.stderr(`'${values.model}' has no release in flight; name a finished one with --version <v>`);
      return 1;
    }
    version = release.candidate;
  }
  const client = await connectClient(config);
  try {
    const workflowId = workflowIds.release(values.model, version);
    const handle = client.workflow.getHandle(workflowId);
    let status: ReleaseStatus;
    try {
      status =
        (action as Action) === 'status'
          ? await handle.query(releaseStatusQuery)
          : await handle.executeUpdate(UPDATES[action as keyof typeof UPDATES], { args: [{ by: `cli:${userName()}`, reason: values.reason }] });
    } catch (error) {
      const message = error instanceof WorkflowUpdateFailedError ? (error.cause?.message ?? error.message) : (error as Error).message;
      io.stderr(`release ${action} of ${values.model}/${version} refused: ${message}`);
      return 1;
    }
    if (values.json) io.stdout(JSON.stringify(status, null, 2));
    else {
      io.stdout(formatReleaseStatus(status));
      io.stdout(`Temporal UI: ${workflowUrl(config, workflowId)}`);
    }
    return 0;
  } finally {
    await client.connection.close();
  }
}
