/**
 * Performance estimated before labels (CBPE) on the real services: the
 * weather model trained on Seattle by the pipeline stores a calibration with
 * its version; New York traffic goes through the real model server (its
 * prediction log in S3); a DriftCheck over that log signals `estimated`:
 * CBPE over exactly the probabilities the clients received (recomputed here
 * from the answers), beside the holdout's estimate and the accuracy the
 * answers really had (printed). A champion registered without a calibration
 * (as every version before this change) gets no estimate, and the report says why.
 *
 * What the figures show (README, "Performance before labels"): on New York
 * traffic this model is more confident than on its holdout, so CBPE estimates
 * an accuracy above the reference while the realised one falls. CBPE assumes
 * P(label | inputs) is unchanged; Seattle to New York changes it (and the
 * location is a category the model never trained on), which no estimate from
 * probabilities alone can see. Drift and live accuracy see it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftCheckReport } from '../../activities/drift-check';
import { cellAt, type ColumnTable } from '../../src/data';
import { bootstrapWeather } from '../../src/demo/weather';
import type { Evaluation } from '../../src/metrics';
import { estimatePerformance } from '../../src/monitor/cbpe';
import { readCalibration, type Lineage } from '../../src/registry';
import { createModelServer } from '../../src/serve';
import { publishSpec } from '../../src/spec';
import { getJsonIfExists, keys, type BundleFile } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { workflowIds } from '../../workflows/definitions';
import type { DriftCheck, DriftCheckResult } from '../../workflows/drift-check';
import { weatherTable } from '../helpers/weather';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `cbpe-${uniqueId()}`;
let lineage: Lineage;

function checkNow(): Promise<DriftCheckResult> {
  return h.client.workflow
    .start<typeof DriftCheck>('DriftCheck', {
      taskQueue: h.config.taskQueue,
      workflowId: workflowIds.driftCheck(model),
      args: [{ model, requestedBy: 'cbpe.test', now: new Date().toISOString() }],
    })
    .then((handle) => handle.result());
}

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  // The demo's spec as it is (40 epochs), the drift check over the last 24 h.
  const { spec } = await bootstrapWeather(h.store, { model });
  await publishSpec(h.store, {
    ...spec,
    monitoring: { drift: { schedule: '15m', window: 24, minRows: 100, maxRows: 100_000, method: 'auto', driftShare: 0.5 } },
  });
  const trained = await (await startRetrain(h.client, h.config, { model, trigger: 'manual' })).handle.result();
  expect(trained, trained.message).toMatchObject({ outcome: 'promoted', version: 'v1' });
  lineage = (await h.registry.getLineage(model, 'v1'))!;
}, 600_000);

afterAll(async () => {
  await worker?.stop();
  await h?.close();
});

describe('CBPE', () => {
  it('a trained weather version stores its calibration: fitted on its holdout, whose realised accuracy is the recorded one', async () => {
    const read = await readCalibration(h.registry, model, 'v1');
    expect(read.calibration, 'reason' in read ? read.reason : '').not.toBeNull();
    const calibration = read.calibration!;
    expect(calibration).toMatchObject({
      format: 'perennial-cbpe',
      version: 1,
      classes: ['drizzle', 'fog', 'rain', 'snow', 'sun'],
      rows: lineage.data.holdoutRows,
    });
    if (lineage.metrics.task !== 'classification') throw new Error('weather is a classifier');
    // The same holdout predictions as the evaluation's: its realised figures are the recorded metrics.
    expect(calibration.reference.realised.accuracy).toBeCloseTo(lineage.metrics.accuracy, 12);
    expect(calibration.reference.realised.macroF1).toBeCloseTo(lineage.metrics.macroF1, 12);
    expect(Math.abs(calibration.reference.accuracy - lineage.metrics.accuracy)).toBeLessThan(0.05);
    // The evaluation report shows the holdout's estimate too.
    const report = (await getJsonIfExists<Evaluation & { estimated?: unknown }>(h.store, keys.evaluation(model, lineage.workflow.runId)))!.value;
    expect(report.estimated).toEqual(calibration.reference);
    console.log(
      `v1 holdout (${calibration.rows} rows): estimated accuracy ${calibration.reference.accuracy.toFixed(4)}, realised ${lineage.metrics.accuracy.toFixed(4)}; ` +
        `estimated macro F1 ${calibration.reference.macroF1.toFixed(4)}, realised ${lineage.metrics.macroF1.toFixed(4)}; ` +
        `calibrated: ${calibration.curves.map((c) => `${c.class} ${c.kind === 'isotonic' ? `isotonic (${c.x.length} points)` : `raw (${c.reason})`}`).join('; ')}`,
    );
  });

  it("New York traffic through the model server: DriftCheck signals CBPE's estimate over the champion's answers in the window", async () => {
    const table: ColumnTable = await weatherTable();
    const location = table.columns.get('location')!;
    const newYork = Int32Array.from({ length: table.rows }, (_, i) => i).filter((i) => cellAt(location, i) === 'New York');
    expect(newYork.length).toBe(1461);
    const spoolDir = await mkdtemp(join(tmpdir(), 'cbpe-spool-'));
    const server = await createModelServer({
      registry: h.registry,
      models: [model],
      predictionLog: { spoolDir, maxRows: 500, maxSeconds: 1 },
      feedback: false,
      log: () => undefined,
    });
    let correct = 0;
    const served: number[] = [];
    let classes: string[] = [];
    try {
      const url = await server.listen(0, '127.0.0.1');
      const meta = (await (await fetch(`${url}/v2/models/${model}`)).json()) as { inputs: { name: string; datatype: string }[] };
      const truth = table.columns.get('weather')!;
      for (let start = 0; start < newYork.length; start += 200) {
        const rows = newYork.subarray(start, start + 200);
        const body = {
          inputs: meta.inputs.map((input) => ({
            name: input.name,
            datatype: input.datatype,
            shape: [rows.length, 1],
            data: Array.from(rows, (r) => cellAt(table.columns.get(input.name)!, r)),
          })),
        };
        const response = await fetch(`${url}/v2/models/${model}/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        const answer = (await response.json()) as {
          model_version: string;
          outputs: { name: string; data: (string | number)[] }[];
          parameters?: { classes?: string[] };
        };
        expect(response.status, JSON.stringify(answer)).toBe(200);
        expect(answer.model_version).toBe('v1');
        const labels = answer.outputs.find((o) => o.name === 'label')!.data;
        for (const p of answer.outputs.find((o) => o.name === 'probabilities')!.data as number[]) served.push(p);
        classes = answer.parameters?.classes ?? classes;
        labels.forEach((label, i) => (correct += label === cellAt(truth, rows[i]!) ? 1 : 0));
      }
    } finally {
      // Closing uploads what the spool holds: the whole log is in S3 before the check.
      await server.close();
      await rm(spoolDir, { recursive: true, force: true });
    }
    const realised = correct / newYork.length;

    const result = await checkNow();
    expect(result).toMatchObject({ status: 'checked', champion: 'v1' });
    const estimated = result.signal!.estimated!;
    const { calibration } = await readCalibration(h.registry, model, 'v1');
    expect(estimated).toMatchObject({
      version: 'v1',
      rows: 1461,
      reference: { accuracy: calibration!.reference.accuracy, macroF1: calibration!.reference.macroF1 },
    });
    expect(result.estimate).toEqual({ version: 'v1', championRows: 1461, estimated });
    const report = (await getJsonIfExists<DriftCheckReport>(h.store, result.reportKey!))!.value;
    expect(report.check.estimate).toEqual(result.estimate);
    // The HTML report shows it beside the holdout's, exact in its data attributes.
    const html = await htmlReport(result.htmlKey!);
    expect(htmlField(html, 'estimated_accuracy')).toBe(estimated.accuracy);
    expect(htmlField(html, 'reference_accuracy')).toBe(estimated.reference.accuracy);
    expect(htmlField(html, 'estimated_macro_f1')).toBe(estimated.macroF1);
    expect(htmlField(html, 'estimate_rows')).toBe(1461);
    // The check read exactly what the clients were answered: the same estimate from the responses' probabilities.
    expect(classes).toEqual(calibration!.classes);
    const fromAnswers = estimatePerformance(calibration!, served, classes);
    expect(fromAnswers.rows).toBe(1461);
    expect(estimated.accuracy).toBeCloseTo(fromAnswers.accuracy, 12);
    expect(estimated.macroF1).toBeCloseTo(fromAnswers.macroF1, 12);
    console.log(
      `New York, ${estimated.rows} predictions of v1: estimated accuracy ${estimated.accuracy.toFixed(4)} (holdout estimate ${estimated.reference.accuracy.toFixed(4)}), ` +
        `realised ${realised.toFixed(4)} (estimate - realised ${(estimated.accuracy - realised).toFixed(4)}); ` +
        `estimated macro F1 ${estimated.macroF1.toFixed(4)} (holdout estimate ${estimated.reference.macroF1.toFixed(4)})`,
    );
  });

  it('a champion registered without a calibration (before this change) gets no estimate, and the report says why', async () => {
    // v2: v1's files, its metrics.json as versions were written before calibrations.
    const bundle = await Promise.all(
      lineage.artifacts.map(async (a) => {
        const body = await h.store.get(a.key);
        if (a.name !== 'metrics.json') return { name: a.name as BundleFile, body };
        const { calibration: _c, ...metrics } = JSON.parse(body.toString('utf8')) as Evaluation;
        return { name: a.name as BundleFile, body: Buffer.from(JSON.stringify(metrics, null, 2) + '\n') };
      }),
    );
    const { version: _v, artifacts: _a, createdAt: _t, ...rest } = lineage;
    const old = await h.registry.register(model, bundle, { ...rest, workflow: { id: `cbpe-test/${model}`, runId: uniqueId() } }, new Date());
    await h.registry.promote(model, old.version, 'cbpe.test', new Date(), 'a version without a calibration');
    const read = await readCalibration(h.registry, model, old.version);
    expect(read).toEqual({
      calibration: null,
      reason: `${model}/${old.version} has no CBPE calibration (registered before calibrations were stored with versions); retrain the model to estimate its performance before labels arrive`,
    });

    const result = await checkNow();
    expect(result).toMatchObject({ status: 'checked', champion: old.version });
    expect(result.signal!.estimated).toBeUndefined();
    expect(result.estimate).toEqual({ version: old.version, championRows: 0, reason: 'reason' in read ? read.reason : '' });
    const report = (await getJsonIfExists<DriftCheckReport>(h.store, result.reportKey!))!.value;
    expect(report.check.estimate!.reason).toMatch(/has no CBPE calibration/);
    const html = await htmlReport(result.htmlKey!);
    expect(html).toMatch(/data-field="estimate_reason" data-value="[^"]*has no CBPE calibration/);
    expect(html).not.toContain('data-field="estimated_accuracy"');
  });
});

async function htmlReport(key: string): Promise<string> {
  return (await h.store.get(key)).toString('utf8');
}

/** The exact value a report's summary field carries in its data attribute. */
function htmlField(html: string, field: string): number {
  const value = new RegExp(`data-field="${field}" data-value="([^"]*)"`).exec(html)?.[1];
  if (value === undefined) throw new Error(`the HTML report has no field ${field}`);
  return Number(value);
}
