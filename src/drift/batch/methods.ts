/**
 * The method registry: names, applicable column types, score kind, default
 * thresholds and drift direction — each as Evidently (legacy stattests,
 * evidently 0.7.x) or Alibi Detect defines it — and the dispatcher.
 */
import type { ColumnType } from '../types';
import type { CountTable } from './prepare';
import { tableFromSorted } from './prepare';
import {
  andersonKsamp,
  cramerVonMises,
  energyDistance,
  mergeStats,
  eppsSingleton,
  ks,
  mannWhitney,
  tTest,
  wassersteinNorm,
} from './numerical';
import { binNumerical, binTable, hellingerNumerical, hellingerTable, jsValue, klValue, psiValue } from './binning';
import { chiSquareContingency, chiSquareEvidently, fisherExact, gTest, tvdTest, zTest } from './categorical';

export type Rule = '<' | '<=' | '>=' | '>';

export interface MethodSpec {
  name: string;
  label: string;
  /** column types the method is defined for */
  types: ColumnType[];
  score: 'p_value' | 'distance';
  defaultThreshold: number;
  /** drift when `value RULE threshold` (value = p-value or distance) */
  rule: Rule;
  source: 'evidently' | 'alibi';
  /** needs spread: a column holding one value in both samples is not testable */
  needsVariance?: boolean;
}

const N: ColumnType[] = ['numerical'];
const C: ColumnType[] = ['categorical'];
const NC: ColumnType[] = ['numerical', 'categorical'];

export const METHODS: Record<string, MethodSpec> = {
  ks: { name: 'ks', label: 'K-S p_value', types: N, score: 'p_value', defaultThreshold: 0.05, rule: '<=', source: 'evidently' },
  wasserstein: { name: 'wasserstein', label: 'Wasserstein distance (normed)', types: N, score: 'distance', defaultThreshold: 0.1, rule: '>=', source: 'evidently' },
  psi: { name: 'psi', label: 'PSI', types: NC, score: 'distance', defaultThreshold: 0.1, rule: '>=', source: 'evidently' },
  jensenshannon: { name: 'jensenshannon', label: 'Jensen-Shannon distance', types: NC, score: 'distance', defaultThreshold: 0.1, rule: '>=', source: 'evidently' },
  kl_div: { name: 'kl_div', label: 'Kullback-Leibler divergence', types: NC, score: 'distance', defaultThreshold: 0.1, rule: '>=', source: 'evidently' },
  hellinger: { name: 'hellinger', label: 'Hellinger distance', types: NC, score: 'distance', defaultThreshold: 0.1, rule: '>=', source: 'evidently' },
  anderson: { name: 'anderson', label: 'Anderson-Darling', types: N, score: 'p_value', defaultThreshold: 0.1, rule: '<', source: 'evidently', needsVariance: true },
  cramer_von_mises: { name: 'cramer_von_mises', label: 'Cramer-von Mises', types: N, score: 'p_value', defaultThreshold: 0.1, rule: '<=', source: 'evidently', needsVariance: true },
  mannw: { name: 'mannw', label: 'Mann-Whitney U-rank test', types: N, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'evidently', needsVariance: true },
  ed: { name: 'ed', label: 'Energy-distance', types: N, score: 'distance', defaultThreshold: 0.1, rule: '>', source: 'evidently' },
  es: { name: 'es', label: 'Epps-Singleton', types: N, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'evidently', needsVariance: true },
  t_test: { name: 't_test', label: 't_test', types: N, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'evidently', needsVariance: true },
  chisquare: { name: 'chisquare', label: 'chi-square p_value', types: C, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'evidently' },
  z: { name: 'z', label: 'Z-test p_value', types: C, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'evidently' },
  fisher_exact: { name: 'fisher_exact', label: "Fisher's Exact test", types: C, score: 'p_value', defaultThreshold: 0.1, rule: '<', source: 'evidently' },
  g_test: { name: 'g_test', label: 'g_test', types: C, score: 'p_value', defaultThreshold: 0.1, rule: '<', source: 'evidently' },
  TVD: { name: 'TVD', label: 'Total-Variation-Distance', types: C, score: 'p_value', defaultThreshold: 0.1, rule: '<', source: 'evidently' },
  chisquare_alibi: { name: 'chisquare_alibi', label: 'Chi-square (contingency, Alibi Detect)', types: C, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'alibi' },
  ks_asymp: { name: 'ks_asymp', label: 'K-S asymptotic (Alibi Detect)', types: N, score: 'p_value', defaultThreshold: 0.05, rule: '<', source: 'alibi' },
};

export const METHOD_NAMES = Object.keys(METHODS);
export const VALID_METHOD_NAMES = ['auto', ...METHOD_NAMES];

export function assertMethod(name: string): void {
  if (name !== 'auto' && !(name in METHODS)) {
    throw new Error(`Unknown drift method "${name}". Valid methods: ${VALID_METHOD_NAMES.join(', ')}`);
  }
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
  | { type: 'numerical'; ref: Float64Array; cur: Float64Array; table?: CountTable }
  | { type: 'categorical'; table: CountTable; pooledCodes?: Int32Array };

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
export function autoMethod(pair: ColumnPair): string {
  const nRef = pair.type === 'numerical' ? pair.ref.length : pair.table.nRef;
  const nValues = distinctPooled(pair);
  if (nRef <= 1000) {
    if (pair.type === 'numerical' && nValues > 5) return 'ks';
    return nValues > 2 ? 'chisquare' : 'z';
  }
  if (pair.type === 'numerical') return nValues <= 5 ? 'jensenshannon' : 'wasserstein';
  return 'jensenshannon';
}

export interface RawResult {
  statistic: number | null;
  p_value: number | null;
  reason?: string;
  note?: string;
}

/**
 * Run one method on prepared data. `name` is a registered method (checked by
 * assertMethod) and neither sample is empty (analyzeColumn says so first).
 * Never throws on data problems: returns a reason instead.
 */
export function runMethod(name: string, pair: ColumnPair): RawResult {
  const spec = METHODS[name]!;
  if (pair.type === 'categorical' && !spec.types.includes('categorical')) {
    return { statistic: null, p_value: null, reason: `${name} applies to numerical columns only` };
  }
  if (spec.needsVariance && distinctPooled(pair) < 2) {
    return { statistic: null, p_value: null, reason: `constant column: both samples hold one identical value, ${name} needs variance` };
  }
  let out: RawResult;
  if (pair.type === 'numerical') {
    const { ref, cur } = pair;
    switch (name) {
      case 'ks':
        out = ks(ref, cur, 'auto');
        break;
      case 'ks_asymp':
        out = ks(ref, cur, 'asymp');
        break;
      case 'wasserstein':
        out = wassersteinNorm(ref, cur);
        break;
      case 'ed':
        out = energyDistance(ref, cur);
        break;
      case 't_test':
        out = tTest(ref, cur);
        if (out.statistic === null) out.reason = 'zero variance in both samples: t-test undefined';
        break;
      case 'mannw':
        out = mannWhitney(ref, cur, 'less');
        break;
      case 'cramer_von_mises':
        if (ref.length < 2 || cur.length < 2) {
          out = { statistic: null, p_value: null, reason: 'Cramer-von Mises needs at least two values in each sample' };
        } else out = cramerVonMises(ref, cur);
        break;
      case 'anderson': {
        const r = andersonKsamp(ref, cur);
        out = { statistic: r.statistic, p_value: r.p_value };
        if (r.capped === 'cap') out.note = 'p-value capped at 0.25 (scipy anderson_ksamp)';
        if (r.capped === 'floor') out.note = 'p-value floored at 0.001 (scipy anderson_ksamp)';
        break;
      }
      case 'es':
        out = eppsSingleton(ref, cur);
        break;
      case 'psi':
        out = { statistic: psiValue(binNumerical(ref, cur)), p_value: null };
        break;
      case 'kl_div':
        out = { statistic: klValue(binNumerical(ref, cur)), p_value: null };
        break;
      case 'jensenshannon':
        out = { statistic: jsValue(binNumerical(ref, cur)), p_value: null };
        break;
      case 'hellinger':
        out = { statistic: hellingerNumerical(ref, cur, mergeStats(ref, cur).distinct), p_value: null };
        break;
      default:
        out = runCategorical(name, tableOf(pair));
    }
  } else {
    out = runCategorical(name, pair.table, pair.pooledCodes);
  }
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

function runCategorical(name: string, t: CountTable, pooledCodes?: Int32Array): RawResult {
  switch (name) {
    case 'chisquare':
      return chiSquareEvidently(t);
    case 'z':
      return zTest(t);
    case 'fisher_exact':
      return fisherExact(t);
    case 'g_test':
      return gTest(t);
    case 'TVD':
      return tvdTest(t, pooledCodes);
    case 'chisquare_alibi':
      return chiSquareContingency(t);
    case 'psi':
      return { statistic: psiValue(binTable(t)), p_value: null };
    case 'kl_div':
      return { statistic: klValue(binTable(t)), p_value: null };
    case 'jensenshannon':
      return { statistic: jsValue(binTable(t)), p_value: null };
    case 'hellinger':
      return { statistic: hellingerTable(t), p_value: null };
    default:
      return { statistic: null, p_value: null, reason: `${name} applies to numerical columns only` };
  }
}
