/**
 * Forwarding joined feedback to a model's monitor: signal `feedback` to the
 * workflow `monitor/<model>`, with signal-with-start so the first label
 * starts it (ModelMonitor, workflows/monitor.ts); a monitor already running
 * under that id, of any type (a FeedbackReceiver started by an older server),
 * is signalled.
 */
import type { Client } from '@temporalio/client';
import { FEEDBACK_SIGNAL, monitorWorkflowId, type FeedbackSignal } from '../temporal/monitor-contract';
import type { FeedbackForwarder } from './feedback';

/** The workflow type signal-with-start starts when no monitor runs yet. */
export const MONITOR_WORKFLOW_TYPE = 'ModelMonitor';

/**
 * A forwarder over a Temporal client that is connected on first use (a
 * server starts, and serves, while Temporal is down; a failed connection is
 * tried again at the next forward).
 */
export function monitorForwarder(connect: () => Promise<Client>, taskQueue: string): FeedbackForwarder & { close(): Promise<void> } {
  let client: Promise<Client> | undefined;
  const forward = async (model: string, items: FeedbackSignal['items']) => {
    client ??= connect().catch((error: unknown) => {
      client = undefined;
      throw error;
    });
    const c = await client;
    await c.workflow.signalWithStart<(input: { model: string }) => Promise<void>, [FeedbackSignal]>(MONITOR_WORKFLOW_TYPE, {
      workflowId: monitorWorkflowId(model),
      taskQueue,
      args: [{ model }],
      signal: FEEDBACK_SIGNAL,
      signalArgs: [{ items }],
    });
  };
  return Object.assign(forward, {
    async close() {
      const c = await client?.catch(() => undefined);
      await c?.connection.close();
    },
  });
}
