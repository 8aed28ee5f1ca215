/**
 * Why something failed, as a person reads it: the innermost cause's message
 * (an activity's own error, or a child run's, not "Activity task failed" or
 * "Child Workflow execution failed"). Deterministic: used in workflow code.
 */
export function reasonOf(error: unknown): string {
  let e = error;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? e.message : String(e);
}
