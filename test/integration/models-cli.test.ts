/**
 * `perennial models apply|list` and `perennial schedules list|pause|resume|trigger`
 * as a user runs them (the CLI in a child process), on the real Temporal dev
 * server and S3 gateway, with this file's worker (the real ModelMonitor,
 * ScheduledRetrain and their activities; the pipeline's ingest is a stand-in
 * that holds a run in flight until the test lets it go, then fails it).
 *
 * Apply publishes the spec, starts the monitor with the spec's thresholds and
 * creates the three schedules; the same spec again changes nothing; a changed
 * spec updates the retraining schedule and the thresholds (a threshold the
 * spec dropped is removed); a spec without `retraining` removes its schedule.
 * A triggered retraining schedule starts exactly one run (trigger source
 * `schedule`, the schedule's reason), and a second scheduled action while
 * that run is in flight starts nothing (overlap skip). Pause and resume show
 * in `schedules list`. Bad usage is refused with exit code 2.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorThresholds } from '../../src/spec/monitoring-spec';
import { parseModelSpec, type ModelSpec } from '../../src/spec';
import { keys } from '../../src/store';
import { monitorWorkflowId, workflowIds, type RetrainInput } from '../../workflows/definitions';
import { monitorStatusQuery } from '../../workflows/monitor';
import { scheduledRetrainId } from '../../workflows/scheduled-retrain';
import { runPerennial, type ProgramRun } from '../helpers/programs';
import { tempFiles } from '../helpers/temp-files';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

const model = `models-cli-${uniqueId()}`;
const files = tempFiles('perennial-models-cli-');
let h: Harness;
let worker: { stop(): Promise<void> };
let released = 0;
let ingests = 0;

const SPEC = {
  name: model,
  task: 'classification',
  label: 'weather',
  data: { timeColumn: 'date' },
  schema: {
    fields: [
      { name: 'date', type: 'date' },
      { name: 'temp_max', type: 'number' },
      { name: 'location', type: 'category', values: ['Seattle', 'New York'] },
      { name: 'weather', type: 'category', values: ['rain', 'sun'] },
    ],
  },
  features: [
    { name: 'temp_max', kind: 'numeric' },
    { name: 'location', kind: 'categorical' },
  ],
  retention: { schedule: 'weekly' },
  monitoring: { drift: { schedule: '0 4 * * *' }, performance: { minAccuracy: 0.7, maxFlagRate: 0.2, cooldownMinutes: 30 } },
  retraining: { schedule: 'daily', catchupWindow: '6 hours' },
};

const perennial = (...args: string[]): Promise<ProgramRun> => runPerennial(args, { env: h.env });
const specFile = (spec: unknown) => files.write(`${model}.json`, JSON.stringify(spec));
const schedule = (kind: 'retraining' | 'drift-check' | 'retention') =>
  h.client.schedule.getHandle(
    kind === 'retraining' ? scheduledRetrainId(model) : kind === 'drift-check' ? workflowIds.driftCheck(model) : workflowIds.retention(model),
  );

/** Every run of retrain/<model> so far, with its input. */
async function runs(): Promise<RetrainInput[]> {
  const out: RetrainInput[] = [];
  for await (const w of h.client.workflow.list({ query: `WorkflowId = '${workflowIds.retrain(model)}'` })) {
    const history = await h.client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
    const payload = history.events![0]!.workflowExecutionStartedEventAttributes!.input!.payloads![0]!;
    out.push(JSON.parse(Buffer.from(payload.data!).toString()) as RetrainInput);
  }
  return out;
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker({
    activityOverrides: {
      ingest: async () => {
        const n = ++ingests;
        while (released < n) await new Promise((r) => setTimeout(r, 50));
        throw ApplicationFailure.nonRetryable('stand-in: the run ends here', 'DataValidationError');
      },
    },
  });
}, 60_000);

afterAll(async () => {
  released = Infinity;
  for (const kind of ['retraining', 'drift-check', 'retention'] as const)
    await schedule(kind)
      .delete()
      .catch(() => undefined);
  // A scheduled retraining still waiting would wait for a worker that is gone.
  const waiting = h?.client.workflow.list({ query: `WorkflowId STARTS_WITH '${scheduledRetrainId(model)}-' AND ExecutionStatus = 'Running'` });
  for await (const w of waiting ?? []) await h.client.workflow.getHandle(w.workflowId, w.runId).terminate('test over');
  for (const id of [monitorWorkflowId(model), workflowIds.retrain(model)])
    await h?.client.workflow
      .getHandle(id)
      .terminate('test over')
      .catch(() => undefined);
  await worker?.stop();
  await h?.close();
});

describe('perennial models apply', () => {
  it('publishes the spec, starts the monitor with its thresholds and creates each schedule', async () => {
    const file = specFile(SPEC);
    const applied = await perennial('models', 'apply', file);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const spec: ModelSpec = parseModelSpec(SPEC);
    const lines = applied.stdout.split('\n');
    expect(lines[0]).toBe(`${model}: ${file} applied`);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^  spec +published: models/${model}/specs/[0-9a-f]{64}\\.json, now in force$`)),
        expect.stringMatching(
          new RegExp(`^  monitor +started: monitor/${model} with thresholds minLabels 200, window 1000, cooldownMinutes 30, minAccuracy 0.7, maxFlagRate 0.2$`),
        ),
        `  retraining   created: scheduled-retrain/${model}: every day (00:00 UTC), overlap skip, catch-up 6 hours`,
        `  drift-check  created: drift-check/${model}: cron '0 4 * * *' (UTC), overlap skip`,
        `  retention    created: retention/${model}: every 7 days (Thursdays 00:00 UTC), overlap skip`,
      ]),
    );
    // The spec in force is the file's.
    const inForce = JSON.parse((await h.store.getIfExists(keys.spec(model)))!.body.toString()) as ModelSpec;
    expect(inForce).toEqual(spec);
    // The monitor runs, with the spec's thresholds.
    const monitor = h.client.workflow.getHandle(monitorWorkflowId(model));
    expect((await monitor.describe()).type).toBe('ModelMonitor');
    expect((await monitor.query(monitorStatusQuery)).thresholds).toEqual(monitorThresholds(spec));
    // The retraining schedule: ScheduledRetrain with the model, how the schedule reads, and who asks; skip; 6 hours of catch-up.
    const retraining = await schedule('retraining').describe();
    expect(retraining.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: 'ScheduledRetrain',
      workflowId: scheduledRetrainId(model),
      taskQueue: h.config.taskQueue,
    });
    expect(retraining.action.type === 'startWorkflow' && retraining.action.args).toEqual([
      { model, schedule: 'every day (00:00 UTC)', requestedBy: scheduledRetrainId(model) },
    ]);
    expect(retraining.policies).toMatchObject({ overlap: 'SKIP', catchupWindow: 6 * 3_600_000 });
    expect(retraining.state.paused).toBe(false);
    expect((await schedule('drift-check').describe()).action).toMatchObject({ workflowType: 'DriftCheck' });
    expect((await schedule('retention').describe()).action).toMatchObject({ workflowType: 'RetentionSweep' });
  }, 60_000);

  it('the same spec again changes nothing, and says so for each part', async () => {
    const before = await Promise.all(
      (['retraining', 'drift-check', 'retention'] as const).map(async (k) => (await schedule(k).describe()).info.lastUpdatedAt?.getTime()),
    );
    const specBefore = await h.store.head(keys.spec(model));
    const again = await perennial('models', 'apply', specFile(SPEC));
    expect(again.code).toBe(0);
    const lines = again.stdout.split('\n');
    expect(lines[0]).toMatch(/ applied: nothing changed$/);
    for (const part of ['spec', 'monitor', 'retraining', 'drift-check', 'retention'])
      expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^  ${part} +unchanged: `)));
    const after = await Promise.all(
      (['retraining', 'drift-check', 'retention'] as const).map(async (k) => (await schedule(k).describe()).info.lastUpdatedAt?.getTime()),
    );
    expect(after).toEqual(before);
    expect((await h.store.head(keys.spec(model)))?.lastModified).toEqual(specBefore?.lastModified);
  }, 60_000);

  it('models list shows the model: no champion yet, its monitor running, its three schedules', async () => {
    const listed = await perennial('models', 'list', '--model', model, '--json');
    expect(listed.code).toBe(0);
    const [row] = JSON.parse(listed.stdout);
    expect(row).toMatchObject({ model, champion: null, versions: 0, monitor: 'running' });
    expect(row.schedules.map((s: { kind: string; paused: boolean }) => [s.kind, s.paused])).toEqual([
      ['retraining', false],
      ['drift-check', false],
      ['retention', false],
    ]);
    expect(Date.parse(row.schedules[0].nextRun)).toBeGreaterThan(Date.now());
    const text = await perennial('models', 'list', '--model', model);
    expect(text.stdout).toContain(`${model}: champion -, 0 version(s), monitor running`);
  }, 60_000);
});

describe('perennial schedules', () => {
  it('trigger --kind retraining starts exactly one run (source schedule, with the reason); a second action while it is in flight starts nothing (skip)', async () => {
    const first = await perennial('schedules', 'trigger', '--model', model, '--kind', 'retraining');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`triggered: scheduled-retrain/${model} runs now (overlap skip: nothing starts while its last run is still going)`);
    await waitFor('a run', async () => (await runs()).length === 1, 45);
    expect((await runs())[0]).toMatchObject({ model, trigger: 'schedule', reason: 'scheduled retraining (every day (00:00 UTC))' });
    const status = await h.client.workflow.getHandle(monitorWorkflowId(model)).query(monitorStatusQuery);
    expect(status.triggers).toMatchObject([{ source: 'schedule', requestedBy: scheduledRetrainId(model), outcome: 'started' }]);

    // The scheduled workflow waits for the run: a second action now is skipped by the schedule.
    const second = await perennial('schedules', 'trigger', '--model', model, '--kind', 'retraining');
    expect(second.code).toBe(0);
    await waitFor('the second action skipped', async () => (await schedule('retraining').describe()).info.numActionsSkippedOverlap === 1, 30);
    const info = (await schedule('retraining').describe()).info;
    expect(info.recentActions.length).toBe(1);
    expect((await h.client.workflow.getHandle(monitorWorkflowId(model)).query(monitorStatusQuery)).triggers.length).toBe(1);

    released += 1;
    const scheduled = h.client.workflow.getHandle(info.recentActions[0]!.action.workflow.workflowId);
    const result = await scheduled.result();
    expect(result).toMatchObject({ answer: { outcome: 'started' }, run: { workflowId: workflowIds.retrain(model), outcome: 'failed' } });
    expect(await runs()).toHaveLength(1);
  }, 90_000);

  it('pause and resume show in schedules list', async () => {
    const paused = await perennial('schedules', 'pause', '--model', model, '--kind', 'retraining', '--note', 'data freeze until Monday');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain(`paused: scheduled-retrain/${model} (data freeze until Monday)`);
    const listed = JSON.parse((await perennial('schedules', 'list', '--model', model, '--json')).stdout);
    expect(listed.find((s: { kind: string }) => s.kind === 'retraining')).toMatchObject({ paused: true, note: 'data freeze until Monday', nextRun: null });
    expect((await perennial('schedules', 'list', '--model', model)).stdout).toContain('PAUSED (data freeze until Monday)');
    // Applying the same spec keeps a person's pause.
    expect((await perennial('models', 'apply', specFile(SPEC))).stdout).toMatch(/retraining +unchanged/);
    expect((await schedule('retraining').describe()).state.paused).toBe(true);

    const resumed = await perennial('schedules', 'resume', '--model', model, '--kind', 'retraining');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^resumed: scheduled-retrain/${model}; next run \\d{4}-\\d\\d-\\d\\dT00:00:00\\.000Z`));
    const after = JSON.parse((await perennial('schedules', 'list', '--model', model, '--json')).stdout);
    expect(after.find((s: { kind: string }) => s.kind === 'retraining')).toMatchObject({ paused: false });
  }, 90_000);
});

describe('a changed spec', () => {
  it('updates the retraining schedule and the thresholds, removing a threshold the spec no longer sets', async () => {
    const changed = {
      ...SPEC,
      monitoring: { ...SPEC.monitoring, performance: { minAccuracy: 0.75, cooldownMinutes: 30 } },
      retraining: { schedule: '6h', overlap: 'buffer_one', catchupWindow: '1 day' },
    };
    const applied = await perennial('models', 'apply', specFile(changed));
    expect(applied.code).toBe(0);
    expect(applied.stdout).toMatch(/spec +published: /);
    expect(applied.stdout).toContain(`  monitor      updated: monitor/${model} thresholds: minAccuracy 0.75, maxFlagRate removed`);
    expect(applied.stdout).toContain(`  retraining   updated: scheduled-retrain/${model}: every 6 hours, overlap buffer_one, catch-up 1 day`);
    expect(applied.stdout).toMatch(/drift-check +unchanged/);
    const d = await schedule('retraining').describe();
    expect(d.spec.intervals).toMatchObject([{ every: 6 * 3_600_000 }]);
    expect(d.policies).toMatchObject({ overlap: 'BUFFER_ONE', catchupWindow: 86_400_000 });
    const thresholds = (await h.client.workflow.getHandle(monitorWorkflowId(model)).query(monitorStatusQuery)).thresholds;
    expect(thresholds).toEqual({ minLabels: 200, window: 1000, cooldownMinutes: 30, minAccuracy: 0.75 });

    // Without the section, its schedule goes; the others stay.
    const { retraining: _dropped, ...without } = changed;
    const removed = await perennial('models', 'apply', specFile(without));
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`  retraining   removed: scheduled-retrain/${model}: the spec has no 'retraining' section`);
    const listed = JSON.parse((await perennial('schedules', 'list', '--model', model, '--json')).stdout);
    expect(listed.map((s: { kind: string }) => s.kind)).toEqual(['drift-check', 'retention']);
  }, 90_000);
});

describe('bad usage', () => {
  it('is refused with exit code 2 and what to do; a missing schedule with exit code 1', async () => {
    const cases: [string[], number, string][] = [
      [['models', 'apply'], 2, 'models apply needs one spec file (YAML or JSON): perennial models apply models/weather.yaml'],
      [['models', 'apply', '/nonexistent/spec.yaml'], 2, '/nonexistent/spec.yaml: the model spec is not valid:\n  - cannot read the file: ENOENT'],
      [['models', 'apply', specFile({ ...SPEC, retraining: { schedule: 'sometimes', overlap: 'queue' } })], 2, 'retraining.schedule: '],
      [['models', 'remove'], 2, "models needs 'apply <spec.yaml>' or 'list', not 'remove'"],
      [['schedules', 'pause', '--model', model], 2, 'schedules pause needs --kind retraining|drift-check|retention'],
      [['schedules', 'trigger', '--model', model, '--kind', 'nightly'], 2, "schedules trigger needs --kind retraining|drift-check|retention, not 'nightly'"],
      [['schedules', 'resume', '--kind', 'retention'], 2, 'schedules resume needs --model <name>'],
      [
        ['schedules', 'trigger', '--model', model, '--kind', 'retraining'],
        1,
        `no retraining schedule for '${model}' (scheduled-retrain/${model}): add a 'retraining' section in the spec`,
      ],
      [['feedback', '--model', model], 2, 'feedback needs --file <labels.csv> (columns prediction_id, label and/or flag)'],
    ];
    for (const [args, code, message] of cases) {
      const run = await perennial(...args);
      expect(run.code, args.join(' ')).toBe(code);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
    const bad = await perennial('models', 'apply', specFile({ ...SPEC, retraining: { schedule: 'sometimes', overlap: 'queue', catchupWindow: '2 weeks' } }));
    expect(bad.stderr).toContain(
      "retraining.overlap: one of skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all (Temporal's overlap policies)",
    );
    expect(bad.stderr).toContain("retraining.catchupWindow: '2 weeks' is not a duration such as '1 day', '6 hours' or '30m'");
  }, 120_000);
});
