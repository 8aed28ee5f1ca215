/** A lineage as register receives it, for registry tests on the in-memory store. */
import { parseModelParams } from '../../../src/model/params';
import type { ClassificationMetrics } from '../../../src/metrics';
import type { BundleArtifact, Lineage } from '../../../src/registry/types';

export const NOW = new Date('2026-11-26T12:00:00.000Z');
export const MODEL = 'weather';

const metrics: ClassificationMetrics = {
  task: 'classification',
  n: 20,
  accuracy: 0.8,
  macroF1: 0.7,
  weightedF1: 0.75,
  logLoss: 0.5,
  perClass: [],
  confusion: [],
  classes: ['rain', 'sun'],
};

export function testLineage(runId: string): Omit<Lineage, 'version' | 'artifacts' | 'createdAt'> {
  return {
    model: MODEL,
    task: 'classification',
    data: { snapshotSha256: 'abc', snapshotKey: 'datasets/weather/snapshots/abc.csv', rows: 100, trainRows: 80, holdoutRows: 20, batches: ['b1'] },
    code: { version: '0.1.0', dirty: false, package: 'perennial' },
    spec: { sha256: 'def', key: 'models/weather/specs/def.json' },
    params: parseModelParams({ epochs: 1 }),
    seed: 42,
    backend: 'cpu',
    trigger: 'manual',
    workflow: { id: `retrain/${MODEL}`, runId },
    metrics,
  };
}

export const testArtifacts = (text = 'weights'): BundleArtifact[] => [
  { name: 'model.json', body: Buffer.from('{"layers":2}') },
  { name: 'weights.bin', body: Buffer.from(text) },
];
