import { describe, expect, it } from 'vitest';
import { API_ROUTES } from '#contracts/routes.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { type ProxyAnswer, proxyEvent, referenceInstance, runPreTrafficCheck } from '#core/serving/pre-traffic-check.ts';

type Feature = ModelMetadata['input_schema']['features'][number];

function metadata(features: readonly Feature[], baseline: Record<string, unknown>): ModelMetadata {
  return { input_schema: { schema_version: 1, features }, baseline } as unknown as ModelMetadata;
}

const numeric = (name: string): Feature => ({ name, type: 'numeric', nullable: false }) as Feature;
const categorical = (name: string, categories: string[]): Feature => ({ name, type: 'categorical', nullable: false, categories }) as Feature;
const numericProfile = (quantiles: number[], mean: number) => ({ type: 'numeric', count: 10, missing_rate: 0, min: 0, max: 100, mean, std: 1, quantiles });
const categoricalProfile = (frequencies: Record<string, number>) => ({ type: 'categorical', count: 10, missing_rate: 0, frequencies });

describe('referenceInstance', () => {
  it('takes the middle quantile of an odd number of them', () => {
    const meta = metadata([numeric('age')], { age: numericProfile([10, 20, 30, 40, 50], 99) });
    expect(referenceInstance(meta)).toEqual({ age: 30 });
  });

  it('takes the upper middle quantile of an even number of them', () => {
    const meta = metadata([numeric('age')], { age: numericProfile([10, 20, 30, 40], 99) });
    expect(referenceInstance(meta)).toEqual({ age: 30 });
  });

  it('falls back to the mean without quantiles, and to 0 when that is not finite, the profile is categorical or absent', () => {
    const meta = metadata([numeric('a'), numeric('b'), numeric('c'), numeric('d')], {
      a: numericProfile([], 7.5),
      b: numericProfile([], Number.NaN),
      c: categoricalProfile({ x: 1 }),
    });
    expect(referenceInstance(meta)).toEqual({ a: 7.5, b: 0, c: 0, d: 0 });
  });

  it('takes the most frequent category the schema knows, ignoring categories only the baseline has', () => {
    const meta = metadata([categorical('home', ['owner', 'rent', 'free'])], { home: categoricalProfile({ mortgage: 0.5, owner: 0.1, free: 0.3, rent: 0.1 }) });
    expect(referenceInstance(meta)).toEqual({ home: 'free' });
  });

  it('does not take a category from a profile of the other kind, even one named like a letter', () => {
    const meta = metadata([categorical('grade', ['A', 'S'])], { grade: numericProfile([1, 2, 3], 2) });
    expect(referenceInstance(meta)).toEqual({ grade: 'A' });
  });

  it('falls back to the first category of the schema, then to the empty string', () => {
    const meta = metadata([categorical('a', ['x', 'y']), categorical('b', ['p', 'q']), categorical('c', []), categorical('d', ['k'])], {
      a: categoricalProfile({ z: 1 }),
      b: numericProfile([1], 1),
      c: categoricalProfile({}),
    });
    expect(referenceInstance(meta)).toEqual({ a: 'x', b: 'p', c: '', d: 'k' });
  });
});

describe('proxyEvent', () => {
  it('builds the API Gateway REST proxy event of a route with path parameters and a JSON body', () => {
    expect(
      proxyEvent({ route: API_ROUTES.predict, pathParameters: { model: 'credit scoring' }, body: { instances: [] }, requestId: 'r-1', headers: { 'x-api-key': 'k' } }),
    ).toEqual({
      resource: '/v1/models/{model}/predict',
      path: '/v1/models/credit%20scoring/predict',
      httpMethod: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: { model: 'credit scoring' },
      stageVariables: null,
      requestContext: {
        resourcePath: '/v1/models/{model}/predict',
        httpMethod: 'POST',
        path: '/v1/models/credit%20scoring/predict',
        requestId: 'r-1',
        stage: 'pre-traffic',
        identity: { sourceIp: '127.0.0.1', userAgent: 'mlops-pre-traffic-hook' },
      },
      body: '{"instances":[]}',
      isBase64Encoded: false,
    });
  });

  it('has null path parameters and body, and the pre-traffic request id, when given none', () => {
    const event = proxyEvent({ route: API_ROUTES.health });
    expect(event).toMatchObject({ resource: '/v1/health', path: '/v1/health', httpMethod: 'GET', pathParameters: null, body: null, headers: { 'content-type': 'application/json' } });
    expect(event.requestContext).toMatchObject({ requestId: 'pre-traffic' });
  });
});

const meta = metadata([numeric('age')], { age: numericProfile([20, 30, 40], 30) });

function model(name: string, production: number | null): ModelRecord {
  return { model: name, production_version: production } as unknown as ModelRecord;
}

function registry(models: ModelRecord[], known = new Set(['credit@3', 'fraud@1'])) {
  return {
    listModels: async () => models,
    getVersion: async (name: string, version: number) =>
      known.has(`${name}@${version}`) ? ({ model: name, version, metadata: meta } as unknown as ModelVersionRecord) : undefined,
  };
}

/** A version answering health with `health` and every predict with `predict`, recording the events. */
function version(predict: ProxyAnswer | Error, health: ProxyAnswer = { statusCode: 200, body: '{"status":"ok"}' }) {
  const seen: Record<string, unknown>[] = [];
  const invoke = async (event: Record<string, unknown>): Promise<ProxyAnswer> => {
    seen.push(event);
    if (event.resource === '/v1/health') return health;
    if (predict instanceof Error) throw predict;
    return predict;
  };
  return { invoke, seen };
}

const answer = (body: unknown, statusCode = 200): ProxyAnswer => ({ statusCode, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('runPreTrafficCheck', () => {
  it('passes when health answers 200 and every production model predicts one probability in [0, 1]', async () => {
    const target = version(answer({ predictions: [{ probability: 0.3 }] }));
    const result = await runPreTrafficCheck({ registry: registry([model('credit', 3), model('draft', null), model('fraud', 1)]), invoke: target.invoke });
    expect(result).toEqual({
      ok: true,
      checks: [
        { name: 'health', ok: true, detail: 'ok' },
        { name: 'registry', ok: true, detail: 'ok' },
        { name: 'predict credit v3', ok: true, detail: 'ok' },
        { name: 'predict fraud v1', ok: true, detail: 'ok' },
      ],
    });
    // The model without a production version is not called; each model gets its reference instance.
    expect(target.seen.map((event) => event.path)).toEqual(['/v1/health', '/v1/models/credit/predict', '/v1/models/fraud/predict']);
    expect(JSON.parse(String(target.seen[1]?.body))).toEqual({ instances: [{ age: 30 }] });
  });

  it.each([0, 1])('accepts a probability of exactly %s', async (probability) => {
    const result = await runPreTrafficCheck({ registry: registry([model('credit', 3)]), invoke: version(answer({ predictions: [{ probability }] })).invoke });
    expect(result.ok).toBe(true);
  });

  it.each([
    ['a 500', answer({ error: { code: 'INFERENCE_FAILED' } }, 500), 'answered 500: {"error":{"code":"INFERENCE_FAILED"}}'],
    ['a body that is not JSON', answer('<html>'), 'answered 200 without one prediction: <html>'],
    ['no predictions', answer({ result: [] }), 'answered 200 without one prediction: {"result":[]}'],
    ['two predictions', answer({ predictions: [{ probability: 0.1 }, { probability: 0.2 }] }), 'answered 200 without one prediction: {"predictions":[{"probability":0.1},{"probability":0.2}]}'],
    ['no predictions at all', answer({ predictions: [] }), 'answered 200 without one prediction: {"predictions":[]}'],
    ['a probability above 1', answer({ predictions: [{ probability: 1.0001 }] }), 'answered a probability outside [0, 1]: 1.0001'],
    ['a negative probability', answer({ predictions: [{ probability: -0.01 }] }), 'answered a probability outside [0, 1]: -0.01'],
    ['a probability as a string', answer({ predictions: [{ probability: '0.5' }] }), 'answered a probability outside [0, 1]: 0.5'],
    ['no probability', answer({ predictions: [{ label: 1 }] }), 'answered a probability outside [0, 1]: undefined'],
    ['a null probability', answer('{"predictions":[{"probability":null}]}'), 'answered a probability outside [0, 1]: null'],
    ['a null prediction', answer('{"predictions":[null]}'), 'answered a probability outside [0, 1]: undefined'],
  ])('fails a predict check on %s, saying what the version answered', async (_what, predict, detail) => {
    const result = await runPreTrafficCheck({ registry: registry([model('credit', 3)]), invoke: version(predict).invoke });
    expect(result.ok).toBe(false);
    expect(result.checks).toContainEqual({ name: 'predict credit v3', ok: false, detail });
    expect(result.checks.filter((check) => check.ok).map((check) => check.name)).toEqual(['health', 'registry']);
  });

  it('quotes at most 300 characters of a failing answer', async () => {
    const long = 'x'.repeat(1000);
    const result = await runPreTrafficCheck({
      registry: registry([model('credit', 3)]),
      invoke: version(answer(long, 502), answer(long, 503)).invoke,
    });
    expect(result.checks.map((check) => check.detail)).toEqual([`answered 503: ${'x'.repeat(300)}`, 'ok', `answered 502: ${'x'.repeat(300)}`]);
    const unscored = await runPreTrafficCheck({ registry: registry([model('credit', 3)]), invoke: version(answer(long)).invoke });
    expect(unscored.checks[2]?.detail).toBe(`answered 200 without one prediction: ${'x'.repeat(300)}`);
  });

  it('fails on an unhealthy version but still checks the models', async () => {
    const result = await runPreTrafficCheck({
      registry: registry([model('credit', 3)]),
      invoke: version(answer({ predictions: [{ probability: 0.5 }] }), answer({ status: 'down' }, 503)).invoke,
    });
    expect(result.ok).toBe(false);
    expect(result.checks).toEqual([
      { name: 'health', ok: false, detail: 'answered 503: {"status":"down"}' },
      { name: 'registry', ok: true, detail: 'ok' },
      { name: 'predict credit v3', ok: true, detail: 'ok' },
    ]);
  });

  it('turns a thrown invoke into a failed check with its message, an Error or not', async () => {
    const crashed = await runPreTrafficCheck({ registry: registry([model('credit', 3)]), invoke: version(new Error('Task timed out after 3.00 seconds')).invoke });
    expect(crashed.checks[2]).toEqual({ name: 'predict credit v3', ok: false, detail: 'Task timed out after 3.00 seconds' });
    const odd = await runPreTrafficCheck({
      registry: registry([]),
      invoke: async () => {
        throw 'socket hang up';
      },
    });
    expect(odd).toEqual({ ok: false, checks: [{ name: 'health', ok: false, detail: 'socket hang up' }, { name: 'registry', ok: true, detail: 'ok' }] });
  });

  it('fails when the production version is missing from the registry, without calling the version', async () => {
    const target = version(answer({ predictions: [{ probability: 0.5 }] }));
    const result = await runPreTrafficCheck({ registry: registry([model('credit', 4)]), invoke: target.invoke });
    expect(result.ok).toBe(false);
    expect(result.checks[2]).toEqual({ name: 'predict credit v4', ok: false, detail: 'version 4 of credit is not in the registry' });
    expect(target.seen.map((event) => event.path)).toEqual(['/v1/health']);
  });

  it('fails when the registry cannot list the models, checking no model', async () => {
    const target = version(answer({ predictions: [{ probability: 0.5 }] }));
    const result = await runPreTrafficCheck({
      registry: { ...registry([]), listModels: async () => Promise.reject(new Error('ProvisionedThroughputExceeded')) },
      invoke: target.invoke,
    });
    expect(result).toEqual({
      ok: false,
      checks: [
        { name: 'health', ok: true, detail: 'ok' },
        { name: 'registry', ok: false, detail: 'ProvisionedThroughputExceeded' },
      ],
    });
  });

  it('passes with no models at all when the version is healthy', async () => {
    expect(await runPreTrafficCheck({ registry: registry([]), invoke: version(new Error('never called')).invoke })).toEqual({
      ok: true,
      checks: [
        { name: 'health', ok: true, detail: 'ok' },
        { name: 'registry', ok: true, detail: 'ok' },
      ],
    });
  });
});
