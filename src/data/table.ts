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

export { DataError } from '../errors';
