/**
 * Global setup of the `outages` project: its own Temporal dev server and S3
 * gateway (ports and data directory from the project's env), started with
 * scripts/services.sh as users start theirs, and stopped after the project.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { OUTAGE_SERVICES } from '../vitest.config';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const env = { ...process.env, ...OUTAGE_SERVICES };
const script = (...args: string[]) => run('bash', ['scripts/services.sh', ...args], { cwd: ROOT, env });

export async function setup(): Promise<() => Promise<void>> {
  const pidFile = (name: string) => `${OUTAGE_SERVICES.PERENNIAL_DATA}/run/${name}.pid`;
  // Left over by an interrupted run (only these tests use them): start from servers in a known state.
  if (existsSync(pidFile('temporal')) || existsSync(pidFile('s3'))) await script('stop');
  await script('start');
  return async () => {
    await script('stop');
  };
}
