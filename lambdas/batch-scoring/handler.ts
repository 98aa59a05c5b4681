import { randomUUID } from 'node:crypto';
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { ModelService } from '#core/serving/model-service.ts';
import { createDocumentClient, createS3Client } from '#adapters/aws-clients.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { S3BatchObjects } from '#adapters/s3-batch-objects.ts';
import { requireEnv } from '#shared/environment.ts';
import { batchConfig } from '#contracts/batch.ts';
import { ENV, configEnv } from '#contracts/env.ts';
import { predictConfig } from '#contracts/predict.ts';
import { registryConfig } from '#contracts/registry.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { createBatchScoringHandler, type BatchStepEvent } from './batch-handler.ts';
import { BATCH_METRICS } from '#contracts/metrics.ts';
import { asError } from '#core/errors.ts';

/**
 * Lambda entry of batch scoring: every Lambda task of step-functions/batch-scoring.asl.json (plan, each batch of the
 * Distributed Map, finalize, fail). The loaded model version stays in memory between the batches a container scores.
 */

const documentClient = tracer.captureAWSv3Client(createDocumentClient());
const s3Client = tracer.captureAWSv3Client(createS3Client());
const threads = configEnv(ENV.ONNX_INTRA_OP_THREADS, predictConfig.shape.onnxIntraOpThreads, 'predict.onnxIntraOpThreads');
const maxItemsPerBatch = configEnv(ENV.BATCH_MAX_ITEMS_PER_BATCH, batchConfig.shape.maxItemsPerBatch, 'batch.maxItemsPerBatch');

const service = new ModelService({
  registry: new DynamoDbRegistry(documentClient, requireEnv(ENV.REGISTRY_TABLE_NAME)),
  artifacts: new S3ArtifactStore(s3Client, requireEnv(ENV.ARTIFACT_BUCKET_NAME)),
  engine: new OnnxScoringEngine({ intraOpNumThreads: threads === 0 ? undefined : threads }),
  cacheTtlMs: configEnv(ENV.REGISTRY_CACHE_TTL_SECONDS, registryConfig.shape.cacheTtlSeconds, 'registry.cacheTtlSeconds') * 1000,
  maxBatchSize: maxItemsPerBatch,
  outOfRange: {
    policy: configEnv(ENV.OUT_OF_RANGE_POLICY, predictConfig.shape.outOfRange, 'predict.outOfRange'),
    tolerance: configEnv(ENV.OUT_OF_RANGE_TOLERANCE, predictConfig.shape.outOfRangeTolerance, 'predict.outOfRangeTolerance'),
  },
  observer: {
    modelLoaded: ({ model, version, bytes, fetchMs, sessionMs }) =>
      logger.info('model loaded', { model, model_version: version, bytes, fetch_ms: fetchMs, session_ms: sessionMs }),
    modelLoadFailed: ({ model, version, reason, cause }) => logger.error('model load failed', { model, model_version: version, reason, error: asError(cause) }),
    canaryFallback: () => undefined,
    shadowScored: () => undefined,
    shadowFailed: () => undefined,
  },
});

const dispatch = createBatchScoringHandler(
  {
    objects: new S3BatchObjects(s3Client),
    scorer: service,
    allowedBuckets: requireEnv(ENV.BATCH_BUCKET_NAMES).split(',').map((name) => name.trim()).filter((name) => name !== ''),
    batching: {
      max_items_per_batch: maxItemsPerBatch,
      max_concurrency: configEnv(ENV.BATCH_MAX_CONCURRENCY, batchConfig.shape.maxConcurrency, 'batch.maxConcurrency'),
      tolerated_failure_percentage: configEnv(ENV.BATCH_TOLERATED_FAILURE_PERCENTAGE, batchConfig.shape.toleratedFailurePercentage, 'batch.toleratedFailurePercentage'),
    },
    newId: randomUUID,
  },
  {
    batchScored(part, ms) {
      metrics.addMetric(BATCH_METRICS.rowsScored, MetricUnit.Count, part.scored);
      metrics.addMetric(BATCH_METRICS.rowsRefused, MetricUnit.Count, part.refused);
      metrics.addMetric(BATCH_METRICS.scoringDuration, MetricUnit.Milliseconds, ms);
    },
    jobFinished(summary) {
      logger.info('batch job finished', { job_id: summary.job_id, status: summary.status, rows_in: summary.rows_in, rows_refused: summary.rows_refused });
      metrics.addMetric(summary.status === 'succeeded' ? BATCH_METRICS.jobsSucceeded : BATCH_METRICS.jobsFailed, MetricUnit.Count, 1);
    },
  },
);

export async function batchScoringHandler(event: BatchStepEvent): Promise<unknown> {
  logger.appendKeys({ step: event.step });
  try {
    return await dispatch(event);
  } catch (error) {
    logger.error('batch step failed', { error: asError(error) });
    metrics.addMetric(BATCH_METRICS.stepErrors, MetricUnit.Count, 1);
    throw error;
  } finally {
    logger.removeKeys(['step']);
  }
}

export const handler = middy(batchScoringHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics));
