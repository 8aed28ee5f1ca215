/**
 * Dataset-level decisions from per-column p-values, as Alibi Detect applies
 * them (alibi_detect.cd.base.BaseUnivariateDrift.predict):
 *  - bonferroni: drift when min p < threshold / k,
 *  - fdr: Benjamini-Hochberg at q = threshold: drift when some sorted
 *    p_(i) < q * i / k.
 */

export function bonferroni(pValues: number[], threshold: number): boolean {
  const k = pValues.length;
  if (k === 0) return false;
  return pValues.some((p) => p < threshold / k);
}

export function fdr(pValues: number[], q: number): boolean {
  const k = pValues.length;
  if (k === 0) return false;
  const sorted = [...pValues].sort((a, b) => a - b);
  return sorted.some((p, i) => p < (q * (i + 1)) / k);
}
