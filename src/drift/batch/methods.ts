/**
 * The method registry: one entry per method with its name, applicable column
 * types, score kind, default threshold and drift direction — each as
 * Evidently (legacy stattests, evidently 0.7.x) or Alibi Detect defines it —
 * and its implementation. Adding a method is adding an entry.
 */
import type { ColumnType } from '../types';
import type { CountTable } from './prepare';
import { tableFromSorted } from './prepare';
import { mergeStats } from './numerical/shared';
import { ks } from './numerical/ks';
import { wassersteinNorm } from './numerical/wasserstein';
import { energyDistance } from './numerical/energy';
import { tTest } from './numerical/t-test';
import { mannWhitney } from './numerical/mann-whitney';
import { cramerVonMises } from './numerical/cramer-von-mises';
import { andersonKsamp } from './numerical/anderson';
import { eppsSingleton } from './numerical/epps-singleton';
import { binNumerical, binTable, hellingerNumerical, hellingerTable, jsValue, klValue, psiValue, type Binned } from './binning';
import { chiSquareContingency, chiSquareEvidently, fisherExact, gTest, tvdTest, zTest } from './categorical';

export type Rule = '<' | '<=' | '>=' | '>';

export interface RawResult {
  statistic: number | null;
  p_value: number | null;
  reason?: string;
  note?: string;
}

/** What every registry entry says about its method; the entry's key is the method's name. */
interface MethodTraits {
  label: string;
  /** column types the method is defined for (Evidently's allowed_feature_types) */
  types: readonly ColumnType[];
  score: 'p_value' | 'distance';
  defaultThreshold: number;
  /** drift when `value RULE threshold` (value = p-value or distance) */
  rule: Rule;
  source: 'evidently' | 'alibi';
  /** needs spread: a column holding one value in both samples is not testable */
  needsVariance?: boolean;
  /** permutes the pooled values in Evidently's row order: a categorical column keeps its codes for it */
  needsPooledCodes?: boolean;
}

/**
 * The test on a numerical column's two sorted samples (missing values
 * removed). Without it the method runs on the count table of a numerical
 * column too (its distinct values as categories).
 */
type SortedTest = (ref: Float64Array, cur: Float64Array) => RawResult;
/**
 * The test on the category counts (categorical columns, and numerical ones
 * when the method has no SortedTest). Without it the method applies to
 * numerical columns only.
 */
type CountsTest = (table: CountTable, pooledCodes?: Int32Array) => RawResult;

/** A registry entry: its traits and at least one implementation. */
type MethodDefinition = MethodTraits & ({ sorted: SortedTest; counts?: CountsTest } | { sorted?: undefined; counts: CountsTest });

export type MethodSpec = MethodDefinition & { name: string };

const N = ['numerical'] as const satisfies readonly ColumnType[];
const C = ['categorical'] as const satisfies readonly ColumnType[];
const NC = ['numerical', 'categorical'] as const satisfies readonly ColumnType[];

/**
 * Evidently's binned distances (PSI, Jensen-Shannon, KL) on get_binned_data:
 * Sturges bins over both samples for a numerical column with more than 20
 * values, category shares otherwise; drift when the distance reaches 0.1.
 */
function binnedDistance(label: string, distance: (bins: Binned) => number): MethodDefinition {
  return {
    label,
    types: NC,
    score: 'distance',
    defaultThreshold: 0.1,
    rule: '>=',
    source: 'evidently',
    sorted: (ref, cur) => ({ statistic: distance(binNumerical(ref, cur)), p_value: null }),
    counts: (t) => ({ statistic: distance(binTable(t)), p_value: null }),
  };
}

const DEFINITIONS = {
  ks: {
    label: 'K-S p_value',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<=',
    source: 'evidently',
    sorted: (ref, cur) => ks(ref, cur, 'auto'),
  },
  wasserstein: {
    label: 'Wasserstein distance (normed)',
    types: N,
    score: 'distance',
    defaultThreshold: 0.1,
    rule: '>=',
    source: 'evidently',
    sorted: wassersteinNorm,
  },
  psi: binnedDistance('PSI', psiValue),
  jensenshannon: binnedDistance('Jensen-Shannon distance', jsValue),
  kl_div: binnedDistance('Kullback-Leibler divergence', klValue),
  hellinger: {
    label: 'Hellinger distance',
    types: NC,
    score: 'distance',
    defaultThreshold: 0.1,
    rule: '>=',
    source: 'evidently',
    sorted: (ref, cur) => ({ statistic: hellingerNumerical(ref, cur, mergeStats(ref, cur).distinct), p_value: null }),
    counts: (t) => ({ statistic: hellingerTable(t), p_value: null }),
  },
  anderson: {
    label: 'Anderson-Darling',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.1,
    rule: '<',
    source: 'evidently',
    needsVariance: true,
    sorted: (ref, cur) => {
      const r = andersonKsamp(ref, cur);
      const out: RawResult = { statistic: r.statistic, p_value: r.p_value };
      if (r.capped === 'cap') out.note = 'p-value capped at 0.25 (scipy anderson_ksamp)';
      if (r.capped === 'floor') out.note = 'p-value floored at 0.001 (scipy anderson_ksamp)';
      return out;
    },
  },
  cramer_von_mises: {
    label: 'Cramer-von Mises',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.1,
    rule: '<=',
    source: 'evidently',
    needsVariance: true,
    sorted: (ref, cur) =>
      ref.length < 2 || cur.length < 2
        ? { statistic: null, p_value: null, reason: 'Cramer-von Mises needs at least two values in each sample' }
        : cramerVonMises(ref, cur),
  },
  mannw: {
    label: 'Mann-Whitney U-rank test',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'evidently',
    needsVariance: true,
    sorted: (ref, cur) => mannWhitney(ref, cur, 'less'),
  },
  ed: {
    label: 'Energy-distance',
    types: N,
    score: 'distance',
    defaultThreshold: 0.1,
    rule: '>',
    source: 'evidently',
    sorted: energyDistance,
  },
  es: {
    label: 'Epps-Singleton',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'evidently',
    needsVariance: true,
    sorted: eppsSingleton,
  },
  t_test: {
    label: 't_test',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'evidently',
    needsVariance: true,
    sorted: (ref, cur) => {
      const r = tTest(ref, cur);
      return r.statistic === null ? { ...r, reason: 'zero variance in both samples: t-test undefined' } : r;
    },
  },
  chisquare: {
    label: 'chi-square p_value',
    types: C,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'evidently',
    counts: chiSquareEvidently,
  },
  z: {
    label: 'Z-test p_value',
    types: C,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'evidently',
    counts: zTest,
  },
  fisher_exact: {
    label: "Fisher's Exact test",
    types: C,
    score: 'p_value',
    defaultThreshold: 0.1,
    rule: '<',
    source: 'evidently',
    counts: fisherExact,
  },
  g_test: {
    label: 'g_test',
    types: C,
    score: 'p_value',
    defaultThreshold: 0.1,
    rule: '<',
    source: 'evidently',
    counts: gTest,
  },
  TVD: {
    label: 'Total-Variation-Distance',
    types: C,
    score: 'p_value',
    defaultThreshold: 0.1,
    rule: '<',
    source: 'evidently',
    needsPooledCodes: true,
    counts: (t, pooledCodes) => tvdTest(t, pooledCodes),
  },
  chisquare_alibi: {
    label: 'Chi-square (contingency, Alibi Detect)',
    types: C,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'alibi',
    counts: chiSquareContingency,
  },
  ks_asymp: {
    label: 'K-S asymptotic (Alibi Detect)',
    types: N,
    score: 'p_value',
    defaultThreshold: 0.05,
    rule: '<',
    source: 'alibi',
    sorted: (ref, cur) => ks(ref, cur, 'asymp'),
  },
} as const satisfies Record<string, MethodDefinition>;

export type MethodName = keyof typeof DEFINITIONS;

/** Every registered method, by name (the entry with its `name` filled in). */
export const METHODS = Object.fromEntries(Object.entries(DEFINITIONS).map(([name, definition]) => [name, { name, ...definition }])) as {
  readonly [K in MethodName]: (typeof DEFINITIONS)[K] & MethodSpec & { name: K };
};

export const METHOD_NAMES = Object.keys(METHODS) as MethodName[];
export const VALID_METHOD_NAMES: readonly (MethodName | 'auto')[] = ['auto', ...METHOD_NAMES];

export function isMethodName(name: string): name is MethodName {
  return Object.prototype.hasOwnProperty.call(METHODS, name);
}

/** `name` itself when it is 'auto' or a registered method; throws otherwise. */
export function checkMethod(name: string): MethodName | 'auto' {
  if (name !== 'auto' && !isMethodName(name)) {
    throw new Error(`Unknown drift method "${name}". Valid methods: ${VALID_METHOD_NAMES.join(', ')}`);
  }
  return name;
}

export function assertMethod(name: string): asserts name is MethodName | 'auto' {
  checkMethod(name);
}

export function isDrift(spec: MethodSpec, value: number, threshold: number): boolean {
  switch (spec.rule) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
  }
}

/** Data for one column after preparation (missing values removed). */
export type ColumnPair =
  { type: 'numerical'; ref: Float64Array; cur: Float64Array; table?: CountTable } | { type: 'categorical'; table: CountTable; pooledCodes?: Int32Array };

function tableOf(pair: ColumnPair): CountTable {
  if (pair.type === 'categorical') return pair.table;
  if (!pair.table) pair.table = tableFromSorted(pair.ref, pair.cur);
  return pair.table;
}

function distinctPooled(pair: ColumnPair): number {
  if (pair.type === 'categorical') return pair.table.keys.length;
  return mergeStats(pair.ref, pair.cur).distinct;
}

/**
 * Evidently's `_get_default_stattest`: n = distinct values of both samples.
 * Reference <= 1000 rows: numerical -> ks (n > 5), chisquare (2 < n <= 5), z (n <= 2);
 * categorical -> chisquare (n > 2) or z. Reference > 1000 rows: numerical ->
 * wasserstein (n > 5) or jensenshannon; categorical -> jensenshannon.
 */
export function autoMethod(pair: ColumnPair): MethodName {
  const nRef = pair.type === 'numerical' ? pair.ref.length : pair.table.nRef;
  const nValues = distinctPooled(pair);
  if (nRef <= 1000) {
    if (pair.type === 'numerical' && nValues > 5) return 'ks';
    return nValues > 2 ? 'chisquare' : 'z';
  }
  if (pair.type === 'numerical') return nValues <= 5 ? 'jensenshannon' : 'wasserstein';
  return 'jensenshannon';
}

/**
 * Run one method on prepared data; neither sample is empty (analyzeColumn
 * says so first). Never throws on data problems: returns a reason instead.
 */
export function runMethod(name: MethodName, pair: ColumnPair): RawResult {
  const spec: MethodSpec = METHODS[name];
  if (pair.type === 'categorical' && !spec.counts) {
    return { statistic: null, p_value: null, reason: `${name} applies to numerical columns only` };
  }
  if (spec.needsVariance && distinctPooled(pair) < 2) {
    return { statistic: null, p_value: null, reason: `constant column: both samples hold one identical value, ${name} needs variance` };
  }
  let out: RawResult;
  if (pair.type === 'numerical' && spec.sorted) out = spec.sorted(pair.ref, pair.cur);
  else if (spec.counts) out = spec.counts(tableOf(pair), pair.type === 'categorical' ? pair.pooledCodes : undefined);
  else throw new Error(`method ${name} has no implementation`); // every entry has `sorted` or `counts` (test/drift/batch)
  if (!out.reason) {
    const bad = (v: number | null): boolean => v !== null && Number.isNaN(v);
    if (bad(out.statistic) || bad(out.p_value)) {
      out = { statistic: null, p_value: null, reason: `${name} is undefined for these samples (NaN)` };
    } else if (spec.score === 'p_value' && out.p_value === null) {
      out.reason = out.reason ?? `${name} could not be computed`;
    } else if (spec.score === 'distance' && out.statistic === null) {
      out.reason = out.reason ?? `${name} could not be computed`;
    }
  }
  return out;
}
