/**
 * Text files (CSV, JSON Lines, specs) are UTF-8. What is not (UTF-16, Latin-1,
 * binary data) is refused with the line where it shows, never read as garbled
 * values; and text quoted in an error is made fit for a message.
 */
import { isUtf8 } from 'node:buffer';
import { quoteValue } from '../errors';
import { DataError } from './table';

/** The 1-based line of `text` that character `index` is on. */
function lineAt(text: string, index: number): number {
  let line = 1;
  for (let at = text.indexOf('\n'); at >= 0 && at < index; at = text.indexOf('\n', at + 1)) line += 1;
  return line;
}

/** Why `input` is not UTF-8 text, and on which line; undefined when it is. */
export function textProblem(input: string | Buffer): { reason: string; line?: number } | undefined {
  if (typeof input !== 'string' && ((input[0] === 0xff && input[1] === 0xfe) || (input[0] === 0xfe && input[1] === 0xff))) {
    return { reason: 'the file is UTF-16 text (it starts with a UTF-16 byte order mark); save it as UTF-8' };
  }
  const text = typeof input === 'string' ? input : input.toString('utf8');
  const nul = text.indexOf('\0');
  if (nul >= 0) {
    return { reason: 'binary data, not text: the line has a NUL byte (UTF-16 without a byte order mark, or not a text file at all)', line: lineAt(text, nul) };
  }
  if (typeof input !== 'string' && !isUtf8(input)) {
    return {
      reason: 'not UTF-8 text: the line has bytes that are not UTF-8 (saved as Latin-1 or Windows-1252?); save the file as UTF-8',
      line: lineAt(text, text.indexOf('\uFFFD')),
    };
  }
  return undefined;
}

/** The text of a CSV or JSON Lines file; a DataError naming the file and line when it is not UTF-8 text. */
export function decodeText(input: string | Buffer, source: string): string {
  const problem = textProblem(input);
  if (problem) throw new DataError(problem.reason, { source, row: problem.line });
  return typeof input === 'string' ? input : input.toString('utf8');
}

const ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** A parser's message (which may quote the file), fit for an error: control characters escaped, cut at `max` characters. */
export function cleanText(text: string, max = 200): string {
  const cut = text.length > max ? `${text.slice(0, max)}...` : text;
  // eslint-disable-next-line no-control-regex -- finding control characters is the point
  return cut.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A column or category name as an error shows it: as is when plain, quoted, escaped and cut when not. */
function showName(name: string): string {
  const quoted = quoteValue(name);
  return quoted === `'${name}'` ? name : quoted;
}

/** "a, b, c" or "a, b, ... and 12 more": a list of names short enough for an error. */
export function listNames(names: readonly string[], limit = 20): string {
  const shown = names.slice(0, limit).map(showName).join(', ');
  return names.length > limit ? `${shown}, ... and ${names.length - limit} more` : shown;
}
