/**
 * The activities of ReleaseWorkflow: the release's moves in the registry
 * (start, weight, end: each one compare-and-set write of aliases.json, which
 * the model servers follow), the analysis of a look (the labelled losses of
 * both arms from the feedback log, the candidate's guard metrics from
 * Prometheus), and the release record.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/activity';
import type { DuckDBConnection } from '@duckdb/node-api';
import { literal, queryRows, withConnection } from '../src/data/engine';
import { ReleaseRefusedError } from '../src/errors';
import type { PeriodReading } from '../src/release/guards';
import type { ArmStats, LossKind } from '../src/release/sequential';
import type { Aliases, ReleaseMode } from '../src/registry';
import { keys, putJson, type ObjectInfo, type ObjectStore } from '../src/store';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';
import { currentRun } from './run';

export interface StartReleaseInput {
  model: string;
  candidate: string;
  mode: ReleaseMode;
  weight: number;
  expectedChampion: string;
  reason: string;
  /** The release watches guards: they need Prometheus. */
  guards: number;
}

export interface ReleaseWeightInput {
  model: string;
  candidate: string;
  weight: number;
  reason: string;
}

export interface EndReleaseInput {
  model: string;
  candidate: string;
  outcome: 'promoted' | 'rolled-back';
  reason: string;
}

export interface AnalyzeReleaseInput {
  model: string;
  candidate: string;
  champion: string;
  mode: ReleaseMode;
  task: 'classification' | 'regression';
  loss: LossKind;
  /** Predictions made from then on count (the release's start). */
  since: string;
  /** The guards' period: the last this many seconds. */
  periodSeconds: number;
  /** How many guards the spec has: one reading each, candidate's error rate and p99 alike. */
  guards: number;
}

export interface AnalyzeReleaseOutput {
  totals: { candidate: ArmStats; champion: ArmStats };
  guards: PeriodReading[];
  /** Log parts read for this look. */
  parts: { feedback: number; predictions: number };
}

const EMPTY: ArmStats = { n: 0, mean: 0, m2: 0 };

/** The parts of a date-partitioned log (logs/<model>/<kind>/dt=YYYY-MM-DD/...) from the day of `since` on. */
async function partsSince(store: ObjectStore, prefix: string, since: string): Promise<ObjectInfo[]> {
  const day = since.slice(0, 10);
  return (await store.list(prefix)).filter((o) => o.key.endsWith('.parquet') && (/\/dt=(\d{4}-\d{2}-\d{2})\//.exec(o.key)?.[1] ?? '') >= day);
}

/** Where a worker keeps a release's log parts between looks: `<tmpdir>/perennial-release-parts-<model>-<candidate>-XXXXXX`. */
export const RELEASE_PARTS_PREFIX = 'perennial-release-parts-';
/**
 * A release's parts not looked at for this long go: the release ended (its end runs on the main queue, often in
 * another process), or its looks moved to another training worker. A look after that downloads them again.
 */
const RELEASE_PARTS_IDLE_MS = 3_600_000;

/**
 * Log parts as local files, kept between looks in this worker process: a look
 * downloads only the parts written since the last one (a part rewritten, by
 * its new ETag), not the whole release again; parts no longer listed are dropped.
 * The whole directory goes once no look has used it for a while (`idle`).
 */
class LocalParts {
  private dir: Promise<string> | undefined;
  private readonly files = new Map<string, { etag: string; path: string }>();
  private count = 0;
  private looks = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  /** `release`: `<model>-<candidate>`, in the directory's name (a person looking at the disk sees whose parts they are). */
  constructor(private readonly release: string) {}

  async paths(store: ObjectStore, listed: ObjectInfo[]): Promise<string[]> {
    this.dir ??= mkdtemp(join(tmpdir(), `${RELEASE_PARTS_PREFIX}${this.release}-`));
    const dir = await this.dir;
    const paths: string[] = [];
    for (const part of listed) {
      let file = this.files.get(part.key);
      if (!file || file.etag !== part.etag) {
        const path = join(dir, `${this.count++}.parquet`);
        await writeFile(path, await store.get(part.key));
        if (file) await rm(file.path, { force: true });
        file = { etag: part.etag, path };
        this.files.set(part.key, file);
      }
      paths.push(file.path);
    }
    return paths;
  }

  /** Forgets (and deletes) the parts of a release that is not looked at any more. */
  async keepOnly(keep: Set<string>): Promise<void> {
    for (const [key, file] of this.files) {
      if (keep.has(key)) continue;
      this.files.delete(key);
      await rm(file.path, { force: true });
    }
  }

  /** Runs one look with the parts kept; `idleMs` after the last look ends (none in progress), `onIdle`. */
  async look<T>(idleMs: number, onIdle: () => void, work: () => Promise<T>): Promise<T> {
    clearTimeout(this.idleTimer);
    this.looks += 1;
    try {
      return await work();
    } finally {
      this.looks -= 1;
      if (this.looks === 0) this.idleTimer = setTimeout(onIdle, idleMs).unref();
    }
  }

  /** Deletes the directory and everything in it. */
  async dispose(): Promise<void> {
    this.files.clear();
    if (this.dir) await rm(await this.dir, { recursive: true, force: true });
  }
}

/** The SQL of one labelled prediction's loss: `predicted` against `label` (text for a classifier, numbers for a regression). */
function lossSql(loss: LossKind, predicted: string, label: string): string {
  if (loss === 'error') return `CASE WHEN ${predicted} = ${label} THEN 0.0 ELSE 1.0 END`;
  if (loss === 'absolute') return `abs(${predicted} - ${label})`;
  return `(${predicted} - ${label}) * (${predicted} - ${label})`;
}

const armStats = (row: { n: number; mean: number | null; m2: number | null } | undefined): ArmStats =>
  row && row.n > 0 ? { n: row.n, mean: row.mean ?? 0, m2: Math.max(0, row.m2 ?? 0) } : EMPTY;

/**
 * Each arm's labelled losses since the release began. canary and ab: every
 * labelled prediction of the two versions made since then. shadow: the
 * candidate's shadow predictions paired by `shadow_of` with the label that came
 * back for the champion's answer to the same row, and the champion's losses on
 * those same rows (a paired comparison on identical traffic).
 */
async function armTotals(connection: DuckDBConnection, input: AnalyzeReleaseInput, feedback: string[], predictions: string[]) {
  const files = (paths: string[]) => `[${paths.map(literal).join(', ')}]`;
  const predictedOf = (alias: string) => (input.task === 'classification' ? `${alias}.predicted_label` : `${alias}.prediction`);
  const since = `TIMESTAMPTZ ${literal(input.since)}`;
  const labelled = `SELECT * FROM read_parquet(${files(feedback)}, union_by_name = true) WHERE model = ${literal(input.model)} AND label IS NOT NULL AND prediction_time >= ${since}`;
  let sql: string;
  if (input.mode === 'shadow') {
    if (predictions.length === 0) return { candidate: EMPTY, champion: EMPTY };
    const shadowOutput = input.task === 'classification' ? 's.label' : 's.prediction';
    sql = `WITH f AS (${labelled} AND version = ${literal(input.champion)}),
      s AS (SELECT * FROM read_parquet(${files(predictions)}, union_by_name = true) WHERE arm = 'shadow' AND version = ${literal(input.candidate)}),
      pairs AS (SELECT ${lossSql(input.loss, shadowOutput, 'f.label')} AS candidate_loss, ${lossSql(input.loss, predictedOf('f'), 'f.label')} AS champion_loss
                FROM f JOIN s ON s.shadow_of = f.prediction_id)
      SELECT 'candidate' AS arm, count(*)::INTEGER AS n, avg(candidate_loss) AS mean, var_pop(candidate_loss) * count(*) AS m2 FROM pairs
      UNION ALL SELECT 'champion', count(*)::INTEGER, avg(champion_loss), var_pop(champion_loss) * count(*) FROM pairs`;
  } else {
    sql = `SELECT CASE WHEN version = ${literal(input.candidate)} THEN 'candidate' ELSE 'champion' END AS arm, count(*)::INTEGER AS n,
        avg(loss) AS mean, var_pop(loss) * count(*) AS m2
      FROM (SELECT version, ${lossSql(input.loss, predictedOf('f'), 'f.label')} AS loss FROM (${labelled}) f
            WHERE version IN (${literal(input.candidate)}, ${literal(input.champion)}))
      GROUP BY 1`;
  }
  const rows = await queryRows<{ arm: string; n: number; mean: number | null; m2: number | null }>(connection, sql);
  return { candidate: armStats(rows.find((r) => r.arm === 'candidate')), champion: armStats(rows.find((r) => r.arm === 'champion')) };
}

interface PromResult {
  status: string;
  error?: string;
  data?: { result: { value: [number, string] }[] };
}

/** One instant query against Prometheus's HTTP API; its single value, or null when it returned no series. */
async function promQuery(url: string, query: string): Promise<number | null> {
  const response = await fetch(`${url.replace(/\/$/, '')}/api/v1/query?query=${encodeURIComponent(query)}`, { signal: AbortSignal.timeout(10_000) });
  const body = (await response.json()) as PromResult;
  if (body.status !== 'success') throw new Error(`Prometheus at ${url} answered ${response.status}: ${body.error ?? 'no error text'} (query ${query})`);
  const value = body.data?.result[0]?.value[1];
  return value === undefined ? null : Number(value);
}

/**
 * The candidate's requests, server errors (5xx: a client's 4xx is not the
 * version's fault) and p99 latency over the period, from the model servers'
 * metrics as Prometheus scraped them. A shadow candidate answers no request:
 * its scoring counts (shadow requests, failures, duration).
 */
async function guardReading(url: string, input: AnalyzeReleaseInput): Promise<PeriodReading> {
  const where = `model=${JSON.stringify(input.model)},version=${JSON.stringify(input.candidate)}`;
  const window = `[${Math.max(1, Math.round(input.periodSeconds))}s]`;
  try {
    const [requests, errors, p99Seconds] =
      input.mode === 'shadow'
        ? await Promise.all([
            promQuery(url, `sum(increase(perennial_serve_shadow_requests_total{${where}}${window}))`),
            promQuery(url, `sum(increase(perennial_serve_shadow_requests_total{${where},outcome="failed"}${window}))`),
            promQuery(url, `histogram_quantile(0.99, sum by (le) (increase(perennial_serve_shadow_duration_seconds_bucket{${where}}${window})))`),
          ])
        : await Promise.all([
            promQuery(url, `sum(increase(perennial_serve_requests_total{${where},protocol=~"v1|v2"}${window}))`),
            promQuery(url, `sum(increase(perennial_serve_requests_total{${where},protocol=~"v1|v2",code=~"5.."}${window}))`),
            promQuery(
              url,
              `histogram_quantile(0.99, sum by (le) (increase(perennial_serve_request_duration_seconds_bucket{${where},protocol=~"v1|v2"}${window})))`,
            ),
          ]);
    return {
      requests: Math.round(requests ?? 0),
      errors: Math.round(errors ?? 0),
      p99Ms: p99Seconds === null || !Number.isFinite(p99Seconds) ? null : p99Seconds * 1000,
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

export function createReleaseActivities({ store, registry, clock, prometheusUrl, releasePartsIdleMs = RELEASE_PARTS_IDLE_MS }: ActivityDeps) {
  // One cache per release: looks of several releases on this worker never evict each other's parts.
  const cached = new Map<string, LocalParts>();
  /** One look of `model`/`candidate`'s release with its kept parts; they go after `releasePartsIdleMs` without a look. */
  const withParts = <T>(model: string, candidate: string, work: (parts: LocalParts) => Promise<T>): Promise<T> => {
    const release = `${model}-${candidate}`;
    const parts = cached.get(release) ?? new LocalParts(release);
    cached.set(release, parts);
    const forget = () => {
      if (cached.get(release) === parts) cached.delete(release);
      // Outside any activity (a timer): the worker's console, not the activity logger.
      parts.dispose().catch((error: unknown) => console.warn(`perennial worker: could not remove the log parts kept for release ${release}: ${String(error)}`));
    };
    return parts.look(releasePartsIdleMs, forget, () => work(parts));
  };
  const by = () => {
    const { workflowId, runId } = currentRun();
    return `${workflowId}/${runId}`;
  };
  /** The registry's refusals are decisions the workflow reports, not failures to retry. */
  const refusalsAreFinal = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof ReleaseRefusedError)
        throw ApplicationFailure.create({ type: error.name, message: error.message, nonRetryable: true, details: [{ kind: error.kind }] });
      throw error;
    }
  };

  return {
    /** The candidate takes its first share of traffic; refused when the champion moved or another release is in flight. */
    startRelease: (input: StartReleaseInput): Promise<Aliases> =>
      refusalsAreFinal(() => {
        if (input.guards > 0 && !prometheusUrl) {
          throw new ReleaseRefusedError(
            input.model,
            input.candidate,
            'bad-input',
            `the spec's release has ${input.guards} guard(s), read from Prometheus: set PERENNIAL_PROMETHEUS_URL on the workers (e.g. http://prometheus:9090), or remove release.guards`,
          );
        }
        return registry.startRelease(input.model, {
          candidate: input.candidate,
          mode: input.mode,
          weight: input.weight,
          expectedChampion: input.expectedChampion,
          by: by(),
          now: clock(),
          reason: input.reason,
        });
      }),

    setReleaseWeight: (input: ReleaseWeightInput): Promise<Aliases> =>
      refusalsAreFinal(() =>
        registry.setReleaseWeight(input.model, { candidate: input.candidate, weight: input.weight, by: by(), now: clock(), reason: input.reason }),
      ),

    /** promoted: the candidate becomes champion in one write; rolled-back: every request on the champion again. Idempotent. */
    endRelease: (input: EndReleaseInput): Promise<Aliases> =>
      refusalsAreFinal(() =>
        registry.endRelease(input.model, { candidate: input.candidate, outcome: input.outcome, by: by(), now: clock(), reason: input.reason }),
      ),

    /** One look: both arms' labelled losses since the release began, and one guard reading per guard. */
    analyzeRelease: (input: AnalyzeReleaseInput): Promise<AnalyzeReleaseOutput> =>
      withHeartbeat(async () => {
        const feedback = await partsSince(store, keys.feedbackLogs(input.model), input.since);
        const predictions = input.mode === 'shadow' ? await partsSince(store, keys.predictionLogs(input.model), input.since) : [];
        const totals = await withParts(input.model, input.candidate, async (local) => {
          await local.keepOnly(new Set([...feedback, ...predictions].map((o) => o.key)));
          if (feedback.length === 0) return { candidate: EMPTY, champion: EMPTY };
          const [f, p] = [await local.paths(store, feedback), await local.paths(store, predictions)];
          return withConnection((connection) => armTotals(connection, input, f, p));
        });
        const reading: PeriodReading | null =
          input.guards > 0
            ? prometheusUrl
              ? await guardReading(prometheusUrl, input)
              : { error: 'PERENNIAL_PROMETHEUS_URL is not set on the workers' }
            : null;
        return {
          totals,
          guards: Array.from({ length: input.guards }, () => reading!),
          parts: { feedback: feedback.length, predictions: predictions.length },
        };
      }),

    /** The release record (models/<model>/releases/<version>.json): steps, looks, analysis, verdict. */
    async recordRelease(input: { model: string; candidate: string; record: unknown }): Promise<string> {
      const key = keys.release(input.model, input.candidate);
      await putJson(store, key, input.record);
      return key;
    },
  };
}
