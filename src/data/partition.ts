/**
 * Splits a Parquet file into one Parquet file per calendar month of its time
 * column, as a feed delivers batches (the flights demo's monthly arrivals).
 */
import { join } from 'node:path';
import { ident, literal, queryRows, withConnection } from './engine';
import { formatOf } from './format';
import { DataError } from './table';

export interface MonthPart {
  /** YYYY-MM */
  month: string;
  path: string;
  rows: number;
}

/** The rows of a Parquet file, every nth one when `nth` > 1. */
function parquetRows(path: string, nth: number): string {
  if (formatOf(path) !== 'parquet') throw new DataError('partitionByMonth reads Parquet files only', { source: path });
  return nth > 1
    ? `(SELECT * EXCLUDE (file_row_number) FROM read_parquet(${literal(path)}, file_row_number = true) WHERE file_row_number % ${nth} = 0)`
    : `read_parquet(${literal(path)})`;
}

/**
 * Writes `outDir/<prefix>-YYYY-MM.parquet` for each month (or only `months`),
 * rows in file order. `everyNth` keeps every nth row of the file: a smaller
 * sample spread over every day, the same rows on every call.
 */
export async function partitionByMonth(
  path: string,
  options: { timeColumn: string; outDir: string; prefix: string; months?: string[]; everyNth?: number },
): Promise<MonthPart[]> {
  const time = ident(options.timeColumn);
  const nth = Math.max(1, Math.floor(options.everyNth ?? 1));
  return withConnection(async (connection) => {
    const source = `(SELECT *, strftime(CAST(${time} AS TIMESTAMP), '%Y-%m') AS __month FROM ${parquetRows(path, nth)})`;
    let months: { month: string; n: number }[];
    try {
      months = await queryRows(connection, `SELECT __month AS month, count(*) AS n FROM ${source} WHERE __month IS NOT NULL GROUP BY 1 ORDER BY 1`);
    } catch (error) {
      throw new DataError(`cannot split by the month of ${literal(options.timeColumn)}: ${(error as Error).message.split('\n')[0]}`, { source: path });
    }
    const parts: MonthPart[] = [];
    for (const { month, n } of months) {
      if (options.months && !options.months.includes(month)) continue;
      const out = join(options.outDir, `${options.prefix}-${month}.parquet`);
      await connection.run(
        `COPY (SELECT * EXCLUDE (__month) FROM ${source} WHERE __month = ${literal(month)}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`,
      );
      parts.push({ month, path: out, rows: n });
    }
    return parts;
  });
}
