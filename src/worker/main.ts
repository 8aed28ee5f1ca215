/**
 * The Perennial worker program: `npm run worker`. Polls both task queues until
 * SIGINT or SIGTERM, then finishes what it is doing and exits.
 */
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { loadConfig } from '../config';
import { Registry } from '../registry';
import { S3Store } from '../store';
import { detectCodeVersion } from '../temporal';
import { selectBackend, type BackendName } from '../model';
import { createWorkers } from './create';

async function main(): Promise<void> {
  const config = loadConfig();
  const metricsAddress = process.env.PERENNIAL_WORKER_METRICS_ADDRESS;
  Runtime.install({
    logger: new DefaultLogger((process.env.PERENNIAL_LOG_LEVEL as 'INFO') ?? 'INFO'),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    // Temporal SDK metrics (task latencies, failures) for Prometheus, when asked for.
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
  const store = S3Store.fromConfig(config);
  const code = detectCodeVersion();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: config.temporalAddress });
  } catch (error) {
    throw new Error(`cannot reach Temporal at ${config.temporalAddress} (${(error as Error).message}): start it with 'npm run services' or set TEMPORAL_ADDRESS`);
  }
  // Which tfjs backend training children will get (they pick the same way); recorded in every version's lineage.
  const backend = await selectBackend(process.env.PERENNIAL_TF_BACKEND as BackendName | undefined, { log: () => undefined });
  const { main: mainWorker, training } = await createWorkers({
    connection,
    config,
    deps: { store, registry: new Registry(store), clock: () => new Date(), code, backend: process.env.PERENNIAL_TF_BACKEND },
    trainingConcurrency: Number(process.env.PERENNIAL_TRAINING_CONCURRENCY ?? 1),
  });
  console.log(
    `perennial worker: task queues '${config.taskQueue}' and '${config.trainingTaskQueue}' on ${config.temporalAddress} (namespace ${config.temporalNamespace}); ` +
      `store ${store.description}; code ${code.version}${code.dirty ? ' (dirty)' : ''}; tfjs backend ${backend.name}` +
      `${backend.notes.length ? ` (${backend.notes.join('; ')})` : ''}; pid ${process.pid}`,
  );
  await Promise.all([mainWorker.run(), training.run()]);
  await connection.close();
  console.log('perennial worker: stopped');
}

main().catch((error) => {
  console.error(`perennial worker: ${(error as Error).message}`);
  process.exit(1);
});
