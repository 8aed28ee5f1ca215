/** Task queue names and run defaults, shared by the config, the worker and the workflows (no imports: workflows bundle it). */

/** Workflows and light activities. */
export const TASK_QUEUE = 'perennial';

/** Heavy CPU work goes to '<task queue>-training' ('perennial-training' for the default queue). */
export const trainingQueueFor = (taskQueue: string): string => `${taskQueue}-training`;

/** How long transient failures of one activity are retried when the starter does not say (PERENNIAL_RETRY_BUDGET_MINUTES). */
export const DEFAULT_RETRY_BUDGET_MINUTES = 10;
