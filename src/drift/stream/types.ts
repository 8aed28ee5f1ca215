/**
 * Streaming (online) drift detectors: one value in at a time, a verdict out
 * after each update. Semantics follow River (river.drift / river.drift.binary):
 * flags describe the last update, and a detector that flagged a drift resets
 * itself at the start of the following update.
 */

export const DETECTOR_NAMES = ['adwin', 'page-hinkley', 'kswin', 'ddm', 'eddm', 'hddm-a', 'hddm-w'] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export type ParamValue = number | string | boolean;
export type ParamInput = Record<string, ParamValue>;

/** JSON-safe number: non-finite values are spelled as strings ('Infinity', '-Infinity', 'NaN'). */
export type JsonNumber = number | 'Infinity' | '-Infinity' | 'NaN';

/** Plain-JSON snapshot of a detector: what `toJSON()` returns and `restoreDetector()` accepts. */
export interface DetectorState {
  detector: DetectorName;
  /** Format version of `state`. */
  version: 1;
  /** Parameters, fully resolved (defaults filled in). */
  params: Record<string, ParamValue | null>;
  driftDetected: boolean;
  warningDetected: boolean;
  /** Detector-specific internals; plain JSON. */
  state: Record<string, unknown>;
}

export interface StreamDetector {
  readonly name: DetectorName;
  /** Whether this detector can raise warnings (DDM, EDDM, HDDM_A, HDDM_W). */
  readonly hasWarningZone: boolean;
  /** Feed one value. */
  update(value: number): void;
  /** A drift was flagged by the last update. */
  readonly driftDetected: boolean;
  /** A warning was flagged by the last update (always false without a warning zone). */
  readonly warningDetected: boolean;
  /** Plain JSON state; `restoreDetector(JSON.parse(JSON.stringify(d)))` resumes exactly. */
  toJSON(): DetectorState;
}

export function encodeNumber(x: number): JsonNumber {
  if (Number.isFinite(x)) return x;
  if (Number.isNaN(x)) return 'NaN';
  return x > 0 ? 'Infinity' : '-Infinity';
}

export function decodeNumber(x: unknown, what = 'number'): number {
  if (typeof x === 'number') return x;
  if (x === 'Infinity') return Infinity;
  if (x === '-Infinity') return -Infinity;
  if (x === 'NaN') return NaN;
  throw new Error(`invalid detector state: ${what} is not a number (${JSON.stringify(x)})`);
}

export function decodeBoolean(x: unknown, what: string): boolean {
  if (typeof x !== 'boolean') throw new Error(`invalid detector state: ${what} is not a boolean`);
  return x;
}

export function decodeNumberArray(x: unknown, what: string): number[] {
  if (!Array.isArray(x)) throw new Error(`invalid detector state: ${what} is not an array`);
  return x.map((v, i) => decodeNumber(v, `${what}[${i}]`));
}
