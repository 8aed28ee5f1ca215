/**
 * The production-size demo: 3 million US flights, January to June 2001
 * (vega-datasets flights-3m.parquet), delivered as one Parquet batch per
 * month into S3's incoming/ folder, as an airline's monthly feed would.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { partitionByMonth } from '../data';
import { checkName } from '../names';
import { loadModelSpecFile, publishSpec, type ModelSpec } from '../spec';
import { keys, type ObjectStore } from '../store';
import { vegaDataPath } from './weather';

export const FLIGHTS_SPEC_PATH = new URL('../../models/flights.yaml', import.meta.url).pathname;

export interface FlightsOptions {
  model?: string;
  /** Months to deliver (YYYY-MM); default every month of the file. */
  months?: string[];
  /** Keep every nth flight (a smaller sample over every day); default 1, all 3 million. */
  everyNth?: number;
}

/** Uploads the spec and one batch per month. Idempotent: same rows, same bytes, same keys. */
export async function bootstrapFlights(
  store: ObjectStore,
  options: FlightsOptions = {},
): Promise<{ spec: ModelSpec; batches: { key: string; rows: number }[] }> {
  const spec = { ...(await loadModelSpecFile(FLIGHTS_SPEC_PATH)), name: checkName('model', options.model ?? 'flights', '--model') };
  await publishSpec(store, spec);
  const dir = await mkdtemp(join(tmpdir(), 'perennial-flights-'));
  try {
    const parts = await partitionByMonth(vegaDataPath('flights-3m.parquet'), {
      timeColumn: spec.data.timeColumn,
      outDir: dir,
      prefix: 'flights',
      months: options.months,
      everyNth: options.everyNth,
    });
    const batches: { key: string; rows: number }[] = [];
    for (const part of parts) {
      const key = keys.incomingBatch(spec.name, `flights-${part.month}.parquet`);
      await store.put(key, await readFile(part.path), { contentType: 'application/vnd.apache.parquet' });
      batches.push({ key, rows: part.rows });
    }
    return { spec, batches };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
