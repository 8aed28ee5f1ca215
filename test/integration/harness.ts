/**
 * Integration tests run against the real services that `npm test` starts
 * (scripts/services.sh): the Temporal dev server and the S3 gateway on
 * loopback. They keep out of a user's way: their own Temporal namespace and S3
 * bucket (PERENNIAL_TEST_NAMESPACE, PERENNIAL_TEST_BUCKET; 'perennial-test'
 * by default, created when missing), so the Temporal UI and the bucket a user
 * watches show only their own work. Each test file gets its own task queues
 * and model names, so files never pick up each other's work.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { NativeConnection, Runtime, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { loadConfig, type PerennialConfig } from '../../src/config';
import { Registry } from '../../src/registry';
import { S3Store } from '../../src/store';
import { connectClient, detectCodeVersion, ensureNamespace } from '../../src/temporal';
import { bundleWorkflows, createWorkers } from '../../src/worker/create';
import type { ActivityDeps } from '../../activities/deps';

let runtimeInstalled = false;

export function uniqueId(): string {
  return randomBytes(4).toString('hex');
}

/** The test namespace and bucket, on whatever services the environment points at (`env` over the process's own). */
export function testConfig(env: NodeJS.ProcessEnv = {}): PerennialConfig {
  const base = loadConfig({ ...process.env, ...env });
  return {
    ...base,
    temporalNamespace: process.env.PERENNIAL_TEST_NAMESPACE ?? 'perennial-test',
    s3: { ...base.s3, bucket: process.env.PERENNIAL_TEST_BUCKET ?? 'perennial-test' },
  };
}

const prepared = new Map<string, Promise<void>>();

/** Creates the test namespace (with Perennial's search attributes) and the test bucket, once per process (and per store). */
export function prepareTestServices(config: PerennialConfig = testConfig()): Promise<void> {
  const services = `${config.temporalAddress} ${config.temporalNamespace} ${config.s3.endpoint ?? 'aws'} ${config.s3.bucket}`;
  let ready = prepared.get(services);
  if (!ready) {
    ready = (async () => {
      await S3Store.fromConfig(config).ensureBucket();
      const client = await connectClient(config);
      try {
        await ensureNamespace(client.connection, config.temporalNamespace);
      } finally {
        await client.connection.close();
      }
    })();
    prepared.set(services, ready);
  }
  return ready;
}

export interface Harness {
  config: PerennialConfig;
  /** The environment for a spawned Perennial program (CLI, worker) that must use this harness's namespace, bucket and queues. */
  env: NodeJS.ProcessEnv;
  store: S3Store;
  registry: Registry;
  client: Client;
  deps: ActivityDeps;
  /** Workers of this harness's queues; `deps` over the harness's own (another tfjs backend, another code version). */
  startWorker(options?: {
    activityOverrides?: Record<string, (...args: never[]) => Promise<unknown>>;
    deps?: Partial<ActivityDeps>;
  }): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

/** One workflow bundle per process, and one with the failure converter of payload encryption when a harness has keys. */
const bundles = new Map<boolean, Promise<WorkflowBundleWithSourceMap>>();

export interface HarnessOptions {
  /**
   * Environment over the process's own, for this harness and the programs it
   * spawns (h.env): another store and its credentials, PERENNIAL_CODEC_KEYS.
   * Payloads are encrypted when PERENNIAL_CODEC_KEYS is set, here or in the
   * environment; otherwise clients and workers are the SDK's defaults.
   */
  env?: NodeJS.ProcessEnv;
}

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  if (!runtimeInstalled) {
    // Failing workflows are expected in these tests, and so are the core's poll retries while a fault test stops a server.
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    runtimeInstalled = true;
  }
  const base = testConfig(options.env);
  await prepareTestServices(base);
  const taskQueue = `perennial-test-${uniqueId()}`;
  const config: PerennialConfig = { ...base, taskQueue, trainingTaskQueue: `${taskQueue}-training` };
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    TEMPORAL_NAMESPACE: config.temporalNamespace,
    S3_BUCKET: config.s3.bucket,
    PERENNIAL_TASK_QUEUE: taskQueue,
  };
  const store = S3Store.fromConfig(config);
  const registry = new Registry(store);
  const client = await connectClient(config);
  const deps: ActivityDeps = { store, registry, clock: () => new Date(), code: detectCodeVersion() };
  const encrypted = config.codecKeys !== undefined;
  if (!bundles.has(encrypted)) bundles.set(encrypted, bundleWorkflows(config));
  const bundle = bundles.get(encrypted)!;
  const connections: NativeConnection[] = [];
  return {
    config,
    env,
    store,
    registry,
    client,
    deps,
    async startWorker(options = {}) {
      const connection = await NativeConnection.connect({ address: config.temporalAddress });
      connections.push(connection);
      const workers = await createWorkers({
        connection,
        config,
        deps: { ...deps, ...options.deps },
        workflowBundle: await bundle,
        activityOverrides: options.activityOverrides,
      });
      const running = Promise.all([workers.main.run(), workers.training.run()]);
      return {
        async stop() {
          workers.main.shutdown();
          workers.training.shutdown();
          await running;
        },
      };
    },
    async close() {
      await client.connection.close();
      for (const c of connections) await c.close();
    },
  };
}

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** `scripts/services.sh <args>`, as a user runs it. */
export function services(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('bash', ['scripts/services.sh', ...args], { cwd: ROOT });
}

/** Only a service the script started can be stopped by it (CI's always are): a fault test fails, not skips, otherwise. */
export function expectStartedByScript(service: 'temporal' | 's3'): void {
  const data = process.env.PERENNIAL_DATA ?? `${ROOT}.data`;
  expect(existsSync(`${data}/run/${service}.pid`), `${service} was not started by scripts/services.sh (no pid file in ${data}/run)`).toBe(true);
}

/**
 * Polls `check` every 250 ms until it holds; after `seconds`, fails naming
 * `what` and, when given, the tail of a program's output.
 */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, seconds: number, output?: () => string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s${output ? `; program output:\n${output().slice(-3000)}` : ''}`);
    await sleep(250);
  }
}
