/**
 * The data activities on the real S3 gateway, called directly (they need no
 * workflow context): bad rows within the error budget are quarantined and the
 * rest is used; snapshots are content-addressed and built once.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatasetActivities, listNewBatches } from '../../activities/datasets';
import { formatCsv, formatJsonl } from '../../src/data';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import type { ModelSpec } from '../../src/spec';
import type { SnapshotInput, SnapshotOutput, ValidateInput, ValidateOutput } from '../../activities/types';
import { keys, sha256 } from '../../src/store';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let spec: ModelSpec;
const model = `data-${uniqueId()}`;

beforeAll(async () => {
  h = await createHarness();
  ({ spec } = await bootstrapWeather(h.store, { model, years: [] }));
});
afterAll(async () => {
  await h?.close();
});

describe('validate and snapshot on S3', () => {
  it('quarantines the bad rows of a batch within the error budget and keeps the others', async () => {
    const { columns, rows } = await weatherRows('Seattle');
    const year = rows.filter((r) => String(r[1]).startsWith('2013-')).map((r) => [...r]);
    year[9]![columns.indexOf('wind')] = '-3'; // below the schema's minimum 0: file row 11
    await h.store.put(keys.incomingBatch(model, '2013.csv'), formatCsv(columns, year));
    const batches = await listNewBatches(h.store, model, null);
    expect(batches.map((b) => b.key)).toEqual([keys.incomingBatch(model, '2013.csv')]);

    const activities = createDatasetActivities(h.deps);
    const env = new MockActivityEnvironment(); // an activity context (logger, heartbeats); the services are real
    const validate = (input: ValidateInput): Promise<ValidateOutput> => env.run((i: ValidateInput) => activities.validate(i), input);
    const snapshot = (input: SnapshotInput): Promise<SnapshotOutput> => env.run((i: SnapshotInput) => activities.snapshot(i), input);
    const out = await validate({ model, spec, batches });
    expect(out.rowsAccepted).toBe(364);
    expect(out.rowsRejected).toBe(1);
    const quarantine = JSON.parse((await h.store.get(out.accepted[0]!.quarantineKey!)).toString());
    expect(quarantine.rows).toEqual([11]);
    expect(quarantine.errors[0]).toMatchObject({ row: 11, column: 'wind', reason: '-3 is below the minimum 0' });
    // The batch stays in incoming: its good rows are used, and the manifest records it.
    expect(await h.store.head(keys.incomingBatch(model, '2013.csv'))).not.toBeNull();

    const first = await snapshot({ model, spec, base: null, accepted: out.accepted });
    expect(first.created).toBe(true);
    expect(first.rows).toBe(364);
    // A Parquet file, checked by the sha256 of its bytes; named by the hash of its rows.
    const stored = await h.store.get(first.key);
    expect(stored.subarray(0, 4).toString()).toBe('PAR1');
    expect(first.key).toBe(keys.snapshot(model, first.sha256));
    expect(sha256(stored)).toBe(first.fileSha256);
    expect(first.timeRange).toEqual({ from: '2013-01-01', to: '2013-12-31' });

    // Validating and snapshotting the same batch again (a retry) changes nothing.
    const again = await validate({ model, spec, batches });
    const second = await snapshot({ model, spec, base: null, accepted: again.accepted });
    expect(second).toMatchObject({ created: false, sha256: first.sha256, rows: 364 });
    expect((await h.store.list(keys.snapshots(model))).length).toBe(2); // the Parquet file and its manifest

    // Other bytes (the good rows as JSON Lines) are a new batch relative to that snapshot.
    const asJsonl = formatJsonl(
      columns,
      year.filter((_, i) => i !== 9).map((r) => r.map((c, j) => (j >= 2 && j <= 5 ? Number(c) : c))),
    );
    await h.store.put(keys.incomingBatch(model, '2013-copy.jsonl'), asJsonl);
    const next = await listNewBatches(h.store, model, first);
    expect(next.map((b) => b.key)).toEqual([keys.incomingBatch(model, '2013-copy.jsonl')]);

    // ...but the same rows: alone they make the same snapshot, whatever the format.
    const fromJsonl = await validate({ model, spec, batches: next });
    expect(fromJsonl).toMatchObject({ rowsAccepted: 364, rowsRejected: 0 });
    const same = await snapshot({ model, spec, base: null, accepted: fromJsonl.accepted });
    expect(same).toMatchObject({ created: false, sha256: first.sha256, key: first.key, rows: 364 });
  });

  it('the same content under another name is not a new batch', async () => {
    const body = await h.store.get(keys.incomingBatch(model, '2013.csv'));
    await h.store.put(keys.incomingBatch(model, '2013-again.csv'), body);
    const base = { sha256: 'x', key: 'x', rows: 0, batches: [{ key: keys.incomingBatch(model, '2013.csv'), sha256: sha256(body), bytes: body.length }] };
    const batches = await listNewBatches(h.store, model, base);
    expect(batches.map((b) => b.key)).not.toContain(keys.incomingBatch(model, '2013-again.csv'));
  });
});
