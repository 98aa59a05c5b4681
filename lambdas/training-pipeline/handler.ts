import { createHash, randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ENV, configEnv } from '#contracts/env.ts';
import { predictConfig } from '#contracts/predict.ts';
import { parsePipelineConfig, parseRetrainPromotion } from '#core/pipeline/run.ts';
import { PipelineSteps } from '#core/pipeline/steps.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { createDocumentClient, createS3Client } from '#adapters/aws-clients.ts';
import { DynamoDbApprovals } from '#adapters/dynamodb-approvals.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxArtifactInspector, onnxArtifactVerifier } from '#adapters/onnx-artifact-inspector.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { requireEnv } from '#shared/environment.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { approvalNoticeText, createPipelineHandler, type ApprovalNotifier } from './pipeline-handler.ts';

export type { PipelineEvent } from './pipeline-handler.ts';

/**
 * Lambda entry of the training pipeline: Step Functions invokes it once per Task state with
 * `{ "step": "...", ... }` (step-functions/training-pipeline.asl.json), and it runs that step. This module only wires
 * the AWS clients; the handler itself is `createPipelineHandler`, which the local platform runs too.
 */

const tableName = requireEnv(ENV.REGISTRY_TABLE_NAME);
const documentClient = tracer.captureAWSv3Client(createDocumentClient());
const objects = new S3ArtifactStore(tracer.captureAWSv3Client(createS3Client()), requireEnv(ENV.ARTIFACT_BUCKET_NAME));
const sns = tracer.captureAWSv3Client(new SNSClient({}));
const topicArn = process.env[ENV.NOTIFICATION_TOPIC_ARN];
// The serving setting, so that the latency measured in evaluation is the latency the API will see.
const threads = configEnv(ENV.ONNX_INTRA_OP_THREADS, predictConfig.shape.onnxIntraOpThreads, 'predict.onnxIntraOpThreads');
const approvals = new DynamoDbApprovals(documentClient, tableName);

const notifier: ApprovalNotifier | undefined =
  topicArn === undefined
    ? undefined
    : {
        async approvalRequested(notice) {
          const { subject, message } = approvalNoticeText(notice);
          await sns.send(new PublishCommand({ TopicArn: topicArn, Subject: subject, Message: message }));
        },
      };

/** The uninstrumented handler, for tests. */
export const pipelineHandler = createPipelineHandler({
  steps: new PipelineSteps({
    objects,
    // Promotion reads the artifact back and loads it before it flips production, as the CLI and the local platform do.
    registry: new RegistryService({
      store: new DynamoDbRegistry(documentClient, tableName),
      verifyArtifact: onnxArtifactVerifier((key) => objects.getArtifact(key), { intraOpNumThreads: threads }),
    }),
    inspector: new OnnxArtifactInspector({ intraOpNumThreads: threads }),
    engine: new OnnxScoringEngine({ intraOpNumThreads: threads }),
    approvals,
    config: {
      ...parsePipelineConfig(process.env[ENV.PIPELINE_CONFIG]),
      retrainPromotion: parseRetrainPromotion(process.env[ENV.RETRAIN_PROMOTION]),
    },
    sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
    newId: randomUUID,
  }),
  notifier,
  logger,
  metrics,
});

export const handler = middy(pipelineHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
