import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { parseCsv } from '#core/data/csv.ts';
import { SeededRandom } from '#core/data/random.ts';
import { toLabelledTable } from '#core/data/table.ts';
import type { DriftReportDocument } from '#core/drift/job.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { registerArtifact } from '#core/registry/registration.ts';
import { trainGradientBoosting } from '#core/training/train-binary-classifier.ts';
import { CREDIT_POSITIVE_LABEL, CREDIT_SEED, CREDIT_TARGET, CREDIT_THRESHOLD_POLICY } from '../../examples/credit/train.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';

/**
 * Drift monitoring end to end on the local platform: traffic through the local gateway → capture
 * (batched to s3rver) → the drift job → reports in S3 and `DriftDetected` on the local bus → the
 * retrain rule starts the training pipeline, once within the cooldown. Feedback labels give live accuracy.
 */

const API_KEY = 'drift-test-key';
let dataDir: string;
let platform: LocalPlatform;
let rows: FeatureRow[];
let labels: string[];

beforeAll(() => {
  const csv = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
  const table = toLabelledTable(parseCsv(csv), 'Status', 'bad');
  // Shuffled: the file is not in random order, and live traffic is a random draw from the same population.
  const complete = new SeededRandom(11).shuffle(table.rows.map((r, i) => ({ r, i })).filter(({ r }) => Object.values(r).every((v) => v !== null)));
  rows = complete.map(({ r }) => r);
  labels = complete.map(({ i }) => (table.labels[i] === 1 ? 'bad' : 'good'));
});

// A platform of its own for every test: no captures, reports, events or cooldown of another test.
/** The runs the pipeline's first step made of its inputs (what every later step reads). */
let validatedRuns: Record<string, unknown>[];

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-drift-'));
  validatedRuns = [];
  platform = await startLocalPlatform({
    dataDir,
    apiKey: API_KEY,
    registryCacheTtlSeconds: 0,
    pipeline: {
      retryIntervalMs: 0,
      stepOverride: async (step, _payload, next) => {
        const result = await next();
        if (step === 'validate_data') validatedRuns.push(result as Record<string, unknown>);
        return result;
      },
    },
  });
});

/**
 * Registers and promotes a credit version trained with gradient-boosted trees (few, for speed) on the same data as the
 * seeded logistic regression: a champion whose trainer is not the pipeline's default one.
 */
async function promoteGbdtVersion(): Promise<number> {
  const bytes = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url));
  const { onnx, metadata } = trainGradientBoosting({
    csv: bytes.toString('utf8'),
    target: CREDIT_TARGET,
    positiveLabel: CREDIT_POSITIVE_LABEL,
    seed: CREDIT_SEED,
    trees: 8,
    maxDepth: 3,
    thresholdPolicy: CREDIT_THRESHOLD_POLICY,
    dataSha256: createHash('sha256').update(bytes).digest('hex'),
  });
  const { version } = await registerArtifact(
    { model: 'credit', bytes: onnx, metadata, description: 'credit, gbdt', actor: 'tester', reason: 'a gbdt champion' },
    { inspector: new OnnxArtifactInspector(), artifacts: platform.artifacts, registry: platform.registryService, sha256: (b) => createHash('sha256').update(b).digest('hex') },
  );
  await platform.registryService.promote({ model: 'credit', version: version.version, actor: 'tester', reason: 'a gbdt champion' });
  return version.version;
}

afterEach(async () => {
  // A retrain started by the test may still be running: let it end before the emulators stop.
  for (const event of platform?.drift.bus.events ?? []) {
    const runId = event.detail.run_id;
    if (typeof runId !== 'string') continue;
    for (let i = 0; i < 600 && platform.pipeline.get(runId)?.status === 'running'; i++) {
      // A drift retrain waits for a person by default (drift.retrainPromotion): reject it, as nobody will approve it here.
      const notice = platform.pipeline.events.find((e) => e.run_id === runId && e.subject?.includes('approval'));
      const approvalId = notice === undefined ? undefined : /approve ([0-9a-f]{12})/.exec(String(notice.body))?.[1];
      if (approvalId !== undefined) await platform.approvals.decide(approvalId, { approved: false, by: 'test', reason: 'test over', at: new Date().toISOString() });
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${platform.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** Sends `instances` in requests of 50, each with its own x-request-id. */
async function sendTraffic(prefix: string, instances: readonly FeatureRow[]): Promise<void> {
  for (let i = 0; i < instances.length; i += 50) {
    const { status } = await call('POST', '/v1/models/credit/predict', { instances: instances.slice(i, i + 50) }, { 'x-request-id': `${prefix}-${i}` });
    expect(status).toBe(200);
  }
}

/** The end of the last run's window: a check at the same second is the same check (its retrain run id is that second). */
let lastRunTime = 0;

async function runDrift(window = '1h'): Promise<DriftReportDocument> {
  lastRunTime = Math.max(Date.now() + 1000, lastRunTime + 1000);
  const { status, json } = await call('POST', '/local/v1/drift/runs', { model: 'credit', window, time: new Date(lastRunTime).toISOString() });
  expect(status).toBe(200);
  const results = json.results as DriftReportDocument[];
  expect(results).toHaveLength(1);
  return results[0] as DriftReportDocument;
}

describe('drift monitoring on the local platform', () => {
  it('runs the drift job on a thread of its own, off the event loop that answers predict', async () => {
    const running = runDrift();
    expect((await call('GET', '/v1/health', undefined)).status).toBe(200);
    await running;
    expect(platform.drift.threadId).toBeGreaterThan(0);
    expect(platform.drift.threadId).not.toBe(threadId);
  });

  it('gives insufficient data before any traffic, and no event', async () => {
    const doc = await runDrift();
    expect(doc.verdict).toBe('insufficient_data');
    expect(doc.rows).toBe(0);
    expect(platform.drift.bus.events).toHaveLength(0);
  });

  it('captures predictions, answers with the request id, and takes feedback labels', async () => {
    const { json } = await call('POST', '/v1/models/credit/predict', { instances: rows.slice(0, 1) }, { 'x-request-id': 'single-1' });
    expect(json.request_id).toBe('single-1');
    const feedback = await call('POST', '/v1/models/credit/feedback', { request_id: 'single-1', label: 'good' });
    expect(feedback.status).toBe(200);
    expect(feedback.json).toMatchObject({ accepted: true, request_id: 'single-1', label: 'good' });
    const bad = await call('POST', '/v1/models/credit/feedback', { request_id: 'single-1', label: 'maybe' });
    expect(bad.status).toBe(400);
    expect((bad.json.error as { code: string }).code).toBe('UNKNOWN_LABEL');

    await platform.drift.flushCaptures();
    const hourKeys = await platform.drift.captures.keys('captures/model=credit/version=1/date=');
    expect(hourKeys.length).toBeGreaterThan(0);
    expect(hourKeys[0]).toMatch(/^captures\/model=credit\/version=1\/date=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/.+\.jsonl$/);
  });

  it('finds no drift in unshifted traffic, and reports live accuracy from feedback', async () => {
    const normal = rows.slice(0, 400);
    await sendTraffic('normal', normal);
    for (let i = 0; i < 400; i += 50) {
      for (let row = 0; row < 50; row++) {
        await call('POST', '/v1/models/credit/feedback', { request_id: `normal-${i}`, row, label: labels[i + row] });
      }
    }

    const doc = await runDrift();

    expect(doc.rows).toBeGreaterThanOrEqual(400);
    expect(doc.drifted_features).toEqual([]);
    expect(doc.verdict).toBe('ok');
    expect(doc.prediction?.verdict).toBe('ok');
    expect(doc.performance.labelled).toBe(400);
    expect(doc.performance.accuracy.live).toBeGreaterThan(0.7);
    expect(doc.performance.verdict).toBe('ok');
    expect(platform.drift.bus.events.filter((e) => e['detail-type'] === 'DriftDetected')).toHaveLength(0);
  });

  it('finds shifted Income and Home, writes the reports, emits DriftDetected and starts retraining once, with the champion\'s trainer', async () => {
    // The production version is gbdt (the pipeline's default trainer is logreg): its retrain must train gbdt again.
    await promoteGbdtVersion();
    const shifted = rows.slice(400, 1400).map((r, i): FeatureRow => ({ ...r, Income: (r.Income as number) * 1.5, Home: i % 2 === 0 ? 'owner' : (r.Home ?? null) }));
    await sendTraffic('shifted', shifted);

    const doc = await runDrift();

    expect(doc.verdict).toBe('critical');
    expect(doc.drifted_features).toEqual(expect.arrayContaining(['Income', 'Home']));
    expect(doc.drifted_features).not.toContain('Age');
    const html = await platform.drift.captures.getText(doc.report_keys.html);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<canvas');
    expect(html).toContain('Income');
    const latest = JSON.parse(await platform.drift.captures.getText('drift-reports/credit/latest.json')) as DriftReportDocument;
    expect(latest.report_keys).toEqual(doc.report_keys);

    const detected = platform.drift.bus.events.filter((e) => e['detail-type'] === 'DriftDetected');
    expect(detected).toHaveLength(1);
    expect(detected[0]?.detail).toMatchObject({ model: 'credit', severity: 'critical' });
    const retrains = platform.drift.bus.events.filter((e) => e['detail-type'] === 'RetrainRequested');
    expect(retrains).toHaveLength(1);
    const runId = retrains[0]?.detail.run_id as string;
    expect(doc.retrain).toMatchObject({ requested: true, run_id: runId });
    expect(platform.pipeline.get(runId)).toBeDefined();
    // As deployed by default: the retrained version lands as a canary, after a person's approval.
    expect(retrains[0]?.detail).toMatchObject({
      app: 'serverless-mlops',
      model: 'credit',
      target: 'Status',
      positive_label: 'bad',
      requested_by: 'drift',
      promotion_mode: 'canary',
      approval_required: true,
    });
    // The run trains what the production version is: gbdt with its trees, not the pipeline's default logistic regression.
    expect(retrains[0]?.detail).toMatchObject({ trainer: 'gbdt', parameters: { trees: 8, maxDepth: 3 }, decision_threshold: CREDIT_THRESHOLD_POLICY });
    await vi.waitFor(() => expect(validatedRuns.find((r) => r.run_id === runId)).toBeDefined(), { timeout: 30_000, interval: 50 });
    expect(validatedRuns.find((r) => r.run_id === runId)).toMatchObject({
      trainer: 'gbdt',
      parameters: { trees: 8, maxDepth: 3 },
      decision_threshold: CREDIT_THRESHOLD_POLICY,
      validation: { passed: true },
    });

    // Within the cooldown, a second critical check reports the drift but does not retrain again.
    const again = await runDrift('2h');
    expect(again.verdict).toBe('critical');
    expect(again.retrain?.requested).toBe(false);
    expect(again.retrain?.reason).toMatch(/cooldown/);
    expect(platform.drift.bus.events.filter((e) => e['detail-type'] === 'RetrainRequested')).toHaveLength(1);
  });

  it("starts runs only from its own app's drift requests, and holds a forged one to drift.retrainPromotion", async () => {
    const csv = readFileSync(new URL('../../examples/credit/credit_data.csv', import.meta.url));
    const request = (runId: string, detail: Record<string, unknown>) => ({
      detailType: 'RetrainRequested' as const,
      detail: {
        run_id: runId,
        model: 'credit',
        dataset: { key: `datasets/credit/${createHash('sha256').update(csv).digest('hex')}.csv` },
        target: 'Status',
        positive_label: 'bad',
        ...detail,
      },
    });
    // Another deployment's drift job (staging), and a run input that does not say drift: neither starts a run.
    await platform.drift.bus.publish([
      request('forged-staging', { app: 'staging', requested_by: 'drift' }),
      request('forged-cli', { app: 'serverless-mlops', requested_by: 'cli', approval_required: false, promotion_mode: 'production' }),
    ]);
    expect(platform.pipeline.get('forged-staging')).toBeUndefined();
    expect(platform.pipeline.get('forged-cli')).toBeUndefined();

    // Anyone who can put events could send this one: it runs, but as the policy says (a canary after approval).
    await platform.drift.bus.publish([request('forged-drift', { app: 'serverless-mlops', requested_by: 'drift', approval_required: false, promotion_mode: 'production' })]);
    expect(platform.pipeline.get('forged-drift')).toBeDefined();
    await vi.waitFor(() => expect(validatedRuns.find((r) => r.run_id === 'forged-drift')).toBeDefined(), { timeout: 30_000, interval: 50 });
    expect(validatedRuns.find((r) => r.run_id === 'forged-drift')).toMatchObject({ approval_required: true, promotion: { mode: 'canary' }, requested_by: 'drift' });
  });
});
