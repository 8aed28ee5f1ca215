/**
 * ReleaseWorkflow's decisions, branch by branch, with stand-in activities
 * (plain functions returning the readings a test writes): the workflow runs
 * for real on the Temporal dev server (the test namespace of
 * test/integration/harness.ts), each test on its own task queues. Also the
 * pipeline starting a release as a child instead of promoting.
 */
import { activityInfo } from '@temporalio/activity';
import { WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyzeReleaseInput, AnalyzeReleaseOutput, EndReleaseInput, ReleaseWeightInput, StartReleaseInput } from '../../activities/release';
import type { ArmStats } from '../../src/release/sequential';
import { releaseSpec, type ReleaseSpec } from '../../src/spec/release-spec';
import type { Aliases } from '../../src/registry';
import { ensureNamespace } from '../../src/temporal';
import { trainingQueueFor } from '../../src/temporal/task-queues';
import { bundleWorkflows } from '../../src/worker/create';
import {
  abortReleaseUpdate,
  approveReleaseUpdate,
  pauseReleaseUpdate,
  releaseStatusQuery,
  resumeReleaseUpdate,
  SA_STAGE,
  type ReleaseInput,
  type ReleaseResult,
} from '../../workflows/definitions';
import type { ReleaseWorkflow } from '../../workflows';
import { testConfig, uniqueId } from '../integration/harness';

Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;

beforeAll(async () => {
  const config = testConfig();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress, namespace: config.temporalNamespace });
  await ensureNamespace(env.connection, config.temporalNamespace);
  bundle = await bundleWorkflows();
});

/** Workers still running when a test failed: stopped before the connection closes. */
const running = new Set<() => Promise<void>>();

afterAll(async () => {
  for (const stop of running) await stop();
  await env?.teardown();
});

const model = 'weather';
const spec = (over: Record<string, unknown> = {}): ReleaseSpec =>
  releaseSpec.parse({
    strategy: 'canary',
    steps: [
      { weight: 0.1, bakeSeconds: 0 },
      { weight: 0.5, bakeSeconds: 0 },
    ],
    lookEverySeconds: 1,
    minLabels: 50,
    margin: 0.05,
    ...over,
  });
const arm = (n: number, p: number): ArmStats => ({ n, mean: p, m2: n * p * (1 - p) });
const aliases = (champion: string): Aliases => ({ model, champion, previous: null, canary: null, canaryWeight: 0, history: [] });

interface Call {
  name: string;
  input: unknown;
  taskQueue: string;
}

/** Release activities standing in for the registry and the logs; `looks` gives each look's readings in turn (the last repeats). */
function standIns(looks: (() => AnalyzeReleaseOutput)[], over: Record<string, (input: never) => Promise<unknown>> = {}) {
  let look = 0;
  return {
    startRelease: async (_input: StartReleaseInput) => aliases('v1'),
    setReleaseWeight: async (_input: ReleaseWeightInput) => aliases('v1'),
    endRelease: async (input: EndReleaseInput) => aliases(input.outcome === 'promoted' ? input.candidate : 'v1'),
    analyzeRelease: async (_input: AnalyzeReleaseInput) => looks[Math.min(look++, looks.length - 1)]!(),
    recordRelease: async () => `models/${model}/releases/v2.json`,
    ...over,
  };
}
const reading = (candidate: ArmStats, champion: ArmStats) => () => ({ totals: { candidate, champion }, guards: [], parts: { feedback: 1, predictions: 0 } });
const equal = [reading(arm(20, 0.2), arm(200, 0.2)), reading(arm(100, 0.2), arm(400, 0.2)), reading(arm(3000, 0.2), arm(3000, 0.2))];
const worse = [reading(arm(400, 0.45), arm(400, 0.2))];

interface Run {
  handle: WorkflowHandleWithFirstExecutionRunId<typeof ReleaseWorkflow>;
  calls: Call[];
  done: Promise<{ result?: ReleaseResult; error?: unknown }>;
  stop: () => Promise<void>;
}

async function startRelease(activities: Record<string, (input: never) => Promise<unknown>>, input: Partial<ReleaseInput> = {}): Promise<Run> {
  const taskQueue = `release-branches-${uniqueId()}`;
  const calls: Call[] = [];
  const recorded = Object.fromEntries(
    Object.entries(activities).map(([name, fn]) => [
      name,
      async (arg: never) => {
        calls.push({ name, input: arg, taskQueue: activityInfo().taskQueue });
        return fn(arg);
      },
    ]),
  );
  const common = { connection: env.nativeConnection, namespace: testConfig().temporalNamespace, activities: recorded };
  const main = await Worker.create({ ...common, taskQueue, workflowBundle: bundle });
  const training = await Worker.create({ ...common, taskQueue: trainingQueueFor(taskQueue) });
  const polling = Promise.all([main.run(), training.run()]);
  const handle = await env.client.workflow.start<typeof ReleaseWorkflow>('ReleaseWorkflow', {
    taskQueue,
    workflowId: `release/${model}/v2-${uniqueId()}`,
    args: [{ model, candidate: 'v2', champion: 'v1', task: 'classification', release: spec(), trigger: 'test', ...input }],
  });
  const done = handle.result().then(
    (result) => ({ result }),
    (error: unknown) => ({ error }),
  );
  const stop = async () => {
    if (!running.delete(stop)) return;
    main.shutdown();
    training.shutdown();
    await polling;
  };
  running.add(stop);
  return { handle, calls, done, stop };
}

const names = (calls: Call[]) => calls.map((c) => c.name);

async function waitForPhase(run: Run, phase: string): Promise<void> {
  for (let i = 0; i < 40 && (await run.handle.query(releaseStatusQuery)).phase !== phase; i++) await new Promise((r) => setTimeout(r, 250));
  expect((await run.handle.query(releaseStatusQuery)).phase).toBe(phase);
}

describe('ReleaseWorkflow', () => {
  it('a good canary candidate goes through every step, then is promoted with the evidence', async () => {
    const run = await startRelease(standIns(equal));
    const { result } = await run.done;
    await run.stop();
    expect(result).toMatchObject({ outcome: 'promoted', candidate: 'v2', champion: 'v2' });
    expect(result!.reason).toMatch(/^the candidate is no worse than the champion: candidate not inferior: .* on 3000 candidate and 3000 champion labels$/);
    expect(names(run.calls)).toEqual([
      'startRelease',
      'recordRelease',
      'analyzeRelease',
      'setReleaseWeight',
      'recordRelease',
      'analyzeRelease',
      'analyzeRelease',
      'endRelease',
      'recordRelease',
    ]);
    expect(run.calls[0]!.input).toMatchObject({ mode: 'canary', weight: 0.1, expectedChampion: 'v1' });
    expect(run.calls[3]!.input).toMatchObject({ weight: 0.5, reason: 'step 2/2' });
    // Looks run on the training queue (DuckDB over the logs), registry moves on the workflow's.
    expect(run.calls.find((c) => c.name === 'analyzeRelease')!.taskQueue).toMatch(/-training$/);
    expect(run.calls.at(-2)!.input).toMatchObject({ outcome: 'promoted' });
    const description = await run.handle.describe();
    expect(description.typedSearchAttributes.get(SA_STAGE)).toBe('release: promoted');
  }, 30_000);

  it('a worse candidate is rolled back at the first look that shows it, with the reason', async () => {
    const run = await startRelease(standIns(worse));
    const { result } = await run.done;
    await run.stop();
    expect(result).toMatchObject({ outcome: 'rolled-back', champion: 'v1' });
    expect(result!.reason).toMatch(/^the candidate is worse than the champion: /);
    expect(names(run.calls)).toEqual(['startRelease', 'recordRelease', 'analyzeRelease', 'endRelease', 'recordRelease']);
    expect(run.calls[3]!.input).toMatchObject({ outcome: 'rolled-back' });
  }, 30_000);

  it('abort puts the traffic back at once; the updates refuse what makes no sense, naming why', async () => {
    const slow = [reading(arm(10, 0.2), arm(10, 0.2))];
    const run = await startRelease(standIns(slow));
    await waitForPhase(run, 'running');
    await expect(run.handle.executeUpdate(approveReleaseUpdate, { args: [{ by: 'ana' }] })).rejects.toThrow(WorkflowUpdateFailedError);
    const refused = await run.handle.executeUpdate(approveReleaseUpdate, { args: [{ by: 'ana' }] }).catch((e: WorkflowUpdateFailedError) => e.cause?.message);
    expect(refused).toMatch(/^approve: the release is not waiting for approval \(it is running\)/);
    const noReason = await run.handle.executeUpdate(abortReleaseUpdate, { args: [{ by: 'ana' }] }).catch((e: WorkflowUpdateFailedError) => e.cause?.message);
    expect(noReason).toBe("abort: 'reason' must say why");
    const paused = await run.handle.executeUpdate(pauseReleaseUpdate, { args: [{ by: 'ana', reason: 'holiday' }] });
    expect(paused).toMatchObject({ phase: 'paused', reason: 'paused by ana: holiday' });
    expect((await run.handle.query(releaseStatusQuery)).phase).toBe('paused');
    await run.handle.executeUpdate(resumeReleaseUpdate, { args: [{ by: 'ana' }] });
    await run.handle.executeUpdate(abortReleaseUpdate, { args: [{ by: 'ana', reason: 'customer complaints' }] });
    const { result } = await run.done;
    await run.stop();
    expect(result).toMatchObject({ outcome: 'rolled-back', reason: 'aborted by ana: customer complaints' });
    expect(run.calls.find((c) => c.name === 'endRelease')!.input).toMatchObject({ outcome: 'rolled-back', reason: 'aborted by ana: customer complaints' });
  }, 30_000);

  it('with manual approval waits for a person, then promotes', async () => {
    const run = await startRelease(standIns([reading(arm(3000, 0.2), arm(3000, 0.2))]), {
      release: spec({ strategy: 'ab', steps: undefined, weight: 0.5, manualApproval: true }),
    });
    await waitForPhase(run, 'awaiting-approval');
    const status = await run.handle.query(releaseStatusQuery);
    expect(status).toMatchObject({ phase: 'awaiting-approval', strategy: 'ab', weight: 0.5 });
    expect(status.analysis.decision).toBe('non-inferior');
    await run.handle.executeUpdate(approveReleaseUpdate, { args: [{ by: 'ana', reason: 'looks good' }] });
    const { result } = await run.done;
    await run.stop();
    expect(result).toMatchObject({ outcome: 'promoted' });
    expect(result!.reason).toMatch(/\(approved by ana: looks good\)$/);
  }, 30_000);

  it('cancelled, or failing, it still puts the traffic back on the champion', async () => {
    const slow = [reading(arm(10, 0.2), arm(10, 0.2))];
    const cancelled = await startRelease(standIns(slow));
    await new Promise((r) => setTimeout(r, 1500));
    await cancelled.handle.cancel();
    const c = await cancelled.done;
    await cancelled.stop();
    expect(c.error).toBeInstanceOf(WorkflowFailedError);
    expect(cancelled.calls.find((x) => x.name === 'endRelease')!.input).toMatchObject({ outcome: 'rolled-back', reason: 'the release was cancelled' });

    const failing = await startRelease(
      standIns(slow, {
        analyzeRelease: async () => {
          const { ApplicationFailure } = await import('@temporalio/activity');
          throw ApplicationFailure.nonRetryable('feedback log unreadable', 'ArtifactError');
        },
      }),
    );
    const f = await failing.done;
    await failing.stop();
    expect(f.error).toBeInstanceOf(WorkflowFailedError);
    expect(failing.calls.find((x) => x.name === 'endRelease')!.input).toMatchObject({
      outcome: 'rolled-back',
      reason: 'the release failed: feedback log unreadable',
    });
  }, 30_000);

  it('a release the registry refuses to start ends failed; its rollback, tried all the same, is refused too: nothing moved', async () => {
    const refuse = (message: string) => async () => {
      const { ApplicationFailure } = await import('@temporalio/activity');
      throw ApplicationFailure.nonRetryable(message, 'ReleaseRefusedError');
    };
    const run = await startRelease(
      standIns(equal, {
        startRelease: refuse('release of weather/v2 refused: the champion moved'),
        endRelease: refuse('release of weather/v2 refused: it is not in release (no release is in flight)'),
      }),
    );
    const { error } = await run.done;
    await run.stop();
    expect(error).toBeInstanceOf(WorkflowFailedError);
    expect(names(run.calls)).toEqual(['startRelease', 'endRelease']);
  }, 30_000);

  it('continues as new after its looks per run, carrying where it stood', async () => {
    const run = await startRelease(standIns(equal), { looksPerRun: 1 });
    const { result } = await run.done;
    await run.stop();
    expect(result).toMatchObject({ outcome: 'promoted' });
    // One startRelease for the whole release: the runs after the first carry its progress.
    expect(names(run.calls).filter((n) => n === 'startRelease')).toHaveLength(1);
    const first = await env.client.workflow.getHandle(run.handle.workflowId, run.handle.firstExecutionRunId).describe();
    expect(first.status.name).toBe('CONTINUED_AS_NEW');
  }, 30_000);
});
