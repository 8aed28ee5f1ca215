// Every workflow the worker registers. Deterministic code only.
export { RetrainingPipeline } from './retraining-pipeline';
export { RollbackModel } from './rollback';
export { FeedbackReceiver } from './feedback-receiver';
export { ReproduceVersion } from './reproduce';
export { RetentionSweep } from './retention';
