/**
 * Records the event histories the replay test (test/replay) replays: runs
 * RetrainingPipeline on the real services (Temporal dev server and S3 gateway,
 * `npm run services`), on the real weather data, once per branch of the
 * workflow, and saves each history in Temporal's JSON history format under
 * test/fixtures/histories/retraining-pipeline/<generation>/<scenario>.json.
 *
 * A generation is the workflow code as of its newest patch (GENERATION below).
 * Histories of older generations are never re-recorded: they are what runs
 * started by older code look like, and the replay test keeps replaying them.
 * Add a patch to the workflow, name a new generation, record it.
 *
 *   npx tsx scripts/record-histories.ts                 # all scenarios
 *   npx tsx scripts/record-histories.ts rejected        # only these (earlier ones still run, unsaved)
 *
 * Scenarios run in order on one fresh model, as a user would meet them:
 *   promoted           first run on weather data: the whole pipeline, v1 becomes champion
 *   unchanged          second run on the same data, not forced: stops after snapshot (its base
 *                      snapshot summed in parts of 500 rows)
 *   rejected           forced run under a gate no model passes (minAccuracy 0.99)
 *   compensated        register and promote succeed, then promote fails: unregister and
 *                      revertPromotion run in reverse (saga), the workflow fails
 *   failed-validation  a malformed batch in incoming/: DataValidationError from validate
 *   champion-moved     another promotion moves the champion while the run is in flight: promote's
 *                      compare-and-set refuses, the version is unregistered, the run ends rejected
 *   code-version-mismatch  started for a commit the workers do not run (CI's --code-version):
 *                      fails after ingest with CodeVersionMismatchError, nothing trained
 *   rows-window        a spec whose window keeps the newest rows: the snapshot is built in one
 *                      activity (no snapshotPart), under a gate no model passes
 *
 * A scenario whose run does not end as expected is not saved, and the script exits 1.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { createPipelineActivities } from '../activities/pipeline';
import type { PromoteInput } from '../activities/types';
import { formatCsv } from '../src/data';
import { bootstrapWeather, weatherRows, WEATHER_SPEC_PATH } from '../src/demo/weather';
import { loadModelSpecFile, publishSpec, type ModelSpec } from '../src/spec';
import { keys } from '../src/store';
import { startRetrain } from '../src/temporal';
import type { RetrainInput, RetrainOutcome } from '../workflows/definitions';
import { createHarness, uniqueId, type Harness } from '../test/integration/harness';
// Temporal's JSON history format, as the Temporal CLI and UI write it.
import { historyToJSON, type History } from '../test/replay/history-json';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
/** The newest patch in workflows/retraining-pipeline.ts (the first generation, before any patch, is the folder itself). */
const GENERATION = 'fan-out-data-stages';
const HISTORIES_DIR = join(ROOT, 'test/fixtures/histories/retraining-pipeline', GENERATION);

interface Scenario {
  name: string;
  /** Puts the data, spec or worker in place for this run. */
  prepare?: (ctx: Context) => Promise<void>;
  input: Omit<RetrainInput, 'model'>;
  /** The outcome the run must end with, or the failure type it must fail with. */
  expect: { outcome: RetrainOutcome } | { failureType: string };
  /** Activities the history must have scheduled (beyond the outcome), to be sure the branch was taken. */
  activities: string[];
  /** Puts the normal worker back after the run. */
  cleanup?: (ctx: Context) => Promise<void>;
}

interface Context {
  h: Harness;
  model: string;
  worker: { stop(): Promise<void> };
}

async function publishGate(ctx: Context, gate: ModelSpec['evaluation']['gate']): Promise<void> {
  const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
  await publishSpec(ctx.h.store, { ...spec, name: ctx.model, evaluation: { ...spec.evaluation, gate } });
}

/** Since patch 'fan-out-data-stages': validate is validateBatch per batch, snapshot is summed in parts first. */
const DATA_STAGES = ['ingest', 'validateBatch', 'snapshotPart', 'snapshot'];
const ALL_STAGES = [...DATA_STAGES, 'preprocess', 'train', 'evaluate', 'register', 'promote'];
/** A forced run with no new batch validates nothing. */
const RERUN_STAGES = ALL_STAGES.filter((a) => a !== 'validateBatch');

const SCENARIOS: Scenario[] = [
  {
    name: 'promoted',
    prepare: async ({ h, model }) => {
      await bootstrapWeather(h.store, { model, jsonlYear: 2015 });
    },
    input: { trigger: 'manual' },
    expect: { outcome: 'promoted' },
    activities: ALL_STAGES,
  },
  {
    name: 'unchanged',
    // No new batch: only the base snapshot's rows, in three ranges.
    input: { trigger: 'schedule', partitionRows: 500 },
    expect: { outcome: 'unchanged' },
    activities: ['ingest', 'snapshotPart', 'snapshot'],
  },
  {
    name: 'rejected',
    prepare: (ctx) => publishGate(ctx, { minAccuracy: 0.99 }),
    input: { trigger: 'manual', force: true },
    expect: { outcome: 'rejected' },
    activities: [...RERUN_STAGES.slice(0, 6), 'discardRun'],
  },
  {
    name: 'compensated',
    prepare: async (ctx) => {
      // A gate the candidate passes for sure, so the run registers and promotes; then promote fails for good.
      await publishGate(ctx, { mustBeatBaseline: true });
      await ctx.worker.stop();
      const real = createPipelineActivities(ctx.h.deps);
      ctx.worker = await ctx.h.startWorker({
        activityOverrides: {
          promote: async (input: PromoteInput) => {
            await real.promote(input);
            throw ApplicationFailure.nonRetryable('injected failure after promotion', 'InjectedFault');
          },
        },
      });
    },
    input: { trigger: 'ci', force: true },
    expect: { failureType: 'InjectedFault' },
    activities: [...RERUN_STAGES, 'revertPromotion', 'unregister', 'discardRun'],
    cleanup: async (ctx) => {
      await ctx.worker.stop();
      ctx.worker = await ctx.h.startWorker();
    },
  },
  {
    name: 'failed-validation',
    prepare: async ({ h, model }) => {
      // Every row is wrong: a batch far beyond the spec's error budget.
      const { columns, rows } = await weatherRows('Seattle');
      const bad = rows.slice(0, 10).map((r) => r.map((c, i) => (columns[i] === 'temp_max' ? 'warm' : c)));
      await h.store.put(keys.incomingBatch(model, 'bad-2016.csv'), formatCsv(columns, bad));
    },
    input: { trigger: 'drift' },
    expect: { failureType: 'DataValidationError' },
    activities: ['ingest', 'validateBatch', 'discardRun'],
  },
  {
    name: 'champion-moved',
    prepare: async (ctx) => {
      // Just before this run promotes, another writer takes the champion alias away from the version it was compared with.
      await ctx.worker.stop();
      const real = createPipelineActivities(ctx.h.deps);
      ctx.worker = await ctx.h.startWorker({
        activityOverrides: {
          promote: async (input: PromoteInput) => {
            await ctx.h.registry.updateAliases(ctx.model, (a) => {
              a.history.push({
                at: new Date().toISOString(),
                action: 'revert-promotion',
                from: a.champion,
                to: null,
                by: 'record-histories: a competing writer',
              });
              a.previous = a.champion;
              a.champion = null;
              return a;
            });
            return real.promote(input);
          },
        },
      });
    },
    input: { trigger: 'manual', force: true },
    expect: { outcome: 'rejected' },
    activities: [...RERUN_STAGES, 'revertPromotion', 'unregister'],
    cleanup: async (ctx) => {
      await ctx.worker.stop();
      ctx.worker = await ctx.h.startWorker();
    },
  },
  {
    name: 'code-version-mismatch',
    input: { trigger: 'ci', codeVersion: '0000000000000000000000000000000000000000' },
    expect: { failureType: 'CodeVersionMismatchError' },
    activities: ['ingest', 'discardRun'],
  },
  {
    name: 'rows-window',
    prepare: async (ctx) => {
      const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
      await publishSpec(ctx.h.store, {
        ...spec,
        name: ctx.model,
        data: { ...spec.data, window: { kind: 'rows', maxRows: 1200 } },
        evaluation: { ...spec.evaluation, gate: { minAccuracy: 0.99 } },
      });
    },
    input: { trigger: 'manual', force: true },
    expect: { outcome: 'rejected' },
    activities: ['ingest', 'snapshot', 'preprocess', 'train', 'evaluate', 'discardRun'],
  },
];

function scheduledActivities(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    return name ? [name] : [];
  });
}

/** The failure's type, from the workflow's cause down to the activity's own error. */
function failureTypes(error: unknown): string[] {
  const types: string[] = [];
  let current: unknown = error instanceof WorkflowFailedError ? error.cause : error;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && current.type) types.push(current.type);
    current = current.cause;
  }
  return types;
}

async function runScenario(ctx: Context, scenario: Scenario): Promise<History> {
  await scenario.prepare?.(ctx);
  try {
    const { handle } = await startRetrain(ctx.h.client, ctx.h.config, { model: ctx.model, ...scenario.input });
    await checkOutcome(scenario, handle);
    const history = await handle.fetchHistory();
    const scheduled = scheduledActivities(history);
    const missing = scenario.activities.filter((a) => !scheduled.includes(a));
    if (missing.length > 0) throw new Error(`${scenario.name}: the run never scheduled ${missing.join(', ')} (it scheduled ${scheduled.join(', ')})`);
    return history;
  } finally {
    await scenario.cleanup?.(ctx);
  }
}

async function checkOutcome(scenario: Scenario, handle: WorkflowHandle): Promise<void> {
  const expected = scenario.expect;
  try {
    const result = await handle.result();
    if ('outcome' in expected && result.outcome === expected.outcome) return;
    throw new Error(`${scenario.name}: expected ${JSON.stringify(expected)}, the run ended '${result.outcome}': ${result.message}`);
  } catch (error) {
    if (!(error instanceof WorkflowFailedError)) throw error;
    if ('failureType' in expected && failureTypes(error).includes(expected.failureType)) return;
    throw new Error(
      `${scenario.name}: expected ${JSON.stringify(expected)}, the run failed with ${failureTypes(error).join(' < ') || 'no type'}: ${error.cause?.message}`,
      { cause: error },
    );
  }
}

async function main(): Promise<void> {
  const names = SCENARIOS.map((s) => s.name);
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((w) => !names.includes(w));
  if (unknown.length > 0) {
    console.error(`unknown scenario(s): ${unknown.join(', ')}; known: ${names.join(', ')}`);
    process.exit(2);
  }
  const save = new Set(wanted.length > 0 ? wanted : names);
  // Later scenarios build on the state the earlier ones leave: run the prefix up to the last one asked for.
  let last = 0;
  for (const name of save) last = Math.max(last, names.indexOf(name));

  const h = await createHarness();
  const ctx: Context = { h, model: `weather-replay-${uniqueId()}`, worker: await h.startWorker() };
  console.log(`recording on ${h.config.temporalAddress}, namespace ${h.config.temporalNamespace}, task queue ${h.config.taskQueue}, model ${ctx.model}`);
  let failed = false;
  try {
    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const scenario of SCENARIOS.slice(0, last + 1)) {
      const started = Date.now();
      const history = await runScenario(ctx, scenario);
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      if (!save.has(scenario.name)) {
        console.log(`${scenario.name}: ran (${seconds}s), not saved`);
        continue;
      }
      const file = join(HISTORIES_DIR, `${scenario.name}.json`);
      const json = `${historyToJSON(history)}\n`;
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, json);
      console.log(`${scenario.name}: ${history.events?.length} events, ${(json.length / 1024).toFixed(1)} KiB -> ${relative(ROOT, file)} (${seconds}s)`);
    }
  } catch (error) {
    failed = true;
    console.error((error as Error).message);
  } finally {
    await ctx.worker.stop();
    await h.close();
  }
  process.exit(failed ? 1 : 0);
}

await main();
