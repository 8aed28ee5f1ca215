/**
 * The S3 layout of DESIGN.md, in one place: every key Perennial writes or
 * reads is built here, and nowhere else. Prefixes end in '/'; a key that names
 * one object does not. Model names, versions and run ids are checked by the
 * callers before they become part of a key.
 */

/** The files of a model version (and of a run's staging area before register copies them). */
export const BUNDLE_FILES = {
  model: 'model.json',
  weights: 'weights.bin',
  preprocessor: 'preprocessor.json',
  metrics: 'metrics.json',
  spec: 'spec.json',
} as const;
export type BundleFile = (typeof BUNDLE_FILES)[keyof typeof BUNDLE_FILES];
/** Written last and create-once: a version exists once its lineage is there. */
export const LINEAGE_FILE = 'lineage.json';
/** Written first and create-once: the version number this run claimed. */
export const CLAIM_FILE = 'claim.json';

const datasets = (model: string) => `datasets/${model}/`;
const models = (model: string) => `models/${model}/`;
const reports = (model: string) => `reports/${model}/`;
const logs = (model: string) => `logs/${model}/`;

/** A date partition as Hive-style tools read it: dt=2026-11-30. */
const datePartition = (at: Date) => `dt=${at.toISOString().slice(0, 10)}`;

export const keys = {
  // --- datasets/<model>/
  /** Raw batches as they arrive (any name; .csv, .jsonl, .ndjson, .parquet, optionally .gz). */
  incoming: (model: string) => `${datasets(model)}incoming/`,
  incomingBatch: (model: string, fileName: string) => `${datasets(model)}incoming/${fileName}`,
  /** What a data source of the spec delivered last (ETags), so an unchanged object is not pulled again. */
  sourceState: (model: string, source: string) => `${datasets(model)}sources/${source}.json`,
  validatedBatches: (model: string) => `${datasets(model)}validated/`,
  /** A batch's accepted rows, typed, for one schema: the same batch under another schema is validated again. */
  validated: (model: string, batchSha: string, schemaSha: string) => `${keys.validatedBatches(model)}${batchSha}-${schemaSha}.parquet`,
  snapshots: (model: string) => `${datasets(model)}snapshots/`,
  snapshot: (model: string, id: string) => `${datasets(model)}snapshots/${id}.parquet`,
  snapshotManifest: (model: string, sha: string) => `${datasets(model)}snapshots/${sha}.manifest.json`,
  quarantine: (model: string) => `${datasets(model)}quarantine/`,
  /** A rejected batch, named by its content so a re-sent batch of the same name never overwrites the first. */
  quarantinedBatch: (model: string, batchSha: string, fileName: string) => `${datasets(model)}quarantine/${batchSha.slice(0, 12)}-${fileName}`,
  quarantineReasons: (model: string, batchSha: string, fileName: string) => `${keys.quarantinedBatch(model, batchSha, fileName)}.reasons.json`,
  /** The bad rows of a batch that was accepted within its error budget. */
  quarantinedRows: (model: string, batchSha: string, fileName: string) => `${keys.quarantinedBatch(model, batchSha, fileName)}.rejected-rows.json`,

  // --- models/<model>/
  allModels: () => 'models/',
  /** The spec in force: a copy of the newest published spec. */
  spec: (model: string) => `${models(model)}spec.json`,
  /** Every spec ever published, by the sha256 of its bytes (immutable: versions copy from here). */
  publishedSpec: (model: string, sha: string) => `${models(model)}specs/${sha}.json`,
  versions: (model: string) => `${models(model)}versions/`,
  version: (model: string, version: string) => `${models(model)}versions/${version}/`,
  versionFile: (model: string, version: string, file: BundleFile | typeof LINEAGE_FILE | typeof CLAIM_FILE) => `${models(model)}versions/${version}/${file}`,
  aliases: (model: string) => `${models(model)}aliases.json`,
  /** A run's candidate until register copies it into an immutable version. */
  staging: (model: string, runId: string) => `${models(model)}staging/${runId}/`,
  stagedFile: (model: string, runId: string, file: BundleFile) => `${models(model)}staging/${runId}/${file}`,
  /** Every run's staging area and checkpoints (retention removes what runs that died left behind). */
  allStaging: (model: string) => `${models(model)}staging/`,
  allCheckpoints: (model: string) => `${models(model)}checkpoints/`,
  /** Per-epoch training checkpoints (src/model/checkpoint-bytes), removed once the model is staged. */
  checkpoints: (model: string, runId: string) => `${models(model)}checkpoints/${runId}/`,
  checkpoint: (model: string, runId: string, epoch: number) => `${models(model)}checkpoints/${runId}/epoch-${String(epoch).padStart(4, '0')}.bin`,
  /** Release records: the steps and the analysis of one candidate's canary, shadow or A/B release. */
  releases: (model: string) => `${models(model)}releases/`,
  release: (model: string, version: string) => `${models(model)}releases/${version}.json`,

  // --- reports/<model>/
  evaluations: (model: string) => `${reports(model)}evaluations/`,
  /** Candidate vs champion on the same holdout, baseline and gate checks, per run. */
  evaluation: (model: string, runId: string) => `${reports(model)}evaluations/${runId}.json`,
  driftReports: (model: string) => `${reports(model)}drift/`,
  driftReport: (model: string, at: Date, format: 'json' | 'html') => `${reports(model)}drift/${at.toISOString().replace(/[:.]/g, '-')}.${format}`,
  /** Every report of a model (retention sweeps them under the spec's reportDays). */
  reports: (model: string) => reports(model),
  retentionReports: (model: string) => `${reports(model)}retention/`,
  /** What a retention sweep planned as of `at` and what it deleted (`replan` > 0: the plan made again after the aliases moved). */
  retentionReport: (model: string, at: Date, replan = 0) =>
    `${reports(model)}retention/${at.toISOString().replace(/[:.]/g, '-')}${replan > 0 ? `-replan-${replan}` : ''}.json`,
  reproductions: (model: string) => `${reports(model)}reproductions/`,
  /** A version retrained from its lineage (`perennial reproduce`): weights, preprocessor and metrics compared, per run. */
  reproduction: (model: string, version: string, runId: string) => `${reports(model)}reproductions/${version}/${runId}.json`,

  // --- logs/<model>/
  predictionLogs: (model: string) => `${logs(model)}predictions/`,
  /** The parts of one UTC day (the day of `at`). */
  predictionLogDay: (model: string, at: Date) => `${logs(model)}predictions/${datePartition(at)}/`,
  predictionLogPart: (model: string, at: Date, part: string) => `${logs(model)}predictions/${datePartition(at)}/${part}.parquet`,
  feedbackLogs: (model: string) => `${logs(model)}feedback/`,
  /** The parts of one UTC day (the day of `at`). */
  feedbackLogDay: (model: string, at: Date) => `${logs(model)}feedback/${datePartition(at)}/`,
  feedbackPart: (model: string, at: Date, part: string) => `${logs(model)}feedback/${datePartition(at)}/${part}.parquet`,
  /** Feedback whose prediction was never found (JSON Lines, kept for a person; src/serve/feedback.ts). */
  feedbackUnmatchedPart: (model: string, at: Date, part: string) => `${logs(model)}feedback-unmatched/${datePartition(at)}/${part}.jsonl`,
  feedbackUnmatchedLogs: (model: string) => `${logs(model)}feedback-unmatched/`,
  /** Every log of a model (retention sweeps their date partitions). */
  logs: (model: string) => logs(model),
};

/** The model a key under models/ belongs to ('weather' for 'models/weather/versions/v1/model.json'). */
export function modelOfKey(key: string): string | undefined {
  const [top, model] = key.split('/');
  return top === 'models' && model ? model : undefined;
}

/** The version folder a key under models/<model>/versions/ belongs to ('v1'). */
export function versionOfKey(key: string): string | undefined {
  const parts = key.split('/');
  return parts[0] === 'models' && parts[2] === 'versions' ? parts[3] : undefined;
}

/** The last path segment, as a user would name the file. */
export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
