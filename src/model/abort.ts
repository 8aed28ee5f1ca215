/** The error to reject or throw with when `signal` aborted: its reason if an Error, else an AbortError. */
export function abortError(signal: AbortSignal, fallback = 'aborted'): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const e = new Error(typeof reason === 'string' ? reason : fallback);
  e.name = 'AbortError';
  return e;
}
