/**
 * CBPE against NannyML 0.13 on the same probabilities: the weather model
 * trained by Perennial on Seattle 2012-2014 (test/fixtures/cbpe, made by
 * scripts/reference/cbpe-weather-probabilities.ts and cbpe_fixtures.py).
 * NannyML's calibration (which classes it calibrates, the isotonic thresholds)
 * and its estimates per chunk are the reference; the realised figures come
 * from the labels. Then the cases the weather data does not cover, by hand.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { estimatePerformance, fitCalibration, parseCalibration, type CbpeCalibration } from '../../../src/monitor/cbpe';

const FIXTURES = new URL('../../fixtures/cbpe/', import.meta.url);

interface Figures {
  accuracy: number;
  macroF1: number;
}
interface Reference {
  versions: Record<string, string>;
  classes: string[];
  reference: { rows: number; nannyml: Figures; realised: Figures };
  calibration: ({ class: string; positives: number; kind: 'identity' } | { class: string; positives: number; kind: 'isotonic'; x: number[]; y: number[] })[];
  chunks: { chunk: string; rows: number; nannyml: Figures; realised: Figures }[];
}

const nannyml = JSON.parse(readFileSync(new URL('weather-nannyml.json', FIXTURES), 'utf8')) as Reference;
const CLASSES = nannyml.classes;

/** The probabilities CSV: per chunk, row-major probabilities and label indexes. */
function readProbabilities() {
  const [header, ...lines] = readFileSync(new URL('weather-probabilities.csv', FIXTURES), 'utf8').trim().split('\n');
  const columns = header!.split(',');
  expect(columns.slice(6)).toEqual(CLASSES.map((c) => `p_${c}`));
  const chunks = new Map<string, { probabilities: number[]; labels: number[] }>();
  for (const line of lines) {
    const cells = line.split(',');
    const chunk = cells[0] === 'reference' ? 'reference' : cells[1]!;
    if (!chunks.has(chunk)) chunks.set(chunk, { probabilities: [], labels: [] });
    const into = chunks.get(chunk)!;
    into.labels.push(CLASSES.indexOf(cells[4]!));
    for (const cell of cells.slice(6)) into.probabilities.push(Number(cell));
  }
  return chunks;
}

describe('CBPE on the weather model, against NannyML 0.13', () => {
  const chunks = readProbabilities();
  const reference = chunks.get('reference')!;
  const calibration = fitCalibration(reference.probabilities, reference.labels, CLASSES);

  it('calibrates the classes NannyML calibrates, with the same isotonic thresholds', () => {
    expect(nannyml.versions.nannyml).toMatch(/^0\.13\./);
    expect(calibration.rows).toBe(nannyml.reference.rows);
    expect(calibration.curves.map((c) => [c.class, c.positives, c.kind])).toEqual(nannyml.calibration.map((c) => [c.class, c.positives, c.kind]));
    for (const [i, ours] of calibration.curves.entries()) {
      const theirs = nannyml.calibration[i]!;
      if (ours.kind !== 'isotonic' || theirs.kind !== 'isotonic') continue;
      expect(ours.x).toEqual(theirs.x);
      expect(ours.y.length).toBe(theirs.y.length);
      ours.y.forEach((v, j) => expect(v).toBeCloseTo(theirs.y[j]!, 12));
    }
    // The holdout never has drizzle, and snow once: both keep their raw probabilities, each with its reason.
    const identity = Object.fromEntries(calibration.curves.flatMap((c) => (c.kind === 'identity' ? [[c.class, c.reason]] : [])));
    expect(identity.drizzle).toBe('no holdout row is of this class');
    expect(identity.snow).toBeDefined();
  });

  it('estimates accuracy and macro F1 within 0.01 of NannyML on the holdout and on every chunk (table printed)', () => {
    const rows = [
      { chunk: 'reference (holdout)', rows: nannyml.reference.rows, nannyml: nannyml.reference.nannyml, realised: nannyml.reference.realised },
      ...nannyml.chunks,
    ];
    const table: string[] = [
      `${'chunk'.padEnd(20)} ${'rows'.padStart(5)} | accuracy: ${'NannyML'.padStart(7)} ${'ours'.padStart(7)} ${'realised'.padStart(8)} | macro F1: ${'NannyML'.padStart(7)} ${'ours'.padStart(7)} ${'realised'.padStart(8)}`,
    ];
    let worst = 0;
    for (const row of rows) {
      const data = chunks.get(row.chunk.startsWith('reference') ? 'reference' : row.chunk)!;
      const ours = estimatePerformance(calibration, data.probabilities, CLASSES);
      expect(ours.rows).toBe(row.rows);
      worst = Math.max(worst, Math.abs(ours.accuracy - row.nannyml.accuracy), Math.abs(ours.macroF1 - row.nannyml.macroF1));
      expect(Math.abs(ours.accuracy - row.nannyml.accuracy), `${row.chunk} accuracy`).toBeLessThanOrEqual(0.01);
      expect(Math.abs(ours.macroF1 - row.nannyml.macroF1), `${row.chunk} macro F1`).toBeLessThanOrEqual(0.01);
      const f = (v: number, w: number) => v.toFixed(4).padStart(w);
      table.push(
        `${row.chunk.padEnd(20)} ${String(row.rows).padStart(5)} | ${' '.repeat(10)}${f(row.nannyml.accuracy, 7)} ${f(ours.accuracy, 7)} ${f(row.realised.accuracy, 8)} | ${' '.repeat(10)}${f(row.nannyml.macroF1, 7)} ${f(ours.macroF1, 7)} ${f(row.realised.macroF1, 8)}`,
      );
    }
    const reasons = calibration.curves.flatMap((c) => (c.kind === 'identity' ? [`${c.class}: ${c.reason}`] : []));
    console.log(
      `CBPE vs NannyML ${nannyml.versions.nannyml} (weather model trained on Seattle 2012-2014)\n${table.join('\n')}\n` +
        `largest |ours - NannyML|: ${worst.toExponential(2)}; raw probabilities kept for ${reasons.join('; ')}`,
    );
    // The stored reference is the holdout's estimate, beside the realised figures there.
    expect(calibration.reference.accuracy).toBeCloseTo(nannyml.reference.nannyml.accuracy, 2);
    expect(calibration.reference.macroF1).toBeCloseTo(nannyml.reference.nannyml.macroF1, 2);
    expect(calibration.reference.realised.accuracy).toBeCloseTo(nannyml.reference.realised.accuracy, 12);
    expect(calibration.reference.realised.macroF1).toBeCloseTo(nannyml.reference.realised.macroF1, 12);
  });

  it('reads the classes by name, in whatever order the probabilities come', () => {
    const data = chunks.get('New York 2015 Q1')!;
    const order = [4, 2, 0, 3, 1];
    const reordered = data.probabilities.flatMap((_, i) => (i % 5 === 0 ? order.map((j) => data.probabilities[i + j]!) : []));
    const a = estimatePerformance(calibration, data.probabilities, CLASSES);
    const b = estimatePerformance(
      calibration,
      reordered,
      order.map((j) => CLASSES[j]!),
    );
    expect(b.accuracy).toBeCloseTo(a.accuracy, 12);
    expect(b.macroF1).toBeCloseTo(a.macroF1, 12);
  });

  it('survives JSON: the stored calibration gives the same estimate', () => {
    const stored = parseCalibration(JSON.parse(JSON.stringify(calibration)), 'metrics.json');
    const data = chunks.get('Seattle 2015 Q3')!;
    expect(estimatePerformance(stored, data.probabilities, CLASSES)).toEqual(estimatePerformance(calibration, data.probabilities, CLASSES));
  });
});

describe('CBPE by hand', () => {
  const classes = ['a', 'b', 'c'];

  it('without calibration (every class identity) accuracy is the mean top probability, F1 from expected counts', () => {
    // Every row is class a: no class can be calibrated (one value each).
    const probabilities = [0.6, 0.3, 0.1, 0.2, 0.7, 0.1, 0.5, 0.25, 0.25];
    const c = fitCalibration(probabilities, [0, 0, 0], classes);
    expect(c.curves.map((k) => (k.kind === 'identity' ? k.reason : k.kind))).toEqual([
      'every holdout row is of this class',
      'no holdout row is of this class',
      'no holdout row is of this class',
    ]);
    const e = estimatePerformance(c, probabilities, classes);
    expect(e.accuracy).toBeCloseTo((0.6 + 0.7 + 0.5) / 3, 12);
    // Predicted: a, b, a. a: TP 1.1, FP 0.9, FN 0.2; b: TP 0.7, FP 0.3, FN 0.55; c: TP 0, FP 0, FN 0.45.
    const f1 = (tp: number, fp: number, fn: number) => tp / (tp + 0.5 * (fp + fn));
    expect(e.macroF1).toBeCloseTo((f1(1.1, 0.9, 0.2) + f1(0.7, 0.3, 0.55) + 0) / 3, 12);
    expect(c.reference.realised).toEqual({ accuracy: 2 / 3, macroF1: (0.8 + 0 + 0) / 3 });
  });

  it('a row whose probabilities sum to 0 counts as uniform; tied probabilities predict the first class', () => {
    const c = fitCalibration([0.5, 0.5, 0, 0.5, 0.5, 0], [0, 0], classes);
    expect(estimatePerformance(c, [0, 0, 0], classes)).toEqual({ rows: 1, accuracy: 1 / 3, macroF1: expect.any(Number) });
    // Tie between a and b: a is predicted, so a gets TP 0.5 and b only FN.
    const tied = estimatePerformance(c, [0.5, 0.5, 0], classes);
    expect(tied.accuracy).toBe(0.5);
    expect(tied.macroF1).toBeCloseTo((0.5 / (0.5 + 0.5 * 0.5) + 0 + 0) / 3, 12);
  });

  it('tied probabilities in the holdout: one isotonic point per value, the share of positives there', () => {
    // Class a's probability takes three values; its positives among them: 1 of 10, 5 of 10, 9 of 10 (increasing: no pooling).
    const probabilities: number[] = [];
    const labels: number[] = [];
    for (const [p, positives] of [
      [0.2, 1],
      [0.5, 5],
      [0.8, 9],
    ] as const) {
      for (let i = 0; i < 10; i++) {
        probabilities.push(p, (1 - p) / 2, (1 - p) / 2);
        labels.push(i < positives ? 0 : i % 2 === 0 ? 1 : 2);
      }
    }
    // Isotonic fit as NannyML does it after its decision; the decision itself depends on the splits, so both are checked on what they give.
    const c = fitCalibration(probabilities, labels, classes);
    const a = c.curves[0]!;
    if (a.kind === 'isotonic') {
      expect(a.x).toEqual([0.2, 0.5, 0.8]);
      expect(a.y.map((v) => Number(v.toFixed(12)))).toEqual([0.1, 0.5, 0.9]);
    } else expect(a.reason).toMatch(/expected calibration error/);
  });

  it('errors name the class, the row or the field, and say what is wrong', () => {
    const c: CbpeCalibration = fitCalibration([0.6, 0.3, 0.1, 0.2, 0.7, 0.1], [0, 1], classes, 'holdout of weather/v3');
    expect(() => estimatePerformance(c, [0.5, 0.5, 0], ['a', 'b', 'z'], 'prediction log')).toThrow(
      "prediction log: class 'z' is not one of the calibration's classes (a, b, c): the probabilities are not of the model that was calibrated",
    );
    expect(() => estimatePerformance(c, [0.5, 0.5], ['a', 'b'], 'prediction log')).toThrow(
      "prediction log: no probabilities for class(es) 'c' of the calibration",
    );
    expect(() => estimatePerformance(c, [0.5, 0.5, 0, 0.2, Number.NaN, 0.8], classes, 'prediction log')).toThrow(
      "prediction log, row 2: the probability of class 'b' is NaN, not a number in [0, 1]",
    );
    expect(() => estimatePerformance(c, [0.5, 0.5], classes, 'prediction log')).toThrow(
      'prediction log: 2 probabilities are not a whole number of rows of 3 classes (a, b, c)',
    );
    expect(() => estimatePerformance(c, [], classes, 'prediction log')).toThrow('prediction log: no rows to estimate performance on');
    expect(() => fitCalibration([0.6, 0.3, 0.1], [3], classes, 'holdout')).toThrow(
      'holdout, row 1: label 3 is not the index of one of the 3 classes (a, b, c)',
    );
    expect(() => fitCalibration([0.6, 0.4], [0], ['a', 'a'], 'holdout')).toThrow("holdout: class 'a' is listed twice");
    expect(() => parseCalibration({ ...c, version: 2 }, 'models/weather/versions/v3/metrics.json')).toThrow(
      'models/weather/versions/v3/metrics.json: calibration.version: version 2 is not one this code reads (1); upgrade Perennial',
    );
    expect(() =>
      parseCalibration({ ...c, curves: [{ class: 'a', kind: 'isotonic', x: [0.5, 0.2], y: [0, 1] }, ...c.curves.slice(1)] }, 'metrics.json'),
    ).toThrow("metrics.json: calibration.curves[0].x: class 'a': not increasing at 1");
  });
});
