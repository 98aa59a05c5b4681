/** The predict function: its deployment settings (`predict` block). */
import type * as z from 'zod';
import { addIssue, integerIn, numberIn, oneOf, strictObject } from './schema.ts';

/** What the predict function does with values outside the training range (the names of the serving core). */
export const OUT_OF_RANGE_POLICIES = ['off', 'warn', 'reject'] as const;
export type OutOfRangePolicy = (typeof OUT_OF_RANGE_POLICIES)[number];

/** The `predict` block. */
export const predictConfig = strictObject({
  memorySize: integerIn(128, 10_240).default(1769).meta({ description: 'Memory of the predict function in MB (1769 MB = one full vCPU).' }),
  timeoutSeconds: integerIn(1, 29)
    .default(10)
    .meta({ description: "Timeout of the predict function in seconds (at most 29, API Gateway's integration timeout)." }),
  reservedConcurrency: integerIn(1, 100_000)
    .optional()
    .meta({ description: "Reserved concurrency of the predict function; unset means the account's unreserved pool." }),
  provisionedConcurrency: integerIn(0, 100_000)
    .default(0)
    .meta({ description: 'Provisioned concurrency on the `live` alias (which always exists); 0 means none.' }),
  onnxIntraOpThreads: integerIn(1, 6).default(1).meta({ description: 'ONNX Runtime intra-op threads per inference session.' }),
  outOfRange: oneOf(OUT_OF_RANGE_POLICIES)
    .default('warn')
    .meta({
      description:
        "What predict does with a numeric value outside the answering version's training range (widened by `outOfRangeTolerance`): `off` checks nothing, `warn` answers 200 with `warnings`, `reject` answers 400 `OUT_OF_RANGE`.",
    }),
  outOfRangeTolerance: numberIn(0, 100)
    .default(0.1)
    .meta({ description: 'Share of the training range (max − min) tolerated below the training min and above the training max.' }),
}).superRefine((predict, ctx) => {
  if (predict.reservedConcurrency !== undefined && predict.provisionedConcurrency > predict.reservedConcurrency) {
    addIssue(ctx, ['provisionedConcurrency'], `must not exceed predict.reservedConcurrency (${predict.reservedConcurrency})`, predict.provisionedConcurrency);
  }
});

export type PredictConfig = z.output<typeof predictConfig>;
