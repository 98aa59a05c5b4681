import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApiError, ConflictError, NotFoundError, RequestValidationError } from '#core/errors.ts';
import type { AuditRecord } from '#core/registry/records.ts';
import { RegistryService, type RegistryServiceOptions } from '#core/registry/registry-service.ts';
import { InMemoryRegistryStore } from '../../support/in-memory-registry-store.ts';
import { artifact, describeRegistryStoreContract, metadata } from '../../support/registry-store-contract.ts';

/**
 * RegistryService's lifecycle rules over the in-memory store, and the in-memory store itself, held to the same
 * contract as the DynamoDB adapter (test/adapters/dynamodb-registry.test.ts).
 */

let store: InMemoryRegistryStore;

beforeAll(() => {
  store = new InMemoryRegistryStore();
});

describeRegistryStoreContract('InMemoryRegistryStore', () => store);

/** The service's rules case by case, each on a store of its own, with a clock and tokens that tell calls apart. */
describe('RegistryService lifecycle rules', () => {
  let memory: InMemoryRegistryStore;
  let registry: RegistryService;
  let tokens: number;

  function service(options: Partial<RegistryServiceOptions> = {}): RegistryService {
    let now = Date.parse('2026-12-01T08:00:00.000Z');
    return new RegistryService({ store: memory, clock: () => new Date(now++), newToken: () => `token-${++tokens}`, ...options });
  }

  beforeEach(() => {
    memory = new InMemoryRegistryStore();
    tokens = 0;
    registry = service();
  });

  async function registerMany(model: string, count: number, features = metadata): Promise<void> {
    for (let n = 1; n <= count; n++) await registry.register({ model, artifact: artifact(n), metadata: features, actor: 'tester' });
  }

  async function refusal(promise: Promise<unknown>): Promise<ApiError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(error instanceof ApiError)) throw new Error(`expected an ApiError, got ${String(error)}`);
    return error;
  }

  const lastAudit = async (model: string): Promise<AuditRecord | undefined> => (await memory.history(model)).at(-1);

  describe('reads', () => {
    it('answers a model, its versions and its history only when the model exists', async () => {
      for (const read of [registry.getModel('ghost'), registry.listVersions('ghost'), registry.history('ghost')]) {
        const error = await refusal(read);
        expect(error).toBeInstanceOf(NotFoundError);
        expect([error.code, error.message, error.details]).toEqual(['MODEL_NOT_FOUND', 'model "ghost" does not exist', { model: 'ghost' }]);
      }
    });

    it('answers an unknown or deleted version as VERSION_NOT_FOUND, and a deleted one when asked for it', async () => {
      await registerMany('m', 2);
      await registry.delete({ model: 'm', version: 2, actor: 'a' });
      for (const version of [2, 3]) {
        const error = await refusal(registry.getVersion('m', version));
        expect([error.code, error.message, error.details]).toEqual(['VERSION_NOT_FOUND', `model "m" has no version ${version}`, { model: 'm', version }]);
      }
      expect((await registry.getVersion('m', 2, { includeDeleted: true })).deleted_at).toBe('2026-12-01T08:00:00.006Z');
      expect((await registry.getVersion('m', 1, { includeDeleted: false })).version).toBe(1);
      expect((await registry.listVersions('m', { includeDeleted: false })).map((v) => v.version)).toEqual([1]);
    });
  });

  describe('register', () => {
    it('writes the version, the model and its audit record with the clock and a fresh token', async () => {
      const { version, deduplicated } = await registry.register({
        model: 'm',
        description: 'first',
        artifact: artifact(1),
        metadata,
        actor: 'alice',
        reason: 'trained',
      });
      expect(deduplicated).toBe(false);
      expect(version).toEqual({
        model: 'm',
        version: 1,
        stage: 'candidate',
        artifact: artifact(1),
        metadata,
        created_at: '2026-12-01T08:00:00.000Z',
        created_by: 'alice',
        deleted_at: null,
      });
      expect(await registry.getModel('m')).toEqual({
        model: 'm',
        description: 'first',
        production_version: null,
        canary: null,
        shadow_version: null,
        previous_production_versions: [],
        latest_version: 1,
        revision: 1,
        created_at: '2026-12-01T08:00:00.000Z',
        updated_at: '2026-12-01T08:00:00.001Z',
      });
      expect(await registry.history('m')).toEqual([
        {
          model: 'm',
          at: '2026-12-01T08:00:00.002Z',
          actor: 'alice',
          action: 'register',
          version: 1,
          from: null,
          to: 'stage=candidate',
          reason: 'trained',
          outcome: 'applied',
          client_token: 'token-1',
        },
      ]);
    });

    it('keeps the description unless a new one is given, and starts with an empty one', async () => {
      await registry.register({ model: 'd', artifact: artifact(1), metadata, actor: 'a' });
      expect((await registry.getModel('d')).description).toBe('');
      await registry.register({ model: 'd', artifact: artifact(2), metadata, actor: 'a', description: 'named' });
      await registry.register({ model: 'd', artifact: artifact(3), metadata, actor: 'a' });
      expect(await registry.getModel('d')).toMatchObject({ description: 'named', latest_version: 3, revision: 3, created_at: '2026-12-01T08:00:00.000Z' });
    });

    it('keeps the model’s serving config when a version is added', async () => {
      await registerMany('kept', 3);
      await registry.promote({ model: 'kept', version: 1, actor: 'a' });
      await registry.promote({ model: 'kept', version: 2, actor: 'a' });
      await registry.setCanary({ model: 'kept', version: 3, share: 0.25, actor: 'a' });
      await registry.register({ model: 'kept', artifact: artifact(4), metadata, actor: 'a' });
      expect(await registry.getModel('kept')).toMatchObject({ production_version: 2, canary: { version: 3, share: 0.25 }, previous_production_versions: [1], latest_version: 4 });
    });

    it.each(['', 'Upper', '-dash-first', 'has space', 'a'.repeat(64)])('refuses the model name %j before reading or writing', async (name) => {
      const error = await refusal(registry.register({ model: name, artifact: artifact(1), metadata, actor: 'a' }));
      expect(error).toBeInstanceOf(RequestValidationError);
      expect(error.code).toBe('INVALID_MODEL_NAME');
      expect(error.message).toBe(`model name "${name}" must be 1-63 lower-case letters, digits, "-" or "_", starting with a letter or digit`);
      expect(error.details).toEqual({ model: name });
      expect(memory.changes).toEqual([]);
    });

    it('accepts names of 1 and 63 characters with digits, "-" and "_"', async () => {
      for (const name of ['a', '0', `a${'-_9'.repeat(20)}bc`]) {
        expect((await registry.register({ model: name, artifact: artifact(1), metadata, actor: 'a' })).version.version).toBe(1);
      }
    });

    it('registers the bytes of a soft-deleted version again as a new version', async () => {
      await registerMany('again', 1);
      await registry.delete({ model: 'again', version: 1, actor: 'a' });
      const result = await registry.register({ model: 'again', artifact: artifact(1), metadata, actor: 'a' });
      expect([result.deduplicated, result.version.version]).toEqual([false, 2]);
    });

    it('records a serving target only when one is given', async () => {
      const plain = await registry.register({ model: 't', artifact: artifact(1), metadata, actor: 'a' });
      expect('serving_target' in plain.version).toBe(false);
      const gpu = await registry.register({ model: 't', artifact: artifact(2), metadata, actor: 'a', servingTarget: { kind: 'sagemaker', endpoint_name: 'gpu' } });
      expect(gpu.version.serving_target).toEqual({ kind: 'sagemaker', endpoint_name: 'gpu' });
    });

    it('retries a registration that lost the race for a version number, up to five attempts', async () => {
      await registerMany('busy', 1);
      // Every write conflicts until `losses` run out, as if other registrations took each number first.
      let losses = 4;
      const applyChange = memory.applyChange.bind(memory);
      memory.applyChange = async (change) => {
        if (losses-- > 0) throw new ConflictError('CONCURRENT_CHANGE', 'lost', {});
        return applyChange(change);
      };
      expect((await registry.register({ model: 'busy', artifact: artifact(2), metadata, actor: 'a' })).version.version).toBe(2);
      const conflicts = (await memory.history('busy')).filter((r) => r.outcome === 'conflict');
      expect(conflicts).toHaveLength(4);
      expect(conflicts.map((r) => r.client_token)).toEqual(['token-2#conflict', 'token-3#conflict', 'token-4#conflict', 'token-5#conflict']);

      losses = 5;
      const error = await refusal(registry.register({ model: 'busy', artifact: artifact(3), metadata, actor: 'a' }));
      expect([error.code, error.message]).toEqual(['CONCURRENT_CHANGE', 'lost']);
      expect(losses).toBe(0);
    });

    it('does not retry other failures', async () => {
      let calls = 0;
      memory.applyChange = async () => {
        calls++;
        throw new ConflictError('SOMETHING_ELSE', 'no', {});
      };
      expect((await refusal(registry.register({ model: 'x', artifact: artifact(1), metadata, actor: 'a' }))).code).toBe('SOMETHING_ELSE');
      memory.applyChange = async () => {
        calls++;
        throw new Error('disk full');
      };
      await expect(registry.register({ model: 'x', artifact: artifact(1), metadata, actor: 'a' })).rejects.toThrow('disk full');
      expect(calls).toBe(2);
      // Only a lost race is audited as a conflict.
      expect(await memory.history('x')).toEqual([]);
    });
  });

  describe('promote', () => {
    it('audits the serving state before and the production version after, with the caller’s token', async () => {
      await registerMany('p', 3);
      await registry.setCanary({ model: 'p', version: 2, share: 0.5, actor: 'a' });
      await registry.setShadow({ model: 'p', version: 3, actor: 'a' });
      const outcome = await registry.promote({ model: 'p', version: 1, actor: 'bob', reason: 'go', clientToken: 'mine' });
      expect(outcome.result).toBe('applied');
      expect(outcome.model).toMatchObject({ production_version: 1, revision: 6 });
      expect(await lastAudit('p')).toMatchObject({
        action: 'promote',
        version: 1,
        actor: 'bob',
        from: 'production=none canary=2@0.5 shadow=3',
        to: 'production=1',
        reason: 'go',
        outcome: 'applied',
        client_token: 'mine',
      });
      await registry.promote({ model: 'p', version: 3, actor: 'a' });
      expect((await lastAudit('p'))?.from).toBe('production=1 canary=2@0.5 shadow=3');
    });

    it('takes the promoted version out of the canary or the shadow, and leaves them otherwise', async () => {
      await registerMany('c', 4);
      await registry.promote({ model: 'c', version: 1, actor: 'a' });
      await registry.setCanary({ model: 'c', version: 2, share: 0.1, actor: 'a' });
      await registry.setShadow({ model: 'c', version: 3, actor: 'a' });
      expect((await registry.promote({ model: 'c', version: 2, actor: 'a' })).model).toMatchObject({ production_version: 2, canary: null, shadow_version: 3 });
      await registry.setCanary({ model: 'c', version: 4, share: 0.1, actor: 'a' });
      expect((await registry.promote({ model: 'c', version: 3, actor: 'a' })).model).toMatchObject({
        production_version: 3,
        canary: { version: 4, share: 0.1 },
        shadow_version: null,
        previous_production_versions: [1, 2],
      });
      expect((await registry.listVersions('c')).map((v) => v.stage)).toEqual(['archived', 'archived', 'production', 'staging']);
    });

    it('refuses a rejected version, and one already in production, auditing the refusal with the reason', async () => {
      await registerMany('r', 2);
      await registry.reject({ model: 'r', version: 2, actor: 'a' });
      const rejected = await refusal(registry.promote({ model: 'r', version: 2, actor: 'a', reason: 'try' }));
      expect(rejected).toBeInstanceOf(ConflictError);
      expect([rejected.code, rejected.message, rejected.details]).toEqual([
        'VERSION_REJECTED',
        'version 2 was rejected and cannot be promoted',
        { model: 'r', version: 2 },
      ]);
      expect(await lastAudit('r')).toMatchObject({
        action: 'promote',
        version: 2,
        from: 'production=none',
        to: null,
        reason: 'try — version 2 was rejected and cannot be promoted',
        outcome: 'refused',
        client_token: 'token-4',
      });

      await registry.promote({ model: 'r', version: 1, actor: 'a' });
      const again = await refusal(registry.promote({ model: 'r', version: 1, actor: 'a' }));
      expect([again.code, again.message, again.details]).toEqual(['ALREADY_PRODUCTION', 'version 1 is already in production', { model: 'r', version: 1 }]);
      expect((await lastAudit('r'))?.reason).toBe('version 1 is already in production');
      expect((await registry.getModel('r')).revision).toBe(4);
    });

    it('verifies the artifact of a Lambda-served version before promoting, and not of a SageMaker-served one', async () => {
      const verified: number[] = [];
      registry = service({
        verifyArtifact: async (version) => {
          verified.push(version.version);
          if (version.version === 2) throw new Error('its sha256 is wrong');
          if (version.version === 3) throw 'not an error object';
        },
      });
      await registerMany('v', 3);
      await registry.register({ model: 'v', artifact: artifact(4), metadata, actor: 'a', servingTarget: { kind: 'sagemaker', endpoint_name: 'e' } });

      const failed = await refusal(registry.promote({ model: 'v', version: 2, actor: 'a' }));
      expect(failed).toBeInstanceOf(ConflictError);
      expect([failed.code, failed.message, failed.details]).toEqual([
        'ARTIFACT_VERIFICATION_FAILED',
        'the artifact of version 2 failed verification and cannot be promoted: its sha256 is wrong',
        { model: 'v', version: 2 },
      ]);
      expect((failed.cause as Error).message).toBe('its sha256 is wrong');
      expect((await refusal(registry.promote({ model: 'v', version: 3, actor: 'a' }))).message).toBe(
        'the artifact of version 3 failed verification and cannot be promoted: not an error object',
      );
      await registry.promote({ model: 'v', version: 1, actor: 'a' });
      await registry.promote({ model: 'v', version: 4, actor: 'a' });
      expect(verified).toEqual([2, 3, 1]);
      expect((await registry.getModel('v')).production_version).toBe(4);
    });
  });

  describe('rollback', () => {
    it('returns to the last earlier version, archives the current one, and takes the target out of canary and shadow', async () => {
      await registerMany('rb', 4);
      await registry.promote({ model: 'rb', version: 1, actor: 'a' });
      await registry.promote({ model: 'rb', version: 2, actor: 'a' });
      await registry.promote({ model: 'rb', version: 3, actor: 'a' });
      await registry.setShadow({ model: 'rb', version: 2, actor: 'a' });
      const outcome = await registry.rollback({ model: 'rb', actor: 'oncall', reason: 'errors' });
      expect(outcome.model).toMatchObject({ production_version: 2, shadow_version: null, canary: null, previous_production_versions: [1] });
      expect((await registry.listVersions('rb')).map((v) => v.stage)).toEqual(['archived', 'production', 'archived', 'candidate']);
      expect(await lastAudit('rb')).toMatchObject({ action: 'rollback', version: 2, from: 'production=3 shadow=2', to: 'production=2', reason: 'errors' });
    });

    it('takes the target out of the canary and keeps an unrelated shadow', async () => {
      await registerMany('rc', 3);
      await registry.promote({ model: 'rc', version: 1, actor: 'a' });
      await registry.promote({ model: 'rc', version: 2, actor: 'a' });
      await registry.setCanary({ model: 'rc', version: 1, share: 0.3, actor: 'a' });
      await registry.setShadow({ model: 'rc', version: 3, actor: 'a' });
      expect((await registry.rollback({ model: 'rc', actor: 'a' })).model).toMatchObject({ production_version: 1, canary: null, shadow_version: 3 });
    });

    it('keeps a canary of another version', async () => {
      await registerMany('rk', 3);
      await registry.promote({ model: 'rk', version: 1, actor: 'a' });
      await registry.promote({ model: 'rk', version: 2, actor: 'a' });
      await registry.setCanary({ model: 'rk', version: 3, share: 0.3, actor: 'a' });
      expect((await registry.rollback({ model: 'rk', actor: 'a' })).model).toMatchObject({ production_version: 1, canary: { version: 3, share: 0.3 } });
    });

    it('refuses with NOTHING_TO_ROLL_BACK naming the model, and refuses to return to a deleted version', async () => {
      await registerMany('none', 2);
      const error = await refusal(registry.rollback({ model: 'none', actor: 'a' }));
      expect([error.code, error.message, error.details]).toEqual(['NOTHING_TO_ROLL_BACK', 'model "none" has no earlier production version', { model: 'none' }]);
      expect(await lastAudit('none')).toMatchObject({ action: 'rollback', version: null, outcome: 'refused' });

      await registry.promote({ model: 'none', version: 1, actor: 'a' });
      await registry.promote({ model: 'none', version: 2, actor: 'a' });
      await registry.delete({ model: 'none', version: 1, actor: 'a' });
      expect((await refusal(registry.rollback({ model: 'none', actor: 'a' }))).code).toBe('VERSION_NOT_FOUND');
      expect((await registry.getModel('none')).production_version).toBe(2);
    });
  });

  describe('canary', () => {
    it.each([0, 1, -0.1, 1.5, Number.NaN])('refuses the share %d before reading anything', async (share) => {
      const error = await refusal(registry.setCanary({ model: 'ghost', version: 1, share, actor: 'a' }));
      expect(error).toBeInstanceOf(RequestValidationError);
      expect([error.code, error.message, error.details]).toEqual(['INVALID_SHARE', `canary share must be between 0 and 1 (exclusive), got ${share}`, { share }]);
    });

    it('sets a canary at stage staging, sends a replaced canary back to candidate, and keeps the stage when only the share changes', async () => {
      await registerMany('cn', 3);
      await registry.setCanary({ model: 'cn', version: 2, share: 0.01, actor: 'a' });
      expect(await lastAudit('cn')).toMatchObject({ action: 'canary_set', version: 2, from: 'production=none', to: 'canary=2@0.01' });
      await registry.setCanary({ model: 'cn', version: 2, share: 0.99, actor: 'a' });
      expect((await registry.getModel('cn')).canary).toEqual({ version: 2, share: 0.99 });
      expect(memory.changes.at(-1)?.versionUpdates).toEqual([{ version: 2, stage: 'staging' }]);
      await registry.setCanary({ model: 'cn', version: 3, share: 0.2, actor: 'a' });
      expect(memory.changes.at(-1)?.versionUpdates).toEqual([
        { version: 3, stage: 'staging' },
        { version: 2, stage: 'candidate' },
      ]);
      expect((await registry.listVersions('cn')).map((v) => v.stage)).toEqual(['candidate', 'candidate', 'staging']);
    });

    it('clears the canary back to candidate, and refuses with NO_CANARY when there is none', async () => {
      await registerMany('cc', 2);
      const error = await refusal(registry.clearCanary({ model: 'cc', actor: 'a' }));
      expect([error.code, error.message, error.details]).toEqual(['NO_CANARY', 'model "cc" has no canary', { model: 'cc' }]);
      await registry.setCanary({ model: 'cc', version: 2, share: 0.5, actor: 'a' });
      const outcome = await registry.clearCanary({ model: 'cc', actor: 'a' });
      expect(outcome.model.canary).toBeNull();
      expect((await registry.getVersion('cc', 2)).stage).toBe('candidate');
      expect(await lastAudit('cc')).toMatchObject({ action: 'canary_clear', version: 2, from: 'production=none canary=2@0.5', to: 'canary=none' });
    });

    it('refuses a rejected version, the production version, and a version whose features differ from production', async () => {
      const other = { ...metadata, input_schema: { ...metadata.input_schema, features: metadata.input_schema.features.slice(0, 1) } };
      await registerMany('sv', 3);
      await registry.register({ model: 'sv', artifact: artifact(4), metadata: other, actor: 'a' });
      // Without a production version, any features may go beside it.
      await registry.setShadow({ model: 'sv', version: 4, actor: 'a' });
      await registry.clearShadow({ model: 'sv', actor: 'a' });
      await registry.reject({ model: 'sv', version: 3, actor: 'a' });
      await registry.promote({ model: 'sv', version: 1, actor: 'a' });

      const rejected = await refusal(registry.setCanary({ model: 'sv', version: 3, share: 0.1, actor: 'a' }));
      expect([rejected.code, rejected.message, rejected.details]).toEqual(['VERSION_REJECTED', 'version 3 was rejected and cannot serve', { model: 'sv', version: 3 }]);
      const production = await refusal(registry.setShadow({ model: 'sv', version: 1, actor: 'a' }));
      expect([production.code, production.message, production.details]).toEqual(['ALREADY_PRODUCTION', 'version 1 is the production version', { model: 'sv', version: 1 }]);
      const incompatible = await refusal(registry.setCanary({ model: 'sv', version: 4, share: 0.1, actor: 'a' }));
      expect([incompatible.code, incompatible.message, incompatible.details]).toEqual([
        'SCHEMA_INCOMPATIBLE',
        'version 4 expects other features than production version 1; it cannot share its traffic',
        { model: 'sv', version: 4, production_version: 1 },
      ]);
      expect(await lastAudit('sv')).toMatchObject({ action: 'canary_set', version: 4, outcome: 'refused' });
      await registry.setCanary({ model: 'sv', version: 2, share: 0.1, actor: 'a' });
      expect((await registry.getModel('sv')).canary).toEqual({ version: 2, share: 0.1 });
    });
  });

  describe('shadow', () => {
    it('sets a shadow without changing its stage, clears it, and refuses with NO_SHADOW when there is none', async () => {
      await registerMany('sh', 2);
      const error = await refusal(registry.clearShadow({ model: 'sh', actor: 'a' }));
      expect([error.code, error.message, error.details]).toEqual(['NO_SHADOW', 'model "sh" has no shadow version', { model: 'sh' }]);
      await registry.setShadow({ model: 'sh', version: 2, actor: 'a' });
      expect(memory.changes.at(-1)?.versionUpdates).toEqual([]);
      expect(await lastAudit('sh')).toMatchObject({ action: 'shadow_set', version: 2, from: 'production=none', to: 'shadow=2' });
      expect((await registry.clearShadow({ model: 'sh', actor: 'a' })).model.shadow_version).toBeNull();
      expect(await lastAudit('sh')).toMatchObject({ action: 'shadow_clear', version: 2, from: 'production=none shadow=2', to: 'shadow=none' });
      expect((await registry.getVersion('sh', 2)).stage).toBe('candidate');
    });
  });

  describe('archive, reject and delete', () => {
    it('archives and rejects a version that does not serve, auditing its stage before and after', async () => {
      await registerMany('ar', 2);
      await registry.archive({ model: 'ar', version: 1, actor: 'a' });
      expect(await lastAudit('ar')).toMatchObject({ action: 'archive', version: 1, from: 'stage=candidate', to: 'stage=archived' });
      await registry.reject({ model: 'ar', version: 1, actor: 'a' });
      expect(await lastAudit('ar')).toMatchObject({ action: 'reject', version: 1, from: 'stage=archived', to: 'stage=rejected' });
      expect((await registry.getVersion('ar', 1)).stage).toBe('rejected');
      expect((await refusal(registry.archive({ model: 'ar', version: 9, actor: 'a' }))).code).toBe('VERSION_NOT_FOUND');
    });

    it('refuses to retire or delete a serving version, naming every role it serves in', async () => {
      await registerMany('sr', 3);
      await registry.promote({ model: 'sr', version: 1, actor: 'a' });
      await registry.setCanary({ model: 'sr', version: 2, share: 0.1, actor: 'a' });
      await registry.setShadow({ model: 'sr', version: 2, actor: 'a' });
      await registry.setShadow({ model: 'sr', version: 2, actor: 'a' });
      const production = await refusal(registry.reject({ model: 'sr', version: 1, actor: 'a' }));
      expect([production.code, production.message, production.details]).toEqual([
        'VERSION_SERVING',
        'version 1 serves as production; cannot reject it',
        { model: 'sr', version: 1, roles: ['production'] },
      ]);
      const both = await refusal(registry.archive({ model: 'sr', version: 2, actor: 'a' }));
      expect([both.message, both.details]).toEqual(['version 2 serves as canary and shadow; cannot archive it', { model: 'sr', version: 2, roles: ['canary', 'shadow'] }]);
      await registry.clearCanary({ model: 'sr', actor: 'a' });
      expect((await refusal(registry.delete({ model: 'sr', version: 2, actor: 'a' }))).message).toBe('version 2 serves as shadow; cannot delete it');
      await registry.archive({ model: 'sr', version: 3, actor: 'a' });
      expect((await registry.getVersion('sr', 3)).stage).toBe('archived');
    });

    it('soft-deletes with the clock’s time, auditing the stage it had', async () => {
      await registerMany('del', 1);
      const before = await registry.getModel('del');
      const outcome = await registry.delete({ model: 'del', version: 1, actor: 'a', reason: 'leak' });
      expect(outcome.model).toEqual({ ...before, revision: 2, updated_at: '2026-12-01T08:00:00.004Z' });
      expect(memory.changes.at(-1)?.versionUpdates).toEqual([{ version: 1, deleted_at: '2026-12-01T08:00:00.003Z' }]);
      expect(await lastAudit('del')).toMatchObject({ action: 'delete', version: 1, from: 'stage=candidate', to: 'deleted', reason: 'leak' });
      expect((await refusal(registry.delete({ model: 'del', version: 1, actor: 'a' }))).code).toBe('VERSION_NOT_FOUND');
    });
  });

  describe('concurrency and retries', () => {
    it('refuses a change based on another revision, auditing it as a conflict with the asked and the found revision', async () => {
      await registerMany('rev', 2);
      const error = await refusal(registry.promote({ model: 'rev', version: 1, actor: 'a', reason: 'screen', expectedRevision: 1 }));
      expect(error).toBeInstanceOf(ConflictError);
      expect([error.code, error.message, error.details]).toEqual([
        'CONCURRENT_CHANGE',
        'model "rev" is at revision 2, not 1; read it again and retry',
        { model: 'rev', expected_revision: 1, revision: 2 },
      ]);
      expect(await lastAudit('rev')).toMatchObject({
        action: 'promote',
        version: 1,
        from: 'production=none',
        to: null,
        outcome: 'conflict',
        reason: 'screen — model "rev" is at revision 2, not 1; read it again and retry',
      });
      expect((await registry.promote({ model: 'rev', version: 1, actor: 'a', expectedRevision: 2 })).model.revision).toBe(3);
    });

    it('audits a refusal of a change without a version with a null version, and does not audit other failures', async () => {
      await registerMany('nv', 1);
      await refusal(registry.clearCanary({ model: 'nv', actor: 'a', reason: '' }));
      expect(await lastAudit('nv')).toMatchObject({ action: 'canary_clear', version: null, reason: 'model "nv" has no canary', outcome: 'refused' });
      const audits = (await memory.history('nv')).length;
      expect((await refusal(registry.promote({ model: 'nv', version: 5, actor: 'a' }))).code).toBe('VERSION_NOT_FOUND');
      expect(await memory.history('nv')).toHaveLength(audits);
    });

    it('asks the store about a client token only when the request has one', async () => {
      await registerMany('ask', 2);
      const asked: string[] = [];
      const wasApplied = memory.wasApplied.bind(memory);
      memory.wasApplied = async (model, token) => {
        asked.push(token);
        return wasApplied(model, token);
      };
      await registry.promote({ model: 'ask', version: 1, actor: 'a' });
      await registry.promote({ model: 'ask', version: 2, actor: 'a', clientToken: 'mine' });
      expect(asked).toEqual(['mine']);
    });

    it('records an applied change without a reason with an empty one', async () => {
      await registerMany('quiet', 1);
      await registry.archive({ model: 'quiet', version: 1, actor: 'a' });
      expect((await lastAudit('quiet'))?.reason).toBe('');
    });

    it('audits a version that is not a number (an unchecked caller) as none', async () => {
      await registerMany('odd', 1);
      await refusal(registry.promote({ model: 'odd', version: '1' as never, actor: 'a', expectedRevision: 0 }));
      expect(await lastAudit('odd')).toMatchObject({ action: 'promote', version: null, outcome: 'conflict' });
    });

    it('lets a canary go beside a production pointer whose version the store lost, as there is nothing to compare', async () => {
      await registerMany('lost', 2);
      const model = await registry.getModel('lost');
      memory.models.set('lost', { ...model, production_version: 9 });
      await registry.setCanary({ model: 'lost', version: 2, share: 0.5, actor: 'a' });
      expect((await registry.getModel('lost')).canary).toEqual({ version: 2, share: 0.5 });
    });

    it('answers a retried change as replayed without planning it again, even when it would now be refused', async () => {
      await registerMany('tok', 1);
      const first = await registry.promote({ model: 'tok', version: 1, actor: 'a', clientToken: 'once' });
      const again = await registry.promote({ model: 'tok', version: 1, actor: 'a', clientToken: 'once' });
      expect(again).toEqual({ model: first.model, result: 'replayed' });
      // Another token is a new attempt, which the rules refuse.
      expect((await refusal(registry.promote({ model: 'tok', version: 1, actor: 'a', clientToken: 'twice' }))).code).toBe('ALREADY_PRODUCTION');
    });

    it('audits an attempt that loses the write to a concurrent change under its token marked #conflict', async () => {
      await registerMany('lose', 1);
      memory.applyChange = async () => {
        throw new ConflictError('CONCURRENT_CHANGE', 'lost the write', {});
      };
      const error = await refusal(registry.promote({ model: 'lose', version: 1, actor: 'a', reason: 'r', clientToken: 'tk' }));
      expect(error.message).toBe('lost the write');
      expect(await lastAudit('lose')).toMatchObject({ action: 'promote', version: 1, to: 'production=1', reason: 'r', outcome: 'conflict', client_token: 'tk#conflict' });
    });
  });
});
