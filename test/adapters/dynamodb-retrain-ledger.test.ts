import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRetrainLedger } from '#adapters/dynamodb-retrain-ledger.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

/** The retrain cooldown's conditional write against dynalite. */

const TABLE = 'ledger-test';
let dataDir: string;
let dynamo: RunningEmulator;
let ledger: DynamoDbRetrainLedger;
let client: DynamoDBClient;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-ledger-'));
  dynamo = await startDynamoDb(dataDir);
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await ensureRegistryTable(client, TABLE);
  ledger = new DynamoDbRetrainLedger(DynamoDBDocumentClient.from(client), TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const HOUR = 3_600_000;
const t0 = new Date('2026-12-01T08:00:00Z');

describe('DynamoDbRetrainLedger', () => {
  it('claims once per model per cooldown, and again for the same request id', async () => {
    expect((await ledger.claim('m1', { requestId: 'r1', at: t0 }, HOUR)).claimed).toBe(true);

    const second = await ledger.claim('m1', { requestId: 'r2', at: new Date(t0.getTime() + 10 * 60_000) }, HOUR);
    expect(second.claimed).toBe(false);
    expect(second.last).toEqual({ request_id: 'r1', requested_at: t0.toISOString() });

    // A retry of the first run (same request id) may send its request again.
    expect((await ledger.claim('m1', { requestId: 'r1', at: t0 }, HOUR)).claimed).toBe(true);
    // Another model has its own cooldown.
    expect((await ledger.claim('m2', { requestId: 'r3', at: t0 }, HOUR)).claimed).toBe(true);
    // After the cooldown, a new request is allowed.
    expect((await ledger.claim('m1', { requestId: 'r4', at: new Date(t0.getTime() + HOUR) }, HOUR)).claimed).toBe(true);
  });

  it('lets only one of two racing claims through', async () => {
    const at = new Date('2026-12-02T08:00:00Z');
    const results = await Promise.all(['a', 'b', 'c'].map((id) => ledger.claim('race', { requestId: id, at }, HOUR)));
    expect(results.filter((r) => r.claimed)).toHaveLength(1);
  });
});
