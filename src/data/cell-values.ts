/**
 * What a text cell is: a number, an ISO date. Without imports, so the drift
 * CLI can use the rules without loading the schema module (and zod) at start.
 */

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/** An ISO date or date-time that parses. */
export function isDateText(text: string): boolean {
  return ISO_DATE.test(text) && !Number.isNaN(Date.parse(text));
}

/** A cell as a number, or undefined when it is not one (text, NaN, ±Infinity). */
export function toNumber(cell: unknown): number | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell === 'string' && cell.trim() !== '') {
    const value = Number(cell);
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}
