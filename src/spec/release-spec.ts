/**
 * How a candidate that passed the offline gate is proven on live traffic
 * before it becomes champion (workflows/release.ts). Optional in the spec:
 * without it a candidate is promoted at once, as before releases existed, and
 * specs written before it hash as they did.
 */
import { z } from 'zod';
import { createGuard, type GuardSpec } from '../release/guards';

export const RELEASE_STRATEGIES = ['canary', 'ab', 'shadow'] as const;

const releaseStep = z
  .object({
    /** The candidate's share of traffic during the step, (0, 1]. */
    weight: z.number().gt(0).max(1),
    /** How long the step lasts at least. */
    bakeSeconds: z.number().int().min(0).default(300),
    /** Labelled predictions of the candidate the step needs before the next (a quiet hour proves nothing). */
    minLabels: z.number().int().min(0).default(0),
  })
  .strict();

/** A guard as the spec writes it: checked by the guard library itself, so its errors name the guard and the field. */
const guard = z
  .custom<GuardSpec>((value) => typeof value === 'object' && value !== null)
  .superRefine((value, ctx) => {
    try {
      createGuard(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

export const releaseSpec = z
  .object({
    /**
     * canary: staged weights (`steps`), sticky by routing key; ab: a fixed split (`weight`) until the test
     * decides; shadow: the candidate scores a copy of `weight` of the requests, its answers logged, never returned.
     */
    strategy: z.enum(RELEASE_STRATEGIES),
    steps: z
      .array(releaseStep)
      .min(1)
      .optional()
      .superRefine((steps, ctx) => {
        steps?.forEach((step, i) => {
          if (i > 0 && step.weight <= steps[i - 1]!.weight)
            ctx.addIssue({ code: 'custom', path: [i, 'weight'], message: `each step's weight must be above the one before (${steps[i - 1]!.weight})` });
        });
      }),
    /** ab: the candidate's share of traffic; shadow: the share of requests copied to it (default 1). */
    weight: z.number().gt(0).max(1).optional(),
    /** Error rate of each decision of the sequential test (a false promotion, a false rollback). */
    alpha: z.number().gt(0).lt(1).default(0.05),
    /** Non-inferiority margin in loss units: 0.02 lets the candidate be up to two accuracy points worse. */
    margin: z.number().min(0).default(0.02),
    /** What each labelled prediction's loss is; default the 0/1 error (classification), the absolute error (regression). */
    loss: z.enum(['error', 'absolute', 'squared']).optional(),
    /** Labels each arm needs before the test decides anything. */
    minLabels: z.number().int().min(2).default(100),
    /** Labels in the smaller arm at which the test gives up ('inconclusive': the release rolls back); null: no limit. */
    maxLabels: z.number().int().min(10).nullable().default(10_000),
    /** How often the analysis looks at the labels and the guards. */
    lookEverySeconds: z.number().int().min(1).default(60),
    /** A release still undecided after this long rolls back. */
    maxHours: z.number().gt(0).default(72),
    /** Wait for a person's `approve` (an update) before promoting. */
    manualApproval: z.boolean().default(false),
    /** Error rate and p99 latency limits of the candidate, read from Prometheus (PERENNIAL_PROMETHEUS_URL). */
    guards: z.array(guard).default([]),
  })
  .strict()
  .superRefine((release, ctx) => {
    if (release.strategy === 'canary' && !release.steps) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: 'a canary release needs its steps, e.g. [{weight: 0.05}, {weight: 0.25}, {weight: 0.5}]' });
    }
    if (release.strategy !== 'canary' && release.steps) {
      ctx.addIssue({ code: 'custom', path: ['steps'], message: `steps are for canary releases; ${release.strategy} uses 'weight'` });
    }
    if (release.strategy === 'ab' && release.weight === undefined) {
      ctx.addIssue({ code: 'custom', path: ['weight'], message: "an ab release needs the candidate's share of traffic, e.g. weight: 0.5" });
    }
    if (release.strategy === 'ab' && release.weight === 1) {
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'an ab release needs traffic on both arms: a weight below 1' });
    }
    if (release.strategy === 'canary' && release.weight !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'a canary release takes its weights from its steps' });
    }
    if (release.maxLabels !== null && release.maxLabels < release.minLabels) {
      ctx.addIssue({ code: 'custom', path: ['maxLabels'], message: `must be at least minLabels (${release.minLabels})` });
    }
  });

export type ReleaseSpec = z.infer<typeof releaseSpec>;
