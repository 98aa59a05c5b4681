import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { parseCsv } from '#core/data/csv.ts';
import { toLabelledTable } from '#core/data/table.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { DASHBOARD_CHARTS } from '../../local/dashboard-page.ts';
import type { DashboardData } from '../../local/live-figures.ts';
import { writePlatformFile } from '../../local/platform-file.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import type { ShadowAgreement } from '#core/serving/shadow-agreement.ts';
import { runMlops, runMlopsJson } from '../support/mlops-cli.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';
import { BROWSER, CHROMIUM } from '../support/optional-tools.ts';

/**
 * The local dashboard (`GET /dashboard`) and the HTML drift report in headless Chromium, at the traffic a real
 * team sees: 5 versions of a model over the window (2 of them idle), a canary and a shadow, 6 error codes, and
 * drift verdicts of 2 models of 13 features. The pages must draw at once (no "loading…"), every chart's canvas
 * must hold drawn pixels, and the report must list features by severity.
 * `MLOPS_SCREENSHOTS=docs/images` writes the screenshots the README shows.
 * The browser checks need Debian's chromium (`apt-get install -y chromium`; `.ci/run` installs it).
 */

const API_KEY = 'dashboard-test-key-0123456789';
let dataDir: string;
let profileDir: string;
let platform: LocalPlatform;
let browser: BrowserContext | undefined;
let reports: DriftReportDocument[] = [];

async function call(path: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function predict(model: string, instances: unknown[], requestId: string): Promise<number> {
  return (await call(`/v1/models/${model}/predict`, { instances }, { 'x-request-id': requestId })).status;
}

async function register(model: string, l2: number, metadataFrom?: number): Promise<number> {
  const { onnx, metadata } = await trainCreditModel({ l2 });
  const base = metadataFrom === undefined ? metadata : (await platform.registryService.getVersion('credit', metadataFrom)).metadata;
  const { version } = await registerArtifact(
    { model, bytes: onnx, metadata: base, actor: 'tester', reason: 'dashboard test' },
    {
      inspector: new OnnxArtifactInspector(),
      artifacts: platform.artifacts,
      registry: platform.registryService,
      sha256: (b) => createHash('sha256').update(b).digest('hex'),
    },
  );
  return version.version;
}

function screenshotTo(name: string, png: Buffer): void {
  const dir = process.env.MLOPS_SCREENSHOTS;
  if (dir === undefined) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), png);
}

/**
 * Per canvas of the page: its id and how many of its pixels are in colour (opaque, and not grey: axes, grid
 * lines and labels are grey, the series are not), so an empty frame with axes does not count as drawn.
 */
async function colouredPixels(page: Page): Promise<{ id: string; coloured: number }[]> {
  return page.$$eval('canvas', (canvases) =>
    canvases.map((canvas) => {
      const pixels = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data ?? new Uint8ClampedArray();
      let coloured = 0;
      for (let i = 0; i < pixels.length; i += 4) {
        const [r, g, b, a] = [pixels[i] ?? 0, pixels[i + 1] ?? 0, pixels[i + 2] ?? 0, pixels[i + 3] ?? 0];
        if (a > 128 && Math.max(r, g, b) - Math.min(r, g, b) > 60) coloured++;
      }
      return { id: canvas.id, coloured };
    }),
  );
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-dashboard-'));
  profileDir = mkdtempSync(join(tmpdir(), 'mlops-chromium-'));
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0, registryCacheTtlSeconds: 0, canaryWatch: { intervalMs: 0 } });
  const csv = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
  const rows: FeatureRow[] = toLabelledTable(parseCsv(csv), 'Status', 'bad').rows.filter((r) => Object.values(r).every((v) => v !== null));

  // Five versions of credit: 1 (seeded) and 2..5. Versions 1 and 2 served minutes ago (idle now): their history
  // goes straight into the figures; 3 (shadow), 4 (canary) and 5 (production) serve the requests below.
  for (const l2 of [2, 3, 4, 5]) await register('credit', l2, 1);
  const minutesAgo = (m: number): number => Date.now() - m * 60_000;
  for (let m = 9; m >= 2; m -= 0.25) {
    const version = m > 5 ? 1 : 2;
    platform.figures.record({ at: minutesAgo(m), method: 'POST', resource: '/v1/models/{model}/predict', status: 200, latencyMs: 4 + (m % 1) * 6, model: 'credit', version, variant: 'production', rows: 1, scoreSum: 0.3 });
  }
  await platform.registryService.promote({ model: 'credit', version: 5, actor: 'tester', reason: 'dashboard test' });
  await platform.registryService.setCanary({ model: 'credit', version: 4, share: 0.3, actor: 'tester', reason: 'dashboard test' });
  await platform.registryService.setShadow({ model: 'credit', version: 3, actor: 'tester', reason: 'dashboard test' });
  // A second model of the same 13 features.
  await register('credit-eu', 2, 1);
  await platform.registryService.promote({ model: 'credit-eu', version: 1, actor: 'tester', reason: 'dashboard test' });

  for (let i = 0; i < 400; i += 50) expect(await predict('credit', rows.slice(i, i + 50), `ok-${i}`)).toBe(200);
  const shifted = rows.slice(400, 800).map((r, i): FeatureRow => ({ ...r, Income: (r.Income as number) * 1.5, Home: i % 2 === 0 ? 'owner' : (r.Home ?? null) }));
  for (let i = 0; i < shifted.length; i += 50) expect(await predict('credit', shifted.slice(i, i + 50), `shift-${i}`)).toBe(200);
  for (let i = 800; i < 1200; i += 50) expect(await predict('credit-eu', rows.slice(i, i + 50), `eu-${i}`)).toBe(200);

  // Six error codes.
  const { Age: _age, ...withoutAge } = CREDIT_INSTANCE;
  const refusals: [string, unknown][] = [
    ['credit', { instances: [{ ...CREDIT_INSTANCE, Home: 'castle' }] }],
    ['credit', { instances: [withoutAge] }],
    ['credit', { instances: [{ ...CREDIT_INSTANCE, Age: 'thirty' }] }],
    ['credit', { instances: [] }],
    ['credit', { instances: [{ ...CREDIT_INSTANCE, Colour: 'blue' }] }],
    ['nope', { instances: [CREDIT_INSTANCE] }],
  ];
  for (const [i, [model, body]] of refusals.entries()) {
    for (let n = 0; n <= i; n++) expect((await call(`/v1/models/${model}/predict`, body)).status).toBeGreaterThanOrEqual(400);
  }

  for (const model of ['credit', 'credit-eu']) {
    const { status, json } = await call('/local/v1/drift/runs', { model, window: '1h', time: new Date(Date.now() + 1000).toISOString() });
    expect(status).toBe(200);
    reports = [...reports, ...(json.results as DriftReportDocument[])];
  }

  // Without Chromium (and without CI) the browser checks do not run; the end-of-run line says so.
  if (!BROWSER.present()) return;
  // A fresh profile (--user-data-dir): Playwright passes it for a persistent context.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  // A critical check starts a retraining run: let it end before the servers stop.
  for (const event of platform?.drift.bus.events ?? []) {
    const runId = event.detail.run_id;
    if (typeof runId !== 'string') continue;
    for (let i = 0; i < 600 && platform.pipeline.get(runId)?.status === 'running'; i++) await new Promise((r) => setTimeout(r, 100));
  }
  await platform?.stop();
  for (const dir of [dataDir, profileDir]) if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe('local dashboard', () => {
  it('serves its data as JSON without an API key: traffic of 5 versions, 6 error codes, 2 drift verdicts of 13 features, shadow agreement', async () => {
    const response = await fetch(`${platform.url}/dashboard/data.json`);
    expect(response.status).toBe(200);
    const data = (await response.json()) as DashboardData;
    expect(new Set(data.traffic.filter((t) => t.model === 'credit').map((t) => t.version))).toEqual(new Set([1, 2, 4, 5]));
    expect(data.traffic.map((t) => t.key)).toContain('credit v4 (canary)');
    expect(data.errorsByCode.map((e) => e.code).sort()).toEqual(
      ['EMPTY_BATCH', 'INVALID_TYPE', 'MISSING_FEATURE', 'MODEL_NOT_FOUND', 'UNKNOWN_CATEGORY', 'UNKNOWN_FEATURE'].sort(),
    );
    expect(data.drift.map((d) => [d.model, d.features.length])).toEqual([
      ['credit', 13],
      ['credit-eu', 13],
    ]);
    const [shadow] = data.shadow;
    expect(data.shadow).toHaveLength(1);
    expect(shadow).toMatchObject({ model: 'credit', productionVersion: 5, shadowVersion: 3 });
    expect(shadow?.rows).toBeGreaterThan(0);
    expect(shadow?.labelAgreement).toBeGreaterThan(0.5);
    expect(shadow?.labelAgreement).toBeLessThanOrEqual(1);
    expect(shadow?.scoreDiff.p50).toBeLessThanOrEqual(shadow?.scoreDiff.p95 ?? 0);
  });

  it('mlops --local shadow report prints the same agreement as the dashboard', async () => {
    const data = (await (await fetch(`${platform.url}/dashboard/data.json`)).json()) as DashboardData;
    writePlatformFile(dataDir, platform);
    const json = await runMlopsJson<ShadowAgreement[]>(['--local', '--local-dir', dataDir, 'shadow', 'report', '--model', 'credit'], { cwd: dataDir });
    expect(json).toEqual(data.shadow.filter((a) => a.model === 'credit'));
    const text = await runMlops(['--local', '--local-dir', dataDir, 'shadow', 'report', '--model', 'credit'], { cwd: dataDir });
    expect(text.code).toBe(0);
    const [agreement] = json;
    expect(text.stdout).toContain(`${((agreement?.labelAgreement ?? 0) * 100).toFixed(1)}%`);
    expect(text.stdout).toMatch(/^MODEL\s+PRODUCTION\s+SHADOW\s+REQUESTS\s+ROWS\s+SAME LABEL/);
    expect(text.stdout).toMatch(/\ncredit\s+5\s+3\s/);
  });

  it.skipIf(!BROWSER.present())('draws every chart at once in headless Chromium: idle versions hidden, one card per drift verdict', async () => {
    const page = await (browser as BrowserContext).newPage();
    try {
      const response = await page.goto(`${platform.url}/dashboard`);
      expect(response?.status()).toBe(200);
      // The page carries its first figures: drawn at load, before the first poll.
      await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
      expect(await page.locator('body').innerText()).not.toContain('loading');

      const canvases = await colouredPixels(page);
      expect(canvases.map((c) => c.id).sort()).toEqual([...DASHBOARD_CHARTS, 'chart-drift-0', 'chart-drift-1'].sort());
      for (const canvas of canvases) expect(canvas.coloured, canvas.id).toBeGreaterThan(500);

      // Each verdict in its own card, with its model, level and 13 features.
      const cards = await page.locator('#drift-cards .card').allInnerTexts();
      expect(cards).toHaveLength(2);
      expect(cards[0]).toMatch(/Drift · credit\n/);
      expect(cards[1]).toMatch(/Drift · credit-eu\n/);
      for (const card of cards) expect(card).toMatch(/of 13 features drifted/);

      // Idle versions (no request in the last minute) start hidden; live ones are shown.
      const hidden = await page.evaluate(() => {
        const chart = (globalThis as unknown as { Chart: { getChart: (id: string) => { data: { datasets: { label: string; hidden?: boolean }[] } } } }).Chart.getChart('chart-traffic');
        return Object.fromEntries(chart.data.datasets.map((d) => [d.label, d.hidden === true]));
      });
      expect(hidden).toEqual({
        'credit v1 (production)': true,
        'credit v2 (production)': true,
        'credit v4 (canary)': false,
        'credit v5 (production)': false,
        'credit-eu v1 (production)': false,
      });
      expect(await page.locator('#shadow').innerText()).toMatch(/credit\s+v5 vs v3/);

      screenshotTo('dashboard.png', await page.screenshot({ fullPage: true }));
    } finally {
      await page.close();
    }
  });
});

describe('HTML drift report', () => {
  it('lists features by severity, with missing rates, one self-contained page', async () => {
    const doc = reports.find((r) => r.model === 'credit');
    if (doc === undefined) throw new Error('no drift report of credit');
    const html = await platform.drift.captures.getText(doc.report_keys.html);
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+href=|https?:\/\/cdn/i);
    const order = [...html.matchAll(/<section class="feature" id="feature-\d+"><h2>([^<]+) <span class="badge"[^>]*>([^<]+)</g)].map((m) => [m[1], m[2]]);
    expect(order).toHaveLength(14);
    expect(order.pop()?.[0]).toBe('prediction score');
    const rank = { critical: 0, warning: 1, ok: 2, 'insufficient data': 3 } as Record<string, number>;
    const ranks = order.map(([, verdict]) => rank[verdict ?? ''] ?? 9);
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(order[0]?.[1]).not.toBe('ok');
    expect(html).toContain('missing now');
    // The PSI axis names the report's own thresholds, not fixed numbers.
    expect(html).toContain(`critical above ${doc.thresholds.psiCritical})`);
  });

  it.skipIf(!BROWSER.present())('draws the PSI overview and every distribution in headless Chromium', async () => {
    const doc = reports.find((r) => r.model === 'credit');
    if (doc === undefined) throw new Error('no drift report of credit');
    const page = await (browser as BrowserContext).newPage();
    try {
      // As a user opens it from s3rver (the URL npm start prints).
      await page.goto(`${platform.s3Endpoint}/mlops-captures/${doc.report_keys.html}`);
      await page.waitForSelector('body[data-ready="true"]', { timeout: 10_000 });
      const canvases = await colouredPixels(page);
      expect(canvases).toHaveLength(1 + 13 + 1); // the PSI overview, 13 features, the prediction score
      for (const canvas of canvases) expect(canvas.coloured, canvas.id).toBeGreaterThan(500);
      // Full width: the distribution charts span the page, not a fixed 560 px.
      const box = await page.locator('#dist-1').boundingBox();
      expect(box?.width).toBeGreaterThan(1000);
      screenshotTo('drift-report.png', await page.screenshot({ fullPage: false }));
    } finally {
      await page.close();
    }
  });
});
