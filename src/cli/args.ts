import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** node:util parseArgs with errors that say which command and what is accepted. */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(command: string, argv: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args: argv, options, allowPositionals, strict: true });
  } catch (error) {
    const accepted = Object.keys(options)
      .map((o) => `--${o}`)
      .join(', ');
    throw new Error(`${(error as Error).message.replace(/\. To specify.*$/, '')} (perennial ${command} accepts ${accepted})`, { cause: error });
  }
}

/** Who runs the CLI (recorded as who asked for a rollback or a reproduction): userInfo() throws for a user without a passwd entry (as in many containers). */
export function userName(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
