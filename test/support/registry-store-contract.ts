/**
 * The contract of a RegistryStore, run over every implementation: the DynamoDB adapter on dynalite
 * (test/adapters/dynamodb-registry.test.ts) and the in-memory store the core's tests use
 * (test/core/registry/registry-service.test.ts). The same cases through RegistryService (the lifecycle rules, the
 * conditional writes on the model revision, idempotent client tokens, soft deletes, the audit trail), then through
 * the store's own port: what the in-memory store re-implements must answer as DynamoDB does.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ConflictError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelChange, RegistryStore } from '#core/registry/ports.ts';
import type { ArtifactLocation, AuditRecord, ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { RegistryService } from '#core/registry/registry-service.ts';

/** Metadata with values that a lossy round trip would change (floats, 1e21, an empty category). */
export const metadata: ModelMetadata = {
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

export function artifact(n: number): ArtifactLocation {
  const sha256 = n.toString(16).padStart(64, '0');
  return { key: `models/m/${sha256}.onnx`, sha256, size_bytes: 100 + n };
}

/**
 * Registers the contract's cases for the store that `store()` returns, inside a `describe` named `name`. The store
 * is made once (beforeAll of the caller); every case works on models of its own name, so they pass in any order.
 */
export function describeRegistryStoreContract(name: string, store: () => RegistryStore): void {
  /** A clock that moves on by a millisecond a call: audit records never share a time. */
  function tickingClock(): () => Date {
    let now = Date.parse('2026-12-01T08:00:00.000Z');
    return () => new Date(now++);
  }
  let registry: RegistryService;

  async function register(model: string, n: number): Promise<number> {
    const { version } = await registry.register({ model, description: `${model} model`, artifact: artifact(n), metadata, actor: 'tester' });
    return version.version;
  }

  async function registerMany(model: string, count: number): Promise<number[]> {
    const versions: number[] = [];
    for (let n = 1; n <= count; n++) versions.push(await register(model, n));
    return versions;
  }

  describe(`${name}: through RegistryService`, () => {
    // After the caller's beforeAll, which makes the store.
    beforeAll(() => {
      registry = new RegistryService({ store: store(), clock: tickingClock() });
    });

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
      expect((await store().getVersion('targets', 2))?.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'targets-gpu' });
    });
  
      it('deduplicates a re-registration of the same bytes', async () => {
      await register('dedupe', 7);
      const again = await registry.register({ model: 'dedupe', artifact: artifact(7), metadata, actor: 'tester' });
      expect(again.deduplicated).toBe(true);
      expect(again.version.version).toBe(1);
      expect((await registry.getModel('dedupe')).latest_version).toBe(1);
    });
  
      it('lists the models with at least one version', async () => {
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

  describe(`${name}: the store's port`, () => {
    const at = '2026-12-01T09:00:00.000Z';
    function modelRecord(model: string, revision: number, latest: number): ModelRecord {
      return {
        model,
        description: '',
        production_version: null,
        canary: null,
        shadow_version: null,
        previous_production_versions: [],
        latest_version: latest,
        revision,
        created_at: at,
        updated_at: at,
      };
    }
    function versionRecord(model: string, version: number): ModelVersionRecord {
      return { model, version, stage: 'candidate', artifact: artifact(version), metadata, created_at: at, created_by: 'tester', deleted_at: null };
    }
    function audit(model: string, token: string, time = at): AuditRecord {
      return { model, at: time, actor: 'tester', action: 'register', version: 1, from: null, to: null, reason: '', outcome: 'applied', client_token: token };
    }
    function create(model: string, token: string): ModelChange {
      return { expectedRevision: null, next: modelRecord(model, 1, 1), versionUpdates: [], newVersion: versionRecord(model, 1), audit: audit(model, token) };
    }

    it('creates a model only when none exists (expected revision null)', async () => {
      expect(await store().applyChange(create('port-create', 't1'))).toBe('applied');
      expect(await store().getModel('port-create')).toEqual(modelRecord('port-create', 1, 1));
      expect(await store().getVersion('port-create', 1)).toEqual(versionRecord('port-create', 1));
      await expect(store().applyChange(create('port-create', 't2'))).rejects.toMatchObject({ code: 'CONCURRENT_CHANGE' });
      expect(await store().history('port-create')).toEqual([audit('port-create', 't1')]);
    });

    it('refuses a change on a stale revision, writing nothing of it', async () => {
      await store().applyChange(create('port-stale', 't1'));
      const stale: ModelChange = {
        expectedRevision: 7,
        next: modelRecord('port-stale', 8, 2),
        versionUpdates: [{ version: 1, stage: 'archived' }],
        newVersion: versionRecord('port-stale', 2),
        audit: audit('port-stale', 't2'),
      };
      const refused = await store().applyChange(stale).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(ConflictError);
      expect(refused).toMatchObject({ code: 'CONCURRENT_CHANGE', details: { model: 'port-stale' } });
      expect((await store().getModel('port-stale'))?.revision).toBe(1);
      expect((await store().getVersion('port-stale', 1))?.stage).toBe('candidate');
      expect(await store().getVersion('port-stale', 2)).toBeUndefined();
      expect(await store().wasApplied('port-stale', 't2')).toBe(false);
      expect((await store().history('port-stale')).map((r) => r.client_token)).toEqual(['t1']);
    });

    it('applies the model, the version updates, the new version and the audit record together', async () => {
      await store().applyChange(create('port-together', 't1'));
      const change: ModelChange = {
        expectedRevision: 1,
        next: { ...modelRecord('port-together', 2, 2), production_version: 2 },
        versionUpdates: [{ version: 1, stage: 'archived', deleted_at: '2026-12-01T10:00:00.000Z' }],
        newVersion: { ...versionRecord('port-together', 2), stage: 'production' },
        audit: audit('port-together', 't2', '2026-12-01T09:00:01.000Z'),
      };
      expect(await store().applyChange(change)).toBe('applied');
      expect(await store().getModel('port-together')).toMatchObject({ revision: 2, production_version: 2, latest_version: 2 });
      expect(await store().getVersion('port-together', 1)).toMatchObject({ stage: 'archived', deleted_at: '2026-12-01T10:00:00.000Z' });
      expect((await store().listVersions('port-together')).map((v) => [v.version, v.stage])).toEqual([
        [1, 'archived'],
        [2, 'production'],
      ]);
      expect((await store().history('port-together')).map((r) => r.client_token)).toEqual(['t1', 't2']);
    });

    it('answers a change with an applied client token as replayed, changing nothing; tokens are per model', async () => {
      await store().applyChange(create('port-replay', 'same-token'));
      const replay: ModelChange = { ...create('port-replay', 'same-token'), expectedRevision: 5, next: modelRecord('port-replay', 6, 1) };
      expect(await store().applyChange(replay)).toBe('replayed');
      expect((await store().getModel('port-replay'))?.revision).toBe(1);
      expect(await store().history('port-replay')).toHaveLength(1);
      expect(await store().wasApplied('port-replay', 'same-token')).toBe(true);
      expect(await store().wasApplied('port-replay', 'other-token')).toBe(false);
      expect(await store().wasApplied('port-replay-other', 'same-token')).toBe(false);
      expect(await store().applyChange(create('port-replay-other', 'same-token'))).toBe('applied');
    });

    it('finds a version by its artifact sha256 within its model only', async () => {
      await store().applyChange(create('port-sha', 't1'));
      expect(await store().findVersionBySha256('port-sha', artifact(1).sha256)).toEqual(versionRecord('port-sha', 1));
      expect(await store().findVersionBySha256('port-sha', artifact(2).sha256)).toBeUndefined();
      expect(await store().findVersionBySha256('port-sha-none', artifact(1).sha256)).toBeUndefined();
    });

    it('keeps audit records appended on their own, oldest first, next to the applied ones', async () => {
      await store().applyChange(create('port-audit', 't1'));
      const refused: AuditRecord = { ...audit('port-audit', 't2', '2026-12-01T09:00:02.000Z'), action: 'promote', outcome: 'refused', reason: 'no' };
      const conflict: AuditRecord = { ...audit('port-audit', 't3', '2026-12-01T09:00:01.000Z'), action: 'promote', outcome: 'conflict' };
      await store().appendAudit(refused);
      await store().appendAudit(conflict);
      expect((await store().history('port-audit')).map((r) => [r.client_token, r.outcome])).toEqual([
        ['t1', 'applied'],
        ['t3', 'conflict'],
        ['t2', 'refused'],
      ]);
      expect(await store().wasApplied('port-audit', 't2')).toBe(false);
    });

    it('answers undefined and empty lists for what does not exist', async () => {
      expect(await store().getModel('port-nothing')).toBeUndefined();
      expect(await store().getVersion('port-nothing', 1)).toBeUndefined();
      expect(await store().listVersions('port-nothing')).toEqual([]);
      expect(await store().history('port-nothing')).toEqual([]);
    });
  });
}
