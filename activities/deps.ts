/**
 * What activities need from the outside world, handed in by the worker (real
 * S3, real clock) or by a test (the same real S3, or fakes for pure logic).
 */
import type { BackendName } from '../src/model';
import type { CodeVersion, Registry } from '../src/registry';
import type { ObjectStore } from '../src/store';

export interface ActivityDeps {
  store: ObjectStore;
  registry: Registry;
  clock: () => Date;
  code: CodeVersion;
  /** tfjs backend to ask for in training children; the best available when absent. */
  backend?: BackendName;
  /** Prometheus's HTTP API (PERENNIAL_PROMETHEUS_URL): where a release reads its candidate's guard metrics. */
  prometheusUrl?: string;
  /** How long a training worker keeps a release's downloaded log parts after its last look (default an hour). */
  releasePartsIdleMs?: number;
}
