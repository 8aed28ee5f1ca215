import { Context } from '@temporalio/activity';

/** How often a long activity tells the server it is alive (well inside the shortest heartbeat timeout, 10 s). */
const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `work` while heartbeating on a timer, so a worker that dies is noticed
 * within a heartbeat timeout instead of a start-to-close timeout. `progress`
 * records where the work is (a batch, an artifact): it goes into the next
 * heartbeat, shown in the Temporal UI and handed to a retried attempt.
 */
export async function withHeartbeat<T>(work: (progress: (details: unknown) => void) => Promise<T>): Promise<T> {
  const context = Context.current();
  let details: unknown;
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(details), HEARTBEAT_EVERY_MS);
  try {
    return await work((next) => {
      details = next;
      context.heartbeat(details);
    });
  } finally {
    clearInterval(timer);
  }
}
