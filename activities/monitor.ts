/**
 * What ModelMonitor reads from the store: the champion in force and its
 * holdout figures (the thresholds relative to them compare live traffic with
 * what evaluation saw), the floors of its gate and the spec's probation
 * policy (probation of a new champion), and whether data arrived since a
 * moment (after a probation rollback, automatic triggers wait for new data).
 */
import { checkName } from '../src/names';
import type { LiveGate } from '../src/monitor/probation';
import { probationPolicy, type ProbationPolicy } from '../src/spec/monitoring-spec';
import { loadPublishedSpec, SpecNotFoundError } from '../src/spec';
import { keys } from '../src/store';
import type { ActivityDeps } from './deps';

export interface MonitorContext {
  champion: string | null;
  holdout: { accuracy?: number; rmse?: number };
  /** The gate's floors a live window can be held to (absent with no spec published). */
  gate?: LiveGate;
  probation?: ProbationPolicy;
  /** Asked with `dataSince`: whether a batch arrived in incoming/ or a joined-feedback part was written after it. */
  newData?: boolean;
}

export function createMonitorActivities({ store, registry }: ActivityDeps) {
  /** Any object under incoming/ or in the feedback log's partitions of the days since `since`, written after it. */
  const dataSince = async (model: string, since: Date, now: Date): Promise<boolean> => {
    const after = (objects: { lastModified?: Date }[]) => objects.some((o) => o.lastModified !== undefined && o.lastModified > since);
    if (after(await store.list(keys.incoming(model)))) return true;
    for (let day = new Date(since); day.getTime() <= now.getTime() + 86_400_000; day = new Date(day.getTime() + 86_400_000)) {
      if (after(await store.list(keys.feedbackLogDay(model, day)))) return true;
    }
    return false;
  };

  return {
    async monitorContext({ model, dataSince: since }: { model: string; dataSince?: string }): Promise<MonitorContext> {
      checkName('model', model);
      const { champion } = await registry.getAliases(model);
      let spec;
      try {
        spec = (await loadPublishedSpec(store, model)).spec;
      } catch (error) {
        if (!(error instanceof SpecNotFoundError)) throw error;
      }
      const gate = spec?.evaluation.gate;
      const context: MonitorContext = {
        champion: champion ?? null,
        holdout: {},
        ...(gate ? { gate: { minAccuracy: gate.minAccuracy, minMacroF1: gate.minMacroF1, maxRmse: gate.maxRmse, maxMae: gate.maxMae } } : {}),
        ...(spec ? { probation: probationPolicy(spec) } : {}),
        ...(since ? { newData: await dataSince(model, new Date(since), new Date()) } : {}),
      };
      if (!champion) return context;
      const metrics = (await registry.getLineage(model, champion))?.metrics;
      if (metrics) context.holdout = metrics.task === 'classification' ? { accuracy: metrics.accuracy } : { rmse: metrics.rmse };
      return context;
    },
  };
}
