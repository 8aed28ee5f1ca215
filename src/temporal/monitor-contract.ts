/**
 * The contract of a model's monitor workflow (`monitor/<model>`) for the
 * services that signal it: the model server forwards joined feedback, and
 * production services in any language send the same JSON. No imports:
 * workflows bundle this file, and the library (src/serve) uses it.
 */

/** One joined label as the model server forwards it to `monitor/<model>` (signal `feedback`). */
export interface FeedbackSignalItem {
  predictionId: string;
  /** The version that answered the prediction. */
  version: string;
  /** What it answered: the label (classification) or the value (regression). */
  prediction: string | number;
  /** The ground truth: a class (classification) or a number (regression). */
  label?: string | number;
  /** A user's flag such as "wrong" when no label exists. */
  flag?: string;
  /**
   * The segment the prediction belongs to: the values the served row had in the
   * columns the spec's `monitoring.segments` names (e.g. {"location": "New York"}),
   * so a use case that underperforms is seen while the overall figure holds.
   */
  segment?: Record<string, string>;
}

/** The payload of signal `feedback`: `{"items": [...]}`, JSON any Temporal SDK or the `temporal` CLI can send. */
export interface FeedbackSignal {
  items: FeedbackSignalItem[];
}

export const FEEDBACK_SIGNAL = 'feedback';

/** What FeedbackReceiver has recorded (query `status`). */
export interface FeedbackReceiverStatus {
  model: string;
  /** Feedback items counted (each prediction id once), per version. */
  versions: Record<string, { items: number; labels: number; flags: number }>;
  /** Items counted, over every version. */
  items: number;
  /** Items whose prediction id was counted already. */
  duplicates: number;
  /** Signals dropped for a bad payload (with a log line each). */
  dropped: number;
  /** The last error a dropped payload had. */
  lastDropped?: string;
  /** Signals taken by this run and every run it continued from. */
  signals: number;
  /** Runs so far (continue-as-new starts the next one). */
  run: number;
  /** The last items counted, newest last. */
  last: FeedbackSignalItem[];
}

/** FeedbackReceiver's input: the model, and on continue-as-new the state carried over. */
export interface FeedbackReceiverInput {
  model: string;
  /** Signals after which the run continues as new (default 2,000). */
  continueAsNewAfter?: number;
  state?: FeedbackReceiverState;
}

export interface FeedbackReceiverState {
  status: FeedbackReceiverStatus;
  /** Prediction ids already counted, oldest first (bounded). */
  seen: string[];
}

/** The workflow id of a model's monitor: production services and the model server signal it (signal-with-start). */
export const monitorWorkflowId = (model: string) => `monitor/${model}`;

// ---------------------------------------------------------------- ModelMonitor (issue 10): the other signals

/** One column of a drift result, with the fields of `perennial drift --json`. */
export interface DriftSignalColumn {
  name: string;
  method: string;
  statistic: number;
  p_value: number | null;
  drift: boolean;
}

/** The payload of signal `drift`: from DriftCheck or an external detector. */
export interface DriftSignal {
  /** Share of columns that drifted, 0..1. */
  share: number;
  /** Whether the dataset drifted (the share reached the spec's threshold). */
  drift: boolean;
  columns: DriftSignalColumn[];
  /** The report in the store (JSON; its .html beside it), when there is one. */
  reportKey?: string;
  /**
   * Classification: performance estimated before labels arrive (confidence-based
   * performance estimation, as NannyML's CBPE) from the served version's calibrated
   * probabilities over the same window, beside the same estimate on its holdout.
   */
  estimated?: EstimatedPerformance;
}

/** CBPE's estimate over a window of unlabelled traffic of one version. */
export interface EstimatedPerformance {
  version: string;
  /** Predictions the estimate is over. */
  rows: number;
  accuracy: number;
  macroF1: number;
  /** The same estimate on the version's holdout (where it matched the realised figures). */
  reference: { accuracy: number; macroF1: number };
}

/** The payload of signal `retrain`: a production service asks for a retraining. */
export interface RetrainSignal {
  reason: string;
  requestedBy?: string;
}

export const DRIFT_SIGNAL = 'drift';
export const RETRAIN_SIGNAL = 'retrain';

/** Update `trigger`: start a retraining now (or join the one in flight, or queue behind it). */
export interface TriggerRequest {
  reason: string;
  requestedBy?: string;
  /** 'manual' (a person, the default) or 'schedule' (the model's retraining schedule, through ScheduledRetrain). */
  source?: 'manual' | 'schedule';
}

/** What `trigger` answers. */
export interface TriggerAnswer {
  /** 'held': a scheduled trigger after a probation rollback, with no new data since (the same data would train the same model). */
  outcome: 'started' | 'joined' | 'queued' | 'held';
  /** The run started or in flight (retrain/<model>); absent while queued behind a cooldown with nothing in flight. */
  workflowId?: string;
  message: string;
}

export const MONITOR_STATUS_QUERY = 'status';
export const TRIGGER_UPDATE = 'trigger';
export const SET_THRESHOLDS_UPDATE = 'set-thresholds';
