/** Public face of the drift engine: the shared types and the batch engine. */
export type * from './types';
export { computeDrift, sampleRows, assertMethod } from './engine';
