/** The spec's `retraining` section (scheduled retraining): optional, its defaults, and errors naming the field and what it takes. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadModelSpecFile, parseModelSpec, publishSpec, SpecError } from '../../../src/spec';
import { durationMs } from '../../../src/spec/retraining-spec';
import { MemoryStore } from '../../../src/store';

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

function problems(retraining: unknown): string[] {
  try {
    parseModelSpec({ ...minimal, retraining }, 'demo.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(SpecError);
    return (error as SpecError).problems;
  }
  throw new Error('expected the spec to be refused');
}

describe('retraining in the model spec', () => {
  it('is optional: a spec without it parses without it and hashes as before', async () => {
    const spec = parseModelSpec(minimal);
    expect('retraining' in spec).toBe(false);
    expect(JSON.stringify(spec)).not.toContain('retraining');
    const before = await publishSpec(new MemoryStore(), spec);
    const again = await publishSpec(new MemoryStore(), parseModelSpec(JSON.parse(JSON.stringify(minimal))));
    expect(again.sha256).toBe(before.sha256);
  });

  it('takes a schedule and fills in skip, a day of catch-up and not paused', () => {
    expect(parseModelSpec({ ...minimal, retraining: { schedule: 'daily' } }).retraining).toEqual({
      schedule: 'daily',
      overlap: 'skip',
      catchupWindow: '1 day',
      paused: false,
    });
    const every = ['weekly', '12h', '2d', '30 3 * * 1'].map((schedule) => parseModelSpec({ ...minimal, retraining: { schedule } }).retraining!.schedule);
    expect(every).toEqual(['weekly', '12h', '2d', '30 3 * * 1']);
    for (const overlap of ['skip', 'buffer_one', 'buffer_all', 'cancel_other', 'terminate_other', 'allow_all']) {
      expect(parseModelSpec({ ...minimal, retraining: { schedule: 'daily', overlap, catchupWindow: '6 hours', paused: true } }).retraining).toMatchObject({
        overlap,
        catchupWindow: '6 hours',
        paused: true,
      });
    }
  });

  it('refuses bad values naming the field and what it takes', () => {
    expect(problems({})).toEqual(["retraining.schedule: say when the model is retrained: 'daily', 'weekly', an interval such as '12h', or a cron expression"]);
    expect(problems({ schedule: 'sometimes' })).toEqual([
      "retraining.schedule: 'sometimes' is not 'hourly', 'daily', 'weekly', an interval such as '15m', '6h' or '2d', or a cron expression of five fields (minute hour day-of-month month day-of-week, UTC), e.g. '30 3 * * *'",
    ]);
    expect(problems({ schedule: '30s' })).toEqual(["retraining.schedule: '30s' is shorter than a minute; a schedule runs at most once a minute"]);
    expect(problems({ schedule: 'daily', overlap: 'queue' })).toEqual([
      "retraining.overlap: one of skip, buffer_one, buffer_all, cancel_other, terminate_other, allow_all (Temporal's overlap policies)",
    ]);
    expect(problems({ schedule: 'daily', catchupWindow: '2 weeks' })).toEqual([
      "retraining.catchupWindow: '2 weeks' is not a duration such as '1 day', '6 hours' or '30m'",
    ]);
    expect(problems({ schedule: 'daily', catchupWindow: '10s' })).toEqual(["retraining.catchupWindow: '10s' must be from a minute to 365 days"]);
    expect(problems({ schedule: 'daily', catchupWindow: '400 days' })).toEqual(["retraining.catchupWindow: '400 days' must be from a minute to 365 days"]);
    expect(problems({ schedule: 'daily', paused: 'yes' })).toEqual(['retraining.paused: Invalid input: expected boolean, received string']);
    // A typo is refused with its path, as everywhere in the spec.
    expect(problems({ schedule: 'daily', overlapPolicy: 'skip' })).toEqual([expect.stringMatching(/^retraining: Unrecognized key: "overlapPolicy"/)]);
  });

  it('reads durations in the words a person writes', () => {
    expect(['1 day', '6 hours', '30m', '90 minutes', '1h', '45 s', '2 days'].map(durationMs)).toEqual([
      86_400_000, 21_600_000, 1_800_000, 5_400_000, 3_600_000, 45_000, 172_800_000,
    ]);
    expect(durationMs('a day')).toBeUndefined();
  });

  it("the demo's spec has one: weekly, skip, a day of catch-up, running", async () => {
    const spec = await loadModelSpecFile(fileURLToPath(new URL('../../../models/weather.yaml', import.meta.url)));
    expect(spec.retraining).toEqual({ schedule: 'weekly', overlap: 'skip', catchupWindow: '1 day', paused: false });
  });
});
