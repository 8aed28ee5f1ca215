/**
 * Parameter specifications (River's names and defaults) and their validation.
 * Values may arrive typed (from code) or as strings (from the CLI's
 * `--param name=value`); strings are parsed according to the spec.
 */
import { KS_MAX_AUTO_N } from '../batch/kolmogorov';
import { DETECTOR_NAMES, type DetectorName, type ParamInput, type ParamValue } from './types';

type Bound = { value: number; inclusive: boolean };

export type ParamSpec =
  | { kind: 'number'; default: number; min?: Bound; max?: Bound; doc: string }
  | { kind: 'integer'; default: number; min?: number; max?: number; doc: string }
  | { kind: 'boolean'; default: boolean; doc: string }
  | { kind: 'enum'; default: string; values: readonly string[]; doc: string }
  /** Optional non-negative integer seed; null = pick one at random. */
  | { kind: 'seed'; default: null; doc: string }
  /** Optional list of numbers, given as an array or a comma-separated string. */
  | { kind: 'numberList'; default: null; doc: string };

const open01 = { min: { value: 0, inclusive: false }, max: { value: 1, inclusive: false } };

const PARAM_SPECS: Record<DetectorName, Record<string, ParamSpec>> = {
  adwin: {
    delta: { kind: 'number', default: 0.002, ...open01, doc: 'significance value' },
    clock: { kind: 'integer', default: 32, min: 1, doc: 'check for changes every `clock` updates' },
    max_buckets: { kind: 'integer', default: 5, min: 1, doc: 'buckets of each size kept before merging' },
    min_window_length: { kind: 'integer', default: 5, min: 1, doc: 'minimum length of a sub-window' },
    grace_period: { kind: 'integer', default: 10, min: 0, doc: 'no detection before this many values' },
  },
  'page-hinkley': {
    min_instances: { kind: 'integer', default: 30, min: 1, doc: 'values seen before detecting' },
    delta: { kind: 'number', default: 0.005, min: { value: 0, inclusive: true }, doc: 'delta factor of the test' },
    threshold: { kind: 'number', default: 50.0, min: { value: 0, inclusive: false }, doc: 'detection threshold (lambda)' },
    alpha: {
      kind: 'number',
      default: 1 - 0.0001,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'forgetting factor',
    },
    mode: { kind: 'enum', default: 'both', values: ['up', 'down', 'both'], doc: 'direction of changes to monitor' },
  },
  kswin: {
    alpha: {
      kind: 'number',
      default: 0.005,
      min: { value: 0, inclusive: true },
      max: { value: 1, inclusive: true },
      doc: 'significance level of the KS test',
    },
    window_size: { kind: 'integer', default: 100, min: 2, max: 2 ** 31 - 1, doc: 'size of the sliding window' },
    stat_size: { kind: 'integer', default: 30, min: 1, max: KS_MAX_AUTO_N, doc: 'size of the statistic window (< window_size)' },
    seed: { kind: 'seed', default: null, doc: 'random seed (non-negative integer) for the sub-window sampling' },
    window: { kind: 'numberList', default: null, doc: 'initial window values (comma-separated) to avoid a cold start' },
  },
  ddm: {
    warm_start: { kind: 'integer', default: 30, min: 0, doc: 'values seen before detecting' },
    warning_threshold: { kind: 'number', default: 2.0, min: { value: 0, inclusive: false }, doc: 'warning threshold' },
    drift_threshold: { kind: 'number', default: 3.0, min: { value: 0, inclusive: false }, doc: 'drift threshold' },
  },
  eddm: {
    warm_start: { kind: 'integer', default: 30, min: 0, doc: 'errors seen before detecting' },
    alpha: {
      kind: 'number',
      default: 0.95,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'warning threshold (>= beta)',
    },
    beta: {
      kind: 'number',
      default: 0.9,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'drift threshold (<= alpha)',
    },
  },
  'hddm-a': {
    drift_confidence: { kind: 'number', default: 0.001, ...open01, doc: 'confidence for drift' },
    warning_confidence: { kind: 'number', default: 0.005, ...open01, doc: 'confidence for warning' },
    two_sided_test: { kind: 'boolean', default: false, doc: 'also monitor decreases' },
  },
  'hddm-w': {
    drift_confidence: { kind: 'number', default: 0.001, ...open01, doc: 'confidence for drift' },
    warning_confidence: { kind: 'number', default: 0.005, ...open01, doc: 'confidence for warning' },
    lambda_val: {
      kind: 'number',
      default: 0.05,
      min: { value: 0, inclusive: false },
      max: { value: 1, inclusive: true },
      doc: 'weight given to recent data',
    },
    two_sided_test: { kind: 'boolean', default: false, doc: 'also monitor decreases' },
  },
};

export class DetectorParamError extends Error {
  override name = 'DetectorParamError';
}

export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}

export function assertDetectorName(name: string): asserts name is DetectorName {
  if (!isDetectorName(name)) {
    throw new DetectorParamError(`unknown detector '${name}'; valid detectors: ${DETECTOR_NAMES.join(', ')}`);
  }
}

function describe(spec: ParamSpec): string {
  switch (spec.kind) {
    case 'number': {
      const parts: string[] = [];
      if (spec.min) parts.push(`${spec.min.inclusive ? '>=' : '>'} ${spec.min.value}`);
      if (spec.max) parts.push(`${spec.max.inclusive ? '<=' : '<'} ${spec.max.value}`);
      return `a finite number${parts.length ? ' ' + parts.join(' and ') : ''}`;
    }
    case 'integer': {
      const parts: string[] = [];
      if (spec.min !== undefined) parts.push(`>= ${spec.min}`);
      if (spec.max !== undefined) parts.push(`<= ${spec.max}`);
      return `an integer${parts.length ? ' ' + parts.join(' and ') : ''}`;
    }
    case 'boolean':
      return 'a boolean (true or false)';
    case 'enum':
      return `one of ${spec.values.map((v) => `'${v}'`).join(', ')}`;
    case 'seed':
      return 'a non-negative integer (at most 2^53 - 1)';
    case 'numberList':
      return 'a list of finite numbers (comma-separated)';
  }
}

/** Human-readable list of a detector's parameters with defaults. */
export function describeParams(detector: DetectorName): string {
  return Object.entries(PARAM_SPECS[detector])
    .map(([k, s]) => `${k} (${describe(s)}; default ${s.default === null ? 'none' : String(s.default)})`)
    .join(', ');
}

function coerce(detector: DetectorName, key: string, spec: ParamSpec, raw: unknown): ParamValue | null {
  const fail = (): never => {
    throw new DetectorParamError(
      `${detector}: parameter '${key}' expects ${describe(spec)}, got ${JSON.stringify(raw)}`,
    );
  };
  const asNumber = (): number => {
    if (typeof raw === 'number') return raw;
    if (typeof raw === 'string' && raw.trim() !== '') {
      const v = Number(raw.trim());
      if (!Number.isNaN(v)) return v;
    }
    return fail();
  };
  switch (spec.kind) {
    case 'number': {
      const v = asNumber();
      if (!Number.isFinite(v)) fail();
      if (spec.min && (spec.min.inclusive ? v < spec.min.value : v <= spec.min.value)) fail();
      if (spec.max && (spec.max.inclusive ? v > spec.max.value : v >= spec.max.value)) fail();
      return v;
    }
    case 'integer': {
      const v = asNumber();
      if (!Number.isSafeInteger(v)) fail();
      if (spec.min !== undefined && v < spec.min) fail();
      if (spec.max !== undefined && v > spec.max) fail();
      return v;
    }
    case 'seed': {
      if (raw === null || raw === undefined) return null;
      const v = asNumber();
      if (!Number.isSafeInteger(v) || v < 0) fail();
      return v;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') {
        const s = raw.trim().toLowerCase();
        if (s === 'true' || s === '1') return true;
        if (s === 'false' || s === '0') return false;
      }
      if (raw === 1) return true;
      if (raw === 0) return false;
      return fail();
    }
    case 'enum': {
      if (typeof raw === 'string' && spec.values.includes(raw)) return raw;
      return fail();
    }
    case 'numberList': {
      if (raw === null || raw === undefined) return null;
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === 'string') items = raw.trim() === '' ? [] : raw.split(',').map((s) => s.trim());
      else if (typeof raw === 'number') items = [raw];
      else return fail();
      const nums = items.map((s) => (typeof s === 'number' ? s : typeof s === 'string' && s !== '' ? Number(s) : NaN));
      if (nums.some((v) => !Number.isFinite(v))) fail();
      return nums.join(',');
    }
  }
}

/**
 * Validate and resolve parameters: unknown names are rejected (listing the
 * valid ones), values are type/range checked, defaults are filled in.
 */
export function resolveParams(detector: DetectorName, input: ParamInput | Record<string, unknown>): Record<string, ParamValue | null> {
  const specs = PARAM_SPECS[detector];
  for (const key of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(specs, key)) {
      throw new DetectorParamError(
        `${detector}: unknown parameter '${key}'; valid parameters: ${Object.keys(specs).join(', ')}`,
      );
    }
  }
  const out: Record<string, ParamValue | null> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const raw = (input as Record<string, unknown>)[key];
    out[key] = raw === undefined ? spec.default : coerce(detector, key, spec, raw);
  }
  // Cross-parameter constraints (River raises for these too).
  if (detector === 'kswin' && (out.stat_size as number) >= (out.window_size as number)) {
    throw new DetectorParamError(
      `kswin: parameter 'stat_size' must be smaller than 'window_size' (got stat_size=${out.stat_size}, window_size=${out.window_size})`,
    );
  }
  if (detector === 'eddm' && (out.alpha as number) < (out.beta as number)) {
    throw new DetectorParamError(
      `eddm: parameter 'alpha' must be greater than or equal to 'beta' (got alpha=${out.alpha}, beta=${out.beta})`,
    );
  }
  return out;
}
