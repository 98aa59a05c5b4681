import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { S3CaptureStore } from '#adapters/s3-captures.ts';
import { openApiDocument } from '#core/api/openapi.ts';
import { artifactKey, type ModelRecord, type ModelVersionRecord } from '#core/registry/records.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { RegistryReader } from '#core/serving/ports.ts';
import type { FeedbackSink } from '#core/capture/ports.ts';
import { PredictionCapture } from '#core/capture/prediction-capture.ts';
import { FirehoseClient, PutRecordBatchCommand } from '@aws-sdk/client-firehose';
import { FirehoseCaptureSink } from '#adapters/firehose-capture-sink.ts';
import { logger, metrics } from '#shared/powertools.ts';
import { createApiHandler, type ApiHandler } from '../../lambdas/inference-api/api-handler.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, startS3, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';
import { REFERENCE_MODEL, seedReferenceModel } from '../../local/seed.ts';
import { asInvocations } from '../support/invocations.ts';
import { recordSingleMetrics } from '../support/single-metrics.ts';
import { CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * The inference API's request handling invoked directly with API Gateway proxy events, over
 * the real adapters against dynalite and s3rver seeded with the reference model.
 */

const TABLE = 'api-handler-registry';
const BUCKET = 'api-handler-artifacts';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const MAX_REQUEST_BYTES = 64 * 1024;
const MAX_BATCH_SIZE = 100;
const ALLOWED_ORIGIN = 'https://app.example.com';

let dataDir: string;
const emulators: RunningEmulator[] = [];
let dynamoClient: DynamoDBClient;
let s3Client: S3Client;
let registry: DynamoDbRegistry;
let registryService: RegistryService;
let artifacts: S3ArtifactStore;
const engine = new OnnxScoringEngine({ intraOpNumThreads: 1 });

function newService(reader: RegistryReader = registry): ModelService {
  return new ModelService({ registry: reader, artifacts, engine, cacheTtlMs: 30_000, maxBatchSize: MAX_BATCH_SIZE });
}

function newHandler(service: ModelService, feedback?: FeedbackSink, capture?: PredictionCapture): ApiHandler {
  const unwrapped = createApiHandler({
    service,
    ...(feedback === undefined ? {} : { feedback }),
    ...(capture === undefined ? {} : { capture }),
    openApi: openApiDocument({ maxBatchSize: MAX_BATCH_SIZE, maxRequestBytes: MAX_REQUEST_BYTES, version: '9.9.9' }),
    maxRequestBytes: MAX_REQUEST_BYTES,
    corsAllowOrigins: [ALLOWED_ORIGIN],
    serviceVersion: '9.9.9',
    logger,
    metrics,
  });
  return asInvocations(unwrapped, metrics);
}

/** An event shaped as API Gateway's REST proxy integration sends it. */
function apiGatewayEvent(options: {
  method: 'GET' | 'POST';
  resource: string;
  path: string;
  model?: string;
  body?: string | null;
  isBase64Encoded?: boolean;
  headers?: Record<string, string>;
}): APIGatewayProxyEvent {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json', 'x-api-key': 'k', ...options.headers };
  return {
    resource: options.resource,
    path: options.path,
    httpMethod: options.method,
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: options.model === undefined ? null : { model: options.model },
    stageVariables: null,
    body: options.body ?? null,
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'abcdef1234',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: options.method,
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
      path: `/prod${options.path}`,
      stage: 'prod',
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      requestTimeEpoch: 1_700_000_000_000,
      resourceId: 'res123',
      resourcePath: options.resource,
    },
  };
}

function predictEvent(body: string | null, extra: Partial<Parameters<typeof apiGatewayEvent>[0]> = {}): APIGatewayProxyEvent {
  return apiGatewayEvent({
    method: 'POST',
    resource: '/v1/models/{model}/predict',
    path: `/v1/models/${REFERENCE_MODEL}/predict`,
    model: REFERENCE_MODEL,
    body,
    ...extra,
  });
}

function json(result: APIGatewayProxyResult): Record<string, unknown> {
  expect(result.headers?.['content-type']).toBe('application/json; charset=utf-8');
  return JSON.parse(result.body) as Record<string, unknown>;
}

function errorOf(result: APIGatewayProxyResult): { code: string; message: string; details: Record<string, unknown> } {
  const body = json(result);
  expect(Object.keys(body)).toEqual(['error']);
  const error = body.error as { code: string; message: string; details: Record<string, unknown> };
  expect(Object.keys(error).sort()).toEqual(['code', 'details', 'message']);
  return error;
}

const ONE_INSTANCE = JSON.stringify({ instances: [CREDIT_INSTANCE] });

let handler: ApiHandler;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-api-handler-'));
  const dynalite = await startDynamoDb(dataDir);
  emulators.push(dynalite);
  // dynalite lacks DynamoDB transactions, which registry changes use; the proxy adds them.
  const dynamoDb = await startTransactionProxy(dynalite);
  emulators.push(dynamoDb);
  const s3 = await startS3(dataDir, [BUCKET]);
  emulators.push(s3);
  dynamoClient = new DynamoDBClient({ endpoint: dynamoDb.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  registry = new DynamoDbRegistry(
    DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
    TABLE,
  );
  s3Client = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  artifacts = new S3ArtifactStore(s3Client, BUCKET);
  registryService = new RegistryService({ store: registry });
  const { seeded } = await seedReferenceModel(registryService, artifacts);
  expect(seeded).toBe(true);
  handler = newHandler(newService());
});

afterAll(async () => {
  dynamoClient?.destroy();
  s3Client?.destroy();
  for (const emulator of emulators.reverse()) await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('createApiHandler', () => {
  it('answers a predict event with 200 and the predictions of the production version', async () => {
    const result = await handler(predictEvent(JSON.stringify({ instances: [CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE] })));
    expect(result.statusCode).toBe(200);
    const body = json(result);
    expect(body).toMatchObject({ model: 'credit', model_version: 1, variant: 'production' });
    const predictions = body.predictions as { label: string; probability: number }[];
    expect(predictions).toHaveLength(2);
    for (const { label, probability } of predictions) {
      expect(probability).toBeGreaterThan(0);
      expect(probability).toBeLessThan(1);
      expect(label).toBe(probability >= 0.5 ? 'bad' : 'good');
    }
  });

  it('decodes a base64-encoded body', async () => {
    const plain = await handler(predictEvent(ONE_INSTANCE));
    const encoded = await handler(predictEvent(Buffer.from(ONE_INSTANCE, 'utf8').toString('base64'), { isBase64Encoded: true }));
    expect(encoded.statusCode).toBe(200);
    expect(json(encoded)).toEqual(json(plain));
  });

  it('refuses a body over maxRequestBytes with 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ instances: [CREDIT_INSTANCE], padding: 'x'.repeat(MAX_REQUEST_BYTES) });
    const result = await handler(predictEvent(body));
    expect(result.statusCode).toBe(413);
    expect(errorOf(result)).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { received: Buffer.byteLength(body), limit: MAX_REQUEST_BYTES },
    });
  });

  it('refuses an x-request-id longer than feedback accepts with 400 INVALID_REQUEST_ID', async () => {
    const result = await handler(predictEvent(ONE_INSTANCE, { headers: { 'x-request-id': 'r'.repeat(201) } }));
    expect(result.statusCode).toBe(400);
    expect(errorOf(result)).toEqual({
      code: 'INVALID_REQUEST_ID',
      message: 'the x-request-id header must be at most 200 characters',
      details: { field: 'x-request-id', received: 201, limit: 200 },
    });
  });

  it('counts the size of a body in UTF-8 bytes, not characters', async () => {
    // Each "é" is two bytes: the body has fewer characters than the limit but more bytes.
    const body = `{"instances":[],"pad":"${'é'.repeat(MAX_REQUEST_BYTES / 2)}"}`;
    expect(body.length).toBeLessThan(MAX_REQUEST_BYTES);
    expect((await handler(predictEvent(body))).statusCode).toBe(413);
  });

  it('maps a validation failure to 400 with its code and field', async () => {
    const result = await handler(predictEvent(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Age: '30' }] })));
    expect(result.statusCode).toBe(400);
    expect(errorOf(result)).toMatchObject({ code: 'INVALID_TYPE', details: { field: 'instances[0].Age' } });
  });

  it('answers MALFORMED_JSON for a predict event without a body', async () => {
    const result = await handler(predictEvent(null));
    expect(result.statusCode).toBe(400);
    expect(errorOf(result).code).toBe('MALFORMED_JSON');
  });

  it('adds the CORS header for an allowed origin only', async () => {
    const allowed = await handler(predictEvent(ONE_INSTANCE, { headers: { Origin: ALLOWED_ORIGIN } }));
    expect(allowed.statusCode).toBe(200);
    expect(allowed.headers?.['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
    expect(allowed.headers?.vary).toBe('Origin');

    const refusedError = await handler(predictEvent('{', { headers: { origin: ALLOWED_ORIGIN } }));
    expect(refusedError.statusCode).toBe(400);
    expect(refusedError.headers?.['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);

    const other = await handler(predictEvent(ONE_INSTANCE, { headers: { Origin: 'https://evil.example.net' } }));
    expect(other.statusCode).toBe(200);
    expect(other.headers).not.toHaveProperty('access-control-allow-origin');

    const none = await handler(predictEvent(ONE_INSTANCE));
    expect(none.headers).not.toHaveProperty('access-control-allow-origin');
  });

  it('answers health', async () => {
    const result = await handler(apiGatewayEvent({ method: 'GET', resource: '/v1/health', path: '/v1/health' }));
    expect(result.statusCode).toBe(200);
    expect(json(result)).toEqual({ status: 'ok', service: 'inference-api', version: '9.9.9' });
  });

  it('serves the OpenAPI document', async () => {
    const result = await handler(apiGatewayEvent({ method: 'GET', resource: '/v1/openapi.json', path: '/v1/openapi.json' }));
    expect(result.statusCode).toBe(200);
    const document = json(result);
    expect(document.openapi).toBe('3.1.0');
    expect(document.info).toMatchObject({ version: '9.9.9' });
    expect(Object.keys(document.paths as object)).toContain('/v1/models/{model}/predict');
  });

  it('lists and describes models', async () => {
    const list = await handler(apiGatewayEvent({ method: 'GET', resource: '/v1/models', path: '/v1/models' }));
    expect(list.statusCode).toBe(200);
    expect(json(list).models).toEqual([expect.objectContaining({ model: 'credit', production_version: 1 })]);

    const described = await handler(
      apiGatewayEvent({ method: 'GET', resource: '/v1/models/{model}', path: '/v1/models/credit', model: 'credit' }),
    );
    expect(described.statusCode).toBe(200);
    expect(json(described)).toMatchObject({ model: 'credit', algorithm: 'logistic_regression' });
  });

  it('lists the versions of a model, and answers 404 for an unknown one', async () => {
    const listed = await handler(
      apiGatewayEvent({ method: 'GET', resource: '/v1/models/{model}/versions', path: '/v1/models/credit/versions', model: 'credit' }),
    );
    expect(listed.statusCode).toBe(200);
    const body = json(listed);
    expect(body.model).toBe('credit');
    expect(body.versions).toEqual([
      expect.objectContaining({ version: 1, stage: 'production', roles: ['production'], algorithm: 'logistic_regression' }),
    ]);

    // The local gateway's raw-path fallback reaches the same route.
    const viaPath = await handler(apiGatewayEvent({ method: 'GET', resource: '/{proxy+}', path: '/v1/models/credit/versions' }));
    expect(viaPath.statusCode).toBe(200);
    expect(json(viaPath)).toEqual(body);

    const unknown = await handler(
      apiGatewayEvent({ method: 'GET', resource: '/v1/models/{model}/versions', path: '/v1/models/nope/versions', model: 'nope' }),
    );
    expect(unknown.statusCode).toBe(404);
    expect(errorOf(unknown)).toMatchObject({ code: 'MODEL_NOT_FOUND', details: { model: 'nope' } });
  });

  describe('with a canary', () => {
    /**
     * The real registry seen through a reader that gives the reference model a canary at half
     * the traffic: version 2, a copy of version 1 under another number (both load the same bytes).
     */
    function canaryReader(): RegistryReader {
      return {
        getModel: async (model): Promise<ModelRecord | undefined> => {
          const record = await registry.getModel(model);
          return record === undefined ? undefined : { ...record, canary: { version: 2, share: 0.5 }, latest_version: 2 };
        },
        getVersion: async (model, version): Promise<ModelVersionRecord | undefined> => {
          if (version !== 2) return registry.getVersion(model, version);
          const first = await registry.getVersion(model, 1);
          return first === undefined ? undefined : { ...first, version: 2, stage: 'staging' };
        },
        listModels: () => registry.listModels(),
        listVersions: (model) => registry.listVersions(model),
      };
    }

    it('keeps a caller on one version by its x-request-id, and splits different ids', async () => {
      const canaryHandler = newHandler(newService(canaryReader()));
      const seen = new Map<string, Set<string>>();
      for (let i = 0; i < 20; i++) {
        const requestId = `req-${i}`;
        for (let repeat = 0; repeat < 3; repeat++) {
          const result = await canaryHandler(predictEvent(ONE_INSTANCE, { headers: { 'X-Request-Id': requestId } }));
          expect(result.statusCode).toBe(200);
          const { model_version: version, variant } = json(result) as { model_version: number; variant: string };
          expect(version).toBe(variant === 'canary' ? 2 : 1);
          const variants = seen.get(requestId) ?? new Set<string>();
          variants.add(variant);
          seen.set(requestId, variants);
        }
      }
      for (const [requestId, variants] of seen) expect(variants.size, requestId).toBe(1);
      const answered = new Set([...seen.values()].flatMap((variants) => [...variants]));
      expect(answered).toEqual(new Set(['production', 'canary']));
    });

    it('routes by x-entity-key before x-request-id', async () => {
      const canaryHandler = newHandler(newService(canaryReader()));
      const versions = new Set<unknown>();
      for (let i = 0; i < 10; i++) {
        const result = await canaryHandler(
          predictEvent(ONE_INSTANCE, { headers: { 'x-entity-key': 'customer-42', 'x-request-id': `req-${i}` } }),
        );
        versions.add(json(result).model_version);
      }
      expect(versions.size).toBe(1);
    });

    it('puts the model, version and variant on the metrics and the log keys, and removes the log keys after', async () => {
      const canaryHandler = newHandler(newService(canaryReader()));
      const dimensions = vi.spyOn(metrics, 'addDimension');
      const metadata = vi.spyOn(metrics, 'addMetadata');
      const appended = vi.spyOn(logger, 'appendKeys');
      const removed = vi.spyOn(logger, 'removeKeys');
      try {
        const result = await canaryHandler(predictEvent(ONE_INSTANCE, { headers: { 'x-request-id': 'req-metrics' } }));
        const { model_version: version, variant } = json(result) as { model_version: number; variant: string };
        expect(dimensions).toHaveBeenCalledWith('model', 'credit');
        expect(metadata).toHaveBeenCalledWith('model_version', String(version));
        expect(metadata).toHaveBeenCalledWith('variant', variant);
        expect(appended).toHaveBeenCalledWith({ model_version: version, variant });
        expect(removed).toHaveBeenCalledWith(expect.arrayContaining(['model', 'model_version', 'variant']));
      } finally {
        vi.restoreAllMocks();
      }
    });
  });

  it('answers 404 MODEL_NOT_FOUND for an unknown model', async () => {
    const result = await handler(
      predictEvent(ONE_INSTANCE, { path: '/v1/models/nope/predict', model: 'nope' }),
    );
    expect(result.statusCode).toBe(404);
    expect(errorOf(result)).toMatchObject({ code: 'MODEL_NOT_FOUND', details: { model: 'nope' } });
  });

  it('answers 503 ARTIFACT_INTEGRITY_FAILED on a fresh load after the artifact in S3 changed, while the loaded copy keeps serving', async () => {
    const seeded = await registry.getVersion(REFERENCE_MODEL, 1);
    if (seeded === undefined) throw new Error('the seeded version is missing');
    // A second model with its own copy of the artifact, in a registry table of its own, so the tampering touches no
    // other test (the model lists of the others stay the reference model alone, whatever the order).
    const original = await artifacts.getArtifact(seeded.artifact.key);
    const key = artifactKey('tampered', seeded.artifact.sha256);
    await artifacts.putArtifact(key, original, seeded.artifact.sha256, 'application/octet-stream');
    await ensureRegistryTable(dynamoClient, `${TABLE}-tampered`);
    const ownRegistry = new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }), `${TABLE}-tampered`);
    const ownRegistryService = new RegistryService({ store: ownRegistry });
    const { version: record } = await ownRegistryService.register({
      model: 'tampered',
      description: 'a copy of the reference model',
      artifact: { ...seeded.artifact, key },
      metadata: seeded.metadata,
      actor: 'test',
    });
    await ownRegistryService.promote({ model: 'tampered', version: record.version, actor: 'test' });
    const tamperedEvent = predictEvent(ONE_INSTANCE, { path: '/v1/models/tampered/predict', model: 'tampered' });

    const warm = newHandler(newService(ownRegistry));
    const before = await warm(tamperedEvent);
    expect(before.statusCode).toBe(200);

    const tampered = new Uint8Array(original);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] ?? 0) ^ 0xff;
    const tamperedSha = createHash('sha256').update(tampered).digest('hex');
    await artifacts.putArtifact(key, tampered, tamperedSha, 'application/octet-stream');

    // The container that loaded the good bytes keeps answering from memory.
    const after = await warm(tamperedEvent);
    expect(after.statusCode).toBe(200);
    expect(json(after)).toEqual(json(before));

    const fresh = newHandler(newService(ownRegistry));
    const result = await fresh(tamperedEvent);
    expect(result.statusCode).toBe(503);
    expect(errorOf(result)).toMatchObject({
      code: 'ARTIFACT_INTEGRITY_FAILED',
      details: { model: 'tampered', model_version: 1 },
    });
  });

  it('answers 503 REGISTRY_UNAVAILABLE, never 500, when DynamoDB fails', async () => {
    const faultyClient = DynamoDBDocumentClient.from(
      new DynamoDBClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: CREDENTIALS }),
    );
    const mock = mockClient(faultyClient);
    try {
      mock.rejects(Object.assign(new Error('Throughput exceeds the current capacity'), { name: 'ProvisionedThroughputExceededException' }));
      const faulty = newHandler(newService(new DynamoDbRegistry(faultyClient, TABLE)));

      const predicted = await faulty(predictEvent(ONE_INSTANCE));
      expect(predicted.statusCode).toBe(503);
      const error = errorOf(predicted);
      expect(error.code).toBe('REGISTRY_UNAVAILABLE');
      expect(error.message).not.toContain('Throughput');

      const listed = await faulty(apiGatewayEvent({ method: 'GET', resource: '/v1/models', path: '/v1/models' }));
      expect(listed.statusCode).toBe(503);
      expect(errorOf(listed).code).toBe('REGISTRY_UNAVAILABLE');
    } finally {
      mock.restore();
      faultyClient.destroy();
    }
  });

  it('answers 500 INTERNAL_ERROR without leaking the message of an unexpected exception', async () => {
    const service = newService();
    service.predict = () => Promise.reject(new Error('secret internals: connection string xyz'));
    const broken = newHandler(service);
    const result = await broken(predictEvent(ONE_INSTANCE, { headers: { Origin: ALLOWED_ORIGIN } }));
    expect(result.statusCode).toBe(500);
    const error = errorOf(result);
    expect(error).toEqual({ code: 'INTERNAL_ERROR', message: 'the request could not be processed', details: {} });
    expect(result.body).not.toContain('secret');
    expect(result.headers?.['access-control-allow-origin']).toBe(ALLOWED_ORIGIN);
  });

  it('answers 500 INTERNAL_ERROR when something other than an Error is thrown', async () => {
    const service = newService();
    service.listModels = () => Promise.reject('a string, not an Error');
    const result = await newHandler(service)(apiGatewayEvent({ method: 'GET', resource: '/v1/models', path: '/v1/models' }));
    expect(result.statusCode).toBe(500);
    expect(errorOf(result).code).toBe('INTERNAL_ERROR');
  });

  it('falls back to the raw path when the resource is unknown, answering 404 and 405 as JSON errors', async () => {
    const notFound = await handler(apiGatewayEvent({ method: 'GET', resource: '/{proxy+}', path: '/v1/nothing' }));
    expect(notFound.statusCode).toBe(404);
    expect(errorOf(notFound).code).toBe('ROUTE_NOT_FOUND');

    const wrongMethod = await handler(apiGatewayEvent({ method: 'GET', resource: '/{proxy+}', path: '/v1/models/credit/predict' }));
    expect(wrongMethod.statusCode).toBe(405);
    expect(errorOf(wrongMethod)).toMatchObject({ code: 'METHOD_NOT_ALLOWED', details: { allowed: ['POST'] } });
  });
});

describe('createApiHandler bad client input', () => {
  it('refuses a finite value beyond float32 (Income: 1e308) with 400 VALUE_BEYOND_FLOAT32, never a null probability', async () => {
    for (const income of [1e308, -1e39, 3.5e38]) {
      const result = await handler(predictEvent(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Income: income }] })));
      expect(result.statusCode).toBe(400);
      expect(errorOf(result)).toMatchObject({ code: 'VALUE_BEYOND_FLOAT32', details: { field: 'instances[0].Income', received: String(income) } });
    }
    const largest = await handler(predictEvent(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Income: 3.4e38 }] })));
    // At the edge of float32 the model may still answer; if it cannot, the answer is a 400, never a 200 without a number.
    if (largest.statusCode === 200) {
      const predictions = json(largest).predictions as { probability: number }[];
      expect(Number.isFinite(predictions[0]?.probability)).toBe(true);
    } else {
      expect(largest.statusCode).toBe(400);
      expect(errorOf(largest).code).toBe('NON_FINITE_PREDICTION');
    }
  });

  it('answers 400 INVALID_MODEL_NAME, not 503, for a name the registry cannot hold, on every model route', async () => {
    const longName = 'a'.repeat(2043);
    for (const [resource, suffix, method] of [
      ['/v1/models/{model}', '', 'GET'],
      ['/v1/models/{model}/versions', '/versions', 'GET'],
      ['/v1/models/{model}/predict', '/predict', 'POST'],
    ] as const) {
      for (const name of [longName, 'Credit', '../x', '']) {
        const result = await handler(apiGatewayEvent({ method, resource, path: `/v1/models/${encodeURIComponent(name)}${suffix}`, model: name, body: ONE_INSTANCE }));
        expect(result.statusCode).toBe(400);
        const error = errorOf(result);
        expect(error.code).toBe('INVALID_MODEL_NAME');
        expect(String(error.details.received).length).toBeLessThanOrEqual(256);
      }
    }
  });

  it('keeps an error short whatever it echoes: a 1 MB unknown feature answers under 4 KB', async () => {
    const key = 'k'.repeat(1024 * 1024);
    const result = await handler(predictEvent(`{"instances":[{"${key}":1}]}`, {}));
    // The body is over this test's 64 KiB limit; the feature name is what would be echoed, so lift the limit here.
    expect(result.statusCode).toBe(413);
    const roomy = asInvocations(createApiHandler({
      service: newService(),
      openApi: {},
      maxRequestBytes: 4 * 1024 * 1024,
      corsAllowOrigins: [],
      serviceVersion: '9.9.9',
      logger,
      metrics,
    }), metrics);
    const unknown = await roomy(predictEvent(`{"instances":[{"${key}":1}]}`));
    expect(unknown.statusCode).toBe(400);
    expect(errorOf(unknown).code).toBe('UNKNOWN_FEATURE');
    expect(unknown.body.length).toBeLessThan(4096);
  });
});

describe('createApiHandler explain route', () => {
  const explainEvent = (body: string | null, headers: Record<string, string> = {}): APIGatewayProxyEvent =>
    apiGatewayEvent({
      method: 'POST',
      resource: '/v1/models/{model}/explain',
      path: `/v1/models/${REFERENCE_MODEL}/explain`,
      model: REFERENCE_MODEL,
      body,
      headers,
    });

  it('answers attributions per input feature whose sum plus the base value is the logit of the probability predict answers', async () => {
    const predicted = json(await handler(predictEvent(ONE_INSTANCE)));
    const probability = (predicted.predictions as { probability: number }[])[0]?.probability as number;
    const result = await handler(explainEvent(ONE_INSTANCE, { 'x-request-id': 'explain-1' }));
    expect(result.statusCode).toBe(200);
    const body = json(result);
    expect(body).toMatchObject({ model: 'credit', model_version: 1, variant: 'production', method: 'linear_exact', approximate: false, request_id: 'explain-1' });
    const [explanation] = body.explanations as { probability: number; log_odds: number; base_value: number; attributions: Record<string, number>; top_contributions: { feature: string; attribution: number }[] }[];
    if (explanation === undefined) throw new Error('no explanation');
    expect(Object.keys(explanation.attributions)).toEqual(Object.keys(CREDIT_INSTANCE));
    expect(explanation.probability).toBe(probability);
    const sum = Object.values(explanation.attributions).reduce((a, b) => a + b, explanation.base_value);
    expect(Math.abs(sum - explanation.log_odds)).toBeLessThan(1e-9);
    // float32 probability from onnxruntime against the float64 log-odds of the graph
    expect(Math.abs(sum - Math.log(probability / (1 - probability)))).toBeLessThan(1e-5);
    const magnitudes = explanation.top_contributions.map((c) => Math.abs(c.attribution));
    expect(magnitudes).toEqual([...magnitudes].sort((a, b) => b - a));
  });

  it('refuses what predict refuses, with the same codes', async () => {
    const invalid = await handler(explainEvent(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Age: '30' }] })));
    expect(invalid.statusCode).toBe(400);
    expect(errorOf(invalid)).toMatchObject({ code: 'INVALID_TYPE', details: { field: 'instances[0].Age' } });
    expect(errorOf(await handler(explainEvent(null))).code).toBe('MALFORMED_JSON');
    const tooLarge = await handler(explainEvent(JSON.stringify({ instances: [CREDIT_INSTANCE], padding: 'x'.repeat(MAX_REQUEST_BYTES) })));
    expect(tooLarge.statusCode).toBe(413);
  });

  it('has its own batch limit, below predict\'s', async () => {
    const eleven = JSON.stringify({ instances: Array.from({ length: 11 }, () => CREDIT_INSTANCE) });
    expect((await handler(predictEvent(eleven))).statusCode).toBe(200);
    const refused = await handler(explainEvent(eleven));
    expect(refused.statusCode).toBe(400);
    expect(errorOf(refused)).toMatchObject({ code: 'BATCH_TOO_LARGE' });
  });
});

describe('createApiHandler feedback route', () => {
  const feedbackEvent = (body: unknown): APIGatewayProxyEvent =>
    apiGatewayEvent({
      method: 'POST',
      resource: '/v1/models/{model}/feedback',
      path: `/v1/models/${REFERENCE_MODEL}/feedback`,
      model: REFERENCE_MODEL,
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('stores a label in S3 before answering 200 with what it stored', async () => {
    const store = new S3CaptureStore(s3Client, BUCKET);
    const result = await newHandler(newService(), store)(feedbackEvent({ request_id: 'req-7', row: 1, label: 'bad' }));
    expect(result.statusCode).toBe(200);
    expect(json(result)).toEqual({ accepted: true, model: 'credit', request_id: 'req-7', row: 1, label: 'bad' });
    const stored = await store.readFeedback('credit', new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    expect(stored).toContainEqual(expect.objectContaining({ request_id: 'req-7', row: 1, label: 'bad' }));
  });

  it('answers 400 naming the field for a bad label, row or body', async () => {
    const withFeedback = newHandler(newService(), new S3CaptureStore(s3Client, BUCKET));
    const unknownLabel = await withFeedback(feedbackEvent({ request_id: 'r', label: 'maybe' }));
    expect(unknownLabel.statusCode).toBe(400);
    expect(errorOf(unknownLabel)).toMatchObject({ code: 'UNKNOWN_LABEL', details: { field: 'label', allowed: ['bad', 'good'] } });
    const badRow = await withFeedback(feedbackEvent({ request_id: 'r', label: 'bad', row: -1 }));
    expect(errorOf(badRow)).toMatchObject({ code: 'INVALID_BODY', details: { field: 'row' } });
    const malformed = await withFeedback(feedbackEvent('{"request_id":'));
    expect(malformed.statusCode).toBe(400);
    expect(errorOf(malformed).code).toBe('MALFORMED_JSON');
  });

  it('stores a label for any valid request id (200 characters of €, ../ or %) under a short hashed key holding the id', async () => {
    const store = new S3CaptureStore(s3Client, BUCKET);
    const withFeedback = newHandler(newService(), store);
    const ids = ['€'.repeat(200), '../'.repeat(66), '%'.repeat(200), 'r'.repeat(200)];
    for (const id of ids) {
      const result = await withFeedback(feedbackEvent({ request_id: id, label: 'good' }));
      expect(result.statusCode).toBe(200);
    }
    const stored = await store.readFeedback('credit', new Date(Date.now() - 60_000), new Date(Date.now() + 60_000));
    for (const id of ids) expect(stored.map((r) => r.request_id)).toContain(id);
    const keys = await store.keys('feedback/');
    for (const key of keys) expect(key).toMatch(/\/[0-9a-f]{64}-\d+-[0-9a-f-]{36}\.json$/);
  });

  it('refuses a feedback body over 16 KiB with 413 before reading it', async () => {
    const result = await newHandler(newService(), new S3CaptureStore(s3Client, BUCKET))(
      feedbackEvent({ request_id: 'r', label: 'bad', pad: 'x'.repeat(9 * 1024 * 1024) }),
    );
    expect(result.statusCode).toBe(413);
    expect(errorOf(result)).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limit: 16 * 1024 } });
  });

  it('answers 404 FEEDBACK_DISABLED when the deployment has no label store', async () => {
    const result = await handler(feedbackEvent({ request_id: 'r', label: 'bad' }));
    expect(result.statusCode).toBe(404);
    expect(errorOf(result).code).toBe('FEEDBACK_DISABLED');
  });

  it('answers 503 FEEDBACK_UNAVAILABLE, not 500, when S3 refuses the label', async () => {
    const failing = new S3Client({ region: 'us-east-1', credentials: CREDENTIALS });
    const s3Mock = mockClient(failing);
    s3Mock.on(PutObjectCommand).rejects(Object.assign(new Error('We encountered an internal error'), { name: 'InternalError' }));
    try {
      const result = await newHandler(newService(), new S3CaptureStore(failing, BUCKET))(feedbackEvent({ request_id: 'r', label: 'bad' }));
      expect(result.statusCode).toBe(503);
      expect(errorOf(result)).toEqual({ code: 'FEEDBACK_UNAVAILABLE', message: 'the label could not be stored now; retry later', details: { model: 'credit' } });
    } finally {
      s3Mock.restore();
      failing.destroy();
    }
  });
});

describe('createApiHandler prediction capture', () => {
  it('answers without waiting past its budget for a capture that never completes, counting CaptureDeferred', async () => {
    const hanging = new PredictionCapture({ sink: { put: () => new Promise<void>(() => undefined) }, sampleRate: 1 });
    const { recorded, restore } = recordSingleMetrics(metrics);
    try {
      const withCapture = asInvocations(createApiHandler({
        service: newService(),
        openApi: {},
        maxRequestBytes: MAX_REQUEST_BYTES,
        corsAllowOrigins: [],
        serviceVersion: '9.9.9',
        logger,
        metrics,
        capture: hanging,
        captureWaitMs: 5,
      }), metrics);
      // A handler that awaited the capture would never answer: the test would time out.
      const result = await withCapture(predictEvent(ONE_INSTANCE));
      expect(result.statusCode).toBe(200);
      expect(recorded.map((r) => r.name)).toContain('CaptureDeferred');
    } finally {
      restore();
    }
  });

  it('answers the prediction when Firehose keeps failing records, logging the records and counting them', async () => {
    // Prepare: every record fails on every attempt (injected), so the sink gives up after its retries.
    const firehose = new FirehoseClient({ region: 'us-east-1', credentials: CREDENTIALS });
    const firehoseMock = mockClient(firehose);
    firehoseMock.on(PutRecordBatchCommand).callsFake((input: { Records: unknown[] }) => ({
      FailedPutCount: input.Records.length,
      RequestResponses: input.Records.map(() => ({ ErrorCode: 'ServiceUnavailableException' })),
    }));
    const capture = new PredictionCapture({ sink: new FirehoseCaptureSink(firehose, 'capture-stream', { baseDelayMs: 0 }), sampleRate: 1 });
    const logged = vi.spyOn(logger, 'error');
    const { recorded, restore: restoreMetrics } = recordSingleMetrics(metrics);
    const counted = (): { name: string; value: number }[] => recorded.map(({ name, value }) => ({ name, value }));
    try {
      // Act
      const result = await newHandler(newService(), undefined, capture)(
        predictEvent(JSON.stringify({ instances: [CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE] }), { headers: { 'x-request-id': 'lost-1' } }),
      );

      // Assess: the caller got its predictions; the two records are in the log and in CaptureFailures.
      expect(result.statusCode).toBe(200);
      expect(json(result)).toMatchObject({ request_id: 'lost-1', model_version: 1 });
      // Past the handler's wait budget (50 ms; slow machines) the failure is reported in the background: wait for it.
      await vi.waitFor(() => expect(counted()).toContainEqual({ name: 'CaptureFailures', value: 2 }), { timeout: 10_000 });
      expect(firehoseMock.commandCalls(PutRecordBatchCommand)).toHaveLength(3);
      const failure = logged.mock.calls.find(([message]) => message === 'prediction capture failed');
      expect(failure?.[1]).toMatchObject({
        request_id: 'lost-1',
        records: [expect.objectContaining({ request_id: 'lost-1', row: 0 }), expect.objectContaining({ request_id: 'lost-1', row: 1 })],
      });
      expect(counted()).toContainEqual({ name: 'CaptureFailures', value: 2 });
    } finally {
      logged.mockRestore();
      restoreMetrics();
      firehoseMock.restore();
      firehose.destroy();
    }
  });
});

describe('createApiHandler per-version answers', () => {
  it('adds 0 or 1 (5xx) per answer to VersionServerErrors of its function version, which the rollback alarm reads', async () => {
    const { recorded, restore } = recordSingleMetrics(metrics);
    const failing: RegistryReader = {
      getModel: async () => Promise.reject(new Error('registry down')),
      getVersion: async () => Promise.reject(new Error('registry down')),
      listModels: async () => Promise.reject(new Error('registry down')),
      listVersions: async () => Promise.reject(new Error('registry down')),
    };
    const quiet = vi.spyOn(logger, 'error').mockImplementation(() => {});
    try {
      const handler = asInvocations(createApiHandler({
        service: newService(failing),
        openApi: {},
        maxRequestBytes: MAX_REQUEST_BYTES,
        corsAllowOrigins: [],
        serviceVersion: '9.9.9',
        logger,
        metrics,
        functionVersion: '7',
      }), metrics);
      expect((await handler(predictEvent(JSON.stringify({ instances: [CREDIT_INSTANCE] })))).statusCode).toBe(503);
      expect((await handler(apiGatewayEvent({ method: 'GET', resource: '/v1/health', path: '/v1/health' }))).statusCode).toBe(200);
      expect(recorded.filter((r) => r.name === 'VersionServerErrors')).toEqual([
        { dimensions: { function_version: '7' }, name: 'VersionServerErrors', value: 1 },
        { dimensions: { function_version: '7' }, name: 'VersionServerErrors', value: 0 },
      ]);
    } finally {
      restore();
      quiet.mockRestore();
    }
  });
});

describe('createApiHandler API consumers', () => {
  /** A handler whose key `key-id` (the events' `apiKeyId`) is consumer bank-a, limited to credit; what it counts and captures. */
  function consumerHandler(consumers: Record<string, { name: string; models?: string[] }>, defaultKey?: boolean) {
    const captured: unknown[] = [];
    const { recorded, restore: restoreMetrics } = recordSingleMetrics(metrics);
    // What was counted, by name and dimensions.
    const counted = {
      get all(): { name: string; dimensions: Record<string, string> }[] {
        return recorded.map(({ name, dimensions }) => ({ name, dimensions }));
      },
    };
    const keySpy = vi.spyOn(logger, 'appendKeys');
    const handler = asInvocations(
      createApiHandler({
        service: newService(),
        openApi: {},
        maxRequestBytes: MAX_REQUEST_BYTES,
        corsAllowOrigins: [],
        serviceVersion: '9.9.9',
        logger,
        metrics,
        capture: new PredictionCapture({ sink: { put: async (records) => void captured.push(...records) }, sampleRate: 1 }),
        consumers: () => consumers,
        ...(defaultKey === undefined ? {} : { defaultKey }),
      }),
      metrics,
    );
    const restore = (): void => {
      restoreMetrics();
      keySpy.mockRestore();
    };
    return { handler, counted, captured, keySpy, restore };
  }

  it('names the consumer in its log keys, ConsumerRequests and the captured records, and refuses models outside its list', async () => {
    const { handler, counted, captured, keySpy, restore } = consumerHandler({ 'key-id': { name: 'bank-a', models: ['credit'] } });
    try {
      expect((await handler(predictEvent(ONE_INSTANCE))).statusCode).toBe(200);
      expect(keySpy).toHaveBeenCalledWith({ consumer: 'bank-a' });
      expect(counted.all).toContainEqual({ name: 'ConsumerRequests', dimensions: { consumer: 'bank-a', route: 'predict' } });
      expect(captured).toEqual([expect.objectContaining({ model: 'credit', consumer: 'bank-a' })]);

      const refused = await handler(predictEvent(ONE_INSTANCE, { path: '/v1/models/fraud/predict', model: 'fraud' }));
      expect(refused.statusCode).toBe(403);
      expect(errorOf(refused)).toEqual({
        code: 'MODEL_NOT_ALLOWED',
        message: 'consumer bank-a may not call model fraud',
        details: { consumer: 'bank-a', model: 'fraud', allowed: ['credit'] },
      });
      expect(counted.all).toContainEqual({ name: 'ClientErrors', dimensions: { code: 'MODEL_NOT_ALLOWED' } });
    } finally {
      restore();
    }
  });

  it('treats a key outside the directory as the default consumer, and adds nothing where no consumers are configured', async () => {
    const configured = consumerHandler({ 'another-key': { name: 'bank-b', models: ['fraud'] } });
    try {
      expect((await configured.handler(predictEvent(ONE_INSTANCE))).statusCode).toBe(200);
      expect(configured.counted.all).toContainEqual({ name: 'ConsumerRequests', dimensions: { consumer: 'default', route: 'predict' } });
    } finally {
      configured.restore();
    }
    const none = consumerHandler({});
    try {
      expect((await none.handler(predictEvent(ONE_INSTANCE))).statusCode).toBe(200);
      expect(none.counted.all.map((metric) => metric.name)).not.toContain('ConsumerRequests');
      expect(none.keySpy).not.toHaveBeenCalledWith(expect.objectContaining({ consumer: expect.anything() }));
      expect(none.captured).toEqual([expect.objectContaining({ consumer: 'default' })]);
    } finally {
      none.restore();
    }
  });

  it('refuses a key outside the directory with 403 FORBIDDEN when the deployment has no default key, before any model lookup', async () => {
    const off = consumerHandler({ 'another-key': { name: 'bank-b', models: ['fraud'] } }, false);
    try {
      // key-id is no consumer's: without the default key it is not served as the unrestricted default consumer.
      for (const model of ['credit', 'fraud', 'no-such-model']) {
        const refused = await off.handler(predictEvent(ONE_INSTANCE, { path: `/v1/models/${model}/predict`, model }));
        expect(refused.statusCode).toBe(403);
        expect(errorOf(refused)).toEqual({
          code: 'FORBIDDEN',
          message: 'this API key belongs to no API consumer, and the deployment has no default key (api.defaultKey)',
          details: {},
        });
      }
      expect(off.captured).toEqual([]);
    } finally {
      off.restore();
    }
    // The same key with the default key on: the default consumer, as before.
    const on = consumerHandler({ 'another-key': { name: 'bank-b', models: ['fraud'] } }, true);
    try {
      expect((await on.handler(predictEvent(ONE_INSTANCE))).statusCode).toBe(200);
    } finally {
      on.restore();
    }
  });

  it("serves a configured consumer's key whether or not the default key exists", async () => {
    const off = consumerHandler({ 'key-id': { name: 'bank-a', models: ['credit'] } }, false);
    try {
      expect((await off.handler(predictEvent(ONE_INSTANCE))).statusCode).toBe(200);
      expect(off.captured).toEqual([expect.objectContaining({ consumer: 'bank-a' })]);
    } finally {
      off.restore();
    }
  });
});
