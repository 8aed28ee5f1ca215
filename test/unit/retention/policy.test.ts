/** The spec's retention section: defaults, errors naming the field, and the schedule it makes. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelSpecFile, parseModelSpec, retentionPolicy, SpecError } from '../../../src/spec';
import { scheduleSpecOf } from '../../../src/temporal/schedules';

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
      { name: 'kind', type: 'category', values: ['rain', 'sun'] },
    ],
  },
  features: [{ name: 'temp', kind: 'numeric' }],
};

function problems(retention: unknown): string[] {
  try {
    parseModelSpec({ ...minimal, retention }, 'demo.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).problems;
  }
  throw new Error('expected the spec to be refused');
}

describe('retention in the model spec', () => {
  it('is optional: a spec without it parses without it (its hash is unchanged) and is swept with the defaults', () => {
    const spec = parseModelSpec(minimal);
    expect('retention' in spec).toBe(false);
    expect(retentionPolicy(spec)).toEqual({
      schedule: 'daily',
      keepVersions: 10,
      snapshotDays: 30,
      predictionLogDays: 90,
      feedbackLogDays: 90,
      reportDays: 30,
      leftoverHours: 24,
    });
  });

  it('fills what a partial section leaves out', () => {
    const spec = parseModelSpec({ ...minimal, retention: { keepVersions: 3, schedule: '30 3 * * 1' } });
    expect(retentionPolicy(spec)).toMatchObject({ keepVersions: 3, schedule: '30 3 * * 1', snapshotDays: 30, leftoverHours: 24 });
  });

  it('is in the demo specs', async () => {
    expect((await loadModelSpecFile(modelFile('weather'))).retention).toMatchObject({ schedule: 'daily', keepVersions: 10 });
    expect((await loadModelSpecFile(modelFile('flights'))).retention).toMatchObject({ schedule: 'weekly' });
  });

  it('refuses bad values naming the field and what would do', () => {
    expect(problems({ keepVersions: 0 })).toEqual(['retention.keepVersions: Too small: expected number to be >=1']);
    expect(problems({ snapshotDays: 1.5 })).toEqual(['retention.snapshotDays: Invalid input: expected int, received number']);
    expect(problems({ predictionLogDays: 7 })).toEqual([
      'retention.predictionLogDays: at least 30: the model server joins late labels with the prediction log of the last 30 days',
    ]);
    expect(problems({ feedbackLogDays: 29 })[0]).toMatch(/^retention\.feedbackLogDays: at least 30: /);
    expect(problems({ leftoverHours: 1 })).toEqual([
      'retention.leftoverHours: at least 6: a live run may write nothing to its staging or checkpoints for over two hours',
    ]);
    expect(problems({ schedule: 'hourly' })).toEqual([
      "retention.schedule: 'hourly' is not 'daily', 'weekly' or a cron expression of five fields (minute hour day-of-month month day-of-week, UTC), e.g. '30 3 * * *'",
    ]);
    expect(problems({ schedule: '* * * *' })[0]).toMatch(/^retention\.schedule: '\* \* \* \*' is not /);
    expect(problems({ keepversions: 3 })).toEqual(['retention: Unrecognized key: "keepversions"']);
    expect(problems('daily')).toEqual(['retention: Invalid input: expected object, received string']);
  });
});

describe('scheduleSpecOf (retention.schedule)', () => {
  it('makes daily and weekly intervals, and passes a cron expression on', () => {
    expect(scheduleSpecOf('daily')).toEqual({ spec: { intervals: [{ every: '1 day' }] }, describe: 'every day (00:00 UTC)' });
    expect(scheduleSpecOf('weekly').spec).toEqual({ intervals: [{ every: '7 days' }] });
    expect(scheduleSpecOf(' 30  3 * * 1 ')).toEqual({ spec: { cronExpressions: ['30 3 * * 1'] }, describe: "cron '30 3 * * 1' (UTC)" });
  });
});
