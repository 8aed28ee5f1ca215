/**
 * ModelMonitor on the Temporal dev server (the test namespace of
 * test/integration/harness.ts), with stand-in activities: the registry's
 * answer (champion v1, its holdout accuracy) and a retraining run whose ingest
 * waits until the test lets it go, then fails (so a run's start, its trigger
 * and its reason are what is checked, in seconds). Each test has its own
 * model, so its own monitor/<model> and retrain/<model>.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { ServiceError, type WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRetrainRunActivities } from '../../activities/retrain-runs';
import { ensureNamespace } from '../../src/temporal';
import { trainingQueueFor } from '../../src/temporal/task-queues';
import { bundleWorkflows } from '../../src/worker/create';
import { SA_TRIGGER, workflowIds, type RetrainInput } from '../../workflows/definitions';
import type { ModelMonitor } from '../../workflows';
import {
  monitorDriftSignal,
  monitorFeedbackSignal,
  monitorRetrainSignal,
  monitorStatusQuery,
  setThresholdsUpdate,
  triggerUpdate,
} from '../../workflows/monitor';
import { testConfig, uniqueId } from '../integration/harness';

Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const stops = new Set<() => Promise<void>>();

beforeAll(async () => {
  const config = testConfig();
  env = await TestWorkflowEnvironment.createFromExistingServer({ address: config.temporalAddress, namespace: config.temporalNamespace });
  await ensureNamespace(env.connection, config.temporalNamespace);
  bundle = await bundleWorkflows();
});

/** Monitors run until ended: the tests end theirs (and their runs in flight: ABANDON keeps them otherwise). */
const monitors: WorkflowHandle[] = [];

afterAll(async () => {
  for (const handle of monitors) {
    await handle.terminate('test over').catch(() => undefined);
    await env.client.workflow
      .getHandle(workflowIds.retrain(handle.workflowId.slice('monitor/'.length)))
      .terminate('test over')
      .catch(() => undefined);
  }
  for (const stop of stops) await stop();
  await env?.teardown();
});

interface Monitor {
  model: string;
  handle: WorkflowHandle<typeof ModelMonitor>;
  /** Runs started: the retrain inputs, in order. */
  runs: RetrainInput[];
  /** Lets the runs in flight end (each fails at ingest, a stand-in). */
  release(): void;
}

/** What the stand-in registry says; a test changes it (a promotion), and the rollback activity moves the champion back. */
interface Registry {
  champion: string;
  holdout: { accuracy?: number; rmse?: number };
  gate?: { minAccuracy?: number };
  probation?: { hours: number; minLabels: number; maxDrop: number; alpha: number };
  /** Whether data arrived since a moment (after a probation rollback). */
  newData: boolean;
  rollbacks: { from: string; to: string; reason: string }[];
}

async function startMonitor(
  options: { signalsPerRun?: number; refreshEveryMs?: number } = {},
  registry: Partial<Registry> = {},
): Promise<Monitor & { registry: Registry }> {
  const model = `monitor-${uniqueId()}`;
  const reg: Registry = { champion: 'v1', holdout: { accuracy: 0.8 }, newData: false, rollbacks: [], ...registry };
  const taskQueue = `monitor-${uniqueId()}`;
  const runs: RetrainInput[] = [];
  // The n-th run's ingest waits until the test has released n runs (a release before the run reached ingest still counts).
  let calls = 0;
  let released = 0;
  const activities = {
    monitorContext: async ({ dataSince }: { dataSince?: string }) => ({
      champion: reg.champion,
      holdout: reg.holdout,
      ...(reg.gate ? { gate: reg.gate } : {}),
      ...(reg.probation ? { probation: reg.probation } : {}),
      ...(dataSince ? { newData: reg.newData } : {}),
    }),
    rollback: async ({ from, to, reason }: { from: string; to: string; reason: string }) => {
      reg.rollbacks.push({ from, to, reason });
      reg.champion = to;
      return { champion: to, previous: from };
    },
    ingest: async () => {
      const n = ++calls;
      while (released < n) await new Promise((r) => setTimeout(r, 50));
      throw ApplicationFailure.nonRetryable('stand-in: the run ends here', 'DataValidationError');
    },
    discardRun: async () => ({ removed: 0 }),
    // The real wait for a run's end (through the worker's client): the monitor follows its run with it.
    ...createRetrainRunActivities(),
  };
  const common = { connection: env.nativeConnection, namespace: testConfig().temporalNamespace, activities };
  // Workflows in this thread: under CI load, 10,000 signals through a workflow worker thread crashed this process with
  // Node's "async hook stack has become corrupted" on the thread's MessagePort (as temporalio/sdk-typescript#939).
  const main = await Worker.create({ ...common, taskQueue, workflowBundle: bundle, debugMode: true });
  const training = await Worker.create({ ...common, taskQueue: trainingQueueFor(taskQueue) });
  const running = Promise.all([main.run(), training.run()]);
  const stop = async () => {
    if (!stops.delete(stop)) return;
    released = Infinity; // a worker shuts down once its activities end
    main.shutdown();
    training.shutdown();
    await running;
  };
  stops.add(stop);
  const handle = await env.client.workflow.start<typeof ModelMonitor>('ModelMonitor', {
    taskQueue,
    workflowId: `monitor/${model}`,
    args: [{ model, ...options }],
  });
  monitors.push(handle);
  // Every start of retrain/<model>, from its history (its input: trigger and reason).
  const seenRuns = new Set<string>();
  return {
    model,
    handle,
    registry: reg,
    get runs() {
      return runs;
    },
    release: () => {
      released += 1;
    },
    async collectRuns() {
      for await (const w of env.client.workflow.list({ query: `WorkflowId = '${workflowIds.retrain(model)}'` })) {
        if (seenRuns.has(w.runId)) continue;
        seenRuns.add(w.runId);
        const history = await env.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
        const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
        runs.push(JSON.parse(Buffer.from(payload.data!).toString()) as RetrainInput);
      }
    },
  } as Monitor & { registry: Registry; collectRuns(): Promise<void> };
}

async function until(what: string, check: () => Promise<boolean>, seconds = 45): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await checkOrBusy(check))) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * A query the server could not answer while thousands of signals arrive is "not yet", as a person polling would take it:
 * it timed out (DEADLINE_EXCEEDED) while the worker was busy, or it found the workflow task failed (FAILED_PRECONDITION):
 * with more than 100 signals buffered behind a task, the server fails that task (cause FORCE_CLOSE_COMMAND) and
 * schedules one with them all.
 */
async function checkOrBusy(check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch (error) {
    const code = (error as { cause?: { code?: number } }).cause?.code;
    if (error instanceof ServiceError && (code === GRPC_DEADLINE_EXCEEDED || code === GRPC_FAILED_PRECONDITION)) return false;
    throw error;
  }
}
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_FAILED_PRECONDITION = 9;

type Tracked = Monitor & { collectRuns(): Promise<void> };
const status = (m: Monitor) => m.handle.query(monitorStatusQuery);
async function runsOf(m: Monitor): Promise<RetrainInput[]> {
  await (m as Tracked).collectRuns();
  return m.runs;
}
const retrainTrigger = async (m: Monitor) =>
  (await env.client.workflow.getHandle(workflowIds.retrain(m.model)).describe()).typedSearchAttributes.get(SA_TRIGGER);

describe('ModelMonitor: each trigger source starts exactly one run with its reason', () => {
  it('drift: a drifted dataset starts a run; a report without drift does not', async () => {
    const m = await startMonitor();
    await m.handle.signal(monitorDriftSignal, {
      share: 0.1,
      drift: false,
      columns: [{ name: 'wind', method: 'ks', statistic: 0.1, p_value: 0.3, drift: false }],
    });
    await m.handle.signal(monitorDriftSignal, {
      share: 0.5,
      drift: true,
      columns: [
        { name: 'location', method: 'chisquare', statistic: 812, p_value: 0, drift: true },
        { name: 'wind', method: 'ks', statistic: 0.1, p_value: 0.3, drift: false },
      ],
      reportKey: 'reports/m/drift/2026-12-01.json',
    });
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]).toMatchObject({
      model: m.model,
      trigger: 'drift',
      reason: 'dataset drift: 50% of columns drifted (location) (reports/m/drift/2026-12-01.json)',
    });
    await until('the run to show its trigger', async () => (await retrainTrigger(m)) === 'drift');
    const s = await status(m);
    expect(s.drift).toMatchObject({ share: 0.5, drift: true, drifted: ['location'] });
    expect(s.triggers.map((t) => [t.source, t.outcome])).toEqual([['drift', 'started']]);
    m.release();
    await until('the run to end', async () => (await status(m)).lastRun !== null);
    expect((await runsOf(m)).length).toBe(1);
  }, 60_000);

  it('a service: signal retrain starts a run with its reason and who asked', async () => {
    const m = await startMonitor();
    await m.handle.signal(monitorRetrainSignal, { reason: 'new labels from the partner feed', requestedBy: 'partner-sync' });
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]).toMatchObject({ trigger: 'service', reason: 'new labels from the partner feed' });
    expect((await status(m)).triggers[0]).toMatchObject({
      source: 'service',
      requestedBy: 'partner-sync',
      outcome: 'started',
      workflowId: workflowIds.retrain(m.model),
    });
    m.release();
  }, 60_000);

  it('a person: update trigger answers started with the run, then queued, then joined', async () => {
    const m = await startMonitor();
    const first = await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'new feature shipped', requestedBy: 'ana' }] });
    expect(first).toEqual({
      outcome: 'started',
      workflowId: workflowIds.retrain(m.model),
      message: `started ${workflowIds.retrain(m.model)}: new feature shipped`,
    });
    const second = await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'again' }] });
    expect(second.outcome).toBe('queued');
    expect(second.message).toMatch(/^queued: it starts when .* \(in flight, manual\) ends$/);
    expect((await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'and again' }] })).outcome).toBe('joined');
    expect((await runsOf(m))[0]).toMatchObject({ trigger: 'manual', reason: 'new feature shipped' });
    m.release();
    await until('the queued run', async () => (await runsOf(m)).length === 2);
    expect(m.runs[1]).toMatchObject({ trigger: 'manual', reason: 'again' });
    m.release();
  }, 60_000);

  it('performance: the champion under its threshold over the window starts one run, with the figure as evidence', async () => {
    const m = await startMonitor();
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ minAccuracy: 0.7, minLabels: 20, window: 40, cooldownMinutes: 0 }] });
    // 40 labels at 50% accuracy for the champion, in batches; a candidate's labels do not count.
    for (let b = 0; b < 4; b++) {
      await m.handle.signal(monitorFeedbackSignal, {
        items: Array.from({ length: 10 }, (_, i) => ({
          predictionId: `p-${b}-${i}`,
          version: 'v1',
          prediction: 'sun',
          label: i % 2 === 0 ? 'sun' : 'rain',
        })),
      });
    }
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]!.trigger).toBe('performance');
    // The first look with 20 labels or more that knows the champion (its registry read may land after the first batches).
    expect(m.runs[0]!.reason).toMatch(/^live performance of v1 below its threshold \(accuracy 0\.500 < minAccuracy 0\.7 over its last (20|30|40) labels\)$/);
    const s = await status(m);
    expect(s.live.v1!.all).toMatchObject({ labels: 40, accuracy: 0.5 });
    expect(s.live.v1!.window.labels).toBe(40);
    // More bad labels during the run start nothing more.
    await m.handle.signal(monitorFeedbackSignal, { items: [{ predictionId: 'p-more', version: 'v1', prediction: 'sun', label: 'rain' }] });
    m.release();
    await until('the run to end', async () => (await status(m)).lastRun !== null);
    expect((await runsOf(m)).length).toBe(1);
  }, 60_000);
});

describe('ModelMonitor: policy and robustness', () => {
  it('a burst of 50 triggers during a run starts at most one more run', async () => {
    const m = await startMonitor();
    await m.handle.signal(monitorRetrainSignal, { reason: 'first' });
    await until('the first run', async () => (await runsOf(m)).length === 1);
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        i % 2 === 0
          ? m.handle.signal(monitorRetrainSignal, { reason: `burst ${i}` })
          : m.handle.signal(monitorDriftSignal, {
              share: 1,
              drift: true,
              columns: [{ name: 'location', method: 'chisquare', statistic: 1, p_value: 0, drift: true }],
            }),
      ),
    );
    await until('50 triggers recorded', async () => (await status(m)).counters.triggers === 51);
    const s = await status(m);
    expect(s.queued).not.toBeNull();
    m.release();
    await until('the second run', async () => (await runsOf(m)).length === 2);
    m.release();
    await until('the second run to end', async () => (await status(m)).inFlight === null && (await status(m)).queued === null);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await runsOf(m)).length).toBe(2);
  }, 90_000);

  it('an automatic trigger within the cooldown waits in the queue', async () => {
    const m = await startMonitor();
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ cooldownMinutes: 60 }] });
    const drifted = { share: 1, drift: true, columns: [{ name: 'location', method: 'chisquare', statistic: 1, p_value: 0, drift: true }] };
    await m.handle.signal(monitorDriftSignal, drifted);
    await until('the first run', async () => (await runsOf(m)).length === 1);
    m.release();
    await until('it to end', async () => (await status(m)).lastRun !== null);
    await m.handle.signal(monitorDriftSignal, drifted);
    await until('the trigger recorded', async () => (await status(m)).triggers.length === 2);
    const s = await status(m);
    expect(s.triggers[1]).toMatchObject({ source: 'drift', outcome: 'queued' });
    expect(s.queued).toMatchObject({ source: 'drift' });
    expect((await runsOf(m)).length).toBe(1);
  }, 60_000);

  it('drops malformed signals with a counter and keeps running; validators refuse bad updates, naming the field', async () => {
    const m = await startMonitor();
    await m.handle.signal(monitorFeedbackSignal, { items: [{ predictionId: '', version: 'v1', prediction: 'sun', label: 'sun' }] });
    await m.handle.signal(monitorDriftSignal, { share: 3, drift: true, columns: [] });
    await m.handle.signal(monitorRetrainSignal, { reason: '' });
    await until('three dropped', async () => (await status(m)).counters.dropped === 3);
    expect((await status(m)).counters.lastDropped).toBe("retrain: retrain: 'reason' must say why (non-empty text)");
    // A version that is no version name (an Object key), and a number label for a version whose labels are classes.
    await m.handle.signal(monitorFeedbackSignal, { items: [{ predictionId: 'x1', version: '__proto__', prediction: 'sun', label: 'sun' }] });
    await m.handle.signal(monitorFeedbackSignal, { items: [{ predictionId: 'x2', version: 'v1', prediction: 'sun', label: 'sun' }] });
    await m.handle.signal(monitorFeedbackSignal, { items: [{ predictionId: 'x3', version: 'v1', prediction: 2.5, label: 3 }] });
    await until('five dropped', async () => (await status(m)).counters.dropped === 5);
    expect((await status(m)).counters.lastDropped).toBe('feedback: items[0]: a number label for v1, whose labels so far are classes');
    expect((await status(m)).live.v1!.all).toMatchObject({ labels: 1, accuracy: 1 });
    const refused = async (p: Promise<unknown>) => ((await p.catch((e: WorkflowUpdateFailedError) => e)) as WorkflowUpdateFailedError).cause?.message;
    expect(await refused(m.handle.executeUpdate(triggerUpdate, { args: [{ reason: '   ' }] }))).toBe("trigger: 'reason' must say why (non-empty text)");
    expect(await refused(m.handle.executeUpdate(setThresholdsUpdate, { args: [{ minAccuracy: 2, window: 5 }] }))).toBe(
      'set-thresholds: minAccuracy: a share, from 0 to 1, not 2; window: an integer from 10 to 100000, not 5',
    );
    expect(await refused(m.handle.executeUpdate(setThresholdsUpdate, { args: [{ minAcuracy: 0.7 } as never] }))).toMatch(
      /^set-thresholds: minAcuracy: not a threshold \(known: /,
    );
    expect((await status(m)).thresholds.minAccuracy).toBeUndefined();
    expect((await m.handle.describe()).status.name).toBe('RUNNING');
    expect(await runsOf(m)).toEqual([]);
  }, 60_000);

  it('continues as new while a run is in flight, and its next run records how that run ended', async () => {
    const m = await startMonitor({ signalsPerRun: 5 });
    expect(await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'a run with a long release' }] })).toMatchObject({ outcome: 'started' });
    // The update answers once the trigger is taken; the run's id is known once the child has started.
    await until('the run started', async () => (await status(m)).inFlight?.runId !== undefined);
    const inFlight = (await status(m)).inFlight!;
    expect(inFlight).toMatchObject({ workflowId: workflowIds.retrain(m.model), source: 'manual' });
    expect(inFlight.runId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'and then this' }] })).toMatchObject({ outcome: 'queued' });
    // 12 signals, 5 per monitor run: it continues as new while the run waits at ingest (once at least: signals that
    // land while a monitor run closes go to it).
    await sendFeedback(m, labels('during', 'v1', 600, 600));
    await until('a continue-as-new during the run, every label counted', async () => {
      const s = await status(m);
      return s.counters.runs >= 2 && s.live.v1?.all.labels === 600;
    });
    const during = await status(m);
    expect(during.inFlight).toMatchObject({ workflowId: inFlight.workflowId, runId: inFlight.runId });
    expect(during.queued).toMatchObject({ reason: 'and then this' });
    expect(during.lastRun).toBeNull();
    m.release(); // the run ends (the stand-in's ingest fails it)
    await until('the queued trigger started its run', async () => (await runsOf(m)).length === 2);
    const after = await status(m);
    expect(after.lastRun).toMatchObject({ workflowId: inFlight.workflowId, trigger: 'manual', outcome: 'failed' });
    expect(after.lastRun!.message).toContain('stand-in: the run ends here');
    expect(after.inFlight).toMatchObject({ reason: 'and then this' });
    expect(after.inFlight!.runId).not.toBe(inFlight.runId);
    m.release();
    await until('the second run ended', async () => (await status(m)).inFlight === null);
  }, 90_000);

  it('a run started elsewhere (the CLI, CI) in flight: the trigger is recorded not-started, answered by that run', async () => {
    const m = await startMonitor();
    const { taskQueue } = await m.handle.describe();
    // `perennial retrain` started retrain/<model> outside the monitor; it waits at ingest.
    const elsewhere = await env.client.workflow.start('RetrainingPipeline', {
      taskQueue,
      workflowId: workflowIds.retrain(m.model),
      args: [{ model: m.model, trigger: 'manual', reason: 'from the CLI' }],
    });
    expect(await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'a person asks' }] })).toMatchObject({ outcome: 'started' });
    await until('the start refused', async () => (await status(m)).lastRun !== null);
    expect((await status(m)).lastRun).toMatchObject({
      workflowId: workflowIds.retrain(m.model),
      outcome: 'not-started',
      message: `a run ${workflowIds.retrain(m.model)} started elsewhere (the CLI, CI) was in flight: this trigger is answered by it`,
    });
    expect((await status(m)).inFlight).toBeNull();
    m.release();
    await elsewhere.result().catch(() => undefined); // the stand-in's ingest fails it
  }, 60_000);

  it('10,000 feedback batches: it continues as new and its figures stay exact', async () => {
    const m = await startMonitor({ signalsPerRun: 2_000 });
    let correct = 0;
    let labels = 0;
    const batches = 10_000;
    // 50 signals in flight, as a few services sending at once (the model server sends one at a time): never more than
    // 100 buffered behind one workflow task, past which the server fails the task to deliver them all in the next.
    const sendBatch = (b: number) => {
      const right = b % 3 !== 0;
      labels += 2;
      correct += right ? 2 : 0;
      // Each batch: two labels, and a duplicate of the batch before (counted once).
      return m.handle.signal(monitorFeedbackSignal, {
        items: [
          { predictionId: `a-${b}`, version: 'v1', prediction: 'sun', label: right ? 'sun' : 'rain' },
          { predictionId: `b-${b}`, version: 'v1', prediction: 'rain', label: right ? 'rain' : 'fog' },
          // The same item again (signals arrive in any order: either copy may come first).
          ...(b > 0 ? [{ predictionId: `a-${b - 1}`, version: 'v1', prediction: 'sun', label: (b - 1) % 3 !== 0 ? 'sun' : 'rain' }] : []),
        ],
      });
    };
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 50 }, async () => {
        while (next < batches) await sendBatch(next++);
      }),
    );
    const sentIn = (performance.now() - t0) / 1000;
    await until('every batch counted', async () => (await status(m)).counters.signals === batches, 120);
    const s = await status(m);
    expect(s.counters).toMatchObject({ items: labels, duplicates: batches - 1, dropped: 0 });
    // At least every 2,000 signals (signals that land while a run closes go to it, so a run may take more).
    console.log(
      `[monitor] ${s.counters.signals} signals, ${s.counters.items} labels counted, ${s.counters.duplicates} duplicates, over ${s.counters.runs} runs; ` +
        `sent in ${sentIn.toFixed(1)} s, all counted ${((performance.now() - t0) / 1000 - sentIn).toFixed(1)} s later`,
    );
    expect(s.counters.runs).toBeGreaterThanOrEqual(3);
    expect(s.live.v1!.all.labels).toBe(labels);
    expect(s.live.v1!.all.accuracy).toBe(correct / labels);
    const first = await env.client.workflow.getHandle(m.handle.workflowId, (await m.handle.describe()).runId).describe();
    expect(first.status.name).toBe('RUNNING');
  }, 420_000);
});

/** `n` labels for `version`, `right` of them right, spread evenly (no run of errors for the detector to see); segment values when given. */
function labels(prefix: string, version: string, n: number, right: number, segment?: Record<string, string>) {
  return Array.from({ length: n }, (_, i) => ({
    predictionId: `${prefix}-${i}`,
    version,
    prediction: 'sun',
    label: Math.floor(((i + 1) * right) / n) > Math.floor((i * right) / n) ? 'sun' : 'rain',
    ...(segment ? { segment } : {}),
  }));
}

async function sendFeedback(m: Monitor, items: ReturnType<typeof labels>) {
  for (let i = 0; i < items.length; i += 50) await m.handle.signal(monitorFeedbackSignal, { items: items.slice(i, i + 50) });
}

describe('ModelMonitor: segments, the error stream, estimates, schedules and probation', () => {
  it('a schedule: update trigger with source schedule starts a run whose trigger is schedule', async () => {
    const m = await startMonitor();
    const answer = await m.handle.executeUpdate(triggerUpdate, {
      args: [{ reason: 'scheduled retraining (every day)', requestedBy: 'retrain-schedule/x', source: 'schedule' }],
    });
    expect(answer).toMatchObject({ outcome: 'started', workflowId: workflowIds.retrain(m.model) });
    await until('the run listed', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]).toMatchObject({ trigger: 'schedule', reason: 'scheduled retraining (every day)' });
    await expect(m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'x', source: 'cron' as 'schedule' }] })).rejects.toMatchObject({
      cause: { message: `trigger: 'source' must be 'manual' or 'schedule', not "cron"` },
    });
    m.release();
  }, 60_000);

  it('a segment under its threshold starts a run while the overall figure holds', async () => {
    const m = await startMonitor();
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ minAccuracy: 0.7, minLabels: 50, window: 1000, cooldownMinutes: 0 }] });
    // Seattle 300 labels at 90%, New York 100 at 40%, interleaved (the error stream stays level): 77.5% overall, above 0.7.
    const seattle = labels('sea', 'v1', 300, 270, { location: 'Seattle' });
    const newYork = labels('nyc', 'v1', 100, 40, { location: 'New York' });
    await sendFeedback(
      m,
      newYork.flatMap((ny, i) => [...seattle.slice(3 * i, 3 * i + 3), ny]),
    );
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]).toMatchObject({ trigger: 'performance' });
    expect(m.runs[0]!.reason).toMatch(/^live performance of v1 in segment location=New York below its threshold \(accuracy 0\.4\d\d < minAccuracy 0\.7/);
    const s = await status(m);
    console.log(
      `[monitor] segments of v1: Seattle accuracy ${s.segments.v1!['location=Seattle']!.accuracy!.toFixed(3)} over ${s.segments.v1!['location=Seattle']!.labels}, ` +
        `New York ${s.segments.v1!['location=New York']!.accuracy!.toFixed(3)} over ${s.segments.v1!['location=New York']!.labels}; overall ${s.live.v1!.window.accuracy!.toFixed(3)}`,
    );
    expect(s.segments.v1!['location=New York']).toMatchObject({ labels: 100, accuracy: 0.4 });
    expect(s.live.v1!.window.accuracy).toBeCloseTo(310 / 400, 10);
    m.release();
  }, 60_000);

  it('the error stream: DDM sees the error rate rise with no threshold set', async () => {
    const m = await startMonitor();
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ cooldownMinutes: 0 }] });
    // The detector follows the champion: labels before the monitor has read it are not in its stream.
    await until('the champion known', async () => (await status(m)).champion === 'v1');
    // 400 labels at 5% errors, then 200 at 50%: no threshold is set, so only the detector can start a run.
    await sendFeedback(m, labels('calm', 'v1', 400, 380));
    await until('400 labels counted', async () => (await status(m)).live.v1?.all.labels === 400);
    expect((await status(m)).triggers).toEqual([]); // the monitor's own record: the visibility list may lag
    await sendFeedback(m, labels('storm', 'v1', 200, 100));
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]!.trigger).toBe('performance');
    expect(m.runs[0]!.reason).toMatch(/^the error stream of v1 changed \(DDM detected a rise in v1's error rate at its (\d+)th live label\)$/);
    const at = Number(/at its (\d+)th/.exec(m.runs[0]!.reason!)![1]);
    console.log(`[monitor] DDM detected the rise at label ${at} (the error rate went from 5% to 50% at label 401)`);
    expect(at).toBeGreaterThan(400);
    m.release();
  }, 60_000);

  it('an estimate before labels (CBPE) that fell more than maxEstimatedDrop starts a run', async () => {
    const m = await startMonitor();
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ maxEstimatedDrop: 0.05, minLabels: 100, cooldownMinutes: 0 }] });
    const noDrift = { share: 0, drift: false, columns: [] };
    // A small drop, and one over too few rows: nothing.
    await m.handle.signal(monitorDriftSignal, {
      ...noDrift,
      estimated: { version: 'v1', rows: 500, accuracy: 0.77, macroF1: 0.6, reference: { accuracy: 0.8, macroF1: 0.62 } },
    });
    await m.handle.signal(monitorDriftSignal, {
      ...noDrift,
      estimated: { version: 'v1', rows: 20, accuracy: 0.5, macroF1: 0.4, reference: { accuracy: 0.8, macroF1: 0.62 } },
    });
    // A bad estimate is dropped, naming the field.
    await m.handle.signal(monitorDriftSignal, {
      ...noDrift,
      estimated: { version: 'v1', rows: 500, accuracy: 1.5, macroF1: 0.4, reference: { accuracy: 0.8, macroF1: 0.62 } },
    });
    await until('one dropped', async () => (await status(m)).counters.dropped === 1);
    expect((await status(m)).counters.lastDropped).toBe("drift: 'estimated.accuracy' and 'estimated.macroF1' must be numbers from 0 to 1");
    expect((await status(m)).triggers).toEqual([]); // the monitor's own record: the visibility list may lag
    await m.handle.signal(monitorDriftSignal, {
      ...noDrift,
      estimated: { version: 'v1', rows: 800, accuracy: 0.62, macroF1: 0.5, reference: { accuracy: 0.8, macroF1: 0.62 } },
    });
    await until('a run', async () => (await runsOf(m)).length === 1);
    expect(m.runs[0]).toMatchObject({
      trigger: 'performance',
      reason:
        'estimated accuracy of v1 (before labels) fell (CBPE 0.620 over 800 predictions against 0.800 on its holdout: down 0.180 > maxEstimatedDrop 0.05)',
    });
    expect((await status(m)).estimated).toMatchObject({ version: 'v1', rows: 800, accuracy: 0.62 });
    m.release();
  }, 60_000);

  it('probation: a new champion worse than the one it replaced is rolled back, and automatic triggers wait for new data', async () => {
    const m = await startMonitor({}, { probation: { hours: 24, minLabels: 100, maxDrop: 0.05, alpha: 0.01 }, gate: { minAccuracy: 0.3 } });
    await m.handle.executeUpdate(setThresholdsUpdate, { args: [{ cooldownMinutes: 0 }] });
    // v1 on live traffic: 300 labels at 85%.
    await sendFeedback(m, labels('v1', 'v1', 300, 255));
    await until('v1 counted', async () => (await status(m)).live.v1?.all.labels === 300);
    // A run promotes v2 (the stand-in registry moves the champion; the run itself ends at ingest).
    await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'new data' }] });
    m.registry.champion = 'v2';
    m.release();
    await until('v2 on probation', async () => (await status(m)).probation?.version === 'v2');
    expect((await status(m)).probation).toMatchObject({ previous: 'v1', baseline: { n: 200, kind: 'error' } });
    // v2: 200 labels at 60%, 25 points below v1 (and above its gate).
    await sendFeedback(m, labels('v2', 'v2', 200, 120));
    await until('the rollback', async () => (await status(m)).probations.at(-1)?.outcome === 'rolled-back' && (await status(m)).champion === 'v1', 60);
    const s = await status(m);
    const record = s.probations.at(-1)!;
    console.log(`[monitor] probation of v2: ${record.outcome}: ${record.evidence}`);
    expect(record.evidence).toMatch(
      /^live accuracy 0\.6\d\d over \d+ labels against 0\.850 over 200 for v1: worse by more than 0\.05 \(one-sided z-test p = .* < alpha 0\.01\)$/,
    );
    expect(m.registry.rollbacks).toEqual([{ from: 'v2', to: 'v1', reason: expect.stringMatching(/^probation: live accuracy 0\.6\d\d/) }]);
    expect(s.champion).toBe('v1');
    expect(s.probation).toBeNull();
    expect(s.hold).toMatchObject({ version: 'v2' });
    // Drift with no new data since: held, no run.
    const drifted = { share: 1, drift: true, columns: [{ name: 'location', method: 'chisquare', statistic: 1, p_value: 0, drift: true }] };
    await m.handle.signal(monitorDriftSignal, drifted);
    await until('the trigger held', async () => (await status(m)).triggers.at(-1)?.held !== undefined);
    expect((await status(m)).triggers.at(-1)!.held).toMatch(/^held: no new data since v2 was rolled back at /);
    // A scheduled trigger is held too, and the update says so (ScheduledRetrain then ends without a run).
    const scheduled = await m.handle.executeUpdate(triggerUpdate, { args: [{ reason: 'scheduled retraining (every day)', source: 'schedule' }] });
    expect(scheduled).toMatchObject({ outcome: 'held', message: expect.stringMatching(/^held: no new data since v2/) });
    expect((await status(m)).inFlight).toBeNull();
    expect((await runsOf(m)).length).toBe(1);
    // New data arrived: the next drift starts a run.
    m.registry.newData = true;
    await m.handle.signal(monitorDriftSignal, drifted);
    await until('a second run', async () => (await runsOf(m)).length === 2);
    expect(m.runs[1]!.trigger).toBe('drift');
    expect((await status(m)).hold).toBeNull();
    m.release();
  }, 90_000);

  it('a champion promoted outside the monitor (the CLI) is read at the next refresh and goes on probation', async () => {
    const m = await startMonitor({ refreshEveryMs: 1000 }, { probation: { hours: 24, minLabels: 100, maxDrop: 0.05, alpha: 0.01 } });
    await sendFeedback(m, labels('v1', 'v1', 200, 170));
    // The monitor must have read v1 as its champion first: a promotion it never saw is no change of champion.
    await until('v1 counted and read as the champion', async () => {
      const s = await status(m);
      return s.live.v1?.all.labels === 200 && s.champion === 'v1';
    });
    expect((await status(m)).probation).toBeNull();
    m.registry.champion = 'v2'; // what `perennial registry promote` or a release outside the monitor would do
    await until('v2 on probation', async () => (await status(m)).probation?.version === 'v2');
    expect((await status(m)).probation).toMatchObject({ previous: 'v1', baseline: { n: 200, kind: 'error' } });
    expect((await status(m)).champion).toBe('v2');
  }, 60_000);
});
