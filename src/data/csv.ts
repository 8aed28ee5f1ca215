import { parse } from 'csv-parse/sync';
import { DataError, type Cell, type RawTable, type RowError } from './table';

export interface ParseOptions {
  /** 'collect' keeps unreadable rows as rowErrors; 'throw' stops at the first one. */
  onRowError?: 'collect' | 'throw';
}

/**
 * Reads CSV with a header line. Empty cells become null. A row with the wrong
 * number of fields is a row error naming its line, never silently padded.
 */
export function parseCsv(text: string | Buffer, source: string, options: ParseOptions = {}): RawTable {
  const content = typeof text === 'string' ? text : text.toString('utf8');
  if (content.trim() === '') throw new DataError('the file is empty (no header, no rows)', { source });
  let records: { record: string[]; raw: string; info: { lines: number } }[];
  try {
    records = parse(content, { relax_column_count: true, skip_empty_lines: true, info: true, raw: true, bom: true, trim: true }) as never;
  } catch (error) {
    const e = error as { lines?: number; message: string };
    throw new DataError(`not valid CSV: ${e.message}`, { source, row: e.lines });
  }
  const header = records[0]!.record;
  const duplicate = header.find((name, i) => header.indexOf(name) !== i);
  if (duplicate !== undefined) throw new DataError(`the header names column '${duplicate}' twice`, { source, row: 1 });
  const table: RawTable = { source, columns: header, rows: [], rowNumbers: [], rowErrors: [] };
  for (let i = 1; i < records.length; i++) {
    const { record, raw, info } = records[i]!;
    // info.lines is where the record ends; a quoted field may span lines, and users count from where it starts.
    const body = raw.replace(/^(\r?\n)+/, '').replace(/\r?\n$/, '');
    const line = info.lines - (body.match(/\n/g)?.length ?? 0);
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
