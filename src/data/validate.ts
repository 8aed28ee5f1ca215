import type { DuckDBConnection } from '@duckdb/node-api';
import { quoteValue } from '../errors';
import type { ColumnTable } from './columns';
import { ident, literal, queryColumns, queryRows, withConnection } from './engine';
import { formatOf } from './format';
import { scanRecordStarts } from './lines';
import { loadFile, readCsvHeader, type LoadedFile, type LoadedKind } from './load';
import { isDateText, toNumber, type FieldSchema, type TableSchema } from './schema';
import type { Cell, RowError } from './table';
import { listNames } from './text';

/** A row after validation: numbers are numbers, dates ISO text, categories text, missing null. */
export type TypedRow = Record<string, number | string | null>;

export interface ValidationResult {
  source: string;
  /** Rows that passed. */
  rowsAccepted: number;
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
function separatorHint(names: string[]): string {
  const only = names.length === 1 ? names[0]! : '';
  const separator = [';', '\t', '|'].find((s) => only.includes(s));
  return separator ? `; the header looks separated by ${quoteValue(separator)}, but CSV files here are comma-separated` : '';
}

const ISO_DATE_SQL = `'^\\d{4}-\\d{2}-\\d{2}([T ]\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:?\\d{2})?)?$'`;

/** A number as text the way JavaScript's String() writes it for the usual cases (1, not 1.0). */
function numberText(e: string): string {
  return `CASE WHEN ${e} = trunc(${e}) AND abs(${e}) < 1e15 THEN CAST(CAST(${e} AS BIGINT) AS VARCHAR) ELSE CAST(${e} AS VARCHAR) END`;
}

interface FieldSql {
  /** The typed value (DOUBLE, TIMESTAMP or VARCHAR), NULL when missing or bad. */
  value: string;
  /** True when the row breaks this field's rule. */
  bad: string;
  missing: string;
}

/** The checks of one field as SQL over the loaded column, mirroring checkCell (which words the messages). */
function fieldSql(field: FieldSchema, loaded: LoadedFile): FieldSql {
  const kind = loaded.kinds.get(field.name)!;
  const e = loaded.sql.get(field.name)!;
  const missing = `(${e}) IS NULL`;
  const required = field.nullable === false ? missing : 'false';
  switch (field.type) {
    case 'number': {
      const v = kind === 'number' ? `(${e})` : kind === 'text' ? `TRY_CAST(${e} AS DOUBLE)` : 'CAST(NULL AS DOUBLE)';
      const rules = [required, `(NOT ${missing} AND (${v} IS NULL OR NOT isfinite(${v})))`];
      if (field.integer) rules.push(`${v} <> trunc(${v})`);
      if (field.min !== undefined) rules.push(`${v} < ${field.min}`);
      if (field.max !== undefined) rules.push(`${v} > ${field.max}`);
      return { value: `CASE WHEN isfinite(${v}) THEN ${v} END`, bad: rules.map((r) => `coalesce(${r}, false)`).join(' OR '), missing };
    }
    case 'date': {
      const ms =
        kind === 'date'
          ? `(${e})`
          : kind === 'text'
            ? `CASE WHEN regexp_full_match(${e}, ${ISO_DATE_SQL}) THEN epoch_ms(TRY_CAST(regexp_replace(${e}, '(Z|[+-]\\d{2}:?\\d{2})$', '') AS TIMESTAMP))::DOUBLE END`
            : 'CAST(NULL AS DOUBLE)';
      return {
        value: `make_timestamp((${ms} * 1000)::BIGINT)`,
        bad: `coalesce(${required}, false) OR coalesce(NOT ${missing} AND ${ms} IS NULL, false)`,
        missing,
      };
    }
    case 'category':
    case 'string': {
      const t = kind === 'text' ? `(${e})` : numberText(e);
      const rules = [required];
      if (field.type === 'category' && field.values) rules.push(`(NOT ${missing} AND ${t} NOT IN (${field.values.map(literal).join(', ')}))`);
      return { value: t, bad: rules.map((r) => `coalesce(${r}, false)`).join(' OR '), missing };
    }
  }
}

/** A bad row's cells as checkCell expects them: the text a CSV has, the JSON value a JSON line has, Parquet's typed value. */
function cellOf(loaded: LoadedFile, kind: LoadedKind, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  if (kind === 'date' && typeof value === 'number') return new Date(value).toISOString();
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

export interface CheckedFile extends ValidationResult {
  /** SELECT of the accepted rows, schema columns in order, typed (DOUBLE, TIMESTAMP, VARCHAR); valid while the connection is open. */
  acceptedSql: string;
  loaded: LoadedFile;
}

/**
 * Checks a loaded file against a schema, inside the engine. Nothing is dropped
 * silently: every rejected row is listed with its row number, column and reason.
 * The rules run as SQL over every row; only the rejected rows come out, and
 * checkCell words their problems.
 */
export async function checkLoaded(connection: DuckDBConnection, loaded: LoadedFile, schema: TableSchema): Promise<CheckedFile> {
  const result: CheckedFile = {
    source: loaded.source,
    rowsRead: loaded.rows + loaded.rowErrors.length,
    rowsAccepted: 0,
    errors: [...loaded.rowErrors],
    rejectedRows: loaded.rowErrors.map((e) => e.row),
    batchErrors: [],
    extraColumns: loaded.names.filter((c) => !schema.fields.some((f) => f.name === c)),
    missing: {},
    acceptedSql: '',
    loaded,
  };
  for (const field of schema.fields) {
    result.missing[field.name] = 0;
    if (!loaded.kinds.has(field.name)) {
      result.batchErrors.push(`column ${quoteValue(field.name)} is missing (the file has: ${listNames(loaded.names)})${separatorHint(loaded.names)}`);
    }
  }
  if (result.batchErrors.length > 0) return result;

  const checks = schema.fields.map((field) => fieldSql(field, loaded));
  const anyBad = checks.map((c) => `(${c.bad})`).join(' OR ');
  const [counts] = await queryRows<Record<string, number>>(
    connection,
    `SELECT count(*) FILTER (WHERE ${anyBad}) AS bad, ${checks.map((c, k) => `count(*) FILTER (WHERE ${c.missing}) AS m${k}`).join(', ')} FROM ${loaded.relation}`,
  );
  schema.fields.forEach((field, k) => (result.missing[field.name] = counts![`m${k}`]!));
  result.rowsAccepted = loaded.rows - counts!.bad!;

  if (counts!.bad! > 0) {
    const raw = schema.fields.map((f, k) => `${loaded.sql.get(f.name)} AS v${k}`);
    const bad = await queryRows<Record<string, unknown>>(
      connection,
      `SELECT ${loaded.index} AS __i, ${raw.join(', ')} FROM ${loaded.relation} WHERE ${anyBad} ORDER BY ${loaded.index}`,
    );
    const records = loaded.records ? await loaded.records(bad.map((r) => Number(r.__i))) : undefined;
    for (const row of bad) {
      const i = Number(row.__i);
      const line = loaded.rowNumber(i);
      const record = records?.get(i);
      let named = false;
      schema.fields.forEach((field, k) => {
        const cell = record ? cellOf(loaded, 'text', record[field.name]) : cellOf(loaded, loaded.kinds.get(field.name)!, row[`v${k}`]);
        const { problem } = checkCell(field, cell);
        if (problem !== undefined) {
          named = true;
          result.errors.push({ source: loaded.source, row: line, column: field.name, reason: problem });
        }
      });
      // The engine's rule and checkCell disagree (a number JavaScript reads and DuckDB does not): still rejected, and said.
      if (!named) result.errors.push({ source: loaded.source, row: line, reason: 'a value the data engine cannot read as its schema type' });
      result.rejectedRows.push(line);
    }
  }
  if (loaded.rows > 0) {
    for (const field of schema.fields) {
      const rate = result.missing[field.name]! / loaded.rows;
      if (rate > schema.maxMissingRate) {
        result.batchErrors.push(
          `column ${quoteValue(field.name)} is missing in ${(rate * 100).toFixed(1)}% of rows, above maxMissingRate ${(schema.maxMissingRate * 100).toFixed(1)}%`,
        );
      }
    }
  } else if (loaded.rowErrors.length === 0) {
    result.batchErrors.push('the file has a header but no rows');
  }
  result.rejectedRows.sort((a, b) => a - b);
  result.errors.sort((a, b) => a.row - b.row);
  result.acceptedSql = `SELECT ${checks.map((c, k) => `${c.value} AS ${ident(schema.fields[k]!.name)}`).join(', ')} FROM ${loaded.relation} WHERE NOT (${anyBad})`;
  return result;
}

/** Loads a local file and checks it (numbers of the schema parsed while reading). */
export async function checkFile(
  connection: DuckDBConnection,
  path: string,
  schema: TableSchema,
  options: { source?: string } = {},
): Promise<CheckedFile | ValidationResult> {
  const source = options.source ?? path;
  if (formatOf(source) === 'csv') {
    // A CSV without the schema's columns is refused from its header: its rows are counted, not read.
    const { header, crOnly } = await readCsvHeader(path, source);
    const missing = schema.fields.filter((f) => !header.includes(f.name));
    if (missing.length > 0) {
      return {
        source,
        rowsRead: Math.max(0, scanRecordStarts(path, { quoted: true, newline: crOnly ? 0x0d : 0x0a }).count - 1),
        rowsAccepted: 0,
        errors: [],
        rejectedRows: [],
        batchErrors: missing.map((f) => `column ${quoteValue(f.name)} is missing (the file has: ${listNames(header)})${separatorHint(header)}`),
        extraColumns: header.filter((c) => !schema.fields.some((f) => f.name === c)),
        missing: Object.fromEntries(schema.fields.map((f) => [f.name, 0])),
      };
    }
  }
  const numbers = new Set(schema.fields.filter((f) => f.type === 'number').map((f) => f.name));
  const loaded = await loadFile(connection, path, { source: options.source, numbers, onRowError: 'collect' });
  return checkLoaded(connection, loaded, schema);
}

/** A checked file's accepted rows as typed columns (number, date, text), each row knowing its file line. */
export async function acceptedColumns(connection: DuckDBConnection, checked: CheckedFile, schema: TableSchema): Promise<ColumnTable> {
  const { loaded } = checked;
  const dates = new Set(schema.fields.filter((f) => f.type === 'date').map((f) => f.name));
  const select = schema.fields.map((f) => `${dates.has(f.name) ? `epoch_ms(${ident(f.name)})::DOUBLE` : ident(f.name)} AS ${ident(f.name)}`);
  const indexed = checked.acceptedSql.replace(/^SELECT /, `SELECT ${loaded.index}::DOUBLE AS __i, `);
  const { rows, columns } = await queryColumns(connection, `SELECT __i, ${select.join(', ')} FROM (${indexed}) ORDER BY __i`, dates);
  const index = (columns.get('__i') as { values: Float64Array }).values;
  columns.delete('__i');
  return { source: loaded.source, rows, names: schema.fields.map((f) => f.name), columns, rowNumber: (i) => loaded.rowNumber(index[i]!) };
}

/** A check's result without the engine handles, which die with the connection. */
export function resultOf(checked: CheckedFile | ValidationResult): ValidationResult {
  if (!('acceptedSql' in checked)) return checked;
  const { acceptedSql: _sql, loaded: _loaded, ...result } = checked;
  return result;
}

/** Checks a local file and reads its accepted rows as typed columns (for the CLI and tests; the pipeline writes them as Parquet instead). */
export async function readValidated(
  path: string,
  schema: TableSchema,
  options: { source?: string } = {},
): Promise<{ result: ValidationResult; table: ColumnTable | null }> {
  return withConnection(async (connection) => {
    const checked = await checkFile(connection, path, schema, options);
    const table = 'acceptedSql' in checked && checked.batchErrors.length === 0 ? await acceptedColumns(connection, checked, schema) : null;
    return { result: resultOf(checked), table };
  });
}

/** Checks a local file against a schema (the CLI's and the tests' entry point). */
export async function validateFile(path: string, schema: TableSchema, options: { source?: string } = {}): Promise<ValidationResult> {
  return withConnection(async (connection) => resultOf(await checkFile(connection, path, schema, options)));
}

/** "rows 3, 5, 9 and 12 more" — short enough for an error message. */
export function describeRows(rows: number[], limit = 10): string {
  if (rows.length === 0) return 'no rows';
  const shown = rows.slice(0, limit).join(', ');
  return rows.length > limit ? `rows ${shown} and ${rows.length - limit} more` : rows.length === 1 ? `row ${shown}` : `rows ${shown}`;
}
