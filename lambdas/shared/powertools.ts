import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

/**
 * Logger, Metrics and Tracer, created once with the platform's service name, namespace
 * and default dimensions; every handler imports them from here.
 * Metric names and dimensions are listed in docs/metrics.md.
 */

const serviceName = process.env.POWERTOOLS_SERVICE_NAME ?? 'serverless-mlops';

export const logger = new Logger({ serviceName });

export const metrics = new Metrics({
  serviceName,
  namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessMLOps',
  defaultDimensions: { environment: process.env.MLOPS_ENVIRONMENT ?? 'default' },
});

export const tracer = new Tracer({ serviceName });

/**
 * Another Metrics instance with the same service, namespace and default dimensions, for records a handler flushes
 * on their own with dimensions of their own (the per-variant metrics of the inference API).
 */
export function createMetrics(): Metrics {
  return new Metrics({
    serviceName,
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'ServerlessMLOps',
    defaultDimensions: { environment: process.env.MLOPS_ENVIRONMENT ?? 'default' },
  });
}
