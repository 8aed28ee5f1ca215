/**
 * Integration tests run against the real services that `npm test` starts
 * (scripts/services.sh): the Temporal dev server and the S3 gateway on
 * loopback. Each test file gets its own task queues and model names, so files
 * never pick up each other's work, nor a developer's running worker.
 */
import { randomBytes } from 'node:crypto';
import { NativeConnection, Runtime, DefaultLogger, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { loadConfig, type PerennialConfig } from '../../src/config';
import { Registry } from '../../src/registry';
import { S3Store } from '../../src/store';
import { connectClient, detectCodeVersion } from '../../src/temporal';
import { bundleWorkflows, createWorkers } from '../../src/worker/create';
import type { ActivityDeps } from '../../activities/deps';

let runtimeInstalled = false;

export function uniqueId(): string {
  return randomBytes(4).toString('hex');
}

export interface Harness {
  config: PerennialConfig;
  store: S3Store;
  registry: Registry;
  client: Client;
  deps: ActivityDeps;
  startWorker(options?: { activityOverrides?: Record<string, (...args: never[]) => Promise<unknown>> }): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export async function createHarness(): Promise<Harness> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') }); // failing workflows are expected in these tests
    runtimeInstalled = true;
  }
  const base = loadConfig();
  const taskQueue = `perennial-test-${uniqueId()}`;
  const config: PerennialConfig = { ...base, taskQueue, trainingTaskQueue: `${taskQueue}-training` };
  const store = S3Store.fromConfig(config);
  const registry = new Registry(store);
  const client = await connectClient(config);
  const deps: ActivityDeps = { store, registry, clock: () => new Date(), code: detectCodeVersion() };
  bundle ??= bundleWorkflows();
  const connections: NativeConnection[] = [];
  return {
    config,
    store,
    registry,
    client,
    deps,
    async startWorker(options = {}) {
      const connection = await NativeConnection.connect({ address: config.temporalAddress });
      connections.push(connection);
      const workers = await createWorkers({ connection, config, deps, workflowBundle: await bundle, activityOverrides: options.activityOverrides });
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
