import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_COLOURS, DASHBOARD_CHARTS } from '../../local/dashboard-page.ts';
import type { DashboardData } from '../../local/live-figures.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { countPixels, decodePng } from '../support/png.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';
import { BROWSER, CHROMIUM } from '../support/optional-tools.ts';

/**
 * The local dashboard (`GET /dashboard`) in headless Chromium: after some traffic (answers, 4xx errors, a canary)
 * and a drift verdict, the page draws every chart, and the screenshot holds the charts' colours.
 * The browser check needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`; `.ci/run` installs it).
 */

const API_KEY = 'dashboard-test-key-0123456789';
let dataDir: string;
let profileDir: string;
let platform: LocalPlatform;
let browser: BrowserContext;

async function predict(body: unknown, requestId: string): Promise<number> {
  const response = await fetch(`${platform.url}/v1/models/credit/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'x-request-id': requestId },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-dashboard-'));
  profileDir = mkdtempSync(join(tmpdir(), 'mlops-chromium-'));
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0, registryCacheTtlSeconds: 0, canaryWatch: { intervalMs: 0 } });
  // A second version on canary, so the traffic chart has two series.
  const production = await platform.registryService.getVersion('credit', 1);
  const { trainCreditModel } = await import('../../examples/credit/train.ts');
  const { registerArtifact } = await import('#core/registry/registration.ts');
  const { OnnxArtifactInspector } = await import('#adapters/onnx-artifact-inspector.ts');
  const { createHash } = await import('node:crypto');
  const { onnx } = await trainCreditModel({ l2: 2 });
  const { version } = await registerArtifact(
    { model: 'credit', bytes: onnx, metadata: production.metadata, actor: 'tester', reason: 'dashboard test' },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts: platform.artifacts,
      registry: platform.registryService,
      sha256: (b) => createHash('sha256').update(b).digest('hex'),
    },
  );
  await platform.registryService.setCanary({ model: 'credit', version: version.version, share: 0.3, actor: 'tester' });
  for (let i = 0; i < 40; i++) expect(await predict({ instances: [CREDIT_INSTANCE] }, `r-${i}`)).toBe(200);
  for (let i = 0; i < 5; i++) expect(await predict({ instances: [{ ...CREDIT_INSTANCE, Home: 'castle' }] }, `bad-${i}`)).toBe(400);
  platform.driftVerdicts.record({
    model: 'credit',
    at: new Date().toISOString(),
    score: 0.42,
    level: 'warning',
    features: [
      { feature: 'Income', score: 0.31, drifted: true },
      { feature: 'Age', score: 0.05, drifted: false },
    ],
  });
  // Without Chromium (and without CI) the browser check does not run; the end-of-run line says so.
  if (!BROWSER.present()) return;
  // A fresh profile (--user-data-dir): Playwright passes it for a persistent context.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 1000 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await platform?.stop();
  for (const dir of [dataDir, profileDir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe('local dashboard', () => {
  it('serves its data as JSON without an API key: traffic per version and variant, errors by code, drift', async () => {
    const response = await fetch(`${platform.url}/dashboard/data.json`);
    expect(response.status).toBe(200);
    const data = (await response.json()) as DashboardData;
    expect(data.totals.requests).toBe(45);
    expect(data.totals.clientErrors).toBe(5);
    expect(data.traffic.map((t) => t.key)).toEqual(['credit v1 (production)', 'credit v2 (canary)']);
    expect(data.traffic.reduce((sum, t) => sum + t.counts.reduce((a, b) => a + b, 0), 0)).toBe(40);
    expect(data.errorsByCode).toEqual([{ code: 'UNKNOWN_CATEGORY', status: 400, count: 5 }]);
    const canary = data.versions.find((v) => v.variant === 'canary');
    expect(canary).toMatchObject({ model: 'credit', version: 2, errors: 0 });
    expect(canary?.meanScore).toBeGreaterThan(0);
    expect(data.latency.p95.some((v) => v !== null && v > 0)).toBe(true);
    expect(data.drift).toEqual([expect.objectContaining({ model: 'credit', level: 'warning', score: 0.42 })]);
  });

  it.skipIf(!BROWSER.present())('draws the live charts in headless Chromium', async () => {
    const page = await browser.newPage();
    try {
      const response = await page.goto(`${platform.url}/dashboard`);
      expect(response?.status()).toBe(200);
      expect(response?.headers()['content-type']).toMatch(/^text\/html/);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });

      for (const id of DASHBOARD_CHARTS) {
        const box = await page.locator(`#${id}`).boundingBox();
        expect(box, id).not.toBeNull();
        expect(box?.width, id).toBeGreaterThan(100);
        expect(box?.height, id).toBeGreaterThan(100);
      }
      const attributes = async (selector: string, name: string): Promise<(string | null)[]> =>
        Promise.all((await page.locator(selector).all()).map((node) => node.getAttribute(name)));
      const marks = {
        latency: await page.locator('#chart-latency polyline').count(),
        traffic: await attributes('#chart-traffic polyline', 'data-series'),
        errors: await attributes('#chart-errors rect', 'data-bar'),
        drift: await attributes('#chart-drift rect', 'data-bar'),
        versions: await page.locator('#versions tr').count(),
      };
      expect(marks).toEqual({
        latency: 3,
        traffic: ['credit v1 (production)', 'credit v2 (canary)'],
        errors: ['UNKNOWN_CATEGORY'],
        drift: ['credit overall', 'Income', 'Age'],
        versions: 2,
      });

      const png = await page.screenshot({ fullPage: true });
      if (process.env.MLOPS_SCREENSHOT !== undefined) writeFileSync(process.env.MLOPS_SCREENSHOT, png);
      const image = decodePng(png);
      expect(image.width).toBe(1280);
      // Every chart's own screenshot holds its series colours (not a blank or an empty frame).
      for (const id of DASHBOARD_CHARTS) {
        const chart = decodePng(await page.locator(`#${id}`).screenshot());
        const coloured = CHART_COLOURS.reduce((sum, colour) => sum + countPixels(chart, colour, 12), 0);
        expect(coloured, id).toBeGreaterThan(40);
      }
      // On the whole page, production's and the 4xx bars' colours, well beyond their legend swatches.
      expect(countPixels(image, CHART_COLOURS[0], 12)).toBeGreaterThan(300);
      expect(countPixels(image, CHART_COLOURS[1], 12)).toBeGreaterThan(300);
    } finally {
      await page.close();
    }
  });
});
