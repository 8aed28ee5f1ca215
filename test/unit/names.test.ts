import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Client } from '@temporalio/client';
import { main } from '../../src/cli/main';
import { loadConfig } from '../../src/config';
import { startRetrain } from '../../src/temporal';
import { RAW_CONTROL } from './data/bad-input-fixtures';
import {
  ArtifactError,
  ChampionMovedError,
  ChecksumMismatchError,
  CodeVersionMismatchError,
  ReleaseRefusedError,
  ReproduceRefusedError,
  DataError,
  DataValidationError,
  InvalidNameError,
  NON_RETRYABLE,
  ObjectNotFoundError,
  quoteValue,
  RollbackRefusedError,
  SourceError,
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

describe('path characters, unicode and long values in names', () => {
  const odd = ['x%00', 'x\u0000', 'x\n', 'weather\n', ' weather', '..', '.', 'a\\b', 'météo', 'модель', 'w\u200bx', '🌦', 'x'.repeat(10_000)];

  it.each(odd.map((v) => [v.length > 20 ? `${v.slice(0, 8)}... (${v.length} characters)` : v, v]))(
    'model and trigger %j are refused with a short, printable message',
    (_, value) => {
      for (const kind of ['model', 'trigger'] as const) {
        expect(isValidName(kind, value)).toBe(false);
        let message = '';
        try {
          checkName(kind, value, `--${kind}`);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidNameError);
          message = (error as Error).message;
        }
        expect(message).toMatch(new RegExp(`^--${kind} '.*'(\\.\\.\\. \\(\\d+ characters\\))? is not a valid ${kind} name: `));
        expect(message.length).toBeLessThan(250);
        expect(message).not.toMatch(RAW_CONTROL);
      }
    },
  );

  it('shows a control character escaped and a long value cut, with its length', () => {
    expect(() => checkName('model', 'x\u0000\n', '--model')).toThrow("--model 'x\\u0000\\n' is not a valid model name");
    expect(() => checkName('model', 'x'.repeat(10_000), '--model')).toThrow(`--model '${'x'.repeat(80)}'... (10000 characters) is not a valid model name`);
  });

  it('refuses versions with path characters, other digits or too many digits', () => {
    for (const version of ['../v1', 'v1%00', 'v1\u0000', 'v1\n', 'v1/', 'v\u0661', 'v1234567890', 'v1.2'])
      expect(isValidName('version', version), version).toBe(false);
  });
});

describe('names at the edges: the CLI and the client check before anything starts or is written', () => {
  // Nothing may reach a service: were a check missing, the command would fail on these dead addresses, not on the name.
  beforeAll(() => {
    vi.stubEnv('S3_ENDPOINT', 'http://127.0.0.1:9');
    vi.stubEnv('TEMPORAL_ADDRESS', '127.0.0.1:9');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'unused');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'unused');
  });
  afterAll(() => {
    vi.unstubAllEnvs();
  });

  async function cli(...argv: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const code = await main(argv, { stdout: () => undefined, stderr: (t: string) => (stderr += t + '\n') });
    return { code, stderr };
  }

  it.each([
    [['retrain', '--model', 'x%00'], "perennial retrain: --model 'x%00' is not a valid model name"],
    [['retrain', '--model', 'météo'], "perennial retrain: --model 'météo' is not a valid model name"],
    [['retrain', '--model', 'weather', '--trigger', 'a/b'], "perennial retrain: --trigger 'a/b' is not a valid trigger name"],
    [['retrain', '--model', 'weather', '--trigger', '../etc'], "perennial retrain: --trigger '../etc' is not a valid trigger name"],
    [['registry', 'show', '--model', 'a/b'], "perennial registry: --model 'a/b' is not a valid model name"],
    [['registry', 'show', '--model', 'weather', '--version', '../v1'], "perennial registry: --version '../v1' is not a valid version name"],
    [['bootstrap', '--model', '../etc'], "perennial bootstrap: --model '../etc' is not a valid model name"],
    [['bootstrap', '--model', 'x'.repeat(10_000)], `perennial bootstrap: --model '${'x'.repeat(80)}'... (10000 characters) is not a valid model name`],
  ])('perennial %j exits 2 naming the option', async (argv, message) => {
    const { code, stderr } = await cli(...argv);
    expect(code).toBe(2);
    expect(stderr.startsWith(message), stderr).toBe(true);
    expect(stderr.length).toBeLessThan(300);
  });

  it('startRetrain (the client library) refuses a bad model or trigger before calling the server', async () => {
    const client = {} as Client; // any call on it would throw a TypeError, not an InvalidNameError
    const config = loadConfig();
    await expect(startRetrain(client, config, { model: '../etc', trigger: 'manual' })).rejects.toThrow(InvalidNameError);
    await expect(startRetrain(client, config, { model: 'weather', trigger: 'x%00' })).rejects.toThrow("trigger 'x%00' is not a valid trigger name");
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
      new SourceError('partner', 'https://example.com/feed.csv', 'answered 404 Not Found'),
      new RollbackRefusedError('m', 'it has no version v9'),
      new CodeVersionMismatchError('abc123', 'def456'),
      new ReproduceRefusedError('m', 'v1', 'no such version'),
      new ReleaseRefusedError('m', 'v2', 'champion-moved', 'the champion is v3 now'),
    ];
    // Temporal reports an activity's error by its name: each must be one the policy refuses to retry.
    expect(thrown.map((e) => e.name).sort()).toEqual([...NON_RETRYABLE].sort());
    expect(ACTIVITY_RETRY.nonRetryableErrorTypes).toEqual(NON_RETRYABLE);
  });
});
