/**
 * Records the event histories of RetentionSweep that the replay test
 * (test/replay) replays, one per branch of the workflow, on the real services
 * (`npm run services`), and saves each in Temporal's JSON history format under
 * test/fixtures/histories/retention-sweep/<scenario>.json. The pipeline's
 * histories are scripts/record-histories.ts's; the conventions are the same
 * (read test/replay/README.md): never re-record a history to make a replay
 * pass; a change that alters the commands goes behind patched() and its
 * histories into a folder named after the patch.
 *
 *   npx tsx scripts/record-retention-histories.ts            # all scenarios
 *   npx tsx scripts/record-retention-histories.ts replanned  # only these
 *
 * Each scenario runs on a fresh model: two registered versions (v2 champion,
 * v1 previous, no training), a spec with a retention policy, and log
 * partitions 40 days old for the sweep to delete.
 *   dry-run    plan only: planRetention, nothing deleted
 *   swept      plan, then apply: the old partitions deleted
 *   replanned  the canary moves right after the first plan: apply stops (stale), the sweep plans
 *              again and applies the new plan
 *   gave-up    the canary moves after every plan: four plans, four stale applies, the sweep fails
 *              with RetentionPlanStale
 *
 * A scenario whose run does not end as expected is not saved, and the script exits 1.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { createRetentionActivities, type PlanRetentionInput } from '../activities/retention';
import { bootstrapWeather } from '../src/demo/weather';
import { publishSpec } from '../src/spec';
import { keys } from '../src/store';
import { workflowIds } from '../workflows/definitions';
import type { RetentionInput, RetentionSweep } from '../workflows/retention';
import { createHarness, uniqueId, type Harness } from '../test/integration/harness';
import { testArtifacts, testLineage } from '../test/unit/registry/lineage-fixture';
import { historyToJSON, type History } from '../test/replay/history-json';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const HISTORIES_DIR = join(ROOT, 'test/fixtures/histories/retention-sweep');
const DAY = 86_400_000;

interface Scenario {
  name: string;
  input: Omit<RetentionInput, 'model'>;
  /** How many plans are followed by a move of the canary (as a release starting or ending would). */
  canaryMoves: number;
  expect: { closed: 'COMPLETED' } | { failureType: string };
  activities: string[];
}

const PLAN_APPLY = ['planRetention', 'applyRetention'];
const SCENARIOS: Scenario[] = [
  { name: 'dry-run', input: { dryRun: true }, canaryMoves: 0, expect: { closed: 'COMPLETED' }, activities: ['planRetention'] },
  { name: 'swept', input: {}, canaryMoves: 0, expect: { closed: 'COMPLETED' }, activities: PLAN_APPLY },
  { name: 'replanned', input: {}, canaryMoves: 1, expect: { closed: 'COMPLETED' }, activities: [...PLAN_APPLY, ...PLAN_APPLY] },
  {
    name: 'gave-up',
    input: {},
    canaryMoves: Infinity,
    expect: { failureType: 'RetentionPlanStale' },
    activities: [...PLAN_APPLY, ...PLAN_APPLY, ...PLAN_APPLY, ...PLAN_APPLY],
  },
];

/** A model with two versions and old log partitions to sweep. */
async function prepareModel(h: Harness, model: string): Promise<void> {
  const { spec } = await bootstrapWeather(h.store, { model, years: [] });
  await publishSpec(h.store, {
    ...spec,
    retention: { schedule: 'daily', keepVersions: 1, snapshotDays: 30, predictionLogDays: 30, feedbackLogDays: 30, reportDays: 30, leftoverHours: 24 },
  });
  for (const run of ['a', 'b']) {
    const runId = `${run}-${uniqueId()}`;
    const { version } = await h.registry.register(
      model,
      testArtifacts(run),
      { ...testLineage(runId), model, workflow: { id: `retrain/${model}`, runId } },
      new Date(),
    );
    await h.registry.promote(model, version, 'record-retention-histories', new Date());
  }
  const old = new Date(Date.now() - 40 * DAY);
  for (const part of ['p1', 'p2']) await h.store.put(keys.predictionLogPart(model, old, part), 'PAR1');
  await h.store.put(keys.feedbackPart(model, old, 'f1'), 'PAR1');
}

function scheduledActivities(history: History): string[] {
  return (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

function failureTypes(error: unknown): string[] {
  const types: string[] = [];
  let current: unknown = error instanceof WorkflowFailedError ? error.cause : error;
  while (current instanceof Error) {
    if (current instanceof ApplicationFailure && current.type) types.push(current.type);
    current = current.cause;
  }
  return types;
}

async function record(h: Harness, scenario: Scenario): Promise<History> {
  const model = `retention-replay-${uniqueId()}`;
  await prepareModel(h, model);
  const real = createRetentionActivities(h.deps);
  let moves = scenario.canaryMoves;
  const worker = await h.startWorker({
    activityOverrides: {
      planRetention: async (input: PlanRetentionInput) => {
        const planned = await real.planRetention(input);
        if (moves > 0) {
          moves -= 1;
          await h.registry.updateAliases(model, (a) => ({ ...a, canary: a.canary === 'v1' ? null : 'v1', canaryWeight: a.canary === 'v1' ? 0 : 0.1 }));
        }
        return planned;
      },
    },
  });
  try {
    const handle = await h.client.workflow.start<typeof RetentionSweep>('RetentionSweep', {
      taskQueue: h.config.taskQueue,
      workflowId: workflowIds.retention(model),
      args: [{ model, requestedBy: 'record-retention-histories', ...scenario.input }],
      staticSummary: `Retention of **${model}** (recorded: ${scenario.name})`,
    });
    try {
      const result = await handle.result();
      if (!('closed' in scenario.expect)) throw new Error(`${scenario.name}: expected a failure, the sweep completed: ${result.message}`);
    } catch (error) {
      if (!(error instanceof WorkflowFailedError)) throw error;
      if (!('failureType' in scenario.expect) || !failureTypes(error).includes(scenario.expect.failureType)) {
        throw new Error(`${scenario.name}: expected ${JSON.stringify(scenario.expect)}, the sweep failed: ${error.cause?.message}`, { cause: error });
      }
    }
    const history = await handle.fetchHistory();
    const scheduled = scheduledActivities(history);
    if (scheduled.join() !== scenario.activities.join()) {
      throw new Error(`${scenario.name}: expected activities ${scenario.activities.join(', ')}, the sweep scheduled ${scheduled.join(', ')}`);
    }
    return history;
  } finally {
    await worker.stop();
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
  const h = await createHarness();
  console.log(`recording on ${h.config.temporalAddress}, namespace ${h.config.temporalNamespace}, task queue ${h.config.taskQueue}`);
  let failed = false;
  try {
    await mkdir(HISTORIES_DIR, { recursive: true });
    for (const scenario of SCENARIOS.filter((s) => wanted.length === 0 || wanted.includes(s.name))) {
      const history = await record(h, scenario);
      const file = join(HISTORIES_DIR, `${scenario.name}.json`);
      const json = `${historyToJSON(history)}\n`;
      await writeFile(file, json);
      console.log(`${scenario.name}: ${history.events?.length} events, ${(json.length / 1024).toFixed(1)} KiB -> ${relative(ROOT, file)}`);
    }
  } catch (error) {
    failed = true;
    console.error((error as Error).message);
  } finally {
    await h.close();
  }
  process.exit(failed ? 1 : 0);
}

await main();
