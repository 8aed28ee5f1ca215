/**
 * Production data as training data: the joined feedback parts the model
 * server writes (src/serve/feedback.ts: prediction_id, feedback_time,
 * prediction_time, model, version, arm, inputs STRUCT, label, flag, ...)
 * turned into one batch with the model's schema columns, inside the engine.
 *
 * - Features come from the served inputs, the label column from `label`.
 * - The time column is the served row's own value when the spec's timeColumn
 *   is a feature (the row says when it happened: a weather day), else when the
 *   prediction was made (prediction_time in UTC): the moment the row was live.
 * - A schema column the served inputs lack is NULL: validate decides (a column
 *   that may not be missing rejects the row, named by its row number).
 * - Values are passed as served, not cast: a bad one reaches validate as it
 *   was, so the quarantine names it instead of a NULL a cast made.
 * - One row per prediction id: the first label to arrive across the parts, and
 *   none whose id an earlier batch of the source delivered. The validated
 *   batch and the snapshot keep only schema columns, so the batch dedupes
 *   before; it keeps `prediction_id` as its last column, which is the record
 *   of what was delivered (read back on the next pull) and names the
 *   prediction behind a quarantined row.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { ident, literal, queryRows, tempName, withConnection } from './engine';
import type { TableSchema } from './schema';
import { DataError } from './table';

/** What a feedback part must have; parts are written by src/serve/feedback.ts. */
const PART_COLUMNS = ['prediction_id', 'feedback_time', 'prediction_time', 'inputs', 'label'];

/** The column of a feedback batch that names each row's prediction. */
const PREDICTION_ID = 'prediction_id';

export interface FeedbackBatchOptions {
  schema: TableSchema;
  /** The spec's label column. */
  label: string;
  /** The spec's time column. */
  timeColumn: string;
  /** Names of the spec's features: the columns the served inputs hold. */
  features: string[];
  /** Leave out rows without a label (a flag alone is not a training row). */
  labelsOnly: boolean;
}

export interface FeedbackBatchCounts {
  /** Rows in the parts read. */
  read: number;
  /** Left out: no label (labelsOnly). */
  unlabelled: number;
  /** Left out: a prediction id seen again in these parts (the first label to arrive is kept). */
  duplicates: number;
  /** Left out: a prediction id an earlier batch already delivered. */
  delivered: number;
  /** Rows in the batch written (0: no file written). */
  rows: number;
}

const storedType = (type: TableSchema['fields'][number]['type']) => (type === 'number' ? 'DOUBLE' : type === 'date' ? 'TIMESTAMP' : 'VARCHAR');

/** The fields of a STRUCT column (none for any other type). */
async function structFields(connection: DuckDBConnection, relation: string, column: string): Promise<Set<string>> {
  const [type] = await queryRows<{ t: string }>(connection, `SELECT column_type AS t FROM (DESCRIBE SELECT ${ident(column)} FROM ${relation})`);
  if (!type?.t.startsWith('STRUCT')) return new Set();
  const fields = await queryRows<{ name: string }>(connection, `SELECT column_name AS name FROM (DESCRIBE SELECT ${ident(column)}.* FROM ${relation})`);
  return new Set(fields.map((f) => f.name));
}

/** The SELECT list of the schema's columns from a relation of feedback rows. */
function projection(options: FeedbackBatchOptions, inputs: Set<string>): string[] {
  const timeIsFeature = options.features.includes(options.timeColumn);
  return options.schema.fields.map((field) => {
    const name = ident(field.name);
    if (field.name === options.label) return `label AS ${name}`;
    // Not a feature: the served row has no time of its own, so the time it was served.
    if (field.name === options.timeColumn && !timeIsFeature) return `timezone('UTC', prediction_time) AS ${name}`;
    if (inputs.has(field.name)) return `struct_extract(inputs, ${literal(field.name)}) AS ${name}`;
    return `CAST(NULL AS ${storedType(field.type)}) AS ${name}`;
  });
}

/**
 * Writes the new rows of the feedback `parts` (local Parquet files) as one
 * Parquet batch at `out`, leaving out ids in `earlier` (local Parquet batches
 * this source wrote before). No file is written when no row is new.
 */
export async function writeFeedbackBatch(
  parts: { path: string; key: string }[],
  earlier: string[],
  out: string,
  options: FeedbackBatchOptions,
): Promise<FeedbackBatchCounts> {
  const counts: FeedbackBatchCounts = { read: 0, unlabelled: 0, duplicates: 0, delivered: 0, rows: 0 };
  if (parts.length === 0) return counts;
  return withConnection(async (connection) => {
    // Each part checked apart, so an error names the one at fault.
    for (const part of parts) {
      let names: Set<string>;
      try {
        const described = await queryRows<{ name: string }>(
          connection,
          `SELECT column_name AS name FROM (DESCRIBE SELECT * FROM read_parquet(${literal(part.path)}))`,
        );
        names = new Set(described.map((r) => r.name));
      } catch (error) {
        throw new DataError(`not readable Parquet (${(error as Error).message.split('\n')[0]}); remove or rewrite the part`, { source: part.key });
      }
      const missing = PART_COLUMNS.filter((c) => !names.has(c));
      if (missing.length > 0) {
        throw new DataError(
          `not joined feedback as the model server writes it: no column ${missing.map(literal).join(', ')}; remove the part from the feedback log`,
          {
            source: part.key,
          },
        );
      }
    }
    const all = tempName('feedback');
    const files = parts.map((p) => literal(p.path)).join(', ');
    await connection.run(`CREATE TEMP VIEW ${all} AS SELECT * FROM read_parquet([${files}], union_by_name = true, filename = true, file_row_number = true)`);
    const inputs = await structFields(connection, all, 'inputs');
    const seen = tempName('feedback_seen');
    if (earlier.length > 0) {
      await connection.run(
        `CREATE TEMP TABLE ${seen} AS SELECT DISTINCT ${PREDICTION_ID} FROM read_parquet([${earlier.map(literal).join(', ')}], union_by_name = true)`,
      );
    } else await connection.run(`CREATE TEMP TABLE ${seen} (${PREDICTION_ID} VARCHAR)`);
    const fresh = tempName('feedback_fresh');
    // The first label to arrive wins, as the model server's own dedup (ties: part, then row).
    await connection.run(
      `CREATE TEMP TABLE ${fresh} AS
       WITH kept AS (SELECT * FROM ${all} ${options.labelsOnly ? 'WHERE label IS NOT NULL' : ''}),
       firsts AS (SELECT * FROM kept QUALIFY row_number() OVER (PARTITION BY prediction_id ORDER BY feedback_time, filename, file_row_number) = 1)
       SELECT * FROM firsts ANTI JOIN ${seen} USING (${PREDICTION_ID})`,
    );
    const [n] = await queryRows<{ read: number; kept: number; firsts: number; fresh: number }>(
      connection,
      `SELECT (SELECT count(*) FROM ${all}) AS read,
              (SELECT count(*) FROM ${all} ${options.labelsOnly ? 'WHERE label IS NOT NULL' : ''}) AS kept,
              (SELECT count(DISTINCT prediction_id) FROM ${all} ${options.labelsOnly ? 'WHERE label IS NOT NULL' : ''}) AS firsts,
              (SELECT count(*) FROM ${fresh}) AS fresh`,
    );
    counts.read = n!.read;
    counts.unlabelled = n!.read - n!.kept;
    counts.duplicates = n!.kept - n!.firsts;
    counts.delivered = n!.firsts - n!.fresh;
    counts.rows = n!.fresh;
    if (counts.rows === 0) return counts;
    const columns = projection(options, inputs);
    // A schema column of that name is the row's own: no second one.
    if (!options.schema.fields.some((f) => f.name === PREDICTION_ID)) columns.push(ident(PREDICTION_ID));
    // In time order, as a batch a person reads; the id breaks ties so the same rows make the same file.
    const time = ident(options.timeColumn);
    await connection.run(
      `COPY (SELECT * FROM (SELECT ${columns.join(', ')} FROM ${fresh}) ORDER BY ${time} NULLS LAST, ${ident(PREDICTION_ID)}) TO ${literal(out)} (FORMAT parquet, COMPRESSION zstd)`,
    );
    return counts;
  });
}
