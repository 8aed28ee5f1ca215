/**
 * A detector's state, declared once: each field says how it starts (on
 * construction and on every reset), how it is written to plain JSON and how
 * it is read back (validated). The base class (detector.ts) derives reset,
 * toJSON and restore from the declaration, so a detector never writes a
 * toJSON/fromJSON pair by hand.
 *
 * Non-finite numbers are spelled as strings in JSON ('Infinity', '-Infinity',
 * 'NaN'), which JSON.stringify would otherwise turn into null.
 */

/** JSON-safe number: non-finite values are spelled as strings. */
export type JsonNumber = number | 'Infinity' | '-Infinity' | 'NaN';

export interface StateField<T, P = unknown> {
  /** The value on construction and after a reset; `previous` is the value being reset (undefined on construction). */
  initial(params: P, previous?: T): T;
  toJSON(value: T): unknown;
  /** Read a saved value back; `path` names it in errors. */
  fromJSON(json: unknown, path: string, params: P): T;
}

/**
 * Any field fits `StateField<unknown, P>` (methods compare their parameters
 * bivariantly), and any schema fits `StateSchema<never>`.
 */
export type StateSchema<P = unknown> = Record<string, StateField<unknown, P>>;

/** The live state a schema describes. */
export type StateOf<S extends StateSchema<never>> = { [K in keyof S]: S[K] extends StateField<infer T, never> ? T : never };

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

export function numberField(initial: number): StateField<number> {
  return { initial: () => initial, toJSON: encodeNumber, fromJSON: (json, path) => decodeNumber(json, path) };
}

export function nullableNumberField(): StateField<number | null> {
  return {
    initial: () => null,
    toJSON: (v) => (v === null ? null : encodeNumber(v)),
    fromJSON: (json, path) => (json === null ? null : decodeNumber(json, path)),
  };
}

export function booleanField(initial: boolean): StateField<boolean> {
  return { initial: () => initial, toJSON: (v) => v, fromJSON: (json, path) => decodeBoolean(json, path) };
}

/** A plain object of fields (e.g. a running mean {n, mean}), saved as a JSON object. */
export function recordField<S extends StateSchema>(schema: S): StateField<StateOf<S>> {
  return {
    initial: () => initialState(schema, undefined),
    toJSON: (v) => stateToJSON(schema, v),
    fromJSON: (json, path) => {
      if (!json || typeof json !== 'object') throw new Error(`invalid detector state: ${path}`);
      return readFields(schema, json as Record<string, unknown>, undefined, (key) => `${path}.${key}`);
    },
  };
}

/** A field with its own start value and JSON form (typed arrays, ring buffers, generators...). */
export function customField<T, P>(field: StateField<T, P>): StateField<T, P> {
  return field;
}

/**
 * A fresh object to hold a schema's fields. Instances of a class get all
 * their fields in-object (V8 sizes them by slack tracking), whereas a `{}`
 * filled key by key keeps only four in-object and the rest behind another
 * pointer; detectors read and write these fields on every update.
 */
const holders = new WeakMap<object, new () => Record<string, unknown>>();
function newHolder(schema: object): Record<string, unknown> {
  let Holder = holders.get(schema);
  if (!Holder) {
    Holder = class StateFields {} as new () => Record<string, unknown>;
    holders.set(schema, Holder);
  }
  return new Holder();
}

export function initialState<P, S extends StateSchema<P>>(schema: S, params: P, previous?: StateOf<S>): StateOf<S> {
  const state = newHolder(schema);
  for (const key of Object.keys(schema)) state[key] = schema[key]!.initial(params, previous?.[key]);
  return state as StateOf<S>;
}

export function stateToJSON<S extends StateSchema<never>>(schema: S, state: StateOf<S>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const key of Object.keys(schema)) json[key] = schema[key]!.toJSON(state[key]);
  return json;
}

export function stateFromJSON<P, S extends StateSchema<P>>(schema: S, json: unknown, params: P): StateOf<S> {
  if (!json || typeof json !== 'object') throw new Error('invalid detector state: state is not an object');
  return readFields(schema, json as Record<string, unknown>, params, (key) => key);
}

function readFields<P, S extends StateSchema<P>>(schema: S, json: Record<string, unknown>, params: P, path: (key: string) => string): StateOf<S> {
  const state = newHolder(schema);
  // Fields not in the schema (saved by an older version) are ignored.
  for (const key of Object.keys(schema)) state[key] = schema[key]!.fromJSON(json[key], path(key), params);
  return state as StateOf<S>;
}
