import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  FUZZ_SEED,
  expectWellFormed,
  feedbackBodyArbitrary,
  fuzzTarget,
  headersArbitrary,
  methodArbitrary,
  modelNameArbitrary,
  pathArbitrary,
  predictBodyArbitrary,
  proxyEvent,
  runs,
  type FuzzTarget,
} from './support.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * Property-based fuzzing of the inference API's handler, in-process with REST proxy events: whatever the body,
 * headers, path or model name, the answer is a 2xx with finite numbers or a 4xx JSON error with a code, never a 5xx.
 * Seeded (FUZZ_SEED); FUZZ_RUNS raises the number of cases (`npm run fuzz`).
 */

let target: FuzzTarget;

beforeAll(async () => {
  target = await fuzzTarget();
}, 60_000);

const settings = (numRuns: number) => ({ seed: FUZZ_SEED, numRuns: runs(numRuns), endOnFailure: true });

describe('inference API handler under fuzzed input', () => {
  it('answers every predict body with a 2xx of finite probabilities or a 4xx JSON error', async () => {
    let scored = 0;
    await fc.assert(
      fc.asyncProperty(predictBodyArbitrary(target.schema), headersArbitrary, async (body, headers) => {
        const result = await target.handler(proxyEvent('POST', '/v1/models/credit/predict', body, headers));
        expectWellFormed(result.statusCode, result.body, `predict ${body?.slice(0, 200)}`);
        if (result.statusCode === 200) scored++;
      }),
      settings(2000),
    );
    // The generator reaches the model, not only validation.
    expect(scored).toBeGreaterThan(0);
  });

  it('answers every explain body with a 2xx of finite attributions or a 4xx JSON error', async () => {
    let explained = 0;
    await fc.assert(
      fc.asyncProperty(predictBodyArbitrary(target.schema), headersArbitrary, async (body, headers) => {
        const result = await target.handler(proxyEvent('POST', '/v1/models/credit/explain', body, headers));
        expectWellFormed(result.statusCode, result.body, `explain ${body?.slice(0, 200)}`);
        if (result.statusCode === 200) explained++;
      }),
      settings(500),
    );
    // The generator reaches the explainer, not only validation.
    expect(explained).toBeGreaterThan(0);
  });

  it('explains values far beyond the training range (found by the fuzzer: a 500 for a float64 rounding gap)', async () => {
    const instance = { ...CREDIT_INSTANCE, Time: 9007199254740992, Age: 9007199254740992, Income: 9007199254740992, Amount: 9007199254740992 };
    const result = await target.handler(proxyEvent('POST', '/v1/models/credit/explain', JSON.stringify({ instances: [instance] }), {}));
    expectWellFormed(result.statusCode, result.body, 'explain of 9e15 values');
    expect(result.statusCode).toBe(200);
  });

  it('answers every feedback body with a 2xx or a 4xx JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(feedbackBodyArbitrary, headersArbitrary, async (body, headers) => {
        const result = await target.handler(proxyEvent('POST', '/v1/models/credit/feedback', body, headers));
        expectWellFormed(result.statusCode, result.body, `feedback ${body?.slice(0, 200)}`);
      }),
      settings(1000),
    );
    expect(target.feedback.length).toBeGreaterThan(0);
  });

  it('answers every method, path and model name with a 2xx or a 4xx JSON error', async () => {
    await fc.assert(
      fc.asyncProperty(methodArbitrary, pathArbitrary, fc.option(predictBodyArbitrary(target.schema)), headersArbitrary, async (method, path, body, headers) => {
        const result = await target.handler(proxyEvent(method, path, body ?? null, headers));
        expectWellFormed(result.statusCode, result.body, `${method} ${path.slice(0, 200)}`);
      }),
      settings(1000),
    );
  });

  it('answers a model name the registry cannot hold with a 4xx on every model route', async () => {
    await fc.assert(
      fc.asyncProperty(modelNameArbitrary, fc.constantFrom('', '/versions', '/predict', '/feedback'), async (name, suffix) => {
        const path = `/v1/models/${encodeURIComponent(name)}${suffix}`;
        const method = suffix === '/predict' || suffix === '/feedback' ? 'POST' : 'GET';
        const event = { ...proxyEvent(method, path, '{"instances":[{}]}', {}), pathParameters: { model: name } };
        const result = await target.handler(event);
        expectWellFormed(result.statusCode, result.body, `${method} ${path.slice(0, 200)}`);
      }),
      settings(500),
    );
  });
});
