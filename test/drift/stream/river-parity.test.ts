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

  // The outputs printed in River's docstrings, independent of the fixture file.
  const DOCSTRING: [id: string, drifts: number[], firstWarning?: number][] = [
    ['doc-adwin', [1023]],
    ['doc-page-hinkley', [1006]],
    ['doc-kswin', [1016]],
    ['doc-ddm', [1334], 1084],
    ['doc-eddm', [1278], 1059],
    ['doc-hddm-a', [1206], 451],
    ['doc-hddm-w', [1077], 451],
  ];
  for (const [id, drifts, firstWarning] of DOCSTRING) {
    it(`${id} reproduces River's docstring output`, () => {
      const c = fixtures.cases.find((x) => x.id === id)!;
      expect(c, id).toBeDefined();
      const got = runStream(createDetector(c.detector, c.params), fixtures.streams[c.stream]!);
      expect(got.drifts).toEqual(drifts);
      expect(got.warnings[0]).toBe(firstWarning);
    });
  }
});
