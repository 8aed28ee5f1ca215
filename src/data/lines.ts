/**
 * Where records start in a text file, as a user counts lines: found by one
 * pass over the (decompressed) bytes, and only when an error needs a line
 * number (the clean path never reads the file twice). CSV records may span lines inside quotes; blank lines are not
 * records.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface RecordStarts {
  /** 1-based line where record k starts (the header, for CSV, is record 0). */
  lines: Int32Array;
  /** Byte offset (in the decompressed text, BOM included) where record k starts. */
  bytes: Float64Array;
  /** Byte offset just past record k's line end (blank lines after it are not part of it). */
  ends: Float64Array;
  /** Fields in record k (CSV: commas outside quotes, plus one). */
  fields: Int32Array;
  count: number;
  /** The file ends inside a quoted field: the last record's quote is never closed. */
  openQuote: boolean;
}

function grow<T extends Int32Array | Float64Array>(array: T, size: number): T {
  if (size <= array.length) return array;
  const bigger = new (array.constructor as new (n: number) => T)(Math.max(size, array.length * 2));
  bigger.set(array);
  return bigger;
}

/** Scans a file for record starts; `quoted` makes '"' toggle a quoted section (CSV) where newlines do not end a record. */
export function scanRecordStarts(path: string, options: { quoted: boolean; newline?: number }): RecordStarts {
  return scanRecords(readText(path), options);
}

/** A file's bytes, gunzipped when it is named .gz. */
export function readText(path: string): Buffer {
  const raw = readFileSync(path);
  return /\.gz$/i.test(path) ? gunzipSync(raw) : raw;
}

/** Record starts in bytes already read. */
export function scanRecords(text: Buffer, options: { quoted: boolean; newline?: number }): RecordStarts {
  const newline = options.newline ?? 0x0a;
  let lines = new Int32Array(1024);
  let bytes = new Float64Array(1024);
  let ends = new Float64Array(1024);
  let fields = new Int32Array(1024);
  let count = 0;
  let commas = 0;
  let line = 1;
  let offset = 0;
  let inQuote = false;
  let blank = true;
  let recordLine = 1;
  let recordByte = 0;
  const push = (end: number) => {
    lines = grow(lines, count + 1);
    bytes = grow(bytes, count + 1);
    ends = grow(ends, count + 1);
    fields = grow(fields, count + 1);
    lines[count] = recordLine;
    bytes[count] = recordByte;
    ends[count] = end;
    fields[count] = commas + 1;
    count += 1;
  };
  for (const chunk of [text]) {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      if (b === 0x22 && options.quoted) {
        inQuote = !inQuote;
        blank = false;
      } else if (b === newline) {
        line += 1;
        if (!inQuote) {
          if (!blank) push(offset + i + 1);
          recordLine = line;
          recordByte = offset + i + 1;
          blank = true;
          commas = 0;
        }
      } else if (b === 0x2c && options.quoted && !inQuote) {
        commas += 1;
        blank = false;
      } else if (blank) {
        // Whitespace only (a byte order mark, tabs, no-break spaces...) is a blank line, as the old readers had it.
        const w = whitespaceAt(chunk, i);
        if (w > 0) i += w - 1;
        else blank = false;
      }
    }
    offset += chunk.length;
  }
  if (!blank) push(text.length);
  return { lines, bytes, ends, fields, count, openQuote: inQuote };
}

/** The record (index into `starts`) that holds byte `position`: the last one starting at or before it. */
export function recordAt(starts: RecordStarts, position: number): number {
  let lo = 0;
  let hi = starts.count - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts.bytes[mid]! <= position) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Whitespace as the old readers had it (csv-parse's `trim` around unquoted
 * values, String.trim for a missing value): JavaScript's \s, tabs and
 * no-break spaces included.
 */
export const WHITESPACE = '\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff';
const WHITESPACE_BYTES = [...WHITESPACE].map((c) => Buffer.from(c, 'utf8'));

/** Bytes of the whitespace character at `i` (0 when there is none). */
function whitespaceAt(text: Buffer, i: number): number {
  const b = text[i]!;
  if (b === 0x20 || (b >= 0x09 && b <= 0x0d)) return 1;
  if (b < 0xc2) return 0;
  for (const w of WHITESPACE_BYTES) {
    if (w.length > 1 && w[0] === b && w[1] === text[i + 1] && (w.length === 2 || w[2] === text[i + 2])) return w.length;
  }
  return 0;
}

/** A quoting mistake the CSV reader refuses, where it is. */
export interface QuoteProblem {
  /** stray: a '"' inside an unquoted field; afterQuote: text after a closing '"'; unclosed: a quote never closed. */
  kind: 'stray' | 'afterQuote' | 'unclosed';
  /** The line where the record starts. */
  line: number;
  /** 0-based field of the record (not known for 'unclosed'). */
  field?: number;
  /** stray: the field's text before the '"' (left-trimmed). */
  prefix?: string;
}

export interface QuotingScan {
  /** The first quoting mistake, in file order (the scan stops there). */
  problem?: QuoteProblem;
  /**
   * The text with the whitespace around every field left out, CRLF line ends
   * made LF: RFC 4180 that DuckDB reads to the values the old reader gave,
   * with no trim needed (csv-parse skips whitespace around quotes; DuckDB
   * keeps it, and may read ` "a,b" ` as two unquoted fields; DuckDB refuses a
   * file of CRLF and LF lines, csv-parse reads it). Undefined when there is
   * nothing to leave out.
   */
  normalized?: Buffer;
  /** Whitespace other than the CR of a line end was left out: DuckDB's values from the file itself are not the old reader's. */
  trimmed: boolean;
  /** Some record has not as many fields as the header (DuckDB takes a last empty one for a trailing comma, the old reader did not). */
  ragged: boolean;
}

const QUOTE = 0x22;
const COMMA = 0x2c;
/** Where scanQuoting is inside a field. */
const State = { Start: 0, Unquoted: 1, Quoted: 2, AfterQuote: 3 } as const;
type State = (typeof State)[keyof typeof State];

/**
 * Reads CSV quoting the way RFC 4180 and the old reader (csv-parse, `trim`)
 * do: a field is quoted when its first character after whitespace is '"';
 * inside it '""' is a '"'; after its closing '"' only whitespace may come
 * before the ',' or the line end. Stops at the first quoting mistake. One pass
 * over bytes already read; lines counted as scanRecords counts them, and no
 * LF is ever left out of `normalized` (its records are on the same lines).
 */
export function scanQuoting(text: Buffer, options: { newline: number }): QuotingScan {
  const newline = options.newline;
  let state: State = State.Start;
  let line = 1;
  let recordLine = 1;
  let blank = true;
  let field = 0;
  let fieldStart = 0;
  let valueEnd = 0;
  let spaceStart = -1;
  let contentEnd = 0;

  // `normalized`, written only from the first byte left out: the bytes before `from` are copied (or left out).
  let out: Buffer | undefined;
  let written = 0;
  let from = 0;
  let trimmed = false;
  const leaveOut = (start: number, end: number) => {
    if (end <= start) return;
    if (!(end === start + 1 && text[start] === 0x0d && text[end] === newline)) trimmed = true;
    out ??= Buffer.allocUnsafe(text.length);
    // Short runs byte by byte: a native copy costs more than the bytes it moves.
    if (start - from < 64) for (let k = from; k < start; k++) out[written++] = text[k]!;
    else written += text.copy(out, written, from, start);
    from = end;
  };
  const endQuoted = (end: number) => leaveOut(contentEnd + 1, end);
  let headerFields = -1;
  let ragged = false;
  const countFields = () => {
    if (blank) return;
    if (headerFields < 0) headerFields = field + 1;
    else if (field + 1 !== headerFields) ragged = true;
  };
  const endRecord = () => {
    countFields();
    blank = true;
    recordLine = line;
    field = 0;
    state = State.Start;
    spaceStart = -1;
  };
  const nextField = () => {
    field += 1;
    state = State.Start;
    spaceStart = -1;
  };

  for (let i = 0; i < text.length; i++) {
    const b = text[i]!;
    if (b === newline) line += 1;
    // As scanRecords: a line of whitespace only is no record (a multi-byte space is skipped whole below, in State.Start).
    if (blank && b !== newline && whitespaceAt(text, i) === 0) blank = false;
    switch (state) {
      case State.Start: {
        if (b === newline || b === COMMA) {
          // A field of whitespace only.
          if (spaceStart >= 0) leaveOut(spaceStart, i);
          if (b === newline) endRecord();
          else nextField();
        } else if (b === QUOTE) {
          if (spaceStart >= 0) leaveOut(spaceStart, i);
          state = State.Quoted;
        } else {
          const w = whitespaceAt(text, i);
          if (w > 0) {
            if (spaceStart < 0) spaceStart = i;
            i += w - 1;
          } else {
            if (spaceStart >= 0) leaveOut(spaceStart, i);
            state = State.Unquoted;
            fieldStart = i;
            valueEnd = i + 1;
          }
        }
        break;
      }
      case State.Unquoted:
        if (b === newline) {
          leaveOut(valueEnd, i);
          endRecord();
        } else if (b === COMMA) {
          leaveOut(valueEnd, i);
          nextField();
        } else if (b === QUOTE) {
          return { problem: { kind: 'stray', line: recordLine, field, prefix: text.subarray(fieldStart, i).toString('utf8') }, trimmed, ragged };
        } else if (b <= 0x20 || b >= 0xc2) {
          const w = whitespaceAt(text, i);
          if (w > 0) i += w - 1;
          else valueEnd = i + 1;
        } else valueEnd = i + 1;
        break;
      case State.Quoted:
        if (b === QUOTE) {
          if (text[i + 1] === QUOTE) i += 1;
          else {
            contentEnd = i;
            state = State.AfterQuote;
          }
        }
        break;
      case State.AfterQuote: {
        if (b === newline || b === COMMA) {
          endQuoted(i);
          if (b === newline) endRecord();
          else nextField();
          break;
        }
        const w = whitespaceAt(text, i);
        if (w === 0) return { problem: { kind: 'afterQuote', line: recordLine, field }, trimmed, ragged };
        i += w - 1;
        break;
      }
    }
  }
  if (state === State.Quoted) return { problem: { kind: 'unclosed', line: recordLine }, trimmed, ragged };
  if (state === State.AfterQuote) endQuoted(text.length);
  else if (state === State.Unquoted) leaveOut(valueEnd, text.length);
  else if (spaceStart >= 0) leaveOut(spaceStart, text.length);
  countFields();
  if (!out) return { trimmed, ragged };
  written += text.copy(out, written, from, text.length);
  return { normalized: out.subarray(0, written), trimmed, ragged };
}
