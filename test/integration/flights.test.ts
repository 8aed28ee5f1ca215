/**
 * The second model, at a size a laptop test can afford: every 20th of the 3
 * million flights (150,000 rows), delivered as six monthly Parquet batches,
 * through the same pipeline as the weather model, on two training workers
 * (this process's and a worker program of role training) that share the
 * validation of the batches and the parts of the snapshot. The full 3
 * million rows run in scripts/bench/flights-pipeline.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSnapshotTable, rowSetId } from '../../src/data';
import { literal, withConnection } from '../../src/data/engine';
import { bootstrapFlights } from '../../src/demo/flights';
import type { ModelSpec } from '../../src/spec';
import { keys, sha256 } from '../../src/store';
import { startRetrain } from '../../src/temporal';
import { startProgram } from '../faults/faults';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

let h: Harness;
let worker: { stop(): Promise<void> };
let secondWorker: ReturnType<typeof startProgram> | undefined;
let spec: ModelSpec;
let batches: { key: string; rows: number }[];
const model = `flights-${uniqueId()}`;

beforeAll(async () => {
  h = await createHarness();
  worker = await h.startWorker();
  secondWorker = startProgram(h, 'src/worker/main.ts', { PERENNIAL_WORKER_ROLE: 'training' });
  ({ spec, batches } = await bootstrapFlights(h.store, { model, everyNth: 20 }));
  await waitFor(
    'the second training worker',
    () => secondWorker!.output.includes('(heavy work)'),
    120,
    () => secondWorker!.output,
  );
});

afterAll(async () => {
  if (secondWorker && secondWorker.exitCode === null && secondWorker.signalCode === null) {
    secondWorker.kill('SIGTERM');
    await new Promise((resolve) => secondWorker!.once('exit', resolve));
  }
  await worker?.stop();
  await h?.close();
});

describe('the flights model (regression on arrival delay), monthly Parquet batches', () => {
  it('trains on every month through the same pipeline and promotes a model with a lower RMSE than the mean', async () => {
    expect(batches.map((b) => b.key.split('/').pop())).toEqual(['01', '02', '03', '04', '05', '06'].map((m) => `flights-2001-${m}.parquet`));
    const delivered = batches.reduce((n, b) => n + b.rows, 0);
    expect(delivered).toBe(150_000);

    // Parts of 20,000 rows: each 25,000-row month is summed in two parts.
    const { handle } = await startRetrain(h.client, h.config, { model, trigger: 'manual', partitionRows: 20_000 });
    const result = await handle.result();
    expect(result.outcome, result.message).toBe('promoted');
    const metrics = result.metrics!.candidate;
    expect(metrics.task).toBe('regression');
    const rmse = metrics.task === 'regression' ? metrics.rmse : NaN;
    // The baseline predicts the training mean: the model must do better on the newest 10% of flights.
    expect(rmse).toBeLessThan(result.metrics!.baseline!);

    const lineage = (await h.registry.getLineage(model, result.version!))!;
    expect(lineage.data.rows).toBe(delivered);
    expect(lineage.data.trainRows + lineage.data.holdoutRows).toBe(delivered);
    expect(lineage.data.holdoutRows).toBeGreaterThanOrEqual(delivered * 0.1);
    expect(lineage.data.batches.sort()).toEqual(batches.map((b) => b.key).sort());
    expect(lineage.data.timeRange?.from.startsWith('2001-01-01')).toBe(true);
    expect(lineage.data.timeRange?.to.startsWith('2001-06-30')).toBe(true);

    // The snapshot is one Parquet file, rows in time order, its bytes as recorded.
    const bytes = await h.store.get(lineage.data.snapshotKey);
    expect(sha256(bytes)).toBe(lineage.data.snapshotFileSha256);
    const dir = await mkdtemp(join(tmpdir(), 'flights-'));
    try {
      await writeFile(join(dir, 'snapshot.parquet'), bytes);
      const table = await readSnapshotTable(join(dir, 'snapshot.parquet'), spec.schema, lineage.data.snapshotKey);
      expect(table.rows).toBe(delivered);
      const times = (table.columns.get('date') as { values: Float64Array }).values;
      let sorted = true;
      for (let i = 1; i < times.length; i++) if (times[i]! < times[i - 1]!) sorted = false;
      expect(sorted).toBe(true);
      // The id the workers summed in parts is the one the stored rows give, hashed in one place.
      const whole = await withConnection((c) => rowSetId(c, `read_parquet(${literal(join(dir, 'snapshot.parquet'))})`, spec.schema));
      expect(whole).toEqual({ id: lineage.data.snapshotSha256, rows: delivered });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // Both training workers took batches to validate and parts to sum.
    const history = await handle.fetchHistory();
    const typeOf = new Map<string, string>();
    const workersOf = new Map<string, Map<string, number>>();
    for (const event of history.events ?? []) {
      const scheduled = event.activityTaskScheduledEventAttributes;
      if (scheduled) typeOf.set(String(event.eventId), scheduled.activityType!.name!);
      const started = event.activityTaskStartedEventAttributes;
      if (!started) continue;
      const type = typeOf.get(String(started.scheduledEventId))!;
      const byWorker = workersOf.get(type) ?? new Map<string, number>();
      byWorker.set(started.identity!, (byWorker.get(started.identity!) ?? 0) + 1);
      workersOf.set(type, byWorker);
    }
    const fannedOut = [...(workersOf.get('validateBatch') ?? []), ...(workersOf.get('snapshotPart') ?? [])];
    const tasksBy = new Map<string, number>();
    for (const [identity, n] of fannedOut) tasksBy.set(identity, (tasksBy.get(identity) ?? 0) + n);
    console.info(`flights: validateBatch and snapshotPart tasks per training worker: ${[...tasksBy].map(([w, n]) => `${w} ${n}`).join(', ')}`);
    expect([...(workersOf.get('validateBatch')?.values() ?? [])].reduce((a, b) => a + b, 0)).toBe(6);
    expect([...(workersOf.get('snapshotPart')?.values() ?? [])].reduce((a, b) => a + b, 0)).toBe(12);
    expect(tasksBy.size, `tasks by worker: ${JSON.stringify([...tasksBy])}`).toBe(2);
    expect(result.stages.find((s) => s.stage === 'snapshot')!.detail).toContain('12 part(s) summed on the training workers');

    // Each batch was validated into Parquet once, under this schema.
    const validated = await h.store.list(keys.validatedBatches(model));
    expect(validated.map((o) => o.key.endsWith('.parquet'))).toEqual(batches.map(() => true));
  });
});
