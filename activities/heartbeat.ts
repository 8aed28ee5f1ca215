import { Context } from '@temporalio/activity';

/** How often a long activity tells the server it is alive (well inside the shortest heartbeat timeout, 10 s). */
const HEARTBEAT_EVERY_MS = 2000;

/**
 * Runs `work` while heartbeating on a timer, so a worker that dies is noticed
 * within a heartbeat timeout instead of a start-to-close timeout.
 */
export async function withHeartbeat<T>(work: () => Promise<T>): Promise<T> {
  const context = Context.current();
  context.heartbeat();
  const timer = setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
