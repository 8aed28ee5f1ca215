/**
 * The payload codec: AES-256-GCM over every payload a client or worker sends
 * to Temporal (workflow and activity inputs and results, signals, queries,
 * updates, heartbeats, summaries, failure details), so what the server stores
 * is ciphertext. Each encrypted payload carries the id of its key, so a key can
 * be rotated: a new key encrypts, the old ones still decrypt.
 *
 * An encrypted payload: metadata `encoding: binary/encrypted` and
 * `encryption-key-id: <id>`; data `iv (12 bytes) | ciphertext | tag (16 bytes)`
 * over the original payload serialized as a `temporal.api.common.v1.Payload`
 * protobuf, with the key id as additional authenticated data (a payload
 * relabelled with another key id does not decrypt). Payloads that are not
 * encrypted (histories from before encryption was turned on) decode as they are.
 */
import { createCipheriv, createDecipheriv, randomBytes, type KeyObject } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { CodecKey } from '../config';
import { quoteValue } from '../errors';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const ProtoPayload = proto.temporal.api.common.v1.Payload;

export class EncryptionCodec implements PayloadCodec {
  private readonly keys: Map<string, KeyObject>;
  private readonly current: CodecKey;

  /** `keys[0]` encrypts; every key decrypts. */
  constructor(keys: readonly CodecKey[]) {
    if (!keys[0]) throw new Error('the payload codec needs at least one key');
    this.current = keys[0];
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key new payloads are encrypted with. */
  get keyId(): string {
    return this.current.id;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.encrypt(payload));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return payloads.map((payload) => this.decrypt(payload));
  }

  private encrypt(payload: Payload): Payload {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(this.current.id));
    const plaintext = ProtoPayload.encode(payload).finish();
    const data = Buffer.concat([iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return {
      metadata: { encoding: Buffer.from(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: Buffer.from(this.current.id) },
      data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }

  private decrypt(payload: Payload): Payload {
    const encoding = payload.metadata?.encoding;
    if (!encoding || Buffer.from(encoding).toString() !== ENCRYPTED_ENCODING) return payload;
    const rawId = payload.metadata?.[KEY_ID_METADATA];
    if (!rawId) throw new Error(`an encrypted payload has no '${KEY_ID_METADATA}' metadata: cannot tell which key decrypts it`);
    const id = Buffer.from(rawId).toString();
    const key = this.keys.get(id);
    if (!key) {
      throw new Error(
        `a payload is encrypted with key ${quoteValue(id, 40)}, which is not among the configured keys (${[...this.keys.keys()].map((k) => `'${k}'`).join(', ')}): ` +
          `list it in PERENNIAL_CODEC_KEYS after the current key`,
      );
    }
    const data = payload.data ?? new Uint8Array();
    if (data.length < IV_BYTES + TAG_BYTES) throw new Error(`a payload encrypted with key '${id}' is too short to be one (${data.length} bytes)`);
    const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(id));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new Error(`a payload encrypted with key '${id}' does not authenticate: it was altered, or key '${id}' is not the key it was encrypted with`);
    }
    return ProtoPayload.decode(plaintext);
  }
}
