/**
 * How the data stages are split into activities that many training workers
 * share, and how their results are put back together. Pure and without
 * runtime imports but Temporal's common package, the errors and the key layout: the
 * pipeline workflow plans and merges with it, deterministically.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DataValidationError } from '../errors';
import { keys } from '../store/keys';
import type { WindowPolicy } from './snapshot';

/** A validated batch or a snapshot as an input of the snapshot stage. */
export interface PartSource {
  key: string;
  /** sha256 of the file's bytes, checked on download (absent: not checked). */
  fileSha256?: string;
  rows: number;
}

/** One part: a file, or rows [from, to) of a Parquet file in its own order. */
export interface SnapshotPart {
  key: string;
  fileSha256?: string;
  range?: { from: number; to: number };
}

/** Rows per part when the worker's config says nothing (PERENNIAL_PARTITION_ROWS). */
export const DEFAULT_PARTITION_ROWS = 500_000;

const DAY_MS = 86_400_000;

/** The UTC day (days since 1970-01-01) of a date or date-time text as snapshots record times (UTC, no offset). */
function utcDayOf(text: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(text);
  if (!match) throw new Error(`not an ISO date or date-time: '${text}'`);
  return Math.floor(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) / DAY_MS);
}

/** A source of the snapshot stage with the time range of its rows (absent: unknown; null: no row has a time). */
export interface TimedPartSource extends PartSource {
  timeRange?: { from: string; to: string } | null;
}

/**
 * The parts of a snapshot and, for a days window, the first UTC day it keeps
 * (the newest day of any input, and the days-1 before it, as buildSnapshot
 * cuts). Null when the snapshot cannot be summed in parts: a 'rows' window
 * needs every row in one place, and a days window needs every input's newest
 * time (snapshots written before the time range was recorded have none).
 */
export function planSnapshot(sources: TimedPartSource[], window: WindowPolicy, partitionRows: number): { parts: SnapshotPart[]; sinceDay?: number } | null {
  if (window.kind === 'rows') return null;
  const parts = planSnapshotParts(sources, partitionRows);
  if (window.kind === 'all') return { parts };
  let newest = -Infinity;
  for (const { timeRange } of sources) {
    if (timeRange === undefined) return null;
    if (timeRange) newest = Math.max(newest, utcDayOf(timeRange.to));
  }
  return newest === -Infinity ? null : { parts, sinceDay: newest - (window.days - 1) };
}

/** Every source cut into parts of at most `partitionRows` rows, in source order. Only a Parquet file can be read by row range: others are one part whatever their size. */
export function planSnapshotParts(sources: PartSource[], partitionRows: number): SnapshotPart[] {
  const size = Math.max(1, Math.floor(partitionRows));
  const parts: SnapshotPart[] = [];
  for (const { key, fileSha256, rows } of sources) {
    const file = { key, ...(fileSha256 ? { fileSha256 } : {}) };
    if (!/\.parquet$/i.test(key) || rows <= size) {
      parts.push(file);
      continue;
    }
    for (let from = 0; from < rows; from += size) parts.push({ ...file, range: { from, to: Math.min(rows, from + size) } });
  }
  return parts;
}

/** What validating one batch came to: its accepted rows, or why it was quarantined whole. */
export interface BatchOutcome<Accepted> {
  accepted?: Accepted;
  /** The batch's key and why it was refused (it is in quarantine). */
  failure?: string;
  rowsAccepted: number;
  rowsRejected: number;
}

/** The batches' outcomes in batch order, added up. */
export function mergeBatchOutcomes<Accepted>(outcomes: BatchOutcome<Accepted>[]): {
  accepted: Accepted[];
  failures: string[];
  rowsAccepted: number;
  rowsRejected: number;
} {
  const merged = { accepted: [] as Accepted[], failures: [] as string[], rowsAccepted: 0, rowsRejected: 0 };
  for (const outcome of outcomes) {
    if (outcome.accepted) merged.accepted.push(outcome.accepted);
    if (outcome.failure) merged.failures.push(outcome.failure);
    merged.rowsAccepted += outcome.rowsAccepted;
    merged.rowsRejected += outcome.rowsRejected;
  }
  return merged;
}

/** The pipeline's permanent failure when batches were refused (they are in quarantine): the activity's and the workflow's, one wording. */
export function batchesRefused(model: string, failures: string[]): ApplicationFailure {
  return ApplicationFailure.create({
    type: DataValidationError.name,
    nonRetryable: true,
    message: `${failures.length} batch(es) rejected and moved to ${keys.quarantine(model)}; the champion is untouched: ${failures.join(' | ')}`,
    details: [{ failures }],
  });
}
