import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbDriftLease } from '#adapters/dynamodb-drift-lease.ts';
import { createDriftJobHandler } from '../../lambdas/drift-job/drift-job-handler.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

/** The drift job's single-flight lease: a conditional write with expiry in the registry table (dynalite). */

const TABLE = 'lease-test';
const MINUTE = 60_000;
let dataDir: string;
let dynamo: RunningEmulator;
let client: DynamoDBClient;
let lease: DynamoDbDriftLease;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-lease-'));
  dynamo = await startDynamoDb(dataDir);
  client = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
  await ensureRegistryTable(client, TABLE);
  lease = new DynamoDbDriftLease(DynamoDBDocumentClient.from(client), TABLE);
});

afterAll(async () => {
  client?.destroy();
  await dynamo?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('DynamoDbDriftLease', () => {
  it('lets one of several racing runs hold the lease, and tells the others who holds it until when', async () => {
    const now = new Date('2026-12-01T08:00:00Z');
    const results = await Promise.all(['a', 'b', 'c', 'd'].map((holder) => lease.acquire(holder, now, 16 * MINUTE)));
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
    const refused = results.find((r) => !r.acquired);
    expect(refused?.expiresAt).toBe('2026-12-01T08:16:00.000Z');
    expect(['a', 'b', 'c', 'd']).toContain(refused?.holder);
    const holder = ['a', 'b', 'c', 'd'][results.findIndex((r) => r.acquired)] ?? '';
    // Someone else's release leaves it alone; the holder's frees it.
    await lease.release('someone-else');
    expect((await lease.acquire('e', new Date(now.getTime() + MINUTE), 16 * MINUTE)).acquired).toBe(false);
    await lease.release(holder);
    expect((await lease.acquire('e', new Date(now.getTime() + MINUTE), 16 * MINUTE)).acquired).toBe(true);
    await lease.release('e');
  });

  it('frees the lease of a crashed run once it expires', async () => {
    const now = new Date('2026-12-02T08:00:00Z');
    expect((await lease.acquire('crashed', now, 16 * MINUTE)).acquired).toBe(true);
    expect((await lease.acquire('next', new Date(now.getTime() + 15 * MINUTE), 16 * MINUTE)).acquired).toBe(false);
    expect((await lease.acquire('next', new Date(now.getTime() + 16 * MINUTE), 16 * MINUTE)).acquired).toBe(true);
    // The crashed run's late release does not take the lease from the next one.
    await lease.release('crashed');
    expect((await lease.acquire('third', new Date(now.getTime() + 17 * MINUTE), 16 * MINUTE)).acquired).toBe(false);
    await lease.release('next');
  });
});

describe('drift job handler with the lease', () => {
  function handler(holder: string, onList: () => Promise<void> = async () => {}) {
    return createDriftJobHandler({
      registry: {
        listModels: async () => {
          await onList();
          return [];
        },
        getModel: async () => undefined,
        getVersion: async () => undefined,
      },
      captures: { listCaptures: async () => [], listFeedback: async () => [] } as never,
      reports: { putReport: async () => {} } as never,
      events: { publish: async () => {} } as never,
      ledger: { claim: async () => ({ claimed: true }) },
      settings: { cooldownMinutes: 60, retrainOnCritical: true },
      logger: new Logger({ logLevel: 'SILENT' }),
      lease: { store: lease, durationMs: 16 * MINUTE, holder: () => holder },
    });
  }

  it('skips a run while another holds the lease, runs once it is released, and releases after a failure too', async () => {
    let releaseFirst: () => void = () => {};
    const firstListing = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let started: () => void = () => {};
    const firstStarted = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = handler('first', async () => {
      started();
      await firstListing;
    })({ kind: 'hourly', window: '1h' });
    await firstStarted;
    const second = await handler('second')({ kind: 'daily', window: '24h' });
    expect(second.results).toEqual([]);
    expect(second.skipped).toMatch(/^another drift run \(first\) holds the lease until /);
    releaseFirst();
    expect((await first).skipped).toBeUndefined();
    expect((await handler('third')({ kind: 'hourly', window: '1h' })).skipped).toBeUndefined();

    const failing = handler('failing', async () => {
      throw new Error('registry down');
    });
    await expect(failing({ kind: 'hourly', window: '1h' })).rejects.toThrow('registry down');
    expect((await handler('after')({ kind: 'hourly', window: '1h' })).skipped).toBeUndefined();
  });
});
