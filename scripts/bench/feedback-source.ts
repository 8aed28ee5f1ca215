/**
 * npm run bench:feedback-source -- [--rows 200000] [--parts 20] — prints figures, asserts nothing.
 *
 * The engine's side of a `feedback` data source (src/data/feedback-batch.ts)
 * on local files, without S3 (downloads cost what the store's reads cost):
 *
 *  1. Generates `parts` joined feedback parts of the weather model (`rows` in
 *     all, 10% flags without a label, 2% of the ids again in another part), as
 *     the model server writes them (not timed).
 *  2. First pull: every part into one batch.
 *  3. Second pull: every part again plus one new part, leaving out the ids the
 *     first batch delivered (the cost of a source that forgot its ETags).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { literal, withConnection } from '../../src/data/engine';
import { writeFeedbackBatch } from '../../src/data/feedback-batch';
import { loadModelSpecFile } from '../../src/spec';
import { WEATHER_SPEC_PATH } from '../../src/demo/weather';

const { values } = parseArgs({ options: { rows: { type: 'string', default: '200000' }, parts: { type: 'string', default: '20' } } });
const rows = Number(values.rows);
const partCount = Number(values.parts);

/** One part of rows [from, to): ids from..to-1, plus the 2% of the previous part's ids again (a re-processed segment). */
async function writePart(path: string, from: number, to: number): Promise<void> {
  const again = Math.floor((to - from) * 0.02);
  await withConnection((c) =>
    c.run(`COPY (
      SELECT 'p-' || i AS prediction_id,
             TIMESTAMPTZ '2026-11-30 10:00:00+00' + to_seconds(i) AS feedback_time,
             TIMESTAMPTZ '2026-11-30 09:00:00+00' + to_seconds(i) AS prediction_time,
             'weather' AS model, 'v1' AS version, 'champion' AS arm,
             {'precipitation': (i % 7) * 1.3, 'temp_max': 5.0 + i % 23, 'temp_min': (i % 11) - 2.0, 'wind': 1 + (i % 5) * 0.7,
              'location': CASE WHEN i % 3 = 0 THEN 'New York' ELSE 'Seattle' END,
              'date': TIMESTAMP '2015-01-01' + to_days((i % 365)::INTEGER)} AS inputs,
             'sun' AS predicted_label,
             CASE WHEN i % 10 = 0 THEN NULL ELSE ['drizzle', 'fog', 'rain', 'snow', 'sun'][1 + i % 5] END AS label,
             CASE WHEN i % 10 = 0 THEN 'wrong' END AS flag
      FROM range(${Math.max(0, from - again)}, ${to}) t(i)
    ) TO ${literal(path)} (FORMAT parquet, COMPRESSION zstd)`),
  );
}

const dir = await mkdtemp(join(tmpdir(), 'perennial-bench-feedback-'));
try {
  const spec = await loadModelSpecFile(WEATHER_SPEC_PATH);
  const options = { schema: spec.schema, label: spec.label, timeColumn: spec.data.timeColumn, features: spec.features.map((f) => f.name), labelsOnly: true };
  const per = Math.ceil(rows / partCount);
  const parts = [];
  for (let p = 0; p < partCount; p++) {
    const path = join(dir, `part-${p}.parquet`);
    await writePart(path, p * per, Math.min(rows, (p + 1) * per));
    parts.push({ path, key: path });
  }
  const first = join(dir, 'batch-1.parquet');
  let t = performance.now();
  const one = await writeFeedbackBatch(parts, [], first, options);
  const s1 = (performance.now() - t) / 1000;
  console.log(`first pull: ${parts.length} parts, ${one.read} rows read in ${s1.toFixed(2)} s (${Math.round(one.read / s1)} rows/s): ${JSON.stringify(one)}`);

  const extra = join(dir, 'part-new.parquet');
  await writePart(extra, rows, rows + per);
  t = performance.now();
  const two = await writeFeedbackBatch([...parts, { path: extra, key: extra }], [first], join(dir, 'batch-2.parquet'), options);
  const s2 = (performance.now() - t) / 1000;
  console.log(
    `second pull (all parts again + 1 new, against ${one.rows} delivered ids): ${two.read} rows read in ${s2.toFixed(2)} s (${Math.round(two.read / s2)} rows/s): ${JSON.stringify(two)}`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
