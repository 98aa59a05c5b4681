/**
 * Batch scoring on Step Functions Distributed Map (`batch` block): how the batch state machine and function run. The
 * batch function gets these as `BATCH_*` environment variables; the Distributed Map reads them from the job's plan.
 */
import type * as z from 'zod';
import { addIssue, integerIn, numberIn, stringMatching, strictObject } from './schema.ts';

export const batchConfig = strictObject({
  maxItemsPerBatch: integerIn(1, 5000)
    .default(500)
    .meta({ description: 'Rows per batch: one child execution, one Lambda invocation, one session run (a batch\'s input also stays under 200 KiB). Env `BATCH_MAX_ITEMS_PER_BATCH`.' }),
  maxConcurrency: integerIn(1, 10_000)
    .default(100)
    .meta({ description: 'Batches scored at once (the Distributed Map\'s `MaxConcurrency`); each is one concurrent Lambda. Env `BATCH_MAX_CONCURRENCY`.' }),
  toleratedFailurePercentage: numberIn(0, 100)
    .default(10)
    .meta({
      description:
        'A batch whose refused rows are above this share counts as failed (its rows are still written), and a job stops once more than this share of its batches failed (`ToleratedFailurePercentage`). Env `BATCH_TOLERATED_FAILURE_PERCENTAGE`.',
    }),
  /**
   * Reserved concurrency of the batch function: a job's `maxConcurrency` batches then draw from their own share of the
   * account's Lambda concurrency and never take the predict function's. At least `maxConcurrency` (one job fits); the
   * account must keep 100 unreserved after every reservation, or the deploy fails.
   * @default - unset: batches share the account's unreserved pool with predict
   */
  reservedConcurrency: integerIn(1, 100_000)
    .optional()
    .meta({
      description:
        "Reserved concurrency of the batch function, so that a job's batches never take the predict function's concurrency (and cannot exceed it). At least `maxConcurrency`; every reservation together must leave the account 100 unreserved ([capacity.md](capacity.md#lambda-concurrency-one-pool-per-account)). Unset: batches share the account's unreserved pool with predict.",
    }),
  memorySize: integerIn(512, 10_240).default(1769).meta({ description: 'Memory of the batch scoring function in MB (1769 MB is one full vCPU).' }),
  transformInstanceType: stringMatching(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a sagemaker instance type like "ml.m5.xlarge"')
    .default('ml.m5.xlarge')
    .meta({ description: 'Instance type of the SageMaker Batch Transform jobs that score endpoint-served versions.' }),
}).superRefine((batch, ctx) => {
  // Fewer would throttle the job's own batches: each of the map's maxConcurrency children is one invocation.
  if (batch.reservedConcurrency !== undefined && batch.reservedConcurrency < batch.maxConcurrency) {
    addIssue(ctx, ['reservedConcurrency'], `must be at least batch.maxConcurrency (${batch.maxConcurrency})`, batch.reservedConcurrency);
  }
});

export type BatchConfig = z.output<typeof batchConfig>;
