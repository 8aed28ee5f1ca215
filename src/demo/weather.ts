/**
 * The demo's real data: Seattle and New York daily weather 2012-2015 from the
 * vega-datasets npm package. Bootstrapping puts one batch per year into S3's
 * incoming/ folder, as a production feed would.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { formatCsv, formatJsonl, parseCsv, type Cell } from '../data';
import { loadModelSpecFile, publishSpec, type ModelSpec } from '../spec';
import { checkName } from '../names';
import { keys, type ObjectStore } from '../store';

const require = createRequire(import.meta.url);

/** A file of the vega-datasets package (its exports map hides data/, so go through the package folder). */
export function vegaDataPath(file: string): string {
  let dir = dirname(require.resolve('vega-datasets'));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  const path = join(dir, 'data', file);
  if (!existsSync(path)) throw new Error(`vega-datasets has no data/${file} (looked in ${dir}); run 'npm install'`);
  return path;
}

export const WEATHER_SPEC_PATH = new URL('../../models/weather.yaml', import.meta.url).pathname;

export interface WeatherRows {
  columns: string[];
  rows: Cell[][];
}

/** weather.csv rows of one location (or all), in file order. */
export async function weatherRows(location?: 'Seattle' | 'New York'): Promise<WeatherRows> {
  const table = parseCsv(await readFile(vegaDataPath('weather.csv')), 'vega-datasets/data/weather.csv', { onRowError: 'throw' });
  const at = table.columns.indexOf('location');
  return { columns: table.columns, rows: location ? table.rows.filter((r) => r[at] === location) : table.rows };
}

export interface BootstrapOptions {
  model?: string;
  location?: 'Seattle' | 'New York';
  years?: number[];
  /** Write one of the batches as JSON Lines, as some feeds do. */
  jsonlYear?: number;
}

/** Uploads the spec and one incoming batch per year. Idempotent: same bytes, same keys. */
export async function bootstrapWeather(store: ObjectStore, options: BootstrapOptions = {}): Promise<{ spec: ModelSpec; batches: string[] }> {
  const location = options.location ?? 'Seattle';
  // Checked before anything is written: a bad name must not leave a spec or batches behind.
  const spec = { ...(await loadModelSpecFile(WEATHER_SPEC_PATH)), name: checkName('model', options.model ?? 'weather', '--model') };
  await publishSpec(store, spec);
  const { columns, rows } = await weatherRows(location);
  const dateAt = columns.indexOf('date');
  const batches: string[] = [];
  for (const year of options.years ?? [2012, 2013, 2014, 2015]) {
    const yearRows = rows.filter((r) => String(r[dateAt]).startsWith(`${year}-`));
    const slug = location.toLowerCase().replace(/\s+/g, '-');
    const asJsonl = options.jsonlYear === year;
    const key = keys.incomingBatch(spec.name, `${slug}-${year}.${asJsonl ? 'jsonl' : 'csv'}`);
    const typed = yearRows.map((r) => r.map((c, i) => (c !== null && ['precipitation', 'temp_max', 'temp_min', 'wind'].includes(columns[i]!) ? Number(c) : c)));
    await store.put(key, asJsonl ? formatJsonl(columns, typed) : formatCsv(columns, yearRows));
    batches.push(key);
  }
  return { spec, batches };
}
