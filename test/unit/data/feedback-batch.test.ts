/**
 * Joined feedback into a training batch (src/data/feedback-batch.ts), on
 * parts written by the model server's own writer (writeFeedbackParts), read
 * back through the engine and checked by the pipeline's own validate
 * (checkBatchFile): schema columns from the served inputs and the label, the
 * time column from the served row (or when it was served), one row per
 * prediction id across parts and across pulls, flags left out, bad rows
 * quarantined by validate with their row named.
 */
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBatchFile } from '../../../src/data/batch';
import { literal, queryRows, withConnection } from '../../../src/data/engine';
import { writeFeedbackBatch, type FeedbackBatchOptions } from '../../../src/data/feedback-batch';
import { WEATHER_SPEC_PATH } from '../../../src/demo/weather';
import type { JoinedFeedback } from '../../../src/serve/feedback';
import { writeFeedbackParts } from '../../../src/serve/feedback';
import { loadModelSpecFile, type ModelSpec } from '../../../src/spec';
import { tempFiles } from '../../helpers/temp-files';

const { fresh } = tempFiles('perennial-feedback-batch-');
const KINDS = { precipitation: 'number', temp_max: 'number', temp_min: 'number', wind: 'number', location: 'category', date: 'date' } as const;
const SERVED_AT = Date.parse('2026-11-30T10:00:00Z');

/** A labelled (or flagged) prediction of a weather row, as the server joins it. */
function joined(
  id: string,
  inputs: Partial<Record<keyof typeof KINDS, number | string | null>>,
  label?: string,
  flag?: string,
  feedbackOffsetMs = 1000,
): JoinedFeedback {
  const row = { precipitation: 0, temp_max: 10, temp_min: 2, wind: 3, location: 'New York', date: '2015-03-01', ...inputs };
  return {
    predictionId: id,
    feedbackTime: SERVED_AT + feedbackOffsetMs,
    prediction: {
      predictionId: id,
      model: 'weather',
      version: 'v1',
      arm: 'champion',
      time: SERVED_AT,
      inputs: row,
      task: 'classification',
      label: 'sun',
      probabilities: { drizzle: 0.1, fog: 0.1, rain: 0.2, snow: 0.1, sun: 0.5 },
    },
    ...(label !== undefined ? { label, correct: label === 'sun' } : {}),
    ...(flag !== undefined ? { flag } : {}),
  };
}

/** One Parquet part as the server writes it, under a fresh folder. */
async function part(items: JoinedFeedback[], name: string): Promise<{ path: string; key: string }> {
  const [written] = await writeFeedbackParts(items, name, dirname(fresh('x')), () => KINDS);
  return { path: written!.path, key: written!.key };
}

async function rowsOf(path: string) {
  return withConnection((c) =>
    queryRows<Record<string, unknown>>(c, `SELECT *, strftime(date, '%Y-%m-%d %H:%M') AS day FROM read_parquet(${literal(path)}) ORDER BY prediction_id`),
  );
}

const spec: ModelSpec = await loadModelSpecFile(WEATHER_SPEC_PATH);
const options = (s: ModelSpec = spec, labelsOnly = true): FeedbackBatchOptions => ({
  schema: s.schema,
  label: s.label,
  timeColumn: s.data.timeColumn,
  features: s.features.map((f) => f.name),
  labelsOnly,
});

describe('joined feedback into a batch', () => {
  it('has the schema columns from the served inputs and the label, each prediction once, the first label to arrive kept', async () => {
    const a = await part(
      [joined('p1', { location: 'Seattle', date: '2015-01-02' }, 'rain'), joined('p2', { wind: 7.5 }, 'snow'), joined('p3', {}, undefined, 'wrong')],
      'seg-a',
    );
    // Another part with p2 again (a later label) and a new one: p2 keeps its first label.
    const b = await part([joined('p2', {}, 'fog', undefined, 5000), joined('p4', { date: '2014-12-31' }, 'sun')], 'seg-b');
    const out = fresh('batch.parquet');
    const counts = await writeFeedbackBatch([a, b], [], out, options());
    expect(counts).toEqual({ read: 5, unlabelled: 1, duplicates: 1, delivered: 0, rows: 3 });
    const rows = await rowsOf(out);
    expect(rows.map((r) => [r.prediction_id, r.location, r.day, r.wind, r.weather])).toEqual([
      ['p1', 'Seattle', '2015-01-02 00:00', 3, 'rain'],
      ['p2', 'New York', '2015-03-01 00:00', 7.5, 'snow'],
      ['p4', 'New York', '2014-12-31 00:00', 3, 'sun'],
    ]);
    expect(Object.keys(rows[0]!).slice(0, -1)).toEqual([...spec.schema.fields.map((f) => f.name), 'prediction_id']);

    // The next pull: the same parts again (a rewrite), plus one new id: only that one is delivered.
    const c = await part([joined('p1', {}, 'rain'), joined('p5', {}, 'drizzle')], 'seg-c');
    const next = fresh('batch.parquet');
    expect(await writeFeedbackBatch([a, b, c], [out], next, options())).toEqual({ read: 7, unlabelled: 1, duplicates: 2, delivered: 3, rows: 1 });
    expect((await rowsOf(next)).map((r) => r.prediction_id)).toEqual(['p5']);

    // Nothing new at all: no file.
    const none = fresh('batch.parquet');
    expect((await writeFeedbackBatch([a], [out, next], none, options())).rows).toBe(0);
    await expect(rowsOf(none)).rejects.toThrow();
  });

  it('takes the time column from when the prediction was made when it is not a feature', async () => {
    const noDate = { ...spec, features: spec.features.filter((f) => f.name !== 'date') };
    const out = fresh('batch.parquet');
    await writeFeedbackBatch([await part([joined('p1', { date: '2015-01-02' }, 'rain')], 'seg')], [], out, options(noDate));
    expect((await rowsOf(out)).map((r) => r.day)).toEqual(['2026-11-30 10:00']);
  });

  it('with labelsOnly false keeps flagged rows, which validate quarantines (the label may not be missing), naming each bad row', async () => {
    const out = fresh('batch.parquet');
    const items = [
      joined('p1', {}, 'rain'),
      joined('p2', {}, undefined, 'wrong'),
      joined('p3', {}, 'hail'), // a label of a class the schema does not have
      joined('p4', { wind: 99 }, 'sun'), // a served value out of the schema's range
      ...Array.from({ length: 40 }, (_, i) => joined(`q${String(i).padStart(2, '0')}`, { date: '2015-04-01' }, 'sun')),
    ];
    expect((await writeFeedbackBatch([await part(items, 'seg')], [], out, options(spec, false))).rows).toBe(44);
    const checked = await checkBatchFile(out, spec.schema, { source: 'incoming/production/batch.parquet', errorBudget: 0.1 });
    expect(checked.refusal).toBeNull();
    expect(checked.result.extraColumns).toEqual(['prediction_id']);
    // In time order then by id: p1..p4 are 2015-03-01, first.
    expect(checked.result.errors.map((e) => [e.row, e.column, e.reason])).toEqual([
      [2, 'weather', 'is missing and the schema does not allow it'],
      [3, 'weather', "'hail' is not one of the allowed values (drizzle, fog, rain, snow, sun)"],
      [4, 'wind', '99 is above the maximum 60'],
    ]);
    expect(checked.result.rowsAccepted).toBe(41);
  });

  it('names the part that is not joined feedback', async () => {
    const out = fresh('batch.parquet');
    const bad = fresh('not-feedback.parquet');
    await withConnection((c) => c.run(`COPY (SELECT 1 AS x) TO ${literal(bad)} (FORMAT parquet)`));
    await expect(writeFeedbackBatch([{ path: bad, key: 'logs/weather/feedback/dt=2026-11-30/x.parquet' }], [], out, options())).rejects.toThrow(
      "logs/weather/feedback/dt=2026-11-30/x.parquet: not joined feedback as the model server writes it: no column 'prediction_id', 'feedback_time', 'prediction_time', 'inputs', 'label'; remove the part from the feedback log",
    );
  });
});
