/**
 * Live performance of each version from the feedback that comes back:
 * accuracy, per-class precision and recall and macro F1 (classification),
 * RMSE and MAE (regression), and the rate of user flags, over everything seen
 * and over the last `window` labels. Pure and plain JSON: a monitor workflow
 * carries it across continue-as-new, and the counts stay exact (sums of
 * integers; regression sums of the errors the server computed).
 */
import type { FeedbackSignalItem } from '../temporal/monitor-contract';

/** One labelled item in the window: a classifier's (true, predicted) class, or a regression's error. */
type WindowEntry = [truth: string, predicted: string] | number;

export interface VersionLive {
  /** Items counted (each prediction id once), labels and flags among them. */
  items: number;
  labels: number;
  flags: number;
  /** Classification: per class (keyed '=' + the class, so no class name is ever an Object key such as '__proto__'), true positives, false positives, false negatives. */
  classes: Record<string, { tp: number; fp: number; fn: number }>;
  correct: number;
  /** Regression: sums of the errors (prediction − label), their absolute values and squares. */
  sumError: number;
  sumAbs: number;
  sumSquares: number;
  /** The last labelled items, oldest first, at most the window's size. */
  window: WindowEntry[];
}

export interface LiveFigures {
  labels: number;
  flags: number;
  flagRate: number | null;
  accuracy?: number;
  macroF1?: number;
  perClass?: { class: string; precision: number | null; recall: number | null; support: number }[];
  rmse?: number;
  mae?: number;
}

export function emptyVersionLive(): VersionLive {
  return { items: 0, labels: 0, flags: 0, classes: {}, correct: 0, sumError: 0, sumAbs: 0, sumSquares: 0, window: [] };
}

/** Counts one item (its prediction id already checked unseen); `windowSize` bounds the window. */
export function addFeedback(live: VersionLive, item: FeedbackSignalItem, windowSize: number): void {
  live.items += 1;
  if (item.flag !== undefined) live.flags += 1;
  if (item.label === undefined) return;
  live.labels += 1;
  if (typeof item.label === 'number' && typeof item.prediction === 'number') {
    const error = item.prediction - item.label;
    live.sumError += error;
    live.sumAbs += Math.abs(error);
    live.sumSquares += error * error;
    live.window.push(error);
  } else {
    const truth = String(item.label);
    const predicted = String(item.prediction);
    if (count(live.classes, truth, predicted)) live.correct += 1;
    live.window.push([truth, predicted]);
  }
  if (live.window.length > windowSize) live.window.splice(0, live.window.length - windowSize);
}

/** Counts one (truth, predicted) pair in per-class counts; true when it is right. */
function count(classes: VersionLive['classes'], truth: string, predicted: string): boolean {
  const of = (name: string) => (classes[`=${name}`] ??= { tp: 0, fp: 0, fn: 0 });
  if (truth === predicted) {
    of(truth).tp += 1;
    return true;
  }
  of(truth).fn += 1;
  of(predicted).fp += 1;
  return false;
}

function classificationFigures(classes: Record<string, { tp: number; fp: number; fn: number }>, correct: number, labels: number) {
  const perClass = Object.entries(classes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, c]) => ({
      class: name.slice(1),
      precision: c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : null,
      recall: c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : null,
      support: c.tp + c.fn,
    }));
  // Macro F1 over the classes seen (as truth or as prediction): F1 = 2tp / (2tp + fp + fn), 0 for a class never right.
  const f1s = Object.values(classes).map((c) => (2 * c.tp + c.fp + c.fn > 0 ? (2 * c.tp) / (2 * c.tp + c.fp + c.fn) : 0));
  return { accuracy: correct / labels, macroF1: f1s.reduce((a, b) => a + b, 0) / f1s.length, perClass };
}

/** Everything seen by a version. */
export function liveFigures(live: VersionLive): LiveFigures {
  const base = { labels: live.labels, flags: live.flags, flagRate: live.items > 0 ? live.flags / live.items : null };
  if (live.labels === 0) return base;
  if (Object.keys(live.classes).length > 0) return { ...base, ...classificationFigures(live.classes, live.correct, live.labels) };
  return { ...base, rmse: Math.sqrt(live.sumSquares / live.labels), mae: live.sumAbs / live.labels };
}

/** The last `window` labels of a version (flags: over its whole life). */
export function windowFigures(live: VersionLive): LiveFigures {
  const labels = live.window.length;
  const base = { labels, flags: live.flags, flagRate: live.items > 0 ? live.flags / live.items : null };
  if (labels === 0) return base;
  if (typeof live.window[0] === 'number') {
    let abs = 0;
    let squares = 0;
    for (const e of live.window as number[]) {
      abs += Math.abs(e);
      squares += e * e;
    }
    return { ...base, rmse: Math.sqrt(squares / labels), mae: abs / labels };
  }
  const classes: VersionLive['classes'] = {};
  let correct = 0;
  for (const [truth, predicted] of live.window as [string, string][]) if (count(classes, truth, predicted)) correct += 1;
  return { ...base, ...classificationFigures(classes, correct, labels) };
}
