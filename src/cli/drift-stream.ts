import { readFile } from 'node:fs/promises';
import { DETECTOR_NAMES, DetectorParamError, createDetector, describeParams, isDetectorName, runStream, type StreamDetector } from '../drift/stream';
import { parseCommandArgs } from './args';
import { consoleIo, type CliIo } from './io';

/**
 * perennial drift-stream --detector adwin|page-hinkley|kswin|ddm|eddm|hddm-a|hddm-w
 *   [--param name=value ...] --file <values.txt> [--json]
 *
 * Feeds the file's numbers (one per line, blank lines ignored) to a streaming
 * drift detector, in order, and reports the 0-based indices of the updates at
 * which a drift / a warning was flagged. Exit 0 when done, 2 on bad usage or
 * data (unknown flag or parameter, unreadable file, a line that is not a number).
 */

export const DRIFT_STREAM_USAGE = `perennial drift-stream --detector <name> [--param name=value ...] --file <values.txt> [--json]

Runs a streaming drift detector (River semantics) over one number per line.

Options:
  --detector <name>     ${DETECTOR_NAMES.join(', ')}
  --param name=value    a detector parameter (River's names), repeatable, e.g. --param delta=0.01
  --file <values.txt>   the stream: one number per line, blank lines ignored
  --json                print {"drifts": [...], "warnings": [...]} (0-based indices)

Parameters:
${DETECTOR_NAMES.map((n) => `  ${n}: ${describeParams(n)}`).join('\n')}

Exit status: 0 done, 2 bad usage or data.`;

class UsageError extends Error {}

const NUMBER_RE = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Parse one number per line; blank lines skipped; anything else names file and line. */
export function parseValues(text: string, file: string): number[] {
  const out: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const v = NUMBER_RE.test(line) ? Number(line) : NaN;
    if (!Number.isFinite(v)) {
      const shown = line.length > 40 ? `${line.slice(0, 40)}…` : line;
      throw new UsageError(`${file}:${i + 1}: not a number: '${shown}'`);
    }
    out.push(v);
  }
  return out;
}

function parseParamFlags(pairs: string[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UsageError(`--param expects name=value, got '${pair}'`);
    const name = pair.slice(0, eq).trim();
    if (Object.prototype.hasOwnProperty.call(params, name)) {
      throw new UsageError(`--param ${name} given more than once`);
    }
    params[name] = pair.slice(eq + 1).trim();
  }
  return params;
}

/** Collapse sorted indices into "a-b" runs for the text summary. */
function ranges(indices: number[]): string {
  const parts: string[] = [];
  let i = 0;
  while (i < indices.length) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j]! + 1) j++;
    parts.push(j === i ? String(indices[i]) : `${indices[i]}-${indices[j]}`);
    i = j + 1;
  }
  return parts.join(', ');
}

function summary(det: StreamDetector, file: string, n: number, drifts: number[], warnings: number[]): string {
  const params = Object.entries(det.toJSON().params)
    .filter(([, v]) => v !== null)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const lines = [`${det.name} (${params}) over ${n} value${n === 1 ? '' : 's'} from ${file}`];
  lines.push(drifts.length === 0 ? 'drifts: none' : `drifts: ${drifts.length} at index${drifts.length === 1 ? '' : 'es'} ${ranges(drifts)}`);
  if (det.hasWarningZone) {
    lines.push(warnings.length === 0 ? 'warnings: none' : `warnings: ${warnings.length} at ${ranges(warnings)}`);
  }
  return lines.join('\n');
}

export async function runDriftStreamCommand(argv: string[], io: CliIo = consoleIo): Promise<number> {
  try {
    let values;
    try {
      ({ values } = parseCommandArgs('drift-stream', argv, {
        detector: { type: 'string' },
        param: { type: 'string', multiple: true },
        file: { type: 'string' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      }));
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    if (values.help) {
      io.stdout(DRIFT_STREAM_USAGE);
      return 0;
    }
    if (values.detector === undefined) throw new UsageError(`missing --detector (one of ${DETECTOR_NAMES.join(', ')})`);
    if (!isDetectorName(values.detector)) {
      throw new UsageError(`unknown detector '${values.detector}'; valid detectors: ${DETECTOR_NAMES.join(', ')}`);
    }
    if (values.file === undefined) throw new UsageError('missing --file <values.txt>');
    const detector = createDetector(values.detector, parseParamFlags(values.param ?? []));

    let text: string;
    try {
      text = await readFile(values.file, 'utf8');
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'is a directory' : e.message;
      throw new UsageError(`cannot read --file '${values.file}': ${why}`);
    }
    const stream = parseValues(text, values.file);

    const { drifts, warnings } = runStream(detector, stream);
    io.stdout(values.json ? JSON.stringify({ drifts, warnings }) : summary(detector, values.file, stream.length, drifts, warnings));
    return 0;
  } catch (error) {
    if (error instanceof UsageError || error instanceof DetectorParamError) {
      io.stderr(`perennial drift-stream: ${error.message}\nRun 'perennial drift-stream --help' for usage.`);
      return 2;
    }
    throw error;
  }
}
