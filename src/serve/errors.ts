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
