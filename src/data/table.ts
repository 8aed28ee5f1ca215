/**
 * A table as read from a file, before any schema is applied: cells keep the
 * value the file gave (CSV: strings; JSONL and Parquet: their JSON types), and
 * every row remembers where it came from so errors can name file and row.
 */

export type Cell = string | number | boolean | null;

export interface RowError {
  /** File or object key the row came from. */
  source: string;
  /** 1-based row number as a user sees it in the file (CSV: the header is line 1). */
  row: number;
  column?: string;
  reason: string;
}

export interface RawTable {
  source: string;
  columns: string[];
  rows: Cell[][];
  /** rowNumbers[i] is the file row of rows[i]. */
  rowNumbers: number[];
  /** Rows that could not be read at all (ragged, not JSON...), kept out of `rows`. */
  rowErrors: RowError[];
}

/** An input problem that names where it is, so a user knows what to fix. */
export class DataError extends Error {
  readonly source: string;
  readonly row?: number;
  readonly column?: string;
  constructor(message: string, where: { source: string; row?: number; column?: string }) {
    const at = [where.source, where.row !== undefined ? `row ${where.row}` : undefined, where.column !== undefined ? `column '${where.column}'` : undefined]
      .filter(Boolean)
      .join(', ');
    super(`${at}: ${message}`);
    this.name = 'DataError';
    this.source = where.source;
    this.row = where.row;
    this.column = where.column;
  }
}

export function columnIndex(table: RawTable, column: string): number {
  const index = table.columns.indexOf(column);
  if (index < 0) {
    throw new DataError(`no column '${column}'; the file has: ${table.columns.join(', ')}`, { source: table.source, column });
  }
  return index;
}

/** Rows as objects keyed by column name (for small tables and for JSON output). */
export function tableToRecords(table: RawTable): Record<string, Cell>[] {
  return table.rows.map((row) => Object.fromEntries(table.columns.map((c, i) => [c, row[i] ?? null])));
}
