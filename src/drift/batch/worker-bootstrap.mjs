// Entry point of the drift worker threads. The engine is TypeScript run
// through tsx: register tsx's ESM loader in this thread, then load the
// TypeScript worker. When the sources have been compiled to JavaScript, the
// compiled worker is loaded directly.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const jsWorker = new URL('./worker.js', import.meta.url);
if (existsSync(fileURLToPath(jsWorker))) {
  await import(jsWorker.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('./worker.ts', import.meta.url).href);
}
