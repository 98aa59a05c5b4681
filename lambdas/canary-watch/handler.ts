import middy from '@middy/core';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { RegistryService } from '#core/registry/registry-service.ts';
import { CanaryWatch, type CanaryCheck } from '#core/serving/canary-watch.ts';
import { createDocumentClient } from '#adapters/aws-clients.ts';
import { CloudWatchCanaryFigures } from '#adapters/cloudwatch-canary-figures.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { SnsNotifier } from '#adapters/sns-notifier.ts';
import { requireEnv } from '#shared/environment.ts';
import { ENV } from '#contracts/env.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { parseCanaryThresholds } from './thresholds.ts';
import { CANARY_METRICS, METRIC_DIMENSIONS } from '#contracts/metrics.ts';

/**
 * Lambda entry of the canary watch: run every minute by an EventBridge schedule and at once when a canary alarm
 * goes into ALARM (EventBridge "CloudWatch Alarm State Change"). Either way it judges every model that has a canary
 * from CloudWatch's per-variant metrics and rolls back or promotes through the registry (docs/operations/automatic-rollback.md).
 */

const documentClient = tracer.captureAWSv3Client(createDocumentClient());
const registry = new RegistryService({ store: new DynamoDbRegistry(documentClient, requireEnv(ENV.REGISTRY_TABLE_NAME)) });

const watch = new CanaryWatch({
  registry,
  figures: new CloudWatchCanaryFigures(tracer.captureAWSv3Client(new CloudWatchClient({})), {
    namespace: requireEnv(ENV.POWERTOOLS_METRICS_NAMESPACE),
    environment: requireEnv(ENV.MLOPS_ENVIRONMENT),
    service: requireEnv(ENV.INFERENCE_SERVICE_NAME),
  }),
  notifier: new SnsNotifier(tracer.captureAWSv3Client(new SNSClient({})), requireEnv(ENV.NOTIFICATION_TOPIC_ARN)),
  thresholds: parseCanaryThresholds(process.env[ENV.CANARY_THRESHOLDS]),
});

/** The two triggers: a schedule tick, or a canary alarm's state change. Only what is logged is read from them. */
export interface CanaryWatchEvent {
  readonly 'detail-type'?: string;
  readonly detail?: { readonly alarmName?: string; readonly state?: { readonly value?: string } };
}

export async function canaryWatchHandler(event: CanaryWatchEvent): Promise<{ checks: CanaryCheck[] }> {
  logger.info('canary watch triggered', { trigger: event['detail-type'] ?? 'unknown', alarm: event.detail?.alarmName, state: event.detail?.state?.value });
  const checks = await watch.checkAll();
  for (const check of checks) {
    logger.info('canary checked', {
      model: check.model,
      canary_version: check.canaryVersion,
      production_version: check.productionVersion,
      action: check.verdict.action,
      outcome: check.outcome,
      reasons: check.verdict.reasons,
      canary: check.evidence.canary,
      production: check.evidence.production,
    });
    if (check.outcome !== 'applied') continue;
    const metric = metrics.singleMetric();
    metric.addDimension(METRIC_DIMENSIONS.model, check.model);
    metric.addMetric(check.verdict.action === 'rollback' ? CANARY_METRICS.rollbacks : CANARY_METRICS.promotions, MetricUnit.Count, 1);
  }
  metrics.addMetric(CANARY_METRICS.checks, MetricUnit.Count, checks.length);
  return { checks };
}

export const handler = middy(canaryWatchHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
