/**
 * A checkpoint as one byte blob, to write to a store between activity
 * attempts (heartbeat the key, not the bytes). Layout:
 *   'PCKP' | u32 version (1) | u32 header length | header JSON (utf-8) | model weights | optimizer weights
 * The header holds everything but the binary parts, and their byte lengths.
 */
import type { Checkpoint } from './mlp';

const MAGIC = 0x504b4350; // 'PCKP' little-endian

interface Header extends Omit<Checkpoint, 'model' | 'optimizer'> {
  modelJson: string;
  weightsBytes: number;
  optimizer: { name: string; shape: number[]; length: number }[];
}

export function checkpointToBytes(cp: Checkpoint): Uint8Array {
  const { model, optimizer, ...rest } = cp;
  const header: Header = {
    ...rest,
    modelJson: model.modelJson,
    weightsBytes: model.weights.byteLength,
    optimizer: optimizer.map((o) => ({ name: o.name, shape: o.shape, length: o.data.length })),
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerEnd = 12 + json.byteLength;
  const weightsEnd = headerEnd + model.weights.byteLength;
  const pad = (4 - (weightsEnd % 4)) % 4; // align the float32 optimizer data
  const total = weightsEnd + pad + optimizer.reduce((s, o) => s + o.data.byteLength, 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, 1, true);
  view.setUint32(8, json.byteLength, true);
  out.set(json, 12);
  out.set(model.weights, headerEnd);
  let o = weightsEnd + pad;
  for (const w of optimizer) {
    out.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), o);
    o += w.data.byteLength;
  }
  return out;
}

export function checkpointFromBytes(input: Uint8Array): Checkpoint {
  // A Node Buffer's slice() is a view into a shared pool, not a copy: read through a plain Uint8Array.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  if (bytes.byteLength < 12) throw new Error(`checkpoint bytes: ${bytes.byteLength} bytes is too short to be a checkpoint`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) throw new Error("checkpoint bytes: not a perennial checkpoint (no 'PCKP' magic)");
  const version = view.getUint32(4, true);
  if (version !== 1) throw new Error(`checkpoint bytes: version ${version} is not supported (this code reads version 1)`);
  const headerLength = view.getUint32(8, true);
  const headerEnd = 12 + headerLength;
  if (headerEnd > bytes.byteLength) throw new Error('checkpoint bytes: truncated header');
  const { modelJson, weightsBytes, optimizer, ...rest } = JSON.parse(new TextDecoder().decode(bytes.subarray(12, headerEnd))) as Header;
  const weightsEnd = headerEnd + weightsBytes;
  let o = weightsEnd + ((4 - (weightsEnd % 4)) % 4);
  const expected = o + optimizer.reduce((s, w) => s + w.length * 4, 0);
  if (expected !== bytes.byteLength) throw new Error(`checkpoint bytes: ${bytes.byteLength} bytes, the header describes ${expected} (truncated or corrupt)`);
  const weights = bytes.slice(headerEnd, weightsEnd);
  const opt = optimizer.map((w) => {
    const data = new Float32Array(bytes.slice(o, o + w.length * 4).buffer);
    o += w.length * 4;
    return { name: w.name, shape: w.shape, data };
  });
  return { ...rest, model: { modelJson, weights }, optimizer: opt };
}
