/** vega-datasets' weather.csv read as the pipeline reads a batch: through the engine, checked against its inferred schema. */
import { inferSchema, readColumnTable, readValidated, rowsOf, type ColumnTable, type TypedRow } from '../../src/data';
import { vegaDataPath } from '../../src/demo/weather';

export const WEATHER_CSV = vegaDataPath('weather.csv');

/** The accepted rows as typed columns (date as a date column). */
export async function weatherTable(): Promise<ColumnTable> {
  const schema = inferSchema(await readColumnTable(WEATHER_CSV));
  const { table } = await readValidated(WEATHER_CSV, schema, { source: 'weather.csv' });
  return table!;
}

/** The same rows as objects (dates as ISO text), for the row-based entry points. */
export async function weatherRows(): Promise<TypedRow[]> {
  return rowsOf(await weatherTable());
}

/** Row n of a deterministic stream of weather requests (both locations, every month) as a model server receives it. */
export function weatherRequestRow(n: number) {
  return {
    precipitation: (n % 7) * 1.3,
    temp_max: 5 + (n % 23),
    temp_min: (n % 11) - 2,
    wind: 1 + (n % 5) * 0.7,
    location: n % 3 === 0 ? 'New York' : 'Seattle',
    date: `2015-${String(1 + (n % 12)).padStart(2, '0')}-${String(1 + (n % 28)).padStart(2, '0')}`,
  };
}
