import { Metrics } from '@aws-lambda-powertools/metrics';
import { vi } from 'vitest';

/**
 * The EMF records `emit` publishes through a fresh Metrics (metrics output is disabled in tests, so each flush is
 * serialized here). An empty flush, what makes Powertools warn "No application metrics to publish", is `{ empty: true }`.
 */
export function emfRecords(serviceName: string, emit: (metrics: Metrics) => void, defaultDimensions?: Record<string, string>): Record<string, unknown>[] {
  const metrics = new Metrics({ serviceName, namespace: 'ServerlessMLOps', ...(defaultDimensions === undefined ? {} : { defaultDimensions }) });
  const out: Record<string, unknown>[] = [];
  const publish = vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
    out.push(this.hasStoredMetrics() ? (this.serializeMetrics() as unknown as Record<string, unknown>) : { empty: true });
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
    return this;
  });
  emit(metrics);
  publish.mockRestore();
  return out;
}
