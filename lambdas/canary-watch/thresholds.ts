import { CANARY_CONFIG_PATH, canaryWatchConfig } from '#contracts/canary.ts';
import { ENV, parseJsonEnv } from '#contracts/env.ts';
import type { CanaryThresholds } from '#core/serving/canary-watch.ts';

/**
 * `CANARY_THRESHOLDS`: the `observability.canary` block of the deployment config as JSON, parsed with the schema
 * synth validated it with (a bad value fails the cold start with the same message).
 */
export function parseCanaryThresholds(raw: string | undefined): CanaryThresholds {
  return parseJsonEnv(ENV.CANARY_THRESHOLDS, raw, canaryWatchConfig, CANARY_CONFIG_PATH);
}
