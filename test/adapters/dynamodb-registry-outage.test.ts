import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { ModelService } from '#core/serving/model-service.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';
import { REFERENCE_MODEL, seedReferenceModel } from '../../local/seed.ts';
import { CREDIT_INSTANCE } from '../support/credit-instances.ts';

/**
 * The last known serving config while DynamoDB is unreachable, over the real registry adapter: dynalite answers the
 * first read and is then stopped (connections refused, as an outage of the endpoint looks to the SDK).
 */

const TABLE = 'stale-serving-registry';
const TTL_MS = 1_000;
const STALE_MS = 10_000;
let dataDir: string;
let dynalite: RunningEmulator | undefined;
let proxy: RunningEmulator | undefined;
let client: DynamoDBClient;
const artifacts = new Map<string, Uint8Array>();

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-stale-'));
  dynalite = await startDynamoDb(dataDir);
  proxy = await startTransactionProxy(dynalite);
  // One attempt per call: the outage is seen at once rather than after the SDK's retries.
  client = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  await ensureRegistryTable(client, TABLE);
  const store = new DynamoDbRegistry(DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }), TABLE);
  await seedReferenceModel(new RegistryService({ store }), { putArtifact: async (key, bytes) => void artifacts.set(key, bytes) });
}, 60_000);

afterAll(async () => {
  client.destroy();
  await proxy?.close();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('ModelService over DynamoDB that becomes unreachable', () => {
  it('keeps serving the last config read for staleServingMs, reporting it, then answers 503 REGISTRY_UNAVAILABLE', async () => {
    // Prepare: a warm container that read the config once.
    const clock = { now: 1_000_000 };
    const stale: { model: string; age_ms: number }[] = [];
    const service = new ModelService({
      registry: new DynamoDbRegistry(DynamoDBDocumentClient.from(client), TABLE),
      artifacts: { getArtifact: async (key) => artifacts.get(key) ?? Promise.reject(new Error(`no ${key}`)) },
      engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
      cacheTtlMs: TTL_MS,
      staleServingMs: STALE_MS,
      maxBatchSize: 10,
      now: () => clock.now,
      observer: {
        modelLoaded: () => undefined,
        modelLoadFailed: () => undefined,
        canaryFallback: () => undefined,
        shadowScored: () => undefined,
        shadowFailed: () => undefined,
        staleServingConfig: ({ model, age_ms }) => void stale.push({ model, age_ms }),
      },
    });
    const body = { instances: [CREDIT_INSTANCE] };
    expect((await service.predict(REFERENCE_MODEL, body)).model_version).toBe(1);

    // Act: DynamoDB goes away; the TTL passes.
    await proxy?.close();
    await dynalite?.close();
    proxy = undefined;
    dynalite = undefined;
    clock.now += 2 * TTL_MS;

    // Assess: still answered from the last config, reported; past the bound, the outage is the answer.
    expect((await service.predict(REFERENCE_MODEL, body)).model_version).toBe(1);
    expect(stale).toEqual([{ model: REFERENCE_MODEL, age_ms: 2 * TTL_MS }]);
    clock.now += STALE_MS;
    await expect(service.predict(REFERENCE_MODEL, body)).rejects.toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503 });
  });
});
