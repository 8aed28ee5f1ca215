/**
 * RetrainingPipeline's decisions, branch by branch, with mocked activities:
 * plain functions returning canned outputs, so a test takes about a second and
 * needs no S3, no data and no training. The workflow runs for real on the
 * Temporal dev server that `npm run services` starts (in the test namespace of
 * test/integration/harness.ts), each test on its own task queues.
 */
import { activityInfo } from '@temporalio/activity';
import { ActivityFailure, ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { RetryState } from '@temporalio/common';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { createPipelineActivities } from '../../activities/pipeline';
import type {
  EvaluateOutput,
  IngestOutput,
  PreprocessOutput,
  PromoteInput,
  RegisterOutput,
  SnapshotOutput,
  SnapshotPartInput,
  SnapshotPartOutput,
  TrainOutput,
  ValidateBatchInput,
  ValidateOutput,
} from '../../activities/types';
import { WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { ArtifactError, ChampionMovedError, DataValidationError, PERMANENT_ERRORS } from '../../src/errors';
import type { ClassificationMetrics } from '../../src/metrics';
import type { Aliases } from '../../src/registry';
import { loadModelSpecFile, releaseSpec, type ModelSpec } from '../../src/spec';
import { ensureNamespace } from '../../src/temporal';
import { trainingQueueFor } from '../../src/temporal/task-queues';
import { bundleWorkflows } from '../../src/worker/create';
import { pipelineStatusQuery, SA_STAGE, SA_VERSION, type PipelineStatus, type RetrainInput, type RetrainResult } from '../../workflows/definitions';
import type { RetrainingPipeline } from '../../workflows';
import { testConfig, uniqueId } from '../integration/harness';

type Activities = ReturnType<typeof createPipelineActivities>;
type Mocks = Partial<Activities>;

const STAGES = ['ingest', 'validate', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote'];
/** The activities of those stages: validate is one activity per batch, the snapshot's id is summed in parts first. */
const ACTIVITIES = ['ingest', 'validateBatch', 'snapshotPart', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote'];
const HEAVY = ['ingest', 'validateBatch', 'snapshotPart', 'snapshot', 'preprocess', 'train', 'evaluate'];
const model = 'weather';

// Failing workflows and activities are what these tests are about: keep the log to errors.
Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

let env: TestWorkflowEnvironment;
let namespace: string;
let bundle: WorkflowBundleWithSourceMap;
let spec: ModelSpec;

beforeAll(async () => {
  const config = testConfig();
  namespace = config.temporalNamespace;
  // Never createLocal/createTimeSkipping here: they download a server.
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress, namespace });
  await ensureNamespace(env.connection, namespace);
  bundle = await bundleWorkflows();
  spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
});

afterAll(async () => {
  await env?.teardown();
});

// ---- canned activity outputs -------------------------------------------------

const SNAPSHOT_SHA = 'a1'.repeat(32);
const batch = { key: `datasets/${model}/incoming/seattle-2015.csv`, sha256: 'b2'.repeat(32), bytes: 12_345 };

const SPEC_SHA = 'c3'.repeat(32);
/** The champion in production, trained on an older snapshot. */
const CHAMPION = { version: 'v1', snapshotSha256: 'd4'.repeat(32), codeVersion: 'deadbeef', specSha256: SPEC_SHA };
function ingestOutput(over: Partial<IngestOutput> = {}): IngestOutput {
  return {
    spec,
    specSha256: SPEC_SHA,
    specKey: `specs/${model}/${SPEC_SHA}.json`,
    codeVersion: 'deadbeef',
    base: null,
    batches: [batch],
    champion: CHAMPION,
    ...over,
  };
}
const validateOutput: ValidateOutput = {
  accepted: [{ ...batch, validatedKey: `datasets/${model}/validated/b2.csv`, rows: 365, rejectedRows: 0, timeRange: { from: '2015-01-01', to: '2015-12-31' } }],
  rowsAccepted: 365,
  rowsRejected: 0,
};
/** The row-set sums of the one part (the validated batch). */
const partOutput: SnapshotPartOutput = { rows: 365, hi: '123456789012345678901', lo: '98765432109876543210' };
const snapshotOutput: SnapshotOutput = {
  sha256: SNAPSHOT_SHA,
  key: `datasets/${model}/snapshots/${SNAPSHOT_SHA}.csv`,
  rows: 1461,
  batches: [batch],
  created: true,
};
const preprocessOutput: PreprocessOutput = {
  preprocessorKey: `models/${model}/staging/run/preprocessor.json`,
  trainRows: 1169,
  holdoutRows: 292,
  holdoutFrom: '2015-03-15',
  inputColumns: 8,
  classes: ['drizzle', 'fog', 'rain', 'snow', 'sun'],
};
const trainOutput: TrainOutput = {
  modelJsonKey: `models/${model}/staging/run/model.json`,
  weightsKey: `models/${model}/staging/run/weights.bin`,
  backend: 'cpu',
  epochs: 40,
  resumedFromEpoch: null,
  finalLoss: 0.61,
  trainSeconds: 3.2,
};
const metrics = (accuracy: number): ClassificationMetrics => ({
  task: 'classification',
  n: 292,
  accuracy,
  macroF1: accuracy - 0.2,
  weightedF1: accuracy - 0.05,
  logLoss: 0.7,
  perClass: [],
  confusion: [],
  classes: preprocessOutput.classes!,
});
function evaluateOutput(passed: boolean): EvaluateOutput {
  return {
    reportKey: `models/${model}/staging/run/metrics.json`,
    candidate: metrics(passed ? 0.84 : 0.72),
    champion: null,
    baseline: 0.44,
    gate: {
      passed,
      checks: [
        { name: 'minAccuracy', passed, detail: passed ? 'accuracy 0.84 >= minAccuracy 0.6' : 'accuracy 0.72 < minAccuracy 0.99' },
        { name: 'mustBeatBaseline', passed: true, detail: 'accuracy beats the baseline 0.44' },
      ],
    },
  };
}
// The workflow reads only the version of the lineage and the champion of the aliases.
const lineage = (version: string) => ({ model, version }) as RegisterOutput;
const aliases = (champion: string | null, previous: string | null): Aliases => ({ model, champion, previous, canary: null, canaryWeight: 0, history: [] });

/** Activities of a pipeline whose candidate passes the gate: v2 replaces champion v1 (or becomes the first one). */
function happyPath(over: Mocks = {}): Mocks {
  return {
    ingest: async () => ingestOutput(),
    validateBatch: async () => ({ accepted: validateOutput.accepted[0], rowsAccepted: 365, rowsRejected: 0 }),
    snapshotPart: async () => partOutput,
    snapshot: async () => snapshotOutput,
    preprocess: async () => preprocessOutput,
    train: async () => trainOutput,
    evaluate: async () => evaluateOutput(true),
    register: async () => lineage('v2'),
    promote: async ({ version }: PromoteInput) => aliases(version, 'v1'),
    unregister: async () => true,
    revertPromotion: async () => aliases('v1', null),
    discardRun: async () => ({ removed: 0 }),
    ...over,
  };
}

// ---- running the workflow -----------------------------------------------------

interface Call {
  name: string;
  args: unknown[];
  taskQueue: string;
  attempt: number;
}

interface Run {
  result?: RetrainResult;
  error?: unknown;
  /** Every activity attempt, in the order they started. */
  calls: Call[];
  status: PipelineStatus;
  /** Search attributes PerennialStage and PerennialVersion, as the Temporal UI shows them. */
  stage: string | undefined;
  version: string | undefined;
  taskQueue: string;
}

/** Runs RetrainingPipeline on fresh task queues with the mocked activities on both (light and training). */
async function runPipeline(mocks: Mocks, input: Partial<RetrainInput> = {}): Promise<Run> {
  const taskQueue = `branches-${uniqueId()}`;
  const calls: Call[] = [];
  const activities = Object.fromEntries(
    Object.entries(mocks).map(([name, fn]) => [
      name,
      async (...args: unknown[]) => {
        const info = activityInfo();
        calls.push({ name, args, taskQueue: info.taskQueue, attempt: info.attempt });
        return (fn as (...a: unknown[]) => Promise<unknown>)(...args);
      },
    ]),
  );
  const main = await Worker.create({ connection: env.nativeConnection, namespace, taskQueue, workflowBundle: bundle, activities });
  const training = await Worker.create({ connection: env.nativeConnection, namespace, taskQueue: trainingQueueFor(taskQueue), activities });
  const run = async (): Promise<Run> => {
    const handle: WorkflowHandle<typeof RetrainingPipeline> = await env.client.workflow.start<typeof RetrainingPipeline>('RetrainingPipeline', {
      taskQueue,
      workflowId: `retrain/${model}/branches-${uniqueId()}`,
      args: [{ model, trigger: 'manual', ...input }],
      workflowExecutionTimeout: '1 minute',
    });
    let result: RetrainResult | undefined;
    let error: unknown;
    try {
      result = await handle.result();
    } catch (e) {
      error = e;
    }
    const description = await handle.describe();
    return {
      result,
      error,
      calls,
      status: await handle.query(pipelineStatusQuery),
      stage: description.typedSearchAttributes.get(SA_STAGE),
      version: description.typedSearchAttributes.get(SA_VERSION),
      taskQueue,
    };
  };
  return main.runUntil(training.runUntil(run()));
}

/** The activity failure that failed the workflow, and the application error inside it. */
function failureOf(run: Run): { activity: ActivityFailure; cause: ApplicationFailure } {
  expect(run.error, 'the workflow was expected to fail').toBeInstanceOf(WorkflowFailedError);
  const activity = (run.error as WorkflowFailedError).cause;
  expect(activity).toBeInstanceOf(ActivityFailure);
  const cause = (activity as ActivityFailure).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return { activity: activity as ActivityFailure, cause: cause as ApplicationFailure };
}

const names = (run: Run) => run.calls.map((c) => c.name);
const callsOf = (run: Run, name: string) => run.calls.filter((c) => c.name === name);

// ---- the branches ------------------------------------------------------------

describe('RetrainingPipeline branches (mocked activities)', () => {
  it('promoted: every stage once, in order, heavy stages on the training queue, and the result names the new champion', async () => {
    const run = await runPipeline(happyPath(), { trigger: 'drift' });
    expect(run.error).toBeUndefined();
    expect(names(run)).toEqual(ACTIVITIES);
    for (const call of run.calls) expect(call.taskQueue, call.name).toBe(HEAVY.includes(call.name) ? trainingQueueFor(run.taskQueue) : run.taskQueue);
    expect(run.result).toMatchObject({
      model,
      trigger: 'drift',
      outcome: 'promoted',
      version: 'v2',
      champion: 'v2',
      snapshot: SNAPSHOT_SHA,
      gate: { passed: true },
      metrics: { candidate: { accuracy: 0.84 }, champion: null, baseline: 0.44 },
    });
    expect(run.result!.message).toBe(`${model}/v2 promoted to champion (previous: v1)`);
    expect(run.result!.stages.map((s) => [s.stage, s.status])).toEqual(STAGES.map((s) => [s, 'completed']));
    // Each stage is handed what the ones before returned.
    expect(callsOf(run, 'snapshot')[0]!.args[0]).toMatchObject({ model, base: null, accepted: validateOutput.accepted, parts: [partOutput] });
    expect(callsOf(run, 'evaluate')[0]!.args[0]).toMatchObject({
      snapshot: snapshotOutput,
      preprocess: preprocessOutput,
      train: trainOutput,
      champion: CHAMPION,
    });
    expect(callsOf(run, 'register')[0]!.args[0]).toMatchObject({ model, trigger: 'drift', specSha256: SPEC_SHA, codeVersion: 'deadbeef', train: trainOutput });
    expect(callsOf(run, 'promote')[0]!.args[0]).toMatchObject({ model, version: 'v2' });
    // The Temporal UI shows the outcome and the version.
    expect(run.stage).toBe('promoted');
    expect(run.version).toBe('v2');
  });

  describe('unchanged', () => {
    const sameAsChampion = { ...CHAMPION, snapshotSha256: SNAPSHOT_SHA };

    it('stops after snapshot when data, code and spec are the champion’s: nothing trained, the champion stays', async () => {
      const run = await runPipeline(happyPath({ ingest: async () => ingestOutput({ champion: sameAsChampion }) }));
      expect(names(run)).toEqual(['ingest', 'validateBatch', 'snapshotPart', 'snapshot']);
      expect(run.result).toMatchObject({ outcome: 'unchanged', champion: 'v1', snapshot: SNAPSHOT_SHA });
      expect(run.result!.version).toBeUndefined();
      expect(run.result!.stages.map((s) => s.stage)).toEqual(['ingest', 'validate', 'snapshot']);
      expect(run.stage).toBe('unchanged');
    });

    it('retrains the same snapshot when forced, when the code changed, or when the spec changed', async () => {
      const forced = await runPipeline(happyPath({ ingest: async () => ingestOutput({ champion: sameAsChampion }) }), { force: true });
      expect(names(forced)).toEqual(ACTIVITIES);
      expect(forced.result).toMatchObject({ outcome: 'promoted', version: 'v2' });
      const newCode = await runPipeline(happyPath({ ingest: async () => ingestOutput({ champion: sameAsChampion, codeVersion: 'cafef00d' }) }));
      expect(names(newCode)).toEqual(ACTIVITIES);
      const newSpec = await runPipeline(happyPath({ ingest: async () => ingestOutput({ champion: sameAsChampion, specSha256: 'e5'.repeat(32) }) }));
      expect(names(newSpec)).toEqual(ACTIVITIES);
    });
  });

  it('rejected by the gate: nothing registered or promoted, the failed check is in the message, the champion stays', async () => {
    const run = await runPipeline(happyPath({ evaluate: async () => evaluateOutput(false) }));
    expect(run.error).toBeUndefined();
    // A rejected run removes what it staged (its candidate, its checkpoints) before it ends.
    expect(names(run)).toEqual([...ACTIVITIES.slice(0, 7), 'discardRun']);
    expect(run.result).toMatchObject({ outcome: 'rejected', champion: 'v1', gate: { passed: false } });
    expect(run.result!.message).toContain('accuracy 0.72 < minAccuracy 0.99');
    expect(run.result!.message).not.toContain('beats the baseline'); // only the failed checks
    expect(run.result!.stages.at(-1)).toMatchObject({ stage: 'evaluate', status: 'completed' });
    expect(run.stage).toBe('rejected');
    expect(run.version).toBeUndefined();
  });

  it('the first run of a model (no champion) promotes v1 with no previous', async () => {
    const run = await runPipeline(
      happyPath({
        ingest: async () => ingestOutput({ champion: null }),
        register: async () => lineage('v1'),
        promote: async () => aliases('v1', null),
      }),
    );
    expect(callsOf(run, 'evaluate')[0]!.args[0]).toMatchObject({ champion: null });
    expect(run.result).toMatchObject({ outcome: 'promoted', version: 'v1', champion: 'v1' });
    expect(run.result!.message).toBe(`${model}/v1 promoted to champion`);
  });

  describe('saga', () => {
    const promoteFails = happyPath({
      promote: async () => {
        throw ApplicationFailure.nonRetryable('registry unavailable after the champion moved', 'InjectedFault');
      },
    });

    it('promote fails after register: revertPromotion then unregister of that version, and the workflow fails with the cause', async () => {
      const run = await runPipeline(promoteFails);
      expect(names(run)).toEqual([...ACTIVITIES, 'revertPromotion', 'unregister', 'discardRun']);
      expect(callsOf(run, 'revertPromotion')[0]!.args).toEqual([model, 'v2']);
      expect(callsOf(run, 'unregister')[0]!.args).toEqual([model, 'v2']);
      const { activity, cause } = failureOf(run);
      expect(activity.activityType).toBe('promote');
      expect(cause.message).toBe('registry unavailable after the champion moved');
      expect(cause.type).toBe('InjectedFault');
      // Where it failed and what was undone, for the UI and the status query.
      expect(run.stage).toBe('failed');
      expect(run.status.outcome).toBe('failed');
      expect(run.status.stages.slice(-4).map((s) => [s.stage, s.status, s.detail])).toEqual([
        ['register', 'completed', `${model}/v2`],
        ['promote', 'failed', expect.any(String)],
        ['compensate', 'completed', 'revert promotion of v2: done'],
        ['compensate', 'completed', 'unregister v2: done'],
      ]);
    });

    it('a compensation that fails does not stop the next one, and the workflow fails with the original error', async () => {
      const run = await runPipeline({
        ...promoteFails,
        revertPromotion: async () => {
          throw ApplicationFailure.nonRetryable('aliases.json is locked', 'InjectedFault');
        },
      });
      expect(names(run)).toEqual([...ACTIVITIES, 'revertPromotion', 'unregister', 'discardRun']);
      expect(failureOf(run).cause.message).toBe('registry unavailable after the champion moved');
      expect(run.status.stages.slice(-2).map((s) => [s.status, s.detail])).toEqual([
        ['failed', expect.stringContaining('revert promotion of v2: failed')],
        ['completed', 'unregister v2: done'],
      ]);
    });

    it('the champion moved while the run was in flight: promote refuses, the version is unregistered, the run ends rejected with the reason', async () => {
      const moved = new ChampionMovedError(model, 'v2', 'v1', 'v3');
      const run = await runPipeline(
        happyPath({
          promote: async () => {
            throw ApplicationFailure.create({ type: moved.name, message: moved.message, nonRetryable: true, details: [{ current: 'v3' }] });
          },
        }),
      );
      // Promote was asked to promote only over the champion the candidate was evaluated against.
      expect(callsOf(run, 'promote')[0]!.args[0]).toMatchObject({ model, version: 'v2', expectedChampion: 'v1' });
      expect(names(run)).toEqual([...ACTIVITIES, 'revertPromotion', 'unregister']);
      expect(run.error).toBeUndefined();
      expect(run.result).toMatchObject({ outcome: 'rejected', champion: 'v3', gate: { passed: true } });
      expect(run.result!.message).toContain('was evaluated against champion v1, but the champion is now v3');
      expect(run.stage).toBe('rejected');
    });

    it('a failure before register has nothing to undo', async () => {
      const run = await runPipeline(
        happyPath({
          register: async () => {
            throw ApplicationFailure.nonRetryable('bundle incomplete', 'InjectedFault');
          },
        }),
      );
      expect(names(run)).toEqual([...ACTIVITIES.slice(0, 8), 'discardRun']);
      expect(failureOf(run).activity.activityType).toBe('register');
      expect(run.stage).toBe('failed');
    });
  });

  it('a batch that fails validation fails the workflow with its message at once, after every batch was checked', async () => {
    const bad = { key: `datasets/${model}/incoming/bad-2016.csv`, sha256: 'e5'.repeat(32), bytes: 99 };
    const refusal = `${bad.key}: 3 of 20 rows are invalid (15.0% > errorBudget 5.0%)`;
    const run = await runPipeline(
      happyPath({
        ingest: async () => ingestOutput({ batches: [batch, bad] }),
        validateBatch: async ({ batch: b }: ValidateBatchInput) =>
          b.key === bad.key
            ? { failure: refusal, rowsAccepted: 0, rowsRejected: 20 }
            : { accepted: validateOutput.accepted[0], rowsAccepted: 365, rowsRejected: 0 },
      }),
    );
    // Both batches were validated (in parallel), each once: the good one is kept, the bad one is in quarantine.
    expect(names(run).sort()).toEqual(['discardRun', 'ingest', 'validateBatch', 'validateBatch']);
    expect(
      callsOf(run, 'validateBatch')
        .map((c) => (c.args[0] as ValidateBatchInput).batch.key)
        .sort(),
    ).toEqual([bad.key, batch.key].sort());
    expect(run.error, 'the workflow was expected to fail').toBeInstanceOf(WorkflowFailedError);
    const cause = (run.error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect(cause.type).toBe('DataValidationError');
    expect(cause.nonRetryable).toBe(true);
    const message = `1 batch(es) rejected and moved to datasets/${model}/quarantine/; the champion is untouched: ${refusal}`;
    expect(cause.message).toBe(message);
    expect(cause.details).toEqual([{ failures: [refusal] }]);
    expect(run.stage).toBe('failed');
    expect(run.status.stages.at(-1)).toMatchObject({ stage: 'validate', status: 'failed', detail: message });
  });

  it("records the trigger's evidence and the champion it was compared with in the version it registers", async () => {
    const run = await runPipeline(happyPath(), { trigger: 'drift', reason: 'share of drifted columns 0.6 (drift/weather/r1.json)' });
    expect(run.result?.outcome).toBe('promoted');
    expect(callsOf(run, 'register')[0]!.args[0]).toMatchObject({
      trigger: 'drift',
      triggerReason: 'share of drifted columns 0.6 (drift/weather/r1.json)',
      parent: CHAMPION.version,
    });
  });

  it('sums a large base snapshot in row ranges of partitionRows, and the batches whole, on the training queue', async () => {
    const base = {
      ...snapshotOutput,
      key: `datasets/${model}/snapshots/${SNAPSHOT_SHA}.parquet`,
      fileSha256: 'f6'.repeat(32),
      rows: 1_200_000,
      timeRange: { from: '2012-01-01', to: '2014-12-31' },
    };
    const run = await runPipeline(happyPath({ ingest: async () => ingestOutput({ base }) }), { partitionRows: 500_000 });
    expect(run.result?.outcome).toBe('promoted');
    const parts = callsOf(run, 'snapshotPart').map((c) => (c.args[0] as SnapshotPartInput).part);
    expect(parts).toEqual(
      expect.arrayContaining([
        { key: base.key, fileSha256: base.fileSha256, range: { from: 0, to: 500_000 } },
        { key: base.key, fileSha256: base.fileSha256, range: { from: 500_000, to: 1_000_000 } },
        { key: base.key, fileSha256: base.fileSha256, range: { from: 1_000_000, to: 1_200_000 } },
        { key: validateOutput.accepted[0]!.validatedKey },
      ]),
    );
    expect(parts).toHaveLength(4);
    for (const call of callsOf(run, 'snapshotPart')) {
      expect(call.taskQueue).toBe(trainingQueueFor(run.taskQueue));
      // The spec's window is the last 1461 days, counted back from the newest row of any input (2015-12-31, day 16,800).
      expect((call.args[0] as SnapshotPartInput).sinceDay).toBe(16_800 - 1460);
    }
    expect((callsOf(run, 'snapshot')[0]!.args[0] as { parts: unknown[] }).parts).toEqual([partOutput, partOutput, partOutput, partOutput]);
    expect(run.result!.stages.find((s) => s.stage === 'snapshot')!.detail).toMatch(/; 4 part\(s\) summed on the training workers$/);
  });

  it("builds a 'rows' window snapshot in one activity (its id needs every row in one place)", async () => {
    const rowsWindow = { ...spec, data: { ...spec.data, window: { kind: 'rows' as const, maxRows: 1000 } } };
    const run = await runPipeline(happyPath({ ingest: async () => ingestOutput({ spec: rowsWindow }) }));
    expect(names(run)).toEqual(ACTIVITIES.filter((a) => a !== 'snapshotPart'));
    expect(callsOf(run, 'snapshot')[0]!.args[0]).not.toHaveProperty('parts');
  });

  it('a cleanup that fails does not hide why the run failed', async () => {
    const run = await runPipeline(
      happyPath({
        train: async () => {
          throw new DataValidationError('no rows left after the window');
        },
        discardRun: async () => {
          throw new ArtifactError('models/weather/staging/run/', 'injected cleanup failure');
        },
      }),
    );
    expect(names(run)).toEqual([...ACTIVITIES.slice(0, 6), 'discardRun']);
    const { activity, cause } = failureOf(run);
    expect(activity.activityType).toBe('train');
    expect(cause.message).toBe('no rows left after the window');
  });

  describe('retries', () => {
    // An instance of each permanent error class of src/errors.ts (built on its prototype, so every class,
    // whatever its constructor takes, is covered); the SDK reports its class name as the failure type.
    const instanceOf = (errorClass: (typeof PERMANENT_ERRORS)[number]): Error =>
      Object.assign(Object.create(errorClass.prototype) as Error, { name: errorClass.name, message: `a permanent ${errorClass.name}` });

    it.each(PERMANENT_ERRORS.map((e) => [e.name, e] as const))('%s thrown by an activity is not retried', async (type, errorClass) => {
      const permanent = instanceOf(errorClass);
      expect(permanent).toBeInstanceOf(errorClass);
      const run = await runPipeline(
        happyPath({
          ingest: async () => {
            throw permanent;
          },
        }),
      );
      expect(callsOf(run, 'ingest').map((c) => c.attempt)).toEqual([1]);
      const { activity, cause } = failureOf(run);
      expect(cause.type).toBe(type);
      expect(activity.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
    });

    it('a transient error is retried, and the pipeline goes on', async () => {
      let failures = 0;
      const run = await runPipeline(
        happyPath({
          ingest: async () => {
            if (failures++ === 0) throw new Error('read ECONNRESET');
            return ingestOutput();
          },
        }),
      );
      expect(callsOf(run, 'ingest').map((c) => c.attempt)).toEqual([1, 2]);
      expect(run.result?.outcome).toBe('promoted');
    });
  });
});

// ---- a spec with a release ----------------------------------------------------

describe('RetrainingPipeline with a release in the spec (mocked activities, the real ReleaseWorkflow as its child)', () => {
  const release = releaseSpec.parse({ strategy: 'ab', weight: 0.5, lookEverySeconds: 1, minLabels: 50, margin: 0.05 });
  const arm = (n: number, p: number) => ({ n, mean: p, m2: n * p * (1 - p) });
  const releasing = (candidateError: number, over: Mocks = {}) =>
    happyPath({
      ingest: async () => ingestOutput({ spec: { ...spec, release } }),
      startRelease: async () => aliases('v1', null),
      analyzeRelease: async () => ({
        totals: { candidate: arm(3000, candidateError), champion: arm(3000, 0.2) },
        guards: [],
        parts: { feedback: 1, predictions: 0 },
      }),
      endRelease: async ({ outcome }) => aliases(outcome === 'promoted' ? 'v2' : 'v1', outcome === 'promoted' ? 'v1' : null),
      recordRelease: async () => `models/${model}/releases/v2.json`,
      ...over,
    });
  const RELEASED = [...ACTIVITIES.slice(0, 8), 'startRelease', 'recordRelease', 'analyzeRelease', 'endRelease', 'recordRelease'];

  it('releases the registered candidate instead of promoting it: promoted once the release shows it no worse', async () => {
    const run = await runPipeline(releasing(0.2));
    expect(run.error).toBeUndefined();
    expect(names(run)).toEqual(RELEASED);
    expect(callsOf(run, 'startRelease')[0]!.args[0]).toMatchObject({ model, candidate: 'v2', mode: 'ab', weight: 0.5, expectedChampion: 'v1' });
    expect(run.result).toMatchObject({ outcome: 'promoted', version: 'v2', champion: 'v2' });
    expect(run.result!.message).toMatch(/^weather\/v2 promoted to champion after its ab release \(previous: v1\): the candidate is no worse/);
    expect(run.result!.stages.map((s) => [s.stage, s.status])).toEqual([...STAGES.slice(0, 7), 'release'].map((s) => [s, 'completed']));
  });

  it('a candidate the release finds worse is rolled back: the run ends rejected, the version stays registered as evidence', async () => {
    const run = await runPipeline(releasing(0.45));
    expect(run.error).toBeUndefined();
    expect(names(run)).toEqual(RELEASED);
    expect(callsOf(run, 'endRelease')[0]!.args[0]).toMatchObject({ outcome: 'rolled-back' });
    expect(names(run)).not.toContain('unregister');
    expect(run.result).toMatchObject({ outcome: 'rejected', version: 'v2', champion: 'v1' });
    expect(run.result!.message).toMatch(/^weather\/v2 rolled back after its ab release; champion v1 stays: the candidate is worse than the champion/);
    expect(run.result!.stages.at(-1)).toMatchObject({ stage: 'release', status: 'failed' });
  });

  it('a release the registry refuses to start (the champion moved) ends the run rejected, nothing moved', async () => {
    const run = await runPipeline(
      releasing(0.2, {
        startRelease: async () => {
          throw ApplicationFailure.create({
            type: 'ReleaseRefusedError',
            message: 'release of weather/v2 refused: the champion is v3 now, not v1',
            nonRetryable: true,
            details: [{ kind: 'champion-moved' }],
          });
        },
      }),
    );
    expect(run.error).toBeUndefined();
    // The release's own rollback is tried (and refused by the real registry); the version, which never took traffic, is unregistered.
    expect(names(run)).toEqual([...ACTIVITIES.slice(0, 8), 'startRelease', 'endRelease', 'recordRelease', 'unregister']);
    expect(run.result).toMatchObject({ outcome: 'rejected', version: 'v2' });
    expect(run.result!.message).toBe('weather/v2 was not released (and is unregistered): release of weather/v2 refused: the champion is v3 now, not v1');
  });
});
