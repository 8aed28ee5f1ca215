/**
 * The child program that trains and scores models off the worker's event
 * loop. Started by runInChild (child.ts) with fork(..., { serialization:
 * 'advanced' }); receives one { type: 'run', task, input } message, sends
 * { type: 'progress' } messages, then one { type: 'result' } or { type:
 * 'error' }, and exits.
 */
import { runTask, type ChildTaskName } from './tasks';

interface RunMessage {
  type: 'run';
  task: ChildTaskName;
  input: unknown;
}

function send(message: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('train-child must be started with an IPC channel (fork)'));
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

if (!process.send) {
  console.error('train-child.ts is started by runInChild (src/model/child.ts), not by hand');
  process.exit(2);
}

// The parent going away (worker crash) must not leave an orphan training.
process.on('disconnect', () => process.exit(0));

process.once('message', (message: RunMessage) => {
  void (async () => {
    try {
      if (!message || message.type !== 'run') throw new Error(`train-child: expected a 'run' message, got ${JSON.stringify(message)?.slice(0, 100)}`);
      const result = await runTask(message.task, message.input as never, (p) => send({ type: 'progress', data: p }));
      await send({ type: 'result', data: result });
      process.exit(0);
    } catch (error) {
      const e = error instanceof Error ? error : new Error(String(error));
      try {
        await send({ type: 'error', message: e.message, name: e.name, stack: e.stack });
      } finally {
        process.exit(1);
      }
    }
  })();
});

void send({ type: 'started', pid: process.pid });
