import { quoteValue } from '../errors';

/**
 * A request the server refuses, with the HTTP status it answers and a message
 * that names what to fix (the column, the row, the limit). Routes turn it into
 * the OIP error body {"error": "..."}; the server keeps serving.
 */
export class ServeError extends Error {
  constructor(
    readonly status: 400 | 401 | 404 | 413 | 503,
    message: string,
  ) {
    super(message);
    this.name = 'ServeError';
  }
}

export const badRequest = (message: string) => new ServeError(400, message);

/** A JSON object (not null, not an array). */
export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A value a client sent, as an error message shows it: text quoted (quoteValue), anything else as JSON, cut after 80 characters. */
export function shown(value: unknown): string {
  if (typeof value === 'string') return quoteValue(value);
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}
