/**
 * The pipeline's check of one incoming batch: validate every row against the
 * schema, decide under the error budget, and write the accepted rows, typed,
 * as Parquet (what snapshots are built from), all inside the engine.
 */
import { dateText } from './columns';
import { ident, literal, queryRows, withConnection } from './engine';
import type { TableSchema } from './schema';
import { checkFile, resultOf, type ValidationResult } from './validate';

/** Why a batch is refused whole, or null when its bad rows are within the error budget. */
export function batchRefusal(result: ValidationResult, errorBudget: number): string | null {
  if (result.batchErrors.length > 0) return result.batchErrors.join('; ');
  const badShare = result.rowsRead === 0 ? 1 : result.rejectedRows.length / result.rowsRead;
  if (badShare > errorBudget) {
    return `${result.rejectedRows.length} of ${result.rowsRead} rows are invalid (${(badShare * 100).toFixed(1)}% > errorBudget ${(errorBudget * 100).toFixed(1)}%)`;
  }
  return null;
}

export interface CheckedBatch {
  result: ValidationResult;
  /** Why the batch is refused whole; null when it is accepted (bad rows within the budget are left out). */
  refusal: string | null;
  /** Oldest and newest time of the accepted rows (dateText), when a time column was named; null when none has a time. */
  timeRange?: { from: string; to: string } | null;
}

/**
 * Validates a local batch file; when it is accepted and `out` is given, writes
 * its accepted rows there as Parquet (schema columns in order; numbers DOUBLE,
 * dates TIMESTAMP, text VARCHAR). A file that cannot be read at all throws.
 */
export async function checkBatchFile(
  path: string,
  schema: TableSchema,
  options: { source: string; errorBudget: number; out?: string; timeColumn?: string },
): Promise<CheckedBatch> {
  return withConnection(async (connection) => {
    const checked = await checkFile(connection, path, schema, { source: options.source });
    const refusal = batchRefusal(checked, options.errorBudget);
    if (refusal || !('acceptedSql' in checked)) return { result: resultOf(checked), refusal };
    if (options.out) await connection.run(`COPY (${checked.acceptedSql}) TO ${literal(options.out)} (FORMAT parquet, COMPRESSION zstd)`);
    if (!options.timeColumn) return { result: resultOf(checked), refusal };
    // From the Parquet just written when there is one: a second pass over a CSV costs a parse.
    const rows = options.out ? `read_parquet(${literal(options.out)})` : `(${checked.acceptedSql})`;
    const ms = `epoch_ms(CAST(${ident(options.timeColumn)} AS TIMESTAMP))`;
    const [range] = await queryRows<{ from: number | null; to: number | null }>(connection, `SELECT min(${ms}) AS "from", max(${ms}) AS "to" FROM ${rows}`);
    const timeRange = range?.from != null && range.to != null ? { from: dateText(range.from), to: dateText(range.to) } : null;
    return { result: resultOf(checked), refusal, timeRange };
  });
}
