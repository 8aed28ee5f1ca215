import {
  CreateBucketCommand,
  DeleteObjectCommand,
  HeadBucketCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import type { PerennialConfig } from '../config';
import { ObjectNotFoundError, PreconditionFailedError, StoreError, type ObjectInfo, type ObjectStore, type PutOptions } from './object-store';

function isStatus(error: unknown, ...codes: number[]): boolean {
  return error instanceof S3ServiceException && codes.includes(error.$metadata.httpStatusCode ?? 0);
}

/** The real store: any S3-compatible server (Versity S3 Gateway here, AWS S3 in production). */
export class S3Store implements ObjectStore {
  readonly description: string;
  constructor(
    readonly client: S3Client,
    readonly bucket: string,
    private readonly endpoint = 'aws',
    /** The setting that names this bucket (a hint in errors); null for a bucket a spec names. */
    private readonly bucketSetting: string | null = 'S3_BUCKET',
  ) {
    this.description = `s3://${bucket} (${endpoint})`;
  }

  static fromConfig(config: PerennialConfig): S3Store {
    const { s3 } = config;
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: s3.forcePathStyle,
      credentials: s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined,
      // Checksums on every request are for AWS; S3-compatible servers vary in support.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    return new S3Store(client, s3.bucket, s3.endpoint ?? 'aws');
  }

  inBucket(bucket: string): S3Store {
    return new S3Store(this.client, bucket, this.endpoint, null);
  }

  /** Creates the bucket when it does not exist yet (a test bucket, a new deployment). Idempotent. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (error) {
      if (!isStatus(error, 404) && (error as Error).name !== 'NotFound' && (error as Error).name !== 'NoSuchBucket')
        throw this.explain(error, 'checking the bucket');
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (error) {
      const name = (error as Error).name;
      if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw this.explain(error, 'creating the bucket');
    }
  }

  async get(key: string): Promise<Buffer> {
    const found = await this.getIfExists(key);
    if (!found) throw new ObjectNotFoundError(key, this.description);
    return found.body;
  }

  async getIfExists(key: string): Promise<{ body: Buffer; etag: string } | null> {
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = await response.Body!.transformToByteArray();
      return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: response.ETag ?? '' };
    } catch (error) {
      if (isStatus(error, 404) || (error as Error).name === 'NoSuchKey') return null;
      throw this.explain(error, `reading ${key}`);
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, etag: r.ETag ?? '', lastModified: r.LastModified };
    } catch (error) {
      if (isStatus(error, 404) || (error as Error).name === 'NotFound') return null;
      throw this.explain(error, `checking ${key}`);
    }
  }

  async put(key: string, body: Buffer | string, options: PutOptions = {}): Promise<{ etag: string }> {
    try {
      const r = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
          ContentType: options.contentType,
          IfNoneMatch: options.ifNoneMatch ? '*' : undefined,
          IfMatch: options.ifMatch,
        }),
      );
      return { etag: r.ETag ?? '' };
    } catch (error) {
      if (isStatus(error, 412, 409) && (options.ifNoneMatch || options.ifMatch)) {
        throw new PreconditionFailedError(key, options.ifNoneMatch ? 'it already exists' : `its ETag is no longer ${options.ifMatch}`);
      }
      throw this.explain(error, `writing ${key}`);
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      let r;
      try {
        r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (error) {
        throw this.explain(error, `listing ${prefix}`);
      }
      for (const o of r.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? '', lastModified: o.LastModified });
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (error) {
      if (isStatus(error, 404)) return;
      throw this.explain(error, `deleting ${key}`);
    }
  }

  private explain(error: unknown, doing: string): StoreError {
    const e = error as Error & { code?: string };
    if (e.code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String(e.message)) || e.name === 'TimeoutError') {
      return new StoreError(`S3 at ${this.description} does not answer while ${doing}: start it with 'npm run services' or set S3_ENDPOINT`, 'Unreachable');
    }
    if (e.name === 'NoSuchBucket') {
      return new StoreError(
        `bucket '${this.bucket}' does not exist at ${this.description}: create it${this.bucketSetting ? ` or set ${this.bucketSetting}` : ''}`,
        e.name,
      );
    }
    return new StoreError(`S3 error while ${doing} in ${this.description}: ${e.name}: ${e.message}`, e.name);
  }
}
