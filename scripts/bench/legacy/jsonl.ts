/** The JSON Lines reader before the data engine (src/data/load.ts), kept as the read benchmark's "before". */
import { DataError, type Cell, type RawTable } from '../../../src/data/table';
import type { ParseOptions } from '../../../src/data/csv';
import { cleanText, decodeText } from '../../../src/data/text';

/** NaN and Infinity as Python's json module writes them: not JSON. */
const NON_JSON_NUMBER = /[:,[]\s*-?(NaN|Infinity)\s*[,}\]]/;

/**
 * Reads JSON Lines (UTF-8): one object per line. Columns are the union of keys in
 * order of first appearance; a missing key is null. A line that is not a JSON
 * object is a row error naming its line.
 */
export function parseJsonl(text: string | Buffer, source: string, options: ParseOptions = {}): RawTable {
  const content = decodeText(text, source).replace(/^\uFEFF/, '');
  if (content.trim() === '') throw new DataError('the file is empty (no rows)', { source });
  const table: RawTable = { source, columns: [], rows: [], rowNumbers: [], rowErrors: [] };
  const objects: { line: number; value: Record<string, unknown> }[] = [];
  const seen = new Set<string>();
  const lines = content.split(/\r?\n/);
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    let reason: string | undefined;
    try {
      value = JSON.parse(line);
      if (value === null || typeof value !== 'object' || Array.isArray(value)) reason = 'expected a JSON object';
    } catch (error) {
      reason = NON_JSON_NUMBER.test(line)
        ? 'not valid JSON: NaN and Infinity are not JSON values (write null for a missing value)'
        : `not valid JSON: ${cleanText((error as Error).message)}`;
    }
    if (reason !== undefined) {
      if (options.onRowError === 'throw') throw new DataError(reason, { source, row: i + 1 });
      table.rowErrors.push({ source, row: i + 1, reason });
      return;
    }
    for (const key of Object.keys(value as object)) {
      if (!seen.has(key)) {
        seen.add(key);
        table.columns.push(key);
      }
    }
    objects.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  for (const { line, value } of objects) {
    table.rows.push(table.columns.map((c) => toCell(value[c])));
    table.rowNumbers.push(line);
  }
  return table;
}

function toCell(value: unknown): Cell {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}
