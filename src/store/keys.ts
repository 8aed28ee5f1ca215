/** The S3 layout of DESIGN.md, in one place. */
export const keys = {
  incoming: (model: string) => `datasets/${model}/incoming/`,
  validated: (model: string, batchSha: string) => `datasets/${model}/validated/${batchSha}.jsonl`,
  snapshot: (model: string, sha: string) => `datasets/${model}/snapshots/${sha}.csv`,
  snapshotManifest: (model: string, sha: string) => `datasets/${model}/snapshots/${sha}.manifest.json`,
  quarantine: (model: string) => `datasets/${model}/quarantine/`,
  spec: (model: string) => `models/${model}/spec.json`,
  version: (model: string, version: string) => `models/${model}/versions/${version}/`,
  versions: (model: string) => `models/${model}/versions/`,
  aliases: (model: string) => `models/${model}/aliases.json`,
  checkpoints: (model: string, runId: string) => `models/${model}/checkpoints/${runId}/`,
  evaluations: (model: string) => `reports/${model}/evaluations/`,
};

/** The last path segment, as a user would name the file. */
export function baseName(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}
