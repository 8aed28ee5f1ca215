import { z } from 'zod';

/** Hyper-parameters of the MLP (embedded in the model spec). */
export const modelParams = z
  .object({
    hiddenUnits: z.array(z.number().int().min(1).max(4096)).max(8).default([32, 16]),
    activation: z.enum(['relu', 'tanh', 'elu', 'selu', 'sigmoid']).default('relu'),
    /** Dropout rate after each hidden layer (0 = none). Masks are seeded per epoch. */
    dropout: z.number().min(0).max(0.9).default(0),
    learningRate: z.number().positive().max(10).default(0.01),
    epochs: z.number().int().min(1).max(10_000).default(40),
    batchSize: z.number().int().min(1).default(64),
    /** Fixes initial weights, per-epoch shuffles and dropout masks: same data + same backend = same weights. */
    seed: z.number().int().default(42),
    optimizer: z.literal('adam').default('adam'),
    /** 'balanced': class c weighs n / (k * n_c) in the loss (as sklearn); classification only. */
    classWeight: z.enum(['balanced', 'none']).default('balanced'),
  })
  .strict();

export type ModelParams = z.infer<typeof modelParams>;
export type ModelParamsInput = z.input<typeof modelParams>;

export function parseModelParams(input: ModelParamsInput | undefined): ModelParams {
  const parsed = modelParams.safeParse(input ?? {});
  if (!parsed.success) {
    throw new Error(`invalid model params: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(params)'}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
