/**
 * Replay: the workflow code of this commit must reproduce, command for
 * command, the histories of runs made by earlier code (saved under
 * test/fixtures/histories/). A change that would break a run in flight when a
 * worker is upgraded (an activity added, removed or reordered, a timer, a
 * child workflow...) fails here with a DeterminismViolationError. See README.md.
 *
 * Local only: replay needs no Temporal server and no S3.
 */
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type ReplayResult, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from '../../src/worker/create';
import { loadHistories, type History, type SavedHistory } from './history-json';

// The negative test makes the replay worker log nondeterminism warnings on purpose: keep the output to errors.
Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });

const HISTORIES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const fixtureWorkflow = (file: string) => fileURLToPath(new URL(`./fixtures/${file}`, import.meta.url));

const ALL_STAGES = ['ingest', 'validate', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote'];
/** Since patch 'fan-out-data-stages': validateBatch per batch and snapshotPart per part. */
const FANNED_OUT = (batches: number, parts: number) => [
  'ingest',
  ...Array<string>(batches).fill('validateBatch'),
  ...Array<string>(parts).fill('snapshotPart'),
  ...ALL_STAGES.slice(2),
];

/**
 * Each branch of RetrainingPipeline, what its recorded run scheduled and how it closed, per generation:
 * the code before any patch (the folder itself), after patch 'discard-run-leftovers' (a rejected or
 * failed run removes its leftovers; a run whose champion moved ends rejected), and after patch
 * 'fan-out-data-stages' (validate and the snapshot's sums run per batch and per part, in parallel).
 */
const BRANCHES: Record<string, { activities: string[]; closed: string }> = {
  'retraining-pipeline/promoted': { activities: ALL_STAGES, closed: 'COMPLETED' },
  'retraining-pipeline/unchanged': { activities: ['ingest', 'validate', 'snapshot'], closed: 'COMPLETED' },
  'retraining-pipeline/rejected': { activities: ALL_STAGES.slice(0, 6), closed: 'COMPLETED' },
  'retraining-pipeline/compensated': { activities: [...ALL_STAGES, 'revertPromotion', 'unregister'], closed: 'FAILED' },
  'retraining-pipeline/failed-validation': { activities: ['ingest', 'validate'], closed: 'FAILED' },
  'retraining-pipeline/discard-run-leftovers/promoted': { activities: ALL_STAGES, closed: 'COMPLETED' },
  'retraining-pipeline/discard-run-leftovers/unchanged': { activities: ['ingest', 'validate', 'snapshot'], closed: 'COMPLETED' },
  'retraining-pipeline/discard-run-leftovers/rejected': { activities: [...ALL_STAGES.slice(0, 6), 'discardRun'], closed: 'COMPLETED' },
  'retraining-pipeline/discard-run-leftovers/compensated': { activities: [...ALL_STAGES, 'revertPromotion', 'unregister', 'discardRun'], closed: 'FAILED' },
  'retraining-pipeline/discard-run-leftovers/failed-validation': { activities: ['ingest', 'validate', 'discardRun'], closed: 'FAILED' },
  'retraining-pipeline/discard-run-leftovers/champion-moved': { activities: [...ALL_STAGES, 'revertPromotion', 'unregister'], closed: 'COMPLETED' },
  // Four weather batches validated and summed in parallel; a run with no new batch sums only its base snapshot.
  'retraining-pipeline/fan-out-data-stages/promoted': { activities: FANNED_OUT(4, 4), closed: 'COMPLETED' },
  'retraining-pipeline/fan-out-data-stages/unchanged': {
    activities: ['ingest', 'snapshotPart', 'snapshotPart', 'snapshotPart', 'snapshot'],
    closed: 'COMPLETED',
  },
  'retraining-pipeline/fan-out-data-stages/rejected': { activities: [...FANNED_OUT(0, 1).slice(0, 6), 'discardRun'], closed: 'COMPLETED' },
  'retraining-pipeline/fan-out-data-stages/compensated': {
    activities: [...FANNED_OUT(0, 1), 'revertPromotion', 'unregister', 'discardRun'],
    closed: 'FAILED',
  },
  'retraining-pipeline/fan-out-data-stages/failed-validation': { activities: ['ingest', 'validateBatch', 'discardRun'], closed: 'FAILED' },
  'retraining-pipeline/fan-out-data-stages/champion-moved': { activities: [...FANNED_OUT(0, 1), 'revertPromotion', 'unregister'], closed: 'COMPLETED' },
  // Started for a commit the workers do not run; and a 'rows' window (no champion left: four batches validated), whose snapshot is one activity.
  'retraining-pipeline/fan-out-data-stages/code-version-mismatch': { activities: ['ingest', 'discardRun'], closed: 'FAILED' },
  'retraining-pipeline/fan-out-data-stages/rows-window': {
    activities: [...FANNED_OUT(4, 0).slice(0, 9), 'discardRun'],
    closed: 'COMPLETED',
  },
  // After patch 'release-on-live-traffic' (saved after test/integration/release.test.ts): a spec with a canary release,
  // the candidate registered then proven by its ReleaseWorkflow child instead of promoted at once.
  'retraining-pipeline/release-on-live-traffic/released': {
    activities: ['ingest', 'snapshotPart', 'snapshot', ...ALL_STAGES.slice(3, 7)],
    closed: 'COMPLETED',
  },
  // ReleaseWorkflow (the same test): that canary, both steps then promoted; and an A/B release of a candidate
  // trained on shuffled labels, rolled back at the first look by the sequential test.
  'release-workflow/canary-promoted': {
    activities: [
      'startRelease',
      'recordRelease',
      'analyzeRelease',
      'analyzeRelease',
      'setReleaseWeight',
      'recordRelease',
      'analyzeRelease',
      'analyzeRelease',
      'endRelease',
      'recordRelease',
    ],
    closed: 'COMPLETED',
  },
  // Saved from test/workflows/release.branches.test.ts (stand-in activities): abort, manual approval, cancellation and a
  // failed look each put the traffic back (or promote on approval); a refused start tries its rollback; continue-as-new.
  'release-workflow/aborted': { activities: ['startRelease', 'recordRelease', 'endRelease', 'recordRelease'], closed: 'COMPLETED' },
  'release-workflow/manual-approval': {
    activities: ['startRelease', 'recordRelease', 'analyzeRelease', 'recordRelease', 'endRelease', 'recordRelease'],
    closed: 'COMPLETED',
  },
  'release-workflow/cancelled': {
    activities: ['startRelease', 'recordRelease', 'analyzeRelease', 'setReleaseWeight', 'recordRelease', 'endRelease', 'recordRelease'],
    closed: 'CANCELED',
  },
  'release-workflow/failed': { activities: ['startRelease', 'recordRelease', 'analyzeRelease', 'endRelease', 'recordRelease'], closed: 'FAILED' },
  'release-workflow/refused-start': { activities: ['startRelease', 'endRelease'], closed: 'FAILED' },
  'release-workflow/continued-as-new': {
    activities: ['startRelease', 'recordRelease', 'analyzeRelease', 'setReleaseWeight', 'recordRelease', 'endRelease', 'recordRelease'],
    closed: 'CONTINUED_AS_NEW',
  },
  // The pipeline after patch 'unregister-refused-release': a release the registry refused to start, the candidate unregistered.
  'retraining-pipeline/release-on-live-traffic/release-refused': {
    activities: ['ingest', 'validateBatch', 'snapshotPart', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'unregister'],
    closed: 'COMPLETED',
  },
  'release-workflow/ab-rolled-back': { activities: ['startRelease', 'recordRelease', 'analyzeRelease', 'endRelease', 'recordRelease'], closed: 'COMPLETED' },
  // RollbackModel (saved with `temporal workflow show --output json` after test/integration/rollback.test.ts).
  'rollback-model/rolled-back': { activities: ['rollback'], closed: 'COMPLETED' },
  'rollback-model/refused': { activities: ['rollback'], closed: 'FAILED' },
  // RetentionSweep (saved by scripts/record-retention-histories.ts): a dry run plans only; a sweep plans then applies;
  // when the canary moves after a plan, apply stops (stale) and the sweep plans again; it gives up after three new plans.
  'retention-sweep/dry-run': { activities: ['planRetention'], closed: 'COMPLETED' },
  'retention-sweep/swept': { activities: ['planRetention', 'applyRetention'], closed: 'COMPLETED' },
  'retention-sweep/replanned': { activities: ['planRetention', 'applyRetention', 'planRetention', 'applyRetention'], closed: 'COMPLETED' },
  'retention-sweep/gave-up': { activities: Array<string[]>(4).fill(['planRetention', 'applyRetention']).flat(), closed: 'FAILED' },
  // ReproduceVersion (saved after test/integration/reproduce.test.ts): a version retrained from its lineage and
  // compared (identical), and a run refused at once because the workers ran other code. Both remove their staging.
  'reproduce-version/identical': {
    activities: ['prepareReproduction', 'preprocess', 'train', 'evaluate', 'compareReproduction', 'discardRun'],
    closed: 'COMPLETED',
  },
  'reproduce-version/code-refused': { activities: ['prepareReproduction', 'discardRun'], closed: 'FAILED' },
  // ModelMonitor (saved after test/workflows/monitor.test.ts, each ended by the test): a burst of 50 triggers during a
  // run (two runs in all), a person's trigger updates (started, queued, joined: two runs), malformed signals dropped,
  // a performance breach starting one run. monitorContext reads the champion at the start and after each run.
  // Saved after the review mends: a drift signal and a service's retrain each starting a run, a drift trigger held by the
  // cooldown, malformed signals dropped (a bad version name and a label of the wrong kind too), and the first run of
  // 10,000 feedback batches, continued as new.
  'model-monitor/drift': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/service': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/cooldown': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/continued-as-new': { activities: ['monitorContext'], closed: 'CONTINUED_AS_NEW' },
  'model-monitor/burst': { activities: ['monitorContext', 'monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/trigger-updates': { activities: ['monitorContext', 'monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/malformed-dropped': { activities: ['monitorContext'], closed: 'TERMINATED' },
  'model-monitor/performance': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  // Behind patch monitor-probation-segments-estimates: a scheduled trigger (update with source schedule), a segment under its
  // threshold, DDM on the error stream, a CBPE estimate that fell, and probation: a worse new champion rolled back
  // (RollbackModel as a child), a drift held for want of new data, then a run once data arrived.
  'model-monitor/schedule-trigger': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/segment': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/error-stream': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/estimate': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  // ...and a scheduled trigger held after the rollback (update trigger answered held, one more context read).
  'model-monitor/probation-rollback': { activities: Array(6).fill('monitorContext'), closed: 'TERMINATED' },
  // The periodic refresh (a timer, then the registry read) finding a champion promoted outside the monitor: probation.
  'model-monitor/refresh-probation': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  // After patch 'monitor-continues-as-new-during-a-run' (saved after the monitor test of that name): a run started as a
  // child and followed by awaitRunEnd while the monitor continued as new; the next monitor run following it still; the
  // run after that, which recorded its end, started the queued trigger's run and followed it to its end.
  'model-monitor/run-in-flight-continued-as-new': { activities: ['monitorContext', 'awaitRunEnd'], closed: 'CONTINUED_AS_NEW' },
  'model-monitor/run-in-flight-carried': { activities: ['monitorContext', 'awaitRunEnd'], closed: 'CONTINUED_AS_NEW' },
  // The same patch: the trigger's run could not start because one started elsewhere (the CLI) was in flight: not-started.
  'model-monitor/run-started-elsewhere': { activities: ['monitorContext', 'monitorContext'], closed: 'TERMINATED' },
  'model-monitor/run-in-flight-ended': {
    activities: ['monitorContext', 'awaitRunEnd', 'monitorContext', 'awaitRunEnd', 'monitorContext'],
    closed: 'TERMINATED',
  },
  // FeedbackReceiver (saved after test/integration/serve-feedback-receiver.test.ts): a run that took four signals
  // (one a duplicate, one a bad payload) and continued as new, and the next run, which took one and was terminated.
  // It never completes: it continues as new, or is ended by hand.
  'feedback-receiver/continued-as-new': { activities: [], closed: 'CONTINUED_AS_NEW' },
  'feedback-receiver/terminated': { activities: [], closed: 'TERMINATED' },
  // DriftCheck (saved after test/integration/drift-check.test.ts): New York traffic, drift, signalled to the running monitor;
  // Seattle traffic with no monitor running (the signal fails, the check completes); a window with too few rows (skipped).
  'drift-check/drifted': { activities: ['checkDrift'], closed: 'COMPLETED' },
  'drift-check/no-monitor': { activities: ['checkDrift'], closed: 'COMPLETED' },
  'drift-check/skipped': { activities: ['checkDrift'], closed: 'COMPLETED' },
  // ScheduledRetrain (saved after test/workflows/scheduled-retrain.test.ts): the monitor started and a run started; the trigger
  // joined the run queued behind one in flight (it waited for the queued one); monitor/<model> was an older FeedbackReceiver.
  'scheduled-retrain/started': { activities: ['askMonitorForRetrain', 'awaitRetrainRun'], closed: 'COMPLETED' },
  'scheduled-retrain/joined': { activities: ['askMonitorForRetrain', 'awaitRetrainRun'], closed: 'COMPLETED' },
  'scheduled-retrain/failed-to-reach': { activities: ['askMonitorForRetrain'], closed: 'FAILED' },
};

// Loaded at collection time, so each saved history is its own test.
const saved: SavedHistory[] = await loadHistories(HISTORIES_DIR);

function scheduledActivities(history: History): string[] {
  return (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

function closedAs(history: History): string {
  const last = history.events?.at(-1);
  if (last?.workflowExecutionCompletedEventAttributes) return 'COMPLETED';
  if (last?.workflowExecutionFailedEventAttributes) return 'FAILED';
  if (last?.workflowExecutionContinuedAsNewEventAttributes) return 'CONTINUED_AS_NEW';
  if (last?.workflowExecutionTerminatedEventAttributes) return 'TERMINATED';
  if (last?.workflowExecutionCanceledEventAttributes) return 'CANCELED';
  return `not closed (last event type ${last?.eventType})`;
}

async function replay(workflowBundle: WorkflowBundleWithSourceMap, histories: SavedHistory[]): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const iterable = histories.map(({ name, history }) => ({ workflowId: name, history }));
  for await (const result of Worker.runReplayHistories({ workflowBundle, replayName: 'perennial-replay-test' }, iterable)) results.push(result);
  return results;
}

const describeError = (r: ReplayResult) => `${r.workflowId}: ${r.error ? `${r.error.name}: ${r.error.message}` : 'no error'}`;

describe('saved histories', () => {
  it('cover every branch of RetrainingPipeline, each as recorded', () => {
    const names = saved.map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(Object.keys(BRANCHES)));
    for (const [name, expected] of Object.entries(BRANCHES)) {
      const { history } = saved.find((s) => s.name === name)!;
      expect(scheduledActivities(history), name).toEqual(expected.activities);
      expect(closedAs(history), name).toBe(expected.closed);
    }
  });
});

describe('replay against the workflow code of this commit', () => {
  let bundle: WorkflowBundleWithSourceMap;
  beforeAll(async () => {
    bundle = await bundleWorkflows();
  });

  it.each(saved.map((s) => [s.name, s] as const))('%s replays without nondeterminism', async (_name, history) => {
    const [result, ...rest] = await replay(bundle, [history]);
    expect(rest).toEqual([]);
    expect(result?.workflowId).toBe(history.name);
    expect(result?.error, result && describeError(result)).toBeUndefined();
  });
});

/** The fixtures below change RetrainingPipeline (and export only it): the histories of that workflow type. */
const pipelineHistories = saved.filter((s) => s.name.startsWith('retraining-pipeline/'));

describe('the replay test can fail', () => {
  it('an activity added before ingest without patched(): every saved history reports a DeterminismViolationError', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: fixtureWorkflow('activity-before-ingest.ts'), logger: new DefaultLogger('WARN') });
    const results = await replay(bundle, pipelineHistories);
    expect(results.map((r) => r.workflowId)).toEqual(pipelineHistories.map((s) => s.name));
    for (const result of results) {
      expect(result.error, describeError(result)).toBeInstanceOf(DeterminismViolationError);
      // Core's message: "[TMPRL1100] Nondeterminism error: Activity machine does not handle this event: ...".
      expect(result.error!.message, result.workflowId).toMatch(/Nondeterminism/);
    }
  });

  it('the same change behind patched() replays every saved history', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: fixtureWorkflow('activity-before-ingest-patched.ts'), logger: new DefaultLogger('WARN') });
    const results = await replay(bundle, pipelineHistories);
    expect(results.map(describeError)).toEqual(pipelineHistories.map((s) => `${s.name}: no error`));
  });
});
