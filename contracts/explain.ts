/** The `/explain` route: SHAP values of a batch of instances (docs/api.md#explanations), `explain` block. */
import type * as z from 'zod';
import { throttleSchema } from './api.ts';
import { integerIn, oneOf, strictObject } from './schema.ts';

/** What explain does with a graph that has no exact method: estimate by sampling (flagged approximate), or refuse with 422. */
export const EXPLAIN_APPROXIMATIONS = ['sampling', 'refuse'] as const;
export type ExplainApproximation = (typeof EXPLAIN_APPROXIMATIONS)[number];

/** The `explain` block. */
export const explainConfig = strictObject({
  maxBatchSize: integerIn(1, 1000).default(10).meta({ description: 'Most instances per explain request; explaining costs more than predicting.' }),
  throttle: throttleSchema({ rateLimit: 5, burstLimit: 10 })
    .prefault({})
    .meta({ description: 'Per-key throttle of `POST /v1/models/{model}/explain` in the usage plan, beside the API-wide one.' }),
  backgroundSize: integerIn(1, 1000)
    .default(100)
    .meta({ description: "Rows of the background sample the values are measured against, drawn from the version's baseline profile." }),
  approximation: oneOf(EXPLAIN_APPROXIMATIONS)
    .default('sampling')
    .meta({
      description:
        'A graph with no exact method (neither linear before its Sigmoid nor a tree ensemble): `sampling` estimates its values (flagged approximate), `refuse` answers 422 EXPLAIN_NOT_SUPPORTED.',
    }),
  samplingBudget: integerIn(100, 100_000).default(2000).meta({ description: 'Model evaluations per instance when sampling.' }),
  topContributions: integerIn(1, 100).default(5).meta({ description: 'Attributions listed in `top_contributions`.' }),
});

export type ExplainConfig = z.output<typeof explainConfig>;
