/**
 * Data sources beyond incoming/, on the real S3 server and a real HTTP server
 * on loopback: ingest pulls a prefix of another bucket and a file at a URL on
 * every run, downloads only what changed (S3 ETags, HTTP conditional GET),
 * and the batches go through validate and snapshot like any other, the
 * source named in the manifest. A source that cannot be pulled as configured
 * fails the run, naming the source.
 */
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipelineActivities } from '../../activities/pipeline';
import type { IngestOutput, SnapshotInput, SnapshotOutput, ValidateInput, ValidateOutput } from '../../activities/types';
import { formatCsv, formatJsonl } from '../../src/data';
import { bootstrapWeather, weatherRows } from '../../src/demo/weather';
import { publishSpec, type ModelSpec } from '../../src/spec';
import { keys } from '../../src/store';
import { createHarness, uniqueId, type Harness } from './harness';

let h: Harness;
let spec: ModelSpec;
let server: Server;
let url: string;
const model = `sources-${uniqueId()}`;
const otherBucket = `perennial-feed-${uniqueId()}`;

// The HTTP file: its body, an ETag from its bytes, and what the server was asked.
let httpBody: Buffer = Buffer.alloc(0);
const requests: { ifNoneMatch?: string; status: number }[] = [];
const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`;

async function yearCsv(year: number): Promise<Buffer> {
  const { columns, rows } = await weatherRows('Seattle');
  return Buffer.from(
    formatCsv(
      columns,
      rows.filter((r) => String(r[1]).startsWith(`${year}-`)),
    ),
  );
}
async function yearJsonl(year: number): Promise<Buffer> {
  const { columns, rows } = await weatherRows('Seattle');
  const typed = rows.filter((r) => String(r[1]).startsWith(`${year}-`)).map((r) => r.map((c, j) => (j >= 2 && j <= 5 && c !== null ? Number(c) : c)));
  return Buffer.from(formatJsonl(columns, typed));
}

beforeAll(async () => {
  h = await createHarness();
  ({ spec } = await bootstrapWeather(h.store, { model, years: [] }));
  server = createServer((req, res) => {
    if (req.url !== '/feeds/seattle-2014.jsonl') {
      requests.push({ status: 404 });
      res.writeHead(404).end('no such file');
      return;
    }
    const etag = etagOf(httpBody);
    const ifNoneMatch = req.headers['if-none-match'];
    const status = ifNoneMatch === etag ? 304 : 200;
    requests.push({ ifNoneMatch, status });
    if (status === 304) res.writeHead(304, { etag }).end();
    else res.writeHead(200, { etag, 'content-type': 'application/x-ndjson' }).end(httpBody);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/feeds/seattle-2014.jsonl`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  await h?.close();
});

describe('data sources: another bucket and an HTTP file', () => {
  it('pulls what is new or changed on every run, and validate and snapshot treat it like any batch', async () => {
    const feed = h.store.inBucket(otherBucket);
    await feed.ensureBucket();
    await feed.put('exports/weather/seattle-2012.csv', await yearCsv(2012));
    await feed.put('exports/weather/README.txt', 'not data: skipped');
    httpBody = await yearJsonl(2014);
    await publishSpec(h.store, {
      ...spec,
      data: {
        ...spec.data,
        sources: [
          { kind: 's3', name: 'warehouse', bucket: otherBucket, prefix: 'exports/weather/' },
          { kind: 'http', name: 'partner', url },
        ],
      },
    });
    await h.store.put(keys.incomingBatch(model, 'seattle-2013.csv'), await yearCsv(2013));

    const activities = createPipelineActivities(h.deps);
    const env = new MockActivityEnvironment();
    const ingest = (): Promise<IngestOutput> => env.run((i: { model: string }) => activities.ingest(i), { model });

    const first = await ingest();
    expect(first.batches.map((b) => [b.key, b.source])).toEqual([
      [keys.incomingBatch(model, 'partner/seattle-2014.jsonl'), 'partner'],
      [keys.incomingBatch(model, 'seattle-2013.csv'), undefined],
      [keys.incomingBatch(model, 'warehouse/seattle-2012.csv'), 'warehouse'],
    ]);
    expect(requests).toEqual([{ ifNoneMatch: undefined, status: 200 }]);

    const validated: ValidateOutput = await env.run((i: ValidateInput) => activities.validate(i), { model, spec: first.spec, batches: first.batches });
    expect(validated.rowsAccepted).toBe(366 + 365 + 365);
    const snapshot: SnapshotOutput = await env.run((i: SnapshotInput) => activities.snapshot(i), {
      model,
      spec: first.spec,
      base: null,
      accepted: validated.accepted,
    });
    const manifest = JSON.parse((await h.store.get(keys.snapshotManifest(model, snapshot.sha256))).toString());
    expect(manifest.batches.map((b: { key: string; source?: string }) => b.source).sort()).toEqual(['partner', 'warehouse', undefined].sort());

    // Nothing changed at either source: the HTTP server answers 304, the bucket's object is not read again.
    const stateBefore = await h.store.get(keys.sourceState(model, 'warehouse'));
    const again = await ingest();
    expect(requests.at(-1)).toEqual({ ifNoneMatch: etagOf(httpBody), status: 304 });
    expect((await h.store.get(keys.sourceState(model, 'warehouse'))).equals(stateBefore)).toBe(true);
    expect(again.batches.map((b) => b.key).sort()).toEqual(first.batches.map((b) => b.key).sort()); // no champion yet: all still new

    // The partner's file changes: downloaded again (new ETag), and it is a new batch of its own content.
    httpBody = await yearJsonl(2015);
    const third = await ingest();
    expect(requests.at(-1)).toEqual({ ifNoneMatch: etagOf(await yearJsonl(2014)), status: 200 });
    const partner = third.batches.find((b) => b.source === 'partner')!;
    expect(partner.sha256).toBe(createHash('sha256').update(httpBody).digest('hex'));
  });

  it('a source that cannot be pulled as configured fails ingest naming the source, and is not retried', async () => {
    const activities = createPipelineActivities(h.deps);
    const env = new MockActivityEnvironment();
    const ingest = (): Promise<IngestOutput> => env.run((i: { model: string }) => activities.ingest(i), { model });
    await publishSpec(h.store, { ...spec, data: { ...spec.data, sources: [{ kind: 'http', name: 'partner', url: url.replace('seattle-2014', 'gone') }] } });
    await expect(ingest()).rejects.toMatchObject({
      name: 'SourceError',
      message: expect.stringMatching(/^data source 'partner' \(http:\/\/127\.0\.0\.1:\d+\/feeds\/gone\.jsonl\): answered 404 Not Found/),
    });
    await publishSpec(h.store, {
      ...spec,
      data: { ...spec.data, sources: [{ kind: 's3', name: 'warehouse', bucket: `no-such-${uniqueId()}`, prefix: 'x/' }] },
    });
    const missing = await ingest().catch((error: Error) => error);
    expect(missing).toMatchObject({
      name: 'SourceError',
      message: expect.stringMatching(/^data source 'warehouse' \(s3:\/\/no-such-.*: bucket 'no-such-[0-9a-f]+' does not exist/),
    });
    // The hint is about the spec, not about S3_BUCKET (this store's own bucket is fine).
    expect((missing as Error).message).not.toContain('S3_BUCKET');
    expect((missing as Error).message).toContain("fix data.sources' bucket or prefix");
  });
});
