/**
 * Every detector against River: same stream, same parameters, identical drift
 * and warning indices (fixtures from scripts/reference/stream_drift_fixtures.py).
 */
import { describe, expect, it } from 'vitest';
import { createDetector, runStream } from '../../../src/drift/stream';
import { loadRiverCases } from './fixtures';

const fixtures = loadRiverCases();

describe(`River ${fixtures.river} parity`, () => {
  it('covers every detector and all docstring examples', () => {
    const detectors = new Set(fixtures.cases.map((c) => c.detector));
    expect([...detectors].sort()).toEqual(['adwin', 'ddm', 'eddm', 'hddm-a', 'hddm-w', 'kswin', 'page-hinkley']);
    expect(fixtures.cases.filter((c) => c.id.startsWith('doc-'))).toHaveLength(7);
  });

  for (const c of fixtures.cases) {
    it(`${c.id}: ${c.detector} ${JSON.stringify(c.params)} (${c.description})`, () => {
      const stream = fixtures.streams[c.stream];
      expect(stream, `stream ${c.stream}`).toBeDefined();
      const got = runStream(createDetector(c.detector, c.params), stream!);
      expect(got.drifts).toEqual(c.drifts);
      expect(got.warnings).toEqual(c.warnings);
    });
  }

  it("reproduces River's docstring outputs", () => {
    const byId = new Map(fixtures.cases.map((c) => [c.id, c]));
    const first = (id: string) => byId.get(id)!;
    expect(first('doc-adwin').drifts).toEqual([1023]);
    expect(first('doc-page-hinkley').drifts).toEqual([1006]);
    expect(first('doc-kswin').drifts).toEqual([1016]);
    expect(first('doc-ddm').drifts).toEqual([1334]);
    expect(first('doc-ddm').warnings[0]).toBe(1084);
    expect(first('doc-eddm').drifts).toEqual([1278]);
    expect(first('doc-eddm').warnings[0]).toBe(1059);
    expect(first('doc-hddm-a').drifts).toEqual([1206]);
    expect(first('doc-hddm-a').warnings[0]).toBe(451);
    expect(first('doc-hddm-w').drifts).toEqual([1077]);
    expect(first('doc-hddm-w').warnings[0]).toBe(451);
  });
});
