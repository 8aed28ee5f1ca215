import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { tableSchema } from '../data/schema';
import { gateSpec, TASKS } from '../metrics';
import { modelParams } from '../model';
import { featureSpec } from '../preprocess';
import { quoteValue, SpecError } from '../errors';
import { cleanText, textProblem } from '../data/text';
import { NAME_RULES } from '../names';
import { releaseSpec } from './release-spec';
import { checkMonitoringColumns, monitoringSpec } from './monitoring-spec';
import { retrainingSpec } from './retraining-spec';

export { SpecError };

/** Which rows of the merged history a retraining uses. */
export const windowPolicy = z.discriminatedUnion('kind', [
  /** Everything ever ingested. */
  z.object({ kind: z.literal('all') }),
  /** The newest maxRows rows (by the time column). */
  z.object({ kind: z.literal('rows'), maxRows: z.number().int().min(10) }),
  /** Rows whose time is within `days` of the newest row. */
  z.object({ kind: z.literal('days'), days: z.number().int().min(1) }),
]);

/**
 * A place ingest pulls batches from on every run, besides the model's own
 * incoming/ prefix: the data files under a prefix of an S3 bucket (this
 * store's bucket unless named), one file at an HTTP(S) URL (fetched again
 * only when its ETag changed), or the model's joined feedback log.
 */
export const dataSource = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('s3'),
      name: z.string().regex(NAME_RULES.model.pattern, NAME_RULES.model.expected),
      prefix: z.string().min(1),
      bucket: z
        .string()
        .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 lower-case letters, digits, . and -)')
        .optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('http'),
      name: z.string().regex(NAME_RULES.model.pattern, NAME_RULES.model.expected),
      url: z
        .string()
        .url()
        .refine((u) => /^https?:\/\//i.test(u), 'an http:// or https:// URL'),
    })
    .strict(),
  /** The model's own joined feedback log (logs/<model>/feedback/): served inputs with the labels that came back. */
  z
    .object({
      kind: z.literal('feedback'),
      name: z.string().regex(NAME_RULES.model.pattern, NAME_RULES.model.expected),
      /** Only rows with a label (default true); false: flagged rows without one go to validate too, which quarantines them when the label may not be missing. */
      labelsOnly: z.boolean().optional(),
      /** Only feedback whose label arrived (its dt= day) within this many days of the run; default: all. */
      maxAgeDays: z.number().int().min(1).optional(),
    })
    .strict(),
]);
export type DataSource = z.infer<typeof dataSource>;

/**
 * Days of the prediction and feedback logs the model server reads back (src/serve/feedback.ts
 * lookbackDays: late labels join their prediction, a restarted server finds the feedback it wrote):
 * retention keeps at least these.
 */
export const MIN_LOG_DAYS = 30;
/**
 * Hours a run's staging and checkpoints may sit unchanged while the run is alive: a stage may take
 * over two hours between two writes (a long epoch, evaluation, the retry budget) before register.
 */
export const MIN_LEFTOVER_HOURS = 6;

/** A cron expression of five fields (minute hour day-of-month month day-of-week), as Temporal Schedules read it. */
const CRON = /^[0-9A-Za-z*?,/#-]+(\s+[0-9A-Za-z*?,/#-]+){4}$/;

/**
 * What the retention sweep (workflows/retention.ts) may delete and when it runs.
 * Optional: specs written before it hash as they did; a model without it is swept with the defaults.
 */
export const retentionSpec = z
  .object({
    /** 'daily', 'weekly', or a cron expression of five fields (UTC). */
    schedule: z
      .string()
      .superRefine((s, ctx) => {
        if (s === 'daily' || s === 'weekly' || CRON.test(s.trim())) return;
        ctx.addIssue({
          code: 'custom',
          message: `${quoteValue(s)} is not 'daily', 'weekly' or a cron expression of five fields (minute hour day-of-month month day-of-week, UTC), e.g. '30 3 * * *'`,
        });
      })
      .default('daily'),
    /** The newest versions whose data is kept (besides champion, previous, canary and a release in flight). */
    keepVersions: z.number().int().min(1).default(10),
    /** Snapshots no kept version trained on go after this many days. */
    snapshotDays: z.number().int().min(1).default(30),
    /** Prediction log partitions (dt=YYYY-MM-DD) older than this many days go. */
    predictionLogDays: z
      .number()
      .int()
      .min(MIN_LOG_DAYS, `at least ${MIN_LOG_DAYS}: the model server joins late labels with the prediction log of the last ${MIN_LOG_DAYS} days`)
      .default(90),
    /** Feedback log partitions (joined and unmatched) older than this many days go. */
    feedbackLogDays: z
      .number()
      .int()
      .min(MIN_LOG_DAYS, `at least ${MIN_LOG_DAYS}: the model server reads the feedback log of the last ${MIN_LOG_DAYS} days to write each label once`)
      .default(90),
    /** Evaluation, drift and retention reports older than this many days go (never the evaluation of a kept version). */
    reportDays: z.number().int().min(1).default(30),
    /** A run's staging and checkpoints go once their newest object is this many hours old (the run died). */
    leftoverHours: z
      .number()
      .min(MIN_LEFTOVER_HOURS, `at least ${MIN_LEFTOVER_HOURS}: a live run may write nothing to its staging or checkpoints for over two hours`)
      .default(24),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof retentionSpec>;

/** The spec's retention policy, its defaults filled in (a spec without the section gets them all). */
export function retentionPolicy(spec: { retention?: RetentionPolicy }): RetentionPolicy {
  return spec.retention ?? retentionSpec.parse({});
}

export const modelSpecSchema = z
  .object({
    name: z.string().regex(NAME_RULES.model.pattern, NAME_RULES.model.expected),
    description: z.string().optional(),
    task: z.enum(TASKS),
    label: z.string().min(1),
    data: z
      .object({
        /** Orders rows for the window and the time-based holdout. */
        timeColumn: z.string().min(1),
        window: windowPolicy.default({ kind: 'all' }),
        /** Share of a batch's rows that may be rejected before the whole batch is (0..1). */
        errorBudget: z.number().min(0).max(1).default(0.05),
        /** Further places ingest pulls batches from on every run (optional: specs written before it hash as they did). */
        sources: z
          .array(dataSource)
          .optional()
          .superRefine((sources, ctx) => {
            const seen = new Set<string>();
            sources?.forEach((source, i) => {
              if (seen.has(source.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `source ${quoteValue(source.name)} is named twice` });
              seen.add(source.name);
            });
            const feedback = (sources ?? []).map((s, i) => (s.kind === 'feedback' ? i : -1)).filter((i) => i >= 0);
            if (feedback.length > 1) {
              ctx.addIssue({
                code: 'custom',
                path: [feedback[1]!, 'kind'],
                message: 'only one source may be of kind feedback: two would deliver the same feedback rows, trained on twice',
              });
            }
          }),
      })
      .strict(),
    schema: tableSchema,
    features: featureSpec,
    model: modelParams.default(modelParams.parse({})),
    evaluation: z
      .object({
        /** Newest share of the snapshot held out for evaluation (time-based). */
        holdoutFraction: z.number().gt(0).lt(1).default(0.2),
        gate: gateSpec.default(gateSpec.parse({})),
      })
      .strict()
      .default({ holdoutFraction: 0.2, gate: gateSpec.parse({}) }),
    /** What the retention sweep may delete, and when it runs (optional: specs written before it hash as they did). */
    retention: retentionSpec.optional(),
    /** How a candidate is proven on live traffic before it becomes champion (optional: without it, promoted at once). */
    release: releaseSpec.optional(),
    /** How the model is watched in production: the scheduled drift check (optional: specs written before it hash as they did). */
    monitoring: monitoringSpec.optional(),
    /** Retraining on a Temporal Schedule (optional: specs written before it hash as they did). */
    retraining: retrainingSpec.optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const fields = new Map(spec.schema.fields.map((f) => [f.name, f]));
    const label = fields.get(spec.label);
    if (!label) ctx.addIssue({ code: 'custom', path: ['label'], message: `${quoteValue(spec.label)} is not a field of schema.fields` });
    else if (spec.task === 'classification' && (label.type !== 'category' || !label.values)) {
      ctx.addIssue({ code: 'custom', path: ['label'], message: `a classification label must be a schema field of type 'category' with its allowed 'values'` });
    } else if (spec.task === 'regression' && label.type !== 'number') {
      ctx.addIssue({ code: 'custom', path: ['label'], message: `a regression label must be a schema field of type 'number'` });
    }
    const loss = spec.release?.loss;
    if (loss !== undefined && (spec.task === 'classification') !== (loss === 'error')) {
      ctx.addIssue({
        code: 'custom',
        path: ['release', 'loss'],
        message: spec.task === 'classification' ? "a classifier's loss is 'error' (its 0/1 error)" : "a regression's loss is 'absolute' or 'squared'",
      });
    }
    if (!fields.has(spec.data.timeColumn))
      ctx.addIssue({ code: 'custom', path: ['data', 'timeColumn'], message: `${quoteValue(spec.data.timeColumn)} is not a field of schema.fields` });
    spec.features.forEach((feature, i) => {
      const field = fields.get(feature.name);
      if (!field) ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `${quoteValue(feature.name)} is not a field of schema.fields` });
      else if (feature.name === spec.label)
        ctx.addIssue({ code: 'custom', path: ['features', i, 'name'], message: `the label ${quoteValue(spec.label)} cannot also be a feature` });
      else if (feature.kind === 'numeric' && field.type !== 'number')
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'kind'],
          message: `${quoteValue(feature.name)} is a ${field.type} field; a numeric feature needs a number field`,
        });
      else if (feature.kind === 'date' && field.type !== 'date')
        ctx.addIssue({
          code: 'custom',
          path: ['features', i, 'kind'],
          message: `${quoteValue(feature.name)} is a ${field.type} field; a date feature needs a date field`,
        });
    });
    checkMonitoringColumns(spec, (issue) => ctx.addIssue({ code: 'custom', ...issue }));
  });

export type ModelSpec = z.infer<typeof modelSpecSchema>;

function describePath(path: PropertyKey[]): string {
  return (
    path.reduce<string>((out, part) => (typeof part === 'number' ? `${out}[${part}]` : out ? `${out}.${String(part)}` : String(part)), '') || '(top level)'
  );
}

/** Validates a parsed spec; every problem is reported with its field path and what is expected. */
export function parseModelSpec(value: unknown, source = 'model spec'): ModelSpec {
  const result = modelSpecSchema.safeParse(value);
  if (result.success) return result.data;
  throw new SpecError(
    source,
    result.error.issues.map((issue) => `${describePath(issue.path)}: ${issue.message}`),
  );
}

/** Reads a spec from a YAML or JSON file. */
export async function loadModelSpecFile(path: string): Promise<ModelSpec> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw new SpecError(path, [`cannot read the file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`]);
  }
  const problem = textProblem(bytes);
  if (problem) throw new SpecError(path, [problem.line === undefined ? problem.reason : `line ${problem.line}: ${problem.reason}`]);
  const text = bytes.toString('utf8').replace(/^\uFEFF/, '');
  let value: unknown;
  try {
    value = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    // The parser's first line says what and where; the excerpt under it would quote the file.
    const reason = (error as Error).message.split('\n')[0]!.replace(/:$/, '');
    throw new SpecError(path, [`not valid ${/\.json$/i.test(path) ? 'JSON' : 'YAML'}: ${cleanText(reason)}`]);
  }
  if (value === null || value === undefined)
    throw new SpecError(path, ['the file is empty: a spec needs at least name, task, label, data, schema and features']);
  return parseModelSpec(value, path);
}
