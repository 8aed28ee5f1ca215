/**
 * Bad inputs a careful user tries, as bytes, shared by the unit tests
 * (test/unit/data/bad-input.test.ts) and the integration test on S3
 * (test/integration/bad-input.test.ts). Built in code, not stored, so each
 * one says what is wrong with it.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A real Parquet file (columns x: double, y: double, color: string, level: int64; 300 rows). */
export const PARQUET_FIXTURE = fileURLToPath(new URL('../../fixtures/drift/cli/cur_shift.parquet', import.meta.url));

export function parquetBytes(): Buffer {
  return readFileSync(PARQUET_FIXTURE);
}

/** Bytes no text editor wrote: a fixed pseudo-random sequence with NUL bytes in it (a zip, an image...). */
export function binaryBytes(length = 4096): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7919 + 13) % 256;
  return bytes;
}

/** Text as Windows' "Unicode" (UTF-16 LE) or UTF-16 BE, each with its byte order mark. */
export function utf16(text: string, order: 'le' | 'be'): Buffer {
  const body = Buffer.from(text, 'utf16le');
  if (order === 'be') body.swap16();
  return Buffer.concat([Buffer.from(order === 'le' ? [0xff, 0xfe] : [0xfe, 0xff]), body]);
}

/** Text saved as Latin-1: 'é' is the single byte 0xE9, not UTF-8. */
export function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/** The Parquet fixture with its pages overwritten: the footer still reads, the data does not. */
export function damagedParquet(): Buffer {
  const bytes = parquetBytes();
  bytes.fill(0xff, 100, 2000);
  return bytes;
}

/** The first half of the Parquet fixture, as an interrupted upload leaves it. */
export function truncatedParquet(): Buffer {
  const bytes = parquetBytes();
  return bytes.subarray(0, Math.floor(bytes.length / 2));
}

/** A field of `size` characters: large enough that quoting it whole in an error would be a disaster. */
export function hugeField(size = 10_000_000): string {
  return 'z'.repeat(size);
}

/** Characters that must never reach a terminal raw from an error: C0 controls (newline and tab included), DEL, C1 controls. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const RAW_CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
