/**
 * The server's Prometheus metrics (prom-client, a registry of its own so two
 * servers in one process never share counters): requests, errors and latency
 * per model and version, rows per request, version loads and refusals, and
 * which version serves. A model label is only ever a served model's name
 * (an unknown name is counted as "unknown"), so a client cannot grow the series.
 * The prediction log's rows spooled and uploaded, its upload failures and its
 * backlog (rows and segments still in the spool) are here too, and the
 * feedback log's items received, joined, pending, duplicated, forwarded and
 * failed forwards. Releases: the candidate's weight per model and mode
 * (read from the host when scraped), each serving version's share of the
 * answers (champion and candidate: one series per version even with no
 * release, so a dashboard always shows where traffic goes) and the shadow
 * scorings by outcome.
 * Batching (batcher.ts): rows and requests per model call, the queue wait,
 * merged calls that failed. In a cluster (`perennial serve --workers N`,
 * cluster.ts) the primary sums every worker's series (counters, histograms,
 * most gauges); a gauge that says which version serves or a release's weight
 * is the same on every worker and is taken as the maximum instead
 * (`aggregator: 'max'`), and `perennial_serve_worker_info` names each worker.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { JoinedFeedback } from './feedback';

/** Seconds of a request or a scoring: half a millisecond to 2.5 s. */
const SECONDS_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
/** Rows of a request or a model call. */
const ROWS_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 4096, 16384];

export type Protocol = 'v2' | 'v1' | 'other';

export class ServeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'model' | 'version' | 'protocol' | 'code'>;
  readonly errors: Counter<'model' | 'version' | 'protocol' | 'code'>;
  readonly latency: Histogram<'model' | 'version' | 'protocol'>;
  readonly rows: Histogram<'model' | 'version'>;
  readonly loads: Counter<'model' | 'version' | 'outcome'>;
  readonly serving: Gauge<'model' | 'version'>;
  readonly logSpooled: Counter<'model'>;
  readonly logUploaded: Counter<'model'>;
  readonly logUploadFailures: Counter;
  readonly logSpoolFailures: Counter;
  readonly logIgnoredLines: Counter<'reason'>;
  readonly logBacklogRows: Gauge;
  readonly logBacklogSegments: Gauge;
  readonly feedbackReceived: Counter<'model'>;
  readonly feedbackRejected: Counter<'model'>;
  readonly feedbackJoined: Counter<'model'>;
  /** Live performance from joined feedback, per version and arm: accuracy is correct ÷ labels, RMSE √(squared errors ÷ labels) in PromQL. */
  readonly liveLabels: Counter<'model' | 'version' | 'arm' | 'outcome'>;
  readonly liveAbsoluteError: Counter<'model' | 'version' | 'arm'>;
  readonly liveSquaredError: Counter<'model' | 'version' | 'arm'>;
  readonly liveFlags: Counter<'model' | 'version' | 'arm'>;
  readonly feedbackDuplicates: Counter<'model'>;
  readonly feedbackUnmatched: Counter<'model'>;
  readonly feedbackForwarded: Counter<'model'>;
  readonly feedbackForwardFailures: Counter<'model'>;
  readonly feedbackFailures: Counter;
  readonly feedbackPending: Gauge;
  readonly releaseWeight: Gauge<'model' | 'mode' | 'version'>;
  readonly trafficWeight: Gauge<'model' | 'version' | 'role'>;
  readonly shadow: Counter<'model' | 'version' | 'outcome'>;
  readonly shadowDuration: Histogram<'model' | 'version'>;
  readonly batchRows: Histogram<'model' | 'version'>;
  readonly batchRequests: Histogram<'model' | 'version'>;
  readonly batchWait: Histogram<'model' | 'version'>;
  readonly batchFailures: Counter<'model' | 'version'>;
  /** The releases in force when scraped (the server sets it from the host). */
  releases: (() => { model: string; mode: string; version: string; weight: number }[]) | undefined;
  /** The version each model answers with (from swapped), for the traffic weights. */
  private readonly servingVersions = new Map<string, string>();
  /** What the pending gauge reads when scraped (the feedback log sets it). */
  pendingFeedback: (() => number) | undefined;
  /** What the backlog gauges read when scraped (the prediction log sets it). */
  backlog: (() => { rows: number; segments: number }) | undefined;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'perennial_serve_' });
    this.requests = new Counter({
      name: 'perennial_serve_requests_total',
      help: 'Inference requests answered, by model, version, protocol and HTTP status',
      labelNames: ['model', 'version', 'protocol', 'code'],
      registers,
    });
    this.errors = new Counter({
      name: 'perennial_serve_request_errors_total',
      help: 'Inference requests answered with an error status (4xx, 5xx)',
      labelNames: ['model', 'version', 'protocol', 'code'],
      registers,
    });
    this.latency = new Histogram({
      name: 'perennial_serve_request_duration_seconds',
      help: 'Time from request received to response sent, inference routes',
      labelNames: ['model', 'version', 'protocol'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.rows = new Histogram({
      name: 'perennial_serve_rows_per_request',
      help: 'Rows in one inference request',
      labelNames: ['model', 'version'],
      buckets: ROWS_BUCKETS,
      registers,
    });
    this.loads = new Counter({
      name: 'perennial_serve_version_loads_total',
      help: 'Versions loaded (outcome loaded) or refused (checksum, parse or load failure)',
      labelNames: ['model', 'version', 'outcome'],
      registers,
    });
    this.serving = new Gauge({
      name: 'perennial_serve_serving_version',
      help: '1 for the version each model answers with',
      labelNames: ['model', 'version'],
      registers,
      aggregator: 'max',
    });
    this.logSpooled = new Counter({
      name: 'perennial_serve_log_rows_spooled_total',
      help: 'Prediction log rows written to the local spool (before their answer was sent)',
      labelNames: ['model'],
      registers,
    });
    this.logUploaded = new Counter({
      name: 'perennial_serve_log_rows_uploaded_total',
      help: 'Prediction log rows uploaded to the store as Parquet (including rows adopted from a stopped server)',
      labelNames: ['model'],
      registers,
    });
    this.logUploadFailures = new Counter({
      name: 'perennial_serve_log_upload_failures_total',
      help: 'Prediction log uploads that failed (the segment stays in the spool and is retried)',
      registers,
    });
    this.logSpoolFailures = new Counter({
      name: 'perennial_serve_log_spool_failures_total',
      help: 'Requests not answered because their prediction log rows could not be spooled (answered 503)',
      registers,
    });
    this.logIgnoredLines = new Counter({
      name: 'perennial_serve_log_ignored_lines_total',
      help: 'Spool lines not uploaded: torn (a write cut short by a kill, never answered) or corrupt (kept beside the spool)',
      labelNames: ['reason'],
      registers,
    });
    const backlog = () => this.backlog?.() ?? { rows: 0, segments: 0 };
    this.logBacklogRows = new Gauge({
      name: 'perennial_serve_log_backlog_rows',
      help: 'Prediction log rows in the spool, not yet uploaded',
      registers,
      collect() {
        this.set(backlog().rows);
      },
    });
    this.logBacklogSegments = new Gauge({
      name: 'perennial_serve_log_backlog_segments',
      help: 'Spool segments not yet uploaded (the open one included when it has rows)',
      registers,
      collect() {
        this.set(backlog().segments);
      },
    });
    this.feedbackReceived = new Counter({
      name: 'perennial_serve_feedback_items_received_total',
      help: 'Feedback items (labels or flags) accepted and spooled, before the answer was sent',
      labelNames: ['model'],
      registers,
    });
    this.feedbackRejected = new Counter({
      name: 'perennial_serve_feedback_requests_rejected_total',
      help: 'Feedback requests refused (400 bad item, 401 no or wrong token, 404 unknown model, 503 not spooled)',
      labelNames: ['model'],
      registers,
    });
    this.liveLabels = new Counter({
      name: 'perennial_serve_live_labels_total',
      help: 'Labelled predictions joined with their label, per version and arm; outcome correct or wrong (classification), labelled (regression)',
      labelNames: ['model', 'version', 'arm', 'outcome'],
      registers,
    });
    this.liveAbsoluteError = new Counter({
      name: 'perennial_serve_live_absolute_error_sum',
      help: 'Regression: the sum of |prediction - label| over the labelled predictions (MAE = this / labels)',
      labelNames: ['model', 'version', 'arm'],
      registers,
    });
    this.liveSquaredError = new Counter({
      name: 'perennial_serve_live_squared_error_sum',
      help: 'Regression: the sum of (prediction - label)^2 over the labelled predictions (RMSE = sqrt(this / labels))',
      labelNames: ['model', 'version', 'arm'],
      registers,
    });
    this.liveFlags = new Counter({
      name: 'perennial_serve_live_flags_total',
      help: "Predictions a user flagged (such as 'wrong'), per version and arm",
      labelNames: ['model', 'version', 'arm'],
      registers,
    });
    this.feedbackJoined = new Counter({
      name: 'perennial_serve_feedback_items_joined_total',
      help: 'Feedback items joined with their prediction and written to the feedback log',
      labelNames: ['model'],
      registers,
    });
    this.feedbackDuplicates = new Counter({
      name: 'perennial_serve_feedback_duplicates_total',
      help: 'Feedback items dropped because their prediction had a label already (the first label wins)',
      labelNames: ['model'],
      registers,
    });
    this.feedbackUnmatched = new Counter({
      name: 'perennial_serve_feedback_unmatched_total',
      help: 'Feedback items whose prediction was not found within the pending limit (kept under logs/<model>/feedback-unmatched/)',
      labelNames: ['model'],
      registers,
    });
    this.feedbackForwarded = new Counter({
      name: 'perennial_serve_feedback_items_forwarded_total',
      help: 'Joined feedback items signalled to the monitor workflow (monitor/<model>)',
      labelNames: ['model'],
      registers,
    });
    this.feedbackForwardFailures = new Counter({
      name: 'perennial_serve_feedback_forward_failures_total',
      help: 'Feedback signals to the monitor that failed (the segment stays in the spool and is retried)',
      labelNames: ['model'],
      registers,
    });
    this.feedbackFailures = new Counter({
      name: 'perennial_serve_feedback_failures_total',
      help: 'Passes over the feedback spool that failed (a join, a write or a forward; retried with backoff)',
      registers,
    });
    const pending = () => this.pendingFeedback?.() ?? 0;
    this.feedbackPending = new Gauge({
      name: 'perennial_serve_feedback_pending_items',
      help: 'Feedback items waiting for their prediction to reach the prediction log (retried with backoff)',
      registers,
      collect() {
        this.set(pending());
      },
    });
    const releases = () => this.releases?.() ?? [];
    this.releaseWeight = new Gauge({
      name: 'perennial_serve_release_weight',
      help: "The release candidate's weight per model and mode: its share of traffic (canary, ab) or of requests copied to it (shadow); no series without a release",
      labelNames: ['model', 'mode', 'version'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        for (const r of releases()) this.set({ model: r.model, mode: r.mode, version: r.version }, r.weight);
      },
    });
    const serving = this.servingVersions;
    this.trafficWeight = new Gauge({
      name: 'perennial_serve_traffic_weight',
      help: "Each serving version's share of the answers per model: the champion 1 - w and the candidate w during a canary or A/B release, the champion 1 otherwise (a shadow candidate 0: it answers nothing)",
      labelNames: ['model', 'version', 'role'],
      registers,
      aggregator: 'max',
      collect() {
        this.reset();
        const inForce = new Map(releases().map((r) => [r.model, r]));
        for (const [model, version] of serving) {
          const release = inForce.get(model);
          const share = release && release.mode !== 'shadow' ? release.weight : 0;
          this.set({ model, version, role: 'champion' }, 1 - share);
          if (release) this.set({ model, version: release.version, role: 'candidate' }, share);
        }
      },
    });
    this.shadow = new Counter({
      name: 'perennial_serve_shadow_requests_total',
      help: 'Requests scored by a shadow candidate after their answer was sent: scored (and logged), failed (an error scoring or logging), skipped (too many shadow scorings waiting)',
      labelNames: ['model', 'version', 'outcome'],
      registers,
    });
    this.shadowDuration = new Histogram({
      name: 'perennial_serve_shadow_duration_seconds',
      help: "Time a shadow candidate took to score a request's rows, off the request path",
      labelNames: ['model', 'version'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    this.batchRows = new Histogram({
      name: 'perennial_serve_batch_rows',
      help: 'Rows per model call: one request scored alone, or the requests an adaptive batch merged',
      labelNames: ['model', 'version'],
      buckets: ROWS_BUCKETS,
      registers,
    });
    this.batchRequests = new Histogram({
      name: 'perennial_serve_batch_requests',
      help: 'Requests answered by one model call (1: scored alone)',
      labelNames: ['model', 'version'],
      buckets: [1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64],
      registers,
    });
    this.batchWait = new Histogram({
      name: 'perennial_serve_batch_queue_wait_seconds',
      help: 'Time a request waited in the batch queue before its model call started (about 0 when the model was idle)',
      labelNames: ['model', 'version'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1],
      registers,
    });
    this.batchFailures = new Counter({
      name: 'perennial_serve_batch_failures_total',
      help: 'Merged model calls that failed; each of their requests was scored again alone',
      labelNames: ['model', 'version'],
      registers,
    });
  }

  /** In a cluster: this worker's slot and pid, as a series of its own (1 while it runs). */
  workerInfo(slot: number, pid: number): void {
    new Gauge({
      name: 'perennial_serve_worker_info',
      help: 'One series per cluster worker running (perennial serve --workers N): its slot and process id',
      labelNames: ['worker', 'pid'],
      registers: [this.registry],
    }).set({ worker: String(slot), pid: String(pid) }, 1);
  }

  /** Joined feedback into the live figures: each item once (the log writes each prediction's first label once). */
  live(items: readonly JoinedFeedback[]): void {
    for (const item of items) {
      const labels = { model: item.prediction.model, version: item.prediction.version, arm: item.prediction.arm };
      if (item.flag !== undefined) this.liveFlags.inc(labels);
      if (item.correct !== undefined) this.liveLabels.inc({ ...labels, outcome: item.correct ? 'correct' : 'wrong' });
      if (item.error !== undefined) {
        this.liveLabels.inc({ ...labels, outcome: 'labelled' });
        this.liveAbsoluteError.inc(labels, Math.abs(item.error));
        this.liveSquaredError.inc(labels, item.error * item.error);
      }
    }
  }

  /** The serving gauge moves with the swap. */
  swapped(model: string, version: string, previous: string | null): void {
    if (previous) this.serving.remove({ model, version: previous });
    this.serving.set({ model, version }, 1);
    this.servingVersions.set(model, version);
  }
}
