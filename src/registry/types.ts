/** What the registry keeps per version (lineage.json) and per model (aliases.json). */

export interface ArtifactRef {
  name: string;
  key: string;
  sha256: string;
  bytes: number;
}

export interface Lineage {
  model: string;
  version: string;
  createdAt: string;
  task: 'classification' | 'regression';
  data: {
    snapshotSha256: string;
    snapshotKey: string;
    rows: number;
    trainRows: number;
    holdoutRows: number;
    batches: string[];
  };
  code: { version: string; dirty: boolean; package: string };
  spec: { sha256: string; key: string };
  params: Record<string, unknown>;
  seed: number;
  backend: string;
  trigger: string;
  workflow: { id: string; runId: string };
  metrics: Record<string, unknown>;
  /** How training went: a resumed run says from which epoch. */
  training?: { epochs: number; resumedFromEpoch: number | null; finalLoss: number; seconds: number };
  artifacts: ArtifactRef[];
}

export interface AliasHistoryEntry {
  at: string;
  action: 'promote' | 'rollback' | 'revert-promotion';
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
