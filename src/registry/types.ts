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

/**
 * How a candidate in release takes traffic (aliases.json `release`, with `canary`
 * the candidate and `canaryWeight` its weight):
 * - `canary`, `ab`: a request without an explicit version goes to the candidate
 *   with probability `canaryWeight`, sticky by its routing key (src/serve/routing.ts);
 *   the two differ in how the release workflow moves the weight (staged, or fixed);
 * - `shadow`: the champion answers every request; a `canaryWeight` share of them is
 *   scored by the candidate too, off the request path, and only logged.
 */
export type ReleaseMode = 'canary' | 'ab' | 'shadow';
export const RELEASE_MODES: readonly ReleaseMode[] = ['canary', 'ab', 'shadow'];

export interface AliasHistoryEntry {
  at: string;
  /**
   * promote, revert-promotion, rollback move the champion (from → to). The release
   * actions name the champion in `from` and the candidate in `to`: release-start
   * (with `mode`, `weight`), release-weight (`weight`), release-end (`outcome`:
   * promoted, the candidate became champion; rolled-back, all traffic on `from`).
   */
  action: 'promote' | 'revert-promotion' | 'rollback' | 'release-start' | 'release-weight' | 'release-end';
  from: string | null;
  to: string | null;
  by: string;
  reason?: string;
  mode?: ReleaseMode;
  weight?: number;
  outcome?: ReleaseOutcome;
}

export type ReleaseOutcome = 'promoted' | 'rolled-back';

export interface Aliases {
  model: string;
  champion: string | null;
  /** The champion before the current one: where a rollback goes. */
  previous: string | null;
  /** The candidate in release (with `release` set), else null. */
  canary: string | null;
  /** The candidate's weight in [0, 1]: its share of traffic (canary, ab) or of requests copied to it (shadow). */
  canaryWeight: number;
  /** The release in flight and how it routes (see ReleaseMode); absent (files written before releases) or null: none. */
  release?: ReleaseMode | null;
  history: AliasHistoryEntry[];
}

/**
 * The release in flight that aliases.json names, or null (no `release` mode, an
 * unknown one, or no candidate). A weight that is not a number in [0, 1] (a hand
 * edit) reads as 0: nothing goes to the candidate.
 */
export function releaseOf(aliases: Aliases): { candidate: string; mode: ReleaseMode; weight: number } | null {
  if (!aliases.release || !RELEASE_MODES.includes(aliases.release) || !aliases.canary) return null;
  const w = aliases.canaryWeight;
  return { candidate: aliases.canary, mode: aliases.release, weight: typeof w === 'number' && w >= 0 && w <= 1 ? w : 0 };
}

export function emptyAliases(model: string): Aliases {
  return { model, champion: null, previous: null, canary: null, canaryWeight: 0, history: [] };
}
