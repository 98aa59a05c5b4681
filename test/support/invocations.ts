import type { Metrics } from '@aws-lambda-powertools/metrics';

/**
 * The unwrapped API handler as Lambda runs it: after every invocation the stored metrics, dimensions and metadata
 * are flushed, as the `logMetrics` middleware does. Without it a second call on the same `Metrics` instance adds
 * `route` and `model` again, and Powertools warns that each dimension "has already been added".
 * Publishing is off in tests (`POWERTOOLS_METRICS_DISABLED`), so flushing only clears.
 */
export function asInvocations<E, R>(handler: (event: E) => Promise<R>, metrics: Metrics): (event: E) => Promise<R> {
  return async (event) => {
    try {
      return await handler(event);
    } finally {
      metrics.clearMetrics();
      metrics.clearDimensions();
      metrics.clearMetadata();
    }
  };
}
