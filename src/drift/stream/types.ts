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
