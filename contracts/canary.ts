/**
 * The canary watch: how canary model versions are judged (`observability.canary` block), carried to the canary-watch
 * function as the `CANARY_THRESHOLDS` JSON.
 */
import type * as z from 'zod';
import { boolean, integerIn, numberIn, strictObject } from './schema.ts';

/** The `observability.canary` block; also the `CANARY_THRESHOLDS` JSON. */
export const canaryWatchConfig = strictObject({
  maxErrorRatePercent: numberIn(0, 100)
    .default(1)
    .meta({ description: 'Largest accepted share of failed canary requests, in percent (`VariantErrors` average × 100).' }),
  maxP95LatencyMs: integerIn(1, 30_000).default(1000).meta({ description: 'Largest accepted canary p95 latency of predict calls, in ms.' }),
  maxScoreShift: numberIn(0, 1, true)
    .default(0.1)
    .meta({ description: "Largest accepted difference between the canary's and production's mean predicted probability." }),
  minRequests: integerIn(1, 1_000_000).default(50).meta({ description: 'Canary requests needed before its figures are judged.' }),
  healthyMinutes: integerIn(1, 10_080).default(30).meta({ description: 'Minutes a canary must stay healthy before it is promoted.' }),
  autoPromote: boolean()
    .default(true)
    .meta({ description: 'Whether a healthy canary is promoted automatically (otherwise it keeps its share until a person decides).' }),
});

export type CanaryWatchConfig = z.output<typeof canaryWatchConfig>;

/** Where the canary thresholds sit in the deployment config. */
export const CANARY_CONFIG_PATH = 'observability.canary';
