/**
 * The parameter table: each detector's declaration (River's names and
 * defaults, beside the detector in its own file) by detector name, and
 * validation by name for createDetector, restoreDetector and the CLI.
 */
import { ADWIN_PARAMS } from './adwin';
import { DDM_PARAMS } from './ddm';
import { EDDM_PARAMS } from './eddm';
import { HDDM_A_PARAMS } from './hddm-a';
import { HDDM_W_PARAMS } from './hddm-w';
import { KSWIN_PARAMS } from './kswin';
import { PAGE_HINKLEY_PARAMS } from './page-hinkley';
import { DetectorParamError, describeSpec, resolveWith, type ParamTable } from './param-spec';
import { DETECTOR_NAMES, type DetectorName, type ParamInput, type ParamValue } from './types';

export { DetectorParamError } from './param-spec';

const PARAMS: Record<DetectorName, ParamTable> = {
  adwin: ADWIN_PARAMS,
  'page-hinkley': PAGE_HINKLEY_PARAMS,
  kswin: KSWIN_PARAMS,
  ddm: DDM_PARAMS,
  eddm: EDDM_PARAMS,
  'hddm-a': HDDM_A_PARAMS,
  'hddm-w': HDDM_W_PARAMS,
};

export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}

export function assertDetectorName(name: string): asserts name is DetectorName {
  if (!isDetectorName(name)) {
    throw new DetectorParamError(`unknown detector '${name}'; valid detectors: ${DETECTOR_NAMES.join(', ')}`);
  }
}

/** Human-readable list of a detector's parameters with defaults. */
export function describeParams(detector: DetectorName): string {
  return Object.entries(PARAMS[detector].specs)
    .map(([k, s]) => `${k} (${describeSpec(s)}; default ${s.default === null ? 'none' : String(s.default)})`)
    .join(', ');
}

/**
 * Validate and resolve parameters: unknown names are rejected (listing the
 * valid ones), values are type/range checked, defaults are filled in, and
 * cross-parameter constraints are checked.
 */
export function resolveParams(detector: DetectorName, input: ParamInput | Record<string, unknown>): Record<string, ParamValue | null> {
  return resolveWith(detector, PARAMS[detector], input);
}
