/**
 * The shapes the drift engine speaks. Batch tests (src/drift/batch), the report
 * renderers (src/drift/report) and the CLI all agree on these; the JSON report
 * written by `perennial drift --json` is a DriftReport as is.
 */

export type ColumnType = 'numerical' | 'categorical';

/** One column of a sample: numbers with NaN for missing, or strings with null for missing. */
export type ColumnValues = Float64Array | (string | null)[];

export interface ColumnSample {
  name: string;
  type: ColumnType;
  values: ColumnValues;
}

/** A sample (reference or current): columns of equal length. */
export interface Sample {
  columns: ColumnSample[];
}

export type Correction = 'none' | 'bonferroni' | 'fdr';

export interface DriftOptions {
  /** Only these columns; every column of the reference when absent. */
  columns?: string[];
  /** One method for every column, or 'auto' (Evidently's default choice per column). */
  method?: string;
  /** Per-column method, overriding `method`. */
  perColumnMethod?: Record<string, string>;
  /** Threshold for every column, overriding each method's default. */
  threshold?: number;
  /** Share of drifted columns at which the dataset drifts (default 0.5). */
  driftShare?: number;
  /** Correction of p-values for the dataset decision, as Alibi Detect applies it. */
  correction?: Correction;
  /** Seed for randomized tests (MMD permutations). */
  seed?: number;
  /** How many threads share the numerical columns of large data, the calling thread included (default: all cores; 1: no worker thread). */
  workers?: number;
  /**
   * Keep each numerical column's sorted values for later calls on the same
   * Float64Arrays (default true; checked by a content fingerprint of every
   * column on every call). A one-shot caller such as the CLI turns it off.
   */
  cache?: boolean;
  /** Further methods run on every column on the same sorted data (results in ColumnDriftResult.additional). */
  additionalMethods?: string[];
  /** Compute the multivariate MMD test over the numerical columns (default true). */
  multivariate?: boolean;
  /** MMD permutations (default 100, as Alibi Detect). */
  mmdPermutations?: number;
  /** MMD rows per sample, a seeded subsample when larger (default 500). */
  mmdMaxRows?: number;
}

/** A further method's result on a column (DriftOptions.additionalMethods). */
export interface AdditionalColumnResult {
  method: string;
  statistic: number | null;
  p_value: number | null;
  score: 'p_value' | 'distance';
  threshold: number;
  drift: boolean;
  testable: boolean;
  reason?: string;
}

export interface HistogramPicture {
  kind: 'histogram' | 'bars';
  /** Bin edges (numerical, length = counts + 1) or category labels (categorical). */
  edges?: number[];
  labels?: string[];
  reference: number[]; // shares, summing to 1
  current: number[];
}

export interface ColumnDriftResult {
  name: string;
  type: ColumnType;
  method: string;
  /** The test statistic, or the distance for distance methods; null when not testable. */
  statistic: number | null;
  /** null where the method has no p-value. */
  p_value: number | null;
  /**
   * What is compared with the threshold, by the method's rule (METHODS[method].rule,
   * Evidently's): a p-value drifts below the threshold (`<`), or at or below it
   * for ks and cramer_von_mises (`<=`); a distance drifts at or above it (`>=`),
   * or strictly above it for ed (`>`).
   */
  score: 'p_value' | 'distance';
  threshold: number;
  drift: boolean;
  /** Missing values counted per sample, never silently dropped. */
  missing: { reference: number; current: number };
  /** false with a reason for a constant column, an empty sample, text in a numeric column... */
  testable: boolean;
  reason?: string;
  /** Categories present in current but not in reference. */
  unseen_categories?: string[];
  picture?: HistogramPicture;
  /** Extra information, e.g. a capped p-value (anderson). */
  note?: string;
  /** Results of DriftOptions.additionalMethods. */
  additional?: AdditionalColumnResult[];
}

export interface MultivariateResult {
  method: string; // 'mmd'
  statistic: number;
  p_value: number;
  threshold: number;
  drift: boolean;
  permutations: number;
  bandwidth: number;
}

export interface DriftReport {
  generated_at: string;
  reference_rows: number;
  current_rows: number;
  drift_share: number;
  correction: Correction;
  number_of_columns: number;
  number_of_drifted_columns: number;
  /** number_of_drifted_columns / number of testable columns */
  share: number;
  /** Dataset drift: share >= drift_share (or the corrected multivariate decision). */
  drift: boolean;
  columns: ColumnDriftResult[];
  multivariate?: MultivariateResult;
}
