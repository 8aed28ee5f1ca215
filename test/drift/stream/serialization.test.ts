/**
 * toJSON / restoreDetector: run half a stream, JSON round-trip, restore, run
 * the rest; detections must equal an uninterrupted run (and River's).
 */
import { describe, expect, it } from 'vitest';
import { createDetector, restoreDetector, runStream, type StreamDetector } from '../../../src/drift/stream';
import { loadRiverCases } from './fixtures';

const fixtures = loadRiverCases();

function runWithCheckpoints(make: () => StreamDetector, stream: number[], cuts: number[]) {
  let det = make();
  const drifts: number[] = [];
  const warnings: number[] = [];
  const cutSet = new Set(cuts);
  stream.forEach((x, i) => {
    if (cutSet.has(i)) det = restoreDetector(JSON.parse(JSON.stringify(det)));
    det.update(x);
    if (det.driftDetected) drifts.push(i);
    if (det.warningDetected) warnings.push(i);
  });
  return { drifts, warnings };
}

describe('serialize and resume', () => {
  for (const c of fixtures.cases) {
    const stream = fixtures.streams[c.stream]!;
    it(`${c.id}: halfway checkpoint gives River's indices`, () => {
      const half = Math.floor(stream.length / 2);
      const got = runWithCheckpoints(() => createDetector(c.detector, c.params), stream, [half]);
      expect(got).toEqual({ drifts: c.drifts, warnings: c.warnings });
    });
  }

  it('checkpoints right after each drift and every 97 values change nothing', () => {
    for (const c of fixtures.cases.filter((x) => x.drifts.length > 0)) {
      const stream = fixtures.streams[c.stream]!;
      const cuts = [...c.drifts.map((d) => d + 1), ...Array.from({ length: Math.floor(stream.length / 97) }, (_, i) => i * 97)];
      const got = runWithCheckpoints(() => createDetector(c.detector, c.params), stream, cuts);
      expect(got, c.id).toEqual({ drifts: c.drifts, warnings: c.warnings });
    }
  });

  it('unseeded KSWIN still resumes exactly (the random seed lives in the state)', () => {
    const stream = fixtures.streams['multi']!;
    const original = createDetector('kswin', {});
    const before = runStream(original, stream.slice(0, 6000));
    expect(before.drifts.length).toBeGreaterThan(0);
    const resumed = restoreDetector(JSON.parse(JSON.stringify(original)));
    const rest = stream.slice(6000);
    const got = runStream(resumed, rest);
    expect(got).toEqual(runStream(original, rest));
    expect(got.drifts.length).toBeGreaterThan(0);
  });

  it('state is plain JSON (infinities encoded) and names its detector', () => {
    for (const name of ['adwin', 'page-hinkley', 'kswin', 'ddm', 'eddm', 'hddm-a', 'hddm-w'] as const) {
      const d = createDetector(name, name === 'kswin' ? { seed: 1 } : {});
      for (let i = 0; i < 150; i++) d.update(i % 3 === 0 ? 1 : 0);
      const json = JSON.parse(JSON.stringify(d));
      expect(json.detector).toBe(name);
      expect(json.version).toBe(1);
      expect(JSON.stringify(json)).not.toContain('null,null');
      expect(JSON.parse(JSON.stringify(restoreDetector(json)))).toEqual(json);
    }
    const ph = createDetector('page-hinkley', {}).toJSON();
    expect(ph.state.minIncrease).toBe('Infinity');
  });

  it('restores states saved with since-removed fields (adwin nDetections, kswin pValue/statistic)', () => {
    const a = createDetector('adwin', {});
    const k = createDetector('kswin', { seed: 5 });
    for (let i = 0; i < 300; i++) {
      a.update(i % 7);
      k.update(i % 7);
    }
    const oldA = { ...a.toJSON(), state: { ...a.toJSON().state, nDetections: 0 } };
    const oldK = { ...k.toJSON(), state: { ...k.toJSON().state, pValue: 0.5, statistic: 0.1 } };
    expect(restoreDetector(oldA).toJSON()).toEqual(a.toJSON());
    expect(restoreDetector(oldK).toJSON()).toEqual(k.toJSON());
  });

  it('rejects malformed state with a clear error', () => {
    expect(() => restoreDetector(null)).toThrow(/not an object/);
    expect(() => restoreDetector({ detector: 'nope', version: 1, params: {}, state: {} })).toThrow(/unknown detector 'nope'/);
    const s = createDetector('ddm', {}).toJSON();
    expect(() => restoreDetector({ ...s, version: 2 })).toThrow(/unsupported version/);
    expect(() => restoreDetector({ ...s, params: { ...s.params, bogus: 1 } })).toThrow(/unknown parameter 'bogus'/);
    expect(() => restoreDetector({ ...s, state: { ...s.state, n: 'x' } })).toThrow(/n is not a number/);
  });
});
