/** Stand-alone entry: `npx tsx src/cli/drift-stream-main.ts --detector adwin --file values.txt`. */
import { runDriftStreamCommand } from './drift-stream';

process.exitCode = await runDriftStreamCommand(process.argv.slice(2));
