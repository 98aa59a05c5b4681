import { Logger, LogLevelThreshold, type LogItem } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import { ENV } from '#contracts/env.ts';
import { METRIC_DIMENSIONS, METRICS_NAMESPACE } from '#contracts/metrics.ts';

/**
 * Logger, Metrics and Tracer, created once with the platform's service name, namespace
 * and default dimensions; every handler imports them from here.
 * Metric names and dimensions are listed in docs/metrics.md.
 */

const serviceName = process.env[ENV.POWERTOOLS_SERVICE_NAME] ?? 'serverless-mlops';

/** The keys every line carries; a text line leaves them out (the level and message lead it). */
const STANDARD_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'cold_start',
  'function_name',
  'function_memory_size',
  'function_arn',
  'function_request_id',
]);

function textValue(value: unknown): string {
  if (value instanceof Object && 'message' in value && 'name' in value && 'stack' in value) {
    // A serialized error: its name and message; the stack belongs in the JSON logs, not in a terminal line.
    return JSON.stringify(`${String(value.name)}: ${String(value.message)}`);
  }
  return typeof value === 'string' && !/[\s"=]/.test(value) ? value : JSON.stringify(value);
}

/**
 * One line per log, `LEVEL message key=value …`, for a person at a terminal (`npm start`): the same calls and
 * levels as the JSON lines Lambda writes, without the keys every line repeats. Chosen by `MLOPS_LOG_FORMAT=text`.
 */
export class TextLogger extends Logger {
  protected override printLog(logLevel: number, log: LogItem): void {
    log.prepareForPrint();
    const attributes = log.getAttributes() as Record<string, unknown>;
    const fields = Object.entries(attributes)
      .filter(([key, value]) => !STANDARD_KEYS.has(key) && value !== undefined)
      .map(([key, value]) => `${key}=${textValue(value)}`);
    const level = String(attributes.level ?? '');
    const line = [level, String(attributes.message ?? ''), ...fields].join(' ');
    if (logLevel >= LogLevelThreshold.WARN) console.error(line);
    else console.log(line);
  }
}

export const logger = process.env.MLOPS_LOG_FORMAT === 'text' ? new TextLogger({ serviceName }) : new Logger({ serviceName });

export const metrics = createMetrics();

export const tracer = new Tracer({ serviceName });

/**
 * Another Metrics instance with the same service, namespace and default dimensions, for records a handler flushes
 * on their own with dimensions of their own (the per-variant metrics of the inference API).
 */
export function createMetrics(): Metrics {
  return new Metrics({
    serviceName,
    namespace: process.env[ENV.POWERTOOLS_METRICS_NAMESPACE] ?? METRICS_NAMESPACE,
    defaultDimensions: { [METRIC_DIMENSIONS.environment]: process.env[ENV.MLOPS_ENVIRONMENT] ?? 'default' },
  });
}
