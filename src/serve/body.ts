/**
 * Reading an inference request body: JSON, optionally followed by raw tensor
 * bytes (Triton's binary tensor extension, which tritonclient uses by default:
 * the JSON header's length is in the Inference-Header-Content-Length header).
 * Python's json module writes NaN and Infinity as bare words, which JSON.parse
 * refuses; they are read as markers so a NaN is a missing value where the
 * model allows one and a named error where it does not, not "invalid JSON".
 */
import { badRequest } from './errors';

/** A non-finite number the client wrote as a bare NaN / Infinity / -Infinity. */
export const NON_FINITE = '\u0000perennial-non-finite:';

export function nonFiniteOf(value: unknown): 'NaN' | 'Infinity' | '-Infinity' | undefined {
  if (typeof value === 'string' && value.startsWith(NON_FINITE)) return value.slice(NON_FINITE.length) as 'NaN' | 'Infinity' | '-Infinity';
  if (typeof value === 'number' && !Number.isFinite(value)) return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
  return undefined;
}

const BARE_WORDS = ['-Infinity', 'Infinity', 'NaN'] as const;

/** Rewrites bare NaN/Infinity outside strings as marker strings (only tried once JSON.parse has refused the text). */
function markNonFinite(text: string): string {
  let out = '';
  let inString = false;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      continue;
    }
    const word = BARE_WORDS.find((w) => text.startsWith(w, i));
    if (word) {
      out += text.slice(from, i) + JSON.stringify(NON_FINITE + word);
      i += word.length - 1;
      from = i + 1;
    }
  }
  return out + text.slice(from);
}

export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw badRequest('the request body is empty; send a JSON inference request');
  try {
    return JSON.parse(text);
  } catch (error) {
    try {
      return JSON.parse(markNonFinite(text));
    } catch {
      throw badRequest(`the request body is not valid JSON: ${(error as Error).message}`);
    }
  }
}

/**
 * The JSON part and the binary part of a body. `headerLength` is the
 * Inference-Header-Content-Length header (absent: the whole body is JSON).
 */
export function splitInferBody(raw: Buffer, headerLength: string | string[] | undefined): { json: unknown; binary?: Buffer } {
  if (headerLength === undefined) return { json: parseJsonBody(raw.toString('utf8')) };
  const length = Number(Array.isArray(headerLength) ? headerLength[0] : headerLength);
  if (!Number.isInteger(length) || length < 0 || length > raw.length) {
    throw badRequest(`Inference-Header-Content-Length is ${String(headerLength)}, not a byte count within the ${raw.length}-byte body`);
  }
  return { json: parseJsonBody(raw.subarray(0, length).toString('utf8')), binary: raw.subarray(length) };
}

const NUMERIC_BYTES: Record<string, number> = {
  BOOL: 1,
  UINT8: 1,
  UINT16: 2,
  UINT32: 4,
  UINT64: 8,
  INT8: 1,
  INT16: 2,
  INT32: 4,
  INT64: 8,
  FP32: 4,
  FP64: 8,
};

/** The elements of one binary tensor (little-endian; BYTES: each a 4-byte length then the bytes). */
export function decodeBinaryTensor(name: string, datatype: string, bytes: Buffer): (number | string | boolean)[] {
  const out: (number | string | boolean)[] = [];
  if (datatype === 'BYTES') {
    for (let o = 0; o < bytes.length;) {
      if (o + 4 > bytes.length) throw badRequest(`input '${name}': binary BYTES data ends inside an element's 4-byte length`);
      const n = bytes.readUInt32LE(o);
      if (o + 4 + n > bytes.length) throw badRequest(`input '${name}': binary BYTES element of ${n} bytes runs past binary_data_size`);
      out.push(bytes.toString('utf8', o + 4, o + 4 + n));
      o += 4 + n;
    }
    return out;
  }
  const size = NUMERIC_BYTES[datatype];
  if (size === undefined)
    throw badRequest(`input '${name}': datatype ${datatype} is not supported in binary form (use BOOL, INT*, UINT*, FP32, FP64 or BYTES)`);
  if (bytes.length % size !== 0) throw badRequest(`input '${name}': ${bytes.length} bytes of binary data is not a whole number of ${datatype} elements`);
  for (let o = 0; o < bytes.length; o += size) {
    switch (datatype) {
      case 'BOOL':
        out.push(bytes[o] !== 0);
        break;
      case 'UINT8':
        out.push(bytes.readUInt8(o));
        break;
      case 'UINT16':
        out.push(bytes.readUInt16LE(o));
        break;
      case 'UINT32':
        out.push(bytes.readUInt32LE(o));
        break;
      case 'UINT64':
        out.push(Number(bytes.readBigUInt64LE(o)));
        break;
      case 'INT8':
        out.push(bytes.readInt8(o));
        break;
      case 'INT16':
        out.push(bytes.readInt16LE(o));
        break;
      case 'INT32':
        out.push(bytes.readInt32LE(o));
        break;
      case 'INT64':
        out.push(Number(bytes.readBigInt64LE(o)));
        break;
      case 'FP32':
        out.push(bytes.readFloatLE(o));
        break;
      case 'FP64':
        out.push(bytes.readDoubleLE(o));
        break;
    }
  }
  return out;
}
