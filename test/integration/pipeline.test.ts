/**
 * RetrainingPipeline end to end on the real Temporal dev server and the real
 * S3 gateway, on the real weather data of vega-datasets.
 */
import { ApplicationFailure } from '@temporalio/activity';
import { WorkflowFailedError } from '@temporalio/client';
import { createPipelineActivities } from '../../activities/pipeline';
import { loadModelSpecFile, loadPublishedSpec, publishSpec, type ModelSpec, type PublishedSpec } from '../../src/spec';
import type { PromoteInput, TrainInput } from '../../activities/types';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatCsv, readSnapshotTable } from '../../src/data';
import { bootstrapWeather, weatherRows, WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { keys, sha256 } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { pipelineStatusQuery, type RetrainResult } from '../../workflows/definitions';
import type { RetrainingPipeline } from '../../workflows';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `weather-${uniqueId()}`;

async function retrain(trigger = 'manual', force = false): Promise<RetrainResult> {
  const { handle } = await startRetrain(h.client, h.config, { model, trigger, force });
  return handle.result();
}

async function failureMessage(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(WorkflowFailedError);
    const cause = (error as WorkflowFailedError).cause;
    return `${cause?.message} ${(cause?.cause as Error | undefined)?.message ?? ''}`;
  }
  throw new Error('the workflow was expected to fail and did not');
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  await bootstrapWeather(h.store, { model, jsonlYear: 2015 });
});

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('RetrainingPipeline on weather.csv (Seattle)', () => {
  let first: RetrainResult;

  it('promotes a model that beats the majority-class baseline on the time-based holdout', async () => {
    first = await retrain();
    expect(first.outcome).toBe('promoted');
    expect(first.version).toBe('v1');
    expect(first.stages.map((s) => s.stage)).toEqual(['ingest', 'validate', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote']);
    const candidate = first.metrics!.candidate;
    expect(candidate.task).toBe('classification');
    const accuracy = candidate.task === 'classification' ? candidate.accuracy : NaN;
    expect(accuracy).toBeGreaterThan(first.metrics!.baseline!);
    expect(first.gate!.passed).toBe(true);
    const aliases = await h.registry.getAliases(model);
    expect(aliases.champion).toBe('v1');
    expect(aliases.previous).toBeNull();
  });

  it('stores in S3 exactly what the lineage says', async () => {
    const lineage = (await h.registry.getLineage(model, 'v1'))!;
    // Every artifact is there with the recorded sha256 and size.
    expect(lineage.artifacts.map((a) => a.name).sort()).toEqual(['metrics.json', 'model.json', 'preprocessor.json', 'spec.json', 'weights.bin']);
    for (const artifact of lineage.artifacts) {
      const body = await h.store.get(artifact.key);
      expect(sha256(body), artifact.key).toBe(artifact.sha256);
      expect(body.length).toBe(artifact.bytes);
    }
    // The snapshot is Parquet named by the hash of its rows; its bytes hash to the recorded file sha256, and it holds the four yearly batches.
    const snapshot = await h.store.get(lineage.data.snapshotKey);
    expect(sha256(snapshot)).toBe(lineage.data.snapshotFileSha256);
    expect(lineage.data.snapshotKey).toBe(keys.snapshot(model, lineage.data.snapshotSha256));
    const file = join(await mkdtemp(join(tmpdir(), 'lineage-')), 'snapshot.parquet');
    await writeFile(file, snapshot);
    const table = await readSnapshotTable(file, (await loadModelSpecFile(WEATHER_SPEC_PATH)).schema, lineage.data.snapshotKey);
    expect(table.rows).toBe(lineage.data.rows);
    expect(lineage.data.timeRange).toEqual({ from: '2012-01-01', to: '2015-12-31' });
    expect(lineage.data.rows).toBe(1461);
    expect(lineage.data.trainRows + lineage.data.holdoutRows).toBe(1461);
    expect(lineage.data.batches.sort()).toEqual(['csv', 'csv', 'csv', 'jsonl'].map((ext, i) => keys.incomingBatch(model, `seattle-${2012 + i}.${ext}`)));
    // Code, parameters, seed, backend, trigger and the workflow run that made it.
    expect(lineage.code.version).toMatch(/^[0-9a-f]{40}(-dirty)?$|^unknown$/);
    expect(lineage.seed).toBe(42);
    expect(lineage.params).toMatchObject({ hiddenUnits: [32, 16], epochs: 40, seed: 42 });
    expect(['tensorflow', 'wasm', 'cpu']).toContain(lineage.backend);
    expect(lineage.trigger).toBe('manual');
    expect(lineage.workflow.id).toBe(`retrain/${model}`);
    const description = await h.client.workflow.getHandle(lineage.workflow.id, lineage.workflow.runId).describe();
    expect(description.status.name).toBe('COMPLETED');
    // The run's staging area was emptied once the version held its own copies.
    expect(await h.store.list(keys.staging(model, lineage.workflow.runId))).toEqual([]);
    // Metrics in the lineage are the candidate's holdout metrics of the run.
    expect(lineage.metrics).toEqual(first.metrics!.candidate);
    // The UI can find the run by its search attributes.
    expect(description.searchAttributes.PerennialModel).toEqual([model]);
    expect(description.searchAttributes.PerennialVersion).toEqual(['v1']);
    expect(description.searchAttributes.PerennialStage).toEqual(['promoted']);
  });

  it('a second run on unchanged data makes no new snapshot and leaves the champion', async () => {
    const before = (await h.store.list(keys.snapshots(model))).map((o) => o.key);
    const second = await retrain();
    expect(second.outcome).toBe('unchanged');
    expect(second.champion).toBe('v1');
    expect(second.stages.map((s) => s.stage)).toEqual(['ingest', 'validate', 'snapshot']);
    const after = (await h.store.list(keys.snapshots(model))).map((o) => o.key);
    expect(after).toEqual(before);
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
  });

  it('a batch beyond the error budget fails the pipeline, is quarantined with its reasons, and the champion stays', async () => {
    const { columns, rows } = await weatherRows('Seattle');
    const good = rows.slice(0, 20).map((r) => [...r]);
    good[3]![columns.indexOf('temp_max')] = 'warm'; // text in a numeric column: row 5 of the file
    good[7]![columns.indexOf('weather')] = 'hail'; // unknown label: row 9
    const ragged = formatCsv(columns, good).replace(/\n(.*?)\n/, (_, line: string) => `\n${line}\nSeattle,2016-01-01,1.0\n`); // row 3: 3 fields
    const key = keys.incomingBatch(model, 'bad-2016.csv');
    await h.store.put(key, ragged);
    const message = await failureMessage(retrain());
    expect(message).toContain('bad-2016.csv');
    expect(message).toMatch(/rows 3, 6, 10/);
    expect(message).toContain("expected a number, found 'warm'");
    expect(message).toContain("'hail' is not one of the allowed values");
    expect(message).toContain('expected 7 fields, found 3');
    // The UI shows where it failed: PerennialStage 'failed', and the validate stage marked failed.
    const run = h.client.workflow.getHandle(`retrain/${model}`);
    expect((await run.describe()).searchAttributes.PerennialStage).toEqual(['failed']);
    const status = await run.query(pipelineStatusQuery);
    // The stage says why in the activity's own words, not 'Activity task failed'.
    expect(status.stages.at(-1)).toMatchObject({ stage: 'validate', status: 'failed', detail: expect.stringContaining('bad-2016.csv') });
    // Moved to quarantine with its reasons; gone from incoming; nothing else touched.
    expect(await h.store.head(key)).toBeNull();
    const quarantined = await h.store.list(keys.quarantine(model));
    const copy = quarantined.find((o) => o.key.endsWith('-bad-2016.csv'))!;
    expect((await h.store.get(copy.key)).toString()).toBe(ragged);
    const reasons = JSON.parse((await h.store.get(`${copy.key}.reasons.json`)).toString());
    expect(reasons.errors.map((e: { row: number }) => e.row)).toEqual([3, 6, 10]);
    expect(await h.registry.listVersions(model)).toEqual(['v1']);
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
  });

  it('an empty file is quarantined and named', async () => {
    const key = keys.incomingBatch(model, 'empty.csv');
    await h.store.put(key, '');
    const message = await failureMessage(retrain());
    expect(message).toContain('empty.csv');
    expect(message).toMatch(/empty/);
    expect(await h.store.head(key)).toBeNull();
    expect((await h.registry.getAliases(model)).champion).toBe('v1');
  });

  it('a failure after register runs the compensations in reverse: registry and champion end as they were', async () => {
    // New data (New York 2012) and a gate that only asks to beat the baseline, so the
    // pipeline trains and registers v2 for sure; promote then fails.
    await bootstrapWeather(h.store, { model, location: 'New York', years: [2012] });
    const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
    await publishSpec(h.store, { ...spec, name: model, evaluation: { ...spec.evaluation, gate: { mustBeatBaseline: true } } });
    await worker.stop();
    const real = createPipelineActivities(h.deps);
    worker = await h.startWorker({
      activityOverrides: {
        // The real promotion happens, then the activity fails for good: revert and unregister must follow.
        promote: async (input: PromoteInput) => {
          await real.promote(input);
          throw ApplicationFailure.nonRetryable('injected failure after promotion', 'InjectedFault');
        },
      },
    });
    const versionsBefore = await h.registry.listVersions(model);
    const message = await failureMessage(retrain('ci'));
    expect(message).toContain('injected failure after promotion');
    expect(await h.registry.listVersions(model)).toEqual(versionsBefore);
    expect(await h.store.list(keys.version(model, 'v2'))).toEqual([]);
    const aliases = await h.registry.getAliases(model);
    expect(aliases.champion).toBe('v1');
    expect(aliases.history.map((e) => `${e.action}:${e.from}->${e.to}`)).toEqual(['promote:null->v1', 'promote:v1->v2', 'revert-promotion:v2->v1']);
    await worker.stop();
    worker = await h.startWorker();
  });

  it('a version holds the spec it was trained with, even when a new spec is published while it trains', async () => {
    const inForce = await loadPublishedSpec(h.store, model);
    const newer: ModelSpec = { ...inForce.spec, description: `published mid-run ${uniqueId()}` };
    let publishedMidRun: PublishedSpec | undefined;
    await worker.stop();
    const real = createPipelineActivities(h.deps);
    worker = await h.startWorker({
      activityOverrides: {
        train: async (input: TrainInput) => {
          publishedMidRun ??= await publishSpec(h.store, newer);
          return real.train(input);
        },
      },
    });
    const result = await retrain('spec-race', true);
    expect(result.outcome).toBe('promoted');
    const lineage = (await h.registry.getLineage(model, result.version!))!;
    const versionSpec = await h.store.get(keys.versionFile(model, result.version!, 'spec.json'));
    // The version's spec.json is the spec in force when the run began, byte for byte, and its sha256 is the lineage's.
    expect(sha256(versionSpec)).toBe(inForce.sha256);
    expect(lineage.spec).toEqual({ sha256: inForce.sha256, key: inForce.key });
    expect(lineage.artifacts.find((a) => a.name === 'spec.json')!.sha256).toBe(inForce.sha256);
    expect(JSON.parse(versionSpec.toString()).description).toBe(inForce.spec.description);
    // The newer spec is the one in force now, kept under its own hash for the next run.
    expect(publishedMidRun!.sha256).not.toBe(inForce.sha256);
    expect(sha256(await h.store.get(keys.spec(model)))).toBe(publishedMidRun!.sha256);
    expect(sha256(await h.store.get(keys.publishedSpec(model, publishedMidRun!.sha256)))).toBe(publishedMidRun!.sha256);
    await worker.stop();
    worker = await h.startWorker();
  });

  it('ten starts of one model at once make one run: one version, promoted once, and every caller waits on that run', async () => {
    const versionsBefore = await h.registry.listVersions(model);
    const promotionsBefore = (await h.registry.getAliases(model)).history.length;
    const triggers = Array.from({ length: 10 }, (_, i) => `storm-${i}`);
    const starts = await Promise.all(triggers.map((trigger) => startRetrain(h.client, h.config, { model, trigger, force: true })));
    // The server let exactly one start through; the nine others joined it.
    expect(starts.filter((s) => s.started)).toHaveLength(1);
    expect(new Set(starts.map((s) => s.workflowId))).toEqual(new Set([`retrain/${model}`]));
    const results = await Promise.all(starts.map((s) => s.handle.result()));
    expect(new Set(results.map((r) => JSON.stringify(r))).size).toBe(1);
    const result = results[0]!;
    expect(result.outcome).toBe('promoted');
    expect(await h.registry.listVersions(model)).toEqual([...versionsBefore, result.version]);
    const aliases = await h.registry.getAliases(model);
    expect(aliases.history.slice(promotionsBefore).map((e) => `${e.action}:${e.to}`)).toEqual([`promote:${result.version}`]);
    // The run is the winner's, under its trigger.
    const winner = starts.findIndex((s) => s.started);
    expect((await starts[winner]!.handle.describe()).searchAttributes.PerennialTrigger).toEqual([triggers[winner]]);
  });

  it('two runs of one model started under their own ids (an older client, the temporal CLI) never promote a version over a champion it was not compared with', async () => {
    // Started directly, with different ids, so they train side by side against the same champion.
    const startDirect = (trigger: string) =>
      h.client.workflow.start<typeof RetrainingPipeline>('RetrainingPipeline', {
        taskQueue: h.config.taskQueue,
        workflowId: `retrain/${model}/${trigger}`,
        args: [{ model, trigger, force: true, retryBudgetMinutes: h.config.retryBudgetMinutes }],
      });
    const before = (await h.registry.getAliases(model)).champion;
    const versionsBefore = await h.registry.listVersions(model);
    const [handleA, handleB] = await Promise.all([startDirect('race-a'), startDirect('race-b')]);
    const [a, b] = await Promise.all([handleA.result(), handleB.result()]);
    expect([a.outcome, b.outcome].sort()).not.toContain('failed');
    const promoted = [a, b].filter((r) => r.outcome === 'promoted');
    expect(promoted.length).toBeGreaterThanOrEqual(1);
    // Every promotion went over the champion the version was evaluated against (its lineage's parent).
    const aliases = await h.registry.getAliases(model);
    for (const entry of aliases.history.filter((e) => e.action === 'promote' && e.to !== null)) {
      const lineage = await h.registry.getLineage(model, entry.to!);
      expect(lineage!.parent, `${entry.to} promoted over ${entry.from}`).toBe(entry.from);
    }
    // A run that lost the race says so and left no version behind.
    for (const loser of [a, b].filter((r) => r.outcome === 'rejected')) {
      expect(loser.message).toMatch(/was evaluated against champion v\d+, but the champion is now v\d+/);
    }
    // Only promoted versions stay registered: the loser's version was unregistered.
    expect((await h.registry.listVersions(model)).length - versionsBefore.length).toBe(promoted.length);
    expect(aliases.champion).not.toBe(before);
    expect(promoted.map((r) => r.version)).toContain(aliases.champion);
  });
});
