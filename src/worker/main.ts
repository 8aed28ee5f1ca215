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

type Role = 'all' | 'workflows' | 'training';

async function main(): Promise<void> {
  const role = (process.env.PERENNIAL_WORKER_ROLE ?? 'all') as Role;
  if (!['all', 'workflows', 'training'].includes(role)) throw new Error(`PERENNIAL_WORKER_ROLE must be all, workflows or training, not '${role}'`);
  const config = loadConfig();
  const metricsAddress = role === 'training' ? undefined : process.env.PERENNIAL_WORKER_METRICS_ADDRESS;
  Runtime.install({
    logger: new DefaultLogger((process.env.PERENNIAL_LOG_LEVEL as 'INFO') ?? 'INFO'),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
    // Temporal SDK metrics (task latencies, failures) for Prometheus, when asked for.
    ...(metricsAddress ? { telemetryOptions: { metrics: { prometheus: { bindAddress: metricsAddress } } } } : {}),
  });
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
    if (role === 'all') child = startTrainingProcess(worker);
  }
  await worker.run();
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  await connection.close();
  console.log(`perennial worker: stopped${role === 'all' ? '' : ` (${role})`}`);
}

/** The training worker in a child process; if it dies on its own, this worker stops too (let a supervisor restart both). */
function startTrainingProcess(worker: Worker): ChildProcess {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, PERENNIAL_WORKER_ROLE: 'training' },
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
