/**
 * Published specs. A spec is stored by the sha256 of its bytes
 * (models/<model>/specs/<sha256>.json, create-once), and models/<model>/spec.json
 * is a copy of the one in force. A run reads the spec in force once, at ingest,
 * and from then on refers to it by hash: publishing a new spec while a run is
 * in flight never changes the spec that run's version records.
 */
import { SpecError, SpecNotFoundError } from '../errors';
import { getVerified, keys, PreconditionFailedError, sha256, type ObjectStore } from '../store';
import { parseModelSpec, type ModelSpec } from './model-spec';

export { SpecNotFoundError };

export interface PublishedSpec {
  spec: ModelSpec;
  /** The immutable, content-addressed copy. */
  key: string;
  sha256: string;
}

function specBytes(spec: ModelSpec): Buffer {
  return Buffer.from(JSON.stringify(spec, null, 2) + '\n');
}

/** Stores bytes under their content key once (create-once); a second writer of the same bytes changes nothing. */
async function putContentAddressed(store: ObjectStore, key: string, body: Buffer): Promise<void> {
  try {
    await store.put(key, body, { contentType: 'application/json', ifNoneMatch: true });
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error; // same key, same bytes: someone else stored it
  }
}

/** Makes a (validated) spec the model's spec in force, kept by content hash for the versions trained with it. */
export async function publishSpec(store: ObjectStore, spec: ModelSpec): Promise<PublishedSpec> {
  const body = specBytes(spec);
  const sha = sha256(body);
  const key = keys.publishedSpec(spec.name, sha);
  await putContentAddressed(store, key, body);
  await store.put(keys.spec(spec.name), body, { contentType: 'application/json' });
  return { spec, key, sha256: sha };
}

function parseSpecBytes(body: Buffer, where: string): ModelSpec {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new SpecError(where, [`not valid JSON: ${(error as Error).message}`]);
  }
  return parseModelSpec(value, where);
}

/** The model's spec in force, with the sha256 of its bytes and its content-addressed key (recorded in lineage). */
export async function loadPublishedSpec(store: ObjectStore, model: string): Promise<PublishedSpec> {
  const inForce = keys.spec(model);
  const found = await store.getIfExists(inForce);
  if (!found) throw new SpecNotFoundError(model, `${store.description}/${inForce}`);
  const spec = parseSpecBytes(found.body, `${store.description}/${inForce}`);
  const sha = sha256(found.body);
  const key = keys.publishedSpec(model, sha);
  // A spec in force written by hand (or by an older Perennial) gets its content-addressed copy here.
  await putContentAddressed(store, key, found.body);
  return { spec, key, sha256: sha };
}

/** The bytes of a published spec, checked against the hash they are stored under. */
export function readPublishedSpecBytes(store: ObjectStore, model: string, sha: string): Promise<Buffer> {
  return getVerified(store, keys.publishedSpec(model, sha), sha);
}
