/**
 * ModelMonitor on the Temporal dev server (the test namespace of
 * test/integration/harness.ts), with stand-in activities: the registry's
 * answer (champion v1, its holdout accuracy) and a retraining run whose ingest
 * waits until the test lets it go, then fails (so a run's start, its trigger
 * and its reason are what is checked, in seconds). Each test has its own
 * model, so its own monitor/<model> and retrain/<model>.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { type WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime, Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

async function startMonitor(options: { signalsPerRun?: number } = {}): Promise<Monitor> {
  const model = `monitor-${uniqueId()}`;
  const taskQueue = `monitor-${uniqueId()}`;
  const runs: RetrainInput[] = [];
  // The n-th run's ingest waits until the test has released n runs (a release before the run reached ingest still counts).
  let calls = 0;
  let released = 0;
  const activities = {
    monitorContext: async () => ({ champion: 'v1', holdout: { accuracy: 0.8 } }),
    ingest: async () => {
      const n = ++calls;
      while (released < n) await new Promise((r) => setTimeout(r, 50));
      throw ApplicationFailure.nonRetryable('stand-in: the run ends here', 'DataValidationError');
    },
    discardRun: async () => ({ removed: 0 }),
  };
  const common = { connection: env.nativeConnection, namespace: testConfig().temporalNamespace, activities };
  const main = await Worker.create({ ...common, taskQueue, workflowBundle: bundle });
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
  } as Monitor & { collectRuns(): Promise<void> };
}

async function until(what: string, check: () => Promise<boolean>, seconds = 45): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

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

  it('10,000 feedback batches: it continues as new and its figures stay exact', async () => {
    const m = await startMonitor({ signalsPerRun: 2_000 });
    let correct = 0;
    let labels = 0;
    const batches = 10_000;
    for (let start = 0; start < batches; start += 100) {
      await Promise.all(
        Array.from({ length: 100 }, (_, k) => {
          const b = start + k;
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
        }),
      );
    }
    await until('every batch counted', async () => (await status(m)).counters.signals === batches, 120);
    const s = await status(m);
    expect(s.counters).toMatchObject({ items: labels, duplicates: batches - 1, dropped: 0 });
    // At least every 2,000 signals (signals that land while a run closes go to it, so a run may take more).
    expect(s.counters.runs).toBeGreaterThanOrEqual(3);
    expect(s.live.v1!.all.labels).toBe(labels);
    expect(s.live.v1!.all.accuracy).toBe(correct / labels);
    const first = await env.client.workflow.getHandle(m.handle.workflowId, (await m.handle.describe()).runId).describe();
    expect(first.status.name).toBe('RUNNING');
  }, 240_000);
});
