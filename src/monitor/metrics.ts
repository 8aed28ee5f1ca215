/**
 * The monitor's Prometheus metrics, recorded from workflow code through the
 * SDK's workflow metric meter (`metricMeter` of @temporalio/workflow): the
 * worker's runtime exports them on its Prometheus endpoint
 * (PERENNIAL_WORKER_METRICS_ADDRESS), and the SDK records nothing while a
 * history replays, so a figure is recorded once per event. Gauges hold the
 * last value; a restarted worker shows a model's figures again at its next
 * signal. Type imports only: workflows bundle this file.
 */
import type { MetricMeter } from '@temporalio/common';
import type { LiveFigures } from './live';
import type { TriggerOutcome, TriggerSource } from './policy';

export interface MonitorMetrics {
  /** Live figures of one version (or one segment of it) over a window ('all' or 'window'). */
  live(version: string, window: 'all' | 'window', figures: LiveFigures, segment?: string): void;
  /** CBPE's estimate for the version serving, and the same on its holdout. */
  estimated(version: string, estimate: { accuracy: number; macroF1: number; reference: { accuracy: number } }): void;
  drift(share: number, drifted: boolean): void;
  trigger(source: TriggerSource, outcome: TriggerOutcome | 'skipped'): void;
  run(trigger: TriggerSource, outcome: string, seconds: number): void;
  champion(version: string): void;
  rollback(reason: 'probation'): void;
  dropped(signal: string): void;
}

/** Metrics of one model's monitor, every series tagged with the model. */
export function createMonitorMetrics(meter: MetricMeter, model: string): MonitorMetrics {
  const m = meter.withTags({ model });
  const gauge = (name: string, help: string) => m.createGauge(name, 'float', '', help);
  const liveAccuracy = gauge('perennial_monitor_live_accuracy', 'Live accuracy from joined labels, per version, window and segment');
  const liveMacroF1 = gauge('perennial_monitor_live_macro_f1', 'Live macro F1 from joined labels');
  const liveRmse = gauge('perennial_monitor_live_rmse', 'Live RMSE from joined labels');
  const liveMae = gauge('perennial_monitor_live_mae', 'Live MAE from joined labels');
  const liveFlagRate = gauge('perennial_monitor_live_flag_rate', 'Share of answers flagged by users');
  const liveLabels = gauge('perennial_monitor_live_labels', 'Labels the live figures are over');
  const estAccuracy = gauge('perennial_monitor_estimated_accuracy', 'Accuracy estimated before labels (CBPE) over the last drift-check window');
  const estMacroF1 = gauge('perennial_monitor_estimated_macro_f1', 'Macro F1 estimated before labels (CBPE)');
  const estReference = gauge('perennial_monitor_estimated_reference_accuracy', "CBPE's accuracy estimate on the version's holdout");
  const driftShare = gauge('perennial_monitor_drift_share', 'Share of drifted columns in the last drift result');
  const datasetDrift = gauge('perennial_monitor_dataset_drift', '1 when the last drift result found dataset drift');
  const champion = gauge('perennial_monitor_champion', '1 for the version serving as champion');
  const triggers = m.createCounter('perennial_monitor_triggers_total', '', 'Retraining triggers by source and outcome');
  const runs = m.createCounter('perennial_monitor_runs_total', '', 'Retraining runs ended, by trigger source and outcome');
  const runSeconds = m.createHistogram('perennial_monitor_run_duration_seconds', 'float', 's', 'Duration of retraining runs the monitor started');
  const rollbacks = m.createCounter('perennial_monitor_rollbacks_total', '', 'Champions the monitor rolled back by itself');
  const dropped = m.createCounter('perennial_monitor_signals_dropped_total', '', 'Signals dropped for a bad payload');
  let lastChampion: string | undefined;
  return {
    live(version, window, figures, segment = 'all') {
      const tags = { version, window, segment };
      liveLabels.set(figures.labels, tags);
      if (figures.flagRate !== null) liveFlagRate.set(figures.flagRate, tags);
      if (figures.accuracy !== undefined) liveAccuracy.set(figures.accuracy, tags);
      if (figures.macroF1 !== undefined) liveMacroF1.set(figures.macroF1, tags);
      if (figures.rmse !== undefined) liveRmse.set(figures.rmse, tags);
      if (figures.mae !== undefined) liveMae.set(figures.mae, tags);
    },
    estimated(version, estimate) {
      estAccuracy.set(estimate.accuracy, { version });
      estMacroF1.set(estimate.macroF1, { version });
      estReference.set(estimate.reference.accuracy, { version });
    },
    drift(share, drifted) {
      driftShare.set(share);
      datasetDrift.set(drifted ? 1 : 0);
    },
    trigger(source, outcome) {
      triggers.add(1, { source, outcome });
    },
    run(trigger, outcome, seconds) {
      runs.add(1, { trigger, outcome });
      runSeconds.record(Math.max(0, seconds), { trigger, outcome });
    },
    champion(version) {
      if (lastChampion === version) return;
      if (lastChampion !== undefined) champion.set(0, { version: lastChampion });
      champion.set(1, { version });
      lastChampion = version;
    },
    rollback(reason) {
      rollbacks.add(1, { reason });
    },
    dropped(signal) {
      dropped.add(1, { signal });
    },
  };
}
