import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMlopsConfig } from '../../contracts/config.ts';
import { OnnxArtifactInspector } from '../../lambdas/adapters/onnx-artifact-inspector.ts';
import { registerArtifact } from '../../lambdas/core/registry/registration.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { LocalApiKeys } from '../../local/api-keys.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import { runMlops } from '../support/mlops-cli.ts';

/**
 * API consumers on the local platform: each configured consumer gets its own key; one limited to `credit` is refused
 * any other model with 403 MODEL_NOT_ALLOWED; a rotated key keeps working during its overlap and stops after it. The
 * overlap runs on an injected clock, and the keys survive a restart of the platform on the same data directory.
 */

const DEFAULT_KEY = 'test-key-consumers-default';
const CONSUMERS = parseMlopsConfig({
  api: { consumers: [{ name: 'bank-a', models: ['credit'] }, { name: 'bank-b', throttle: { rateLimit: 5, burstLimit: 10 } }] },
}).api.consumers;

let dataDir: string;
let platform: LocalPlatform;
let clock = Date.parse('2026-01-01T00:00:00Z');

function keyOf(consumer: string): string {
  const key = platform.apiKeys.list().find((k) => k.consumer === consumer && k.expires_at === undefined);
  if (key === undefined) throw new Error(`no key for ${consumer}`);
  return key.value;
}

async function call(path: string, key: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const predict = (model: string, key: string) => call(`/v1/models/${model}/predict`, key, { instances: [CREDIT_INSTANCE] });

async function start(): Promise<void> {
  platform = await startLocalPlatform({ dataDir, apiKey: DEFAULT_KEY, port: 0, consumers: CONSUMERS, now: () => clock });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-consumers-'));
  await start();
  // A second model, `fraud` (the credit graph under another name), that only bank-b may call.
  const { onnx, metadata } = await trainCreditModel();
  const { version } = await registerArtifact(
    { model: 'fraud', bytes: onnx, metadata, description: 'second model', actor: 'test', reason: 'consumers test' },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts: platform.artifacts,
      registry: platform.registryService,
      sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
    },
  );
  await platform.registryService.promote({ model: 'fraud', version: version.version, actor: 'test', reason: 'consumers test' });
}, 120_000);

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('API consumers on the local platform', () => {
  it('gives each consumer its own key, kept in the data directory with mode 0600', () => {
    // The current key of each (a rotation, in whatever order the tests run, leaves an old one in its overlap).
    const keys = platform.apiKeys.list().filter((k) => k.expires_at === undefined);
    expect(keys.map((k) => k.consumer).sort()).toEqual(['bank-a', 'bank-b']);
    expect(new Set(keys.map((k) => k.value)).size).toBe(2);
    expect(keys.map((k) => k.value)).not.toContain(DEFAULT_KEY);
    const path = join(dataDir, 'api-keys.json');
    const file = JSON.parse(readFileSync(path, 'utf8')) as { keys: { value: string }[] };
    expect(file.keys.map((k) => k.value)).toEqual(expect.arrayContaining(keys.map((k) => k.value)));
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('answers the consumer limited to credit 200 on credit and 403 MODEL_NOT_ALLOWED on another model', async () => {
    const bankA = keyOf('bank-a');
    expect((await predict('credit', bankA)).status).toBe(200);
    const refused = await predict('fraud', bankA);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toEqual({
      code: 'MODEL_NOT_ALLOWED',
      message: 'consumer bank-a may not call model fraud',
      details: { consumer: 'bank-a', model: 'fraud', allowed: ['credit'] },
    });
    // Every model route, and without telling whether the model exists.
    for (const path of ['/v1/models/fraud', '/v1/models/fraud/versions', '/v1/models/no-such-model']) {
      expect((await call(path, bankA)).json.error).toMatchObject({ code: 'MODEL_NOT_ALLOWED' });
    }
    expect((await call('/v1/models/fraud/explain', bankA, { instances: [CREDIT_INSTANCE] })).status).toBe(403);
    expect((await call('/v1/models/fraud/feedback', bankA, { request_id: 'r', label: 'good' })).status).toBe(403);
    // The model list shows only what the consumer may call.
    const listed = (await call('/v1/models', bankA)).json.models as { model: string }[];
    expect(listed.map((m) => m.model)).toEqual(['credit']);
  });

  it('answers the unrestricted consumer on every model', async () => {
    const key = keyOf('bank-b');
    expect((await predict('credit', key)).status).toBe(200);
    expect((await predict('fraud', key)).status).toBe(200);
    expect(((await call('/v1/models', key)).json.models as unknown[]).length).toBe(2);
  });

  it('refuses the default key on the /v1 routes, as consumers turn api.defaultKey off, and keeps it for the /local routes', async () => {
    for (const model of ['credit', 'fraud']) {
      const refused = await predict(model, DEFAULT_KEY);
      expect(refused.status).toBe(403);
      expect((refused.json as { error: unknown }).error).toMatchObject({ code: 'FORBIDDEN' });
    }
    expect((await call('/v1/models', DEFAULT_KEY)).status).toBe(403);
    expect((await call('/local/v1/keys', DEFAULT_KEY)).status).toBe(200);
    // The handler, too, refuses a key id that is no consumer's (API_DEFAULT_KEY false), whatever the gateway let through.
    expect(platform.apiKeys.consumerOf('default')).toBeUndefined();
  });

  it('records the consumer in captured predictions', async () => {
    const predicted = await call('/v1/models/credit/predict', keyOf('bank-b'), { instances: [CREDIT_INSTANCE] });
    expect(predicted.status).toBe(200);
    await platform.drift.flushCaptures();
    const records = await platform.drift.captures.readCaptures('credit', 1, new Date(Date.now() - 3_600_000), new Date(Date.now() + 3_600_000));
    const requestId = predicted.json.request_id;
    expect(records.find((r) => r.request_id === requestId)?.consumer).toBe('bank-b');
  });

  it('refuses a key that is no consumer key and the admin routes to a consumer key', async () => {
    expect((await predict('credit', 'not-a-key')).status).toBe(403);
    const admin = await call('/local/v1/keys', keyOf('bank-b'));
    expect(admin.status).toBe(403);
    expect((await call('/local/v1/keys', DEFAULT_KEY)).status).toBe(200);
  });

  it('refuses a rotation of an unknown consumer or with a bad overlap, without changing any key', async () => {
    const before = platform.apiKeys.list();
    expect((await call('/local/v1/keys/rotate', DEFAULT_KEY, { consumer: 'nobody', overlap_seconds: 10 })).json.error).toMatchObject({ code: 'CONSUMER_NOT_FOUND' });
    for (const overlap of [-1, 1.5, '60', 10_000_000]) {
      const answer = await call('/local/v1/keys/rotate', DEFAULT_KEY, { consumer: 'bank-a', overlap_seconds: overlap });
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatchObject({ code: 'INVALID_FIELD', details: { field: 'overlap_seconds' } });
    }
    expect(platform.apiKeys.list()).toEqual(before);
  });

  it('keeps a rotated key working during its overlap, also across a restart, and refuses it after', async () => {
    const oldKey = keyOf('bank-a');
    const rotated = await call('/local/v1/keys/rotate', DEFAULT_KEY, { consumer: 'bank-a', overlap_seconds: 60 });
    expect(rotated.status).toBe(200);
    const newKey = (rotated.json.key as { value: string }).value;
    expect(newKey).not.toBe(oldKey);
    expect(rotated.json.previous).toEqual([expect.objectContaining({ consumer: 'bank-a', expires_at: new Date(clock + 60_000).toISOString() })]);

    // During the overlap both keys work, and both are bank-a (still limited to credit).
    for (const key of [oldKey, newKey]) {
      expect((await predict('credit', key)).status).toBe(200);
      expect((await predict('fraud', key)).json.error).toMatchObject({ code: 'MODEL_NOT_ALLOWED' });
    }
    clock += 59_000;
    await platform.stop();
    await start();
    expect((await predict('credit', oldKey)).status).toBe(200);

    // After it the old key is refused as any unknown key; the new one keeps working.
    clock += 1_000;
    const refused = await predict('credit', oldKey);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 'FORBIDDEN' });
    expect((await predict('credit', newKey)).status).toBe(200);
    expect(platform.apiKeys.list().filter((k) => k.consumer === 'bank-a').map((k) => k.value)).toEqual([newKey]);
  }, 60_000);

  it('rotates through `mlops --local keys rotate`, refusing a bad overlap and an unknown consumer', async () => {
    writePlatformFile(dataDir, platform);
    const mlops = (...args: string[]) => runMlops(['--local', '--local-dir', dataDir, ...args], { cwd: dataDir });
    const oldKey = keyOf('bank-b');
    const bad = await mlops('keys', 'rotate', '--consumer', 'bank-b', '--overlap-seconds', '-5');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/whole number of seconds/);
    const unknown = await mlops('keys', 'rotate', '--consumer', 'nobody', '--overlap-seconds', '5');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/no consumer "nobody"/);

    const rotated = await mlops('--json', 'keys', 'rotate', '--consumer', 'bank-b', '--overlap-seconds', '30');
    expect(rotated.stderr).toBe('');
    const newKey = (JSON.parse(rotated.stdout) as { key: { value: string } }).key.value;
    const listed = JSON.parse((await mlops('--json', 'keys', 'list')).stdout) as { keys: { value: string }[] };
    expect(listed.keys.map((k) => k.value)).toEqual(expect.arrayContaining([oldKey, newKey]));
    expect((await predict('fraud', oldKey)).status).toBe(200);
    clock += 30_000;
    expect((await predict('fraud', oldKey)).status).toBe(403);
    expect((await predict('fraud', newKey)).status).toBe(200);
  }, 60_000);

  it('keeps the default key valid with consumers when api.defaultKey says so, and refuses it when off', () => {
    const kept = new LocalApiKeys({ defaultKey: 'operator-key', defaultKeyEnabled: true, consumers: CONSUMERS });
    expect(kept.authenticate('operator-key')).toBe('default');
    expect(kept.consumerOf('default')).toBe('default');
    const off = new LocalApiKeys({ defaultKey: 'operator-key', defaultKeyEnabled: false, consumers: CONSUMERS });
    expect(off.authenticate('operator-key')).toBeUndefined();
    expect(off.consumerOf('default')).toBeUndefined();
  });
});
