/**
 * Numerical two-sample tests on SORTED Float64Arrays (missing values already
 * removed), one file per test, each following the scipy function Evidently
 * (or Alibi Detect) calls; see the method registry (../methods.ts) for names,
 * thresholds and directions. The registry imports each test from its own
 * file.
 */
export { ksStatistic } from './ks';
