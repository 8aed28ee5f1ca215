/**
 * Reading one feature's or label's cells out of a column, whatever the
 * column's kind. A column may arrive as its natural kind (numbers, dates) or
 * as text (a request's JSON): text is parsed once per dictionary entry, never
 * once per row.
 */
import { dateMs, dateText, type Column, type ColumnTable } from '../data/columns';
import { numberFromText } from './values';

/**
 * Rows of a table to read, as row indexes in the order to read them (a
 * training split, a chunk of a shuffled epoch). `undefined` means every row,
 * in order.
 */
export type RowSelection = Int32Array;

export function selectionSize(table: ColumnTable, rows: RowSelection | undefined): number {
  return rows ? rows.length : table.rows;
}

/** Called for a present value of the wrong type (text in a numeric column...): throws, or returns to impute it. */
export type OnInvalid = (row: number, value: unknown) => void;

/** Blank text reads as missing, as in the row-based code. */
function isBlank(text: string): boolean {
  return text.trim() === '';
}

/**
 * A value per row of a column read as `kind`: the column's own values when it
 * has that kind, text parsed once per dictionary entry, anything else invalid.
 * NaN when missing (or invalid and not thrown by `onInvalid`).
 */
function valueReader(column: Column, kind: 'number' | 'date', parse: (text: string) => number, onInvalid: OnInvalid): (row: number) => number {
  if (column.kind === kind) {
    const values = column.values;
    return (row) => values[row]!;
  }
  if (column.kind !== 'text') {
    const values = column.values;
    const shown = column.kind === 'date' ? dateText : (v: number) => v;
    return (row) => {
      const v = values[row]!;
      if (!Number.isNaN(v)) onInvalid(row, shown(v));
      return NaN;
    };
  }
  const { codes, dictionary } = column;
  const parsed = new Float64Array(dictionary.length);
  const invalid = new Uint8Array(dictionary.length);
  dictionary.forEach((text, code) => {
    parsed[code] = isBlank(text) ? NaN : parse(text);
    invalid[code] = !isBlank(text) && Number.isNaN(parsed[code]) ? 1 : 0;
  });
  return (row) => {
    const code = codes[row]!;
    if (code < 0) return NaN;
    if (invalid[code] === 1) onInvalid(row, dictionary[code]);
    return parsed[code]!;
  };
}

/** A number per row, NaN when missing (or invalid and not thrown by `onInvalid`). */
export function numberReader(column: Column, onInvalid: OnInvalid): (row: number) => number {
  return valueReader(column, 'number', numberFromText, onInvalid);
}

/** A date per row as wall-clock ms (see src/data/columns.ts), NaN when missing (or invalid and not thrown). */
export function dateReader(column: Column, onInvalid: OnInvalid): (row: number) => number {
  return valueReader(column, 'date', dateMs, onInvalid);
}

/**
 * A category per row as a small integer (`slot`), -1 when missing, with
 * `names[slot]` its text: the dictionary's text, String(value) for a number,
 * the ISO text for a date. Slots let callers count and look up per distinct
 * value instead of per row.
 */
export function categoryReader(column: Column): { slotOf: (row: number) => number; names: () => string[] } {
  if (column.kind === 'text') {
    const { codes, dictionary } = column;
    // Two entries may give the same text only in a hand-built table; they share a slot.
    const slots = new Int32Array(dictionary.length);
    const names: string[] = [];
    const index = new Map<string, number>();
    dictionary.forEach((text, code) => {
      if (isBlank(text)) {
        slots[code] = -1;
        return;
      }
      let slot = index.get(text);
      if (slot === undefined) {
        slot = names.length;
        names.push(text);
        index.set(text, slot);
      }
      slots[code] = slot;
    });
    return { slotOf: (row) => (codes[row]! < 0 ? -1 : slots[codes[row]!]!), names: () => names };
  }
  // Numbers and dates: a slot per distinct text, found through the value.
  const values = column.values;
  const asText = column.kind === 'date' ? dateText : String;
  const byValue = new Map<number, number>();
  const byText = new Map<string, number>();
  const names: string[] = [];
  return {
    slotOf: (row) => {
      const v = values[row]!;
      if (Number.isNaN(v)) return -1;
      let slot = byValue.get(v);
      if (slot === undefined) {
        const text = asText(v);
        slot = byText.get(text);
        if (slot === undefined) {
          slot = names.length;
          names.push(text);
          byText.set(text, slot);
        }
        byValue.set(v, slot);
      }
      return slot;
    },
    names: () => names,
  };
}

/** Whether each row's cell is present (not missing, not blank text). */
export function presentReader(column: Column): (row: number) => boolean {
  if (column.kind !== 'text') {
    const values = column.values;
    return (row) => !Number.isNaN(values[row]!);
  }
  const { codes, dictionary } = column;
  const blank = Uint8Array.from(dictionary, (text) => (isBlank(text) ? 1 : 0));
  return (row) => codes[row]! >= 0 && blank[codes[row]!] === 0;
}

/** The names a table holds, for "column is absent" messages. */
export function namesOf(table: ColumnTable): string {
  const names = table.names.length > 0 ? table.names : [...table.columns.keys()];
  return names.join(', ');
}

/** The row a user sees in messages (0-based, printed + 1 by the errors). */
export function rowForMessage(table: ColumnTable, row: number): number {
  return table.rowNumber(row) - 1;
}
