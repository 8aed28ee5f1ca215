/**
 * Sorted-array cache across calls: sorting is most of the work on large
 * numerical columns, and a report is often computed several times on the
 * same data (e.g. 'auto', then 'ks'). Entries are keyed (weakly) by the
 * caller's Float64Array and validated by its length and a 64-bit content
 * fingerprint computed on every lookup (a few ms per million values), so a
 * mutated array is re-sorted, never served stale.
 *
 * Sorted arrays computed in worker threads come back on SharedArrayBuffers,
 * so caching them costs no copy and sending them to a worker again does not
 * detach anything.
 */
import type { PreparedNumerical } from './prepare';

interface Entry {
  length: number;
  h1: number;
  h2: number;
  prepared: PreparedNumerical;
}

const cache = new WeakMap<Float64Array, Entry>();
let hits = 0;

/** Testing hook: how many lookups the cache has served since the process started. */
export function cacheHits(): number {
  return hits;
}

/** Two independent 32-bit hashes over the raw bits of the array. */
export function fingerprint(a: Float64Array): [number, number] {
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  let h1 = 0x811c9dc5 ^ a.length;
  let h2 = 0x9e3779b9;
  for (let i = 0; i < u.length; i++) {
    const w = u[i]!;
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h2 = Math.imul((h2 + w) ^ (h2 >>> 15), 0x85ebca6b);
  }
  return [h1 >>> 0, h2 >>> 0];
}

export function getSorted(values: unknown): PreparedNumerical | undefined {
  if (!(values instanceof Float64Array)) return undefined;
  const e = cache.get(values);
  if (!e || e.length !== values.length) return undefined;
  const [h1, h2] = fingerprint(values);
  if (h1 !== e.h1 || h2 !== e.h2) return undefined;
  hits++;
  return e.prepared;
}

export function putSorted(values: unknown, prepared: PreparedNumerical): void {
  if (!(values instanceof Float64Array)) return;
  const [h1, h2] = fingerprint(values);
  cache.set(values, { length: values.length, h1, h2, prepared });
}

/** A copy of a Float64Array on a SharedArrayBuffer. */
export function toShared(a: Float64Array): Float64Array {
  if (a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float64Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}
