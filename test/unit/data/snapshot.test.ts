import { describe, expect, it } from 'vitest';
import { tableSchema } from '../../../src/data/schema';
import { applyWindow, snapshotCsv, sortRows, timeHoldout } from '../../../src/data/snapshot';
import type { TypedRow } from '../../../src/data/validate';

const schema = tableSchema.parse({
  fields: [
    { name: 'date', type: 'date' },
    { name: 'v', type: 'number' },
    { name: 'k', type: 'category' },
  ],
});
const columns = ['date', 'v', 'k'];

/** Every permutation of a small array. */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** One row per day from 2012-01-01, v = day number. */
function days(n: number, start = '2012-01-01'): TypedRow[] {
  const t0 = Date.parse(start);
  return Array.from({ length: n }, (_, i) => ({ date: new Date(t0 + i * 86_400_000).toISOString().slice(0, 10), v: i + 1, k: 'x' }));
}

describe('sortRows', () => {
  const rows: TypedRow[] = [
    { date: '2012-01-02', v: 2, k: 'b' },
    { date: '2012-01-01', v: 10, k: 'a' },
    { date: '2012-01-02', v: 1, k: 'z' },
    { date: '2012-01-03', v: null, k: null },
  ];

  it('orders by time, ties by full content', () => {
    expect(sortRows(rows, columns, 'date')).toEqual([
      { date: '2012-01-01', v: 10, k: 'a' },
      { date: '2012-01-02', v: 1, k: 'z' },
      { date: '2012-01-02', v: 2, k: 'b' },
      { date: '2012-01-03', v: null, k: null },
    ]);
  });

  it('gives the same snapshot text for the same rows in any order', () => {
    const expected = 'date,v,k\n2012-01-01,10,a\n2012-01-02,1,z\n2012-01-02,2,b\n2012-01-03,,\n';
    const all = permutations(rows);
    expect(all).toHaveLength(24);
    for (const order of all) expect(snapshotCsv(schema, sortRows(order, columns, 'date'))).toBe(expected);
  });

  it('does not reorder the array it is given', () => {
    const copy = rows.map((r) => ({ ...r }));
    sortRows(rows, columns, 'date');
    expect(rows).toEqual(copy);
  });

  it('puts rows without a readable time first, and sorts numeric times as numbers', () => {
    const mixed: TypedRow[] = [
      { date: '2012-01-01', v: 1, k: 'a' },
      { date: null, v: 2, k: 'a' },
    ];
    expect(sortRows(mixed, columns, 'date').map((r) => r.v)).toEqual([2, 1]);
    const numeric: TypedRow[] = [{ t: 100 }, { t: 9 }, { t: 20 }];
    expect(sortRows(numeric, ['t'], 't').map((r) => r.t)).toEqual([9, 20, 100]);
  });
});

describe('snapshotCsv', () => {
  it('writes the schema columns in schema order, whatever the row objects hold', () => {
    const rows: TypedRow[] = [{ k: 'a,b', extra: 'ignored', v: 1.5, date: '2012-01-01' }];
    expect(snapshotCsv(schema, rows)).toBe('date,v,k\n2012-01-01,1.5,"a,b"\n');
  });
});

describe('applyWindow', () => {
  const sorted = days(10); // 2012-01-01 .. 2012-01-10

  it("'all' keeps every row", () => {
    expect(applyWindow(sorted, { kind: 'all' }, 'date')).toEqual(sorted);
  });

  it("'rows' keeps the newest maxRows", () => {
    expect(applyWindow(sorted, { kind: 'rows', maxRows: 3 }, 'date').map((r) => r.v)).toEqual([8, 9, 10]);
    expect(applyWindow(sorted, { kind: 'rows', maxRows: 50 }, 'date')).toHaveLength(10);
  });

  it("'days' keeps the newest day and the days-1 before it, inclusive", () => {
    expect(applyWindow(sorted, { kind: 'days', days: 3 }, 'date').map((r) => r.date)).toEqual(['2012-01-08', '2012-01-09', '2012-01-10']);
    expect(applyWindow(sorted, { kind: 'days', days: 10 }, 'date')).toHaveLength(10);
    expect(applyWindow(sorted, { kind: 'days', days: 9 }, 'date')[0]!.date).toBe('2012-01-02');
  });

  it("'days: 1' keeps every row of the newest day", () => {
    const withTies = [...sorted, { date: '2012-01-10', v: 11, k: 'y' }];
    expect(applyWindow(withTies, { kind: 'days', days: 1 }, 'date').map((r) => r.v)).toEqual([10, 11]);
  });

  it('counts days from the newest row, not from today, across gaps', () => {
    const gappy: TypedRow[] = [
      { date: '2011-12-01', v: 1, k: 'a' },
      { date: '2011-12-30', v: 2, k: 'a' },
      { date: '2011-12-31', v: 3, k: 'a' },
      { date: '2012-01-02', v: 4, k: 'a' },
    ];
    // newest 2012-01-02, days 3 -> from 2011-12-31
    expect(applyWindow(gappy, { kind: 'days', days: 3 }, 'date').map((r) => r.v)).toEqual([3, 4]);
  });

  it('returns an empty list for no rows', () => {
    expect(applyWindow([], { kind: 'days', days: 3 }, 'date')).toEqual([]);
    expect(applyWindow([], { kind: 'rows', maxRows: 3 }, 'date')).toEqual([]);
  });
});

describe('timeHoldout', () => {
  it('holds out the newest fraction of rows', () => {
    const { train, holdout, from } = timeHoldout(days(10), 0.2, 'date');
    expect(train.map((r) => r.v)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(holdout.map((r) => r.v)).toEqual([9, 10]);
    expect(from).toBe('2012-01-09');
  });

  it('keeps rows at the boundary time together in the holdout', () => {
    // dates 01..07, 08, 08, 09: the cut at index 8 falls inside 2012-01-08
    const rows = days(8);
    rows.push({ date: '2012-01-08', v: 9, k: 'x' }, { date: '2012-01-09', v: 10, k: 'x' });
    const { train, holdout, from } = timeHoldout(rows, 0.2, 'date');
    expect(train.map((r) => r.v)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(holdout.map((r) => r.v)).toEqual([8, 9, 10]);
    expect(from).toBe('2012-01-08');
    expect(train.some((r) => r.date === '2012-01-08')).toBe(false);
  });

  it('always keeps at least one row on each side', () => {
    const tiny = timeHoldout(days(10), 0.01, 'date');
    expect([tiny.train.length, tiny.holdout.length]).toEqual([9, 1]);
    const huge = timeHoldout(days(10), 0.99, 'date');
    expect([huge.train.length, huge.holdout.length]).toEqual([1, 9]);
    const two = timeHoldout(days(2), 0.5, 'date');
    expect([two.train.map((r) => r.v), two.holdout.map((r) => r.v)]).toEqual([[1], [2]]);
  });

  it('refuses fewer than 2 rows, saying how many there are', () => {
    expect(() => timeHoldout(days(1), 0.2, 'date')).toThrow('a time-based holdout needs at least 2 rows, the snapshot has 1');
    expect(() => timeHoldout([], 0.2, 'date')).toThrow('the snapshot has 0');
  });
});
