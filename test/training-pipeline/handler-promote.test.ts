import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, startS3, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

/**
 * The training pipeline Lambda's own module (lambdas/training-pipeline/handler.ts, as deployed) against dynalite and
 * s3rver: its promote step verifies the artifact (sha256 and a load in onnxruntime) before it flips production.
 */

const TABLE = 'pipeline-promote-test';
const BUCKET = 'pipeline-promote-artifacts';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const saved = { ...process.env };

let dataDir: string;
let emulators: RunningEmulator[] = [];
let registry: RegistryService;
let artifacts: S3ArtifactStore;
let clients: { destroy(): void }[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-pipeline-promote-'));
  const dynalite = await startDynamoDb(dataDir);
  const proxy = await startTransactionProxy(dynalite);
  const s3 = await startS3(dataDir, [BUCKET]);
  emulators = [s3, proxy, dynalite];
  const dynamo = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamo, TABLE);
  const s3Client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  clients = [dynamo, s3Client];
  registry = new RegistryService({ store: new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } }), TABLE) });
  artifacts = new S3ArtifactStore(s3Client, BUCKET);
  // What the CDK sets for the function, pointed at the emulators.
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
    AWS_ENDPOINT_URL_S3: s3.endpoint,
    REGISTRY_TABLE_NAME: TABLE,
    ARTIFACT_BUCKET_NAME: BUCKET,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
});

afterAll(async () => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) Reflect.deleteProperty(process.env, key);
  Object.assign(process.env, saved);
  for (const client of clients) client.destroy();
  for (const emulator of emulators) await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function lambdaContext(requestId: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'training-pipeline-test',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:training-pipeline-test',
    memoryLimitInMB: '3008',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/training-pipeline-test',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe('training pipeline Lambda, promote step', () => {
  it('refuses a version whose stored artifact was corrupted (ARTIFACT_VERIFICATION_FAILED) and promotes an intact one', async () => {
    // Prepare: two registered versions of one model; the second one's bytes corrupted in the bucket.
    const { onnx, metadata } = await trainCreditModel();
    const inspector = new OnnxArtifactInspector();
    const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
    const register = async (bytes: Uint8Array) =>
      (await registerArtifact({ model: 'credit', bytes, metadata, description: 'd', actor: 'a', reason: 'r' }, { inspector, artifacts, registry, sha256 })).version;
    const good = await register(onnx);
    const doc = Buffer.from('second');
    const bad = await register(Buffer.concat([onnx, Buffer.from([0x32, doc.length]), doc]));
    const stored = await artifacts.getArtifact(bad.artifact.key);
    await artifacts.putBytes(bad.artifact.key, Uint8Array.from(stored, (b, i) => (i === stored.length - 1 ? b ^ 0xff : b)), 'application/octet-stream');
    // The deployed entry point, middlewares included (they clear the metric dimensions between invocations).
    const { handler } = await import('../../lambdas/training-pipeline/handler.ts');
    const promote = (version: number, runId: string) =>
      handler(
        {
          step: 'promote',
          run: {
            model: 'credit',
            run_id: runId,
            requested_by: 'tester',
            registered: { result: { version } },
            promotion: { mode: 'production', canary_share: 0.1 },
            comparison: { result: { candidate: { evaluation: { metrics: { roc_auc: 0.8 } } } } },
          },
        } as never,
        lambdaContext(runId),
      );

    // Act, Assess
    await expect(promote(bad.version, 'run-bad')).rejects.toMatchObject({ code: 'ARTIFACT_VERIFICATION_FAILED', status: 409 });
    expect((await registry.getModel('credit')).production_version).toBeNull();
    await promote(good.version, 'run-good');
    expect((await registry.getModel('credit')).production_version).toBe(good.version);
  });
});
