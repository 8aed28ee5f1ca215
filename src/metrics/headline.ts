/**
 * The metrics a person looks at first, as one short line. No imports: the
 * workflow bundle uses it for stage details, the CLI for the registry listing.
 */
export function headlineMetrics(metrics: Record<string, unknown>, digits = 3): string {
  return ['accuracy', 'macroF1', 'rmse', 'mae', 'r2']
    .filter((k) => typeof metrics[k] === 'number')
    .map((k) => `${k} ${(metrics[k] as number).toFixed(digits)}`)
    .join(', ');
}
