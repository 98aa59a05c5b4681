import { createHash } from 'node:crypto';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { expect } from 'vitest';
import fc from 'fast-check';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { openApiDocument } from '#core/api/openapi.ts';
import type { CaptureRecord, FeedbackRecord } from '#core/capture/records.ts';
import { PredictionCapture } from '#core/capture/prediction-capture.ts';
import type { InputSchema } from '#core/model/metadata.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { ModelService } from '#core/serving/model-service.ts';
import { logger, metrics } from '#shared/powertools.ts';
import { createApiHandler, type ApiHandler } from '../../lambdas/inference-api/api-handler.ts';
import { matchRoute } from '../../contracts/routes.ts';
import { REFERENCE_MODEL, seedReferenceModel } from '../../local/seed.ts';
import { InMemoryRegistryStore } from '../support/in-memory-registry-store.ts';

/**
 * What the fuzz suites share: the handler wired as in Lambda over in-memory stores (the registry, the artifacts, the
 * capture and feedback sinks) with the real onnxruntime engine and the seeded reference model; the arbitraries of
 * bodies, headers, paths and model names; and the one property every answer must have.
 */

/** Cases per property: a few seconds in `npm test`; `npm run fuzz` raises it (FUZZ_RUNS). */
export function runs(defaultRuns: number): number {
  const scale = Number(process.env.FUZZ_RUNS ?? '0');
  return scale > 0 ? scale : defaultRuns;
}

/** Seeded so that a failure replays; FUZZ_SEED picks another. */
export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? '20261201');

export const MAX_BATCH_SIZE = 20;
export const MAX_REQUEST_BYTES = 256 * 1024;

export interface FuzzTarget {
  readonly handler: ApiHandler;
  readonly schema: InputSchema;
  readonly captured: CaptureRecord[];
  readonly feedback: FeedbackRecord[];
}

/** The handler over in-memory stores, seeded with the reference model (trained once per file). */
export async function fuzzTarget(): Promise<FuzzTarget> {
  const artifacts = new Map<string, Uint8Array>();
  const store = {
    async putArtifact(key: string, bytes: Uint8Array): Promise<void> {
      artifacts.set(key, bytes);
    },
    async getArtifact(key: string): Promise<Uint8Array> {
      const bytes = artifacts.get(key);
      if (bytes === undefined) throw new Error(`no artifact ${key}`);
      return bytes;
    },
  };
  const registryStore = new InMemoryRegistryStore();
  await seedReferenceModel(new RegistryService({ store: registryStore }), store);
  const service = new ModelService({
    registry: registryStore,
    artifacts: store,
    engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
    cacheTtlMs: 60_000,
    maxBatchSize: MAX_BATCH_SIZE,
    outOfRange: { policy: 'warn', tolerance: 0.1 },
  });
  const captured: CaptureRecord[] = [];
  const feedback: FeedbackRecord[] = [];
  const handler = createApiHandler({
    service,
    openApi: openApiDocument({ maxBatchSize: MAX_BATCH_SIZE, maxRequestBytes: MAX_REQUEST_BYTES, version: 'fuzz' }),
    maxRequestBytes: MAX_REQUEST_BYTES,
    corsAllowOrigins: ['https://app.example.com'],
    serviceVersion: 'fuzz',
    logger,
    metrics,
    capture: new PredictionCapture({
      sink: {
        async put(records) {
          if (captured.length < 1000) captured.push(...records);
        },
      },
      sampleRate: 1,
    }),
    feedback: {
      async putFeedback(record) {
        if (feedback.length < 1000) feedback.push(record);
      },
    },
  });
  const { input_schema: schema } = (await registryStore.getVersion(REFERENCE_MODEL, 1))?.metadata ?? {};
  if (schema === undefined) throw new Error('the reference model was not seeded');
  // Lambda's logMetrics middleware publishes (and so clears) the dimensions after each invocation; here nothing
  // does, and thousands of calls would each warn that the route dimension is set again.
  const invoke: ApiHandler = async (event) => {
    try {
      return await handler(event);
    } finally {
      metrics.clearDimensions();
      metrics.clearMetadata();
      metrics.clearMetrics();
    }
  };
  return { handler: invoke, schema, captured, feedback };
}

/** Numbers at the edges: float32's and double's limits, subnormals, negative zero, integers past 2^53. */
const edgeNumbers = fc.constantFrom(0, -0, 1e308, -1e308, 3.4028234663852886e38, 3.5e38, -3.5e38, 5e-324, 1.17e-38, 2 ** 53 + 1, -(2 ** 31), 1e-7, 1e20);

/** Bare tokens JSON does not allow but some writers emit, and numbers past a double. */
const rawNumberTokens = fc.constantFrom('NaN', 'Infinity', '-Infinity', '1e400', '-1e999', '1e-400', '0x10', '01', '.5', '-', '1e', '+1');

/** Any value a client could put where a feature value goes. */
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.double() },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false, '', 'NaN', '__proto__', 'constructor') },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);

/** A value of the feature's own type (most of the time), at the edges of its range too, or anything. */
function featureValue(categories: readonly string[] | undefined): fc.Arbitrary<unknown> {
  const typed =
    categories === undefined
      ? fc.oneof(
          { weight: 6, arbitrary: fc.double({ min: -1e6, max: 1e6, noNaN: true }) },
          { weight: 3, arbitrary: fc.integer({ min: -1_000_000, max: 1_000_000 }) },
          { weight: 1, arbitrary: edgeNumbers },
        )
      : fc.constantFrom(...categories);
  return fc.oneof({ weight: 40, arbitrary: typed }, { weight: 1, arbitrary: anyValue });
}

/** An instance mostly shaped like the schema (so validation goes deep), sometimes missing or adding keys. */
export function instanceArbitrary(schema: InputSchema): fc.Arbitrary<unknown> {
  const shaped = fc
    .record(
      Object.fromEntries(schema.features.map((f) => [f.name, featureValue(f.type === 'categorical' ? f.categories : undefined)])) as Record<string, fc.Arbitrary<unknown>>,
    )
    .chain((row) =>
      fc.record({
        drop: fc.subarray(Object.keys(row), { maxLength: 2 }),
        extra: fc.dictionary(fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'Income ')), anyValue, { maxKeys: 2 }),
        keep: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
      }).map(({ drop, extra, keep }) => {
        if (keep) return row;
        const out: Record<string, unknown> = Object.fromEntries(Object.entries(row).filter(([key]) => !drop.includes(key)));
        for (const [key, value] of Object.entries(extra)) Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
        return out;
      }),
    );
  return fc.oneof({ weight: 8, arbitrary: shaped }, { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) });
}

/** The text of a predict body: JSON of instances, mutated JSON, foreign JSON, bare tokens, not JSON at all. */
export function predictBodyArbitrary(schema: InputSchema): fc.Arbitrary<string | null> {
  const instances = fc.oneof(
    { weight: 8, arbitrary: fc.array(instanceArbitrary(schema), { minLength: 1, maxLength: 4 }) },
    { weight: 1, arbitrary: fc.array(instanceArbitrary(schema), { minLength: 0, maxLength: MAX_BATCH_SIZE + 2 }) },
  );
  const json = instances.map((list) => JSON.stringify({ instances: list }));
  const withToken = fc
    .tuple(fc.array(instanceArbitrary(schema), { minLength: 1, maxLength: 3 }), rawNumberTokens)
    .map(([list, token]) => JSON.stringify({ instances: list }).replace(/:(-?\d[\d.e+-]*)/, `:${token}`));
  return fc.oneof(
    { weight: 30, arbitrary: json },
    { weight: 9, arbitrary: withToken },
    { weight: 3, arbitrary: fc.anything().map((value) => JSON.stringify(value) ?? 'undefined') },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        null,
        '',
        '{',
        '{"instances":',
        '{"instances":{}}',
        `{"instances":[${'['.repeat(5000)}${']'.repeat(5000)}]}`,
        `{"instances":[{"${'k'.repeat(100_000)}":1}]}`,
        '{"__proto__":{"instances":[]}}',
        '{"instances":[],"instances":[{}]}',
      ),
    },
  );
}

/** The text of a feedback body. */
export const feedbackBodyArbitrary: fc.Arbitrary<string | null> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .record(
        {
          request_id: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 260 }), fc.constantFrom('€'.repeat(200), '../'.repeat(66), '%'.repeat(200)), fc.anything({ maxDepth: 1 })),
          label: fc.oneof(fc.constantFrom('good', 'bad', 'Good', ''), fc.anything({ maxDepth: 1 })),
          row: fc.oneof(fc.nat(50), fc.integer(), fc.double(), fc.string()),
          extra: fc.anything({ maxDepth: 1 }),
        },
        { requiredKeys: ['request_id', 'label'] },
      )
      .map((body) => JSON.stringify(body)),
  },
  { weight: 1, arbitrary: fc.anything().map((value) => JSON.stringify(value) ?? 'null') },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, '', '{"request_id":"r","label":"good","pad":"' + 'x'.repeat(20_000) + '"}') },
);

/** Model names: the real one, near misses, the registry's pattern, and anything (up to 3,000 characters). */
export const modelNameArbitrary: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant(REFERENCE_MODEL) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9][a-z0-9-_]{0,62}$/) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 80 }) },
  { weight: 1, arbitrary: fc.constantFrom('Credit', 'credit ', '..', '.', '%2F', 'a'.repeat(64), 'm'.repeat(2043), 'x'.repeat(3000), '__proto__', 'constructor') },
);

export const methodArbitrary = fc.constantFrom('GET', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD');

/** A path: one of the API's routes with a fuzzed model name, or a near miss. */
export const pathArbitrary: fc.Arbitrary<string> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(modelNameArbitrary, fc.constantFrom('/predict', '/feedback', '/versions', '', '/explain', '/predict/', '/nope'))
      .map(([name, suffix]) => `/v1/models/${encodeURIComponent(name)}${suffix}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('/v1/health', '/v1/openapi.json', '/v1/models', '/', '/v1', '/v1/models//predict', '/v1/models/%E0%A4%A/predict', '/v1/models/credit/../credit/predict', '/dashboard', '/local/v1/nothing', '//', '//evil.example/v1/health', '/v1/health?x=%ZZ') },
  { weight: 1, arbitrary: fc.webPath() },
);

/** Headers a client controls (the API key is added by the callers that need it). */
export const headersArbitrary: fc.Arbitrary<Record<string, string>> = fc.record(
  {
    'x-request-id': fc.oneof(fc.string({ maxLength: 220 }), fc.constantFrom('r'.repeat(201), '  ', 'é'.repeat(10))),
    'x-entity-key': fc.string({ maxLength: 100 }),
    'content-type': fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
    origin: fc.constantFrom('https://app.example.com', 'https://evil.example', 'null'),
  },
  { requiredKeys: [] },
);

/** A REST proxy event as API Gateway sends it for `method path` (the resource filled when a route matches). */
export function proxyEvent(method: string, path: string, body: string | null, headers: Record<string, string>): APIGatewayProxyEvent {
  const match = matchRoute(method, path);
  const resource = match.kind === 'matched' ? match.route.resource : path;
  const pathParameters = match.kind === 'matched' && Object.keys(match.pathParameters).length > 0 ? match.pathParameters : null;
  return {
    resource,
    path,
    httpMethod: method,
    headers: { 'x-api-key': 'k', ...headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters,
    stageVariables: null,
    body,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'fuzz',
      authorizer: null,
      protocol: 'HTTP/1.1',
      httpMethod: method,
      identity: {
        accessKey: null,
        accountId: null,
        apiKey: 'k',
        apiKeyId: null,
        caller: null,
        clientCert: null,
        cognitoAuthenticationProvider: null,
        cognitoAuthenticationType: null,
        cognitoIdentityId: null,
        cognitoIdentityPoolId: null,
        principalOrgId: null,
        sourceIp: '203.0.113.7',
        user: null,
        userAgent: 'fuzz',
        userArn: null,
      },
      path,
      stage: 'prod',
      requestId: createHash('sha256').update(`${method} ${path}`).digest('hex').slice(0, 32),
      requestTimeEpoch: 0,
      resourceId: 'fuzz',
      resourcePath: resource,
    },
  };
}

/**
 * The property: a 2xx whose JSON has only finite numbers (and a probability in [0, 1] per prediction), or a 4xx
 * whose JSON is `{"error": {"code", "message", "details"}}` with a non-empty code. Never a 5xx. `bodyless` answers
 * (HEAD, a 204 preflight) only need the status.
 */
export function expectWellFormed(status: number, body: string, context: string, bodyless = false): void {
  if (status >= 500) expect.fail(`${context}: answered ${status}: ${body.slice(0, 300)}`);
  expect(status, context).toBeGreaterThanOrEqual(200);
  if (bodyless || status === 204) return;
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    expect.fail(`${context}: answered ${status} with a body that is not JSON: ${body.slice(0, 200)}`);
  }
  if (status < 300) {
    // JSON.stringify writes NaN and ±Infinity as null: an explanation's numbers are all present and finite.
    const explanations = (json as { explanations?: Record<string, unknown>[] }).explanations;
    for (const explanation of explanations ?? []) {
      for (const field of ['probability', 'log_odds', 'base_value']) {
        expect(Number.isFinite(explanation[field]), `${context}: explanation ${field} = ${String(explanation[field])}`).toBe(true);
      }
      for (const [feature, attribution] of Object.entries(explanation.attributions as Record<string, unknown>)) {
        expect(Number.isFinite(attribution), `${context}: attribution of ${feature} = ${String(attribution)}`).toBe(true);
      }
    }
    const predictions = (json as { predictions?: { probability: unknown; label: unknown }[] }).predictions;
    if (predictions !== undefined) {
      for (const prediction of predictions) {
        expect(typeof prediction.probability, context).toBe('number');
        expect(prediction.probability as number, context).toBeGreaterThanOrEqual(0);
        expect(prediction.probability as number, context).toBeLessThanOrEqual(1);
        expect(typeof prediction.label, context).toBe('string');
      }
    }
    return;
  }
  expect(status, context).toBeLessThan(500);
  const error = (json as { error?: { code?: unknown; message?: unknown; details?: unknown } }).error;
  expect(typeof error?.code === 'string' && error.code.length > 0, `${context}: ${body.slice(0, 200)}`).toBe(true);
  expect(typeof error?.message, context).toBe('string');
  expect(typeof error?.details === 'object' && error.details !== null, context).toBe(true);
  expect(body.length, `${context}: an error answer of ${body.length} characters`).toBeLessThan(64 * 1024);
}
