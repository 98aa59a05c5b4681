/** The predict function: its deployment settings (`predict` block). */
import type * as z from 'zod';
import { addIssue, integerIn, numberIn, oneOf, strictObject } from './schema.ts';

/** What the predict function does with values outside the training range (the names of the serving core). */
export const OUT_OF_RANGE_POLICIES = ['off', 'warn', 'reject'] as const;
export type OutOfRangePolicy = (typeof OUT_OF_RANGE_POLICIES)[number];

/** The `predict` block. */
export const predictConfig = strictObject({
  memorySize: integerIn(128, 10_240).default(1769).meta({ description: 'Function memory; 1769 MB is one full vCPU.' }),
  timeoutSeconds: integerIn(1, 29)
    .default(10)
    .meta({ description: 'Function timeout; 29 s is API Gateway\'s integration timeout.' }),
  reservedConcurrency: integerIn(1, 100_000)
    .optional()
    .meta({ description: 'Reserved concurrency of the function; unset uses the account\'s unreserved pool.' }),
  provisionedConcurrency: integerIn(0, 100_000)
    .default(0)
    .meta({ description: 'Provisioned concurrency on the `live` alias (which always exists: API Gateway invokes it and CodeDeploy shifts it); 0 means none.' }),
  onnxIntraOpThreads: integerIn(1, 6).default(1).meta({ description: '`intraOpNumThreads` of every ONNX Runtime session. Env `ONNX_INTRA_OP_THREADS`.' }),
  outOfRange: oneOf(OUT_OF_RANGE_POLICIES)
    .default('warn')
    .meta({
      description:
        'What predict does with a numeric value outside the answering version\'s training range (its baseline min and max, widened by `outOfRangeTolerance`): `off` checks nothing; `warn` answers 200 with a `warnings` array and counts `OutOfRangeValues`; `reject` answers `400 OUT_OF_RANGE`. Null values and features without a numeric baseline are never out of range ([api.md](api.md#out-of-range-values)). Env `OUT_OF_RANGE_POLICY`.',
    }),
  outOfRangeTolerance: numberIn(0, 100)
    .default(0.1)
    .meta({ description: 'Share of the training range (max − min) tolerated below the min and above the max: with 0.1 and `Age` trained on 18–68, 13 to 73 is in range. Env `OUT_OF_RANGE_TOLERANCE`.' }),
  outOfDistribution: oneOf(OUT_OF_RANGE_POLICIES)
    .default('off')
    .meta({
      description:
        "The per-instance out-of-distribution score against the answering version's training values ([api.md](api.md#out-of-distribution-score)): `off` computes none; `warn` and `reject` add `ood_score` to each prediction, and for an instance whose p-value is below `outOfDistributionPValue` `warn` lists it in `warnings`, `reject` answers `400 OUT_OF_DISTRIBUTION`. Env `OUT_OF_DISTRIBUTION_POLICY`.",
    }),
  outOfDistributionPValue: numberIn(0, 1, true)
    .default(0.01)
    .meta({
      description:
        "An instance is out of distribution when its p-value (Bonferroni's over its features' tail probabilities among the training values) is below this: at most this share of rows from the training distribution are flagged. Env `OUT_OF_DISTRIBUTION_P_VALUE`.",
    }),
}).superRefine((predict, ctx) => {
  if (predict.reservedConcurrency !== undefined && predict.provisionedConcurrency > predict.reservedConcurrency) {
    addIssue(ctx, ['provisionedConcurrency'], `must not exceed predict.reservedConcurrency (${predict.reservedConcurrency})`, predict.provisionedConcurrency);
  }
});

export type PredictConfig = z.output<typeof predictConfig>;
