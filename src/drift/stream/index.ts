/**
 * Streaming drift detectors (River semantics), behind one interface.
 *
 *   const d = createDetector('adwin', { delta: 0.002 });
 *   for (const x of stream) { d.update(x); if (d.driftDetected) ... }
 *   const saved = JSON.stringify(d);            // heartbeat / workflow state
 *   const resumed = restoreDetector(JSON.parse(saved));
 */
import { Adwin } from './adwin';
import { Ddm } from './ddm';
import { Eddm } from './eddm';
import { HddmA } from './hddm-a';
import { HddmW } from './hddm-w';
import { Kswin } from './kswin';
import { PageHinkley } from './page-hinkley';
import { assertDetectorName, resolveParams } from './params';
import type { DetectorName, DetectorState, ParamInput, StreamDetector } from './types';

export { Adwin, Ddm, Eddm, HddmA, HddmW, Kswin, PageHinkley };
export { DETECTOR_NAMES } from './types';
export type { DetectorName, ParamInput, ParamValue, StreamDetector } from './types';
export { DetectorParamError, describeParams, isDetectorName } from './params';

interface DetectorClass {
  /** Takes the class's own params type; resolveParams has checked them. */
  new (params: never): StreamDetector;
  fromJSON(state: DetectorState): StreamDetector;
}

const DETECTORS = {
  adwin: Adwin,
  'page-hinkley': PageHinkley,
  kswin: Kswin,
  ddm: Ddm,
  eddm: Eddm,
  'hddm-a': HddmA,
  'hddm-w': HddmW,
} satisfies Record<DetectorName, DetectorClass>;

/**
 * Build a detector by name with River's parameter names. Unknown parameters,
 * wrong types and out-of-range values throw a DetectorParamError. String
 * values are parsed (so CLI `name=value` pairs can be passed as they are).
 * `name` is any string (a DetectorName, or unchecked input such as a CLI
 * argument); unknown names throw.
 */
export function createDetector(name: string, params: ParamInput = {}): StreamDetector {
  assertDetectorName(name);
  const Detector: DetectorClass = DETECTORS[name];
  return new Detector(resolveParams(name, params) as never);
}

/** Rebuild a detector from `toJSON()` output (a DetectorState, after JSON.stringify/parse), resuming exactly; anything else throws. */
export function restoreDetector(state: unknown): StreamDetector {
  if (!state || typeof state !== 'object') throw new Error('invalid detector state: not an object');
  const s = state as DetectorState;
  if (typeof s.detector !== 'string') throw new Error('invalid detector state: missing detector name');
  assertDetectorName(s.detector);
  if (s.version !== 1) throw new Error(`invalid detector state: unsupported version ${String(s.version)}`);
  if (!s.params || typeof s.params !== 'object' || !s.state || typeof s.state !== 'object') {
    throw new Error('invalid detector state: missing params or state');
  }
  // Re-validate parameters: the state may come from outside.
  const params = resolveParams(s.detector, s.params);
  const Detector: DetectorClass = DETECTORS[s.detector];
  return Detector.fromJSON({ ...s, params });
}

/** Run a whole stream through a detector; 0-based indices of drift and warning flags. */
export function runStream(detector: StreamDetector, values: Iterable<number>): { drifts: number[]; warnings: number[] } {
  const drifts: number[] = [];
  const warnings: number[] = [];
  let i = 0;
  for (const v of values) {
    detector.update(v);
    if (detector.driftDetected) drifts.push(i);
    if (detector.warningDetected) warnings.push(i);
    i++;
  }
  return { drifts, warnings };
}
