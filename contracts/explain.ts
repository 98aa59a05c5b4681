/** The `/explain` route: SHAP values of a batch of instances (docs/api.md#explanations), `explain` block. */
import type * as z from 'zod';
import { throttleSchema } from './api.ts';
import { integerIn, oneOf, strictObject } from './schema.ts';

/** What explain does with a graph that has no exact method: estimate by sampling (flagged approximate), or refuse with 422. */
export const EXPLAIN_APPROXIMATIONS = ['sampling', 'refuse'] as const;
export type ExplainApproximation = (typeof EXPLAIN_APPROXIMATIONS)[number];

/** The `explain` block. */
export const explainConfig = strictObject({
  maxBatchSize: integerIn(1, 1000).default(10).meta({ description: 'Most instances per explain request (`400 BATCH_TOO_LARGE`); also `maxItems` of `ExplainRequest` in the OpenAPI document. Env `EXPLAIN_MAX_BATCH_SIZE`.' }),
  throttle: throttleSchema({ rateLimit: 5, burstLimit: 10 })
    .prefault({})
    .meta({ description: 'Per-key throttle of `POST /v1/models/{model}/explain` in the usage plan, beside the API-wide one.' }),
  backgroundSize: integerIn(1, 1000)
    .default(100)
    .meta({ description: 'Rows of the background the SHAP values are measured against, drawn from the version\'s baseline profile; the cost of `tree_exact` grows with it linearly. Env `EXPLAIN_BACKGROUND_SIZE`.' }),
  approximation: oneOf(EXPLAIN_APPROXIMATIONS)
    .default('sampling')
    .meta({
      description:
        'Graphs with no exact method: `sampling` estimates their values (`approximate: true`), `refuse` answers `422 EXPLAIN_NOT_SUPPORTED`. Env `EXPLAIN_APPROXIMATION`.',
    }),
  samplingBudget: integerIn(100, 100_000).default(2000).meta({ description: 'Model evaluations per instance when sampling (one `session.run` of that many rows). Env `EXPLAIN_SAMPLING_BUDGET`.' }),
  topContributions: integerIn(1, 100).default(5).meta({ description: 'Attributions listed in `top_contributions`. Env `EXPLAIN_TOP_CONTRIBUTIONS`.' }),
});

export type ExplainConfig = z.output<typeof explainConfig>;
