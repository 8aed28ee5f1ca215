import { ScheduleNotFoundError, WithStartWorkflowOperation, WorkflowNotFoundError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import { monitorWorkflowId } from '../../workflows/definitions';
import { monitorStatusQuery, setThresholdsUpdate, type ModelMonitor } from '../../workflows/monitor';
import { scheduledRetrainId, type ScheduledRetrainInput } from '../../workflows/scheduled-retrain';
import { loadConfig, workflowUrl, type PerennialConfig } from '../config';
import { SpecNotFoundError } from '../errors';
import type { Thresholds } from '../monitor/policy';
import { checkName } from '../names';
import { Registry } from '../registry';
import { loadModelSpecFile, loadPublishedSpec, publishSpec, retentionPolicy, type ModelSpec } from '../spec';
import { driftCheckPolicy, monitorThresholds } from '../spec/monitoring-spec';
import { durationMs } from '../spec/retraining-spec';
import { S3Store } from '../store';
import { connectClient, queuesWithoutWorkers } from '../temporal';
import { applyWorkflowSchedule } from '../temporal/apply-schedule';
import { scheduleSpecOf } from '../temporal/schedules';
import { parseCommandArgs } from './args';
import { applyDriftCheckSchedule } from './drift-check';
import type { CliIo } from './io';
import { applyRetentionSchedule } from './retention';
import { formatScheduleRow, modelSchedules, SCHEDULE_KINDS, type ScheduleKind, type ScheduleRow } from './schedules';

const MONITOR_TYPE = 'ModelMonitor';

/** What apply did to one part. */
interface PartResult {
  status: 'created' | 'published' | 'started' | 'updated' | 'unchanged' | 'removed' | 'absent' | 'failed';
  detail: string;
}

/** The change that makes `current` thresholds `desired`: the fields that differ, and null for those the spec no longer sets. */
export function thresholdsChange(current: Thresholds, desired: Thresholds): Record<string, number | null> {
  const change: Record<string, number | null> = {};
  for (const [field, value] of Object.entries(desired)) if ((current as unknown as Record<string, unknown>)[field] !== value) change[field] = value as number;
  for (const field of Object.keys(current)) if (!(field in desired)) change[field] = null;
  return change;
}

const describeChange = (change: Record<string, number | null>) =>
  Object.entries(change)
    .map(([field, value]) => (value === null ? `${field} removed` : `${field} ${value}`))
    .join(', ');

async function applySpec(store: S3Store, spec: ModelSpec): Promise<PartResult> {
  let current;
  try {
    current = await loadPublishedSpec(store, spec.name);
  } catch (error) {
    if (!(error instanceof SpecNotFoundError)) throw error;
  }
  if (current && JSON.stringify(current.spec) === JSON.stringify(spec)) return { status: 'unchanged', detail: `in force as ${current.key}` };
  const published = await publishSpec(store, spec);
  return { status: 'published', detail: `${published.key}, now in force${current ? ` (was ${current.key})` : ''}` };
}

/** The monitor runs with the spec's thresholds: started (update-with-start) when none runs, updated when they differ. */
async function applyMonitor(client: Client, config: PerennialConfig, spec: ModelSpec): Promise<PartResult> {
  const model = spec.name;
  const workflowId = monitorWorkflowId(model);
  const desired = monitorThresholds(spec);
  const handle = client.workflow.getHandle<typeof ModelMonitor>(workflowId);
  const running = await handle.describe().then(
    (d) => (d.status.name === 'RUNNING' ? d : null),
    (error: unknown) => {
      if (error instanceof WorkflowNotFoundError) return null;
      throw error;
    },
  );
  // The monitor answers through a worker: with none polling, a query or an update would wait in silence.
  if ((await queuesWithoutWorkers(client, { workflows: config.taskQueue, activities: [] })).length > 0) {
    return {
      status: 'failed',
      detail: `no worker polls task queue '${config.taskQueue}' in namespace '${config.temporalNamespace}', so ${workflowId} cannot answer: start one ('npm run worker') and apply again`,
    };
  }
  try {
    if (running && running.type !== MONITOR_TYPE) {
      return {
        status: 'failed',
        detail: `${workflowId} runs ${running.type}, not ${MONITOR_TYPE} (an older server's stand-in): end it (temporal workflow terminate -w ${workflowId}) and apply again`,
      };
    }
    if (running) {
      const change = thresholdsChange((await handle.query(monitorStatusQuery)).thresholds, desired);
      if (Object.keys(change).length === 0) return { status: 'unchanged', detail: `${workflowId} runs with the spec's thresholds` };
      await handle.executeUpdate(setThresholdsUpdate, { args: [change as Partial<Thresholds>] });
      return { status: 'updated', detail: `${workflowId} thresholds: ${describeChange(change)}` };
    }
    const startWorkflowOperation = new WithStartWorkflowOperation<typeof ModelMonitor>(MONITOR_TYPE, {
      workflowId,
      taskQueue: config.taskQueue,
      args: [{ model }],
      workflowIdConflictPolicy: 'USE_EXISTING',
      staticSummary: `Monitor of **${model}**`,
    });
    const set = await client.workflow.executeUpdateWithStart(setThresholdsUpdate, { args: [desired], startWorkflowOperation });
    return { status: 'started', detail: `${workflowId} with thresholds ${describeChange(set as unknown as Record<string, number>)}` };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError)
      return { status: 'failed', detail: `${workflowId} refused the thresholds: ${error.cause?.message ?? error.message}` };
    throw error;
  }
}

const scheduleResult = (r: { scheduleId: string; created: boolean; changed: boolean; describe: string }, how: string): PartResult => ({
  status: r.created ? 'created' : r.changed ? 'updated' : 'unchanged',
  detail: `${r.scheduleId}: ${r.describe}, ${how}`,
});

async function applyRetraining(client: Client, config: PerennialConfig, spec: ModelSpec): Promise<PartResult> {
  const model = spec.name;
  const scheduleId = scheduledRetrainId(model);
  const r = spec.retraining;
  if (!r) {
    // The retraining schedule exists only through the spec: a spec without the section removes it.
    try {
      await client.schedule.getHandle(scheduleId).delete();
      return { status: 'removed', detail: `${scheduleId}: the spec has no 'retraining' section` };
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
      return { status: 'absent', detail: `the spec has no 'retraining' section` };
    }
  }
  const { describe } = scheduleSpecOf(r.schedule);
  const input: ScheduledRetrainInput = { model, schedule: describe, requestedBy: scheduleId };
  const result = await applyWorkflowSchedule(client, config, {
    scheduleId,
    workflowType: 'ScheduledRetrain',
    input,
    schedule: r.schedule,
    summary: `Retraining of **${model}**`,
    note: `retraining of ${model}, under the spec's retraining`,
    overlap: r.overlap.toUpperCase() as Uppercase<typeof r.overlap>,
    catchupWindow: durationMs(r.catchupWindow)!,
    paused: r.paused,
  });
  return scheduleResult(result, `overlap ${r.overlap}, catch-up ${r.catchupWindow}${r.paused ? ', paused' : ''}`);
}

async function existing(client: Client, kind: ScheduleKind, model: string): Promise<string> {
  const found = (await modelSchedules(client, model)).find((s) => s.kind === kind);
  return found ? `${found.scheduleId} left as it is (${found.schedule})` : 'none';
}

/**
 * `perennial models apply <spec.yaml> [--json]`: publishes the spec, makes
 * sure the monitor runs with its thresholds, and creates or updates the
 * schedules it asks for (retraining, drift check, retention). Idempotent: the
 * same spec again changes nothing and says so per part. Exit codes: 0 applied;
 * 1 a part failed (the others applied); 2 bad usage or a bad spec.
 */
async function runApply(file: string, json: boolean, io: CliIo): Promise<number> {
  const spec = await loadModelSpecFile(file);
  const model = spec.name;
  const config = loadConfig();
  const store = S3Store.fromConfig(config);
  const parts: Record<string, PartResult> = { spec: await applySpec(store, spec) };
  const client = await connectClient(config);
  try {
    parts.monitor = await applyMonitor(client, config, spec);
    parts.retraining = await applyRetraining(client, config, spec);
    parts['drift-check'] = spec.monitoring?.drift
      ? scheduleResult(await applyDriftCheckSchedule(client, config, model, driftCheckPolicy(spec)), 'overlap skip')
      : { status: 'absent', detail: `not in the spec (monitoring.drift); ${await existing(client, 'drift-check', model)}` };
    parts.retention = spec.retention
      ? scheduleResult(await applyRetentionSchedule(client, config, model, retentionPolicy(spec)), 'overlap skip')
      : { status: 'absent', detail: `not in the spec (retention); ${await existing(client, 'retention', model)}` };
  } finally {
    await client.connection.close();
  }
  const failed = Object.values(parts).some((p) => p.status === 'failed');
  if (json) io.stdout(JSON.stringify({ model, file, parts }, null, 2));
  else {
    const changed = Object.values(parts).some((p) => !['unchanged', 'absent', 'failed'].includes(p.status));
    const failures = Object.entries(parts).filter(([, p]) => p.status === 'failed');
    const except = failures.length ? ` except ${failures.map(([part]) => part).join(', ')}` : '';
    io.stdout(`${model}: ${file} applied${except}${changed ? '' : ': nothing changed'}`);
    for (const [part, r] of Object.entries(parts)) (r.status === 'failed' ? io.stderr : io.stdout)(`  ${part.padEnd(12)} ${r.status}: ${r.detail}`);
    io.stdout(`Temporal UI: ${workflowUrl(config, monitorWorkflowId(model))}`);
  }
  return failed ? 1 : 0;
}

interface ModelRow {
  model: string;
  champion: string | null;
  versions: number;
  monitor: 'running' | 'not running';
  schedules: ScheduleRow[];
}

/** Runs `f` over `items`, `limit` at a time, in order. */
async function mapLimit<T, R>(items: T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await f(items[i]!);
      }
    }),
  );
  return out;
}

/** `perennial models list [--model m] [--json]`: every model in the store with its champion, versions, monitor and schedules. */
async function runList(model: string | undefined, json: boolean, io: CliIo): Promise<number> {
  const config = loadConfig();
  const store = S3Store.fromConfig(config);
  const registry = new Registry(store);
  const models = model ? [model] : await registry.listModels();
  const client = await connectClient(config);
  let rows: ModelRow[];
  try {
    rows = await mapLimit(models, 8, async (m): Promise<ModelRow> => {
      const [aliases, versions, schedules, monitor] = await Promise.all([
        registry.getAliases(m),
        registry.listVersions(m),
        modelSchedules(client, m),
        client.workflow
          .getHandle(monitorWorkflowId(m))
          .describe()
          .then(
            (d) => d.status.name === 'RUNNING',
            (error: unknown) => {
              if (error instanceof WorkflowNotFoundError) return false;
              throw error;
            },
          ),
      ]);
      return { model: m, champion: aliases.champion, versions: versions.length, monitor: monitor ? 'running' : 'not running', schedules };
    });
  } finally {
    await client.connection.close();
  }
  if (json) io.stdout(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) io.stdout(`no models in ${store.description} yet: 'perennial models apply <spec.yaml>' adds one`);
  else
    for (const r of rows) {
      io.stdout(`${r.model}: champion ${r.champion ?? '-'}, ${r.versions} version(s), monitor ${r.monitor}`);
      const kinds = new Set(r.schedules.map((s) => s.kind));
      for (const s of r.schedules) io.stdout(`  ${formatScheduleRow(s)}`);
      const missing = (Object.keys(SCHEDULE_KINDS) as ScheduleKind[]).filter((k) => !kinds.has(k));
      if (missing.length) io.stdout(`  no schedule: ${missing.join(', ')}`);
    }
  return 0;
}

/** `perennial models apply <spec.yaml> [--json]` and `perennial models list [--model m] [--json]`. */
export async function runModelsCommand(argv: string[], io: CliIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'apply' && sub !== 'list') throw new Error(`models needs 'apply <spec.yaml>' or 'list'${sub ? `, not '${sub}'` : ''}`);
  const { values, positionals } = parseCommandArgs(
    `models ${sub}`,
    rest,
    { json: { type: 'boolean', default: false }, ...(sub === 'list' ? { model: { type: 'string' } } : {}) },
    sub === 'apply',
  );
  if (sub === 'apply') {
    if (positionals.length !== 1)
      throw new Error(
        `models apply needs one spec file (YAML or JSON)${positionals.length ? `, not ${positionals.length}` : ''}: perennial models apply models/weather.yaml`,
      );
    return runApply(positionals[0]!, values.json, io);
  }
  const model = (values as { model?: string }).model;
  if (model !== undefined) checkName('model', model, '--model');
  return runList(model, values.json, io);
}
