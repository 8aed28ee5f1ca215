/**
 * Inputs and outputs of the pipeline's activities: plain JSON, so workflows
 * (which import only these types) stay deterministic and payloads stay small.
 * Data itself never travels through Temporal; S3 keys do.
 */
import type { ModelSpec } from '../src/spec';
import type { Lineage, Aliases, ReproduceTolerance } from '../src/registry';
import type { Evaluation } from '../src/metrics';
import type { BackendName } from '../src/model';
import type { BatchOutcome, SnapshotPart } from '../src/data/fan-out';
import type { RowSetSums } from '../src/data/snapshot';

export interface BatchRef {
  key: string;
  sha256: string;
  bytes: number;
  /** The object's ETag when it was read: the same key and ETag need no new download to be recognized. */
  etag?: string;
  /** The spec's data source it was pulled from (absent: delivered to incoming/ directly). */
  source?: string;
}

export interface SnapshotRef {
  /** The snapshot's id: a canonical hash of its rows (same rows, same id, whatever files they came in). Snapshots written before Parquet: the CSV file's sha256. */
  sha256: string;
  key: string;
  /** sha256 of the Parquet file's bytes, checked on every read; absent for the older CSV snapshots, whose id is their file's sha256. */
  fileSha256?: string;
  rows: number;
  /** Oldest and newest value of the time column. */
  timeRange?: { from: string; to: string } | null;
  /** Every batch (key and sha256) whose rows are in it. */
  batches: BatchRef[];
}

export interface ChampionRef {
  version: string;
  snapshotSha256: string;
  codeVersion: string;
  specSha256: string;
}

export interface IngestInput {
  model: string;
}
export interface IngestOutput {
  spec: ModelSpec;
  specSha256: string;
  specKey: string;
  codeVersion: string;
  base: SnapshotRef | null;
  /** Batches in incoming/ not yet in the base snapshot. */
  batches: BatchRef[];
  champion: ChampionRef | null;
}

export interface ValidateInput {
  model: string;
  spec: ModelSpec;
  batches: BatchRef[];
}
export interface ValidatedBatch extends BatchRef {
  validatedKey: string;
  rows: number;
  rejectedRows: number;
  quarantineKey?: string;
  /** Oldest and newest time of its accepted rows (null: none has a time); a days window is cut from the newest. */
  timeRange?: { from: string; to: string } | null;
}
export interface ValidateOutput {
  accepted: ValidatedBatch[];
  rowsAccepted: number;
  rowsRejected: number;
}

export interface ValidateBatchInput {
  model: string;
  spec: ModelSpec;
  batch: BatchRef;
}
/** One batch validated: accepted (with its rejected rows counted), or refused and quarantined whole (failure). */
export type ValidateBatchOutput = BatchOutcome<ValidatedBatch>;

export interface SnapshotInput {
  model: string;
  spec: ModelSpec;
  base: SnapshotRef | null;
  accepted: ValidatedBatch[];
  /** The row-set sums of every part under the window, computed apart (snapshotPart): the snapshot's id is known before any row is merged. */
  parts?: RowSetSums[];
}

export interface SnapshotPartInput {
  model: string;
  spec: ModelSpec;
  part: SnapshotPart;
  /** A days window: only rows of this UTC day (days since 1970-01-01) and after. */
  sinceDay?: number;
}
export type SnapshotPartOutput = RowSetSums;
export interface SnapshotOutput extends SnapshotRef {
  created: boolean;
}

export interface PreprocessInput {
  model: string;
  spec: ModelSpec;
  snapshot: SnapshotRef;
}
export interface PreprocessOutput {
  preprocessorKey: string;
  trainRows: number;
  holdoutRows: number;
  /** Time value where the holdout begins (rows at or after it are held out). */
  holdoutFrom: string;
  inputColumns: number;
  classes?: string[];
}

export interface TrainInput {
  model: string;
  spec: ModelSpec;
  snapshot: SnapshotRef;
  preprocess: PreprocessOutput;
}
export interface TrainOutput {
  modelJsonKey: string;
  weightsKey: string;
  backend: BackendName;
  epochs: number;
  resumedFromEpoch: number | null;
  finalLoss: number;
  trainSeconds: number;
}

export interface EvaluateInput {
  model: string;
  spec: ModelSpec;
  snapshot: SnapshotRef;
  preprocess: PreprocessOutput;
  train: TrainOutput;
  champion: ChampionRef | null;
}
export type EvaluateOutput = Evaluation;

export interface RegisterInput {
  model: string;
  spec: ModelSpec;
  specSha256: string;
  specKey: string;
  codeVersion: string;
  trigger: string;
  /** The trigger's evidence (RetrainInput.reason), recorded in lineage. */
  triggerReason?: string;
  /** The champion the candidate was evaluated against. */
  parent?: string | null;
  snapshot: SnapshotRef;
  preprocess: PreprocessOutput;
  train: TrainOutput;
  evaluation: EvaluateOutput;
}
export type RegisterOutput = Lineage;

export interface PromoteInput {
  model: string;
  version: string;
  reason: string;
  /** The champion the candidate was evaluated against: promote only if it still is (compare-and-set). */
  expectedChampion?: string | null;
}
export type PromoteOutput = Aliases;

export interface RollbackInput {
  model: string;
  /** The champion the rollback was decided against (compare-and-set). */
  from: string;
  /** The version to put back. */
  to: string;
  reason: string;
}

export interface PrepareReproductionInput {
  model: string;
  version: string;
  /** Retrain on code other than the version's (the report then measures what the code changed). */
  allowOtherCode?: boolean;
}
export interface PrepareReproductionOutput {
  /** The spec the version was trained with (its bundle's spec.json). */
  spec: ModelSpec;
  snapshot: SnapshotRef;
  recorded: { backend: BackendName; codeVersion: string; seed: number; trainRows: number };
  /** The code the training workers run. */
  workerCode: string;
}

export interface CompareReproductionInput {
  model: string;
  version: string;
  preprocess: PreprocessOutput;
  train: TrainOutput;
  evaluation: EvaluateOutput;
  /** Across backends; absent: DEFAULT_REPRODUCE_TOLERANCE. */
  tolerance?: ReproduceTolerance;
}
