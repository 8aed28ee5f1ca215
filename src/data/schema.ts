import { z } from 'zod';
import type { RawTable } from './table';

/**
 * The schema a batch must meet. Written by hand in a model spec, or inferred
 * from a reference sample (inferSchema) and checked against new data.
 */
export const fieldSchema = z.discriminatedUnion('type', [
  z.object({
    name: z.string().min(1),
    type: z.literal('number'),
    min: z.number().optional(),
    max: z.number().optional(),
    integer: z.boolean().optional(),
    nullable: z.boolean().default(true),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('category'),
    /** Allowed values; any string when absent. */
    values: z.array(z.string()).min(1).optional(),
    nullable: z.boolean().default(true),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('date'),
    nullable: z.boolean().default(true),
  }),
  z.object({
    name: z.string().min(1),
    type: z.literal('string'),
    nullable: z.boolean().default(true),
  }),
]);

export const tableSchema = z.object({
  fields: z.array(fieldSchema).min(1),
  /** Largest share of missing values a column may have in one batch (0..1). */
  maxMissingRate: z.number().min(0).max(1).default(0.2),
});

export type FieldSchema = z.infer<typeof fieldSchema>;
export type TableSchema = z.infer<typeof tableSchema>;
export type FieldType = FieldSchema['type'];

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export function isDateText(text: string): boolean {
  return ISO_DATE.test(text) && !Number.isNaN(Date.parse(text));
}

/** A cell as a number, or undefined when it is not one (text, NaN, ±Infinity). */
export function toNumber(cell: unknown): number | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? cell : undefined;
  if (typeof cell === 'string' && cell.trim() !== '') {
    const value = Number(cell);
    return Number.isFinite(value) ? value : undefined;
  }
  return undefined;
}

export interface InferOptions {
  /** A text column with at most this many distinct values becomes a category with allowed values. */
  maxCategories?: number;
  /** Record observed min/max as limits (off by default: drifted data leaves the reference range). */
  strictRanges?: boolean;
}

/** Infers types, allowed categories and (optionally) ranges from a reference table. */
export function inferSchema(table: RawTable, options: InferOptions = {}): TableSchema {
  const maxCategories = options.maxCategories ?? 50;
  const fields: FieldSchema[] = table.columns.map((name, c) => {
    const present = table.rows.map((r) => r[c]).filter((v) => v !== null && v !== undefined);
    const nullable = present.length < table.rows.length;
    if (present.length > 0 && present.every((v) => toNumber(v) !== undefined)) {
      const values = present.map((v) => toNumber(v)!);
      const field: FieldSchema = { name, type: 'number', nullable, integer: values.every(Number.isInteger) };
      if (options.strictRanges) {
        field.min = Math.min(...values);
        field.max = Math.max(...values);
      }
      return field;
    }
    if (present.length > 0 && present.every((v) => typeof v === 'string' && isDateText(v))) {
      return { name, type: 'date', nullable };
    }
    const distinct = [...new Set(present.map(String))].sort();
    if (distinct.length <= maxCategories) return { name, type: 'category', values: distinct.length > 0 ? distinct : undefined, nullable };
    return { name, type: 'string', nullable };
  });
  const worstMissing = Math.max(0, ...table.columns.map((_, c) => table.rows.filter((r) => r[c] === null).length / Math.max(1, table.rows.length)));
  return { fields, maxMissingRate: Math.min(1, Math.max(0.2, worstMissing * 2)) };
}
