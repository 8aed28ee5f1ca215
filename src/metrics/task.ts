/** The learning tasks Perennial trains for: one definition for specs, models, labels, metrics and lineage. */
export const TASKS = ['classification', 'regression'] as const;
export type Task = (typeof TASKS)[number];
