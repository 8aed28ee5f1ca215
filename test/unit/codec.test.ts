import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../src/temporal/codec';

function keysOf(spec: string) {
  return loadConfig({ PERENNIAL_CODEC_KEYS: spec }).codecKeys!;
}

const OLD = randomBytes(32).toString('base64');
const NEW = randomBytes(32).toString('base64');
const text = (bytes: Uint8Array | null | undefined) => Buffer.from(bytes ?? new Uint8Array()).toString('utf8');

const originals: Payload[] = [
  defaultPayloadConverter.toPayload({ model: 'weather', columns: ['temp_max'], key: 'models/weather/v3/model.json' }),
  defaultPayloadConverter.toPayload(undefined), // binary/null: metadata only, no data
  defaultPayloadConverter.toPayload(new Uint8Array([0, 1, 2, 255])),
];

describe('EncryptionCodec', () => {
  it('round-trips every kind of payload, and what it encodes is ciphertext labelled with the key id', async () => {
    const codec = new EncryptionCodec(keysOf(`k1:${OLD}`));
    const encoded = await codec.encode(originals);
    for (const payload of encoded) {
      expect(text(payload.metadata!.encoding)).toBe(ENCRYPTED_ENCODING);
      expect(text(payload.metadata![KEY_ID_METADATA])).toBe('k1');
      expect(Object.keys(payload.metadata!)).toEqual(['encoding', KEY_ID_METADATA]);
      for (const plain of ['weather', 'temp_max', 'models/', 'json/plain', 'binary/null']) expect(text(payload.data)).not.toContain(plain);
    }
    const decoded = await codec.decode(encoded);
    expect(decoded.map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(originals.map((p) => defaultPayloadConverter.fromPayload(p)));
    decoded.forEach((p, i) => expect(text(p.metadata!.encoding)).toBe(text(originals[i]!.metadata!.encoding)));
  });

  it('uses a fresh IV each time: the same payload never encrypts to the same bytes', async () => {
    const codec = new EncryptionCodec(keysOf(`k1:${OLD}`));
    const [a] = await codec.encode([originals[0]!]);
    const [b] = await codec.encode([originals[0]!]);
    expect(Buffer.from(a!.data!).equals(Buffer.from(b!.data!))).toBe(false);
  });

  it('refuses an altered payload (ciphertext, IV or tag) and a payload relabelled with another key id', async () => {
    const codec = new EncryptionCodec(keysOf(`k1:${OLD},k2:${NEW}`));
    const [encoded] = await codec.encode([originals[0]!]);
    for (const at of [0, 20, encoded!.data!.length - 1]) {
      const data = Buffer.from(encoded!.data!);
      data[at]! ^= 1;
      await expect(codec.decode([{ ...encoded!, data }])).rejects.toThrow("a payload encrypted with key 'k1' does not authenticate: it was altered");
    }
    const relabelled = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from('k2') } };
    await expect(codec.decode([relabelled])).rejects.toThrow("key 'k2' does not authenticate");
    await expect(codec.decode([{ ...encoded!, data: encoded!.data!.subarray(0, 10) }])).rejects.toThrow('too short');
    const unlabelled = { ...encoded!, metadata: { encoding: encoded!.metadata!.encoding! } };
    await expect(codec.decode([unlabelled])).rejects.toThrow(`no '${KEY_ID_METADATA}' metadata`);
  });

  it('rotates: payloads of the old key decode while it is listed after the new one, which encrypts', async () => {
    const before = new EncryptionCodec(keysOf(`old:${OLD}`));
    const fromBefore = await before.encode(originals);

    const rotated = new EncryptionCodec(keysOf(`new:${NEW},old:${OLD}`));
    expect(rotated.keyId).toBe('new');
    expect((await rotated.decode(fromBefore)).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual(
      originals.map((p) => defaultPayloadConverter.fromPayload(p)),
    );
    const [fresh] = await rotated.encode([originals[0]!]);
    expect(text(fresh!.metadata![KEY_ID_METADATA])).toBe('new');

    // Once the old key is dropped, its payloads fail with a message naming the key id, and no key.
    const after = new EncryptionCodec(keysOf(`new:${NEW}`));
    const error = await after.decode(fromBefore).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).toBe(
      "a payload is encrypted with key 'old', which is not among the configured keys ('new'): list it in PERENNIAL_CODEC_KEYS after the current key",
    );
    expect(error?.message).not.toContain(OLD);
    expect(error?.message).not.toContain(NEW);
  });

  it('decodes payloads that were never encrypted as they are (histories from before encryption)', async () => {
    const codec = new EncryptionCodec(keysOf(`k1:${OLD}`));
    expect(await codec.decode(originals)).toEqual(originals);
  });

  it('quotes a hostile key id from the wire short and printable', async () => {
    const codec = new EncryptionCodec(keysOf(`k1:${OLD}`));
    const [encoded] = await codec.encode([originals[0]!]);
    const hostile = { ...encoded!, metadata: { ...encoded!.metadata, [KEY_ID_METADATA]: Buffer.from(`\u0000${'x'.repeat(10_000)}`) } };
    const error = await codec.decode([hostile]).then(
      () => undefined,
      (e: Error) => e,
    );
    // Escaped and cut: the NUL shows as \u0000, and the key id stops after 40 characters.
    expect(error?.message).toMatch(/^a payload is encrypted with key '\\u0000x{39}'\.\.\. \(10001 characters\), which is not among/);
  });
});
