/**
 * Streaming drift detectors (River semantics), behind one interface.
 *
 *   const d = createDetector('adwin', { delta: 0.002 });
 *   for (const x of stream) { d.update(x); if (d.driftDetected) ... }
 *   const saved = JSON.stringify(d);            // heartbeat / workflow state
 *   const resumed = restoreDetector(JSON.parse(saved));
 */
import { Adwin, type AdwinParams } from './adwin';
import { Ddm, type DdmParams } from './ddm';
import { Eddm, type EddmParams } from './eddm';
import { HddmA, type HddmAParams } from './hddm-a';
import { HddmW, type HddmWParams } from './hddm-w';
import { Kswin, type KswinParams } from './kswin';
import { PageHinkley, type PageHinkleyParams } from './page-hinkley';
import { assertDetectorName, resolveParams } from './params';
import type { DetectorName, DetectorState, ParamInput, StreamDetector } from './types';

export { Adwin, Ddm, Eddm, HddmA, HddmW, Kswin, PageHinkley };
export type { AdwinParams, DdmParams, EddmParams, HddmAParams, HddmWParams, KswinParams, PageHinkleyParams };
export { DETECTOR_NAMES } from './types';
export type { DetectorName, DetectorState, ParamInput, ParamValue, StreamDetector } from './types';
export { DetectorParamError, PARAM_SPECS, describeParams, isDetectorName, resolveParams } from './params';
export { ks2SampEqualSizes } from './ks';
export { PythonRandom } from './python-random';

function construct(name: DetectorName, p: Record<string, unknown>): StreamDetector {
  switch (name) {
    case 'adwin':
      return new Adwin(p as unknown as AdwinParams);
    case 'page-hinkley':
      return new PageHinkley(p as unknown as PageHinkleyParams);
    case 'kswin':
      return new Kswin(p as unknown as KswinParams);
    case 'ddm':
      return new Ddm(p as unknown as DdmParams);
    case 'eddm':
      return new Eddm(p as unknown as EddmParams);
    case 'hddm-a':
      return new HddmA(p as unknown as HddmAParams);
    case 'hddm-w':
      return new HddmW(p as unknown as HddmWParams);
  }
}

/**
 * Build a detector by name with River's parameter names. Unknown parameters,
 * wrong types and out-of-range values throw a DetectorParamError. String
 * values are parsed (so CLI `name=value` pairs can be passed as they are).
 */
export function createDetector(name: DetectorName | string, params: ParamInput = {}): StreamDetector {
  assertDetectorName(name);
  return construct(name, resolveParams(name, params));
}

/** Rebuild a detector from `toJSON()` output (after JSON.stringify/parse), resuming exactly. */
export function restoreDetector(state: DetectorState | unknown): StreamDetector {
  if (!state || typeof state !== 'object') throw new Error('invalid detector state: not an object');
  const s = state as DetectorState;
  if (typeof s.detector !== 'string') throw new Error('invalid detector state: missing detector name');
  assertDetectorName(s.detector);
  if (s.version !== 1) throw new Error(`invalid detector state: unsupported version ${String(s.version)}`);
  if (!s.params || typeof s.params !== 'object' || !s.state || typeof s.state !== 'object') {
    throw new Error('invalid detector state: missing params or state');
  }
  // Re-validate parameters: the state may come from outside.
  const params = resolveParams(s.detector, s.params as Record<string, unknown>);
  const checked: DetectorState = { ...s, params };
  switch (s.detector) {
    case 'adwin':
      return Adwin.fromJSON(checked);
    case 'page-hinkley':
      return PageHinkley.fromJSON(checked);
    case 'kswin':
      return Kswin.fromJSON(checked);
    case 'ddm':
      return Ddm.fromJSON(checked);
    case 'eddm':
      return Eddm.fromJSON(checked);
    case 'hddm-a':
      return HddmA.fromJSON(checked);
    case 'hddm-w':
      return HddmW.fromJSON(checked);
  }
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
