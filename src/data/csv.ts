import { parse } from 'csv-parse/sync';
import { quoteValue } from '../errors';
import { DataError, type Cell, type RawTable, type RowError } from './table';
import { cleanText, decodeText } from './text';

export interface ParseOptions {
  /** 'collect' keeps unreadable rows as rowErrors; 'throw' stops at the first one. */
  onRowError?: 'collect' | 'throw';
}

/**
 * The 1-based line where the record at byte `offset` starts (blank lines and
 * leading spaces before it skipped). Offsets only grow, so the file is scanned once.
 */
function lineCounter(bytes: Buffer, newline: number): (offset: number) => number {
  let counted = 0;
  let lines = 1;
  return (offset) => {
    for (let at = bytes.indexOf(newline, counted); at >= 0 && at < offset; at = bytes.indexOf(newline, at + 1)) lines += 1;
    counted = Math.max(counted, offset);
    let line = lines;
    for (let at = offset; at < bytes.length && (bytes[at] === 0x20 || bytes[at] === 0x09 || bytes[at] === 0x0a || bytes[at] === 0x0d); at++) {
      if (bytes[at] === newline) line += 1;
    }
    return line;
  };
}

/** What csv-parse found, in a user's words, with the column when it knows it; never the raw field. */
function csvProblem(error: unknown, header: string[] | undefined): { reason: string; column?: string } {
  const e = error as { code?: string; message?: string; column?: number; field?: string };
  const column = header && typeof e.column === 'number' ? header[e.column] : undefined;
  const fix = 'quote the whole field and double the quotes inside it ("")';
  switch (e.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return { reason: `a quoted field starts here and is never closed (a '"' without its closing '"')` };
    case 'INVALID_OPENING_QUOTE':
      return { reason: `a '"' inside the unquoted field ${quoteValue(e.field ?? '')}: ${fix}`, column };
    case 'CSV_INVALID_CLOSING_QUOTE':
      return { reason: `text after the closing '"' of a quoted field: ${fix}`, column };
    default:
      return { reason: cleanText(e.message ?? String(error)), column };
  }
}

/**
 * Reads CSV with a header line (UTF-8; a byte order mark is dropped). Empty
 * cells become null. A row with the wrong number of fields is a row error
 * naming its line, never silently padded.
 */
export function parseCsv(text: string | Buffer, source: string, options: ParseOptions = {}): RawTable {
  const content = decodeText(text, source);
  if (content.trim() === '') throw new DataError('the file is empty (no header, no rows)', { source });
  // Line ends are named, not detected: csv-parse's detection takes seconds when the first line is long.
  const crOnly = !content.includes('\n') && content.includes('\r');
  // csv-parse reports where each record ends in UTF-8 bytes; users count lines from where a record starts.
  const lineOf = lineCounter(Buffer.from(content), crOnly ? 0x0d : 0x0a);
  const records: { record: string[]; line: number }[] = [];
  let start = 0;
  try {
    parse(content, {
      record_delimiter: crOnly ? ['\r'] : ['\r\n', '\n'],
      relax_column_count: true,
      skip_empty_lines: true,
      bom: true,
      trim: true,
      on_record: (record: string[], context) => {
        records.push({ record, line: lineOf(start) });
        start = context.bytes;
        return null;
      },
    });
  } catch (error) {
    const { reason, column } = csvProblem(error, records[0]?.record);
    throw new DataError(`not valid CSV: ${reason}`, { source, row: lineOf(start), column });
  }
  const header = records[0]!.record;
  const seen = new Set<string>();
  for (const name of header) {
    if (seen.has(name)) throw new DataError(`the header names column ${quoteValue(name)} twice`, { source, row: 1 });
    seen.add(name);
  }
  const table: RawTable = { source, columns: header, rows: [], rowNumbers: [], rowErrors: [] };
  for (let i = 1; i < records.length; i++) {
    const { record, line } = records[i]!;
    if (record.length !== header.length) {
      const error: RowError = { source, row: line, reason: `expected ${header.length} fields, found ${record.length}` };
      if (options.onRowError === 'throw') throw new DataError(error.reason, error);
      table.rowErrors.push(error);
      continue;
    }
    table.rows.push(record.map((value): Cell => (value === '' ? null : value)));
    table.rowNumbers.push(line);
  }
  return table;
}

/** Writes a table as CSV (RFC 4180 quoting), header first. */
export function formatCsv(columns: string[], rows: Cell[][]): string {
  const quote = (cell: Cell): string => {
    if (cell === null) return '';
    const text = String(cell);
    // Quote what the reader would otherwise change: separators, quotes, line breaks, edge spaces.
    return /[",\n\r]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
  };
  const lines = [columns.map(quote).join(',')];
  for (const row of rows) lines.push(row.map(quote).join(','));
  return lines.join('\n') + '\n';
}
