/**
 * The prediction ids a monitor remembers to count a duplicate label once,
 * carried across continue-as-new. Kept as 53-bit hashes (the top bits of
 * FNV-1a 64 over the id's UTF-16 code units): about 17 bytes each in the
 * continue-as-new payload against a UUID's 39, so 20,000 stay well under
 * Temporal's 512 KB payload warning. Two ids share a hash with odds of about
 * n²/2⁵⁴ (2e-8 for 20,000): one label in fifty million counted as a duplicate.
 * Pure and deterministic: workflow code.
 */

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

export function idHash(id: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < id.length; i++) h = ((h ^ BigInt(id.charCodeAt(i))) * FNV_PRIME) & MASK_64;
  return Number(h >> 11n);
}

/** What the monitor's state carries: ids (runs before hashes) and hashes, oldest first. */
export interface SeenState {
  seen: string[];
  seenHashes?: number[];
}

/**
 * The newest `limit` ids, over the state's own array (`seenHashes`, which continue-as-new carries). Ids a run
 * before hashes carried in `seen` are hashed into it once.
 */
export function seenIds(state: SeenState, limit: number) {
  const order = (state.seenHashes ??= []);
  for (const id of state.seen) order.push(idHash(id));
  state.seen = [];
  const set = new Set(order);
  const trim = () => {
    if (order.length > limit) for (const h of order.splice(0, order.length - limit)) set.delete(h);
  };
  trim();
  return {
    /** Remembers the id; false when it was already there (a duplicate). */
    addIfNew(id: string): boolean {
      const h = idHash(id);
      if (set.has(h)) return false;
      set.add(h);
      order.push(h);
      return true;
    },
    /** Forgets the oldest beyond the limit (after each batch). */
    trim,
  };
}
