/**
 * Numerical two-sample tests on SORTED Float64Arrays (missing values already
 * removed), one file per test, each following the scipy function Evidently
 * (or Alibi Detect) calls; see the method registry (../methods.ts) for names,
 * thresholds and directions.
 */
export { forEachDistinct, kthOfTwo, mean, mergeStats, percentileOfTwo, sumSqDev, type MergeStats, type TestOutput } from './shared';
export { ks, ksStatistic } from './ks';
export { wassersteinDistance, wassersteinNorm } from './wasserstein';
export { energyDistance } from './energy';
export { tTest } from './t-test';
export { mannWhitney } from './mann-whitney';
export { cramerVonMises } from './cramer-von-mises';
export { andersonKsamp } from './anderson';
export { eppsSingleton } from './epps-singleton';
