/**
 * Makes test/fixtures/cbpe/weather-probabilities.csv, the input of the CBPE
 * reference (scripts/reference/cbpe_fixtures.py runs NannyML on it; the unit
 * test runs Perennial's CBPE on it). Not part of the product.
 *
 *   npx tsx scripts/reference/cbpe-weather-probabilities.ts
 *
 * The weather model of models/weather.yaml trained the way the pipeline
 * trains it (the same fit, training child and time-based holdout) on Seattle
 * 2012-2014. Rows written, each with the model's probability of every class:
 * - reference: the holdout (the newest 20% of those rows), with its labels;
 * - analysis chunks it never trained on: Seattle 2015 by quarter, New York
 *   2015 by quarter, New York 2012-2014.
 * Probabilities are the model's float32 outputs written as the exact doubles
 * they are, so both languages read the same numbers.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { cellAt, inferSchema, readColumnTable, readValidated, splitByTime } from '../../src/data';
import { vegaDataPath, WEATHER_SPEC_PATH } from '../../src/demo/weather';
import { columnarData, columnsOf, loadModel, predict, runFitInChild, runTrainingInChild, selectBackend } from '../../src/model';
import { encodeTable, labeledRowIndexes } from '../../src/preprocess';
import { loadModelSpecFile } from '../../src/spec';

const OUT = new URL('../../test/fixtures/cbpe/weather-probabilities.csv', import.meta.url).pathname;

async function main() {
  const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
  const csv = vegaDataPath('weather.csv');
  const { table } = await readValidated(csv, inferSchema(await readColumnTable(csv)), { source: 'weather.csv' });
  if (!table) throw new Error('weather.csv: no rows accepted');
  const location = table.columns.get('location')!;
  const date = table.columns.get('date')!;
  const at = (i: number) => ({ location: String(cellAt(location, i)), day: String(cellAt(date, i)).slice(0, 10) });
  const labeled = labeledRowIndexes(table, spec.label);
  const where = (test: (row: { location: string; day: string }) => boolean) => labeled.filter((i) => test(at(i)));
  // The pipeline's rows are sorted by time: so are one location's rows of weather.csv.
  const { train, holdout, from } = splitByTime(
    table,
    where((r) => r.location === 'Seattle' && r.day < '2015-01-01'),
    spec.evaluation.holdoutFraction,
    spec.data.timeColumn,
  );
  const labelField = spec.schema.fields.find((f) => f.name === spec.label);
  if (labelField?.type !== 'category' || !labelField.values) throw new Error(`${WEATHER_SPEC_PATH}: the label is not a category with values`);
  const classes = labelField.values;
  const { artifact } = await runFitInChild({
    data: columnsOf(table, [...spec.features.map((f) => f.name), spec.label]),
    features: spec.features,
    label: spec.label,
    task: spec.task,
    classes,
    standardize: false,
    rows: train,
  });
  const trained = await runTrainingInChild({ data: columnarData(table, artifact), artifact, trainRows: train, params: spec.model });
  const backend = await selectBackend(trained.backend, { log: () => {} });
  const model = await loadModel(backend.tf, trained.model);

  const quarter = (day: string) => `Q${Math.floor((Number(day.slice(5, 7)) - 1) / 3) + 1}`;
  const sets: { set: string; chunk: (i: number) => string; rows: Int32Array }[] = [
    { set: 'reference', chunk: () => 'holdout', rows: holdout },
    { set: 'analysis', chunk: (i) => `Seattle 2015 ${quarter(at(i).day)}`, rows: where((r) => r.location === 'Seattle' && r.day >= '2015-01-01') },
    { set: 'analysis', chunk: (i) => `New York 2015 ${quarter(at(i).day)}`, rows: where((r) => r.location === 'New York' && r.day >= '2015-01-01') },
    { set: 'analysis', chunk: () => 'New York 2012-2014', rows: where((r) => r.location === 'New York' && r.day < '2015-01-01') },
  ];
  const lines = [['set', 'chunk', 'location', 'date', 'label', 'predicted', ...classes.map((c) => `p_${c}`)].join(',')];
  for (const { set, chunk, rows } of sets) {
    const encoded = encodeTable(artifact, table, rows);
    const p = await predict(model, encoded.x, { tf: backend.tf });
    for (let r = 0; r < rows.length; r++) {
      const row = Array.from(p.subarray(r * classes.length, (r + 1) * classes.length));
      // The first of tied maxima, as the model server answers.
      const best = row.reduce((b, v, j) => (v > row[b]! ? j : b), 0);
      const { location: loc, day } = at(rows[r]!);
      lines.push([set, chunk(rows[r]!), loc, day, classes[encoded.y[r]!], classes[best], ...row.map(String)].join(','));
    }
  }
  model.dispose();
  await mkdir(dirname(OUT), { recursive: true });
  await writeFile(OUT, lines.join('\n') + '\n');
  console.log(`${OUT}: ${lines.length - 1} rows; trained on ${train.length} Seattle rows on ${trained.backend}, holdout ${holdout.length} rows from ${from}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
