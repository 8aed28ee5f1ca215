/**
 * The usual JSON Lines file is read by DuckDB's JSON reader straight into
 * typed columns (read-columns.ts, readJsonlDirect): keys whose values in the
 * first MB are all numbers are read as DOUBLE, the rest as text. Whatever
 * that read cannot vouch for goes to the loader. Each unusual value is put
 * past the first MB (the lines the types are taken from), and the file must
 * read exactly as the loader reads it: the same file with a byte order mark
 * in front, which the direct read leaves to the loader.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { tempFiles } from '../../helpers/temp-files';
import { cellAt, type Column } from '../../../src/data/columns';
import { tempName } from '../../../src/data/engine';
import { readColumnTable, type ReadColumnsOptions, type ReadTable } from '../../../src/data/read-columns';

const { write } = tempFiles('perennial-read-direct-jsonl-');

/** Past the first MB of the file (about 38 bytes a line). */
const FILLER = 40_000;

/** FILLER ordinary lines (x a number, label a word, flag a boolean), then `tail`. */
function linesWithTail(tail: string[]): string {
  const body = Array.from({ length: FILLER }, (_, i) => JSON.stringify({ x: i % 97, label: i % 3 === 0 ? 'wa' : 'wb', flag: i % 2 === 0 }));
  return [...body, ...tail].join('\n') + '\n';
}

/** Everything a reader gives: names, kinds, every cell, every row number, the row errors. */
function contents(table: ReadTable) {
  const kinds = [...table.columns].map(([name, column]) => [name, column.kind]);
  const cells = [...table.columns].map(([name, column]) => [name, Array.from({ length: table.rows }, (_, i) => cellAt(column, i))]);
  const rowNumbers = Array.from({ length: table.rows }, (_, i) => table.rowNumber(i));
  return { names: table.names, rows: table.rows, kinds, cells, rowNumbers, rowErrors: table.rowErrors.map((e) => [e.row, e.reason]) };
}

/** `text` read as `name`, checked against the loader's read of the same text (a byte order mark in front sends it there). */
async function readAsLoaderDoes(name: string, text: string, options: ReadColumnsOptions = {}): Promise<ReadTable> {
  const gz = name.endsWith('.gz');
  const bytes = (t: string) => (gz ? gzipSync(t) : Buffer.from(t));
  const table = await readColumnTable(write(name, bytes(text)), { ...options, source: name });
  const loader = await readColumnTable(write(name, bytes(`\uFEFF${text}`)), { ...options, source: name });
  expect(contents(table)).toEqual(contents(loader));
  return table;
}

const kind = (table: ReadTable, name: string): Column['kind'] => table.columns.get(name)!.kind;
const cell = (table: ReadTable, name: string, i: number) => cellAt(table.columns.get(name)!, i);

describe('reading JSON Lines in one pass', () => {
  it('reads the usual file without the loader, and a file with a byte order mark with it', async () => {
    // The loader names a temporary table for the file (tempName); the direct read makes none.
    const tables = async (path: string): Promise<number> => {
      const before = Number(/_(\d+)$/.exec(tempName('probe'))![1]);
      await readColumnTable(path);
      return Number(/_(\d+)$/.exec(tempName('probe'))![1]) - before - 1;
    };
    const text = linesWithTail([]);
    expect(await tables(write('usual.jsonl', text))).toBe(0);
    expect(await tables(write('usual.jsonl.gz', gzipSync(text)))).toBe(0);
    expect(await tables(write('bom.jsonl', `\uFEFF${text}`))).toBe(1);
  });

  it('reads the usual file: numbers as numbers, booleans and words as text, blanks and nulls as missing, rows by file line', async () => {
    const table = await readAsLoaderDoes('plain.jsonl', linesWithTail(['', '{"x":5,"label":"  ","flag":null}', '\r', '{"x":null,"label":"wa"}']));
    expect(table.rows).toBe(FILLER + 2);
    expect(table.names).toEqual(['x', 'label', 'flag']);
    expect([kind(table, 'x'), kind(table, 'label'), kind(table, 'flag')]).toEqual(['number', 'text', 'text']);
    expect([cell(table, 'x', FILLER), cell(table, 'label', FILLER), cell(table, 'flag', FILLER)]).toEqual([5, null, null]);
    expect([cell(table, 'x', FILLER + 1), cell(table, 'label', FILLER + 1), cell(table, 'flag', 0)]).toEqual([null, 'wa', 'true']);
    expect([table.rowNumber(FILLER), table.rowNumber(FILLER + 1)]).toEqual([FILLER + 2, FILLER + 4]);
  });

  it('reads a gzipped file as the plain one', async () => {
    const table = await readAsLoaderDoes('plain.jsonl.gz', linesWithTail(['{"x":5.5,"label":"wz","flag":false}']));
    expect([cell(table, 'x', FILLER), cell(table, 'label', FILLER), kind(table, 'x')]).toEqual([5.5, 'wz', 'number']);
  });

  it('reads a number column with true in it past the first MB as text, as the loader does (never as 1)', async () => {
    const table = await readAsLoaderDoes('bool.jsonl', linesWithTail(['{"x":true,"label":"wa","flag":true}']));
    expect(kind(table, 'x')).toBe('text');
    expect([cell(table, 'x', FILLER), cell(table, 'x', 1)]).toEqual(['true', '1']);
  });

  it('reads a number column with a word, a nested value or 1e400 past the first MB as the loader does', async () => {
    for (const value of ['"abc"', '[1]', '{"k":1}', '1e400', '" 7"', '"7 "', '""']) {
      const table = await readAsLoaderDoes('odd.jsonl', linesWithTail([`{"x":${value},"label":"wa","flag":true}`]));
      expect(table.rows).toBe(FILLER + 1);
    }
  });

  it('reads numbers written as strings as numbers, and a column that starts past the first MB', async () => {
    const table = await readAsLoaderDoes('late.jsonl', linesWithTail(['{"x":"7","label":"wa","flag":true,"late":"2.5"}', '{"late":" -1e3 ","x":8}']));
    expect(table.names).toEqual(['x', 'label', 'flag', 'late']);
    expect([kind(table, 'x'), kind(table, 'late')]).toEqual(['number', 'number']);
    expect([cell(table, 'x', FILLER), cell(table, 'late', FILLER), cell(table, 'late', FILLER + 1), cell(table, 'late', 0)]).toEqual([7, 2.5, -1000, null]);
  });

  it('reads keys twice in a line, or differing only in case, as the loader does', async () => {
    await readAsLoaderDoes('twice.jsonl', linesWithTail(['{"x":1,"x":2,"label":"wa","flag":true}']));
    await readAsLoaderDoes('case.jsonl', linesWithTail(['{"X":1,"label":"wa","flag":true}']));
  });

  it('quarantines a bad line past the first MB with its line number, and names it when reading strictly', async () => {
    const tail = ['{"x":1,"label":"wa","flag":true}', '{"x":2,', '', '{"x":NaN}', '{"x":3}'];
    const table = await readAsLoaderDoes('bad.jsonl', linesWithTail(tail), { onRowError: 'collect' });
    expect(table.rowErrors.map((e) => [e.row, e.reason.split(':')[0]])).toEqual([
      [FILLER + 2, 'not valid JSON'],
      [FILLER + 4, 'not valid JSON'],
    ]);
    expect([table.rows, table.rowNumber(FILLER + 1)]).toEqual([FILLER + 2, FILLER + 5]);
    await expect(readColumnTable(write('bad.jsonl', linesWithTail(tail)), { source: 'bad.jsonl' })).rejects.toThrow(
      `bad.jsonl, row ${FILLER + 2}: not valid JSON`,
    );
  });

  it('reads only the columns asked for, and names a column the file does not have', async () => {
    const table = await readAsLoaderDoes('some.jsonl', linesWithTail(['{"x":5,"label":"wz","flag":true}']), { columns: ['label'] });
    expect([[...table.columns.keys()], table.names]).toEqual([['label'], ['x', 'label', 'flag']]);
    await expect(readColumnTable(write('some.jsonl', linesWithTail([])), { source: 'some.jsonl', columns: ['nope'] })).rejects.toThrow(
      `some.jsonl, column 'nope': no column 'nope'; the file has: x, label, flag`,
    );
  });
});
