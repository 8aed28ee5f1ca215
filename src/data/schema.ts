import { z } from 'zod';
import { quoteValue } from '../errors';
import { isDateText, toNumber } from './cell-values';
import type { ColumnTable } from './columns';

/**
 * The schema a batch must meet. Written by hand in a model spec, or inferred
 * from a reference sample (inferSchema) and checked against new data.
 */
export const fieldSchema = z.discriminatedUnion('type', [
  z
    .object({
      name: z.string().min(1),
      type: z.literal('number'),
      min: z.number().optional(),
      max: z.number().optional(),
      integer: z.boolean().optional(),
      nullable: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      name: z.string().min(1),
      type: z.literal('category'),
      /** Allowed values; any string when absent. */
      values: z.array(z.string()).min(1).optional(),
      nullable: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      name: z.string().min(1),
      type: z.literal('date'),
      nullable: z.boolean().default(true),
    })
    .strict(),
  z
    .object({
      name: z.string().min(1),
      type: z.literal('string'),
      nullable: z.boolean().default(true),
    })
    .strict(),
]);

export const tableSchema = z
  .object({
    fields: z.array(fieldSchema).min(1),
    /** Largest share of missing values a column may have in one batch (0..1). */
    maxMissingRate: z.number().min(0).max(1).default(0.2),
  })
  .strict()
  .superRefine((schema, ctx) => {
    // What no batch could meet, or what would make one column two: refused here, not at every row.
    const names = new Set<string>();
    schema.fields.forEach((field, i) => {
      if (names.has(field.name)) ctx.addIssue({ code: 'custom', path: ['fields', i, 'name'], message: `field ${quoteValue(field.name)} is listed twice` });
      names.add(field.name);
      if (field.type === 'number' && field.min !== undefined && field.max !== undefined && field.min > field.max) {
        ctx.addIssue({ code: 'custom', path: ['fields', i, 'max'], message: `max ${field.max} is below min ${field.min}: no value could pass` });
      }
      if (field.type === 'category' && field.values) {
        const values = new Set<string>();
        const twice = field.values.find((v) => values.size === values.add(v).size);
        if (twice !== undefined) ctx.addIssue({ code: 'custom', path: ['fields', i, 'values'], message: `${quoteValue(twice)} is listed twice` });
      }
    });
  });

export type FieldSchema = z.infer<typeof fieldSchema>;
export type TableSchema = z.infer<typeof tableSchema>;

export { isDateText, toNumber };

export interface InferOptions {
  /** A text column with at most this many distinct values becomes a category with allowed values. */
  maxCategories?: number;
  /** Record observed min/max as limits (off by default: drifted data leaves the reference range). */
  strictRanges?: boolean;
}

/**
 * Infers types, allowed categories and (optionally) ranges from a reference
 * table read by the engine. Each distinct text value is looked at once (the
 * dictionary), so a reference of millions of rows costs one pass over codes.
 */
export function inferSchema(table: ColumnTable, options: InferOptions = {}): TableSchema {
  const maxCategories = options.maxCategories ?? 50;
  const rowCount = table.rows;
  let worstMissing = 0;
  const fields: FieldSchema[] = table.names
    .filter((name) => table.columns.has(name))
    .map((name): FieldSchema => {
      const column = table.columns.get(name)!;
      let present = 0;
      if (column.kind !== 'text') {
        let min = Infinity;
        let max = -Infinity;
        let allIntegers = true;
        for (const v of column.values) {
          if (Number.isNaN(v)) continue;
          present += 1;
          if (v < min) min = v;
          if (v > max) max = v;
          if (!Number.isInteger(v)) allIntegers = false;
        }
        worstMissing = Math.max(worstMissing, (rowCount - present) / Math.max(1, rowCount));
        const nullable = present < rowCount;
        if (column.kind === 'date' && present > 0) return { name, type: 'date', nullable };
        if (present > 0) {
          const field: FieldSchema = { name, type: 'number', nullable, integer: allIntegers };
          if (options.strictRanges) {
            field.min = min;
            field.max = max;
          }
          return field;
        }
        return { name, type: 'category', values: undefined, nullable };
      }
      const used = new Uint8Array(column.dictionary.length);
      for (const code of column.codes) {
        if (code < 0) continue;
        present += 1;
        used[code] = 1;
      }
      const values = column.dictionary.filter((_, k) => used[k] === 1);
      worstMissing = Math.max(worstMissing, (rowCount - present) / Math.max(1, rowCount));
      const nullable = present < rowCount;
      if (values.length > 0 && values.every(isDateText)) return { name, type: 'date', nullable };
      if (values.length <= maxCategories) return { name, type: 'category', values: values.length > 0 ? values.sort() : undefined, nullable };
      return { name, type: 'string', nullable };
    });
  return { fields, maxMissingRate: Math.min(1, Math.max(0.2, worstMissing * 2)) };
}
