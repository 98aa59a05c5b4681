import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriftJobResult, DriftReportDocument } from '#core/drift/job.ts';
import { reportKeys } from '#core/drift/job.ts';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';

/**
 * The local platform's drift schedule (`npm start`'s MLOPS_DRIFT_INTERVAL_SECONDS, the `drift.intervalSeconds`
 * option): nobody calls the job here; the interval runs it, and its report appears in the capture bucket.
 */

const API_KEY = 'drift-schedule-key';
let dataDir: string;
let platform: LocalPlatform;
const scheduled: ({ results: DriftJobResult['document'][] } | Error)[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-drift-schedule-'));
  platform = await startLocalPlatform({
    dataDir,
    apiKey: API_KEY,
    registryCacheTtlSeconds: 0,
    drift: { intervalSeconds: 1, window: '1h', onResult: (result) => scheduled.push(result) },
  });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Polls until `read` gives a value; the bound only keeps a broken schedule from hanging the suite. */
async function eventually<T>(read: () => Promise<T | undefined>, attempts = 300): Promise<T> {
  for (let i = 0; i < attempts; i++) {
    const value = await read();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the scheduled drift check never ran');
}

describe('the local drift schedule', () => {
  it('runs the drift job on its interval, writing the hourly report of the captured traffic', async () => {
    // Prepare: some traffic, so the scheduled run has captures to read.
    const response = await fetch(`${platform.url}/v1/models/credit/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, 'x-request-id': 'scheduled-1' },
      body: JSON.stringify({
        instances: [{ Seniority: 9, Home: 'rent', Time: 60, Age: 30, Marital: 'married', Records: 'no', Job: 'freelance', Expenses: 73, Income: 129, Assets: 0, Debt: 0, Amount: 800, Price: 846 }],
      }),
    });
    expect(response.status).toBe(200);

    // Act: nothing but waiting for a scheduled run that has seen the request.
    const latest = reportKeys('credit', new Date(), 'hourly').latestJson;
    const report = await eventually(async () => {
      const text = await platform.drift.captures.getText(latest).catch(() => undefined);
      const doc = text === undefined ? undefined : (JSON.parse(text) as DriftReportDocument);
      return doc !== undefined && doc.rows > 0 ? doc : undefined;
    });

    // Assess: the schedule's kind and window, the captured row, and the runs reported to onResult.
    expect(report).toMatchObject({ model: 'credit', model_version: 1, kind: 'hourly', rows: 1, verdict: 'insufficient_data' });
    expect(report.window.duration_ms).toBe(3_600_000);
    const html = await platform.drift.captures.getText(reportKeys('credit', new Date(), 'hourly').latestHtml);
    expect(html).toContain('<html');
    expect(scheduled.some((r) => !(r instanceof Error) && r.results.some((d) => d.kind === 'hourly' && d.rows > 0))).toBe(true);
    expect(scheduled.filter((r) => r instanceof Error)).toEqual([]);
  });
});
