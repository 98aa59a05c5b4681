import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';
import { artifact, describeRegistryStoreContract, metadata } from '../support/registry-store-contract.ts';

const TABLE = 'registry-test';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

let dataDir: string;
let dynalite: RunningEmulator;
let proxy: RunningEmulator;
let dynamoClient: DynamoDBClient;
let store: DynamoDbRegistry;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-registry-'));
  dynalite = await startDynamoDb(dataDir);
  proxy = await startTransactionProxy(dynalite);
  dynamoClient = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  store = new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }), TABLE);
});

afterAll(async () => {
  dynamoClient?.destroy();
  await proxy?.close();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describeRegistryStoreContract('DynamoDbRegistry (dynalite)', () => store);

describe('DynamoDbRegistry (dynalite) only', () => {
  it('lists models through the index, in name order', async () => {
    const registry = new RegistryService({ store });
    for (const model of ['index-b', 'index-a']) await registry.register({ model, artifact: artifact(1), metadata, actor: 'tester' });
    const names = (await store.listModels()).map((m) => m.model).filter((name) => name.startsWith('index-'));
    expect(names).toEqual(['index-a', 'index-b']);
  });
});
