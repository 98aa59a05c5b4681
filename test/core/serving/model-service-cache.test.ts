import { describe, expect, it } from 'vitest';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { ModelUnavailableError } from '#core/errors.ts';
import type { ModelRecord } from '#core/registry/records.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { RemoteScoringEngine } from '#core/serving/ports.ts';
import { constantScoreOnnx } from '../../support/canary-artifacts.ts';
import { FakeArtifacts, FakeRegistry, ROW, TTL_MS, metadata, rejection, setup, sha256Hex, versionRecord } from '../../support/model-service-fakes.ts';

/**
 * ModelService's serving-config cache, version records and loads: what the registry and the artifact store are asked,
 * how often, and what stays loaded. The clock is the injected one (`setup()`'s `clock.now`).
 */

const SAGEMAKER = { kind: 'sagemaker', endpoint_name: 'credit-gpu' } as const;

/** A promise the test settles, to hold a port's answer while other requests go on. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

/** Lets the loads' bookkeeping (the eviction after a load, the releases) run. */
function settled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

describe('ModelService serving-config cache', () => {
  it('asks the registry only for the versions the serving config names', async () => {
    const { service, registry } = setup();
    await service.predict('credit', { instances: [ROW] });
    expect(registry.versionReads).toEqual(['credit@1']);
  });

  it('routes nothing to a canary or a shadow that names the production version itself', async () => {
    // Prepare: a config whose canary (the whole share) and shadow are production's own version.
    const { service, registry, observer } = setup({ random: () => 0 });
    registry.setCanary('credit', { version: 1, share: 1 });
    registry.setShadow('credit', 1);
    // Act
    const answer = await service.predict('credit', { instances: [ROW] });
    // Assess: production answers alone, and its version is read once.
    expect(answer).toMatchObject({ model_version: 1, variant: 'production' });
    expect(observer.shadows).toEqual([]);
    expect(registry.versionReads).toEqual(['credit@1']);
  });

  it('answers VERSION_RECORD_MISSING (503) when the production version was soft-deleted', async () => {
    const { service, registry, artifacts } = setup();
    registry.softDelete('credit', 1);
    const error = await rejection(service.predict('credit', { instances: [ROW] }));
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toMatchObject({
      code: 'VERSION_RECORD_MISSING',
      status: 503,
      message: 'model "credit" points at version 1, which the registry does not hold',
      details: { model: 'credit', model_version: 1 },
    });
    expect(artifacts.reads).toEqual([]);
  });

  it('answers VERSION_RECORD_MISSING, never the last known config, when production comes to point at a missing version', async () => {
    // Prepare: stale serving allowed for ten TTLs, the config read once, then production moved to a version never registered.
    const { service, registry, clock, observer } = setup({ staleServingMs: 10 * TTL_MS });
    await service.predict('credit', { instances: [ROW] });
    registry.setProduction('credit', 9);
    clock.now += TTL_MS;
    // Act, Assess: only an unreadable registry serves the last config; a config read without error is the answer.
    expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
      code: 'VERSION_RECORD_MISSING',
      status: 503,
      details: { model: 'credit', model_version: 9 },
    });
    expect(observer.stale).toEqual([]);
  });

  it('counts a name read again after its TTL as the most recent, so the 1 024 cap drops the others first', async () => {
    // Prepare: 1 024 unknown names cached (the cap), their TTL passed, the first read again.
    const { service, registry, clock } = setup();
    for (let i = 0; i < 1024; i++) await rejection(service.predict(`unknown-${i}`, { instances: [ROW] }));
    clock.now += TTL_MS;
    await rejection(service.predict('unknown-0', { instances: [ROW] }));
    // Act: a 1 025th name.
    await rejection(service.predict('another', { instances: [ROW] }));
    // Assess: the name read last before it is still cached.
    const reads = registry.getModelCalls;
    expect(await rejection(service.predict('unknown-0', { instances: [ROW] }))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
    expect(registry.getModelCalls).toBe(reads);
  });

  it('keeps a newer serving config cached when an older read of the same name fails after it began', async () => {
    // Prepare: a read that fails, and, its TTL passed before it settled, a newer read that succeeds.
    const { service, registry, clock } = setup();
    registry.failing = true;
    const older = service.predict('credit', { instances: [ROW] });
    registry.failing = false;
    clock.now += TTL_MS;
    const newer = service.predict('credit', { instances: [ROW] });
    // Act
    expect(await rejection(older)).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect((await newer).model_version).toBe(1);
    await service.predict('credit', { instances: [ROW] });
    // Assess: the older failure did not drop the newer config, which answers within its TTL.
    expect(registry.getModelCalls).toBe(2);
  });

  it('forgets a failed read whose name the 1 024 cap already dropped, leaving no rejection unhandled', async () => {
    // Prepare: the registry down, and 1 025 names asked for at once, so the first one's entry is dropped before its read fails.
    const { service, registry } = setup();
    registry.failing = true;
    const unhandled: unknown[] = [];
    const listener = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', listener);
    try {
      // Act
      const names = ['credit', ...Array.from({ length: 1024 }, (_, i) => `other-${i}`)];
      const answers = await Promise.allSettled(names.map((name) => service.predict(name, { instances: [ROW] })));
      await settled();
      // Assess: every request answered 503, and nothing was left to crash the process.
      expect(answers.map((answer) => (answer.status === 'rejected' ? (answer.reason as ModelUnavailableError).code : 'answered'))).toEqual(
        names.map(() => 'REGISTRY_UNAVAILABLE'),
      );
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', listener);
    }
    registry.failing = false;
    expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
  });
});

describe('ModelService version records and loads', () => {
  it('reads each version record asked for by its own number, once', async () => {
    const { service, registry } = setup();
    expect((await service.resolveVersion('credit', 1)).model_version).toBe(1);
    expect(await service.resolveVersion('credit', 2)).toMatchObject({ model_version: 2, artifact_sha256: versionRecord('credit', 2).artifact.sha256 });
    expect((await service.scoreRows('credit', 1, [ROW])).model_version).toBe(1);
    expect(registry.versionReads).toEqual(['credit@1', 'credit@2']);
  });

  it('shares one canary load between concurrent requests', async () => {
    const { service, registry, artifacts, engine } = setup({ random: () => 0 });
    registry.setCanary('credit', { version: 2, share: 0.5 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => service.predict('credit', { instances: [ROW] })));
    expect(answers.map((answer) => [answer.variant, answer.model_version])).toEqual(Array.from({ length: 5 }, () => ['canary', 2]));
    expect(artifacts.reads).toEqual([versionRecord('credit', 2).artifact.key]);
    expect(engine.createSessionCalls).toBe(1);
  });

  it('releases beyond the limit while another model\'s serving config is still being read', async () => {
    // Prepare: a limit of one, credit loaded and its config expired, and the config read of model "held" held back.
    const { service, registry, clock, engine } = setup({ maxLoadedVersions: 1 });
    registry.addModel('other', 1, 1);
    registry.addModel('held', 1, 1);
    await service.predict('credit', { instances: [ROW] });
    clock.now += TTL_MS;
    const gate = deferred();
    const getModel = registry.getModel.bind(registry);
    registry.getModel = async (model: string): Promise<ModelRecord | undefined> => {
      if (model === 'held') await gate.promise;
      return getModel(model);
    };
    const held = service.predict('held', { instances: [ROW] });
    // Act: loading "other" goes beyond the limit.
    await service.predict('other', { instances: [ROW] });
    await settled();
    // Assess: credit's version, in use by no fresh config, was released; the held read still answers.
    expect(engine.released).toBe(1);
    gate.resolve();
    expect((await held).model).toBe('held');
  });

  it('serves the last known config while the registry is down with its production version loaded again, when eviction released it', async () => {
    // Prepare: a limit of one; credit served, its config expired, then "other" loaded, which releases credit's version.
    const { service, registry, clock, engine, observer } = setup({ maxLoadedVersions: 1, staleServingMs: 10 * TTL_MS });
    registry.addModel('other', 1, 1);
    await service.predict('credit', { instances: [ROW] });
    clock.now += TTL_MS;
    await service.predict('other', { instances: [ROW] });
    await settled();
    expect(engine.released).toBe(1);
    // Act: the registry goes down; credit's last known config keeps serving.
    registry.failing = true;
    const answer = await service.predict('credit', { instances: [ROW] });
    // Assess: answered by a fresh session of version 1, not the released one.
    expect(answer).toMatchObject({ model_version: 1, variant: 'production' });
    expect(observer.stale).toEqual([{ model: 'credit', production_version: 1, age_ms: TTL_MS }]);
    expect(engine.createSessionCalls).toBe(3);
  });

  it('keeps nothing of a released version: explaining it again builds its explainer again from its artifact', async () => {
    // Prepare: versions 1 (production) and 2 of a real ONNX graph, onnxruntime, a limit of one loaded version.
    const bytes = constantScoreOnnx(metadata.preprocessing, 0.3);
    const registry = new FakeRegistry();
    registry.addModel('credit', 2, 1);
    const artifacts = new FakeArtifacts(registry);
    const [first, second] = [1, 2].map((version) => {
      const record = versionRecord('credit', version);
      registry.versions.set(`credit@${version}`, { ...record, artifact: { ...record.artifact, sha256: sha256Hex(bytes), size_bytes: bytes.byteLength } });
      artifacts.override.set(record.artifact.key, bytes);
      return record.artifact.key;
    });
    const clock = { now: 1_000_000 };
    const engine = new OnnxScoringEngine({ intraOpNumThreads: 1 });
    const service = new ModelService({ registry, artifacts, engine, cacheTtlMs: TTL_MS, maxBatchSize: 10, maxLoadedVersions: 1, now: () => clock.now });
    expect((await service.explain('credit', { instances: [ROW] })).explanations).toHaveLength(1);
    expect(artifacts.reads).toEqual([first, first]);
    // Act: production's config expires and a batch loads version 2, which releases version 1; then version 1 explains again.
    clock.now += TTL_MS;
    await service.scoreRows('credit', 2, [ROW]);
    const again = await service.explain('credit', { instances: [ROW] });
    // Assess: version 1's artifact is read for its session and for its explainer, both built anew.
    expect(again).toMatchObject({ model_version: 1, variant: 'production' });
    expect(artifacts.reads).toEqual([first, first, second, first, first]);
  });

  it('refuses a SageMaker-served version when the deployment has no remote engine, saying so', async () => {
    const { service, registry } = setup();
    registry.versions.set('credit@1', { ...versionRecord('credit', 1), serving_target: SAGEMAKER });
    expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
      code: 'ENDPOINT_NOT_CONFIGURED',
      status: 503,
      message: 'model "credit" version 1 is served by a SageMaker endpoint, which this deployment cannot call',
      details: { model: 'credit', model_version: 1 },
    });
  });

  it('falls back to production with CANARY_LOAD_FAILED when the canary fails to load with an error of no API code', async () => {
    // Prepare: a canary on an endpoint whose client cannot be created (a plain Error, not an API error).
    const failure = new Error('no endpoint client for credit-gpu');
    const remoteEngine: RemoteScoringEngine = {
      createRemoteSession: () => {
        throw failure;
      },
    };
    const { service, registry, observer } = setup({ random: () => 0, remoteEngine });
    registry.versions.set('credit@2', { ...versionRecord('credit', 2), serving_target: SAGEMAKER });
    registry.setCanary('credit', { version: 2, share: 0.5 });
    // Act, Assess
    expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 1, variant: 'production' });
    expect(observer.fallbacks).toEqual([{ model: 'credit', canary_version: 2, production_version: 1, reason: 'CANARY_LOAD_FAILED' }]);
    expect(observer.fallbackCauses).toEqual([failure]);
  });
});

describe('ModelService.listVersions roles', () => {
  it('lists the roles of a model without a canary or a shadow', async () => {
    const { service } = setup();
    expect((await service.listVersions('credit')).map((v) => [v.version, v.roles])).toEqual([
      [2, []],
      [1, ['production']],
    ]);
  });
});
