import { quoteValue } from '../errors';
import { isDateText, toNumber, type FieldSchema, type TableSchema } from './schema';
import type { Cell, RawTable, RowError } from './table';
import { listNames } from './text';

/** A row after validation: numbers are numbers, dates ISO text, categories text, missing null. */
export type TypedRow = Record<string, number | string | null>;

export interface ValidationResult {
  source: string;
  /** Rows that passed, typed. */
  rows: TypedRow[];
  rowNumbers: number[];
  /** Every problem found, row by row (including rows the reader could not read). */
  errors: RowError[];
  /** Row numbers rejected (a row with several problems appears once). */
  rejectedRows: number[];
  /** Problems with the batch as a whole: a missing column, too many missing values. */
  batchErrors: string[];
  /** Columns of the file the schema does not name: neither checked nor kept (the batch itself keeps them). */
  extraColumns: string[];
  /** Missing values per column among the rows read. */
  missing: Record<string, number>;
  rowsRead: number;
}

/** Text NaN, NA... : what other tools write for a missing value. */
const MISSING_MARKERS = new Set(['nan', 'na', 'n/a', '#n/a', 'null', 'none']);

/** Why a cell of a number column is not a number; values are quoted short and escaped (a 10 MB cell makes no 10 MB message). */
function notANumber(cell: Cell): string {
  if (typeof cell === 'number') return `expected a finite number, found ${cell}`;
  const text = String(cell);
  if (typeof cell === 'string' && MISSING_MARKERS.has(text.trim().toLowerCase())) {
    return `expected a number, found ${quoteValue(text)} (leave a missing value empty, or null in JSON)`;
  }
  // '1e400' and 'Infinity' are numbers, but not ones a model can use.
  if (typeof cell === 'string' && Math.abs(Number(text)) === Infinity) return `expected a finite number, found ${quoteValue(text)}`;
  return `expected a number, found ${quoteValue(text)}`;
}

function checkCell(field: FieldSchema, cell: Cell): { value: number | string | null; problem?: string } {
  if (cell === null || cell === undefined || (typeof cell === 'string' && cell.trim() === '')) {
    return field.nullable === false ? { value: null, problem: 'is missing and the schema does not allow it' } : { value: null };
  }
  switch (field.type) {
    case 'number': {
      const value = toNumber(cell);
      if (value === undefined) return { value: null, problem: notANumber(cell) };
      if (field.integer && !Number.isInteger(value)) return { value, problem: `expected a whole number, found ${value}` };
      if (field.min !== undefined && value < field.min) return { value, problem: `${value} is below the minimum ${field.min}` };
      if (field.max !== undefined && value > field.max) return { value, problem: `${value} is above the maximum ${field.max}` };
      return { value };
    }
    case 'category': {
      const value = String(cell);
      if (field.values && !field.values.includes(value)) {
        return { value, problem: `${quoteValue(value)} is not one of the allowed values (${listNames(field.values, 10)})` };
      }
      return { value };
    }
    case 'date': {
      const value = String(cell);
      return isDateText(value) ? { value } : { value: null, problem: `expected a date (YYYY-MM-DD), found ${quoteValue(value)}` };
    }
    case 'string':
      return { value: String(cell) };
  }
}

/** A header read as one column that holds ';' or tabs: a file written with another separator. */
function separatorHint(table: RawTable): string {
  const only = table.columns.length === 1 ? table.columns[0]! : '';
  const separator = [';', '\t', '|'].find((s) => only.includes(s));
  return separator ? `; the header looks separated by ${quoteValue(separator)}, but CSV files here are comma-separated` : '';
}

/**
 * Checks a table against a schema row by row. Nothing is dropped silently:
 * every rejected row is listed with its row number, column and reason.
 */
export function validateTable(table: RawTable, schema: TableSchema): ValidationResult {
  const result: ValidationResult = {
    source: table.source,
    rows: [],
    rowNumbers: [],
    errors: [...table.rowErrors],
    rejectedRows: table.rowErrors.map((e) => e.row),
    batchErrors: [],
    extraColumns: table.columns.filter((c) => !schema.fields.some((f) => f.name === c)),
    missing: {},
    rowsRead: table.rows.length + table.rowErrors.length,
  };
  const positions = schema.fields.map((f) => table.columns.indexOf(f.name));
  schema.fields.forEach((field, i) => {
    if (positions[i]! < 0)
      result.batchErrors.push(`column ${quoteValue(field.name)} is missing (the file has: ${listNames(table.columns)})${separatorHint(table)}`);
    result.missing[field.name] = 0;
  });
  if (result.batchErrors.length > 0) return result;

  table.rows.forEach((row, r) => {
    const typed: TypedRow = {};
    let rejected = false;
    schema.fields.forEach((field, i) => {
      const cell = row[positions[i]!] ?? null;
      if (cell === null || (typeof cell === 'string' && cell.trim() === '')) result.missing[field.name]! += 1;
      const { value, problem } = checkCell(field, cell);
      typed[field.name] = value;
      if (problem !== undefined) {
        rejected = true;
        result.errors.push({ source: table.source, row: table.rowNumbers[r]!, column: field.name, reason: problem });
      }
    });
    if (rejected) result.rejectedRows.push(table.rowNumbers[r]!);
    else {
      result.rows.push(typed);
      result.rowNumbers.push(table.rowNumbers[r]!);
    }
  });
  if (table.rows.length > 0) {
    for (const field of schema.fields) {
      const rate = result.missing[field.name]! / table.rows.length;
      if (rate > schema.maxMissingRate) {
        result.batchErrors.push(
          `column ${quoteValue(field.name)} is missing in ${(rate * 100).toFixed(1)}% of rows, above maxMissingRate ${(schema.maxMissingRate * 100).toFixed(1)}%`,
        );
      }
    }
  } else if (table.rowErrors.length === 0) {
    result.batchErrors.push('the file has a header but no rows');
  }
  result.rejectedRows.sort((a, b) => a - b);
  return result;
}

/** "rows 3, 5, 9 and 12 more" — short enough for an error message. */
export function describeRows(rows: number[], limit = 10): string {
  if (rows.length === 0) return 'no rows';
  const shown = rows.slice(0, limit).join(', ');
  return rows.length > limit ? `rows ${shown} and ${rows.length - limit} more` : rows.length === 1 ? `row ${shown}` : `rows ${shown}`;
}
