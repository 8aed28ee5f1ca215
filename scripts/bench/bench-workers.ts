/**
 * What the in-process benchmarks share: task queues of their own, the store,
 * a client, and both workers (workflows and training) running in this process.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { loadConfig, type PerennialConfig } from '../../src/config';
import { Registry } from '../../src/registry';
import { S3Store } from '../../src/store';
import { connectClient, detectCodeVersion } from '../../src/temporal';
import { bundleWorkflows, createWorkers } from '../../src/worker/create';

export interface BenchWorkers {
  id: string;
  config: PerennialConfig;
  store: S3Store;
  client: Client;
  /** Stops the workers and closes both connections. */
  stop: () => Promise<void>;
}

export async function startBenchWorkers(): Promise<BenchWorkers> {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const id = Math.random().toString(16).slice(2, 10);
  const config = { ...loadConfig(), taskQueue: `perennial-bench-${id}`, trainingTaskQueue: `perennial-bench-${id}-training` };
  const store = S3Store.fromConfig(config);
  const client = await connectClient(config);
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workers = await createWorkers({
    connection,
    config,
    deps: { store, registry: new Registry(store), clock: () => new Date(), code: detectCodeVersion() },
    workflowBundle: await bundleWorkflows(config),
  });
  const running = Promise.all([workers.main.run(), workers.training.run()]);
  return {
    id,
    config,
    store,
    client,
    stop: async () => {
      workers.main.shutdown();
      workers.training.shutdown();
      await running;
      await connection.close();
      await client.connection.close();
    },
  };
}
