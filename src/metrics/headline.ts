/**
 * The metrics a person looks at first, as one short line. Type imports only:
 * the workflow bundle uses it for stage details, the CLI for the registry listing.
 */
import type { Metrics } from './classification';

export function headlineMetrics(metrics: Metrics, digits = 3): string {
  const shown: [string, number][] =
    metrics.task === 'classification'
      ? [
          ['accuracy', metrics.accuracy],
          ['macroF1', metrics.macroF1],
        ]
      : [
          ['rmse', metrics.rmse],
          ['mae', metrics.mae],
          ['r2', metrics.r2],
        ];
  return shown.map(([name, value]) => `${name} ${value.toFixed(digits)}`).join(', ');
}

/** Every number of a metrics record at its top level (n, accuracy, macroF1, logLoss... or n, rmse, mae, r2), by name. */
export function headlineMetricValues(metrics: Metrics): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}
