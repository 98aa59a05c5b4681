import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRegistry, RegistryConflictError, modelPartitionKey, versionSortKey } from '#adapters/dynamodb-registry.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ArtifactLocation } from '#core/registry/records.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

const TABLE = 'registry-test';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

const metadata: ModelMetadata = {
  algorithm: 'logistic_regression',
  input_schema: {
    schema_version: 1,
    features: [
      { name: 'age', type: 'numeric', nullable: true },
      { name: 'home', type: 'categorical', nullable: false, categories: ['owner', 'rent', ''] },
    ],
  },
  preprocessing: {
    preprocess_version: 1,
    input_name: 'features',
    output_name: 'probability',
    columns: 4,
    encodings: [
      { feature: 'age', kind: 'numeric', impute: 36.25 },
      { feature: 'home', kind: 'one_hot', categories: ['owner', 'rent', ''], impute: null },
    ],
  },
  output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
  metrics: { roc_auc: 0.8312345678901234, accuracy: 0.1 + 0.2 },
  baseline: {
    age: {
      type: 'numeric',
      count: 100,
      missing_rate: 0,
      min: -1e-7,
      max: 1e21,
      mean: 1 / 3,
      std: 0,
      quantiles: [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    },
    home: { type: 'categorical', count: 100, missing_rate: 0.25, frequencies: { owner: 0.5, rent: 0.5, '': 0 } },
  },
  lineage: {
    data_sha256: 'a'.repeat(64),
    rows: 100,
    target: 'Status',
    seed: 42,
    parameters: { l2: 0.001, solver: 'lbfgs', standardise: true },
    trainer: 'builtin',
    trainer_version: '1.0.0',
  },
};

function artifact(n: number): ArtifactLocation {
  const sha256 = n.toString(16).padStart(64, '0');
  return { key: `models/m/${sha256}.onnx`, sha256, size_bytes: 100 + n };
}

let dataDir: string;
let emulator: RunningEmulator;
let dynamoClient: DynamoDBClient;
let documentClient: DynamoDBDocumentClient;
let registry: DynamoDbRegistry;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-registry-'));
  emulator = await startDynamoDb(dataDir);
  dynamoClient = new DynamoDBClient({ endpoint: emulator.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  documentClient = DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } });
  registry = new DynamoDbRegistry(documentClient, TABLE, () => new Date('2024-05-06T07:08:09.000Z'));
});

afterAll(async () => {
  dynamoClient?.destroy();
  await emulator?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function register(model: string, n: number) {
  return registry.registerVersion({ model, description: `${model} model`, artifact: artifact(n), metadata, actor: 'tester' });
}

describe('DynamoDbRegistry', () => {
  it('creates the model and version 1 as a candidate on the first registration', async () => {
    const record = await register('first', 1);
    expect(record).toMatchObject({ model: 'first', version: 1, stage: 'candidate', created_by: 'tester' });
    expect(record.created_at).toBe('2024-05-06T07:08:09.000Z');
    expect(await registry.getModel('first')).toEqual({
      model: 'first',
      description: 'first model',
      production_version: null,
      latest_version: 1,
      created_at: '2024-05-06T07:08:09.000Z',
      updated_at: '2024-05-06T07:08:09.000Z',
    });
  });

  it('numbers the next registration version 2', async () => {
    await register('second', 1);
    const next = await register('second', 2);
    expect(next.version).toBe(2);
    expect((await registry.getModel('second'))?.latest_version).toBe(2);
    expect((await registry.getVersion('second', 2))?.artifact).toEqual(artifact(2));
  });

  it('never gives two concurrent registrations the same version number', async () => {
    await register('contended', 1);
    const outcomes = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => register('contended', i + 2)));
    const registered = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value.version] : []));
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(RegistryConflictError);
    }
    expect(registered.length).toBeGreaterThanOrEqual(1);
    expect(new Set(registered).size).toBe(registered.length);
    const latest = (await registry.getModel('contended'))?.latest_version;
    expect(latest).toBe(1 + registered.length);
    for (const version of registered) expect(await registry.getVersion('contended', version)).toBeDefined();
  });

  it('round-trips a version record, metadata included, exactly', async () => {
    const record = await register('roundtrip', 7);
    const read = await registry.getVersion('roundtrip', 1);
    expect(read).toEqual(record);
    expect(read?.metadata).toStrictEqual(metadata);
  });

  it('stores the version item under its zero-padded sort key with metadata as JSON text', async () => {
    await register('layout', 1);
    const { Item } = await documentClient.send(
      new GetCommand({ TableName: TABLE, Key: { pk: modelPartitionKey('layout'), sk: versionSortKey(1) } }),
    );
    expect(versionSortKey(1)).toBe('VERSION#000000001');
    expect(typeof Item?.metadata_json).toBe('string');
  });

  it('returns undefined for a model or version it does not hold', async () => {
    expect(await registry.getModel('absent')).toBeUndefined();
    expect(await registry.getVersion('absent', 1)).toBeUndefined();
    await register('sparse', 1);
    expect(await registry.getVersion('sparse', 2)).toBeUndefined();
  });

  it('lists the registered models through the index', async () => {
    await register('listed-b', 1);
    await register('listed-a', 1);
    const names = (await registry.listModels()).map((m) => m.model);
    expect(names).toEqual(expect.arrayContaining(['listed-a', 'listed-b', 'first', 'second']));
    expect(new Set(names).size).toBe(names.length);
  });

  it('promotes with the expected pointer and archives the previous production version', async () => {
    await register('promoted', 1);
    await register('promoted', 2);
    await registry.promote('promoted', 1, null);
    expect((await registry.getModel('promoted'))?.production_version).toBe(1);
    expect((await registry.getVersion('promoted', 1))?.stage).toBe('production');

    await registry.promote('promoted', 2, 1);
    expect((await registry.getModel('promoted'))?.production_version).toBe(2);
    expect((await registry.getVersion('promoted', 2))?.stage).toBe('production');
    expect((await registry.getVersion('promoted', 1))?.stage).toBe('archived');
  });

  it('refuses a promotion whose expected pointer is stale', async () => {
    await register('stale', 1);
    await register('stale', 2);
    await registry.promote('stale', 1, null);
    await expect(registry.promote('stale', 2, null)).rejects.toBeInstanceOf(RegistryConflictError);
    await expect(registry.promote('stale', 2, 2)).rejects.toBeInstanceOf(RegistryConflictError);
    expect((await registry.getModel('stale'))?.production_version).toBe(1);
    expect((await registry.getVersion('stale', 2))?.stage).toBe('candidate');
  });

  it('lets exactly one of 10 concurrent promotions from the same pointer win', async () => {
    for (let n = 1; n <= 11; n++) await register('race', n);
    await registry.promote('race', 1, null);

    // Versions 2..11 all race to replace version 1.
    const candidates = Array.from({ length: 10 }, (_, i) => i + 2);
    const outcomes = await Promise.allSettled(candidates.map((version) => registry.promote('race', version, 1)));
    const won = candidates.filter((_, i) => outcomes[i]?.status === 'fulfilled');
    const lost = outcomes.filter((outcome) => outcome.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(9);
    for (const outcome of lost) expect(outcome.reason).toBeInstanceOf(RegistryConflictError);
    expect((await registry.getModel('race'))?.production_version).toBe(won[0]);
    expect((await registry.getVersion('race', won[0] ?? 0))?.stage).toBe('production');
    expect((await registry.getVersion('race', 1))?.stage).toBe('archived');
    for (const version of candidates.filter((v) => v !== won[0])) {
      expect((await registry.getVersion('race', version))?.stage).toBe('candidate');
    }
  });

  it('refuses to promote a version that does not exist', async () => {
    await register('missing', 1);
    await expect(registry.promote('missing', 2, null)).rejects.toBeInstanceOf(RegistryConflictError);
    await expect(registry.promote('no-such-model', 1, null)).rejects.toBeInstanceOf(RegistryConflictError);
    expect((await registry.getModel('missing'))?.production_version).toBeNull();
  });
});
