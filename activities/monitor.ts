/**
 * What ModelMonitor reads from the registry: the champion in force and its
 * holdout figures (the thresholds relative to them compare live traffic with
 * what evaluation saw).
 */
import { checkName } from '../src/names';
import type { ActivityDeps } from './deps';

export interface MonitorContext {
  champion: string | null;
  holdout: { accuracy?: number; rmse?: number };
}

export function createMonitorActivities({ registry }: ActivityDeps) {
  return {
    async monitorContext({ model }: { model: string }): Promise<MonitorContext> {
      checkName('model', model);
      const { champion } = await registry.getAliases(model);
      if (!champion) return { champion: null, holdout: {} };
      const metrics = (await registry.getLineage(model, champion))?.metrics;
      if (!metrics) return { champion, holdout: {} };
      return { champion, holdout: metrics.task === 'classification' ? { accuracy: metrics.accuracy } : { rmse: metrics.rmse } };
    },
  };
}
