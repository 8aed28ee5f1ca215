import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, TASK_QUEUE, workflowUrl } from '../../src/config';

describe('loadConfig', () => {
  it('defaults to the local services that npm run services starts', () => {
    expect(loadConfig({})).toEqual({
      temporalAddress: '127.0.0.1:7233',
      temporalNamespace: 'default',
      temporalUiUrl: 'http://127.0.0.1:8233',
      taskQueue: 'perennial',
      trainingTaskQueue: 'perennial-training',
      retryBudgetMinutes: 10,
      partitionRows: 500_000,
      s3: {
        endpoint: 'http://127.0.0.1:7070',
        bucket: 'perennial',
        region: 'us-east-1',
        accessKeyId: 'perennial',
        secretAccessKey: 'perennial-secret',
        forcePathStyle: true,
      },
    });
    expect(TASK_QUEUE).toBe('perennial');
  });

  it('takes every value from the environment', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.prod:7233',
      TEMPORAL_NAMESPACE: 'ml',
      TEMPORAL_UI_URL: 'https://ui.example.com',
      PERENNIAL_TASK_QUEUE: 'ml-jobs',
      S3_ENDPOINT: 'https://s3.example.com',
      S3_BUCKET: 'models',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      PERENNIAL_RETRY_BUDGET_MINUTES: '30',
      PERENNIAL_PARTITION_ROWS: '250000',
    });
    expect(config).toEqual({
      temporalAddress: 'temporal.prod:7233',
      temporalNamespace: 'ml',
      temporalUiUrl: 'https://ui.example.com',
      taskQueue: 'ml-jobs',
      trainingTaskQueue: 'ml-jobs-training',
      retryBudgetMinutes: 30,
      partitionRows: 250_000,
      s3: { endpoint: 'https://s3.example.com', bucket: 'models', region: 'eu-west-1', accessKeyId: 'AK', secretAccessKey: 'SK', forcePathStyle: true },
    });
  });

  it('refuses a retry budget that is not a positive number, naming the setting', () => {
    expect(() => loadConfig({ PERENNIAL_RETRY_BUDGET_MINUTES: 'ten' })).toThrow("PERENNIAL_RETRY_BUDGET_MINUTES must be a positive number, not 'ten'");
    expect(() => loadConfig({ PERENNIAL_RETRY_BUDGET_MINUTES: '0' })).toThrow('PERENNIAL_RETRY_BUDGET_MINUTES must be a positive number');
  });

  it('builds the UI address from host and port when no URL is given', () => {
    expect(loadConfig({ TEMPORAL_UI_HOST: 'ui.local', TEMPORAL_UI_PORT: '9000' }).temporalUiUrl).toBe('http://ui.local:9000');
    expect(loadConfig({ TEMPORAL_UI_URL: 'https://x', TEMPORAL_UI_HOST: 'ignored' }).temporalUiUrl).toBe('https://x');
  });

  it("S3_ENDPOINT=aws means AWS itself: no endpoint, virtual-hosted style, the SDK's credential chain", () => {
    const { s3 } = loadConfig({ S3_ENDPOINT: 'aws' });
    expect(s3.endpoint).toBeUndefined();
    expect(s3.forcePathStyle).toBe(false);
    expect(s3.accessKeyId).toBeUndefined();
    expect(s3.secretAccessKey).toBeUndefined();
  });

  it('does not hand the local keys to another store', () => {
    const { s3 } = loadConfig({ S3_ENDPOINT: 'https://s3.example.com' });
    expect(s3.accessKeyId).toBeUndefined();
    expect(s3.secretAccessKey).toBeUndefined();
  });

  it('S3_FORCE_PATH_STYLE=false turns path style off', () => {
    expect(loadConfig({ S3_FORCE_PATH_STYLE: 'false' }).s3.forcePathStyle).toBe(false);
    expect(loadConfig({ S3_FORCE_PATH_STYLE: 'true' }).s3.forcePathStyle).toBe(true);
  });

  it('falls back to AWS_DEFAULT_REGION, AWS_REGION first', () => {
    expect(loadConfig({ AWS_DEFAULT_REGION: 'ap-south-1' }).s3.region).toBe('ap-south-1');
    expect(loadConfig({ AWS_REGION: 'eu-north-1', AWS_DEFAULT_REGION: 'ap-south-1' }).s3.region).toBe('eu-north-1');
  });
});

describe('PERENNIAL_CODEC_KEYS', () => {
  const k1 = randomBytes(32).toString('base64');
  const k2 = randomBytes(32).toString('base64');

  it('is off unless set', () => {
    expect(loadConfig({}).codecKeys).toBeUndefined();
    expect(loadConfig({ PERENNIAL_CODEC_KEYS: ' ' }).codecKeys).toBeUndefined();
  });

  it('reads <id>:<base64 key> entries in order: the first encrypts, all decrypt', () => {
    const keys = loadConfig({ PERENNIAL_CODEC_KEYS: `2026-06:${k2}, 2026-01:${k1}` }).codecKeys!;
    expect(keys.map((k) => k.id)).toEqual(['2026-06', '2026-01']);
    expect(keys[0]!.key.export().toString('base64')).toBe(k2);
    expect(keys[1]!.key.symmetricKeySize).toBe(32);
  });

  it('keeps the keys out of anything that prints or serializes the configuration', () => {
    const config = loadConfig({ PERENNIAL_CODEC_KEYS: `k1:${k1}` });
    expect(JSON.stringify(config)).not.toContain(k1);
    expect(inspect(config, { depth: 10 })).not.toContain(k1);
  });

  it('refuses malformed entries, naming the variable and the entry but never a key', () => {
    const cases: [string, string][] = [
      [k1, 'PERENNIAL_CODEC_KEYS entry 1 is not <key id>:<base64 key>'],
      [`${k1}:k1`, 'PERENNIAL_CODEC_KEYS entry 1: a key id is 1 to 32 letters, digits'],
      [`k1:${k1},k1:${k2}`, "PERENNIAL_CODEC_KEYS entry 2: key id 'k1' is listed twice"],
      [
        `k1:${k1},k2:${k2.slice(0, 30)}`,
        "PERENNIAL_CODEC_KEYS entry 2: key 'k2' must be 32 bytes in base64 (44 characters; make one with 'openssl rand -base64 32')",
      ],
      [`k1:${randomBytes(16).toString('base64')}`, "key 'k1' must be 32 bytes in base64"],
      [`k1:${k1.replace(/[+/=]/g, '') + '%!'}`, "key 'k1' must be 32 bytes in base64"],
      [`:${k1}`, 'PERENNIAL_CODEC_KEYS entry 1: a key id is'],
    ];
    for (const [value, message] of cases) {
      let error: Error | undefined;
      try {
        loadConfig({ PERENNIAL_CODEC_KEYS: value });
      } catch (e) {
        error = e as Error;
      }
      expect(error?.message, value).toContain(message);
      for (const key of [k1, k2, k2.slice(0, 30)]) expect(error?.message).not.toContain(key);
    }
  });
});

describe('workflowUrl', () => {
  const config = loadConfig({});

  it('encodes the slashes of a workflow id', () => {
    expect(workflowUrl(config, 'retrain/weather')).toBe('http://127.0.0.1:8233/namespaces/default/workflows/retrain%2Fweather');
  });

  it('points at the run history when a run id is given', () => {
    expect(workflowUrl(config, 'monitor/weather', '0193-abcd')).toBe('http://127.0.0.1:8233/namespaces/default/workflows/monitor%2Fweather/0193-abcd/history');
  });

  it('encodes the namespace and other characters too', () => {
    const custom = loadConfig({ TEMPORAL_NAMESPACE: 'ml team', TEMPORAL_UI_URL: 'https://ui.example.com' });
    expect(workflowUrl(custom, 'canary/weather/v3?x=1#y')).toBe('https://ui.example.com/namespaces/ml%20team/workflows/canary%2Fweather%2Fv3%3Fx%3D1%23y');
  });
});
