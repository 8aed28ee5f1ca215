/** Public face of the drift engine: the shared types and the batch engine. */
export type * from './types';
export {
  computeDrift,
  computeDriftSync,
  testColumn,
  sampleRows,
  assertMethod,
  shutdownWorkers,
  METHODS,
  VALID_METHOD_NAMES,
  PARALLEL_MIN_VALUES,
} from './engine';
export type { MethodName, MethodSpec } from './batch/methods';
