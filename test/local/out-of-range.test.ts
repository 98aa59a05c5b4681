import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalPlatform, type LocalPlatform } from '../../local/platform.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * The range check over HTTP on a local platform configured to reject: the seeded credit model was trained on
 * incomes 6 to 959 and ages 18 to 68; with tolerance 0 those are the bounds.
 */

const API_KEY = 'test-key-out-of-range';
let dataDir: string;
let platform: LocalPlatform;

async function predict(instances: unknown[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${platform.url}/v1/models/credit/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ instances }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-out-of-range-'));
  platform = await startLocalPlatform({ dataDir, apiKey: API_KEY, port: 0, outOfRange: { policy: 'reject', tolerance: 0 } });
});

afterAll(async () => {
  await platform?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('local platform with outOfRange reject', () => {
  it('answers in-range instances, nulls included, as usual and without warnings', async () => {
    const { status, json } = await predict([CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Income: null, Age: 68 }]);
    expect(status).toBe(200);
    expect(json).not.toHaveProperty('warnings');
    expect(json.predictions).toHaveLength(2);
  });

  it('answers 400 OUT_OF_RANGE naming the first value outside the training range', async () => {
    const { status, json } = await predict([CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Age: 69, Income: 960 * 1.5 }]);
    expect(status).toBe(400);
    expect(json.error).toEqual({
      code: 'OUT_OF_RANGE',
      message: 'instances[1].Age is 69, outside the range this model version was trained on (with tolerance): 18 to 68',
      details: { field: 'instances[1].Age', received: 69, min: 18, max: 68 },
    });
  });
});
