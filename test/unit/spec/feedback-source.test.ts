/** The spec's `feedback` data source: what it takes, and the mistakes it refuses with their path. */
import { describe, expect, it } from 'vitest';
import { WEATHER_SPEC_PATH } from '../../../src/demo/weather';
import { loadModelSpecFile, parseModelSpec } from '../../../src/spec';

const weather = await loadModelSpecFile(WEATHER_SPEC_PATH);
const withSources = (sources: unknown[]) => ({ ...weather, data: { ...weather.data, sources } });

describe('data.sources of kind feedback', () => {
  it('takes a name, and optionally labelsOnly and maxAgeDays, as written (no defaults added: the spec hashes as written)', () => {
    expect(parseModelSpec(withSources([{ kind: 'feedback', name: 'production' }])).data.sources).toEqual([{ kind: 'feedback', name: 'production' }]);
    const full = { kind: 'feedback', name: 'production', labelsOnly: false, maxAgeDays: 30 };
    expect(parseModelSpec(withSources([full])).data.sources).toEqual([full]);
  });

  it('refuses a typo, a bad age, a name used twice and a second feedback source, naming the field', () => {
    expect(() => parseModelSpec(withSources([{ kind: 'feedback', name: 'production', labelOnly: true }]), 'weather.yaml')).toThrow(
      'data.sources[0]: Unrecognized key: "labelOnly"',
    );
    expect(() => parseModelSpec(withSources([{ kind: 'feedback', name: 'production', maxAgeDays: 0 }]), 'weather.yaml')).toThrow(
      'data.sources[0].maxAgeDays: Too small: expected number to be >=1',
    );
    expect(() =>
      parseModelSpec(
        withSources([
          { kind: 'feedback', name: 'production' },
          { kind: 's3', name: 'production', prefix: 'x/' },
        ]),
        'weather.yaml',
      ),
    ).toThrow("data.sources[1].name: source 'production' is named twice");
    expect(() =>
      parseModelSpec(
        withSources([
          { kind: 'feedback', name: 'production' },
          { kind: 'feedback', name: 'recent', maxAgeDays: 7 },
        ]),
        'weather.yaml',
      ),
    ).toThrow('data.sources[1].kind: only one source may be of kind feedback: two would deliver the same feedback rows, trained on twice');
  });
});
