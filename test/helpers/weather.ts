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
