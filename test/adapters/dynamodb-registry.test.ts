import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { ConflictError } from '#core/api/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ArtifactLocation } from '#core/registry/records.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
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
let dynalite: RunningEmulator;
let proxy: RunningEmulator;
let dynamoClient: DynamoDBClient;
let store: DynamoDbRegistry;
let registry: RegistryService;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-registry-'));
  dynalite = await startDynamoDb(dataDir);
  proxy = await startTransactionProxy(dynalite);
  dynamoClient = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  store = new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }), TABLE);
  registry = new RegistryService({ store });
});

afterAll(async () => {
  dynamoClient?.destroy();
  await proxy?.close();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function register(model: string, n: number): Promise<number> {
  const { version } = await registry.register({ model, description: `${model} model`, artifact: artifact(n), metadata, actor: 'tester' });
  return version.version;
}

async function registerMany(model: string, count: number): Promise<number[]> {
  const versions: number[] = [];
  for (let n = 1; n <= count; n++) versions.push(await register(model, n));
  return versions;
}

describe('DynamoDbRegistry with RegistryService (dynalite)', () => {
  it('creates the model with version 1 as a candidate, then numbers versions in order', async () => {
    expect(await register('first', 1)).toBe(1);
    expect(await register('first', 2)).toBe(2);
    const model = await registry.getModel('first');
    expect(model).toMatchObject({ model: 'first', production_version: null, latest_version: 2, canary: null, shadow_version: null });
    const versions = await registry.listVersions('first');
    expect(versions.map((v) => [v.version, v.stage])).toEqual([
      [1, 'candidate'],
      [2, 'candidate'],
    ]);
  });

  it('round-trips metadata exactly', async () => {
    await register('roundtrip', 1);
    expect((await registry.getVersion('roundtrip', 1)).metadata).toEqual(metadata);
  });

  it('round-trips a serving target, and reads records without one as served by the Lambda', async () => {
    await registry.register({ model: 'targets', artifact: artifact(1), metadata, actor: 'tester' });
    await registry.register({ model: 'targets', artifact: artifact(2), metadata, actor: 'tester', servingTarget: { kind: 'sagemaker', endpoint_name: 'targets-gpu' } });
    await registry.register({ model: 'targets', artifact: artifact(3), metadata, actor: 'tester', servingTarget: { kind: 'lambda' } });
    const versions = await registry.listVersions('targets');
    expect(versions.map((v) => v.serving_target)).toEqual([undefined, { kind: 'sagemaker', endpoint_name: 'targets-gpu' }, { kind: 'lambda' }]);
    expect((await store.getVersion('targets', 2))?.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'targets-gpu' });
  });

  it('deduplicates a re-registration of the same bytes', async () => {
    await register('dedupe', 7);
    const again = await registry.register({ model: 'dedupe', artifact: artifact(7), metadata, actor: 'tester' });
    expect(again.deduplicated).toBe(true);
    expect(again.version.version).toBe(1);
    expect((await registry.getModel('dedupe')).latest_version).toBe(1);
  });

  it('lists models through the index', async () => {
    await register('listed', 1);
    const names = (await registry.listModels()).map((m) => m.model);
    expect(names).toContain('listed');
  });

  it('promotes, archives the replaced version and remembers it for rollback', async () => {
    await registerMany('promo', 2);
    await registry.promote({ model: 'promo', version: 1, actor: 'alice', reason: 'first release' });
    const { model } = await registry.promote({ model: 'promo', version: 2, actor: 'bob', reason: 'better auc' });
    expect(model).toMatchObject({ production_version: 2, previous_production_versions: [1] });
    expect((await registry.getVersion('promo', 1)).stage).toBe('archived');
    expect((await registry.getVersion('promo', 2)).stage).toBe('production');
  });

  it('lets exactly one of 50 concurrent promotions of different versions win, and audits every attempt', async () => {
    await registerMany('race', 51);
    await registry.promote({ model: 'race', version: 1, actor: 'setup' });
    const attempts = Array.from({ length: 50 }, (_, i) => i + 2);
    // Every caller decided on the same state, as 50 operators looking at one screen would.
    const { revision } = await registry.getModel('race');

    const results = await Promise.allSettled(
      attempts.map((version) =>
        registry.promote({ model: 'race', version, actor: `racer-${version}`, reason: 'race', expectedRevision: revision }),
      ),
    );

    const winners = results.flatMap((result, i) => (result.status === 'fulfilled' ? [attempts[i]] : []));
    expect(winners).toHaveLength(1);
    for (const result of results) {
      if (result.status === 'rejected') {
        expect(result.reason).toBeInstanceOf(ConflictError);
        expect((result.reason as ConflictError).code).toBe('CONCURRENT_CHANGE');
      }
    }
    const model = await registry.getModel('race');
    expect(model.production_version).toBe(winners[0]);
    const production = (await registry.listVersions('race')).filter((v) => v.stage === 'production');
    expect(production.map((v) => v.version)).toEqual(winners);

    const raceAudit = (await registry.history('race')).filter((r) => r.reason.startsWith('race'));
    expect(raceAudit).toHaveLength(50);
    expect(raceAudit.filter((r) => r.outcome === 'applied').map((r) => r.version)).toEqual(winners);
    expect(raceAudit.filter((r) => r.outcome === 'conflict')).toHaveLength(49);
    expect(new Set(raceAudit.map((r) => r.version))).toEqual(new Set(attempts));
  });

  it('keeps exactly one production version when 50 promotions interleave without a shared read', async () => {
    await registerMany('storm', 51);
    const attempts = Array.from({ length: 50 }, (_, i) => i + 2);

    const results = await Promise.allSettled(
      attempts.map((version) => registry.promote({ model: 'storm', version, actor: 'storm', reason: 'storm' })),
    );

    const model = await registry.getModel('storm');
    const production = (await registry.listVersions('storm')).filter((v) => v.stage === 'production');
    expect(production.map((v) => v.version)).toEqual([model.production_version]);
    const audit = (await registry.history('storm')).filter((r) => r.action === 'promote');
    const applied = results.filter((r) => r.status === 'fulfilled').length;
    expect(audit.filter((r) => r.outcome === 'applied')).toHaveLength(applied);
    expect(audit).toHaveLength(50);
    expect(model.previous_production_versions).toHaveLength(applied - 1);
  });

  it('rolls back to the previous production version, then refuses when there is none', async () => {
    await registerMany('roll', 3);
    await registry.promote({ model: 'roll', version: 1, actor: 'a' });
    await registry.promote({ model: 'roll', version: 2, actor: 'a' });
    await registry.promote({ model: 'roll', version: 3, actor: 'a' });

    expect((await registry.rollback({ model: 'roll', actor: 'oncall', reason: 'latency' })).model.production_version).toBe(2);
    expect((await registry.rollback({ model: 'roll', actor: 'oncall' })).model.production_version).toBe(1);
    expect((await registry.getVersion('roll', 3)).stage).toBe('archived');
    await expect(registry.rollback({ model: 'roll', actor: 'oncall' })).rejects.toMatchObject({ code: 'NOTHING_TO_ROLL_BACK' });
    const last = (await registry.history('roll')).at(-1);
    expect(last).toMatchObject({ action: 'rollback', outcome: 'refused' });
  });

  it('hides a soft-deleted version but keeps it, and refuses to delete a serving version', async () => {
    await registerMany('soft', 2);
    await registry.promote({ model: 'soft', version: 1, actor: 'a' });
    await expect(registry.delete({ model: 'soft', version: 1, actor: 'a' })).rejects.toMatchObject({ code: 'VERSION_SERVING' });

    await registry.delete({ model: 'soft', version: 2, actor: 'a', reason: 'bad data' });

    expect((await registry.listVersions('soft')).map((v) => v.version)).toEqual([1]);
    await expect(registry.getVersion('soft', 2)).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
    const kept = await registry.getVersion('soft', 2, { includeDeleted: true });
    expect(kept.deleted_at).not.toBeNull();
    expect((await registry.listVersions('soft', { includeDeleted: true })).map((v) => v.version)).toEqual([1, 2]);
  });

  it('treats a retried change with the same client token as done once', async () => {
    await registerMany('retry', 2);
    const first = await registry.promote({ model: 'retry', version: 2, actor: 'a', clientToken: 'token-123' });
    const again = await registry.promote({ model: 'retry', version: 2, actor: 'a', clientToken: 'token-123' });
    expect(first.result).toBe('applied');
    expect(again.result).toBe('replayed');
    const promotions = (await registry.history('retry')).filter((r) => r.action === 'promote');
    expect(promotions).toHaveLength(1);
  });

  it('sets and clears canary and shadow versions', async () => {
    await registerMany('traffic', 3);
    await registry.promote({ model: 'traffic', version: 1, actor: 'a' });
    await registry.setCanary({ model: 'traffic', version: 2, share: 0.1, actor: 'a' });
    await registry.setShadow({ model: 'traffic', version: 3, actor: 'a' });
    expect(await registry.getModel('traffic')).toMatchObject({ canary: { version: 2, share: 0.1 }, shadow_version: 3 });
    expect((await registry.getVersion('traffic', 2)).stage).toBe('staging');
    await expect(registry.setCanary({ model: 'traffic', version: 1, share: 0.1, actor: 'a' })).rejects.toMatchObject({
      code: 'ALREADY_PRODUCTION',
    });

    await registry.clearCanary({ model: 'traffic', actor: 'a' });
    await registry.clearShadow({ model: 'traffic', actor: 'a' });
    expect(await registry.getModel('traffic')).toMatchObject({ canary: null, shadow_version: null });
  });

  it('keeps a history of every change, oldest first, with actor, reason and from/to', async () => {
    await registerMany('audited', 2);
    await registry.promote({ model: 'audited', version: 1, actor: 'alice', reason: 'go live' });
    await registry.promote({ model: 'audited', version: 2, actor: 'bob', reason: 'retrained' });
    await registry.rollback({ model: 'audited', actor: 'carol', reason: 'errors up' });

    const history = await registry.history('audited');
    expect(history.map((r) => [r.action, r.version, r.actor, r.outcome])).toEqual([
      ['register', 1, 'tester', 'applied'],
      ['register', 2, 'tester', 'applied'],
      ['promote', 1, 'alice', 'applied'],
      ['promote', 2, 'bob', 'applied'],
      ['rollback', 1, 'carol', 'applied'],
    ]);
    expect(history[3]).toMatchObject({ from: 'production=1', to: 'production=2', reason: 'retrained' });
  });

  it('answers unknown models and versions with not-found errors', async () => {
    await expect(registry.getModel('nobody')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await register('sparse', 1);
    await expect(registry.promote({ model: 'sparse', version: 9, actor: 'a' })).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
  });
});
