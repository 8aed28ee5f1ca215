/**
 * perennial_serve_traffic_weight: each serving version's share of the answers,
 * as a dashboard reads it, with no release, during a canary, an A/B and a
 * shadow release, and after a promotion.
 */
import { describe, expect, it } from 'vitest';
import { ServeMetrics } from '../../src/serve/metrics';

async function weights(metrics: ServeMetrics): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric('perennial_serve_traffic_weight')!.get();
  return Object.fromEntries(metric.values.map((v) => [`${v.labels.model} ${v.labels.role} ${v.labels.version}`, v.value]));
}

describe('the traffic weight per version', () => {
  it('is 1 for the champion alone, 1 - w and w during a canary or A/B release, 1 and 0 in shadow', async () => {
    const metrics = new ServeMetrics();
    expect(await weights(metrics)).toEqual({});
    metrics.swapped('weather', 'v1', null);
    metrics.swapped('flights', 'v4', null);
    expect(await weights(metrics)).toEqual({ 'weather champion v1': 1, 'flights champion v4': 1 });

    let releases = [{ model: 'weather', mode: 'canary', version: 'v2', weight: 0.25 }];
    metrics.releases = () => releases;
    expect(await weights(metrics)).toEqual({ 'weather champion v1': 0.75, 'weather candidate v2': 0.25, 'flights champion v4': 1 });
    releases = [{ model: 'weather', mode: 'ab', version: 'v2', weight: 0.5 }];
    expect(await weights(metrics)).toEqual({ 'weather champion v1': 0.5, 'weather candidate v2': 0.5, 'flights champion v4': 1 });
    // A shadow candidate scores copies of requests and answers none.
    releases = [{ model: 'weather', mode: 'shadow', version: 'v2', weight: 1 }];
    expect(await weights(metrics)).toEqual({ 'weather champion v1': 1, 'weather candidate v2': 0, 'flights champion v4': 1 });

    // Promoted: the candidate serves alone and the old champion's series is gone.
    releases = [];
    metrics.swapped('weather', 'v2', 'v1');
    expect(await weights(metrics)).toEqual({ 'weather champion v2': 1, 'flights champion v4': 1 });
  });
});
