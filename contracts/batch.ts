/**
 * Batch scoring on Step Functions Distributed Map (`batch` block): how the batch state machine and function run. The
 * batch function gets these as `BATCH_*` environment variables; the Distributed Map reads them from the job's plan.
 */
import type * as z from 'zod';
import { integerIn, numberIn, stringMatching, strictObject } from './schema.ts';

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
  memorySize: integerIn(512, 10_240).default(1769).meta({ description: 'Memory of the batch scoring function in MB (1769 MB is one full vCPU).' }),
  transformInstanceType: stringMatching(/^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a sagemaker instance type like "ml.m5.xlarge"')
    .default('ml.m5.xlarge')
    .meta({ description: 'Instance type of the SageMaker Batch Transform jobs that score endpoint-served versions.' }),
});

export type BatchConfig = z.output<typeof batchConfig>;
