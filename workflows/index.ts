// Every workflow the worker registers. Deterministic code only.
export { RetrainingPipeline } from './retraining-pipeline';
export { RollbackModel } from './rollback';
export { RetentionSweep } from './retention';
export { DriftCheck } from './drift-check';
export { FeedbackReceiver } from './feedback-receiver';
export { ReproduceVersion } from './reproduce';
export { ReleaseWorkflow } from './release';
export { ModelMonitor } from './monitor';
export { ScheduledRetrain } from './scheduled-retrain';
