/**
 * Encrypted payloads and no secrets anywhere, on one real run: the worker
 * program and the CLI as users run them, with PERENNIAL_CODEC_KEYS set and
 * recognizable S3 credentials (a private S3 gateway of this test, started with
 * them as its root keys, so every request really signs with them).
 *   - what the Temporal server stores is ciphertext: every payload of the run's
 *     histories, read raw through the server's API, is encrypted; no model name,
 *     column name or S3 key in the clear; failure messages are encrypted too;
 *   - `perennial codec-server` (the UI's codec endpoint) decodes them, with
 *     CORS for the UI, a rotated key, and a clear error for an unknown key id;
 *   - the S3 credentials and the codec key appear in no log line, no CLI
 *     output, no history (raw or decoded) and no S3 error message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSecretKey, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENCRYPTED_ENCODING, EncryptionCodec, KEY_ID_METADATA } from '../../src/temporal/codec';
import { startRetrain } from '../../src/temporal';
import { historyToJSON } from '../replay/history-json';
import { freePort, runPerennial } from '../helpers/programs';
import { createHarness, uniqueId, waitFor, type Harness } from './harness';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const id = uniqueId();
const model = `codec-${id}`;
const missing = `codec-nospec-${id}`;

// Recognizable secrets: if any of them shows up anywhere, it leaked.
const accessKeyId = `AKIDLEAKCHECK${randomBytes(6).toString('hex').toUpperCase()}`;
const secretAccessKey = `leak-check-secret-${randomBytes(12).toString('hex')}`;
const oldKey = randomBytes(32);
const newKey = randomBytes(32);
const secrets = [accessKeyId, secretAccessKey, ...[oldKey, newKey].flatMap((k) => [k.toString('base64'), k.toString('base64url'), k.toString('hex')])];

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let h: Harness;
let gatewayDir: string | undefined;
let worker: (ChildProcess & { output: string }) | undefined;
let codecServer: (ChildProcess & { output: string }) | undefined;
let codecUrl: string;
/** Every process this file starts, killed at the end whatever happened. */
const children: ChildProcess[] = [];
/** Everything our programs printed, for the search for secrets. */
const outputs: string[] = [];
/** The histories (raw JSON text) of the promoted run, its children, and the failed run. */
const rawHistories = new Map<string, string>();
let failedRunError: Error | undefined;

/** The S3 gateway scripts/services.sh builds, as a second instance of our own whose root keys are the recognizable ones. */
async function startGateway(): Promise<string> {
  const version = /^VERSITYGW_VERSION=(\S+)/m.exec(await readFile(join(ROOT, 'scripts/services.sh'), 'utf8'))![1]!;
  const bin = join(process.env.PERENNIAL_TOOLS ?? join(homedir(), '.cache/perennial/bin'), `versitygw-${version}`, 'versitygw');
  expect(existsSync(bin), `${bin}: run 'npm run services' once to build it`).toBe(true);
  gatewayDir = await mkdtemp(join(tmpdir(), 'perennial-codec-s3-'));
  const port = await freePort();
  const gateway = spawn(bin, ['--port', `127.0.0.1:${port}`, '--region', 'us-east-1', '--quiet', 'posix', gatewayDir], {
    env: { ...process.env, ROOT_ACCESS_KEY_ID: accessKeyId, ROOT_SECRET_ACCESS_KEY: secretAccessKey },
    stdio: 'ignore',
  });
  children.push(gateway);
  const endpoint = `http://127.0.0.1:${port}`;
  await waitFor(
    'the S3 gateway',
    () =>
      fetch(endpoint).then(
        () => true,
        () => false,
      ),
    15,
  );
  return endpoint;
}

function program(args: string[], env: NodeJS.ProcessEnv): ChildProcess & { output: string } {
  const child = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] }) as ChildProcess & { output: string };
  children.push(child);
  child.output = '';
  child.stdout!.on('data', (d) => (child.output += d));
  child.stderr!.on('data', (d) => (child.output += d));
  return child;
}

async function perennial(args: string[], env: NodeJS.ProcessEnv = h.env): Promise<Run> {
  const run = await runPerennial(args, { env });
  outputs.push(run.stdout, run.stderr);
  return run;
}

/** Every payload in a history's JSON, with where it is; search attributes are the server's index, not payloads a codec sees. */
function payloadsOf(json: unknown, path = ''): { path: string; payload: JsonPayload }[] {
  if (Array.isArray(json)) return json.flatMap((v, i) => payloadsOf(v, `${path}[${i}]`));
  if (typeof json !== 'object' || json === null) return [];
  const record = json as Record<string, unknown>;
  if (typeof record.metadata === 'object' && record.metadata !== null && 'encoding' in record.metadata) {
    return [{ path, payload: record }];
  }
  return Object.entries(record)
    .filter(([key]) => key !== 'searchAttributes')
    .flatMap(([key, value]) => payloadsOf(value, `${path}.${key}`));
}

const utf8 = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('utf8');

async function fetchRawHistories(raw: Client, workflowId: string): Promise<void> {
  const history = await raw.workflow.getHandle(workflowId).fetchHistory();
  rawHistories.set(workflowId, historyToJSON(history));
  for (const event of history.events ?? []) {
    const child = event.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId;
    if (child && !rawHistories.has(child)) await fetchRawHistories(raw, child);
  }
}

function decodeRequest(payloads: JsonPayload[], origin = 'http://127.0.0.1:8233', path = '/decode'): Promise<Response> {
  return fetch(`${codecUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Origin: origin, 'X-Namespace': h.config.temporalNamespace },
    body: JSON.stringify({ payloads }),
  });
}

beforeAll(async () => {
  const endpoint = await startGateway();
  const env = {
    S3_ENDPOINT: endpoint,
    AWS_ACCESS_KEY_ID: accessKeyId,
    AWS_SECRET_ACCESS_KEY: secretAccessKey,
    PERENNIAL_CODEC_KEYS: `old:${oldKey.toString('base64')}`,
  };
  h = await createHarness({ env });
  // The UI's codec endpoint, after a key rotation: 'new' encrypts, 'old' (the run's key) still decrypts.
  const port = await freePort();
  codecUrl = `http://127.0.0.1:${port}`;
  codecServer = program(['bin/perennial.mjs', 'codec-server', '--port', String(port)], {
    ...h.env,
    PERENNIAL_CODEC_KEYS: `new:${newKey.toString('base64')},old:${oldKey.toString('base64')}`,
  });

  // The real run: the worker program and the CLI, as users run them.
  worker = program(['--import', 'tsx', 'src/worker/main.ts'], { ...h.env, PERENNIAL_LOG_LEVEL: 'INFO' });
  const workerDied = new Promise<never>((_, reject) =>
    worker!.once('exit', (code, signal) => reject(new Error(`the worker program exited (${signal ?? code}):\n${worker!.output.slice(-3000)}`))),
  );
  const promoted = (async () => {
    expect((await perennial(['bootstrap', '--model', model])).code).toBe(0);
    let timer: NodeJS.Timeout | undefined;
    const tooLong = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the run did not end within 200 s; the worker printed:\n${worker!.output.slice(-3000)}`)), 200_000);
    });
    const retrain = await Promise.race([perennial(['retrain', '--model', model, '--wait']), workerDied, tooLong]).finally(() => clearTimeout(timer));
    // The worker program may still be starting when the run is: the CLI says so, and waits.
    expect(retrain.stderr.replace(/^no worker polls task queue .*\n/, '')).toBe('');
    expect(retrain.stdout).toContain(`promoted: ${model}/v1 promoted to champion`);
  })();

  // Meanwhile, a run that fails at once (no spec; its failure message names the model and a key),
  // on a harness's in-process worker of its own task queue.
  const failing = (async () => {
    const h2 = await createHarness({ env });
    const inProcess = await h2.startWorker();
    try {
      const { handle } = await startRetrain(h2.client, h2.config, { model: missing, trigger: 'manual' });
      failedRunError = await handle.result().then(
        () => undefined,
        (e: Error) => e,
      );
    } finally {
      await inProcess.stop();
      await h2.close();
    }
  })();

  await Promise.all([promoted, failing, waitFor('the codec server', () => codecServer!.output.includes('listening on'), 60)]);
  if (worker.exitCode === null) {
    worker.kill('SIGTERM');
    await new Promise((resolve) => worker!.once('exit', resolve));
  }
  outputs.push(worker.output);

  // The histories as the server stores them: a client without the codec.
  const raw = new Client({ connection: h.client.connection, namespace: h.config.temporalNamespace });
  await fetchRawHistories(raw, `retrain/${model}`);
  await fetchRawHistories(raw, `retrain/${missing}`);
}, 240_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await h?.close();
  if (gatewayDir) await rm(gatewayDir, { recursive: true, force: true });
});

describe('encrypted payloads', () => {
  it('the server stores ciphertext: every payload of the run and its children is encrypted, nothing readable in the clear', () => {
    expect([...rawHistories.keys()]).toEqual(expect.arrayContaining([`retrain/${model}`, `retrain/${missing}`]));
    let count = 0;
    for (const [workflowId, text] of rawHistories) {
      const payloads = payloadsOf(JSON.parse(text));
      expect(payloads.length, workflowId).toBeGreaterThan(0);
      for (const { path, payload } of payloads) {
        const data = utf8(payload.data);
        if (/\.markerRecordedEventAttributes\.details\.patch-data\./.test(path)) {
          // The SDK's own marker of a workflow patch (its id, no data): written by the worker's core, outside any codec.
          expect(JSON.parse(data), path).toEqual({ id: expect.any(String), deprecated: expect.any(Boolean) });
          continue;
        }
        count++;
        expect(utf8(payload.metadata!.encoding), `${workflowId} ${path}`).toBe(ENCRYPTED_ENCODING);
        expect(utf8(payload.metadata![KEY_ID_METADATA]), `${workflowId} ${path}`).toBe('old');
        for (const plain of [model, missing, 'temp_max', 'weather', 'models/', 'datasets/']) expect(data, `${workflowId} ${path}`).not.toContain(plain);
      }
      // Outside payloads too: no column name, no S3 key, no spec (the model name is in ids and search attributes by design).
      for (const plain of ['temp_max', `models/${model}`, `datasets/${model}`, `models/${missing}`]) expect(text, workflowId).not.toContain(plain);
    }
    expect(count).toBeGreaterThan(20);
  });

  it('failure messages are encrypted too, and a client with the key reads them', () => {
    const failed = rawHistories.get(`retrain/${missing}`)!;
    const messages = [...failed.matchAll(/"message": "([^"]*)"/g)].map((m) => m[1]);
    expect(messages.length).toBeGreaterThan(0);
    expect(new Set(messages)).toEqual(new Set(['Encoded failure']));
    expect(failed).not.toMatch(/"stackTrace": "[^"]/);
    // The SDK restores the message for whoever has the key.
    const causes: string[] = [];
    for (let e: unknown = failedRunError; e instanceof Error; e = e.cause) causes.push(e.message);
    expect(causes.join(' / ')).toMatch(new RegExp(`${missing}.*has no spec`));
  });

  it("the UI's codec endpoint decodes them with a rotated key list, and its CORS lets the UI call it", async () => {
    const payloads = payloadsOf(JSON.parse(rawHistories.get(`retrain/${model}`)!)).map((p) => p.payload);
    const response = await decodeRequest(payloads);
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://127.0.0.1:8233');
    const decoded = ((await response.json()) as { payloads: JsonPayload[] }).payloads;
    expect(decoded).toHaveLength(payloads.length);
    for (const p of decoded) expect(utf8(p.metadata!.encoding)).not.toBe(ENCRYPTED_ENCODING);
    const text = decoded.map((p) => utf8(p.data)).join('\n');
    expect(text).toContain(model);
    expect(text).toContain(`datasets/${model}/`);

    // Mounted at any depth (the protocol looks at the last part of the path only).
    expect((await decodeRequest(payloads.slice(0, 1), 'http://localhost:8233', '/codec/perennial-test/decode')).status).toBe(200);

    // The browser's preflight, from the UI's origin.
    const preflight = await fetch(`${codecUrl}/decode`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://localhost:8233', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe('content-type, x-namespace, authorization');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    // Another site's page may not use it.
    const foreign = await decodeRequest(payloads.slice(0, 1), 'https://evil.example');
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('the codec endpoint encodes with the new key, round-trips, and names an unknown key id', async () => {
    const plain = { metadata: { encoding: Buffer.from('json/plain').toString('base64') }, data: Buffer.from(JSON.stringify({ model })).toString('base64') };
    const encoded = (await (await decodeRequest([plain], undefined, '/encode')).json()) as { payloads: JsonPayload[] };
    expect(utf8(encoded.payloads[0]!.metadata![KEY_ID_METADATA])).toBe('new');
    const back = (await (await decodeRequest(encoded.payloads)).json()) as { payloads: JsonPayload[] };
    expect(back.payloads).toEqual([plain]);

    // A payload of a key that was dropped from the list.
    const retired = new EncryptionCodec([{ id: 'retired-2025', key: createSecretKey(randomBytes(32)) }]);
    const [payload] = await retired.encode([{ metadata: { encoding: Buffer.from('json/plain') }, data: Buffer.from('"x"') }] as Payload[]);
    const unknown = await decodeRequest([
      {
        metadata: Object.fromEntries(Object.entries(payload!.metadata!).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
        data: Buffer.from(payload!.data!).toString('base64'),
      },
    ]);
    expect(unknown.status).toBe(400);
    expect(((await unknown.json()) as { message: string }).message).toBe(
      "a payload is encrypted with key 'retired-2025', which is not among the configured keys ('new', 'old'): list it in PERENNIAL_CODEC_KEYS after the current key",
    );
  });
});

describe('no secrets in logs, histories or errors', () => {
  it('S3 errors (a wrong secret, an unknown access key) name neither the key id nor the secret', async () => {
    const wrongSecret = `wrong-secret-${randomBytes(8).toString('hex')}`;
    const unknownKeyId = `AKIDUNKNOWN${randomBytes(6).toString('hex').toUpperCase()}`;
    const [badSecret, badKeyId] = await Promise.all([
      perennial(['registry', 'list'], { ...h.env, AWS_SECRET_ACCESS_KEY: wrongSecret }),
      perennial(['registry', 'list'], { ...h.env, AWS_ACCESS_KEY_ID: unknownKeyId }),
    ]);
    for (const r of [badSecret, badKeyId]) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^perennial registry: S3 error while .* (SignatureDoesNotMatch|XAdminUserNotFound|InvalidAccessKeyId)/);
      for (const s of [...secrets, wrongSecret, unknownKeyId]) expect(r.stdout + r.stderr).not.toContain(s);
    }
  });

  it('the credentials and the codec key appear in no output, log line or history, raw or decoded', async () => {
    // The worker ran, logged at INFO, and its output is here to search.
    expect(worker!.output).toMatch(/perennial worker: task queue/);
    expect(codecServer!.output).toContain("encrypting with key 'new', decrypting with 'new', 'old'");
    outputs.push(codecServer!.output);
    // Decoded histories: every payload in clear, as a user with the key sees them.
    const codec = new EncryptionCodec(h.config.codecKeys!);
    const decoded: string[] = [];
    for (const text of rawHistories.values()) {
      const payloads = payloadsOf(JSON.parse(text)).map(({ payload }) => ({
        metadata: Object.fromEntries(Object.entries(payload.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
        data: Buffer.from(payload.data ?? '', 'base64'),
      }));
      for (const p of await codec.decode(payloads)) decoded.push(Buffer.from(p.data ?? new Uint8Array()).toString('utf8'));
    }
    const decodedText = decoded.join('\n');
    expect(decodedText).toContain(`"model":"${model}"`); // the search sees the run's inputs and results
    // The services' own logs, when this machine's services script writes them.
    const serviceLogs: string[] = [];
    for (const name of ['temporal.log', 'worker.log']) {
      const path = join(process.env.PERENNIAL_DATA ?? join(ROOT, '.data'), 'logs', name);
      if (existsSync(path)) serviceLogs.push(await readFile(path, 'utf8'));
    }
    const places: [string, string][] = [
      ['program output', outputs.join('\n')],
      ['raw histories', [...rawHistories.values()].join('\n')],
      ['decoded histories', decodedText],
      ['service logs', serviceLogs.join('\n')],
    ];
    for (const [where, text] of places) for (const secret of secrets) expect(text.includes(secret), `${where} contains a secret`).toBe(false);
  });
});
