import { stat, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { DataError } from '../data/table';
import type { DriftOptions } from '../drift';
import { prestartWorkers } from '../drift/batch/pool';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * perennial drift --reference <file> --current <file> [--columns a,b]
 *   [--method auto|ks|wasserstein|psi|...] [--threshold x] [--drift-share x]
 *   [--json] [--html out.html] [--fail-on-drift]
 *
 * Exit codes: 0 report written (no drift, or drift without --fail-on-drift);
 * 1 the dataset drifts and --fail-on-drift was given; 2 a usage or data error,
 * with a message naming the file, row and column.
 */

export const DRIFT_USAGE = `perennial drift --reference <file> --current <file> [options]

Compares two samples (CSV, JSONL or Parquet) column by column.

Options:
  --reference <file>    the sample the model was trained on
  --current <file>      the sample to check
  --columns a,b         only these columns (default: every column of the reference)
  --method <name>       auto (Evidently's choice per column), ks, wasserstein, psi, ...
  --threshold <x>       threshold for every column (default: each method's own)
  --drift-share <x>     share of drifted columns at which the dataset drifts (0 < x <= 1, default 0.5)
  --json                print the report as JSON on stdout
  --html <out.html>     also write a self-contained HTML report
  --fail-on-drift       exit 1 when the dataset drifts

Exit status: 0 done, 1 dataset drift with --fail-on-drift, 2 bad usage or data.`;

class UsageError extends Error {}

/**
 * Worker threads pay off on large data only. Starting one costs about 0.3 s
 * of CPU (tsx, with its own loader thread, and the engine's modules), about
 * what sorting and testing 5 million numbers costs, and on a 2-core machine a
 * worker takes over half of the numerical columns; on a busy machine its start
 * is pure cost. So the CLI uses them from 20 million numbers (reference and
 * current together: 500,000 rows of 20 numerical columns), and starts them
 * before reading when the files are large enough to hold that many (CSV
 * spends about 7 bytes a number), so that their start overlaps the read.
 */
const PARALLEL_MIN_NUMBERS = 20_000_000;
const PRESTART_MIN_BYTES = 128 * 1024 * 1024;

async function totalBytes(paths: string[]): Promise<number> {
  const sizes = await Promise.all(
    paths.map((p) =>
      stat(p).then(
        (s) => s.size,
        () => 0,
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

function positiveNumber(flag: string, text: string | undefined, max?: number): number | undefined {
  if (text === undefined) return undefined;
  const value = text.trim() === '' ? NaN : Number(text);
  if (!Number.isFinite(value) || value <= 0 || (max !== undefined && value > max)) {
    throw new UsageError(`--${flag} must be a number ${max !== undefined ? `in (0, ${max}]` : 'greater than 0'}, got '${text}'`);
  }
  return value;
}

export async function runDriftCommand(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseCommandArgs('drift', argv, {
      reference: { type: 'string' },
      current: { type: 'string' },
      columns: { type: 'string' },
      method: { type: 'string' },
      threshold: { type: 'string' },
      'drift-share': { type: 'string' },
      json: { type: 'boolean', default: false },
      html: { type: 'string' },
      'fail-on-drift': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    }));
  } catch (error) {
    io.stderr(`perennial drift: ${(error as Error).message}\n\n${DRIFT_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.stdout(DRIFT_USAGE);
    return 0;
  }
  try {
    if (!values.reference) throw new UsageError('--reference <file> is required');
    if (!values.current) throw new UsageError('--current <file> is required');
    const threshold = positiveNumber('threshold', values.threshold);
    const driftShare = positiveNumber('drift-share', values['drift-share'], 1);
    let columns: string[] | undefined;
    if (values.columns !== undefined) {
      columns = values.columns.split(',').map((c) => c.trim());
      if (columns.some((c) => c === '')) throw new UsageError(`--columns must be a comma-separated list of column names, got '${values.columns}'`);
      const twice = columns.find((c, i) => columns!.indexOf(c) !== i);
      if (twice !== undefined) throw new UsageError(`--columns names '${twice}' twice`);
    }
    // Large inputs: start the worker threads now, while the modules load and the files are read (PARALLEL_MIN_NUMBERS).
    const threads = availableParallelism();
    if (threads > 1 && (await totalBytes([values.reference, values.current])) >= PRESTART_MIN_BYTES) void prestartWorkers(threads - 1);
    // Loaded here, after the workers were started (the read path loads DuckDB).
    const [drift, { renderHtml, renderJson, renderText }, { readSamples }] = await Promise.all([
      import('../drift'),
      import('../drift/report'),
      import('../drift/sample'),
    ]);
    const { computeDrift, sampleRows } = drift;
    const assertMethod: (name: string) => void = drift.assertMethod;
    const method = values.method?.trim();
    if (method !== undefined) {
      if (method === '') throw new UsageError('--method must not be empty');
      // before reading the files: they may be large
      try {
        assertMethod(method);
      } catch (error) {
        throw new UsageError(`--method: ${(error as Error).message}`);
      }
    }

    const { reference, current, skipped } = await readSamples(values.reference, values.current, { columns });
    for (const s of skipped) io.stderr(`perennial drift: skipped column '${s.name}': ${s.reason}`);
    if (reference.columns.length === 0) {
      throw new UsageError(`no column to test in ${values.reference}${skipped.length > 0 ? ' (every column was skipped)' : ''}`);
    }
    if (sampleRows(reference) === 0) throw new DataError('no data rows', { source: values.reference });
    if (sampleRows(current) === 0) throw new DataError('no data rows', { source: values.current });

    const numbers = [...reference.columns, ...current.columns].reduce((n, c) => n + (c.type === 'numerical' ? c.values.length : 0), 0);
    const options: DriftOptions = {
      // one report per process: caching sorted columns for a later call would only cost their fingerprints
      cache: false,
      workers: numbers >= PARALLEL_MIN_NUMBERS ? threads : 1,
    };
    if (method !== undefined) options.method = method;
    if (threshold !== undefined) options.threshold = threshold;
    if (driftShare !== undefined) options.driftShare = driftShare;
    const report = await computeDrift(reference, current, options);

    if (values.html !== undefined) {
      const out = resolve(values.html);
      await writeFile(out, renderHtml(report, { referenceName: values.reference, currentName: values.current }));
      // keep stdout pure JSON with --json
      (values.json ? io.stderr : io.stdout)(`HTML report written to ${out}`);
    }
    io.stdout(values.json ? renderJson(report) : renderText(report));
    return values['fail-on-drift'] && report.drift ? 1 : 0;
  } catch (error) {
    const message = error instanceof UsageError ? `${error.message}\n\n${DRIFT_USAGE}` : (error as Error).message;
    io.stderr(`perennial drift: ${message}`);
    return 2;
  }
}
