import { loadConfig } from '../config';
import { bootstrapWeather } from '../demo/weather';
import { S3Store } from '../store';
import { parseCommandArgs } from './args';
import type { CliIo } from './io';

/** `perennial bootstrap [--model weather] [--location Seattle|New York]`: the demo's data and spec into S3. */
export async function runBootstrapCommand(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs('bootstrap', argv, {
    model: { type: 'string', default: 'weather' },
    location: { type: 'string', default: 'Seattle' },
  });
  if (values.location !== 'Seattle' && values.location !== 'New York') throw new Error(`--location must be 'Seattle' or 'New York', not '${values.location}'`);
  const store = S3Store.fromConfig(loadConfig());
  const { spec, batches } = await bootstrapWeather(store, { model: values.model, location: values.location, jsonlYear: 2015 });
  io.stdout(`spec of '${spec.name}' and ${batches.length} batches of ${values.location} weather are in ${store.description}:`);
  for (const b of batches) io.stdout(`  ${b}`);
  return 0;
}
