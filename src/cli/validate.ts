import { describeRows, inferSchema, listNames, readColumnTable, validateFile, type TableSchema } from '../data';
import { quoteValue } from '../errors';
import { loadModelSpecFile } from '../spec';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * `perennial validate --current <file> (--reference <file> [--strict-ranges] | --spec <model.yaml>) [--json]`
 * Checks a batch against the schema inferred from a reference sample (types,
 * allowed categories, missing rates, and with --strict-ranges the reference's
 * min and max) or against a model spec's schema, the same check the pipeline's
 * validate step makes. Exit 0 when every row passes, 1 when some do not, 2 on bad usage.
 */
export async function runValidateCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('validate', argv, {
    reference: { type: 'string' },
    current: { type: 'string' },
    spec: { type: 'string' },
    'strict-ranges': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  });
  if (!values.current) throw new Error('validate needs --current <file>');
  if (!values.reference === !values.spec) throw new Error('validate needs exactly one of --reference <file> (infer the schema) or --spec <model.yaml>');
  let schema: TableSchema;
  if (values.spec) schema = (await loadModelSpecFile(values.spec)).schema;
  else schema = inferSchema(await readColumnTable(values.reference!), { strictRanges: values['strict-ranges'] });
  const result = await validateFile(values.current, schema);
  const passed = result.batchErrors.length === 0 && result.errors.length === 0;
  if (values.json) {
    io.stdout(
      JSON.stringify(
        {
          passed,
          schema,
          rowsRead: result.rowsRead,
          rowsAccepted: result.rowsAccepted,
          rejectedRows: result.rejectedRows,
          batchErrors: result.batchErrors,
          extraColumns: result.extraColumns,
          errors: result.errors,
          missing: result.missing,
        },
        null,
        2,
      ),
    );
    return passed ? 0 : 1;
  }
  io.stdout(
    `${values.current}: ${result.rowsAccepted} of ${result.rowsRead} rows pass the schema ${values.spec ? `of ${values.spec}` : `inferred from ${values.reference}`}`,
  );
  for (const problem of result.batchErrors) io.stdout(`  batch: ${problem}`);
  if (result.extraColumns.length > 0) io.stdout(`  not in the schema, neither checked nor kept: ${listNames(result.extraColumns)}`);
  if (result.rejectedRows.length > 0) io.stdout(`  rejected: ${describeRows(result.rejectedRows)}`);
  for (const e of result.errors.slice(0, 50)) io.stdout(`  row ${e.row}${e.column !== undefined ? `, column ${quoteValue(e.column)}` : ''}: ${e.reason}`);
  if (result.errors.length > 50) io.stdout(`  ... and ${result.errors.length - 50} more (use --json for all)`);
  return passed ? 0 : 1;
}
