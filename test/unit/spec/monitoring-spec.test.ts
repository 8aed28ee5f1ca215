/** The spec's monitoring.drift section (the drift check): defaults, errors naming the field, the columns compared, and the schedule it makes. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelSpecFile, parseModelSpec, publishSpec, SpecError } from '../../../src/spec';
import { driftCheckPolicy, driftColumns, monitorThresholds, probationPolicy } from '../../../src/spec/monitoring-spec';
import { MemoryStore } from '../../../src/store';
import { scheduleProblem, scheduleSpecOf } from '../../../src/temporal/schedules';

const modelFile = (name: string) => fileURLToPath(new URL(`../../../models/${name}.yaml`, import.meta.url));

const minimal = {
  name: 'demo',
  task: 'classification',
  label: 'kind',
  data: { timeColumn: 'date' },
  schema: {
    fields: [
      { name: 'date', type: 'date' },
      { name: 'temp', type: 'number' },
      { name: 'city', type: 'category' },
      { name: 'kind', type: 'category', values: ['rain', 'sun'] },
    ],
  },
  features: [
    { name: 'temp', kind: 'numeric' },
    { name: 'city', kind: 'categorical' },
    { name: 'date', kind: 'date', parts: ['month_cyclic'] },
  ],
};

function problems(monitoring: unknown): string[] {
  try {
    parseModelSpec({ ...minimal, monitoring }, 'demo.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).problems;
  }
  throw new Error('expected the spec to be refused');
}

const DEFAULTS = { schedule: 'hourly', window: 24, minRows: 100, maxRows: 100_000, method: 'auto', driftShare: 0.5 };

describe('monitoring.drift in the model spec', () => {
  it('is optional: a spec without it parses without it, hashes as before, and a check takes the defaults', async () => {
    const spec = parseModelSpec(minimal);
    expect('monitoring' in spec).toBe(false);
    expect(driftCheckPolicy(spec)).toEqual(DEFAULTS);
    // The published bytes (and so the hash) are those of the spec as it was before the section existed.
    const published = await publishSpec(new MemoryStore(), spec);
    expect(published.sha256).toBe((await publishSpec(new MemoryStore(), parseModelSpec(JSON.parse(JSON.stringify(spec))))).sha256);
    expect(JSON.stringify(spec)).not.toContain('monitoring');
    // An empty section: no drift check configured, the defaults when one is run by hand.
    expect(driftCheckPolicy(parseModelSpec({ ...minimal, monitoring: {} }))).toEqual(DEFAULTS);
  });

  it("fills what a partial section leaves out, with the options' names of perennial drift", () => {
    const spec = parseModelSpec({ ...minimal, monitoring: { drift: { schedule: '15m', window: 6, method: 'psi', threshold: 0.2, columns: ['city'] } } });
    expect(driftCheckPolicy(spec)).toEqual({ ...DEFAULTS, schedule: '15m', window: 6, method: 'psi', threshold: 0.2, columns: ['city'] });
  });

  it('is in the demo specs', async () => {
    expect((await loadModelSpecFile(modelFile('weather'))).monitoring?.drift).toEqual({ ...DEFAULTS, schedule: 'hourly' });
    expect((await loadModelSpecFile(modelFile('flights'))).monitoring?.drift).toMatchObject({ schedule: '6h', minRows: 1000, maxRows: 200_000 });
  });

  it('refuses bad values naming the field and what would do', () => {
    expect(problems({ drift: { schedule: 'every hour' } })).toEqual([
      "monitoring.drift.schedule: 'every hour' is not 'hourly', 'daily', 'weekly', an interval such as '15m', '6h' or '2d', or a cron expression of five fields (minute hour day-of-month month day-of-week, UTC), e.g. '30 3 * * *'",
    ]);
    expect(problems({ drift: { schedule: '30s' } })).toEqual([
      "monitoring.drift.schedule: '30s' is shorter than a minute; a schedule runs at most once a minute",
    ]);
    expect(problems({ drift: { window: 0 } })).toEqual(['monitoring.drift.window: Too small: expected number to be >=1']);
    expect(problems({ drift: { window: 24 * 91 } })).toEqual(['monitoring.drift.window: at most 2160 hours (90 days)']);
    expect(problems({ drift: { window: 1.5 } })).toEqual(['monitoring.drift.window: Invalid input: expected int, received number']);
    expect(problems({ drift: { method: 'kstest' } })[0]).toMatch(/^monitoring\.drift\.method: Unknown drift method "kstest"\. Valid methods: auto, ks, /);
    expect(problems({ drift: { driftShare: 0 } })).toEqual(['monitoring.drift.driftShare: Too small: expected number to be >0']);
    expect(problems({ drift: { driftShare: 1.5 } })).toEqual(['monitoring.drift.driftShare: Too big: expected number to be <=1']);
    expect(problems({ drift: { threshold: -1 } })).toEqual(['monitoring.drift.threshold: Too small: expected number to be >0']);
    expect(problems({ drift: { minRows: 5000, maxRows: 1000 } })).toEqual(['monitoring.drift.minRows: 5000 is more than maxRows (1000)']);
    expect(problems({ drift: { minRows: 5, maxRows: 10 } })).toEqual(['monitoring.drift.maxRows: Too small: expected number to be >=1000']);
    expect(problems({ drift: { minrows: 5 } })).toEqual(['monitoring.drift: Unrecognized key: "minrows"']);
    expect(problems({ drfit: {} })).toEqual(['monitoring: Unrecognized key: "drfit"']);
  });

  it('columns must be features the drift engine can test', () => {
    expect(problems({ drift: { columns: ['wind'] } })).toEqual([
      "monitoring.drift.columns[0]: 'wind' is not a feature; the prediction log holds the features: temp, city, date",
    ]);
    expect(problems({ drift: { columns: ['date'] } })).toEqual([
      "monitoring.drift.columns[0]: 'date' is a date feature; drift is tested on numeric and categorical features",
    ]);
    expect(problems({ drift: { columns: ['kind'] } })[0]).toMatch(/^monitoring\.drift\.columns\[0\]: 'kind' is not a feature/);
    expect(problems({ drift: { columns: ['temp', 'temp'] } })).toEqual(["monitoring.drift.columns[1]: 'temp' is named twice"]);
    expect(problems({ drift: { columns: [] } })).toEqual(['monitoring.drift.columns: Too small: expected array to have >=1 items']);
  });
});

describe('driftColumns', () => {
  const features = minimal.features;
  it("compares every numeric and categorical feature by default, typed by the feature's kind; dates are left out", () => {
    expect(driftColumns(features, {})).toEqual({
      columns: [
        { name: 'temp', type: 'numerical' },
        { name: 'city', type: 'categorical' },
      ],
      leftOut: [{ name: 'date', reason: 'datetime column (Evidently leaves dates out of data drift)' }],
    });
  });
  it('takes the named columns; one the champion lacks is left out with the reason', () => {
    expect(driftColumns(features, { columns: ['city', 'wind'] })).toEqual({
      columns: [{ name: 'city', type: 'categorical' }],
      leftOut: [{ name: 'wind', reason: 'not a feature of the champion' }],
    });
  });
});

describe('scheduleSpecOf and scheduleProblem (monitoring.drift.schedule)', () => {
  it('makes hourly and other intervals, and passes a cron expression on', () => {
    expect(scheduleSpecOf('hourly')).toEqual({ spec: { intervals: [{ every: '1 hour' }] }, describe: 'every hour (on the hour, UTC)' });
    expect(scheduleSpecOf('15m')).toEqual({ spec: { intervals: [{ every: '15 minutes' }] }, describe: 'every 15 minutes' });
    expect(scheduleSpecOf('1h')).toEqual({ spec: { intervals: [{ every: '1 hour' }] }, describe: 'every hour' });
    expect(scheduleSpecOf('2d').spec).toEqual({ intervals: [{ every: '2 days' }] });
    expect(scheduleSpecOf('0 */6 * * *')).toEqual({ spec: { cronExpressions: ['0 */6 * * *'] }, describe: "cron '0 */6 * * *' (UTC)" });
  });
  it('accepts what it converts, and nothing else', () => {
    for (const ok of ['hourly', 'daily', 'weekly', '15m', '90s', '6h', '2d', ' 30 3 * * 1 ']) expect(scheduleProblem(ok), ok).toBeUndefined();
    for (const bad of ['', 'often', '15', '15 minutes', '1w', '59s', '* * * *']) expect(scheduleProblem(bad), bad).toBeDefined();
  });
});

describe('monitoring.segments, performance and probation in the model spec', () => {
  it('takes them and fills the defaults the monitor uses', () => {
    const spec = parseModelSpec({
      ...minimal,
      monitoring: { segments: ['city'], performance: { minAccuracy: 0.7, maxEstimatedDrop: 0.05, minLabels: 50 }, probation: { hours: 6 } },
    });
    expect(monitorThresholds(spec)).toEqual({ minAccuracy: 0.7, maxEstimatedDrop: 0.05, minLabels: 50, window: 1000, cooldownMinutes: 60 });
    expect(probationPolicy(spec)).toEqual({ hours: 6, minLabels: 200, maxDrop: 0.05, alpha: 0.01 });
    expect(monitorThresholds(parseModelSpec(minimal))).toEqual({ minLabels: 200, window: 1000, cooldownMinutes: 60 });
  });

  it('refuses segments that are no categorical feature and thresholds the monitor would refuse, naming each', () => {
    expect(problems({ segments: ['temp', 'town'] })).toEqual([
      "monitoring.segments[0]: 'temp' is a numeric feature; segments are categorical features",
      "monitoring.segments[1]: 'town' is not a feature; segments are categorical features: temp, city, date",
    ]);
    expect(problems({ performance: { minAccuracy: 7, window: 5 } })).toEqual([
      'monitoring.performance: minAccuracy: a share, from 0 to 1, not 7',
      'monitoring.performance: window: an integer from 10 to 100000, not 5',
    ]);
    expect(problems({ probation: { hours: 0, alpha: 0.7 } })).toHaveLength(2);
  });
});
