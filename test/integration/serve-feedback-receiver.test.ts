/**
 * FeedbackReceiver on the real Temporal server, driven as the model server
 * and a production service drive it: signal-with-start of `feedback` to
 * `monitor/<model>`, duplicates by prediction id counted once, a bad payload
 * dropped with a counter while the workflow keeps running, and
 * continue-as-new carrying every count across. Its histories are the replay
 * fixtures under test/fixtures/histories/feedback-receiver/ (saved with
 * `temporal workflow show --output json` after this test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SA_MODEL } from '../../src/temporal/search-attributes';
import { feedbackReceiverStatusQuery, FEEDBACK_SIGNAL, monitorWorkflowId, type FeedbackReceiverInput } from '../../workflows/definitions';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
const model = `receiver-${uniqueId()}`;

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
});

afterAll(async () => {
  await h?.client.workflow
    .getHandle(monitorWorkflowId(model))
    .terminate('test over')
    .catch(() => {});
  await worker?.stop();
  await h?.close();
});

/** Signal-with-start, as src/serve/forward.ts sends it (an untyped payload, as any SDK or the CLI can). */
async function send(payload: unknown, continueAsNewAfter = 4) {
  const input: FeedbackReceiverInput = { model, continueAsNewAfter };
  return h.client.workflow.signalWithStart('FeedbackReceiver', {
    workflowId: monitorWorkflowId(model),
    taskQueue: h.config.taskQueue,
    args: [input],
    signal: FEEDBACK_SIGNAL,
    signalArgs: [payload],
  });
}

describe('FeedbackReceiver', () => {
  it('counts items per version once per prediction id, drops a bad payload, and continues as new with its state', async () => {
    const first = await send({
      items: [
        { predictionId: 'p1', version: 'v1', prediction: 'sun', label: 'sun' },
        { predictionId: 'p2', version: 'v1', prediction: 'sun', label: 'rain' },
      ],
    });
    await send({ items: [{ predictionId: 'p1', version: 'v1', prediction: 'sun', label: 'rain' }] }); // a duplicate
    await send({ items: [{ predictionId: 'p3', version: 'v2', prediction: 'rain' }] }); // neither label nor flag: dropped
    const handle = h.client.workflow.getHandle(monitorWorkflowId(model));
    await waitFor('three signals taken', async () => (await handle.query(feedbackReceiverStatusQuery)).signals === 3, 30);
    const before = await handle.query(feedbackReceiverStatusQuery);
    expect(before).toMatchObject({ model, items: 2, duplicates: 1, dropped: 1, run: 1, versions: { v1: { items: 2, labels: 2, flags: 0 } } });
    expect(before.lastDropped).toBe('items[0] has neither a label nor a flag');
    // The fourth signal ends the run (continueAsNewAfter 4): the next run carries the counts.
    await send({ items: [{ predictionId: 'p4', version: 'v2', prediction: 'rain', flag: 'wrong' }] });
    await waitFor('the next run', async () => (await handle.describe()).runId !== first.signaledRunId, 30);
    await send({ items: [{ predictionId: 'p2', version: 'v1', prediction: 'sun', label: 'sun' }] }); // a duplicate from the run before
    await waitFor('five signals taken', async () => (await handle.query(feedbackReceiverStatusQuery)).signals === 5, 30);
    const after = await handle.query(feedbackReceiverStatusQuery);
    expect(after).toMatchObject({
      items: 3,
      duplicates: 2,
      dropped: 1,
      run: 2,
      versions: { v1: { items: 2, labels: 2, flags: 0 }, v2: { items: 1, labels: 0, flags: 1 } },
    });
    expect(after.last.map((i) => i.predictionId)).toEqual(['p1', 'p2', 'p4']);
    const firstRun = await h.client.workflow.getHandle(monitorWorkflowId(model), first.signaledRunId).describe();
    expect(firstRun.status.name).toBe('CONTINUED_AS_NEW');
    expect(firstRun.typedSearchAttributes.get(SA_MODEL)).toBe(model);
    console.log(`FeedbackReceiver ${monitorWorkflowId(model)}: first run ${first.signaledRunId}, now ${(await handle.describe()).runId}`);
  });
});
