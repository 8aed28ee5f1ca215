/**
 * Performance estimated before labels arrive: confidence-based performance
 * estimation (CBPE) for classifiers, as NannyML 0.13 defines it for the
 * multiclass case. Pure (no I/O), plain JSON in and out.
 *
 * Fit, on the holdout's probabilities and labels, one class at a time (one
 * against the rest):
 * - NannyML's `needs_calibration` test decides whether the class is
 *   calibrated: no when the holdout has one value for the class (never seen,
 *   or every row), or the raw AUROC is above 0.999; else 10 stratified
 *   shuffle splits (scikit-learn's StratifiedShuffleSplit, test share 0.1,
 *   seed 42, drawn with NumPy's legacy Mersenne Twister, reproduced here so
 *   the same rows give the same splits) fit an isotonic curve on each train
 *   part and score its test part; calibration is kept when it lowers the
 *   expected calibration error of the pooled test parts;
 * - a calibrated class gets scikit-learn's IsotonicRegression(increasing,
 *   out_of_bounds='clip') fitted on the whole holdout: its thresholds are
 *   what is stored, and applying it is linear interpolation between them.
 * Estimate, on unlabelled rows: each class's probability through its curve
 * (or as it is), each row renormalised to sum 1 (uniform when it sums to 0);
 * the predicted class is the argmax of the raw probabilities (what the model
 * answered). Accuracy is the mean calibrated probability of the predicted
 * class; a class's F1 takes TP = its calibrated probability summed over the
 * rows predicted as it, FP = 1 − that, FN = its probability over the other
 * rows; macro F1 is their mean over every class.
 *
 * Where NannyML would stop with an error, this keeps the raw probabilities
 * for the class and says why: a class with a single positive (or a single
 * negative) in the holdout, for which StratifiedShuffleSplit refuses to split,
 * and a holdout too small to split. Ties among probabilities are sorted
 * stably (NumPy's quicksort is not), which can only move rows inside a tie.
 */
import { NumpyRandomState } from '../drift/batch/rng';
import { DataError } from '../errors';

/** The JSON stored with a version (metrics.json `calibration`). */
export interface CbpeCalibration {
  format: 'perennial-cbpe';
  /** The format's version: a reader refuses one it does not know. */
  version: 1;
  /** Whose definition the numbers follow. */
  method: 'nannyml-0.13-multiclass';
  /** The model's classes, in its output order. */
  classes: string[];
  /** Holdout rows the calibration was fitted on. */
  rows: number;
  curves: ClassCurve[];
  /** The estimate on the holdout itself, beside the realised figures there. */
  reference: {
    accuracy: number;
    macroF1: number;
    realised: { accuracy: number; macroF1: number };
  };
}

/** One class's calibration: an isotonic curve, or the raw probability kept (NannyML's no-op calibrator) with the reason. */
export type ClassCurve =
  { class: string; positives: number; kind: 'isotonic'; x: number[]; y: number[] } | { class: string; positives: number; kind: 'identity'; reason: string };

export interface PerformanceEstimate {
  rows: number;
  accuracy: number;
  macroF1: number;
}

type Numbers = ArrayLike<number>;

const SOURCE = 'CBPE';
/** NannyML's fixed choices in needs_calibration. */
const SPLITS = 10;
const TEST_SIZE = 0.1;
const SPLIT_SEED = 42;
const ECE_BINS = 10;
const AUROC_CEILING = 0.999;
/** scikit-learn's _make_unique merges X values closer than float64's resolution. */
const X_RESOLUTION = 1e-15;

// ---------------------------------------------------------------- NumPy's legacy RandomState (the drift engine's)

/** RandomState.shuffle of a 1-d array, in place. */
function shuffle<T>(rng: NumpyRandomState, values: T[]): T[] {
  for (let i = values.length - 1; i >= 1; i--) {
    const j = rng.interval(i);
    const t = values[i]!;
    values[i] = values[j]!;
    values[j] = t;
  }
  return values;
}

/** RandomState.permutation(n). */
const permutation = (rng: NumpyRandomState, n: number) =>
  shuffle(
    rng,
    Array.from({ length: n }, (_, i) => i),
  );

// ---------------------------------------------------------------- scikit-learn's StratifiedShuffleSplit for a 0/1 target

/** _approximate_mode: the counts drawn per class, ties in the remainders broken by the generator. */
function approximateMode(counts: number[], draws: number, rng: NumpyRandomState): number[] {
  const total = counts.reduce((a, b) => a + b, 0);
  const continuous = counts.map((c) => (c / total) * draws);
  const floored = continuous.map(Math.floor);
  let needToAdd = Math.trunc(draws - floored.reduce((a, b) => a + b, 0));
  if (needToAdd > 0) {
    const remainder = continuous.map((c, i) => c - floored[i]!);
    const values = [...new Set(remainder)].sort((a, b) => b - a);
    for (const value of values) {
      const inds = remainder.flatMap((r, i) => (r === value ? [i] : []));
      const addNow = Math.min(inds.length, needToAdd);
      // rng.choice(inds, addNow, replace=False) is permutation(len)[:addNow], drawn even when every index is taken.
      for (const k of permutation(rng, inds.length).slice(0, addNow)) floored[inds[k]!]! += 1;
      needToAdd -= addNow;
      if (needToAdd === 0) break;
    }
  }
  return floored;
}

/** The test rows of each split (the train rows are the others drawn for train), in the order NumPy returns them. */
function stratifiedSplits(target: Uint8Array, nTrain: number, nTest: number): { train: number[]; test: number[] }[] {
  const byClass: number[][] = [[], []];
  for (let i = 0; i < target.length; i++) byClass[target[i]!]!.push(i);
  const counts = byClass.map((c) => c.length);
  const rng = new NumpyRandomState(SPLIT_SEED);
  const splits: { train: number[]; test: number[] }[] = [];
  for (let s = 0; s < SPLITS; s++) {
    const nI = approximateMode(counts, nTrain, rng);
    const tI = approximateMode(
      counts.map((c, i) => c - nI[i]!),
      nTest,
      rng,
    );
    const train: number[] = [];
    const test: number[] = [];
    for (let c = 0; c < 2; c++) {
      const perm = permutation(rng, counts[c]!).map((k) => byClass[c]![k]!);
      for (let k = 0; k < nI[c]!; k++) train.push(perm[k]!);
      for (let k = nI[c]!; k < nI[c]! + tI[c]!; k++) test.push(perm[k]!);
    }
    splits.push({ train: shuffle(rng, train), test: shuffle(rng, test) });
  }
  return splits;
}

// ---------------------------------------------------------------- isotonic regression (scikit-learn's)

interface Curve {
  x: number[];
  y: number[];
}

/** Row indexes sorted by x, then y (NumPy's lexsort((y, x))): sorted once per class, each split's rows taken from it in order. */
function sortedRows(x: Float64Array, y: Uint8Array): Int32Array {
  return Int32Array.from(x.keys()).sort((a, b) => x[a]! - x[b]! || y[a]! - y[b]!);
}

/** IsotonicRegression(increasing=True).fit on the rows of `order` (sorted by x, then y): merge equal x, pool adjacent violators, keep only the points that matter. */
function fitIsotonic(x: Numbers, y: Numbers, order: Int32Array): Curve {
  // Equal x become one point: the mean of their y, weighted by how many there are.
  const ux: number[] = [];
  const uy: number[] = [];
  const uw: number[] = [];
  let cx = x[order[0]!]!;
  let sy = 0;
  let sw = 0;
  for (const i of order) {
    if (x[i]! - cx >= X_RESOLUTION) {
      ux.push(cx);
      uy.push(sy / sw);
      uw.push(sw);
      cx = x[i]!;
      sy = y[i]!;
      sw = 1;
    } else {
      sy += y[i]!;
      sw += 1;
    }
  }
  ux.push(cx);
  uy.push(sy / sw);
  uw.push(sw);
  const fitted = poolAdjacentViolators(uy, uw);
  // Inner points equal to both neighbours add nothing to the interpolation.
  const keep = fitted.map((v, i) => i === 0 || i === fitted.length - 1 || v !== fitted[i - 1] || v !== fitted[i + 1]);
  return { x: ux.filter((_, i) => keep[i]), y: fitted.filter((_, i) => keep[i]) };
}

/** The weighted non-decreasing fit, in one pass with backtracking (the order of sums matters to the last bit, so it follows scikit-learn's). */
function poolAdjacentViolators(values: number[], weights: number[]): number[] {
  const y = values.slice();
  const w = weights.slice();
  const n = y.length;
  // target[i] = j and target[j] = i for each block [i..j].
  const target = Array.from({ length: n }, (_, i) => i);
  let i = 0;
  while (i < n) {
    let k = target[i]! + 1;
    if (k === n) break;
    if (y[i]! < y[k]!) {
      i = k;
      continue;
    }
    let sumWy = w[i]! * y[i]!;
    let sumW = w[i]!;
    for (;;) {
      const prev = y[k]!;
      sumWy += w[k]! * y[k]!;
      sumW += w[k]!;
      k = target[k]! + 1;
      if (k === n || prev < y[k]!) {
        y[i] = sumWy / sumW;
        w[i] = sumW;
        target[i] = k - 1;
        target[k - 1] = i;
        if (i > 0) i = target[i - 1]!;
        break;
      }
    }
  }
  for (i = 0; i < n;) {
    const k = target[i]! + 1;
    for (let j = i + 1; j < k; j++) y[j] = y[i]!;
    i = k;
  }
  return y;
}

/** The curve at p: clipped to its x range, then np.interp between its points. */
function applyCurve(curve: Curve, p: number): number {
  const { x, y } = curve;
  const last = x.length - 1;
  if (last === 0) return y[0]!;
  const t = Math.min(Math.max(p, x[0]!), x[last]!);
  if (t >= x[last]!) return y[last]!;
  // The last j with x[j] <= t.
  let lo = 0;
  let hi = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >>> 1;
    if (x[mid]! <= t) lo = mid;
    else hi = mid;
  }
  const slope = (y[lo + 1]! - y[lo]!) / (x[lo + 1]! - x[lo]!);
  const v = slope * (t - x[lo]!) + y[lo]!;
  return Number.isNaN(v) ? y[lo]! : v;
}

// ---------------------------------------------------------------- NannyML's needs_calibration

/** ROC AUC of scores for a 0/1 target, ties counted half (what roc_auc_score gives); `order` sorts the rows by score. */
function auroc(target: Uint8Array, scores: Float64Array, order: Int32Array): number {
  let positives = 0;
  let rankSum = 0;
  for (let i = 0; i < order.length;) {
    let j = i;
    while (j + 1 < order.length && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const rank = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) {
      if (target[order[k]!]) {
        positives++;
        rankSum += rank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Expected calibration error over NannyML's equal-count bins of the rows sorted by probability. */
function expectedCalibrationError(target: Uint8Array, scores: Float64Array): number {
  const n = scores.length;
  let bins = ECE_BINS;
  if (n <= 2 * bins) bins = Math.floor(n / 2);
  const width = Math.floor(n / bins);
  const edges: number[] = [];
  for (let e = 0; e <= n; e += width) edges.push(e);
  edges[edges.length - 1] = n;
  const order = Int32Array.from(scores.keys()).sort((a, b) => scores[a]! - scores[b]!);
  let ece = 0;
  for (let b = 0; b + 1 < edges.length; b++) {
    let sp = 0;
    let st = 0;
    for (let k = edges[b]!; k < edges[b + 1]!; k++) {
      sp += scores[order[k]!]!;
      st += target[order[k]!]!;
    }
    const m = edges[b + 1]! - edges[b]!;
    ece += (m / n) * Math.abs(sp / m - st / m);
  }
  return ece;
}

/** Whether NannyML would calibrate this class, or why not. */
function needsCalibration(
  target: Uint8Array,
  scores: Float64Array,
  positives: number,
  order: Int32Array,
): { calibrate: true } | { calibrate: false; reason: string } {
  const n = target.length;
  if (positives === 0) return { calibrate: false, reason: 'no holdout row is of this class' };
  if (positives === n) return { calibrate: false, reason: 'every holdout row is of this class' };
  const auc = auroc(target, scores, order);
  if (auc > AUROC_CEILING) return { calibrate: false, reason: `its raw probabilities already separate it (AUROC ${auc.toFixed(4)} > ${AUROC_CEILING})` };
  const fewest = Math.min(positives, n - positives);
  if (fewest < 2) {
    return {
      calibrate: false,
      reason: `${fewest} holdout row(s) ${positives < 2 ? 'of' : 'not of'} this class: too few to test calibration by stratified splits`,
    };
  }
  const nTest = Math.ceil(TEST_SIZE * n);
  const nTrain = n - nTest;
  if (nTrain < 2 || nTest < 2) return { calibrate: false, reason: `a holdout of ${n} rows is too small to test calibration by stratified splits` };
  const truth = new Uint8Array(SPLITS * nTest);
  const raw = new Float64Array(SPLITS * nTest);
  const calibrated = new Float64Array(SPLITS * nTest);
  const inTrain = new Uint8Array(n);
  let at = 0;
  for (const { train, test } of stratifiedSplits(target, nTrain, nTest)) {
    inTrain.fill(0);
    for (const i of train) inTrain[i] = 1;
    const curve = fitIsotonic(
      scores,
      target,
      order.filter((i) => inTrain[i] === 1),
    );
    for (const i of test) {
      truth[at] = target[i]!;
      raw[at] = scores[i]!;
      calibrated[at++] = applyCurve(curve, scores[i]!);
    }
  }
  const before = expectedCalibrationError(truth, raw);
  const after = expectedCalibrationError(truth, calibrated);
  return before > after
    ? { calibrate: true }
    : { calibrate: false, reason: `calibration does not lower the expected calibration error (${after.toFixed(4)} >= ${before.toFixed(4)})` };
}

// ---------------------------------------------------------------- fit and estimate

function checkProbabilities(probabilities: Numbers, classes: string[], source: string): number {
  if (classes.length < 2) throw new DataError(`a classifier needs at least 2 classes, got ${classes.length}`, { source });
  const seen = new Set<string>();
  for (const c of classes) {
    if (seen.has(c)) throw new DataError(`class '${c}' is listed twice`, { source });
    seen.add(c);
  }
  const k = classes.length;
  if (probabilities.length % k !== 0) {
    throw new DataError(`${probabilities.length} probabilities are not a whole number of rows of ${k} classes (${classes.join(', ')})`, { source });
  }
  const rows = probabilities.length / k;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < k; j++) {
      const p = probabilities[r * k + j]!;
      if (!(p >= 0 && p <= 1)) throw new DataError(`the probability of class '${classes[j]}' is ${p}, not a number in [0, 1]`, { source, row: r + 1 });
    }
  }
  return rows;
}

/** The argmax of each row (the first of tied maxima, as the model server and NumPy pick it). */
function predicted(probabilities: Numbers, rows: number, k: number): Int32Array {
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probabilities[r * k + j]! > probabilities[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/**
 * Fits the calibration on the holdout: `probabilities` row-major (rows ×
 * classes, in `classes` order), `labels` each row's class index. Rows in
 * errors count from 1.
 */
export function fitCalibration(probabilities: Numbers, labels: Numbers, classes: string[], source = SOURCE): CbpeCalibration {
  const rows = checkProbabilities(probabilities, classes, source);
  const k = classes.length;
  if (rows === 0) throw new DataError('no holdout rows to fit the calibration on', { source });
  if (labels.length !== rows) throw new DataError(`${labels.length} labels for ${rows} rows of probabilities`, { source });
  for (let r = 0; r < rows; r++) {
    const l = labels[r]!;
    if (!Number.isInteger(l) || l < 0 || l >= k) {
      throw new DataError(`label ${l} is not the index of one of the ${k} classes (${classes.join(', ')})`, { source, row: r + 1 });
    }
  }
  const curves: ClassCurve[] = classes.map((name, j) => {
    const target = new Uint8Array(rows);
    const scores = new Float64Array(rows);
    let positives = 0;
    for (let r = 0; r < rows; r++) {
      target[r] = labels[r] === j ? 1 : 0;
      positives += target[r]!;
      scores[r] = probabilities[r * k + j]!;
    }
    const order = sortedRows(scores, target);
    const decision = needsCalibration(target, scores, positives, order);
    if (!decision.calibrate) return { class: name, positives, kind: 'identity', reason: decision.reason };
    const curve = fitIsotonic(scores, target, order);
    return { class: name, positives, kind: 'isotonic', x: curve.x, y: curve.y };
  });
  const calibration: CbpeCalibration = {
    format: 'perennial-cbpe',
    version: 1,
    method: 'nannyml-0.13-multiclass',
    classes: [...classes],
    rows,
    curves,
    reference: { accuracy: 0, macroF1: 0, realised: realisedPerformance(probabilities, labels, rows, k) },
  };
  const estimate = estimatePerformance(calibration, probabilities, classes, source);
  calibration.reference.accuracy = estimate.accuracy;
  calibration.reference.macroF1 = estimate.macroF1;
  return calibration;
}

/** Accuracy and macro F1 (every class, 0 for a class never predicted nor seen) of the argmax predictions. */
function realisedPerformance(probabilities: Numbers, labels: Numbers, rows: number, k: number): { accuracy: number; macroF1: number } {
  const pred = predicted(probabilities, rows, k);
  const tp = new Float64Array(k);
  const fp = new Float64Array(k);
  const fn = new Float64Array(k);
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const t = labels[r]!;
    const p = pred[r]!;
    if (t === p) {
      correct++;
      tp[t]!++;
    } else {
      fp[p]!++;
      fn[t]!++;
    }
  }
  let f1 = 0;
  for (let j = 0; j < k; j++) {
    const d = 2 * tp[j]! + fp[j]! + fn[j]!;
    f1 += d === 0 ? 0 : (2 * tp[j]!) / d;
  }
  return { accuracy: correct / rows, macroF1: f1 / k };
}

/**
 * Estimated accuracy and macro F1 of rows with no labels: `probabilities`
 * row-major (rows × `classes`, the order they come in; it may differ from the
 * calibration's, classes are matched by name).
 */
export function estimatePerformance(calibration: CbpeCalibration, probabilities: Numbers, classes: string[], source = SOURCE): PerformanceEstimate {
  const rows = checkProbabilities(probabilities, classes, source);
  if (rows === 0) throw new DataError('no rows to estimate performance on', { source });
  const k = classes.length;
  const curveOf = new Map(calibration.curves.map((c) => [c.class, c]));
  const curves = classes.map((name) => {
    const curve = curveOf.get(name);
    if (!curve) {
      throw new DataError(
        `class '${name}' is not one of the calibration's classes (${calibration.classes.join(', ')}): the probabilities are not of the model that was calibrated`,
        {
          source,
        },
      );
    }
    return curve;
  });
  const missing = calibration.classes.filter((c) => !classes.includes(c));
  if (missing.length > 0) throw new DataError(`no probabilities for class(es) ${missing.map((c) => `'${c}'`).join(', ')} of the calibration`, { source });

  const pred = predicted(probabilities, rows, k);
  const calibrated = new Float64Array(k);
  const tp = new Float64Array(k);
  const fp = new Float64Array(k);
  const fn = new Float64Array(k);
  let accuracy = 0;
  for (let r = 0; r < rows; r++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const curve = curves[j]!;
      const p = probabilities[r * k + j]!;
      calibrated[j] = curve.kind === 'isotonic' ? applyCurve(curve, p) : p;
      sum += calibrated[j]!;
    }
    for (let j = 0; j < k; j++) calibrated[j] = sum !== 0 ? calibrated[j]! / sum : 1 / k;
    const c = pred[r]!;
    accuracy += calibrated[c]!;
    for (let j = 0; j < k; j++) {
      if (j === c) {
        tp[j]! += calibrated[j]!;
        fp[j]! += 1 - calibrated[j]!;
      } else fn[j]! += calibrated[j]!;
    }
  }
  let f1 = 0;
  for (let j = 0; j < k; j++) {
    const d = tp[j]! + 0.5 * (fp[j]! + fn[j]!);
    f1 += d !== 0 ? tp[j]! / d : 0;
  }
  return { rows, accuracy: accuracy / rows, macroF1: f1 / k };
}

/** A stored calibration read back (metrics.json of a version); errors name `source` and the field. */
export function parseCalibration(value: unknown, source: string): CbpeCalibration {
  const fail = (field: string, what: string): never => {
    throw new DataError(`calibration.${field}: ${what}`, { source });
  };
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  if (typeof value !== 'object' || value === null) return fail('', 'not an object');
  const c = value as Record<string, unknown>;
  if (c.format !== 'perennial-cbpe') fail('format', `expected 'perennial-cbpe', found ${JSON.stringify(c.format)}`);
  if (c.version !== 1) fail('version', `version ${JSON.stringify(c.version)} is not one this code reads (1); upgrade Perennial`);
  if (!Array.isArray(c.classes) || !c.classes.every((x) => typeof x === 'string')) fail('classes', 'expected a list of class names');
  if (!Array.isArray(c.curves)) fail('curves', 'expected a list');
  const classes = c.classes as string[];
  const curves = c.curves as Record<string, unknown>[];
  if (curves.length !== classes.length) fail('curves', `${curves.length} curves for ${classes.length} classes`);
  curves.forEach((curve, i) => {
    if (curve?.class !== classes[i]) fail(`curves[${i}].class`, `expected '${classes[i]}'`);
    if (curve.kind === 'isotonic') {
      const { x, y } = curve;
      if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length || !x.every(isNumber) || !y.every(isNumber)) {
        fail(`curves[${i}]`, `class '${classes[i]}': x and y must be lists of numbers of one length`);
      }
      const xs = x as number[];
      for (let j = 1; j < xs.length; j++) if (!(xs[j]! > xs[j - 1]!)) fail(`curves[${i}].x`, `class '${classes[i]}': not increasing at ${j}`);
    } else if (curve.kind !== 'identity') fail(`curves[${i}].kind`, `class '${classes[i]}': expected 'isotonic' or 'identity'`);
  });
  const reference = c.reference as Record<string, unknown> | undefined;
  if (!reference || !isNumber(reference.accuracy) || !isNumber(reference.macroF1)) fail('reference', 'expected { accuracy, macroF1 } numbers');
  return value as CbpeCalibration;
}
