import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import { ApiError } from '#core/errors.ts';
import { METRIC_DIMENSIONS, VARIANT_METRICS } from '#contracts/metrics.ts';

/**
 * Per serving variant (production, canary) metrics of a model: what the canary alarms and the canary watch read
 * (docs/metrics.md). Dimensions `model` and `variant` (besides the defaults); the version is EMF metadata, since
 * the canary's version changes without a deploy and alarms need fixed dimensions.
 *
 * `VariantErrors` is 0 or 1 for every request routed to the variant, so its `Sum` is the errors, its `SampleCount`
 * the requests and its `Average` the error rate: one metric gives the rate the alarms and the watch need.
 */

/** EMF allows at most 100 values per metric in one record. */
export const MAX_SCORE_VALUES = 100;

export type ServingVariant = 'production' | 'canary';

/** Up to {@link MAX_SCORE_VALUES} of the probabilities, evenly spread over the batch. */
export function scoreSample(probabilities: readonly number[]): number[] {
  if (probabilities.length <= MAX_SCORE_VALUES) return probabilities.filter(Number.isFinite);
  const step = probabilities.length / MAX_SCORE_VALUES;
  const sample: number[] = [];
  for (let i = 0; i < MAX_SCORE_VALUES; i++) {
    const value = probabilities[Math.floor(i * step)];
    if (value !== undefined && Number.isFinite(value)) sample.push(value);
  }
  return sample;
}

/**
 * Emits the variant metrics, one EMF record per request. It needs a Metrics instance of its own (not
 * `singleMetric()`, which flushes at every value and drops the added dimensions after the first): it adds the
 * dimensions, the values and the metadata, then publishes them together.
 */
export class VariantMetrics {
  private readonly metrics: Metrics;

  constructor(metrics: Metrics) {
    this.metrics = metrics;
  }

  /** A request the variant answered: errors 0, its latency and its scores. */
  served(served: { model: string; version: number; variant: ServingVariant; latencyMs: number; probabilities: readonly number[] }): void {
    this.metrics.addDimensions({ [METRIC_DIMENSIONS.model]: served.model, [METRIC_DIMENSIONS.variant]: served.variant });
    this.metrics.addMetadata('model_version', String(served.version));
    this.metrics.addMetric(VARIANT_METRICS.errors, MetricUnit.Count, 0);
    this.metrics.addMetric(VARIANT_METRICS.latency, MetricUnit.Milliseconds, served.latencyMs);
    for (const probability of scoreSample(served.probabilities)) this.metrics.addMetric(VARIANT_METRICS.score, MetricUnit.NoUnit, probability);
    // Powertools publishes on its own when a metric reaches 100 values (a batch of 100 or more): then nothing is
    // left, and publishing again would only warn "No application metrics to publish".
    if (this.metrics.hasStoredMetrics()) this.metrics.publishStoredMetrics();
  }

  /** A request routed to the variant that it failed to answer (an error, or a canary that could not load). */
  failed(failed: { model: string; version: number; variant: ServingVariant; code: string }): void {
    this.metrics.addDimensions({ [METRIC_DIMENSIONS.model]: failed.model, [METRIC_DIMENSIONS.variant]: failed.variant });
    this.metrics.addMetadata('model_version', String(failed.version));
    this.metrics.addMetadata('code', failed.code);
    this.metrics.addMetric(VARIANT_METRICS.errors, MetricUnit.Count, 1);
    this.metrics.publishStoredMetrics();
  }
}

/**
 * The variant a failed predict call names in its error details (`INFERENCE_FAILED` and the endpoint errors carry
 * `model`, `model_version` and `variant`), or undefined when the failure is not one version's. An endpoint that
 * throttles every retry counts too: the version cannot serve its share.
 */
export function failedVariantOf(error: unknown): { model: string; version: number; variant: ServingVariant; code: string } | undefined {
  if (!(error instanceof ApiError) || (error.status < 500 && error.code !== 'ENDPOINT_THROTTLED')) return undefined;
  const { model, model_version: version, variant } = error.details;
  if (typeof model !== 'string' || typeof version !== 'number' || (variant !== 'production' && variant !== 'canary')) return undefined;
  return { model, version, variant, code: error.code };
}
