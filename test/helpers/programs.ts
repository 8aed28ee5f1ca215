/** The project's programs as a user runs them, from tests: the CLI, a free port for a server, a server's metrics. */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ProgramRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/perennial.mjs <args>` (or a bash command line, `shell`) in `env`;
 * `until` ends it with SIGINT once stderr matches.
 */
export function runPerennial(args: string[], options: { env: NodeJS.ProcessEnv; until?: RegExp; shell?: string }): Promise<ProgramRun> {
  return new Promise((resolve, reject) => {
    const child = options.shell
      ? spawn('bash', ['-c', options.shell], { cwd: ROOT, env: options.env })
      : spawn(process.execPath, ['bin/perennial.mjs', ...args], { cwd: ROOT, env: options.env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (options.until?.test(stderr)) child.kill('SIGINT');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** A loopback port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The sum of a metric's series in a Prometheus text page (`<base>/metrics`); undefined when the page or the metric is not there. */
export async function scrapeMetric(base: string, name: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await (await fetch(`${base}/metrics`)).text();
  } catch {
    return undefined;
  }
  let sum: number | undefined;
  for (const line of text.split('\n')) if (line.startsWith(`${name} `) || line.startsWith(`${name}{`)) sum = (sum ?? 0) + Number(line.split(' ').at(-1));
  return sum;
}
