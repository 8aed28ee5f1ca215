/**
 * Classification and regression metrics, checked against scikit-learn 1.9
 * (test/fixtures/metrics, produced by scripts/reference/metrics_fixtures.py).
 *
 * Conventions (as sklearn):
 * - precision/recall/F1 of a class with no predicted (or no true) samples is 0
 *   (sklearn zero_division=0); macro F1 averages over all model classes, also
 *   those absent from yTrue (sklearn with labels=range(k));
 * - log loss clips probabilities to [eps, 1 - eps] with eps = 2^-52 (the
 *   float64 machine epsilon, as sklearn >= 1.5 does for float64 input; sklearn
 *   < 1.5 used 1e-15) and does not renormalize rows.
 */

import { mean } from 'simple-statistics';

export interface PerClassMetrics {
  class: string;
  precision: number;
  recall: number;
  f1: number;
  /** Number of true samples of the class. */
  support: number;
}

export interface ClassificationMetrics {
  task: 'classification';
  n: number;
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  logLoss: number;
  perClass: PerClassMetrics[];
  /** confusion[t][p]: samples of true class t predicted as p (rows: true, columns: predicted). */
  confusion: number[][];
  classes: string[];
}

export interface RegressionMetrics {
  task: 'regression';
  n: number;
  rmse: number;
  mae: number;
  r2: number;
}

export type Metrics = ClassificationMetrics | RegressionMetrics;

const LOG_LOSS_EPS = Number.EPSILON;

/** Index of the largest probability of row i (first on ties, as numpy argmax). */
export function argmaxRows(proba: ArrayLike<number>, k: number): Int32Array {
  const n = Math.floor(proba.length / k);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bestP = proba[i * k]!;
    for (let j = 1; j < k; j++) {
      const p = proba[i * k + j]!;
      if (p > bestP) {
        bestP = p;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Metrics of class probabilities `proba` (row-major, n x classes.length)
 * against true class indexes `yTrue`.
 */
export function classificationMetrics(yTrue: ArrayLike<number>, proba: ArrayLike<number>, classes: string[]): ClassificationMetrics {
  const k = classes.length;
  const n = yTrue.length;
  if (k < 2) throw new Error(`classificationMetrics needs at least 2 classes, got ${k}`);
  if (n === 0) throw new Error('classificationMetrics: no samples to evaluate');
  if (proba.length !== n * k) {
    throw new Error(`classificationMetrics: proba has ${proba.length} values, expected ${n} rows x ${k} classes = ${n * k}`);
  }
  const pred = argmaxRows(proba, k);
  const confusion = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  let correct = 0;
  let logLoss = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i]!;
    if (!Number.isInteger(t) || t < 0 || t >= k) throw new Error(`classificationMetrics: yTrue[${i}] = ${t} is not a class index in 0..${k - 1}`);
    const p = pred[i]!;
    confusion[t]![p]! += 1;
    if (t === p) correct++;
    const pt = Math.min(Math.max(Number(proba[i * k + t]!), LOG_LOSS_EPS), 1 - LOG_LOSS_EPS);
    logLoss -= Math.log(pt);
  }
  const perClass: PerClassMetrics[] = classes.map((name, c) => {
    const tp = confusion[c]![c]!;
    let predicted = 0;
    let support = 0;
    for (let j = 0; j < k; j++) {
      predicted += confusion[j]![c]!;
      support += confusion[c]![j]!;
    }
    const precision = predicted > 0 ? tp / predicted : 0;
    const recall = support > 0 ? tp / support : 0;
    const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
    return { class: name, precision, recall, f1, support };
  });
  const macroF1 = perClass.reduce((s, c) => s + c.f1, 0) / k;
  const weightedF1 = perClass.reduce((s, c) => s + c.f1 * c.support, 0) / n;
  return { task: 'classification', n, accuracy: correct / n, macroF1, weightedF1, logLoss: logLoss / n, perClass, confusion, classes: [...classes] };
}

/** RMSE, MAE and R² (R² = 1 - SS_res / SS_tot; sklearn gives 1 or 0 when SS_tot = 0, as here). */
export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = yTrue.length;
  if (n === 0) throw new Error('regressionMetrics: no samples to evaluate');
  if (yPred.length !== n) throw new Error(`regressionMetrics: ${yPred.length} predictions for ${n} true values`);
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i]!;
  mean /= n;
  let ssRes = 0;
  let ssTot = 0;
  let abs = 0;
  for (let i = 0; i < n; i++) {
    const e = yTrue[i]! - yPred[i]!;
    ssRes += e * e;
    abs += Math.abs(e);
    ssTot += (yTrue[i]! - mean) ** 2;
  }
  const r2 = ssTot > 0 ? 1 - ssRes / ssTot : ssRes === 0 ? 1 : 0;
  return { task: 'regression', n, rmse: Math.sqrt(ssRes / n), mae: abs / n, r2 };
}

export interface ClassificationBaseline {
  task: 'classification';
  /** The class always predicted (most frequent in the training labels, or in yTrue without them; lowest index on ties). */
  classIndex: number;
  className: string;
  accuracy: number;
}

export interface RegressionBaseline {
  task: 'regression';
  /** The value always predicted (mean of the training targets, or of yTrue without them). */
  value: number;
  rmse: number;
  mae: number;
  r2: number;
}

export type Baseline = ClassificationBaseline | RegressionBaseline;

/** Accuracy of always predicting the majority class (sklearn DummyClassifier 'most_frequent'). */
export function majorityBaseline(yTrue: ArrayLike<number>, classes: string[], yTrain?: ArrayLike<number>): ClassificationBaseline {
  const counts = new Array<number>(classes.length).fill(0);
  const source = yTrain ?? yTrue;
  for (let i = 0; i < source.length; i++) counts[source[i]!] = (counts[source[i]!] ?? 0) + 1;
  let classIndex = 0;
  counts.forEach((c, i) => {
    if (c > counts[classIndex]!) classIndex = i;
  });
  let hits = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === classIndex) hits++;
  return { task: 'classification', classIndex, className: classes[classIndex] ?? String(classIndex), accuracy: yTrue.length > 0 ? hits / yTrue.length : 0 };
}

/** Metrics of always predicting the mean (sklearn DummyRegressor 'mean'). */
export function meanBaseline(yTrue: ArrayLike<number>, yTrain?: ArrayLike<number>): RegressionBaseline {
  const source = yTrain ?? yTrue;
  const value = source.length > 0 ? mean(Array.from(source)) : 0;
  const m = regressionMetrics(yTrue, new Float64Array(yTrue.length).fill(value));
  return { task: 'regression', value, rmse: m.rmse, mae: m.mae, r2: m.r2 };
}
