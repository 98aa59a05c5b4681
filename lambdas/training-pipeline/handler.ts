import { createHash, randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { parsePipelineConfig } from '#core/pipeline/run.ts';
import { PipelineSteps, TransientError } from '#core/pipeline/steps.ts';
import type { GateDecision } from '#core/pipeline/gate.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { createDocumentClient, createS3Client } from '#adapters/aws-clients.ts';
import { DynamoDbApprovals } from '#adapters/dynamodb-approvals.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { integerEnv, requireEnv } from '#shared/environment.ts';
import { ENV } from '#contracts/env.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';

/**
 * Lambda entry of the training pipeline: Step Functions invokes it once per Task state with
 * `{ "step": "...", ... }` (step-functions/training-pipeline.asl.json), and it runs that step.
 */

const tableName = requireEnv(ENV.REGISTRY_TABLE_NAME);
const documentClient = tracer.captureAWSv3Client(createDocumentClient());
const objects = new S3ArtifactStore(tracer.captureAWSv3Client(createS3Client()), requireEnv(ENV.ARTIFACT_BUCKET_NAME));
const sns = tracer.captureAWSv3Client(new SNSClient({}));
const topicArn = process.env[ENV.NOTIFICATION_TOPIC_ARN];
const threads = integerEnv('ONNX_INTRA_OP_THREADS', 2);
const approvals = new DynamoDbApprovals(documentClient, tableName);

const steps = new PipelineSteps({
  objects,
  registry: new RegistryService({ store: new DynamoDbRegistry(documentClient, tableName) }),
  inspector: new OnnxArtifactInspector({ intraOpNumThreads: threads }),
  engine: new OnnxScoringEngine({ intraOpNumThreads: threads }),
  approvals,
  config: parsePipelineConfig(process.env[ENV.PIPELINE_CONFIG]),
  sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
  newId: randomUUID,
});

/** SDK errors the service marks retryable, throttling and 5xx: the ASL retries these. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const sdk = error as Error & { $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = sdk.$metadata?.httpStatusCode ?? 0;
  return sdk.$retryable !== undefined || status >= 500 || /Throttl|TooManyRequests|SlowDown|RequestTimeout/.test(error.name);
}

export interface PipelineEvent {
  readonly step: string;
  readonly [key: string]: unknown;
}

export async function pipelineHandler(event: PipelineEvent): Promise<unknown> {
  const run = event.run as { model?: string; run_id?: string } | undefined;
  logger.appendKeys({ step: event.step, model: run?.model, run_id: run?.run_id });
  metrics.addDimension('step', event.step);
  const started = performance.now();
  try {
    const result = await steps.dispatch(event);
    metrics.addMetric('PipelineStepDuration', MetricUnit.Milliseconds, performance.now() - started);
    if (event.step === 'gate') {
      metrics.addMetric((result as GateDecision).passed ? 'GatePassed' : 'GateFailed', MetricUnit.Count, 1);
    }
    if (event.step === 'promote') metrics.addMetric('ModelsPromoted', MetricUnit.Count, 1);
    if (event.step === 'record_failure') metrics.addMetric('PipelineFailures', MetricUnit.Count, 1);
    if (event.step === 'request_approval' && topicArn !== undefined) {
      const { approval_id: id } = result as { approval_id: string };
      await sns.send(
        new PublishCommand({
          TopicArn: topicArn,
          Subject: 'serverless-mlops: approval requested',
          Message: `training run ${run?.run_id ?? ''} of model ${run?.model ?? ''} waits for approval: mlops approve ${id} (or mlops reject ${id})`,
        }),
      );
    }
    logger.info('pipeline step done', { ms: Math.round(performance.now() - started) });
    return result;
  } catch (error) {
    logger.error('pipeline step failed', { error: error as Error });
    metrics.addMetric('PipelineStepErrors', MetricUnit.Count, 1);
    if (isTransient(error)) throw new TransientError((error as Error).message, { cause: error });
    throw error;
  } finally {
    logger.removeKeys(['step', 'model', 'run_id']);
  }
}

export const handler = middy(pipelineHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
