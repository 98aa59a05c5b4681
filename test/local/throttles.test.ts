import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_LIMIT_ERRORS } from '../../contracts/api.ts';
import { parseMlopsConfig } from '../../contracts/config.ts';
import { API_ROUTES } from '../../contracts/routes.ts';
import { DEFAULT_KEY_ID, LocalApiKeys } from '../../local/api-keys.ts';
import { startGateway, type RunningGateway } from '../../local/gateway.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { type LocalLimitsConfig, LocalThrottles, quotaPeriodStart, TokenBucket } from '../../local/throttles.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * The local gateway's usage plans, as API Gateway applies them: a token bucket per key, the quota per key and period,
 * the stage throttle per method. Every case runs on an injected clock: no test waits or measures time.
 */

const PREDICT = { method: API_ROUTES.predict.method, resource: API_ROUTES.predict.resource };
const EXPLAIN = { method: API_ROUTES.explain.method, resource: API_ROUTES.explain.resource };
const HEALTH = { method: API_ROUTES.health.method, resource: API_ROUTES.health.resource };

/** The `api` and `explain` blocks of a deployment config, as `npm start` hands them to the gateway. */
function limitsOf(config: unknown): LocalLimitsConfig {
  const { api, explain } = parseMlopsConfig(config);
  return { throttle: api.throttle, quota: api.quota, stageThrottle: api.stageThrottle, explainThrottle: explain.throttle, consumers: api.consumers };
}

/** Sends `count` requests at the current instant; the answers' codes ('ok' when admitted). */
function burst(throttles: LocalThrottles, keyId: string | undefined, count: number, route: { method: string; resource: string } = PREDICT): string[] {
  return Array.from({ length: count }, () => throttles.admit({ keyId, ...route })?.code ?? 'ok');
}

const tally = (answers: string[]): Record<string, number> => answers.reduce<Record<string, number>>((counts, answer) => ({ ...counts, [answer]: (counts[answer] ?? 0) + 1 }), {});

describe('TokenBucket', () => {
  it('lets a burst through, then refills at the rate, never above the burst', () => {
    const bucket = new TokenBucket(2, 5, 0);
    const takeAll = (now: number): number => {
      let taken = 0;
      while (bucket.has(now)) {
        bucket.take(now);
        taken += 1;
      }
      return taken;
    };
    expect(takeAll(0)).toBe(5);
    expect(takeAll(499)).toBe(0); // 0.998 of a token
    expect(takeAll(500)).toBe(1);
    expect(takeAll(2_000)).toBe(3);
    expect(takeAll(3_600_000)).toBe(5); // an hour idle fills it to the burst only
    expect(takeAll(3_599_000)).toBe(0); // a clock going back adds nothing
  });
});

describe('quotaPeriodStart', () => {
  const at = (iso: string): number => Date.parse(iso);
  it('starts days at UTC midnight, weeks on Monday, months on the first', () => {
    expect(quotaPeriodStart('DAY', at('2026-12-02T23:59:59.999Z'))).toBe(at('2026-12-02T00:00:00Z'));
    // 2026-12-06 is a Sunday: its week began on Monday the 30th of November.
    expect(quotaPeriodStart('WEEK', at('2026-12-06T12:00:00Z'))).toBe(at('2026-11-30T00:00:00Z'));
    expect(quotaPeriodStart('WEEK', at('2026-12-07T00:00:00Z'))).toBe(at('2026-12-07T00:00:00Z'));
    expect(quotaPeriodStart('MONTH', at('2026-02-28T23:00:00Z'))).toBe(at('2026-02-01T00:00:00Z'));
  });
});

describe('LocalThrottles', () => {
  let clock = Date.parse('2026-12-02T10:00:00Z');
  const now = (): number => clock;
  const consumers = new Map<string, string>([
    [DEFAULT_KEY_ID, 'default'],
    ['bank-a-1', 'bank-a'],
    ['bank-a-2', 'bank-a'],
    ['bank-b-1', 'bank-b'],
  ]);
  const consumerOf = (keyId: string): string | undefined => consumers.get(keyId);

  it("answers THROTTLED beyond a key's burst, and lets the rate through afterwards", () => {
    const throttles = new LocalThrottles(limitsOf({ api: { throttle: { rateLimit: 10, burstLimit: 20 } } }), consumerOf, now);
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 50))).toEqual({ ok: 20, THROTTLED: 30 });
    clock += 1_000;
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 50))).toEqual({ ok: 10, THROTTLED: 40 });
    // Steady traffic at the rate is never refused.
    const steady = Array.from({ length: 100 }, () => {
      clock += 100;
      return throttles.admit({ keyId: DEFAULT_KEY_ID, ...PREDICT })?.code ?? 'ok';
    });
    expect(tally(steady)).toEqual({ ok: 100 });
  });

  it("keeps each consumer's bucket to itself, with its own throttle or the api's", () => {
    const throttles = new LocalThrottles(
      limitsOf({ api: { throttle: { rateLimit: 50, burstLimit: 100 }, consumers: [{ name: 'bank-a', throttle: { rateLimit: 1, burstLimit: 3 } }, { name: 'bank-b' }] } }),
      consumerOf,
      now,
    );
    expect(tally(burst(throttles, 'bank-a-1', 10))).toEqual({ ok: 3, THROTTLED: 7 });
    // bank-a spent its burst: bank-b (the api's plan) and the default key are untouched.
    expect(tally(burst(throttles, 'bank-b-1', 100))).toEqual({ ok: 100 });
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 101))).toEqual({ ok: 100, THROTTLED: 1 });
    expect(burst(throttles, 'bank-a-1', 1)).toEqual(['THROTTLED']);
  });

  it("gives a rotated consumer's old and new keys a bucket and a quota each, as the keys of one usage plan have in AWS", () => {
    const throttles = new LocalThrottles(
      limitsOf({ api: { consumers: [{ name: 'bank-a', throttle: { rateLimit: 1, burstLimit: 2 }, quota: { limit: 3, period: 'DAY' } }] } }),
      consumerOf,
      now,
    );
    expect(tally(burst(throttles, 'bank-a-1', 5))).toEqual({ ok: 2, THROTTLED: 3 });
    // The new key of the rotation starts with a full bucket and an unspent quota.
    expect(tally(burst(throttles, 'bank-a-2', 5))).toEqual({ ok: 2, THROTTLED: 3 });
    clock += 10_000;
    expect(burst(throttles, 'bank-a-1', 2)).toEqual(['ok', 'QUOTA_EXCEEDED']);
    expect(throttles.quotaRemaining('bank-a-1')).toBe(0);
    expect(throttles.quotaRemaining('bank-a-2')).toBe(1);
  });

  it('answers QUOTA_EXCEEDED once the period is spent, until the next UTC period begins', () => {
    clock = Date.parse('2026-12-02T23:59:00Z');
    const throttles = new LocalThrottles(limitsOf({ api: { quota: { limit: 5, period: 'DAY' } } }), consumerOf, now);
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 8))).toEqual({ ok: 5, QUOTA_EXCEEDED: 3 });
    clock = Date.parse('2026-12-02T23:59:59.999Z');
    expect(burst(throttles, DEFAULT_KEY_ID, 1)).toEqual(['QUOTA_EXCEEDED']);
    clock = Date.parse('2026-12-03T00:00:00Z');
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 6))).toEqual({ ok: 5, QUOTA_EXCEEDED: 1 });
    // A consumer without a quota of its own has none (the api quota is the default plan's).
    const withConsumer = new LocalThrottles(limitsOf({ api: { quota: { limit: 1 }, consumers: [{ name: 'bank-b' }] } }), consumerOf, now);
    expect(tally(burst(withConsumer, 'bank-b-1', 20))).toEqual({ ok: 20 });
  });

  it('takes nothing for a refused request: throttled requests do not spend the quota', () => {
    const throttles = new LocalThrottles(limitsOf({ api: { throttle: { rateLimit: 1, burstLimit: 1 }, quota: { limit: 3, period: 'MONTH' } } }), consumerOf, now);
    expect(burst(throttles, DEFAULT_KEY_ID, 10)).toEqual(['ok', ...Array<string>(9).fill('THROTTLED')]);
    expect(throttles.quotaRemaining(DEFAULT_KEY_ID)).toBe(2);
  });

  it('applies the stage throttle per method over every caller, including the public routes, and explain per key', () => {
    const throttles = new LocalThrottles(
      limitsOf({ api: { stageThrottle: { rateLimit: 1, burstLimit: 4 }, consumers: [{ name: 'bank-b' }] }, explain: { throttle: { rateLimit: 1, burstLimit: 2 } } }),
      consumerOf,
      now,
    );
    // Two keys share the method's stage bucket.
    expect([...burst(throttles, DEFAULT_KEY_ID, 3), ...burst(throttles, 'bank-b-1', 3)]).toEqual(['ok', 'ok', 'ok', 'ok', 'THROTTLED', 'THROTTLED']);
    // Another method has its own; a public route (no key, no usage plan) is throttled by the stage only.
    expect(tally(burst(throttles, undefined, 6, HEALTH))).toEqual({ ok: 4, THROTTLED: 2 });
    // Explain: its per-key bucket (2) before the stage's (4).
    expect(tally(burst(throttles, DEFAULT_KEY_ID, 3, EXPLAIN))).toEqual({ ok: 2, THROTTLED: 1 });
    expect(tally(burst(throttles, 'bank-b-1', 3, EXPLAIN))).toEqual({ ok: 2, THROTTLED: 1 });
  });

  it('admits a key of no plan (an expired or unknown id) only through the stage throttle', () => {
    const throttles = new LocalThrottles(limitsOf({ api: { throttle: { rateLimit: 1, burstLimit: 1 } } }), consumerOf, now);
    expect(tally(burst(throttles, 'gone', 5))).toEqual({ ok: 5 });
  });
});

describe('the local gateway with usage plans', () => {
  let clock = Date.parse('2026-12-02T10:00:00Z');
  let gateway: RunningGateway | undefined;
  let calls = 0;
  const handler = async (_event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    calls += 1;
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
  };
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
  });

  async function start(config: unknown) {
    const limits = limitsOf(config);
    const keys = new LocalApiKeys({ defaultKey: 'default-key-value', consumers: limits.consumers ?? [], now: () => clock });
    const throttles = new LocalThrottles(limits, (keyId) => keys.consumerOf(keyId), () => clock);
    gateway = await startGateway({ handler, apiKey: 'default-key-value', authenticate: (presented) => keys.authenticate(presented), admit: (request) => throttles.admit(request) });
    const url = gateway.url;
    const post = async (key: string): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${url}/v1/models/credit/predict`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: '{"instances":[{}]}' });
      return { status: response.status, body: await response.json() };
    };
    return { keys, post };
  }

  it("answers 429 THROTTLED in API Gateway's gateway response shape, without invoking the handler", async () => {
    const { keys, post } = await start({ api: { consumers: [{ name: 'bank-a', throttle: { rateLimit: 1, burstLimit: 2 } }, { name: 'bank-b', throttle: { rateLimit: 1, burstLimit: 2 } }] } });
    const bankA = keys.list().find((key) => key.consumer === 'bank-a')?.value ?? '';
    const bankB = keys.list().find((key) => key.consumer === 'bank-b')?.value ?? '';
    calls = 0;
    const answers = [await post(bankA), await post(bankA), await post(bankA)];
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 429]);
    expect(answers[2]?.body).toEqual({ error: { ...GATEWAY_LIMIT_ERRORS.throttled, details: {} } });
    expect(calls).toBe(2);
    // bank-b is not affected by bank-a's burst; an invalid key is still 403 before any throttle.
    expect((await post(bankB)).status).toBe(200);
    expect((await post('not-a-key')).status).toBe(403);
    clock += 1_000;
    expect((await post(bankA)).status).toBe(200);
  });

  it('keeps a separate bucket and quota for the old key during a rotation overlap, and none after it', async () => {
    const { keys, post } = await start({ api: { consumers: [{ name: 'bank-a', quota: { limit: 2, period: 'DAY' } }] } });
    const oldKey = keys.list()[0]?.value ?? '';
    expect([(await post(oldKey)).status, (await post(oldKey)).status]).toEqual([200, 200]);
    const quota = await post(oldKey);
    expect(quota.status).toBe(429);
    expect(quota.body).toEqual({ error: { code: 'QUOTA_EXCEEDED', message: 'usage plan quota exceeded', details: {} } });
    const { key: newKey } = keys.rotate('bank-a', 60);
    // The new key has its own quota; the old one stays spent through its overlap, then is an unknown key.
    expect([(await post(newKey.value)).status, (await post(oldKey)).status]).toEqual([200, 429]);
    clock += 60_000;
    expect((await post(oldKey)).status).toBe(403);
  });
});

describe('npm start applies the usage plans (the platform with limits)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'mlops-throttles-'));
  let clock = Date.parse('2026-12-02T10:00:00Z');
  let platform: LocalPlatform;
  beforeAll(async () => {
    platform = await startLocalPlatform({ dataDir, apiKey: 'throttled-default-key', port: 0, now: () => clock, limits: limitsOf({ api: { throttle: { rateLimit: 1, burstLimit: 2 } } }) });
  }, 120_000);
  afterAll(async () => {
    await platform?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("throttles the default key with the config's api.throttle", async () => {
    const predict = async (): Promise<number> =>
      (
        await fetch(`${platform.url}/v1/models/credit/predict`, {
          method: 'POST',
          headers: { 'x-api-key': 'throttled-default-key', 'content-type': 'application/json' },
          body: JSON.stringify({ instances: [CREDIT_INSTANCE] }),
        })
      ).status;
    expect([await predict(), await predict(), await predict()]).toEqual([200, 200, 429]);
    clock += 1_000;
    expect(await predict()).toBe(200);
    // The public health route goes through the stage throttle only (the default 500/1000).
    expect((await fetch(`${platform.url}/v1/health`)).status).toBe(200);
  });
});
