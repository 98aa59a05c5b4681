import middy from '@middy/core';
import { ApplicationAutoScalingClient } from '@aws-sdk/client-application-auto-scaling';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ApplicationAutoScalingTargets } from '#adapters/application-autoscaling-targets.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { createScalingReleaseHandler, fetchRespond } from './scaling-release-handler.ts';

/**
 * Lambda entry of the `Custom::EndpointScalingRelease` resources (lib/constructs/gpu-endpoint.ts): before
 * CloudFormation updates a SageMaker endpoint, deregisters the scalable targets of the variants the update replaces.
 */

/** The uninstrumented handler, for tests and the deploy rehearsal. */
export const scalingReleaseHandler = createScalingReleaseHandler({
  targets: new ApplicationAutoScalingTargets(tracer.captureAWSv3Client(new ApplicationAutoScalingClient({}))),
  respond: fetchRespond,
  logger,
  metrics,
});

export const handler = middy(scalingReleaseHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
