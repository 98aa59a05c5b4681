import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { PLATFORM_FILE_NAME, writePlatformFile } from '../../local/platform-file.ts';
import { CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE, creditBatch } from '../support/credit-instances.ts';

/**
 * The local platform end to end over HTTP: dynalite, s3rver, the seeded reference model and
 * the Lambda handler behind the local gateway, all on 127.0.0.1 with free ports.
 */

const API_KEY = 'test-key-0123456789';
let dataDir: string;
let platform: LocalPlatform;
/** Whether the first start, on an empty data directory, seeded it (a later test restarts the platform). */
let seededOnFirstStart: boolean;

async function call(
  method: string,
  path: string,
  body?: string,
  headers: Record<string, string> = { 'x-api-key': API_KEY },
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A request with headers fetch would not send as given (Host, oversized ones). */
function rawHttp(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(platform.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ hostname, port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Bytes written to the gateway's socket as they are; resolves to everything it answered. */
function rawSocket(bytes: string): Promise<string> {
  const { hostname, port } = new URL(platform.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(bytes));
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

function predict(body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return call('POST', '/v1/models/credit/predict', body);
}

function errorOf(json: Record<string, unknown>): { code: string; message: string; details: Record<string, unknown> } {
  return json.error as { code: string; message: string; details: Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-platform-'));
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0 });
  seededOnFirstStart = platform.seeded;
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local platform', () => {
  it('seeds the empty registry with the reference model', async () => {
    expect(seededOnFirstStart).toBe(true);
    expect((await call('GET', '/v1/models')).json.models).toEqual([expect.objectContaining({ model: 'credit', production_version: 1 })]);
  });

  it('answers health without an API key', async () => {
    const { status, json } = await call('GET', '/v1/health', undefined, {});
    expect(status).toBe(200);
    expect(json.status).toBe('ok');
  });

  it('serves its OpenAPI document without an API key', async () => {
    const { status, json } = await call('GET', '/v1/openapi.json', undefined, {});
    expect(status).toBe(200);
    expect(json.openapi).toBe('3.1.0');
    expect(Object.keys(json.paths as object)).toContain('/v1/models/{model}/predict');
  });

  it('lists the models and describes one with its schema and holdout metrics', async () => {
    const list = await call('GET', '/v1/models');
    expect(list.status).toBe(200);
    expect(list.json.models).toEqual([expect.objectContaining({ model: 'credit', production_version: 1 })]);

    const described = await call('GET', '/v1/models/credit');
    expect(described.status).toBe(200);
    expect(described.json.algorithm).toBe('logistic_regression');
    expect((described.json.metrics as Record<string, number>).roc_auc).toBeGreaterThanOrEqual(0.82);
    const features = (described.json.input_schema as { features: { name: string }[] }).features.map((f) => f.name);
    expect(features).toEqual(expect.arrayContaining(Object.keys(CREDIT_INSTANCE)));
  });

  it('predicts probabilities from the real ONNX model, in request order', async () => {
    const { status, json } = await predict(JSON.stringify({ instances: [CREDIT_INSTANCE, RISKY_CREDIT_INSTANCE] }));
    expect(status).toBe(200);
    expect(json.model).toBe('credit');
    expect(json.model_version).toBe(1);
    const predictions = json.predictions as { label: string; probability: number }[];
    expect(predictions).toHaveLength(2);
    for (const prediction of predictions) {
      expect(prediction.probability).toBeGreaterThan(0);
      expect(prediction.probability).toBeLessThan(1);
      expect(prediction.label).toBe(prediction.probability >= 0.5 ? 'bad' : 'good');
    }
    const [safe, risky] = predictions;
    expect(risky?.probability).toBeGreaterThan(safe?.probability ?? 1);
  });

  it('treats an explicit null as a missing value and imputes it where the schema allows', async () => {
    const { status, json } = await predict(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Income: null, Home: null }] }));
    expect(status).toBe(200);
    expect((json.predictions as unknown[]).length).toBe(1);
  });

  it('accepts a batch at the limit', async () => {
    const { status, json } = await predict(JSON.stringify({ instances: creditBatch(1000) }));
    expect(status).toBe(200);
    expect((json.predictions as unknown[]).length).toBe(1000);
  });

  it('refuses a call without an API key with a 403 JSON error', async () => {
    const { status, json } = await call('POST', '/v1/models/credit/predict', JSON.stringify({ instances: [CREDIT_INSTANCE] }), {});
    expect(status).toBe(403);
    expect(errorOf(json).code).toBe('FORBIDDEN');
  });

  it('answers 413 PAYLOAD_TOO_LARGE, not a 502, to a body over the gateway limit on the API and on the local admin routes', async () => {
    const oversized = JSON.stringify({ padding: 'x'.repeat(10 * 1024 * 1024 + 1) });
    for (const path of ['/v1/models/credit/predict', '/local/v1/pipeline/runs']) {
      const { status, json } = await call('POST', path, oversized);
      expect([path, status, errorOf(json).code]).toEqual([path, 413, 'PAYLOAD_TOO_LARGE']);
    }
  });

  it('refuses a wrong API key with a 403 JSON error', async () => {
    const { status, json } = await call('GET', '/v1/models', undefined, { 'x-api-key': 'wrong' });
    expect(status).toBe(403);
    expect(errorOf(json).code).toBe('FORBIDDEN');
  });

  it('answers 404 for an unknown model', async () => {
    const { status, json } = await call('POST', '/v1/models/nope/predict', JSON.stringify({ instances: [CREDIT_INSTANCE] }));
    expect(status).toBe(404);
    expect(errorOf(json)).toMatchObject({ code: 'MODEL_NOT_FOUND', details: { model: 'nope' } });
  });

  it('answers 404 and 405 only to a caller with the key: 403 without one', async () => {
    for (const [method, path] of [['GET', '/v1/nothing'], ['GET', '/v1/models/credit/predict'], ['DELETE', '/v1/models']]) {
      const { status, json } = await call(method as string, path as string, undefined, {});
      expect([method, path, status, errorOf(json).code]).toEqual([method, path, 403, 'FORBIDDEN']);
    }
    expect((await call('POST', '/v1/health', undefined, {})).status).toBe(405);
  });

  it('answers a Host naming another origin (DNS rebinding) with 421, and its own names normally', async () => {
    const port = new URL(platform.url).port;
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1:${Number(port) + 1}`, '']) {
      const { status, body } = await rawHttp('GET', '/dashboard', { host });
      expect([host, status, (JSON.parse(body) as { error: { code: string } }).error.code]).toEqual([host, 421, 'HOST_NOT_ALLOWED']);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`]) expect((await rawHttp('GET', '/v1/health', { host })).status).toBe(200);
  });

  it("answers Node's parser errors with JSON: 431 for oversized headers, 400 for a malformed request", async () => {
    const big = await rawHttp('GET', '/v1/health', { 'x-pad': 'x'.repeat(64 * 1024) });
    expect(big.status).toBe(431);
    expect(JSON.parse(big.body)).toMatchObject({ error: { code: 'HEADERS_TOO_LARGE' } });
    const garbage = await rawSocket('NOT HTTP AT ALL\r\n\r\n');
    expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'MALFORMED_REQUEST' } });
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('answers a 2,043-character model name and Income 1e308 with a 400, and stores feedback for a 200-character id', async () => {
    const name = await call('POST', `/v1/models/${'m'.repeat(2043)}/predict`, JSON.stringify({ instances: [CREDIT_INSTANCE] }));
    expect([name.status, errorOf(name.json).code]).toEqual([400, 'INVALID_MODEL_NAME']);
    const huge = await predict(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Income: 1e308 }] }));
    expect([huge.status, errorOf(huge.json).code]).toEqual([400, 'VALUE_BEYOND_FLOAT32']);
    for (const id of ['€'.repeat(200), '../'.repeat(66), 'r'.repeat(200)]) {
      const feedback = await call('POST', '/v1/models/credit/feedback', JSON.stringify({ request_id: id, label: 'good' }));
      expect(feedback.status).toBe(200);
    }
    expect((await call('GET', '/v1/health')).status).toBe(200);
  });

  it('writes platform.json (which holds the API key) readable by its owner only', () => {
    writePlatformFile(dataDir, platform);
    expect(statSync(join(dataDir, PLATFORM_FILE_NAME)).mode & 0o777).toBe(0o600);
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    expect((await call('GET', '/v1/nothing')).status).toBe(404);
    const wrongMethod = await call('GET', '/v1/models/credit/predict');
    expect(wrongMethod.status).toBe(405);
    expect(errorOf(wrongMethod.json).code).toBe('METHOD_NOT_ALLOWED');
  });

  describe('bad input gets a 400 with its own code and the offending field', () => {
    it('NaN', async () => {
      const body = JSON.stringify({ instances: [CREDIT_INSTANCE] }).replace('"Income":129', '"Income":NaN');
      const { status, json } = await predict(body);
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].Income' } });
    });

    it('Infinity', async () => {
      const body = JSON.stringify({ instances: [CREDIT_INSTANCE] }).replace('"Debt":0', '"Debt":-Infinity');
      const { status, json } = await predict(body);
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'NON_FINITE_VALUE', details: { field: 'instances[0].Debt' } });
    });

    it('a number too large for a double', async () => {
      const body = JSON.stringify({ instances: [CREDIT_INSTANCE] }).replace('"Debt":0', '"Debt":1e999');
      const { status, json } = await predict(body);
      expect(status).toBe(400);
      expect(errorOf(json).code).toBe('NON_FINITE_VALUE');
    });

    it('a string for a number', async () => {
      const { status, json } = await predict(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Age: '30' }] }));
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'INVALID_TYPE', details: { field: 'instances[0].Age', expected: 'number' } });
    });

    it('an omitted feature', async () => {
      const { Amount: _omitted, ...withoutAmount } = CREDIT_INSTANCE;
      const { status, json } = await predict(JSON.stringify({ instances: [withoutAmount] }));
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'MISSING_FEATURE', details: { field: 'instances[0].Amount' } });
    });

    it('an unknown feature', async () => {
      const { status, json } = await predict(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Shoe: 42 }] }));
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'UNKNOWN_FEATURE', details: { field: 'instances[0].Shoe' } });
    });

    it('an unknown category', async () => {
      const { status, json } = await predict(JSON.stringify({ instances: [{ ...CREDIT_INSTANCE, Home: 'castle' }] }));
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'UNKNOWN_CATEGORY', details: { field: 'instances[0].Home' } });
    });

    it('a 2000-row batch', async () => {
      const { status, json } = await predict(JSON.stringify({ instances: creditBatch(2000) }));
      expect(status).toBe(400);
      expect(errorOf(json)).toMatchObject({ code: 'BATCH_TOO_LARGE', details: { received: 2000, limit: 1000 } });
    });

    it('malformed JSON', async () => {
      const { status, json } = await predict('{"instances": [');
      expect(status).toBe(400);
      expect(errorOf(json).code).toBe('MALFORMED_JSON');
    });

    it('an empty batch', async () => {
      const { status, json } = await predict(JSON.stringify({ instances: [] }));
      expect(status).toBe(400);
      expect(errorOf(json).code).toBe('EMPTY_BATCH');
    });
  });

  it('keeps its data across a restart and does not seed twice', async () => {
    await platform.stop();
    platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0 });
    expect(platform.seeded).toBe(false);
    // Past the 2 s registry cache: the answer must come from the restarted emulators, not from what was cached.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const { status, json } = await predict(JSON.stringify({ instances: [CREDIT_INSTANCE] }));
    expect(status).toBe(200);
    expect(json.model_version).toBe(1);
  });
});
