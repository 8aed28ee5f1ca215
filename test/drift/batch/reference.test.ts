/**
 * Batch drift methods against independent references: scipy and Evidently
 * outputs stored in test/fixtures/drift/batch/*.json by
 * scripts/reference/batch_drift_fixtures.py.
 *
 * Tolerances: statistics 1e-9 relative (1e-12 absolute around 0);
 * p-values 1e-6 relative or 1e-12 absolute.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { prepareCategorical, prepareNumerical, tableFromCategorical } from '../../../src/drift/batch/prepare';
import { METHODS, autoMethod, isDrift, isMethodName, runMethod, type ColumnPair, type MethodName } from '../../../src/drift/batch/methods';
import { ks2ExactSf, kstwoSf } from '../../../src/drift/batch/kolmogorov';
import { mmdTest } from '../../../src/drift/batch/mmd';
import { computeDriftSync } from '../../../src/drift/engine';
import type { Sample } from '../../../src/drift/types';

const here = dirname(fileURLToPath(import.meta.url));
const fixtures = join(here, '..', '..', 'fixtures', 'drift', 'batch');

type J = number | string | null;
interface Expected {
  statistic?: J;
  p_value?: J;
  evidently?: { score: J; drift: boolean; threshold: number };
  /** scipy warned that the covariance is rank deficient: its value is round-off noise */
  rank_deficient?: boolean;
}
interface Case {
  name: string;
  type: 'numerical' | 'categorical';
  reference: J[];
  current: J[];
  missing: { reference: number; current: number };
  unseen?: string[];
  auto: string;
  results: Record<string, Expected>;
}

function load(file: string): Case[] {
  return JSON.parse(readFileSync(join(fixtures, file), 'utf8')).cases as Case[];
}

function toNum(v: J): number {
  if (v === null) return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return v as number;
}

export function closeStat(actual: number | null, expected: J): void {
  if (expected === null || expected === undefined) {
    return;
  }
  const e = toNum(expected);
  expect(actual).not.toBeNull();
  const a = actual as number;
  if (!Number.isFinite(e)) {
    expect(a).toBe(e);
    return;
  }
  const err = Math.abs(a - e);
  if (e === 0) expect(err).toBeLessThanOrEqual(1e-12);
  else expect(err / Math.abs(e), `statistic ${a} vs ${e}`).toBeLessThanOrEqual(1e-9);
}

export function closeP(actual: number | null, expected: J): void {
  if (expected === null || expected === undefined) return;
  const e = toNum(expected);
  expect(actual).not.toBeNull();
  const a = actual as number;
  const err = Math.abs(a - e);
  const ok = err <= 1e-12 || err / Math.abs(e) <= 1e-6;
  expect(ok, `p-value ${a} vs ${e} (abs ${err}, rel ${err / Math.abs(e)})`).toBe(true);
}

/** A method name from a fixture, which must be registered. */
function methodOf(name: string): MethodName {
  if (!isMethodName(name)) throw new Error(`fixture names an unknown method: ${name}`);
  return name;
}

function pairOf(c: Case): ColumnPair {
  if (c.type === 'numerical') {
    const r = prepareNumerical(Float64Array.from(c.reference, toNum));
    const k = prepareNumerical(Float64Array.from(c.current, toNum));
    expect(r.missing).toBe(c.missing.reference);
    expect(k.missing).toBe(c.missing.current);
    return { type: 'numerical', ref: r.sorted, cur: k.sorted };
  }
  const r = prepareCategorical(c.reference);
  const k = prepareCategorical(c.current);
  expect(r.missing).toBe(c.missing.reference);
  expect(k.missing).toBe(c.missing.current);
  const table = tableFromCategorical(r, k);
  const index = new Map(table.keys.map((key, i) => [key, i]));
  const codes = [...c.reference, ...c.current].filter((v) => v !== null).map((v) => index.get(v as string)!);
  return { type: 'categorical', table, pooledCodes: Int32Array.from(codes) };
}

for (const file of ['numerical.json', 'categorical.json']) {
  describe(`reference fixtures: ${file}`, () => {
    for (const c of load(file)) {
      describe(c.name, () => {
        const pair = pairOf(c);
        it(`auto picks Evidently's default (${c.auto})`, () => {
          expect(autoMethod(pair)).toBe(c.auto);
        });
        for (const [method, exp] of Object.entries(c.results)) {
          it(method, () => {
            const r = runMethod(methodOf(method), pair);
            expect(r.reason, r.reason).toBeUndefined();
            if (exp.rank_deficient) {
              // documented deviation (see eppsSingleton): only sanity is checked
              expect(Number.isFinite(r.statistic)).toBe(true);
              expect(r.p_value).toBeGreaterThanOrEqual(0);
              expect(r.p_value).toBeLessThanOrEqual(1);
              return;
            }
            closeStat(r.statistic, exp.statistic ?? null);
            closeP(r.p_value, exp.p_value ?? null);
            if (exp.evidently) {
              const spec = METHODS[methodOf(method)];
              const score = spec.score === 'p_value' ? r.p_value! : r.statistic!;
              if (spec.score === 'p_value') closeP(score, exp.evidently.score);
              else closeStat(score, exp.evidently.score);
              expect(spec.defaultThreshold).toBe(exp.evidently.threshold);
              expect(isDrift(spec, score, spec.defaultThreshold)).toBe(exp.evidently.drift);
            }
          });
        }
      });
    }
  });
}

describe('reference fixtures: distributions.json (KS null distributions)', () => {
  const data = JSON.parse(readFileSync(join(fixtures, 'distributions.json'), 'utf8')) as {
    kstwo_sf: { n: number; x: number; sf: J }[];
    ks2_exact: { n1: number; n2: number; d: number; d_rounded: number; p: J }[];
  };
  it(`kstwo.sf over every branch (${data.kstwo_sf.length} points)`, () => {
    for (const c of data.kstwo_sf) closeP(kstwoSf(c.n, c.x), c.sf);
  });
  it(`exact two-sample p-values (${data.ks2_exact.length} points)`, () => {
    for (const c of data.ks2_exact) {
      const r = ks2ExactSf(c.n1, c.n2, c.d);
      expect(r.d).toBe(c.d_rounded);
      closeP(r.p, c.p);
    }
  });
});

describe('reference fixtures: mmd.json (Alibi Detect MMD, numpy re-implementation)', () => {
  const data = JSON.parse(readFileSync(join(fixtures, 'mmd.json'), 'utf8')) as {
    cases: { name: string; seed: number; reference: number[][]; current: number[][]; statistic: number; bandwidth: number; p_value: number }[];
  };
  for (const c of data.cases) {
    it(c.name, () => {
      const r = mmdTest(
        c.reference.map((v) => Float64Array.from(v)),
        c.current.map((v) => Float64Array.from(v)),
        { seed: c.seed },
      )!;
      closeStat(r.statistic, c.statistic);
      closeStat(r.bandwidth, c.bandwidth);
      expect(r.p_value).toBe(c.p_value);
    });
  }
});

describe('reference fixtures: report.json (Evidently legacy Report end to end)', () => {
  const data = JSON.parse(readFileSync(join(fixtures, 'report.json'), 'utf8')) as {
    cases: {
      name: string;
      numerical: string[];
      categorical: string[];
      options: { method: string | null; threshold: number | null; drift_share: number };
      reference: Record<string, J[]>;
      current: Record<string, J[]>;
      columns: Record<string, { stattest: string; score: J; drift: boolean; threshold: number }>;
      number_of_drifted_columns: number;
      share: number;
      drift: boolean;
    }[];
  };
  for (const c of data.cases) {
    it(c.name, () => {
      const sample = (src: Record<string, J[]>): Sample => ({
        columns: [
          ...c.numerical.map((name) => ({ name, type: 'numerical' as const, values: Float64Array.from(src[name]!, toNum) })),
          ...c.categorical.map((name) => ({ name, type: 'categorical' as const, values: src[name]! as (string | null)[] })),
        ],
      });
      const rep = computeDriftSync(sample(c.reference), sample(c.current), {
        method: c.options.method ?? 'auto',
        ...(c.options.threshold !== null ? { threshold: c.options.threshold } : {}),
        driftShare: c.options.drift_share,
        multivariate: false,
      });
      for (const col of rep.columns) {
        const e = c.columns[col.name]!;
        expect(METHODS[methodOf(col.method)].label, col.name).toBe(e.stattest);
        expect(col.threshold).toBe(e.threshold);
        if (col.score === 'p_value') closeP(col.p_value, e.score);
        else closeStat(col.statistic, e.score);
        expect(col.drift, col.name).toBe(e.drift);
      }
      expect(rep.number_of_drifted_columns).toBe(c.number_of_drifted_columns);
      expect(rep.share).toBe(c.share);
      expect(rep.drift).toBe(c.drift);
    });
  }
});
