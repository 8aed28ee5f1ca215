// The model server's public face: the CLI starts one, tests start one in-process and check its decoding.
export { createModelServer, DEFAULT_BODY_LIMIT_BYTES, defaultSpoolDir, type ModelServer } from './server';
export type { InputSpec } from './inputs';
export { decodeV1, decodeV2, encodeV1, encodeV2 } from './protocol';
export { parseJsonBody, splitInferBody } from './body';
export { ServeError } from './errors';
export { PredictionLog, predictionRecord, writeLogParts, type PredictionRecord } from './prediction-log';
export { Spool, readSegment } from './spool';
export { monitorForwarder } from './forward';
export { DEFAULT_MAX_BATCH_ROWS, DEFAULT_MAX_BATCH_WAIT_MS } from './batcher';
export { connectToPrimary, runPrimary, workerSlot, type WorkerLink } from './cluster';
