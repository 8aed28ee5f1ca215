import { loadConfig } from '../config';
import { bootstrapFlights } from '../demo/flights';
import { bootstrapWeather } from '../demo/weather';
import { S3Store } from '../store';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/**
 * `perennial bootstrap [--dataset weather|flights] [--model <name>] [--location Seattle|New York] [--every <n>]`:
 * a demo's spec and data into S3 (weather: one batch a year; flights: one Parquet batch a month, every nth flight).
 */
export async function runBootstrapCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('bootstrap', argv, {
    dataset: { type: 'string', default: 'weather' },
    model: { type: 'string' },
    location: { type: 'string', default: 'Seattle' },
    every: { type: 'string', default: '1' },
  });
  const store = S3Store.fromConfig(loadConfig());
  if (values.dataset === 'flights') {
    const everyNth = Number(values.every);
    if (!Number.isInteger(everyNth) || everyNth < 1)
      throw new Error(`--every must be a whole number of at least 1 (keep every nth flight), not '${values.every}'`);
    const { spec, batches } = await bootstrapFlights(store, { model: values.model ?? 'flights', everyNth });
    const rows = batches.reduce((n, b) => n + b.rows, 0);
    io.stdout(`spec of '${spec.name}' and ${batches.length} monthly batches (${rows.toLocaleString('en-US')} flights) are in ${store.description}:`);
    for (const b of batches) io.stdout(`  ${b.key} (${b.rows.toLocaleString('en-US')} rows)`);
    return 0;
  }
  if (values.dataset !== 'weather') throw new Error(`--dataset must be 'weather' or 'flights', not '${values.dataset}'`);
  if (values.location !== 'Seattle' && values.location !== 'New York') throw new Error(`--location must be 'Seattle' or 'New York', not '${values.location}'`);
  const { spec, batches } = await bootstrapWeather(store, { model: values.model ?? 'weather', location: values.location, jsonlYear: 2015 });
  io.stdout(`spec of '${spec.name}' and ${batches.length} batches of ${values.location} weather are in ${store.description}:`);
  for (const b of batches) io.stdout(`  ${b}`);
  return 0;
}
