/**
 * Release routing without a server: the candidate's share against its weight
 * (a binomial bound), stickiness by routing key, monotonic weights, shadow
 * sampling, and the routing key's sources and refusals.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ServeError } from '../../src/serve';
import { answeringArm, MAX_ROUTING_KEY_LENGTH, routingKeyOf, routingPoint, shadowed, type ReleaseRoute } from '../../src/serve/routing';

const canary = (weight: number, candidate = 'v2'): ReleaseRoute => ({ mode: 'canary', weight, candidate });
const keys = (n: number, prefix = 'user') => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
/** Never called: a keyed request draws nothing at random. */
const noRandom = () => {
  throw new Error('a keyed request must not draw at random');
};

/** |share − p| within z standard deviations of a binomial(n, p) share. */
function withinBinomial(hits: number, n: number, p: number, z = 4.5): boolean {
  return Math.abs(hits / n - p) <= z * Math.sqrt((p * (1 - p)) / n);
}

describe('routingPoint', () => {
  it('is the first 48 bits of sha256(candidate NUL key) over 2^48, in [0, 1)', () => {
    const digest = createHash('sha256').update('v2\0user-7').digest();
    expect(routingPoint('user-7', 'v2')).toBe(digest.readUIntBE(0, 6) / 2 ** 48);
    const points = keys(10_000).map((k) => routingPoint(k, 'v2'));
    expect(points.every((u) => u >= 0 && u < 1)).toBe(true);
    // Uniform: each tenth holds 1000 ± 4.5 sd of the keys.
    const deciles = Array.from({ length: 10 }, (_, d) => points.filter((u) => Math.floor(u * 10) === d).length);
    for (const count of deciles) expect(withinBinomial(count, 10_000, 0.1)).toBe(true);
  });
});

describe('answeringArm', () => {
  it('sends a weight share of distinct keys to the candidate (within a binomial bound), the same key always to the same arm', () => {
    for (const weight of [0.05, 0.25, 0.5]) {
      const arms = keys(20_000).map((k) => answeringArm(canary(weight), k, noRandom));
      const hits = arms.filter((a) => a === 'candidate').length;
      expect(withinBinomial(hits, 20_000, weight), `${hits} of 20000 at weight ${weight}`).toBe(true);
      for (const [i, k] of keys(500).entries()) expect(answeringArm(canary(weight), k, noRandom)).toBe(arms[i]);
    }
  });

  it('raising the weight only moves keys from the champion to the candidate; another candidate reshuffles them', () => {
    const ks = keys(5000);
    const at = (w: number, candidate = 'v2') => ks.map((k) => answeringArm(canary(w, candidate), k, noRandom));
    const [w5, w25, w50] = [at(0.05), at(0.25), at(0.5)];
    ks.forEach((_, i) => {
      if (w5[i] === 'candidate') expect(w25[i]).toBe('candidate');
      if (w25[i] === 'candidate') expect(w50[i]).toBe('candidate');
    });
    const other = at(0.25, 'v3');
    const same = other.filter((a, i) => a === 'candidate' && w25[i] === 'candidate').length;
    // Independent draws: about 0.25 x 0.25 of the keys are on both candidates, far from all 0.25.
    expect(withinBinomial(same, 5000, 0.0625)).toBe(true);
  });

  it('weight 0 and 1 decide without a draw; no key draws once per request; shadow and no release answer with the champion', () => {
    expect(answeringArm(canary(0), undefined, noRandom)).toBe('champion');
    expect(answeringArm(canary(1), undefined, noRandom)).toBe('candidate');
    expect(answeringArm(canary(1), 'k', noRandom)).toBe('candidate');
    const draws = [0.1, 0.3, 0.29999];
    const arms = draws.map((d) => answeringArm({ mode: 'ab', weight: 0.3, candidate: 'v2' }, undefined, () => d));
    expect(arms).toEqual(['candidate', 'champion', 'candidate']);
    expect(answeringArm({ mode: 'shadow', weight: 1, candidate: 'v2' }, 'k', noRandom)).toBe('champion');
    expect(answeringArm(null, 'k', noRandom)).toBe('champion');
  });
});

describe('shadowed', () => {
  it('copies a weight share of requests in shadow only, sticky by key', () => {
    const shadow = { mode: 'shadow' as const, weight: 0.3, candidate: 'v2' };
    const copied = keys(20_000).filter((k) => shadowed(shadow, k, noRandom)).length;
    expect(withinBinomial(copied, 20_000, 0.3)).toBe(true);
    expect(shadowed({ ...shadow, weight: 1 }, undefined, noRandom)).toBe(true);
    expect(shadowed({ ...shadow, weight: 0 }, undefined, noRandom)).toBe(false);
    expect(shadowed(canary(1), 'k', noRandom)).toBe(false);
    expect(shadowed(null, 'k', noRandom)).toBe(false);
  });
});

describe('routingKeyOf', () => {
  const message = (f: () => unknown) => {
    try {
      f();
    } catch (error) {
      return `${(error as ServeError).status} ${(error as Error).message}`;
    }
    return 'no error';
  };

  it('takes the x-routing-key header first, then the OIP parameters.routing_key; empty is none', () => {
    expect(routingKeyOf('user-1', { parameters: { routing_key: 'other' } })).toBe('user-1');
    expect(routingKeyOf(['user-1', 'user-2'])).toBe('user-1');
    expect(routingKeyOf(undefined, { parameters: { routing_key: 'user-3' } })).toBe('user-3');
    expect(routingKeyOf(undefined, { parameters: { routing_key: 42 } })).toBe('42');
    expect(routingKeyOf('', { parameters: { routing_key: '' } })).toBeUndefined();
    expect(routingKeyOf(undefined, { inputs: [] })).toBeUndefined();
    expect(routingKeyOf(undefined, { parameters: { routing_key: null } })).toBeUndefined();
  });

  it('refuses a key of the wrong type or too long with a 400 naming where it came from', () => {
    expect(message(() => routingKeyOf(undefined, { parameters: { routing_key: { id: 1 } } }))).toBe(
      '400 \'parameters.routing_key\' must be a string (a user or session id that keeps the requests on one version), found {"id":1}',
    );
    expect(message(() => routingKeyOf('x'.repeat(MAX_ROUTING_KEY_LENGTH + 1)))).toBe(
      `400 header 'x-routing-key' has ${MAX_ROUTING_KEY_LENGTH + 1} characters; a routing key is an id of at most ${MAX_ROUTING_KEY_LENGTH} characters`,
    );
  });
});
