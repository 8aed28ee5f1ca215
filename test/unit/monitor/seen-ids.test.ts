import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { idHash, seenIds, type SeenState } from '../../../src/monitor/seen-ids';

describe('idHash', () => {
  it('is the top 53 bits of FNV-1a 64, as its published test vectors give it', () => {
    // Vectors from the FNV reference (draft-eastlake-fnv): "" → cbf29ce484222325, "a" → af63dc4c8601ec8c, "foobar" → 85944171f73967e8.
    expect(idHash('')).toBe(Number(0xcbf29ce484222325n >> 11n));
    expect(idHash('a')).toBe(Number(0xaf63dc4c8601ec8cn >> 11n));
    expect(idHash('foobar')).toBe(Number(0x85944171f73967e8n >> 11n));
    expect(Number.isSafeInteger(idHash(randomUUID()))).toBe(true);
  });
});

describe('seenIds', () => {
  it('counts an id once, forgets the oldest beyond the limit, and keeps its memory in the state it carries', () => {
    const state: SeenState = { seen: [] };
    const seen = seenIds(state, 3);
    expect(['a', 'b', 'a', 'c'].map((id) => seen.addIfNew(id))).toEqual([true, true, false, true]);
    seen.addIfNew('d');
    seen.trim();
    expect(state.seenHashes).toEqual(['b', 'c', 'd'].map(idHash));
    expect(seen.addIfNew('a')).toBe(true); // forgotten: beyond the limit
    expect(seen.addIfNew('d')).toBe(false);
    // The next run (after continue-as-new) remembers what this one carried.
    const next = seenIds(JSON.parse(JSON.stringify(state)) as SeenState, 3);
    expect(next.addIfNew('d')).toBe(false);
  });

  it('takes the ids a run before hashes carried, and empties them', () => {
    const state: SeenState = { seen: ['x', 'y', 'z'] };
    const seen = seenIds(state, 2);
    expect(state.seen).toEqual([]);
    expect(state.seenHashes).toEqual(['y', 'z'].map(idHash));
    expect(seen.addIfNew('z')).toBe(false);
    expect(seen.addIfNew('x')).toBe(true);
  });

  it('carries 20,000 UUIDs in well under half the bytes of the ids themselves', () => {
    const ids = Array.from({ length: 20_000 }, () => randomUUID());
    const state: SeenState = { seen: [] };
    const seen = seenIds(state, 20_000);
    for (const id of ids) expect(seen.addIfNew(id)).toBe(true);
    const hashed = JSON.stringify(state).length;
    const plain = JSON.stringify({ seen: ids }).length;
    console.log(`[seen-ids] 20,000 UUIDs: ${plain} bytes as ids, ${hashed} as hashes`);
    expect(hashed).toBeLessThan(plain / 2);
    expect(hashed).toBeLessThan(400_000);
  });
});
