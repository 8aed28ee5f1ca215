/**
 * The usual CSV file is read by DuckDB straight into columns (read-columns.ts,
 * readCsvDirect); whatever that read cannot vouch for goes to the loader. Each
 * case puts the unusual value far past DuckDB's type sniffing sample, so the
 * direct read meets it, and checks the file reads as the loader reads it.
 */
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { cellAt, type Column, type ColumnTable } from '../../../src/data/columns';
import { readColumnTable } from '../../../src/data/read-columns';

const { write } = tempFiles('perennial-read-direct-');

/** Past the 20,480 rows DuckDB's sniffer looks at. */
const FILLER = 25_000;

/** A CSV of FILLER ordinary rows (x a number, label a word), then `tail` lines. */
function csvWithTail(name: string, tail: string[], header = 'x,label'): string {
  const body = Array.from({ length: FILLER }, (_, i) => `${i % 97},w${i % 3 === 0 ? 'a' : 'b'}`);
  return write(name, [header, ...body, ...tail].join('\n') + '\n');
}

const cell = (table: ColumnTable, name: string, i: number) => cellAt(table.columns.get(name)!, i);
const kind = (table: ColumnTable, name: string): Column['kind'] => table.columns.get(name)!.kind;

describe('reading CSV in one pass', () => {
  it('reads the usual file: numbers as numbers, words as text, rows by file line', async () => {
    const table = await readColumnTable(csvWithTail('plain.csv', ['5,wa', ',']));
    expect(table.rows).toBe(FILLER + 2);
    expect([kind(table, 'x'), kind(table, 'label')]).toEqual(['number', 'text']);
    expect([cell(table, 'x', FILLER), cell(table, 'label', FILLER)]).toEqual([5, 'wa']);
    expect([cell(table, 'x', FILLER + 1), cell(table, 'label', FILLER + 1)]).toEqual([null, null]);
    expect(table.rowNumber(FILLER + 1)).toBe(FILLER + 3);
  });

  it('reads a column with inf in it as text, as the loader does', async () => {
    const table = await readColumnTable(csvWithTail('inf.csv', ['inf,wa']));
    expect(kind(table, 'x')).toBe('text');
    expect(cell(table, 'x', FILLER)).toBe('inf');
    expect(cell(table, 'x', 0)).toBe('0');
  });

  it('keeps the spaces of a quoted value and reads a quoted blank as missing', async () => {
    const table = await readColumnTable(csvWithTail('quoted.csv', ['1," wa "', '2,"  "', '3,  wb  ']));
    expect([FILLER, FILLER + 1, FILLER + 2].map((i) => cell(table, 'label', i))).toEqual([' wa ', null, 'wb']);
  });

  it('finds numbers in a column the sniffer saw empty, and leaves codes that only hold digits as text', async () => {
    const path = write(
      'late.csv',
      ['a,b,c', ...Array.from({ length: FILLER }, (_, i) => `,${i % 2 === 0 ? 'x' : 'y'},v${i % 5}`), '2.5,z,v7', '-1e3,x,v1'].join('\n') + '\n',
    );
    const table = await readColumnTable(path);
    expect([kind(table, 'a'), kind(table, 'b'), kind(table, 'c')]).toEqual(['number', 'text', 'text']);
    expect([cell(table, 'a', FILLER), cell(table, 'a', FILLER + 1), cell(table, 'a', 0)]).toEqual([2.5, -1000, null]);
  });

  it('reads a number column with text past the sample as text, for the caller to name the value', async () => {
    const table = await readColumnTable(csvWithTail('text2.csv', ['abc,wa']));
    expect(kind(table, 'x')).toBe('text');
    expect(cell(table, 'x', FILLER)).toBe('abc');
    expect(table.rowNumber(FILLER)).toBe(FILLER + 2);
  });

  it('quarantines a ragged row past the sample with its row number', async () => {
    const table = await readColumnTable(csvWithTail('ragged.csv', ['1,wa,extra', '2,wb']), { onRowError: 'collect' });
    expect(table.rowErrors.map((e) => [e.row, e.reason])).toEqual([[FILLER + 2, 'expected 2 fields, found 3']]);
    expect(table.rows).toBe(FILLER + 1);
    expect(table.rowNumber(FILLER)).toBe(FILLER + 3);
  });
});
