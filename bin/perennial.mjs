#!/usr/bin/env node
// The `perennial` command. The project runs from its TypeScript source through
// tsx, so there is no build step between a clone and a working CLI. The
// commands the build names (drift, drift-stream) start faster from the
// esbuild bundle that `npm run build:cli` writes (npm ci and npm install run
// it, scripts/build-cli.ts): used only when every source file the command
// loads is unchanged since (same size and mtime), so a developer's edit runs
// at once, through tsx. PERENNIAL_CLI_SOURCE=1 always
// runs the source; PERENNIAL_CLI_BUILD=<dir> names another build (tests);
// PERENNIAL_CLI_TRACE=1 says on stderr which one runs.
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

// The AWS SDK warns on every run that its 2027 releases need Node 22; Node 20 is supported here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `perennial registry show ... | head -1`: a reader that goes away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const ROOT = new URL('../', import.meta.url);
const BUILD = process.env.PERENNIAL_CLI_BUILD
  ? pathToFileURL(`${process.env.PERENNIAL_CLI_BUILD.replace(/\/$/, '')}/`)
  : new URL('node_modules/.cache/perennial/cli/', ROOT);

/**
 * The bundle's main module when it holds `command` (the manifest names the
 * commands it was built for: drift, drift-stream) and every source file that
 * command loads is as it was when it was built.
 */
function freshBuild(command) {
  if (process.env.PERENNIAL_CLI_SOURCE === '1') return undefined;
  try {
    const { commands, inputs } = JSON.parse(readFileSync(new URL('manifest.json', BUILD), 'utf8'));
    if (!commands.includes(command)) return undefined;
    for (const { path, size, mtimeMs } of inputs) {
      const s = statSync(fileURLToPath(new URL(path, ROOT)));
      if (s.size !== size || s.mtimeMs !== mtimeMs) return undefined;
    }
    return new URL('main.js', BUILD).href;
  } catch {
    return undefined; // no build, or a file of it gone: the source
  }
}

const argv = process.argv.slice(2);
const compiled = argv[0] === undefined ? undefined : freshBuild(argv[0]);
if (process.env.PERENNIAL_CLI_TRACE === '1') process.stderr.write(`perennial: running ${compiled ? fileURLToPath(compiled) : 'the source through tsx'}\n`);
let main;
if (compiled) ({ main } = await import(compiled));
else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
}
process.exitCode = await main(argv);
