/**
 * What a release does after each look (src/release/progress.ts): every rule of
 * its header, on readings a test writes, and the totals the workflow hands the
 * sequential test (observeTotals) against the batches they sum.
 */
import { describe, expect, it } from 'vitest';
import { enterStep, nextAction, resumeProgress, startProgress, takeLook, type LookReadings, type ReleaseProgress } from '../../src/release/progress';
import { emptySequentialState, observe, observeTotals, type ArmStats } from '../../src/release/sequential';
import { releaseSpec, type ReleaseSpec } from '../../src/spec/release-spec';

const t0 = new Date('2026-12-01T10:00:00Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

const canary = releaseSpec.parse({
  strategy: 'canary',
  steps: [
    { weight: 0.1, bakeSeconds: 60, minLabels: 20 },
    { weight: 0.5, bakeSeconds: 60 },
  ],
  minLabels: 50,
  margin: 0.05,
  maxHours: 1,
});

/** Totals of n losses with error rate p (a Bernoulli arm: mean p, m2 = n p (1 − p)). */
const arm = (n: number, p: number): ArmStats => ({ n, mean: p, m2: n * p * (1 - p) });
const readings = (candidate: ArmStats, champion: ArmStats, guards: LookReadings['guards'] = []): LookReadings => ({ totals: { candidate, champion }, guards });

function lookAt(spec: ReleaseSpec, progress: ReleaseProgress, r: LookReadings, seconds: number) {
  const next = takeLook(progress, r, at(seconds));
  return { progress: next, action: nextAction(spec, next, at(seconds)) };
}

describe('a canary release step by step', () => {
  it('waits for the bake time and the step minimum, then moves to the next weight', () => {
    let p = startProgress(canary, 'classification', t0);
    expect(p).toMatchObject({ phase: 'running', step: 0, weight: 0.1 });
    // Baked, but only 10 candidate labels (the step wants 20).
    let r = lookAt(canary, p, readings(arm(10, 0.2), arm(90, 0.2)), 61);
    expect(r.action).toEqual({ kind: 'wait' });
    // 20 labels, not baked yet at 30 s.
    r = lookAt(canary, startProgress(canary, 'classification', t0), readings(arm(20, 0.2), arm(180, 0.2)), 30);
    expect(r.action).toEqual({ kind: 'wait' });
    // Both: next step.
    r = lookAt(canary, r.progress, readings(arm(25, 0.2), arm(200, 0.2)), 65);
    expect(r.action).toEqual({ kind: 'next-step', step: 1, weight: 0.5 });
    p = enterStep(r.progress, 1, 0.5, at(65));
    expect(p).toMatchObject({ step: 1, weight: 0.5, stepStartedAt: at(65).toISOString(), stepLabelsAtStart: 25 });
  });

  it('after the last step promotes only once the test concluded non-inferior, with its evidence', () => {
    let p = enterStep(startProgress(canary, 'classification', t0), 1, 0.5, at(0));
    // Equal error rates on 150 labels each: not yet enough to exclude a 5-point loss.
    let r = lookAt(canary, p, readings(arm(150, 0.2), arm(150, 0.2)), 120);
    expect(r.action).toEqual({ kind: 'wait' });
    r = lookAt(canary, r.progress, readings(arm(3000, 0.2), arm(3000, 0.2)), 180);
    expect(r.action.kind).toBe('promote');
    expect((r.action as { reason: string }).reason).toMatch(
      /^the candidate is no worse than the champion: candidate not inferior: error rate 0.2 vs 0.2 .* on 3000 candidate and 3000 champion labels$/,
    );
    // With manual approval: waits for a person instead.
    p = enterStep(startProgress({ ...canary, manualApproval: true }, 'classification', t0), 1, 0.5, at(0));
    expect(lookAt({ ...canary, manualApproval: true }, p, readings(arm(3000, 0.2), arm(3000, 0.2)), 180).action.kind).toBe('await-approval');
  });

  it('a decision at the first step does not stop the later steps counting their labels (the test freezes its own counts)', () => {
    // Decided at once: non-inferior on the first look, during step 1.
    let r = lookAt(canary, startProgress(canary, 'classification', t0), readings(arm(3000, 0.2), arm(3000, 0.2)), 61);
    expect(r.progress.sequential.decision).toBe('non-inferior');
    expect(r.action).toEqual({ kind: 'next-step', step: 1, weight: 0.5 });
    const p = enterStep(r.progress, 1, 0.5, at(61));
    expect(p.stepLabelsAtStart).toBe(3000);
    // More labels come in; the last step bakes and promotes.
    r = lookAt(canary, p, readings(arm(3500, 0.2), arm(3500, 0.2)), 125);
    expect(r.progress.labels).toEqual({ candidate: 3500, champion: 3500 });
    expect(r.progress.looks.at(-1)!.labels).toEqual({ candidate: 3500, champion: 3500 });
    expect(r.action.kind).toBe('promote');
  });

  it('rolls back a candidate the test finds worse, at any step, saying so', () => {
    const r = lookAt(canary, startProgress(canary, 'classification', t0), readings(arm(400, 0.45), arm(400, 0.2)), 10);
    expect(r.action.kind).toBe('roll-back');
    expect((r.action as { reason: string }).reason).toMatch(/^the candidate is worse than the champion: .*inferior/);
  });

  it('rolls back when the test gives up (maxLabels) or the release runs past maxHours', () => {
    const capped = { ...canary, maxLabels: 100 };
    let r = lookAt(capped, enterStep(startProgress(capped, 'classification', t0), 1, 0.5, at(0)), readings(arm(100, 0.2), arm(100, 0.21)), 120);
    expect(r.action.kind).toBe('roll-back');
    expect((r.action as { reason: string }).reason).toMatch(/reached 100 labels without showing the candidate no worse/);
    r = lookAt(canary, startProgress(canary, 'classification', t0), readings(arm(10, 0.2), arm(10, 0.2)), 3601);
    expect(r.action).toMatchObject({ kind: 'roll-back', reason: expect.stringMatching(/^undecided after 1 h \(maxHours\)/) });
  });

  it('a paused release waits, but still rolls back a bad candidate; resuming starts the guards over', () => {
    const paused: ReleaseProgress = { ...startProgress(canary, 'classification', t0), phase: 'paused', reason: 'paused by ana' };
    expect(lookAt(canary, paused, readings(arm(30, 0.2), arm(300, 0.2)), 120).action).toEqual({ kind: 'wait' });
    expect(lookAt(canary, paused, readings(arm(400, 0.45), arm(400, 0.2)), 120).action.kind).toBe('roll-back');
    expect(resumeProgress(canary, paused)).toMatchObject({ phase: 'running', reason: null });
  });
});

describe('guards', () => {
  const guarded = releaseSpec.parse({
    strategy: 'ab',
    weight: 0.5,
    guards: [
      { metric: 'error-rate', max: 0.01, minRequests: 10 },
      { metric: 'p99-latency', maxMs: 50, minRequests: 10, inconclusiveLimit: 1 },
    ],
  });

  it('a failed guard rolls back at once, naming it', () => {
    const p = startProgress(guarded, 'classification', t0);
    const r = lookAt(
      guarded,
      p,
      readings(arm(5, 0.2), arm(5, 0.2), [
        { requests: 100, errors: 5, p99Ms: 20 },
        { requests: 100, errors: 5, p99Ms: 20 },
      ]),
      60,
    );
    expect(r.action).toMatchObject({ kind: 'roll-back', reason: expect.stringMatching(/^guard 'error-rate' failed/) });
  });

  it('too little traffic is inconclusive: past its limit the release pauses for a person', () => {
    let p = startProgress(guarded, 'classification', t0);
    const quiet = readings(arm(5, 0.2), arm(5, 0.2), [
      { requests: 100, errors: 0, p99Ms: 20 },
      { requests: 3, errors: 0, p99Ms: 20 },
    ]);
    let r = lookAt(guarded, p, quiet, 60);
    expect(r.action).toEqual({ kind: 'wait' }); // one inconclusive period is within the limit of 1
    r = lookAt(guarded, r.progress, quiet, 120);
    expect(r.action).toMatchObject({ kind: 'pause', reason: expect.stringMatching(/^guard 'p99-latency' inconclusive.*resume to measure again, or abort$/) });
    p = resumeProgress(guarded, { ...r.progress, phase: 'paused' });
    expect(p.guards.every((g) => g.count === 0)).toBe(true);
  });

  it('a guard that cannot be measured errors after its consecutive error limit (4 in a row tolerated)', () => {
    let p = startProgress(guarded, 'classification', t0);
    const broken = readings(arm(5, 0.2), arm(5, 0.2), [{ error: 'Prometheus down' }, { requests: 100, errors: 0, p99Ms: 10 }]);
    for (let i = 1; i <= 4; i++) {
      const r = lookAt(guarded, p, broken, i * 60);
      expect(r.action, `look ${i}`).toEqual({ kind: 'wait' });
      p = r.progress;
    }
    expect(lookAt(guarded, p, broken, 300).action).toMatchObject({ kind: 'roll-back', reason: expect.stringMatching(/^guard 'error-rate' error/) });
  });
});

describe('the release spec', () => {
  it('refuses what does not make sense, naming the field', () => {
    const problems = (value: unknown) => releaseSpec.safeParse(value).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ strategy: 'canary' })).toEqual(['steps: a canary release needs its steps, e.g. [{weight: 0.05}, {weight: 0.25}, {weight: 0.5}]']);
    expect(problems({ strategy: 'canary', steps: [{ weight: 0.5 }, { weight: 0.25 }] })).toEqual([
      "steps.1.weight: each step's weight must be above the one before (0.5)",
    ]);
    expect(problems({ strategy: 'ab' })).toEqual(["weight: an ab release needs the candidate's share of traffic, e.g. weight: 0.5"]);
    expect(problems({ strategy: 'ab', weight: 1 })).toEqual(['weight: an ab release needs traffic on both arms: a weight below 1']);
    expect(problems({ strategy: 'shadow', minLabels: 500, maxLabels: 100 })).toEqual(['maxLabels: must be at least minLabels (500)']);
    expect(problems({ strategy: 'shadow', guards: [{ metric: 'error-rate' }] })?.[0]).toMatch(/^guards\.0: /);
    expect(problems({ strategy: 'blue-green' })?.[0]).toMatch(/^strategy: /);
  });
});

describe('observeTotals', () => {
  it('gives the state observe gives with the batches those totals sum, and refuses totals that shrink', () => {
    const batches = [
      { candidate: [0, 1, 0, 0], champion: [0, 0, 1, 0, 0, 1] },
      { candidate: [1, 1, 0], champion: [0, 0] },
    ];
    const options = { minSamples: 2, margin: 0.02 };
    let byBatch = emptySequentialState(options);
    let byTotals = emptySequentialState(options);
    const seen: { candidate: number[]; champion: number[] } = { candidate: [], champion: [] };
    const stats = (xs: number[]): ArmStats => {
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      return { n: xs.length, mean, m2: xs.reduce((a, x) => a + (x - mean) ** 2, 0) };
    };
    for (const batch of batches) {
      byBatch = observe(byBatch, batch);
      seen.candidate = seen.candidate.concat(batch.candidate);
      seen.champion = seen.champion.concat(batch.champion);
      byTotals = observeTotals(byTotals, { candidate: stats(seen.candidate), champion: stats(seen.champion) });
      expect(byTotals.looks).toBe(byBatch.looks);
      expect(byTotals.pInferior).toBeCloseTo(byBatch.pInferior, 12);
      expect(byTotals.pNonInferior).toBeCloseTo(byBatch.pNonInferior, 12);
      expect(byTotals.candidate.mean).toBeCloseTo(byBatch.candidate.mean, 12);
    }
    expect(() => observeTotals(byTotals, { candidate: stats([0]), champion: stats(seen.champion) })).toThrow(
      /totals\.candidate must be the arm's losses so far \(n an integer >= 7/,
    );
  });
});
