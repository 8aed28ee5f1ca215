/**
 * How a detector declares its parameters (River's names and defaults) and
 * how values are checked against that declaration. Each detector declares
 * its own beside its code (`paramTable(...)` in adwin.ts, ddm.ts...);
 * params.ts maps detector names to them.
 *
 * Values may arrive typed (from code) or as strings (from the CLI's
 * `--param name=value`); strings are parsed according to the spec.
 */
import type { ParamValue } from './types';

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

export type ParamSpecs = Record<string, ParamSpec>;

/** The resolved value a spec yields. */
type ValueOf<S extends ParamSpec> = S extends { kind: 'number' | 'integer' }
  ? number
  : S extends { kind: 'boolean' }
    ? boolean
    : S extends { kind: 'enum'; values: readonly (infer V)[] }
      ? V
      : S extends { kind: 'seed' }
        ? number | null
        : S extends { kind: 'numberList' }
          ? string | null // the numbers joined with ','
          : never;

/** A detector's resolved parameters, typed from its specs. */
export type ParamsOf<S extends ParamSpecs> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export interface ParamTable<S extends ParamSpecs = ParamSpecs> {
  specs: S;
  /** Constraints across parameters (River raises for these too); throws a DetectorParamError. */
  check?(params: ParamsOf<S>): void;
}

/** A detector's parameter declaration, its specs typed as written. */
export function paramTable<const S extends ParamSpecs>(specs: S, check?: (params: ParamsOf<S>) => void): ParamTable<S> {
  return check ? { specs, check } : { specs };
}

/** Bounds of the open interval (0, 1). */
export const open01 = { min: { value: 0, inclusive: false }, max: { value: 1, inclusive: false } } as const;

export class DetectorParamError extends Error {
  override name = 'DetectorParamError';
}

export function describeSpec(spec: ParamSpec): string {
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

function coerce(detector: string, key: string, spec: ParamSpec, raw: unknown): ParamValue | null {
  const fail = (): never => {
    throw new DetectorParamError(`${detector}: parameter '${key}' expects ${describeSpec(spec)}, got ${JSON.stringify(raw)}`);
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
 * Validate and resolve parameters against a table: unknown names are
 * rejected (listing the valid ones), values are type/range checked, defaults
 * are filled in, then the cross-parameter check runs.
 */
export function resolveWith(detector: string, table: ParamTable, input: Record<string, unknown>): Record<string, ParamValue | null> {
  const specs = table.specs;
  for (const key of Object.keys(input)) {
    if (!Object.prototype.hasOwnProperty.call(specs, key)) {
      throw new DetectorParamError(`${detector}: unknown parameter '${key}'; valid parameters: ${Object.keys(specs).join(', ')}`);
    }
  }
  const out: Record<string, ParamValue | null> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const raw = input[key];
    out[key] = raw === undefined ? spec.default : coerce(detector, key, spec, raw);
  }
  table.check?.(out);
  return out;
}
