/**
 * What Perennial needs from an object store. S3Store is the real one; the
 * in-memory MemoryStore serves unit tests of pure logic only.
 */
export interface ObjectInfo {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
}

export interface PutOptions {
  contentType?: string;
  /** Write only if no object has this key (create-once; immutable versions). */
  ifNoneMatch?: boolean;
  /** Write only if the object still has this ETag (optimistic concurrency). */
  ifMatch?: string;
}

export interface ObjectStore {
  readonly description: string;
  get(key: string): Promise<Buffer>;
  /** The object and its ETag, or null when absent. */
  getIfExists(key: string): Promise<{ body: Buffer; etag: string } | null>;
  head(key: string): Promise<ObjectInfo | null>;
  put(key: string, body: Buffer | string, options?: PutOptions): Promise<{ etag: string }>;
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  /** The same server's bucket `bucket`, with the same credentials (a data source in another bucket); absent when the store has no buckets. */
  inBucket?(bucket: string): ObjectStore;
}

import { ChecksumMismatchError } from '../errors';
import { sha256 } from './sha';

export { ObjectNotFoundError } from '../errors';

/** A store request that failed, with the server's error name (`NoSuchBucket`, `AccessDenied`..., or `Unreachable`) for callers that decide by it. */
export class StoreError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'StoreError';
  }
}

/** A conditional write lost: someone else created or changed the object first. */
export class PreconditionFailedError extends Error {
  constructor(
    readonly key: string,
    condition: string,
  ) {
    super(`conditional write of '${key}' refused (${condition}): another writer got there first`);
    this.name = 'PreconditionFailedError';
  }
}

export async function getJsonIfExists<T>(store: ObjectStore, key: string): Promise<{ value: T; etag: string } | null> {
  const found = await store.getIfExists(key);
  if (!found) return null;
  return { value: JSON.parse(found.body.toString('utf8')) as T, etag: found.etag };
}

export function putJson(store: ObjectStore, key: string, value: unknown, options: PutOptions = {}): Promise<{ etag: string }> {
  return store.put(key, JSON.stringify(value, null, 2) + '\n', { contentType: 'application/json', ...options });
}

/**
 * An object whose bytes must be the ones recorded when it was written
 * (content-addressed snapshots and specs, version artifacts): refused with
 * ChecksumMismatchError when they are not.
 */
export async function getVerified(store: ObjectStore, key: string, expectedSha256: string): Promise<Buffer> {
  const body = await store.get(key);
  const actual = sha256(body);
  if (actual !== expectedSha256) throw new ChecksumMismatchError(key, expectedSha256, actual);
  return body;
}

/** Deletes every object under a prefix (a run's staging or checkpoints, a version being unregistered); returns how many. */
export async function deletePrefix(store: ObjectStore, prefix: string): Promise<number> {
  const objects = await store.list(prefix);
  for (const o of objects) await store.delete(o.key);
  return objects.length;
}
