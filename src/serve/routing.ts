/**
 * Which version answers a request while a release is in flight: the pure
 * part of routing (routes.ts applies it, host.ts holds the release).
 *
 * - `canary` and `ab`: a request without an explicit version goes to the
 *   candidate with probability `weight`. With a routing key (header
 *   `x-routing-key`, or the OIP request's `parameters.routing_key`) the choice
 *   is sticky: the key and the candidate's version are hashed (sha256) to a
 *   point u in [0, 1), and the request goes to the candidate when u < weight.
 *   The same key always gets the same arm for a given candidate, a new
 *   candidate reshuffles the keys, and raising the weight only moves keys from
 *   the champion to the candidate (u < 0.05 implies u < 0.25): a user on the
 *   candidate stays there through every canary step. Without a key, one
 *   random draw per request.
 * - `shadow`: the champion answers; the same rule (u < weight, sticky by key)
 *   picks the requests whose rows the candidate scores too, off the request
 *   path, for the log only.
 */
import { createHash } from 'node:crypto';
import type { ReleaseMode } from '../registry';
import { badRequest, isObject, shown } from './errors';

/** The header that carries a request's routing key (a user, a session: whatever must stay on one version). */
export const ROUTING_KEY_HEADER = 'x-routing-key';

/** Keys longer than this are refused (a key is an id, not a payload). */
export const MAX_ROUTING_KEY_LENGTH = 512;

/** What answered a request, as the prediction log's `arm` column says it. */
export type Arm = 'champion' | 'candidate' | 'shadow';

export interface ReleaseRoute {
  mode: ReleaseMode;
  weight: number;
  /** The candidate's version. */
  candidate: string;
}

/** The point in [0, 1) of a routing key for a candidate: the first 48 bits of sha256(candidate, NUL, key). */
export function routingPoint(key: string, candidate: string): number {
  const digest = createHash('sha256').update(candidate).update('\0').update(key).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

/** The candidate is chosen: u < weight, u from the key (sticky) or from `random` (no key). */
function picked(release: ReleaseRoute, key: string | undefined, random: () => number): boolean {
  if (release.weight <= 0) return false;
  if (release.weight >= 1) return true;
  return (key === undefined ? random() : routingPoint(key, release.candidate)) < release.weight;
}

/** The arm that answers a request without an explicit version: the candidate only in canary and ab. */
export function answeringArm(release: ReleaseRoute | null, key: string | undefined, random: () => number = Math.random): 'champion' | 'candidate' {
  if (!release || release.mode === 'shadow') return 'champion';
  return picked(release, key, random) ? 'candidate' : 'champion';
}

/** In shadow, whether the candidate scores this request's rows too. */
export function shadowed(release: ReleaseRoute | null, key: string | undefined, random: () => number = Math.random): boolean {
  return release?.mode === 'shadow' && picked(release, key, random);
}

/**
 * A request's routing key: the `x-routing-key` header, else the OIP
 * request's `parameters.routing_key` (a string, or a number taken as its
 * text); undefined when neither is sent (or empty). A key of the wrong type or
 * too long is a 400.
 */
export function routingKeyOf(header: string | string[] | undefined, body?: unknown): string | undefined {
  const fromHeader = Array.isArray(header) ? header[0] : header;
  let key: string | undefined;
  let where = `header '${ROUTING_KEY_HEADER}'`;
  if (fromHeader !== undefined && fromHeader !== '') key = fromHeader;
  else if (isObject(body) && isObject(body.parameters) && body.parameters.routing_key !== undefined && body.parameters.routing_key !== null) {
    const value = body.parameters.routing_key;
    where = "'parameters.routing_key'";
    if (typeof value === 'number' && Number.isFinite(value)) key = String(value);
    else if (typeof value === 'string') key = value === '' ? undefined : value;
    else throw badRequest(`${where} must be a string (a user or session id that keeps the requests on one version), found ${shown(value)}`);
  }
  if (key !== undefined && key.length > MAX_ROUTING_KEY_LENGTH) {
    throw badRequest(`${where} has ${key.length} characters; a routing key is an id of at most ${MAX_ROUTING_KEY_LENGTH} characters`);
  }
  return key;
}
