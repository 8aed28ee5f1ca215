/**
 * A worker program for the kill-at-every-stage fault test: the real workers
 * (src/worker/create.ts) with the real activities, except that the first
 * attempt of stage S for a model named `kill-S-…` does its real work, says so
 * on stdout, and then holds, heartbeating like a live activity, until the test
 * SIGKILLs this process. The stage's result dies with it: the retry, on the
 * real worker program, meets everything the first attempt wrote.
 *
 * usage: node --import tsx test/faults/holding-worker.ts   (environment as for the worker program)
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { createPipelineActivities } from '../../activities/pipeline';
import { loadConfig } from '../../src/config';
import { Registry } from '../../src/registry';
import { S3Store } from '../../src/store';
import { detectCodeVersion } from '../../src/temporal';
import { createWorkers } from '../../src/worker/create';

/** The pipeline's activities (validate and snapshot fan out: validateBatch per batch, snapshotPart per part). */
export const KILL_STAGES = ['ingest', 'validateBatch', 'snapshotPart', 'snapshot', 'preprocess', 'train', 'evaluate', 'register', 'promote'] as const;
export type KillStage = (typeof KILL_STAGES)[number];

/** The model a test runs to have this stage held: `kill-<stage in kebab case>-<id>`. */
export const killModel = (stage: KillStage, id: string) => `kill-${stage.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-${id}`;

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const config = loadConfig();
  const store = S3Store.fromConfig(config);
  const real = createPipelineActivities({ store, registry: new Registry(store), clock: () => new Date(), code: detectCodeVersion() });
  const holding = (stage: KillStage) => async (input: { model: string }) => {
    const result = await (real[stage] as (input: unknown) => Promise<unknown>)(input);
    const context = Context.current();
    if (context.info.attempt === 1 && input.model.startsWith(killModel(stage, ''))) {
      console.log(`held ${stage} ${input.model}`);
      for (;;) {
        context.heartbeat();
        await sleep(1000);
      }
    }
    return result;
  };
  const connection = await NativeConnection.connect({ address: config.temporalAddress });
  const workers = await createWorkers({
    connection,
    config,
    deps: { store, registry: new Registry(store), clock: () => new Date(), code: detectCodeVersion() },
    activityOverrides: Object.fromEntries(KILL_STAGES.map((stage) => [stage, holding(stage)])),
    // Every held attempt keeps a slot until the kill (one per batch or part for the fanned-out stages).
    trainingConcurrency: 4 * KILL_STAGES.length,
  });
  console.log('holding worker: ready');
  await Promise.all([workers.main.run(), workers.training.run()]);
}

if (process.argv[1]?.endsWith('holding-worker.ts')) {
  main().catch((error) => {
    console.error(`holding worker: ${(error as Error).message}`);
    process.exit(1);
  });
}
