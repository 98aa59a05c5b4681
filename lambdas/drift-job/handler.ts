import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DriftJobResult } from '#core/drift/job.ts';
import { parseDriftJobSettings } from '#core/drift/job-settings.ts';
import { createDocumentClient, createS3Client } from '#adapters/aws-clients.ts';
import { randomUUID } from 'node:crypto';
import { DynamoDbDriftLease } from '#adapters/dynamodb-drift-lease.ts';
import { EventBridgePublisher } from '#adapters/eventbridge-publisher.ts';
import { requireEnv } from '#shared/environment.ts';
import { ENV } from '#contracts/env.ts';
import { logger, metrics, tracer } from '#shared/powertools.ts';
import { driftJobAdapters } from './adapters.ts';
import { createDriftJobHandler, driftMetricsObserver } from './drift-job-handler.ts';

/**
 * Lambda entry of the drift job, run by the EventBridge schedules (hourly and daily) and on demand
 * (`mlops drift run`). Clients are built once per container.
 */

// Checked at cold start: a bad DRIFT_CONFIG fails the init with a message naming the field, not a run with wrong thresholds.
const settings = parseDriftJobSettings(requireEnv(ENV.DRIFT_CONFIG), ENV.DRIFT_CONFIG);
const documents = tracer.captureAWSv3Client(createDocumentClient());
const tableName = requireEnv(ENV.REGISTRY_TABLE_NAME);
const adapters = driftJobAdapters({
  documents,
  s3: tracer.captureAWSv3Client(createS3Client()),
  tableName,
  captureBucketName: requireEnv(ENV.CAPTURE_BUCKET_NAME),
  events: new EventBridgePublisher(tracer.captureAWSv3Client(new EventBridgeClient({})), requireEnv(ENV.EVENT_BUS_NAME)),
});

/** The uninstrumented handler, for tests and the local schedule runner. */
export const driftJobHandler: (
  event: unknown,
) => Promise<{ results: DriftJobResult['document'][]; failures: { model: string; error: string }[]; skipped?: string }> =
  createDriftJobHandler({
    ...adapters,
    // The function's timeout bounds a run, so a crashed run's lease is free again after it.
    lease: { store: new DynamoDbDriftLease(documents, tableName), durationMs: Number(requireEnv(ENV.DRIFT_LEASE_SECONDS)) * 1000, holder: randomUUID },
    settings,
    logger,
    observer: driftMetricsObserver(metrics),
  });

export const handler = middy(driftJobHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
