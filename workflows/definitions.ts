/**
 * Names shared by workflows, the client (CLI, tests, production services) and
 * the worker: search attributes, queries, signals, updates, workflow ids.
 * Deterministic code only: this file is bundled into workflows.
 */
import type { RetryPolicy } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { NON_RETRYABLE } from '../src/errors';
import { FEEDBACK_SIGNAL, type FeedbackReceiverStatus, type FeedbackSignal } from '../src/temporal/monitor-contract';
import type { GateResult, Metrics, Task } from '../src/metrics';
import type { GuardRun } from '../src/release/guards';
import type { ReleaseLook, ReleaseProgress } from '../src/release/progress';
import type { SequentialResult } from '../src/release/sequential';
import type { ReleaseSpec } from '../src/spec/release-spec';
import type { ReproduceTolerance, ReproductionReport } from '../src/registry/reproduction';

export { SA_MODEL, SA_STAGE, SA_TRIGGER, SA_VERSION } from '../src/temporal/search-attributes';

export const PIPELINE_STAGES = ['ingest', 'validate', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'release', 'promote'] as const;
export type PipelineStage = (typeof PIPELINE_STAGES)[number];

export interface StageRecord {
  stage: PipelineStage | 'compensate';
  status: 'running' | 'completed' | 'failed';
  startedAt: string;
  endedAt?: string;
  detail?: string;
}

export interface PipelineStatus {
  model: string;
  trigger: string;
  stage: PipelineStage | 'compensate' | 'done';
  stages: StageRecord[];
  outcome?: RetrainOutcome;
}

export type RetrainOutcome = 'promoted' | 'rejected' | 'unchanged' | 'failed';

export interface RetrainInput {
  model: string;
  /** Why: manual, schedule, drift, feedback, performance, ci, ... (shown in the UI). */
  trigger: string;
  /** Retrain even when data, code and spec are those of the champion. */
  force?: boolean;
  /** Free text a production service or CI attaches (a commit, a drift report key...). */
  reason?: string;
  /** How long transient failures (store or server outages) of each stage are retried before the run fails. */
  retryBudgetMinutes?: number;
  /** The code version (a commit) the run must train with: CI passes the commit under test; the run fails at once if the workers run other code. */
  codeVersion?: string;
  /** Rows per part when the snapshot stage fans out over the training workers (PERENNIAL_PARTITION_ROWS; default 500,000). */
  partitionRows?: number;
}

export interface RetrainResult {
  model: string;
  trigger: string;
  outcome: RetrainOutcome;
  version?: string;
  champion: string | null;
  snapshot?: string;
  gate?: GateResult;
  metrics?: { candidate: Metrics; champion: Metrics | null; baseline?: number };
  stages: StageRecord[];
  message: string;
}

export const pipelineStatusQuery = defineQuery<PipelineStatus>('pipelineStatus');

export const workflowIds = {
  /**
   * One retraining per model at a time, enforced by the server: a second start
   * with the same id fails and joins the running one. A new run reuses the id
   * once the last one closed (the trigger is a search attribute and in the summary).
   */
  retrain: (model: string) => `retrain/${model}`,
  /** One rollback per model at a time; the id is free again once it closed. */
  rollback: (model: string) => `rollback/${model}`,
  /** One retention sweep per model at a time (its Temporal Schedule has the same id). */
  retention: (model: string) => `retention/${model}`,
  /** One drift check per model at a time (its Temporal Schedule has the same id). */
  driftCheck: (model: string) => `drift-check/${model}`,
  /** One reproduction of a version at a time. */
  reproduce: (model: string, version: string) => `reproduce/${model}/${version}`,
  /** One release per candidate; the registry allows one release in flight per model. */
  release: (model: string, version: string) => `release/${model}/${version}`,
};

/** A rollback to run: put `to` back as champion in place of `from`. */
export interface RollbackRequest {
  model: string;
  /** The champion when the rollback was decided: if it moved since, nothing is changed. */
  from: string;
  to: string;
  reason: string;
  /** Who asked: a person (the CLI's user), a monitor, a service. */
  requestedBy: string;
}

export interface RollbackResult {
  model: string;
  from: string;
  to: string;
  champion: string | null;
  previous: string | null;
  message: string;
}

/** Retrain a version from its lineage (`perennial reproduce`) and compare. */
export interface ReproduceInput {
  model: string;
  version: string;
  /** Who asked: a person (the CLI's user), CI. */
  requestedBy: string;
  /** Retrain on code other than the version's: the report then measures what the code changed. */
  allowOtherCode?: boolean;
  /** Across backends (absent: DEFAULT_REPRODUCE_TOLERANCE). On the same backend every bit must match. */
  tolerance?: ReproduceTolerance;
  retryBudgetMinutes?: number;
}

export interface ReproduceResult extends ReproductionReport {
  /** The comparison in full, on S3. */
  reportKey: string;
  codeVersions: { recorded: string; reproduced: string };
  /** The retrained model's evaluation report (reports/<model>/evaluations/<runId>.json). */
  evaluationKey: string;
}

/**
 * The retry policy of every activity: transient failures (store or server
 * unreachable, throttling, a lost race, a worker that died) are retried with
 * backoff, without a count of attempts, until the activity's schedule-to-close
 * budget runs out (RetrainInput.retryBudgetMinutes); the permanent errors of
 * src/errors.ts fail at once.
 */
export const ACTIVITY_RETRY: RetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  nonRetryableErrorTypes: NON_RETRYABLE,
};

export { DEFAULT_RETRY_BUDGET_MINUTES } from '../src/temporal/task-queues';

// ---------------------------------------------------------------- feedback (issue 9; the monitor of issue 10 takes the same signal)
// The contract (payloads, signal name, workflow id) lives in src/temporal/monitor-contract.ts: the model server sends it too.

export {
  FEEDBACK_SIGNAL,
  monitorWorkflowId,
  type FeedbackReceiverInput,
  type FeedbackReceiverState,
  type FeedbackReceiverStatus,
  type FeedbackSignal,
  type FeedbackSignalItem,
} from '../src/temporal/monitor-contract';

export const feedbackSignal = defineSignal<[FeedbackSignal]>(FEEDBACK_SIGNAL);

/** Query `status` of a monitor workflow (FeedbackReceiver answers it now; ModelMonitor in issue 10). */
export const feedbackReceiverStatusQuery = defineQuery<FeedbackReceiverStatus>('status');

// ---------------------------------------------------------------- releases (issue 9)

/** Prove a registered candidate on live traffic, then promote it or put all traffic back on the champion. */
export interface ReleaseInput {
  model: string;
  candidate: string;
  /** The champion the candidate was evaluated against: the release starts only while it still is. */
  champion: string;
  task: Task;
  release: ReleaseSpec;
  /** Why the candidate exists (the pipeline's trigger). */
  trigger: string;
  /** Carried across continue-as-new: where the release stood. */
  progress?: ReleaseProgress;
  /** Looks before the run continues as new (default 500, about 3,000 history events). */
  looksPerRun?: number;
}

export interface ReleaseStatus {
  model: string;
  candidate: string;
  champion: string;
  strategy: ReleaseSpec['strategy'];
  phase: ReleaseProgress['phase'];
  /** Canary: the step in force (1-based) and how many there are. */
  step: number;
  steps: number;
  weight: number;
  startedAt: string;
  reason: string | null;
  /** The sequential test's conclusion so far, with its evidence. */
  analysis: SequentialResult;
  guards: GuardRun;
  looks: ReleaseLook[];
}

export type ReleaseOutcome = 'promoted' | 'rolled-back';

export interface ReleaseResult {
  model: string;
  candidate: string;
  outcome: ReleaseOutcome;
  reason: string;
  analysis: SequentialResult;
  /** The champion once the release ended. */
  champion: string | null;
  /** The release record: steps, looks, verdict (models/<model>/releases/<version>.json). */
  recordKey: string;
}

export interface ReleaseDecisionInput {
  /** Who: a person (a CLI user), a service. */
  by: string;
  reason?: string;
}

export const releaseStatusQuery = defineQuery<ReleaseStatus>('releaseStatus');
/** Promote a release that waits for a person's approval (spec release.manualApproval). */
export const approveReleaseUpdate = defineUpdate<ReleaseStatus, [ReleaseDecisionInput]>('approve');
/** Put all traffic back on the champion now; the candidate is marked rejected with the reason. */
export const abortReleaseUpdate = defineUpdate<ReleaseStatus, [ReleaseDecisionInput]>('abort');
/** Hold the current step (the analysis keeps watching and still rolls back a bad candidate). */
export const pauseReleaseUpdate = defineUpdate<ReleaseStatus, [ReleaseDecisionInput]>('pause');
export const resumeReleaseUpdate = defineUpdate<ReleaseStatus, [ReleaseDecisionInput]>('resume');
