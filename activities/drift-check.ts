/**
 * The side effects of the drift check (workflows/drift-check.ts): read the
 * champion's training snapshot (the reference) and the prediction log of the
 * window (the current sample), run the drift engine with the spec's options,
 * and write the JSON and HTML reports. The rules are the drift engine's
 * (src/drift, pure) and the spec's (src/spec/monitoring-spec.ts).
 *
 * Memory stays bounded whatever the size of the log: the log's parts are
 * downloaded to a local directory one at a time per lane (a part is at most
 * `perennial serve --log-rows` rows), DuckDB scans them from disk reading
 * only `time`, `arm` and the `inputs` fields compared, and draws a reservoir
 * sample of `maxRows` rows (its memory is the reservoir, under DuckDB's own
 * memory limit); only that sample comes out into JavaScript, as typed
 * columns. The reference is sampled the same way from the snapshot file.
 *
 * For a classifier whose version has a CBPE calibration (fitted on its
 * holdout at evaluate time, src/monitor/cbpe.ts), the `probabilities` of the
 * rows the champion answered in the window (sampled the same way, one typed
 * column per class) give its estimated accuracy and macro F1 before labels
 * arrive: `estimated` in the signal and the report.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { DuckDBTypeId } from '@duckdb/node-api';
import { log } from '@temporalio/activity';
import type { Column } from '../src/data';
import { ident, literal, queryColumns, queryRows, withConnection } from '../src/data/engine';
import type { ColumnSample, DriftReport, Sample } from '../src/drift';
import { computeDrift } from '../src/drift';
import { renderHtml, renderJson, sortColumns } from '../src/drift/report';
import { DataError } from '../src/errors';
import { estimatePerformance, type CbpeCalibration } from '../src/monitor/cbpe';
import { checkName } from '../src/names';
import { readCalibration } from '../src/registry';
import { loadPublishedSpec, parseModelSpec, readPublishedSpecBytes } from '../src/spec';
import { driftCheckPolicy, driftColumns, type DriftCheckPolicy } from '../src/spec/monitoring-spec';
import { keys, withLocalFiles, type ObjectStore } from '../src/store';
import type { DriftSignal, EstimatedPerformance } from '../src/temporal/monitor-contract';
import type { ActivityDeps } from './deps';
import { withHeartbeat } from './heartbeat';

export interface DriftCheckInput {
  model: string;
  /** The time the check is made as of (ISO): the window ends here, and the reports are named by it. The workflow passes its own time, so a retry writes the same keys. */
  at: string;
}

/** A column the check could not compare, and why. */
export interface LeftOutColumn {
  name: string;
  reason: string;
}

export interface DriftCheckOutput {
  /** 'skipped': nothing was compared (no champion, too few rows in the window), for `reason`. */
  status: 'checked' | 'skipped';
  reason?: string;
  champion: string | null;
  /** The prediction log compared: [from, to), `hours` long. */
  window: { from: string; to: string; hours: number };
  /** Prediction log parts read. */
  parts: number;
  rows: {
    /** Rows of the log in the window (shadow rows, copies of champion rows scored by a shadow candidate, not counted). */
    window: number;
    /** Rows of the window compared: all of them, or a sample of maxRows. */
    current: number;
    /** Rows of the champion's snapshot compared: all of them, or a sample of maxRows. */
    reference: number;
    /** Rows in the champion's snapshot. */
    snapshot: number;
    /** The cap on either sample (the spec's maxRows). */
    maxRows: number;
  };
  /** What the monitor is told (signal `drift`); absent when skipped. */
  signal?: DriftSignal;
  /** The columns that drifted, most drifted first. */
  drifted?: string[];
  /** Columns in the report (testable or not). */
  columns?: number;
  /** The JSON report (also signal.reportKey) and the HTML one beside it. */
  reportKey?: string;
  htmlKey?: string;
  leftOut: LeftOutColumn[];
  /** Classification: CBPE over the champion's rows of the window, or why there is none. */
  estimate?: DriftCheckEstimate;
}

/** Performance estimated before labels (CBPE) for the champion over the window: `estimated`, or the `reason` there is none. */
export interface DriftCheckEstimate {
  version: string;
  /** Rows the champion answered in the window (the estimate is over all of them, or a sample of maxRows). */
  championRows: number;
  estimated?: EstimatedPerformance;
  reason?: string;
}

/** The JSON report: the drift engine's report as `perennial drift --json` writes it, and what was compared. */
export interface DriftCheckReport extends DriftReport {
  check: {
    model: string;
    at: string;
    champion: string;
    reference: { snapshotKey: string; rows: number; compared: number };
    current: { window: DriftCheckOutput['window']; parts: number; rows: number; compared: number };
    policy: DriftCheckPolicy;
    leftOut: LeftOutColumn[];
    estimate?: DriftCheckEstimate;
  };
}

/** Downloads at once. */
const PARALLEL = 8;
/** The reservoir's seed: the same rows give the same sample. */
const SAMPLE_SEED = 20_260_101;

type Compared = { name: string; type: 'numerical' | 'categorical' }[];

function partDays(from: Date, to: Date): Date[] {
  const days: Date[] = [];
  const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
  for (; day.getTime() < to.getTime(); day.setUTCDate(day.getUTCDate() + 1)) days.push(new Date(day));
  return days;
}

/** Runs `work` over `items`, `limit` at a time. */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i]!, i);
    }
  });
  await Promise.all(lanes);
}

/** A column out of the engine as the drift engine takes it. */
function toSample(columns: Compared, read: Map<string, Column>): Sample {
  return {
    columns: columns.map(({ name, type }): ColumnSample => {
      const column = read.get(name)!;
      if (type === 'numerical') {
        if (column.kind === 'text') throw new Error(`engine: ${name} came out as text, cast to DOUBLE`);
        return { name, type, values: column.values };
      }
      if (column.kind !== 'text') throw new Error(`engine: ${name} came out as numbers, cast to VARCHAR`);
      const values = new Array<string | null>(column.codes.length);
      for (let i = 0; i < column.codes.length; i++) {
        const code = column.codes[i]!;
        values[i] = code < 0 ? null : column.dictionary[code]!;
      }
      return { name, type, values };
    }),
  };
}

const cast = (sql: string, type: 'numerical' | 'categorical') => `CAST(${sql} AS ${type === 'numerical' ? 'DOUBLE' : 'VARCHAR'})`;
const sampled = (select: string, rows: number, maxRows: number) =>
  rows > maxRows ? `SELECT * FROM (${select}) AS w USING SAMPLE reservoir(${maxRows} ROWS) REPEATABLE (${SAMPLE_SEED})` : select;

/** The rows of the prediction log in the window that a client received (not shadow rows), the compared inputs only. */
async function readWindow(
  connection: DuckDBConnection,
  files: string[],
  window: { from: string; to: string },
  columns: Compared,
  maxRows: number,
): Promise<{ rows: number; sample: Sample; missing: LeftOutColumn[] }> {
  const relation = `read_parquet([${files.map(literal).join(', ')}], union_by_name = true)`;
  // What the parts hold (an input the served versions never had is in none of them; parts written before releases have no shadow_of).
  const shape = await connection.run(`SELECT * FROM ${relation} LIMIT 0`);
  const names = shape.columnNames();
  const inputsType = shape.columnTypes()[names.indexOf('inputs')];
  const fields = new Set(inputsType?.typeId === DuckDBTypeId.STRUCT ? inputsType.entryNames : []);
  const missing = columns.filter((c) => !fields.has(c.name)).map((c) => ({ name: c.name, reason: 'not in the prediction log of the window' }));
  const present = columns.filter((c) => fields.has(c.name));
  const where = [
    `time >= CAST(${literal(window.from)} AS TIMESTAMPTZ)`,
    `time < CAST(${literal(window.to)} AS TIMESTAMPTZ)`,
    ...(names.includes('arm') ? [`arm IS DISTINCT FROM 'shadow'`] : []),
  ].join(' AND ');
  const [counted] = await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation} WHERE ${where}`);
  const rows = counted?.n ?? 0;
  if (present.length === 0 || rows === 0) return { rows, sample: { columns: [] }, missing };
  const select = `SELECT ${present.map((c) => `${cast(`inputs.${ident(c.name)}`, c.type)} AS ${ident(c.name)}`).join(', ')} FROM ${relation} WHERE ${where}`;
  let read;
  try {
    read = await queryColumns(connection, sampled(select, rows, maxRows));
  } catch (error) {
    throw new DataError(`the prediction log's inputs cannot be read as the champion's features: ${(error as Error).message.split('\n')[0]}`, {
      source: `prediction log ${window.from} to ${window.to}`,
    });
  }
  return { rows, sample: toSample(present, read.columns), missing };
}

/**
 * CBPE over the rows the champion answered in the window (arm champion, its
 * version): one DOUBLE column per class out of the `probabilities` STRUCT,
 * sampled down to maxRows, then the estimate. A log without what it needs
 * gives the reason instead.
 */
async function estimateWindow(
  connection: DuckDBConnection,
  files: string[],
  window: { from: string; to: string },
  champion: string,
  calibration: CbpeCalibration,
  maxRows: number,
): Promise<DriftCheckEstimate> {
  const relation = `read_parquet([${files.map(literal).join(', ')}], union_by_name = true)`;
  const shape = await connection.run(`SELECT * FROM ${relation} LIMIT 0`);
  const names = shape.columnNames();
  const type = shape.columnTypes()[names.indexOf('probabilities')];
  const none = (reason: string, championRows = 0): DriftCheckEstimate => ({ version: champion, championRows, reason });
  if (type?.typeId !== DuckDBTypeId.STRUCT)
    return none('the prediction log of the window has no probabilities (parts written before the server logged them, or not a classifier)');
  const classes = calibration.classes;
  const absent = classes.filter((c) => !type.entryNames.includes(c));
  if (absent.length > 0) return none(`the prediction log's probabilities have no class ${absent.map((c) => `'${c}'`).join(', ')} of ${champion}'s calibration`);
  const where = [
    `time >= CAST(${literal(window.from)} AS TIMESTAMPTZ)`,
    `time < CAST(${literal(window.to)} AS TIMESTAMPTZ)`,
    ...(names.includes('arm') ? [`arm = 'champion'`] : []),
    `version = ${literal(champion)}`,
    ...classes.map((c) => `probabilities.${ident(c)} IS NOT NULL`),
  ].join(' AND ');
  const [counted] = await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation} WHERE ${where}`);
  const championRows = counted?.n ?? 0;
  if (championRows === 0) return none(`no row of the window was answered by the champion ${champion} with probabilities`);
  const select = `SELECT ${classes.map((c, j) => `CAST(probabilities.${ident(c)} AS DOUBLE) AS p${j}`).join(', ')} FROM ${relation} WHERE ${where}`;
  const read = await queryColumns(connection, sampled(select, championRows, maxRows));
  // Row-major, as the estimate takes them: rows × classes numbers, never row objects.
  const k = classes.length;
  const probabilities = new Float64Array(read.rows * k);
  classes.forEach((_, j) => {
    const column = read.columns.get(`p${j}`);
    if (column?.kind !== 'number') throw new Error(`engine: p${j} came out as ${column?.kind}, cast to DOUBLE`);
    for (let r = 0; r < read.rows; r++) probabilities[r * k + j] = column.values[r]!;
  });
  try {
    const estimate = estimatePerformance(calibration, probabilities, classes, `prediction log ${window.from} to ${window.to}, champion ${champion}`);
    const { accuracy, macroF1 } = calibration.reference;
    return { version: champion, championRows, estimated: { version: champion, ...estimate, reference: { accuracy, macroF1 } } };
  } catch (error) {
    if (error instanceof DataError) return none((error as Error).message, championRows);
    throw error;
  }
}

/** The champion's snapshot (Parquet), the compared columns only, sampled down to maxRows. */
async function readReference(
  connection: DuckDBConnection,
  path: string,
  key: string,
  columns: Compared,
  maxRows: number,
): Promise<{ rows: number; sample: Sample }> {
  const relation = `read_parquet(${literal(path)})`;
  try {
    const [counted] = await queryRows<{ n: number }>(connection, `SELECT count(*) AS n FROM ${relation}`);
    const rows = counted?.n ?? 0;
    const select = `SELECT ${columns.map((c) => `${cast(ident(c.name), c.type)} AS ${ident(c.name)}`).join(', ')} FROM ${relation}`;
    const read = await queryColumns(connection, sampled(select, rows, maxRows));
    return { rows, sample: toSample(columns, read.columns) };
  } catch (error) {
    throw new DataError(`the snapshot cannot be read as the champion's features: ${(error as Error).message.split('\n')[0]}`, { source: key });
  }
}

/** The log's parts whose day partition meets the window (rows are filtered by time after). */
async function windowParts(store: ObjectStore, model: string, from: Date, to: Date): Promise<string[]> {
  const parts: string[] = [];
  for (const day of partDays(from, to)) {
    for (const o of await store.list(keys.predictionLogDay(model, day))) if (o.key.endsWith('.parquet')) parts.push(o.key);
  }
  return parts;
}

const rowsCompared = (sample: Sample) => sample.columns[0]?.values.length ?? 0;

export function createDriftCheckActivities({ store, registry }: ActivityDeps) {
  return {
    /**
     * One drift check as of `at`: the champion's training snapshot against the
     * prediction log of the spec's window before `at`. Skipped (with the
     * reason, nothing written) without a champion or with fewer than minRows
     * rows in the window. Writes the report as JSON and HTML
     * (keys.driftReport(model, at, ...)); the same `at` writes the same keys.
     */
    checkDrift: (input: DriftCheckInput): Promise<DriftCheckOutput> =>
      withHeartbeat(async () => {
        const { model } = input;
        checkName('model', model);
        const at = new Date(input.at);
        if (Number.isNaN(at.getTime())) throw new DataError(`'${input.at}' is not an ISO 8601 time`, { source: 'drift check input' });
        // The options are the spec in force's (SpecNotFoundError without one: not retried).
        const policy = driftCheckPolicy((await loadPublishedSpec(store, model)).spec);
        const from = new Date(at.getTime() - policy.window * 3_600_000);
        const window = { from: from.toISOString(), to: at.toISOString(), hours: policy.window };
        const rows = { window: 0, current: 0, reference: 0, snapshot: 0, maxRows: policy.maxRows };
        const skipped = (reason: string, champion: string | null, parts = 0, leftOut: LeftOutColumn[] = []): DriftCheckOutput => {
          log.info('Drift check skipped', { model, reason });
          return { status: 'skipped', reason, champion, window, parts, rows, leftOut };
        };

        const champion = (await registry.getAliases(model)).champion;
        if (!champion) return skipped('no champion: no model serves predictions yet', null);
        const lineage = await registry.getLineage(model, champion);
        if (!lineage) throw new DataError(`the champion ${champion} has no lineage.json`, { source: keys.versionFile(model, champion, 'lineage.json') });
        // The features are those of the model that serves: the spec the champion was trained with.
        const where = keys.publishedSpec(model, lineage.spec.sha256);
        const trainedWith = parseModelSpec(JSON.parse((await readPublishedSpecBytes(store, model, lineage.spec.sha256)).toString('utf8')), where);
        const { columns, leftOut } = driftColumns(trainedWith.features, policy);
        if (columns.length === 0) return skipped(`no column to compare (${leftOut.map((c) => `${c.name}: ${c.reason}`).join('; ')})`, champion, 0, leftOut);
        const snapshotKey = lineage.data.snapshotKey;
        if (!/\.parquet$/i.test(snapshotKey)) {
          throw new DataError('a CSV snapshot (written before Parquet snapshots): retrain the model to give its champion a Parquet snapshot', {
            source: snapshotKey,
          });
        }

        // CBPE's calibration, stored with the version at evaluate time; a version registered before has none (said in the report).
        const calibrated = lineage.task === 'classification' ? await readCalibration(registry, model, champion) : null;

        const partKeys = await windowParts(store, model, from, at);
        if (partKeys.length === 0) return skipped(`no prediction log in the ${policy.window} h before ${window.to}`, champion);

        return withLocalFiles(store, async (files) => {
          const paths: string[] = new Array<string>(partKeys.length);
          await forEachLimited(partKeys, PARALLEL, async (key, i) => {
            paths[i] = await files.download(key);
          });
          const checked = await withConnection(async (connection) => {
            const current = await readWindow(connection, paths, window, columns, policy.maxRows);
            rows.window = current.rows;
            if (current.rows < policy.minRows)
              return { skip: `${current.rows} row(s) in the ${policy.window} h before ${window.to}, fewer than minRows (${policy.minRows})` };
            const compared = columns.filter((c) => !current.missing.some((m) => m.name === c.name));
            if (compared.length === 0) return { skip: `none of the columns is in the prediction log of the window (${columns.map((c) => c.name).join(', ')})` };
            const snapshot = await files.download(snapshotKey, lineage.data.snapshotFileSha256 ?? lineage.data.snapshotSha256);
            const reference = await readReference(connection, snapshot, snapshotKey, compared, policy.maxRows);
            const estimate = !calibrated
              ? undefined
              : calibrated.calibration
                ? await estimateWindow(connection, paths, window, champion, calibrated.calibration, policy.maxRows)
                : { version: champion, championRows: 0, reason: calibrated.reason };
            return { current, reference, estimate };
          });
          if ('skip' in checked) return skipped(checked.skip!, champion, partKeys.length, leftOut);
          const { current, reference, estimate } = checked;
          const allLeftOut = [...leftOut, ...current.missing];
          rows.current = rowsCompared(current.sample);
          rows.reference = rowsCompared(reference.sample);
          rows.snapshot = reference.rows;
          if (rows.reference === 0) throw new DataError('the snapshot has no rows', { source: snapshotKey });

          const report = await computeDrift(reference.sample, current.sample, {
            method: policy.method,
            driftShare: policy.driftShare,
            ...(policy.threshold !== undefined ? { threshold: policy.threshold } : {}),
            seed: SAMPLE_SEED,
            cache: false,
          });
          const reportKey = keys.driftReport(model, at, 'json');
          const htmlKey = keys.driftReport(model, at, 'html');
          const full: DriftCheckReport = {
            ...report,
            check: {
              model,
              at: window.to,
              champion,
              reference: { snapshotKey, rows: reference.rows, compared: rows.reference },
              current: { window, parts: partKeys.length, rows: rows.window, compared: rows.current },
              policy,
              leftOut: allLeftOut,
              ...(estimate ? { estimate } : {}),
            },
          };
          const sampleNote = (n: number, of: number) => (n < of ? `, a random sample of ${n}` : '');
          const html = renderHtml(report, {
            title: `Drift check of ${model}: champion ${champion} vs the last ${policy.window} h of predictions`,
            referenceName: `champion ${champion}'s training snapshot ${snapshotKey} (${reference.rows} rows${sampleNote(rows.reference, reference.rows)})`,
            currentName: `prediction log ${window.from} to ${window.to} (${rows.window} rows in ${partKeys.length} part(s)${sampleNote(rows.current, rows.window)})`,
            ...(estimate ? { estimate } : {}),
          });
          await store.put(reportKey, renderJson(full), { contentType: 'application/json' });
          await store.put(htmlKey, html, { contentType: 'text/html; charset=utf-8' });

          const testable = report.columns.filter((c) => c.testable && c.statistic !== null);
          const signal: DriftSignal = {
            share: report.share,
            drift: report.drift,
            columns: testable.map((c) => ({ name: c.name, method: c.method, statistic: c.statistic!, p_value: c.p_value, drift: c.drift })),
            reportKey,
            ...(estimate?.estimated ? { estimated: estimate.estimated } : {}),
          };
          const drifted = sortColumns(report.columns)
            .filter((c) => c.drift)
            .map((c) => c.name);
          log.info('Drift check done', { model, champion, share: report.share, drift: report.drift, drifted, rows, reportKey, estimate });
          return {
            status: 'checked',
            champion,
            window,
            parts: partKeys.length,
            rows,
            signal,
            drifted,
            columns: report.columns.length,
            reportKey,
            htmlKey,
            leftOut: allLeftOut,
            ...(estimate ? { estimate } : {}),
          } satisfies DriftCheckOutput;
        });
      }),
  };
}
