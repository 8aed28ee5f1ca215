import { describe, expect, it } from 'vitest';
import {
  ArtifactError,
  ChampionMovedError,
  ChecksumMismatchError,
  DataError,
  DataValidationError,
  InvalidNameError,
  NON_RETRYABLE,
  ObjectNotFoundError,
  quoteValue,
  SpecError,
  SpecNotFoundError,
} from '../../src/errors';
import { checkName, isValidName } from '../../src/names';
import { ACTIVITY_RETRY } from '../../workflows/definitions';

describe('identifiers that become workflow ids and S3 keys', () => {
  it('accepts the names users give', () => {
    for (const name of ['weather', 'flights-delay', 'm_2', '0model']) expect(checkName('model', name)).toBe(name);
    for (const trigger of ['manual', 'drift', 'ci', 'schedule-weekly']) expect(isValidName('trigger', trigger)).toBe(true);
    for (const version of ['v1', 'v12', 'v999999999']) expect(isValidName('version', version)).toBe(true);
  });

  it.each([
    ['../etc', "--model '../etc' is not a valid model name: lower-case letters, digits, - and _ (at most 63), starting with a letter or digit"],
    ['my model', "--model 'my model' is not a valid model name"],
    ['Weather', "--model 'Weather' is not a valid model name"],
    ['a/b', "--model 'a/b' is not a valid model name"],
    ['', "--model '' is not a valid model name"],
    ['x'.repeat(64), `--model '${'x'.repeat(64)}' is not a valid model name`],
  ])('refuses model name %j with the value and the rule', (name, message) => {
    expect(() => checkName('model', name, '--model')).toThrow(InvalidNameError);
    expect(() => checkName('model', name, '--model')).toThrow(message);
  });

  it('refuses versions and triggers that are not what the registry writes', () => {
    for (const version of ['1', 'v0', 'v01', 'V1', 'v1/../v2', 'latest']) expect(isValidName('version', version), version).toBe(false);
    expect(() => checkName('trigger', 'Drift Alert', '--trigger')).toThrow("--trigger 'Drift Alert' is not a valid trigger name: a word like manual");
    expect(() => checkName('model', undefined)).toThrow('model undefined is not a valid model name');
  });
});

describe('quoteValue', () => {
  it('escapes control characters and quotes once', () => {
    expect(quoteValue('a\u0000b\nc\td')).toBe("'a\\u0000b\\nc\\td'");
    expect(quoteValue("it's")).toBe("'it\\'s'");
  });

  it('cuts a huge value to a readable length and says how long it was', () => {
    const quoted = quoteValue('z'.repeat(10_000_000));
    expect(quoted.length).toBeLessThan(120);
    expect(quoted).toMatch(/^'z{80}'\.\.\. \(10000000 characters\)$/);
  });
});

describe('permanent errors and the retry policy', () => {
  it('NON_RETRYABLE is derived from the error classes, and an error thrown carries that name', () => {
    const thrown = [
      new InvalidNameError('x'),
      new DataError('x', { source: 'f.csv' }),
      new DataValidationError('x'),
      new SpecError('spec.yaml', ['x']),
      new SpecNotFoundError('m', 'where'),
      new ChecksumMismatchError('k', 'a', 'b'),
      new ArtifactError('k', 'x'),
      new ChampionMovedError('m', 'v2', 'v1', 'v3'),
      new ObjectNotFoundError('k', 'where'),
    ];
    // Temporal reports an activity's error by its name: each must be one the policy refuses to retry.
    expect(thrown.map((e) => e.name).sort()).toEqual([...NON_RETRYABLE].sort());
    expect(ACTIVITY_RETRY.nonRetryableErrorTypes).toEqual(NON_RETRYABLE);
  });
});
