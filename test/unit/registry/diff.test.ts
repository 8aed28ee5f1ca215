import { describe, expect, it } from 'vitest';
import { diffVersions, formatVersionDiff } from '../../../src/registry/diff';
import type { Lineage } from '../../../src/registry/types';
import { testLineage } from './lineage-fixture';

function version(version: string, over: (l: Lineage) => void = () => undefined): Lineage {
  const lineage: Lineage = { ...structuredClone(testLineage(`run-${version}`)), version, createdAt: '2026-11-26T12:00:00.000Z', artifacts: [] };
  over(lineage);
  return lineage;
}

describe('diffVersions', () => {
  const v1 = version('v1');
  const v2 = version('v2', (l) => {
    l.data = { ...l.data, snapshotSha256: 'new', rows: 130, trainRows: 104, holdoutRows: 26, batches: ['b1', 'b2'] };
    l.params = { ...l.params, learningRate: 0.005 };
    l.code = { ...l.code, version: 'abc123' };
    l.metrics = { ...l.metrics, accuracy: 0.85 } as Lineage['metrics'];
    l.trigger = 'drift';
    l.triggerReason = 'share of drifted columns 0.6 (report drift/weather/r1.json)';
    l.parent = 'v1';
  });

  it('marks what changed in each section, with both values, and the batches added and removed', () => {
    const diff = diffVersions(v1, v2, { from: { model: { epochs: 1 }, label: 'weather' }, to: { model: { epochs: 3 }, label: 'weather' } });
    const changed = (section: keyof typeof diff.sections) => diff.sections[section].filter((r) => r.changed).map((r) => [r.field, r.from, r.to]);
    expect(changed('data')).toEqual([
      ['snapshot', 'abc', 'new'],
      ['rows', '100', '130'],
      ['train rows', '80', '104'],
      ['holdout rows', '20', '26'],
      ['batches', '1', '2'],
    ]);
    // The spec's sha256 is the same in both fixtures; the published specs differ in one setting.
    expect(changed('spec')).toEqual([['model.epochs', '1', '3']]);
    expect(changed('parameters')).toEqual([['learningRate', String(v1.params.learningRate), '0.005']]);
    expect(changed('code')).toEqual([['version', '0.1.0', 'abc123']]);
    expect(changed('metrics')).toEqual([['accuracy', '0.8', '0.85']]);
    expect(changed('run')).toEqual([
      ['trigger', 'manual', 'drift'],
      ['trigger reason', '-', 'share of drifted columns 0.6 (report drift/weather/r1.json)'],
      ['parent', '-', 'v1'],
    ]);
    expect(diff.batches).toEqual({ added: ['b2'], removed: [] });
    // Unchanged parameters are listed too (side by side), not only the changed one.
    expect(diff.sections.parameters.map((r) => r.field)).toContain('epochs');
  });

  it('shows nothing changed for a version against itself', () => {
    const diff = diffVersions(v1, v1);
    expect(
      Object.values(diff.sections)
        .flat()
        .filter((r) => r.changed),
    ).toEqual([]);
  });

  it('prints a table per section, a * on changed rows and the change of a number', () => {
    const printed = formatVersionDiff(diffVersions(v1, v2));
    expect(printed.split('\n')[0]).toBe('weather: v1 -> v2');
    expect(printed).toMatch(/^\* accuracy +0\.8 +0\.85 {2}\(\+0\.05\)$/m);
    expect(printed).toMatch(/^ {2}epochs +1 +1$/m);
    expect(printed).toContain('batches added: b2');
    expect(printed).toContain('batches removed: none');
  });
});
