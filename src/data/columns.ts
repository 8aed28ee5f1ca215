/**
 * Data by columns, as the engine (src/data/engine.ts) reads it: one typed array
 * per column, never an array of row objects. A million rows of 25 columns is
 * 25 arrays, not a million objects.
 */
import { parseDateFields } from './dates';

/**
 * One column. Missing values: NaN (number, date) or code -1 (text).
 * - number: finite float64 values;
 * - date: the wall-clock time as written, in ms since 1970-01-01 read as UTC
 *   (an offset in the text is not applied, so a date means the same at
 *   training and at serving whatever the machine's time zone);
 * - text: codes into `dictionary` (each distinct value once, in first-seen order).
 */
export type Column =
  { kind: 'number'; values: Float64Array } | { kind: 'date'; values: Float64Array } | { kind: 'text'; codes: Int32Array; dictionary: string[] };

export interface ColumnTable {
  /** File or object key the rows came from (named in errors). */
  source: string;
  rows: number;
  /** Every column of the source, in its order (some may not have been read). */
  names: string[];
  /** The columns read. */
  columns: Map<string, Column>;
  /** The 1-based row of row `i` as a user sees it in the source (CSV: the header is line 1). */
  rowNumber(i: number): number;
}

/** A cell of a column as a plain value: number, ISO text for dates, text, or null when missing. */
export function cellAt(column: Column, i: number): number | string | null {
  if (column.kind === 'text') {
    const code = column.codes[i]!;
    return code < 0 ? null : column.dictionary[code]!;
  }
  const v = column.values[i]!;
  if (Number.isNaN(v)) return null;
  return column.kind === 'date' ? dateText(v) : v;
}

/** A date column's value as ISO text: YYYY-MM-DD at midnight, YYYY-MM-DDTHH:MM:SS(.sss) otherwise (no zone: it is wall-clock time). */
export function dateText(ms: number): string {
  const iso = new Date(ms).toISOString();
  if (iso.endsWith('T00:00:00.000Z')) return iso.slice(0, 10);
  return iso.endsWith('.000Z') ? iso.slice(0, 19) : iso.slice(0, 23);
}

/** Wall-clock ms of an ISO date text (offset not applied), NaN when it is not one. */
export function dateMs(text: string): number {
  const d = parseDateFields(text);
  if (!d) return NaN;
  return Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second, d.millisecond);
}

/** Builds a text column from values (null or undefined: missing). */
export function textColumn(values: Iterable<string | null | undefined>, size: number): Column & { kind: 'text' } {
  const codes = new Int32Array(size);
  const dictionary: string[] = [];
  const index = new Map<string, number>();
  let i = 0;
  for (const v of values) {
    if (v === null || v === undefined) codes[i++] = -1;
    else {
      let code = index.get(v);
      if (code === undefined) {
        code = dictionary.length;
        dictionary.push(v);
        index.set(v, code);
      }
      codes[i++] = code;
    }
  }
  return { kind: 'text', codes, dictionary };
}

/**
 * A small table from row objects (a request's rows, a test's rows): numbers
 * stay numbers, strings become text, booleans 'true'/'false'. `kinds` may make
 * a column a date column (its ISO texts become wall-clock ms).
 * Only for small inputs: data files go through the engine.
 */
export function tableFromRows(
  rows: readonly Record<string, unknown>[],
  options: { source?: string; names?: string[]; kinds?: Record<string, 'date'> } = {},
): ColumnTable {
  const names = options.names ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const columns = new Map<string, Column>();
  for (const name of names) {
    const cells = rows.map((r) => r[name]);
    const present = cells.filter((v) => v !== null && v !== undefined && !(typeof v === 'string' && v.trim() === ''));
    if (options.kinds?.[name] === 'date') {
      columns.set(name, { kind: 'date', values: Float64Array.from(cells, (v) => (typeof v === 'string' ? dateMs(v) : NaN)) });
    } else if (present.length > 0 && present.every((v) => typeof v === 'number')) {
      columns.set(name, { kind: 'number', values: Float64Array.from(cells, (v) => (typeof v === 'number' && Number.isFinite(v) ? v : NaN)) });
    } else {
      columns.set(
        name,
        textColumn(
          cells.map((v) =>
            v === null || v === undefined || (typeof v === 'string' && v.trim() === '')
              ? null
              : typeof v === 'object'
                ? JSON.stringify(v)
                : String(v as string | number | boolean),
          ),
          cells.length,
        ),
      );
    }
  }
  return { source: options.source ?? '(rows)', rows: rows.length, names, columns, rowNumber: (i) => i + 1 };
}

/** Row objects of a small table (a test's, a request's): never for data files, which stay in columns. */
export function rowsOf(table: ColumnTable): Record<string, number | string | null>[] {
  const names = table.names.filter((n) => table.columns.has(n));
  return Array.from({ length: table.rows }, (_, i) => Object.fromEntries(names.map((n) => [n, cellAt(table.columns.get(n)!, i)])));
}
