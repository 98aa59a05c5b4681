import middy from '@middy/core';
import { CodeDeployClient, PutLifecycleEventHookExecutionStatusCommand } from '@aws-sdk/client-codedeploy';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { createDocumentClient } from '#adapters/aws-clients.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { requireEnv } from '#shared/environment.ts';
import { ENV } from '#contracts/env.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { createPreTrafficHookHandler, lambdaVersionInvoker } from './pre-traffic-hook-handler.ts';

/**
 * Lambda entry of the predict function's CodeDeploy BeforeAllowTraffic hook: checks the new version
 * (`TARGET_FUNCTION_ARN`, set by the CDK to the version the deployment shifts to) and reports the verdict to CodeDeploy.
 */

const lambda = tracer.captureAWSv3Client(new LambdaClient({}));
const codeDeploy = tracer.captureAWSv3Client(new CodeDeployClient({}));

/** The uninstrumented handler, for tests and the deploy rehearsal. */
export const preTrafficHookHandler = createPreTrafficHookHandler({
  registry: new DynamoDbRegistry(tracer.captureAWSv3Client(createDocumentClient()), requireEnv(ENV.REGISTRY_TABLE_NAME)),
  invoke: lambdaVersionInvoker(lambda, requireEnv(ENV.TARGET_FUNCTION_ARN)),
  report: async (deploymentId, executionId, status) => {
    await codeDeploy.send(
      new PutLifecycleEventHookExecutionStatusCommand({ deploymentId, lifecycleEventHookExecutionId: executionId, status }),
    );
  },
  logger,
  metrics,
});

export const handler = middy(preTrafficHookHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
