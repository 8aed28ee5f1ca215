#!/usr/bin/env node
// The `perennial` command. The project runs from its TypeScript source through
// tsx, so there is no build step between a clone and a working CLI.
import { register } from 'tsx/esm/api';

// The AWS SDK warns on every run that its 2027 releases need Node 22; Node 20 is supported here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// `perennial registry show ... | head -1`: a reader that goes away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
