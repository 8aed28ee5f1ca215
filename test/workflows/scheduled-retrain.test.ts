/**
 * ScheduledRetrain on the Temporal dev server (the test namespace), with the
 * real ModelMonitor and the real activities that ask it for a run and wait
 * for that run; only the registry's answer and the pipeline's ingest are
 * stand-ins (a run waits at ingest until the test lets it go, then fails), so
 * which run a scheduled trigger started or joined, and when the scheduled
 * workflow ends, are what is checked. Each test has its own model.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetrainRunActivities } from '../../activities/retrain-runs';
import { createScheduledRetrainActivities } from '../../activities/scheduled-retrain';
import { ensureNamespace } from '../../src/temporal';
import { trainingQueueFor } from '../../src/temporal/task-queues';
import { bundleWorkflows } from '../../src/worker/create';
import { workflowIds, type RetrainInput } from '../../workflows/definitions';
import type { ModelMonitor, ScheduledRetrain } from '../../workflows';
import { monitorStatusQuery, triggerUpdate } from '../../workflows/monitor';
import { scheduledRetrainId, type ScheduledRetrainResult } from '../../workflows/scheduled-retrain';
import { testConfig, uniqueId } from '../integration/harness';

Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let taskQueue: string;
let worker: { stop(): Promise<void> };
/** Released runs: the n-th ingest waits until n runs are released. */
let calls = 0;
let released = 0;
const ended: string[] = [];

beforeAll(async () => {
  const config = testConfig();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress, namespace: config.temporalNamespace });
  await ensureNamespace(env.connection, config.temporalNamespace);
  bundle = await bundleWorkflows();
  taskQueue = `scheduled-retrain-${uniqueId()}`;
  const activities = {
    ...createScheduledRetrainActivities(),
    ...createRetrainRunActivities(),
    monitorContext: async () => ({ champion: 'v1', holdout: { accuracy: 0.8 } }),
    ingest: async () => {
      const n = ++calls;
      while (released < n) await new Promise((r) => setTimeout(r, 50));
      throw ApplicationFailure.nonRetryable('stand-in: the run ends here', 'DataValidationError');
    },
    discardRun: async () => ({ removed: 0 }),
  };
  const common = { connection: env.nativeConnection, namespace: config.temporalNamespace, activities };
  const main = await Worker.create({ ...common, taskQueue, workflowBundle: bundle });
  const training = await Worker.create({ ...common, taskQueue: trainingQueueFor(taskQueue) });
  const running = Promise.all([main.run(), training.run()]);
  worker = {
    async stop() {
      released = Infinity;
      main.shutdown();
      training.shutdown();
      await running;
    },
  };
});

afterAll(async () => {
  for (const id of ended)
    await env.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await worker?.stop();
  await env?.teardown();
});

async function until(what: string, check: () => Promise<boolean>, seconds = 45): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function newModel(): string {
  const model = `sched-${uniqueId()}`;
  ended.push(`monitor/${model}`, workflowIds.retrain(model));
  return model;
}

/** Every run of retrain/<model> so far, oldest first, with its input (trigger and reason). */
async function runsOf(model: string): Promise<{ runId: string; input: RetrainInput }[]> {
  const runs: { runId: string; input: RetrainInput; start: number }[] = [];
  for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowIds.retrain(model)}'` })) {
    const history = await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    runs.push({ runId: w.runId, input: JSON.parse(Buffer.from(payload.data!).toString()) as RetrainInput, start: w.startTime.getTime() });
  }
  return runs.sort((a, b) => a.start - b.start);
}

function startScheduled(model: string, name: string): Promise<WorkflowHandle<typeof ScheduledRetrain>> {
  return env.client.workflow.start<typeof ScheduledRetrain>('ScheduledRetrain', {
    taskQueue,
    workflowId: `${scheduledRetrainId(model)}-${name}`,
    args: [{ model, schedule: 'every day (00:00 UTC)', requestedBy: scheduledRetrainId(model) }],
  });
}

const running = async (h: WorkflowHandle) => (await h.describe()).status.name === 'RUNNING';

describe('ScheduledRetrain', () => {
  it('started: with no monitor running it starts one, triggers a run (source schedule) and ends when that run ends', async () => {
    const model = newModel();
    const scheduled = await startScheduled(model, 'started');
    await until('a run', async () => (await runsOf(model)).length === 1);
    const [run] = await runsOf(model);
    expect(run!.input).toMatchObject({ model, trigger: 'schedule', reason: 'scheduled retraining (every day (00:00 UTC))' });
    const monitor = env.client.workflow.getHandle<typeof ModelMonitor>(`monitor/${model}`);
    expect((await monitor.describe()).type).toBe('ModelMonitor');
    expect((await monitor.query(monitorStatusQuery)).triggers).toMatchObject([
      { source: 'schedule', requestedBy: scheduledRetrainId(model), outcome: 'started', reason: 'scheduled retraining (every day (00:00 UTC))' },
    ]);
    // It waits for the run: still running while the run is in flight.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await running(scheduled)).toBe(true);
    released += 1;
    const result: ScheduledRetrainResult = await scheduled.result();
    expect(result.answer).toMatchObject({ outcome: 'started', workflowId: workflowIds.retrain(model) });
    expect(result.run).toMatchObject({ workflowId: workflowIds.retrain(model), runId: run!.runId, outcome: 'failed' });
    expect(result.run!.message).toContain('stand-in: the run ends here');
    expect((await runsOf(model)).length).toBe(1);
  }, 90_000);

  it('joined: behind a run in flight and a queued trigger, it waits for the queued run, not the one in flight', async () => {
    const model = newModel();
    // The monitor with a person's run in flight and another trigger queued behind it.
    const scheduled0 = await startScheduled(model, 'warm-up');
    await until('the first run', async () => (await runsOf(model)).length === 1);
    const monitor = env.client.workflow.getHandle<typeof ModelMonitor>(`monitor/${model}`);
    expect((await monitor.executeUpdate(triggerUpdate, { args: [{ reason: 'a person asks too', requestedBy: 'ana' }] })).outcome).toBe('queued');
    const scheduled = await startScheduled(model, 'joined');
    await until('the trigger recorded', async () => (await monitor.query(monitorStatusQuery)).triggers.length === 3);
    expect((await monitor.query(monitorStatusQuery)).triggers.at(-1)).toMatchObject({ source: 'schedule', outcome: 'joined' });
    released += 1; // the first run ends; the queued one starts
    await scheduled0.result();
    await until('the queued run', async () => (await runsOf(model)).length === 2);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await running(scheduled)).toBe(true);
    released += 1;
    const result = await scheduled.result();
    const runs = await runsOf(model);
    expect(result.answer.outcome).toBe('joined');
    expect(result.run!.runId).toBe(runs[1]!.runId);
    expect(runs[1]!.input).toMatchObject({ trigger: 'manual', reason: 'a person asks too' });
    expect(runs.length).toBe(2);
  }, 90_000);

  it('failed-to-reach: an older workflow under monitor/<model> takes no trigger; it fails saying what to do', async () => {
    const model = newModel();
    await env.client.workflow.start('FeedbackReceiver', { taskQueue, workflowId: `monitor/${model}`, args: [{ model }] });
    const scheduled = await startScheduled(model, 'failed-to-reach');
    const error = await scheduled.result().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause as ApplicationFailure;
    expect(cause.type).toBe('MonitorUnreachable');
    expect(cause.message).toMatch(
      new RegExp(
        `^${model}: could not reach monitor/${model}: monitor/${model} runs FeedbackReceiver, not ModelMonitor, and takes no 'trigger' update: end it`,
      ),
    );
    expect(await runsOf(model)).toEqual([]);
  }, 60_000);
});
