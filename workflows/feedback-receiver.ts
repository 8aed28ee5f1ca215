/**
 * FeedbackReceiver: the minimal stand-in for a model's monitor until
 * ModelMonitor (issue 10) exists. The model server starts it with
 * signal-with-start under the monitor's id, `monitor/<model>`, and signals it
 * `feedback` `{"items": [{"predictionId", "version", "prediction", "label"?, "flag"?}]}`.
 * It records what arrives: items per version (each prediction id counted once,
 * within the last SEEN_LIMIT ids), the last LAST_ITEMS items, and answers the
 * query `status`. A signal with a bad payload is dropped with a log line and
 * a counter; it never fails the workflow. After `continueAsNewAfter` signals
 * (or when Temporal suggests it) it continues as new, carrying its state.
 */
import { condition, continueAsNew, log, setHandler, upsertSearchAttributes, workflowInfo, allHandlersFinished } from '@temporalio/workflow';
import {
  feedbackReceiverStatusQuery,
  feedbackSignal,
  SA_MODEL,
  type FeedbackReceiverInput,
  type FeedbackReceiverState,
  type FeedbackSignalItem,
} from './definitions';

/** Prediction ids remembered for duplicates, carried across continue-as-new. */
export const SEEN_LIMIT = 5_000;
/** Items kept for the status query. */
export const LAST_ITEMS = 20;
const DEFAULT_CONTINUE_AFTER = 2_000;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The payload's items, or why it is refused (the first problem, naming the item). */
/** An item's segment values: text values only, at most 5 columns (a segment is optional, so a malformed one is left out, not refused). */
function segmentOf(segment: unknown): Record<string, string> | undefined {
  if (!isObject(segment)) return undefined;
  const kept = Object.entries(segment)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].length <= 200)
    .slice(0, 5);
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

export function checkFeedbackPayload(payload: unknown): FeedbackSignalItem[] | string {
  if (!isObject(payload) || !Array.isArray(payload.items)) return 'the payload must be {"items": [...]}';
  const items: FeedbackSignalItem[] = [];
  for (const [i, item] of (payload.items as unknown[]).entries()) {
    if (!isObject(item)) return `items[${i}] is not an object`;
    if (typeof item.predictionId !== 'string' || item.predictionId === '') return `items[${i}].predictionId must be a non-empty string`;
    if (typeof item.version !== 'string' || item.version === '') return `items[${i}].version must be a non-empty string`;
    if (typeof item.prediction !== 'string' && typeof item.prediction !== 'number') return `items[${i}].prediction must be a string or a number`;
    if (item.label !== undefined && typeof item.label !== 'string' && typeof item.label !== 'number') return `items[${i}].label must be a string or a number`;
    if (item.flag !== undefined && typeof item.flag !== 'string') return `items[${i}].flag must be a string`;
    if (item.label === undefined && item.flag === undefined) return `items[${i}] has neither a label nor a flag`;
    const segment = segmentOf(item.segment);
    items.push({
      predictionId: item.predictionId,
      version: item.version,
      prediction: item.prediction,
      ...(item.label !== undefined ? { label: item.label } : {}),
      ...(item.flag !== undefined ? { flag: item.flag } : {}),
      ...(segment ? { segment } : {}),
    });
  }
  return items;
}

export async function FeedbackReceiver(input: FeedbackReceiverInput): Promise<void> {
  const { model } = input;
  const continueAfter = Math.max(1, input.continueAsNewAfter ?? DEFAULT_CONTINUE_AFTER);
  const state: FeedbackReceiverState = input.state ?? {
    status: { model, versions: {}, items: 0, duplicates: 0, dropped: 0, signals: 0, run: 0, last: [] },
    seen: [],
  };
  state.status.run += 1;
  if (!input.state) upsertSearchAttributes([{ key: SA_MODEL, value: model }]);
  const seen = new Set(state.seen);
  let signalsThisRun = 0;

  setHandler(feedbackSignal, (payload) => {
    signalsThisRun += 1;
    state.status.signals += 1;
    const items = checkFeedbackPayload(payload);
    if (typeof items === 'string') {
      state.status.dropped += 1;
      state.status.lastDropped = items;
      log.warn('FeedbackReceiver: dropped a feedback signal with a bad payload', { model, problem: items });
      return;
    }
    for (const item of items) {
      if (seen.has(item.predictionId)) {
        state.status.duplicates += 1;
        continue;
      }
      seen.add(item.predictionId);
      state.seen.push(item.predictionId);
      const v = (state.status.versions[item.version] ??= { items: 0, labels: 0, flags: 0 });
      v.items += 1;
      if (item.label !== undefined) v.labels += 1;
      if (item.flag !== undefined) v.flags += 1;
      state.status.items += 1;
      state.status.last.push(item);
    }
    if (state.seen.length > SEEN_LIMIT) for (const id of state.seen.splice(0, state.seen.length - SEEN_LIMIT)) seen.delete(id);
    if (state.status.last.length > LAST_ITEMS) state.status.last.splice(0, state.status.last.length - LAST_ITEMS);
  });
  setHandler(feedbackReceiverStatusQuery, () => state.status);

  await condition(() => signalsThisRun >= continueAfter || workflowInfo().continueAsNewSuggested);
  await condition(allHandlersFinished);
  await continueAsNew<typeof FeedbackReceiver>({ model, continueAsNewAfter: input.continueAsNewAfter, state });
}
