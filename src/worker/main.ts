/**
 * The Perennial worker program: `npm run worker`. Two processes:
 *   - this one polls `perennial`: workflow tasks and light activities;
 *   - a child it starts polls `perennial-training`: parsing, preprocessing,
 *     training and scoring (each training or scoring task in a grandchild).
 * Heavy CPU never delays a workflow task or a heartbeat. SIGINT or SIGTERM
 * stops both gracefully; if this process dies, the child notices and exits.
 * PERENNIAL_WORKER_ROLE=workflows|training runs one role alone (scale them apart).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { loadConfig } from '../config';
import { parseBackendName, selectBackend } from '../model';
import { Registry } from '../registry';
import { S3Store } from '../store';
import { detectCodeVersion } from '../temporal';
import { createTrainingWorker, createWorkflowWorker } from './create';
import { freeLoopbackPort, METRICS_ADDRESS_SETTING, parseMetricsAddress, prometheusExporter, serveMergedMetrics } from './metrics-endpoint';

type Role = 'all' | 'workflows' | 'training';

async function main(): Promise<void> {
  const role = (process.env.PERENNIAL_WORKER_ROLE ?? 'all') as Role;
  if (!['all', 'workflows', 'training'].includes(role)) throw new Error(`PERENNIAL_WORKER_ROLE must be all, workflows or training, not '${role}'`);
  const config = loadConfig();
  // Prometheus metrics, when asked for: the SDK's (task latencies, failures) and the monitors' (workflow metricMeter).
  // Role `all`: each process exports on a loopback port and this one serves both merged on the address asked for.
  const metricsSetting = process.env[METRICS_ADDRESS_SETTING]?.trim() || undefined;
  const metricsAddress = metricsSetting ? parseMetricsAddress(metricsSetting) : undefined;
  const ownMetrics = metricsSetting && role === 'all' ? `127.0.0.1:${await freeLoopbackPort()}` : metricsSetting;
  const childMetrics = metricsSetting && role === 'all' ? `127.0.0.1:${await freeLoopbackPort()}` : undefined;
  Runtime.install({
    logger: new DefaultLogger((process.env.PERENNIAL_LOG_LEVEL as 'INFO') ?? 'INFO'),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    ...(ownMetrics ? { telemetryOptions: { metrics: prometheusExporter(ownMetrics, role === 'training' ? 'training' : 'workflows') } } : {}),
  });
  const merged =
    metricsAddress && ownMetrics && childMetrics
      ? await serveMergedMetrics(metricsAddress, [`http://${ownMetrics}/metrics`, `http://${childMetrics}/metrics`])
      : undefined;
  if (metricsSetting && !(role === 'training' && process.send)) {
    console.log(`perennial worker: Prometheus metrics on http://${metricsSetting}/metrics${merged ? ' (both processes)' : ''}`);
  }
  if (role === 'training' && process.send) {
    // Started by the worker program: if it dies, so do we (an orphan would hold training tasks).
    process.on('disconnect', () => process.exit(1));
  }
  const store = S3Store.fromConfig(config);
  const code = detectCodeVersion();
  const backend = parseBackendName(process.env.PERENNIAL_TF_BACKEND);
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect({ address: config.temporalAddress });
  } catch (error) {
    throw new Error(
      `cannot reach Temporal at ${config.temporalAddress} (${(error as Error).message}): start it with 'npm run services' or set TEMPORAL_ADDRESS`,
      { cause: error },
    );
  }
  const options = {
    connection,
    config,
    deps: { store, registry: new Registry(store), clock: () => new Date(), code, backend, prometheusUrl: config.prometheusUrl },
    trainingConcurrency: Number(process.env.PERENNIAL_TRAINING_CONCURRENCY ?? 2),
  };

  let worker: Worker;
  let child: ChildProcess | undefined;
  if (role === 'training') {
    // Which tfjs backend training children will get (they pick the same way); recorded in every version's lineage.
    const selected = await selectBackend(backend, { log: () => undefined });
    worker = await createTrainingWorker(options);
    console.log(
      `perennial worker: task queue '${config.trainingTaskQueue}' (heavy work); tfjs backend ${selected.name}` +
        `${selected.notes.length ? ` (${selected.notes.join('; ')})` : ''}; pid ${process.pid}`,
    );
  } else {
    worker = await createWorkflowWorker(options);
    console.log(
      `perennial worker: task queue '${config.taskQueue}' (workflows, light activities) on ${config.temporalAddress} (namespace ${config.temporalNamespace}); ` +
        `store ${store.description}; code ${code.version}${code.dirty ? ' (dirty)' : ''}; pid ${process.pid}`,
    );
    if (role === 'all') child = startTrainingProcess(worker, childMetrics);
  }
  await worker.run();
  merged?.close();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await connection.close();
  console.log(`perennial worker: stopped${role === 'all' ? '' : ` (${role})`}`);
}

/** The training worker in a child process; if it dies on its own, this worker stops too (let a supervisor restart both). */
function startTrainingProcess(worker: Worker, metricsAddress: string | undefined): ChildProcess {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, PERENNIAL_WORKER_ROLE: 'training', ...(metricsAddress ? { [METRICS_ADDRESS_SETTING]: metricsAddress } : {}) },
    execArgv: ['--import', 'tsx'],
    stdio: 'inherit',
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    child.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  child.once('exit', (code, signal) => {
    if (stopping) return;
    console.error(`perennial worker: the training process exited (${signal ?? `code ${code}`}); stopping`);
    process.exitCode = 1;
    worker.shutdown();
  });
  return child;
}

main().catch((error) => {
  console.error(`perennial worker: ${(error as Error).message}`);
  process.exit(1);
});
