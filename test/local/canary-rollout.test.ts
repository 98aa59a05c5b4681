import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { run } from '../../cli/program.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import { constantScoreOnnx, failingAtRunOnnx } from '../support/canary-artifacts.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * Safe model rollout on the local platform: a canary is watched by the same core as the canary-watch Lambda, on an
 * interval, with the platform's live figures. A canary that fails or shifts the scores is rolled back and the
 * champion serves again, the audit trail saying why; a healthy one is promoted.
 */

const API_KEY = 'canary-test-key-0123456789';
let dataDir: string;
let platform: LocalPlatform;

async function registerVersion(bytes: Uint8Array, description: string): Promise<number> {
  const production = await platform.registryService.getVersion('credit', 1);
  const { version } = await registerArtifact(
    { model: 'credit', bytes, metadata: production.metadata, description, actor: 'tester', reason: description },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts: platform.artifacts,
      registry: platform.registryService,
      sha256: (b) => createHash('sha256').update(b).digest('hex'),
    },
  );
  return version.version;
}

async function predict(requestId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}/v1/models/credit/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'x-request-id': requestId },
    body: JSON.stringify({ instances: [CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Income: 40, Amount: 2000 }] }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Batches of 10 requests sent at most while waiting for the watch: a bound in requests, not in time. */
const MAX_BATCHES = 100;

/**
 * Sends traffic, 10 requests at a time, until the watch, on its interval, has cleared (or promoted) the canary; returns
 * the answers. No deadline in time: a slow machine answers more slowly and the watch's interval passes more often per
 * request, so only a fast one comes near the bound (100 batches, seconds of traffic, many intervals).
 *
 * The model record is the first thing the watch's change writes (the audit record, the version's stage and the
 * notification follow), so seeing the canary gone does not mean the watch is done: the pass in flight is joined before
 * returning (`checkNow` shares it), and the history, the stages and the notifications read afterwards are its whole work.
 */
async function trafficUntilCanaryGone(prefix: string): Promise<{ status: number; body: Record<string, unknown> }[]> {
  const answers: { status: number; body: Record<string, unknown> }[] = [];
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    for (let n = 0; n < 10; n++) answers.push(await predict(`${prefix}-${answers.length}`));
    if ((await platform.registryService.getModel('credit')).canary === null) {
      await platform.canaryWatch.checkNow();
      return answers;
    }
  }
  throw new Error(`the canary watch left the canary on after ${answers.length} requests`);
}

async function mlops(...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await run(['--local', '--local-dir', dataDir, ...args], {
    io: { stdout: (text) => (stdout += text), stderr: () => undefined },
    env: {},
    cwd: dataDir,
  });
  return { code, stdout };
}

// A platform of its own for every test (credit version 1 in production, no canary, no live figures): a promoted
// canary or the traffic of one test is no state of another, whatever the order.
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-canary-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: API_KEY,
    port: 0,
    registryCacheTtlSeconds: 0,
    // Judged on few requests and promoted after a short healthy time, on a short interval. The latency threshold is the
    // highest the config allows: with 10 requests the p95 is the slowest of them (the canary's first, which loads the
    // model, among them), and a loaded machine took 1.6 s for one, so the default 1000 ms rolled the healthy canary
    // back. What is judged here is errors and score shift; the latency rule has its tests in test/core.
    canaryWatch: { intervalMs: 100, thresholds: { minRequests: 10, healthyMinutes: 0.002, maxP95LatencyMs: 30_000 } },
  });
  writePlatformFile(dataDir, platform);
});

afterEach(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local canary watch', () => {
  it('rolls back a canary that fails at inference, and the champion serves again', async () => {
    const production = await platform.registryService.getVersion('credit', 1);
    const broken = await registerVersion(failingAtRunOnnx(production.metadata.preprocessing), 'fails at session.run');
    await platform.registryService.setCanary({ model: 'credit', version: broken, share: 0.5, actor: 'tester', reason: 'try it' });

    const answers = await trafficUntilCanaryGone('broken');
    // The canary's share failed as INFERENCE_FAILED, naming the variant; production kept answering.
    const failed = answers.filter((a) => a.status === 503);
    expect(failed.length).toBeGreaterThanOrEqual(10);
    expect(failed[0]?.body).toMatchObject({ error: { code: 'INFERENCE_FAILED', details: { model_version: broken, variant: 'canary' } } });
    expect(answers.some((a) => a.status === 200 && a.body['variant'] === 'production')).toBe(true);

    const history = await platform.registryService.history('credit');
    const rollback = history.at(-1);
    expect(rollback).toMatchObject({ action: 'canary_clear', actor: 'canary-watch', version: broken, outcome: 'applied', to: 'canary=none' });
    expect(rollback?.reason).toMatch(new RegExp(`^automatic rollback of canary version ${broken}: canary error rate [\\d.]+ % \\(\\d+ of \\d+ requests\\) is above 1 %`));
    expect(platform.canaryWatch.notifications.at(-1)?.subject).toBe(`[credit] canary version ${broken} rolled back`);

    // Only the champion answers now.
    for (let i = 0; i < 10; i++) {
      const { status, body } = await predict(`after-broken-${i}`);
      expect(status).toBe(200);
      expect(body).toMatchObject({ model_version: 1, variant: 'production' });
    }
  });

  it('rolls back a canary whose scores shift away from production, and mlops history says why', async () => {
    const production = await platform.registryService.getVersion('credit', 1);
    const shifted = await registerVersion(constantScoreOnnx(production.metadata.preprocessing, 0.97), 'always 0.97');
    await platform.registryService.setCanary({ model: 'credit', version: shifted, share: 0.5, actor: 'tester', reason: 'try it' });

    const answers = await trafficUntilCanaryGone('shifted');
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.some((a) => a.body['variant'] === 'canary' && a.body['model_version'] === shifted)).toBe(true);

    const { code, stdout } = await mlops('history', '--model', 'credit');
    expect(code).toBe(0);
    const line = stdout.split('\n').find((l) => l.includes('canary-watch') && l.includes(`automatic rollback of canary version ${shifted}`));
    expect(line, stdout).toBeDefined();
    expect(line).toMatch(/canary mean score 0\.97 differs from production's 0\.\d+ by 0\.\d+, more than 0\.1/);
    expect((await platform.registryService.getModel('credit')).production_version).toBe(1);
    expect((await platform.registryService.getVersion('credit', shifted)).stage).toBe('candidate');
  });

  it('promotes a canary that stays healthy for its time', async () => {
    const { onnx } = await trainCreditModel({ l2: 2 });
    const healthy = await registerVersion(onnx, 'retrained, l2 2');
    await platform.registryService.setCanary({ model: 'credit', version: healthy, share: 0.5, actor: 'tester', reason: 'try it' });

    await trafficUntilCanaryGone('healthy');
    const model = await platform.registryService.getModel('credit');
    expect(model.production_version).toBe(healthy);
    const promotion = (await platform.registryService.history('credit')).at(-1);
    expect(promotion).toMatchObject({ action: 'promote', actor: 'canary-watch', version: healthy, outcome: 'applied' });
    expect(promotion?.reason).toMatch(new RegExp(`^automatic promote of canary version ${healthy}: canary healthy for 0.002 minutes over \\d+ requests`));
    expect(platform.canaryWatch.notifications.at(-1)?.subject).toBe(`[credit] canary version ${healthy} promoted`);
  });
});
