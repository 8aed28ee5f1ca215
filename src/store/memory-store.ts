import { createHash } from 'node:crypto';
import { ObjectNotFoundError, PreconditionFailedError, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store';

/** An in-memory ObjectStore with S3's conditional-write rules, for unit tests of pure logic. */
export class MemoryStore implements ObjectStore {
  readonly description = 'memory';
  private readonly objects = new Map<string, { body: Buffer; etag: string; lastModified: Date }>();

  async get(key: string): Promise<Buffer> {
    const o = this.objects.get(key);
    if (!o) throw new ObjectNotFoundError(key, this.description);
    return Buffer.from(o.body);
  }
  async getIfExists(key: string) {
    const o = this.objects.get(key);
    return o ? { body: Buffer.from(o.body), etag: o.etag } : null;
  }
  async head(key: string): Promise<ObjectInfo | null> {
    const o = this.objects.get(key);
    return o ? { key, size: o.body.length, etag: o.etag, lastModified: o.lastModified } : null;
  }
  async put(key: string, body: Buffer | string, options: PutOptions = {}) {
    const existing = this.objects.get(key);
    if (options.ifNoneMatch && existing) throw new PreconditionFailedError(key, 'it already exists');
    if (options.ifMatch && existing?.etag !== options.ifMatch) throw new PreconditionFailedError(key, `its ETag is no longer ${options.ifMatch}`);
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body);
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    this.objects.set(key, { body: bytes, etag, lastModified: new Date() });
    return { etag };
  }
  async list(prefix: string): Promise<ObjectInfo[]> {
    return [...this.objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([key, o]) => ({ key, size: o.body.length, etag: o.etag, lastModified: o.lastModified }));
  }
  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }
}
