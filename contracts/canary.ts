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
    .meta({ description: 'A canary model version whose requests fail more often than this (%) is rolled back; the `<app>-canary-<model>-errors` threshold.' }),
  maxP95LatencyMs: integerIn(1, 30_000).default(1000).meta({ description: 'Canary p95 predict latency above this rolls it back; `<app>-canary-<model>-latency-p95`.' }),
  maxScoreShift: numberIn(0, 1, true)
    .default(0.1)
    .meta({ description: 'Canary mean probability further than this from production\'s rolls it back; `<app>-canary-<model>-score-shift`.' }),
  minRequests: integerIn(1, 1_000_000).default(50).meta({ description: 'Canary requests needed before the watch judges (rolls back or promotes).' }),
  healthyMinutes: integerIn(1, 10_080).default(30).meta({ description: 'Minutes a canary must stay healthy before the watch promotes it.' }),
  autoPromote: boolean()
    .default(true)
    .meta({ description: '`false`: a healthy canary keeps its share until a person promotes it (rollback stays automatic).' }),
});

export type CanaryWatchConfig = z.output<typeof canaryWatchConfig>;

/** Where the canary thresholds sit in the deployment config. */
export const CANARY_CONFIG_PATH = 'observability.canary';
