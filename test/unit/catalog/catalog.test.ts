import { describe, expect, it } from 'vitest';
import {
  CatalogUsageError,
  compareSnapshotFiles,
  diffBatches,
  diffSchemas,
  formatList,
  formatShow,
  listEntries,
  resolveSnapshot,
  type Catalog,
  type CatalogSnapshot,
} from '../../../src/catalog';
import { tempFiles } from '../../helpers/temp-files';

const A = 'aaaa1111' + '0'.repeat(56);
const B = 'aaaa2222' + '0'.repeat(56);
const C = 'cccc3333' + '0'.repeat(56);

function snapshot(id: string, over: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    id,
    key: `datasets/m/snapshots/${id}.parquet`,
    format: 'parquet',
    fileSha256: 'f'.repeat(64),
    rows: 10,
    timeRange: { from: '2012-01-01', to: '2012-12-31' },
    batches: [{ key: 'datasets/m/incoming/a.csv', sha256: '1'.repeat(64) }],
    createdAt: '2026-01-01T00:00:00.000Z',
    columns: ['date', 'x'],
    window: { kind: 'all' },
    manifest: true,
    ...over,
  };
}

const catalog: Catalog = {
  model: 'm',
  snapshots: [snapshot(C, { createdAt: '2026-01-03T00:00:00.000Z', rows: 30 }), snapshot(B, { createdAt: '2026-01-02T00:00:00.000Z' }), snapshot(A)],
  versions: [
    { version: 'v1', snapshot: A, createdAt: '2026-01-01T00:00:00.000Z' },
    { version: 'v2', snapshot: C, createdAt: '2026-01-03T00:00:00.000Z' },
    { version: 'v3', snapshot: C, createdAt: '2026-01-04T00:00:00.000Z' },
  ],
  champion: 'v3',
};

describe('resolveSnapshot', () => {
  it('takes a full id, a unique prefix (any case), a version or champion', () => {
    expect(resolveSnapshot(catalog, A).id).toBe(A);
    expect(resolveSnapshot(catalog, 'AAAA1').id).toBe(A);
    expect(resolveSnapshot(catalog, 'c').id).toBe(C);
    expect(resolveSnapshot(catalog, 'v1').id).toBe(A);
    expect(resolveSnapshot(catalog, 'champion').id).toBe(C);
  });

  it('refuses an ambiguous prefix naming the candidates', () => {
    expect(() => resolveSnapshot(catalog, 'aaaa')).toThrow(CatalogUsageError);
    expect(() => resolveSnapshot(catalog, 'aaaa')).toThrow("--snapshot aaaa: 2 snapshots start with 'aaaa' (aaaa22220000, aaaa11110000); give more of the id");
  });

  it('refuses an unknown id, version or name, naming what exists', () => {
    const has = "model 'm' has: cccc33330000 (v2, v3), aaaa22220000, aaaa11110000 (v1); versions v1, v2, v3";
    expect(() => resolveSnapshot(catalog, 'dead', '--from')).toThrow(`--from dead: no snapshot of model 'm' starts with 'dead'; ${has}`);
    expect(() => resolveSnapshot(catalog, 'v9', '--to')).toThrow(`--to v9: model 'm' has no version 'v9'; ${has}`);
    expect(() => resolveSnapshot(catalog, 'latest')).toThrow(`--snapshot latest: not a snapshot id (hex), a version (vN) or 'champion'; ${has}`);
    expect(() => resolveSnapshot(catalog, ' ')).toThrow(CatalogUsageError);
  });

  it('says so when a version was trained on a snapshot no longer stored, or there is no champion', () => {
    const gone: Catalog = { ...catalog, snapshots: [snapshot(B)], champion: null };
    expect(() => resolveSnapshot(gone, 'v1')).toThrow(`v1 was trained on snapshot aaaa11110000, which is no longer stored; model 'm' has: aaaa22220000`);
    expect(() => resolveSnapshot(gone, 'champion')).toThrow("--snapshot champion: model 'm' has no champion");
    const none: Catalog = { model: 'm', snapshots: [], versions: [], champion: null };
    expect(() => resolveSnapshot(none, 'abc')).toThrow("model 'm' has no snapshots yet");
  });
});

describe('diffBatches', () => {
  it('compares by content: a batch renamed is the same batch', () => {
    const from = [
      { key: 'in/a.csv', sha256: 'a' },
      { key: 'in/b.csv', sha256: 'b' },
    ];
    const to = [
      { key: 'in/b-renamed.csv', sha256: 'b' },
      { key: 'in/c.csv', sha256: 'c', source: 'feed' },
    ];
    expect(diffBatches(from, to)).toEqual({ added: [{ key: 'in/c.csv', sha256: 'c', source: 'feed' }], removed: [{ key: 'in/a.csv', sha256: 'a' }], kept: 1 });
    expect(diffBatches(to, to)).toEqual({ added: [], removed: [], kept: 2 });
  });

  it('compares batches without a sha256 (a snapshot without a manifest) by key, not all as one', () => {
    const from = [{ key: 'in/a.csv' }, { key: 'in/b.csv' }];
    const to = [{ key: 'in/b.csv' }, { key: 'in/c.csv' }];
    expect(diffBatches(from, to)).toEqual({ added: [{ key: 'in/c.csv' }], removed: [{ key: 'in/a.csv' }], kept: 1 });
    // against a manifest's batches: a key is no sha256, so nothing matches by accident
    expect(diffBatches(from, [{ key: 'in/a.csv', sha256: 'a' }])).toEqual({ added: [{ key: 'in/a.csv', sha256: 'a' }], removed: from, kept: 0 });
  });
});

describe('diffSchemas', () => {
  it('finds columns added, removed and retyped', () => {
    const d = diffSchemas(
      [
        { name: 'date', type: 'TIMESTAMP' },
        { name: 'x', type: 'DOUBLE' },
        { name: 'old', type: 'VARCHAR' },
      ],
      [
        { name: 'date', type: 'TIMESTAMP' },
        { name: 'x', type: 'VARCHAR' },
        { name: 'new', type: 'DOUBLE' },
      ],
    );
    expect(d).toEqual({
      added: [{ name: 'new', type: 'DOUBLE' }],
      removed: [{ name: 'old', type: 'VARCHAR' }],
      changed: [{ name: 'x', from: 'DOUBLE', to: 'VARCHAR' }],
      unchanged: false,
    });
    expect(diffSchemas([{ name: 'x', type: 'DOUBLE' }], [{ name: 'x', type: 'DOUBLE' }]).unchanged).toBe(true);
  });
});

describe('formatting', () => {
  it('list: newest first, the champion starred, versions per snapshot', () => {
    const text = formatList(catalog);
    expect(text.split('\n')).toEqual([
      'm: 3 snapshot(s), champion v3 (* trained the champion)',
      '  snapshot      created                   rows  time range              batches  versions',
      '--------------  ------------------------  ----  ----------------------  -------  -----------------',
      '* cccc33330000  2026-01-03T00:00:00.000Z    30  2012-01-01..2012-12-31        1  v2, v3 (champion)',
      '  aaaa22220000  2026-01-02T00:00:00.000Z    10  2012-01-01..2012-12-31        1  -',
      '  aaaa11110000  2026-01-01T00:00:00.000Z    10  2012-01-01..2012-12-31        1  v1',
      '',
    ]);
    expect(listEntries(catalog).map((e) => [e.id.slice(0, 4), e.versions, e.champion])).toEqual([
      ['cccc', ['v2', 'v3'], true],
      ['aaaa', [], false],
      ['aaaa', ['v1'], false],
    ]);
    expect(formatList({ model: 'm', snapshots: [], versions: [], champion: null })).toBe('m: no snapshots yet (a retraining makes the first)\n');
  });

  it('show: every manifest field and a row per batch; an old CSV snapshot says its id is its file sha256', () => {
    const text = formatShow(catalog, {
      ...snapshot(C),
      batches: [
        { key: 'datasets/m/incoming/a.csv', sha256: '1'.repeat(64), acceptedRows: 365 },
        { key: 'datasets/m/incoming/feed/b.parquet', sha256: '2'.repeat(64), source: 'feed' },
      ],
    });
    expect(text).toContain(`snapshot ${C}\n`);
    expect(text).toContain(`  file sha256 ${'f'.repeat(64)}\n`);
    expect(text).toContain('  window      {"kind":"all"}\n');
    expect(text).toContain('  versions    v2, v3 (champion)\n');
    expect(text).toContain('    datasets/m/incoming/a.csv           111111111111  -       365\n');
    expect(text).toContain('    datasets/m/incoming/feed/b.parquet  222222222222  feed    ?\n');
    const csv = formatShow(catalog, snapshot(A, { format: 'csv', key: `datasets/m/snapshots/${A}.csv`, fileSha256: undefined }));
    expect(csv).toContain(`  file sha256 ${A} (a CSV snapshot: its id is its file's sha256)`);
  });
});

describe('compareSnapshotFiles', () => {
  const files = tempFiles('catalog-');

  it('counts rows added and removed as multisets (a duplicate counts), and finds a column added', async () => {
    const rows = (n: number) => Array.from({ length: n }, (_, i) => `2012-01-${String((i % 28) + 1).padStart(2, '0')},${i % 7},${i % 2 ? 'a' : 'b'}`);
    const from = files.write('from.csv', ['date,x,c', ...rows(40), '2012-02-01,1,a', '2012-02-01,1,a'].join('\n') + '\n');
    // one of the two duplicates is gone, two new rows (one a duplicate of an old one); a column added
    const toRows = [...rows(40), '2012-02-01,1,a', '2012-03-01,2,b', '2012-01-01,0,b'].map((r, i) => `${r},${i}`);
    const to = files.write('to.csv', ['date,x,c,extra', ...toRows].join('\n') + '\n');
    const result = await compareSnapshotFiles({ path: from, source: 'from.csv' }, { path: to, source: 'to.csv' });
    expect(result.rows).toEqual({ from: 42, to: 43, added: 2, removed: 1, common: 41, comparedOn: ['date', 'x', 'c'] });
    expect(result.schema.unchanged).toBe(false);
    expect(result.schema.added).toEqual([{ name: 'extra', type: 'BIGINT' }]);
    expect(result.drift.columns.map((c) => c.name).sort()).toEqual(['c', 'x']);
    expect(result.driftSkipped.map((s) => s.name).sort()).toEqual(['date', 'extra']);
  });
});
