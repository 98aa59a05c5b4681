import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { openApiDocument } from '#core/api/openapi.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { OutOfRangeReport } from '#core/serving/ports.ts';
import type { OutOfRangePolicy } from '#core/serving/range-check.ts';
import { logger, metrics } from '#shared/powertools.ts';
import { createApiHandler, type ApiHandler } from '../../lambdas/inference-api/api-handler.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, startS3, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';
import { REFERENCE_MODEL, seedReferenceModel } from '../../local/seed.ts';
import { asInvocations } from '../support/invocations.ts';
import { CREDIT_INSTANCE, creditBatch } from '../support/credit-instances.ts';

/**
 * The predict route's range check through the API handler, over the real adapters against dynalite and s3rver
 * seeded with the reference credit model (trained on Income 6 to 959, Age 18 to 68; default tolerance 0.1).
 */

const TABLE = 'out-of-range-registry';
const BUCKET = 'out-of-range-artifacts';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

let dataDir: string;
const emulators: RunningEmulator[] = [];
let registry: DynamoDbRegistry;
let artifacts: S3ArtifactStore;
const engine = new OnnxScoringEngine({ intraOpNumThreads: 1 });

function handlerWith(policy: OutOfRangePolicy, reports: OutOfRangeReport[] = []): ApiHandler {
  const service = new ModelService({
    registry,
    artifacts,
    engine,
    cacheTtlMs: 30_000,
    maxBatchSize: 1000,
    outOfRange: { policy, tolerance: 0.1 },
    observer: {
      modelLoaded: () => undefined,
      modelLoadFailed: () => undefined,
      canaryFallback: () => undefined,
      shadowScored: () => undefined,
      shadowFailed: () => undefined,
      outOfRange: (report) => reports.push(report),
    },
  });
  const unwrapped = createApiHandler({
    service,
    openApi: openApiDocument({ maxBatchSize: 1000, maxRequestBytes: 1_048_576, version: '9.9.9' }),
    maxRequestBytes: 1_048_576,
    corsAllowOrigins: [],
    serviceVersion: '9.9.9',
    logger,
    metrics,
  });
  return asInvocations(unwrapped, metrics);
}

function predictEvent(instances: unknown[]): APIGatewayProxyEvent {
  const path = `/v1/models/${REFERENCE_MODEL}/predict`;
  return {
    resource: '/v1/models/{model}/predict',
    path,
    httpMethod: 'POST',
    headers: { 'Content-Type': 'application/json', 'x-api-key': 'k' },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { model: REFERENCE_MODEL },
    stageVariables: null,
    body: JSON.stringify({ instances }),
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'abcdef1234',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: 'POST',
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: 'k',
        apiKeyId: 'key-id',
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'vitest',
        userArn: null,
      },
      path: `/prod${path}`,
      stage: 'prod',
      requestId: 'out-of-range-request',
      requestTimeEpoch: 1_700_000_000_000,
      resourceId: 'res123',
      resourcePath: '/v1/models/{model}/predict',
    },
  };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-out-of-range-'));
  const dynalite = await startDynamoDb(dataDir);
  emulators.push(dynalite);
  const dynamoDb = await startTransactionProxy(dynalite);
  emulators.push(dynamoDb);
  const s3 = await startS3(dataDir, [BUCKET]);
  emulators.push(s3);
  const dynamoClient = new DynamoDBClient({ endpoint: dynamoDb.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  registry = new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }), TABLE);
  artifacts = new S3ArtifactStore(
    new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true }),
    BUCKET,
  );
  await seedReferenceModel(new RegistryService({ store: registry }), artifacts);
});

afterAll(async () => {
  for (const emulator of emulators.reverse()) await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('predict route range check', () => {
  it('answers in-range batches under warn byte for byte as without the check', async () => {
    // creditBatch reaches Age 69, past the training max 68 but inside the tolerance (73).
    const instances = [CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Income: null }, ...creditBatch(100)];
    const reports: OutOfRangeReport[] = [];
    const warned = await handlerWith('warn', reports)(predictEvent(instances));
    const unchecked = await handlerWith('off')(predictEvent(instances));
    expect(warned.statusCode).toBe(200);
    expect(warned.body).toBe(unchecked.body);
    expect(warned.body).not.toContain('warnings');
    expect(reports).toEqual([]);
  });

  it('answers 200 with warnings under warn and reports every out-of-range value', async () => {
    const reports: OutOfRangeReport[] = [];
    const result = await handlerWith('warn', reports)(predictEvent([CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Income: 2000, Age: 10 }]));
    expect(result.statusCode).toBe(200);
    const body = JSON.parse(result.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['model', 'model_version', 'variant', 'predictions', 'warnings', 'request_id']);
    expect(body.predictions).toHaveLength(2);
    expect(body.warnings).toEqual([
      { instance: 1, feature: 'Age', code: 'OUT_OF_RANGE', value: 10, min: 13, max: 73 },
      { instance: 1, feature: 'Income', code: 'OUT_OF_RANGE', value: 2000, min: -89.3, max: 1054.3 },
    ]);
    expect(reports).toMatchObject([{ model: REFERENCE_MODEL, model_version: 1, variant: 'production', count: 2 }]);
  });

  it('answers shifted traffic (Income × 1.5, as the drift tests send) with 200 under warn', async () => {
    const shifted = creditBatch(50).map((row) => ({ ...row, Income: 959 * 1.5 }));
    const result = await handlerWith('warn')(predictEvent(shifted));
    expect(result.statusCode).toBe(200);
    expect((JSON.parse(result.body) as { warnings: unknown[] }).warnings).toHaveLength(50);
  });

  it('answers 400 OUT_OF_RANGE under reject with the first offending field, its value and the tolerated range', async () => {
    const result = await handlerWith('reject')(predictEvent([CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Income: 2000, Age: 10 }]));
    expect(result.statusCode).toBe(400);
    expect(JSON.parse(result.body)).toEqual({
      error: {
        code: 'OUT_OF_RANGE',
        message: 'instances[1].Age is 10, outside the range this model version was trained on (with tolerance): 13 to 73',
        details: { field: 'instances[1].Age', received: 10, min: 13, max: 73 },
      },
    });
  });
});
