import { z } from 'zod';

/** Date parts a date feature can be turned into (cyclic parts give a sin and a cos column). */
export const datePart = z.enum(['month_cyclic', 'dayofyear_cyclic', 'dayofweek_cyclic', 'hour_cyclic', 'year']);
export type DatePart = z.infer<typeof datePart>;

export const numericFeature = z
  .object({
    name: z.string().min(1),
    kind: z.literal('numeric'),
    /** Value put in place of a missing one: the training mean, median, or a constant. */
    impute: z.union([z.enum(['mean', 'median']), z.number().finite()]).default('median'),
    /** 'standard': (x - mean) / std with the population std of the (imputed) training column. */
    scale: z.enum(['standard', 'none']).default('standard'),
  })
  .strict();

export const categoricalFeature = z
  .object({
    name: z.string().min(1),
    kind: z.literal('categorical'),
    /** Value put in place of a missing one: the most frequent training value or a constant text. */
    impute: z.string().min(1).default('most_frequent'),
    /** Keep the N most frequent categories (ties: alphabetical); the rest, and unseen ones, go to '__other__'. */
    maxCategories: z.number().int().min(1).optional(),
  })
  .strict();

export const dateFeature = z
  .object({
    name: z.string().min(1),
    kind: z.literal('date'),
    parts: z.array(datePart).min(1),
  })
  .strict();

export const featureSchema = z.discriminatedUnion('kind', [numericFeature, categoricalFeature, dateFeature]);

/** The list of input features of a model (embedded in the model spec). */
export const featureSpec = z
  .array(featureSchema)
  .min(1)
  .superRefine((features, ctx) => {
    const seen = new Set<string>();
    features.forEach((f, i) => {
      if (seen.has(f.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `feature '${f.name}' is listed twice` });
      seen.add(f.name);
    });
  });

/** What a user writes (defaults optional). */
export type FeatureSpecInput = z.input<typeof featureSpec>;

/** Name of the slot rare and unseen categories fall into. */
export const OTHER = '__other__';
