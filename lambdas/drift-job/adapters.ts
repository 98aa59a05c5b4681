import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DriftEventPublisher } from '#core/drift/events.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { DynamoDbRetrainLedger } from '#adapters/dynamodb-retrain-ledger.ts';
import { S3CaptureStore } from '#adapters/s3-captures.ts';

/** What the drift job's adapters are built on. */
export interface DriftJobClients {
  /** A document client of the registry table (`removeUndefinedValues`, as every writer of the table). */
  readonly documents: DynamoDBDocumentClient;
  readonly s3: S3Client;
  /** The registry table: production versions and baselines, and the retrain ledger's cooldown items. */
  readonly tableName: string;
  /** The capture bucket: captures and feedback read, reports written. */
  readonly captureBucketName: string;
  /** Where the job's events go: EventBridge in AWS, the local bus under `npm start`. */
  readonly events: DriftEventPublisher;
}

/** The drift job's adapters: everything `createDriftJobHandler` and `runDriftJob` take besides settings and observer. */
export interface DriftJobAdapters {
  readonly registry: DynamoDbRegistry;
  readonly captures: S3CaptureStore;
  readonly reports: S3CaptureStore;
  readonly events: DriftEventPublisher;
  readonly ledger: DynamoDbRetrainLedger;
}

/**
 * The one wiring of the drift job's adapters, shared by the Lambda (lambdas/drift-job/handler.ts), `npm start`
 * (local/drift-worker.ts, the job's thread) and `mlops drift run` against AWS (cli/drift-client.ts): only the
 * clients, names and event publisher differ.
 */
export function driftJobAdapters(clients: DriftJobClients): DriftJobAdapters {
  const store = new S3CaptureStore(clients.s3, clients.captureBucketName);
  return {
    registry: new DynamoDbRegistry(clients.documents, clients.tableName),
    captures: store,
    reports: store,
    events: clients.events,
    ledger: new DynamoDbRetrainLedger(clients.documents, clients.tableName),
  };
}
