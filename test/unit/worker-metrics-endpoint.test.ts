/**
 * The worker's one metrics address for its two processes: their Prometheus
 * pages merged family by family. Checked with Prometheus's own parser
 * (`promtool check metrics`, Debian's prometheus package): the merged page
 * parses, where the two pages put end to end do not.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { mergeExpositions, parseMetricsAddress } from '../../src/worker/metrics-endpoint';

/** Two pages as the core's exporter writes them (shortened), one per process. */
const page = (process: string, queue: string, requests: number) => `# HELP temporal_request Count of client request successes by rpc name
# TYPE temporal_request counter
temporal_request{namespace="default",operation="RespondActivityTaskCompleted",service_name="temporal-core-sdk",worker_process="${process}"} ${requests}
# HELP temporal_activity_execution_latency Histogram of activity execution latencies
# TYPE temporal_activity_execution_latency histogram
temporal_activity_execution_latency_bucket{activity_type="train",task_queue="${queue}",worker_process="${process}",le="50"} 0
temporal_activity_execution_latency_bucket{activity_type="train",task_queue="${queue}",worker_process="${process}",le="+Inf"} 1
temporal_activity_execution_latency_sum{activity_type="train",task_queue="${queue}",worker_process="${process}"} 812
temporal_activity_execution_latency_count{activity_type="train",task_queue="${queue}",worker_process="${process}"} 1
`;
const workflows = `${page('workflows', 'perennial', 7)}# HELP perennial_monitor_live_accuracy Live accuracy
# TYPE perennial_monitor_live_accuracy gauge
perennial_monitor_live_accuracy{model="weather",version="v1",window="all",segment="all",worker_process="workflows"} 0.7
`;
const training = page('training', 'perennial-training', 3);

/** Prometheus's checker, from Debian's prometheus package (PROMTOOL: another path to it). */
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';

/** promtool's verdict: 1 is a parsing error (3 is only its naming advice, e.g. counters without _total). */
function promtool(text: string): { code: number | null; output: string } {
  const run = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (run.error) throw new Error(`promtool (Debian's prometheus package) is needed: ${run.error.message}`);
  return { code: run.status, output: run.stdout + run.stderr };
}

describe('mergeExpositions', () => {
  it('gives each family its HELP and TYPE once, followed by the samples of both pages', () => {
    const merged = mergeExpositions([workflows, training]);
    const lines = merged.trim().split('\n');
    expect(lines.filter((l) => l === '# TYPE temporal_request counter')).toHaveLength(1);
    expect(lines.filter((l) => l === '# TYPE temporal_activity_execution_latency histogram')).toHaveLength(1);
    // Every sample of both pages is there, once, each under its own family's TYPE line.
    const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(samples(merged).sort()).toEqual([...samples(workflows), ...samples(training)].sort());
    const typeAt = lines.indexOf('# TYPE temporal_activity_execution_latency histogram');
    const nextType = lines.findIndex((l, i) => i > typeAt && l.startsWith('# HELP'));
    expect(lines.slice(typeAt + 1, nextType === -1 ? undefined : nextType).every((l) => l.startsWith('temporal_activity_execution_latency_'))).toBe(true);
    expect(lines.slice(typeAt + 1, nextType === -1 ? undefined : nextType)).toHaveLength(8);
  });

  it('is a page Prometheus parses, where the two pages end to end are not', () => {
    expect(promtool(workflows + training).output).toMatch(/second TYPE line|parsing error/);
    const merged = promtool(mergeExpositions([workflows, training]));
    expect(merged.output).not.toMatch(/parsing error|error while linting/);
    expect(merged.code === 0 || merged.code === 3, merged.output).toBe(true);
  });
});

describe('parseMetricsAddress', () => {
  it('reads host:port, an IPv6 host in brackets too', () => {
    expect(parseMetricsAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(parseMetricsAddress('worker:9464')).toEqual({ host: 'worker', port: 9464 });
  });

  it('refuses anything else naming the setting and what to write', () => {
    for (const bad of ['9464', 'http://0.0.0.0:9464', '0.0.0.0:99999', '0.0.0.0:']) {
      expect(() => parseMetricsAddress(bad)).toThrow(`PERENNIAL_WORKER_METRICS_ADDRESS is '${bad}': write host:port, e.g. 0.0.0.0:9464`);
    }
  });
});
