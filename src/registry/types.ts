import type { Metrics, Task } from '../metrics';
import type { BackendName, ModelParams } from '../model';
import type { BundleFile } from '../store/keys';

/** What the registry keeps per version (lineage.json) and per model (aliases.json). */

/** One file of a version's bundle, as register receives it. */
export interface BundleArtifact {
  name: BundleFile;
  body: Buffer;
}

export interface ArtifactRef {
  name: string;
  key: string;
  sha256: string;
  bytes: number;
}

/** The code that trained a version. */
export interface CodeVersion {
  /** git commit of the code that trains (or PERENNIAL_CODE_VERSION). */
  version: string;
  /** Local changes to code (src, workflows, activities, package files) at training time. */
  dirty: boolean;
  /** name@version of the package. */
  package: string;
}

export interface Lineage {
  model: string;
  version: string;
  createdAt: string;
  task: Task;
  data: {
    /** The snapshot's id: the canonical hash of its rows (before Parquet snapshots: the CSV file's sha256). */
    snapshotSha256: string;
    snapshotKey: string;
    /** sha256 of the snapshot file's bytes (Parquet snapshots). */
    snapshotFileSha256?: string;
    /** Oldest and newest value of the time column in the snapshot. */
    timeRange?: { from: string; to: string } | null;
    rows: number;
    trainRows: number;
    holdoutRows: number;
    batches: string[];
  };
  code: CodeVersion;
  spec: { sha256: string; key: string };
  params: ModelParams;
  seed: number;
  /** The tfjs backend that trained it (numbers can differ in the last bits between backends). */
  backend: BackendName;
  trigger: string;
  /** The trigger's evidence as the run was started with it (a drift report, a commit, a person's words). */
  triggerReason?: string;
  /** The champion this version was evaluated against (null: the first model). Promotion is refused if it moved since. */
  parent?: string | null;
  workflow: { id: string; runId: string };
  /** The candidate's metrics on the holdout (the full evaluation is metrics.json). */
  metrics: Metrics;
  /** How training went: a resumed run says from which epoch. */
  training?: { epochs: number; resumedFromEpoch: number | null; finalLoss: number; seconds: number };
  artifacts: ArtifactRef[];
}

export interface AliasHistoryEntry {
  at: string;
  action: 'promote' | 'revert-promotion' | 'rollback';
  from: string | null;
  to: string | null;
  by: string;
  reason?: string;
}

export interface Aliases {
  model: string;
  champion: string | null;
  /** The champion before the current one: where a rollback goes. */
  previous: string | null;
  canary: string | null;
  canaryWeight: number;
  history: AliasHistoryEntry[];
}

export function emptyAliases(model: string): Aliases {
  return { model, champion: null, previous: null, canary: null, canaryWeight: 0, history: [] };
}
