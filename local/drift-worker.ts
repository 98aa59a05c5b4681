/**
 * The local drift job's thread. `npm start` serves predict on its main event loop; a drift check over a large window
 * parses and compares up to `drift.maxWindowRows` rows, which would stall every request for as long as it computes.
 * Here it runs the drift Lambda's own handler factory on clients of its own (the emulators' endpoints), and sends its
 * events and results back to the platform, which owns the bus (retrain → local pipeline) and the dashboard's verdicts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import type { DriftEvent } from '#core/drift/events.ts';
import type { DriftJobSettings } from '#core/drift/job.ts';
import { createDriftJobHandler, driftMetricsObserver } from '../lambdas/drift-job/drift-job-handler.ts';
import { driftJobAdapters } from '../lambdas/drift-job/adapters.ts';

/** What the platform gives the thread when it starts it. */
export interface DriftWorkerData {
  readonly dynamoDbEndpoint: string;
  readonly s3Endpoint: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly tableName: string;
  readonly captureBucket: string;
  readonly settings: DriftJobSettings;
}

/** Platform → thread: run the handler on `input`. */
export interface DriftWorkerRequest {
  readonly id: number;
  readonly input: Record<string, unknown>;
}

/** Thread → platform: the events of a run (before its result), then its result or its error. */
export type DriftWorkerMessage =
  | { readonly id: number; readonly kind: 'events'; readonly events: readonly DriftEvent[] }
  | { readonly id: number; readonly kind: 'result'; readonly outcome: Awaited<ReturnType<ReturnType<typeof createDriftJobHandler>>> }
  | { readonly id: number; readonly kind: 'error'; readonly message: string };

const port = parentPort;
if (port === null) throw new Error('local/drift-worker.ts runs as a worker thread of the local platform');
const data = workerData as DriftWorkerData;

const dynamoClient = new DynamoDBClient({ endpoint: data.dynamoDbEndpoint, region: 'us-east-1', credentials: data.credentials });
const documents = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
// The environment is the platform's (log level, text format, metrics off), copied when the thread started.
const { logger, metrics } = await import('#shared/powertools.ts');

/** The run whose events the bus proxy is posting (runs come one at a time, as the Lambda's concurrency of 1 has them). */
let current = 0;
const handler = createDriftJobHandler({
  // The Lambda's adapters on the local servers; the events go to the platform's bus through the parent thread.
  ...driftJobAdapters({
    documents,
    s3: new S3Client({ endpoint: data.s3Endpoint, region: 'us-east-1', credentials: data.credentials, forcePathStyle: true }),
    tableName: data.tableName,
    captureBucketName: data.captureBucket,
    events: {
      publish: async (events) => {
        port.postMessage({ id: current, kind: 'events', events } satisfies DriftWorkerMessage);
      },
    },
  }),
  settings: data.settings,
  logger,
  observer: driftMetricsObserver(metrics),
});

let queue: Promise<void> = Promise.resolve();
port.on('message', (request: DriftWorkerRequest) => {
  queue = queue.then(async () => {
    current = request.id;
    try {
      const outcome = await handler(request.input);
      port.postMessage({ id: request.id, kind: 'result', outcome } satisfies DriftWorkerMessage);
    } catch (error) {
      port.postMessage({ id: request.id, kind: 'error', message: error instanceof Error ? error.message : String(error) } satisfies DriftWorkerMessage);
    }
  });
});
