import { describe, expect, it } from 'vitest';
import { ModelUnavailableError, NotFoundError, RequestValidationError, TooManyRequestsError } from '#core/errors.ts';
import type { ModelVersionRecord } from '#core/registry/records.ts';
import { ModelService } from '#core/serving/model-service.ts';
import { routingBucket } from '#core/serving/traffic.ts';
import type { RegistryReader, ScoringSession, ServingObserver } from '#core/serving/ports.ts';
import {
  TTL_MS,
  metadata,
  ROW,
  sha256Hex,
  artifactBytes,
  versionRecord,
  FakeRegistry,
  FakeArtifacts,
  FakeEngine,
  setup,
  rejection,
} from '../../support/model-service-fakes.ts';

describe('ModelService', () => {
  describe('predict', () => {
    it('scores a batch with the production version and labels by the threshold', async () => {
      const { service } = setup();
      const response = await service.predict('credit', { instances: [ROW, ROW, { age: null, home: null }] });
      expect(response.model).toBe('credit');
      expect(response.model_version).toBe(1);
      expect(response.variant).toBe('production');
      expect(Object.keys(response)).toEqual(['model', 'model_version', 'variant', 'predictions']);
      expect(response.predictions.map((p) => p.label)).toEqual(['good', 'bad', 'bad']);
      const [low, atThreshold, high] = response.predictions.map((p) => p.probability);
      expect(low).toBeCloseTo(0.2, 6);
      expect(atThreshold).toBe(0.5);
      expect(high).toBeCloseTo(0.9, 6);
    });

    it('labels just below the threshold negative', async () => {
      const { service, engine } = setup();
      engine.probabilities = [0.4999];
      const { predictions } = await service.predict('credit', { instances: [ROW] });
      expect(predictions.map((p) => p.label)).toEqual(['good']);
    });

    it("labels by the version's stored threshold, the one the trainer chose (not 0.5)", async () => {
      const { service, engine, registry } = setup();
      const record = registry.versions.get('credit@1') as ModelVersionRecord;
      registry.versions.set('credit@1', { ...record, metadata: { ...metadata, output: { ...metadata.output, threshold: 0.14 } } });
      engine.probabilities = [0.1399, 0.14, 0.3];
      const { predictions } = await service.predict('credit', { instances: [ROW, ROW, ROW] });
      expect(predictions.map((p) => p.label)).toEqual(['good', 'bad', 'bad']);
    });

    it('answers MODEL_NOT_FOUND (404) for an unknown model', async () => {
      const { service } = setup();
      const error = await rejection(service.predict('nope', { instances: [ROW] }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'MODEL_NOT_FOUND', status: 404, details: { model: 'nope' } });
    });

    it('answers NO_PRODUCTION_VERSION (404) for a model with no promoted version', async () => {
      const { service, registry } = setup();
      registry.addModel('fresh', 1, null);
      const error = await rejection(service.predict('fresh', { instances: [ROW] }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'NO_PRODUCTION_VERSION', status: 404, details: { model: 'fresh' } });
    });

    it('answers VERSION_RECORD_MISSING (503) when the pointer names a version the registry lacks', async () => {
      const { service, registry } = setup();
      registry.setProduction('credit', 7);
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'VERSION_RECORD_MISSING', status: 503 });
    });

    it('says which model and version each resolution and load error is about', async () => {
      const { service, registry, artifacts, engine } = setup();
      expect((await rejection(service.predict('nope', { instances: [ROW] }))).message).toBe('model "nope" does not exist');
      registry.addModel('fresh', 1, null);
      expect((await rejection(service.predict('fresh', { instances: [ROW] }))).message).toBe('model "fresh" has no production version yet');
      registry.addModel('gone', 1, 7);
      expect(await rejection(service.predict('gone', { instances: [ROW] }))).toMatchObject({
        message: 'model "gone" points at version 7, which the registry does not hold',
        details: { model: 'gone', model_version: 7 },
      });
      registry.addModel('unread', 1, 1);
      artifacts.failingKeys.add(versionRecord('unread', 1).artifact.key);
      const unread = await rejection(service.predict('unread', { instances: [ROW] }));
      expect(unread.message).toBe('the artifact of model "unread" version 1 cannot be read');
      expect((unread.cause as Error).message).toBe('no such key');
      registry.addModel('tampered', 1, 1);
      artifacts.override.set(versionRecord('tampered', 1).artifact.key, new TextEncoder().encode('tampered'));
      const tampered = await rejection(service.predict('tampered', { instances: [ROW] }));
      expect(tampered.message).toBe('the artifact of model "tampered" version 1 does not match its recorded sha256');
      expect((tampered.cause as Error).message).toBe(
        `expected sha256 ${versionRecord('tampered', 1).artifact.sha256}, got ${sha256Hex(new TextEncoder().encode('tampered'))}`,
      );
      registry.addModel('invalid', 1, 1);
      engine.failCreate = true;
      const invalid = await rejection(service.predict('invalid', { instances: [ROW] }));
      expect(invalid.message).toBe('the artifact of model "invalid" version 1 cannot be loaded');
      expect((invalid.cause as Error).message).toBe('protobuf parsing failed');
    });

    it('answers ARTIFACT_UNAVAILABLE or ARTIFACT_INVALID when a port answers nothing', async () => {
      const { service, registry, artifacts, engine } = setup();
      registry.addModel('empty', 1, 1);
      artifacts.getArtifact = async () => undefined as unknown as Uint8Array;
      expect(await rejection(service.predict('empty', { instances: [ROW] }))).toMatchObject({ code: 'ARTIFACT_UNAVAILABLE', message: 'artifact read returned nothing' });
      artifacts.getArtifact = async () => artifactBytes(1);
      engine.createSession = async () => undefined as unknown as ScoringSession;
      expect(await rejection(service.predict('empty', { instances: [ROW] }))).toMatchObject({ code: 'ARTIFACT_INVALID', message: 'session creation returned nothing' });
    });

    it('reports how long the fetch and the session creation took, each on its own', async () => {
      const registry = new FakeRegistry();
      registry.addModel('credit', 1, 1);
      const clock = { now: 1_000_000 };
      const loads: { fetchMs: number; sessionMs: number; bytes: number }[] = [];
      const engine = new FakeEngine();
      const create = engine.createSession.bind(engine);
      engine.createSession = async (bytes, received) => {
        clock.now += 11;
        return create(bytes, received);
      };
      const service = new ModelService({
        registry,
        artifacts: { getArtifact: async () => { clock.now += 7; return artifactBytes(1); } },
        engine,
        observer: {
          modelLoaded: (event) => loads.push({ fetchMs: event.fetchMs, sessionMs: event.sessionMs, bytes: event.bytes }),
          modelLoadFailed: () => undefined,
          canaryFallback: () => undefined,
          shadowScored: () => undefined,
          shadowFailed: () => undefined,
        },
        cacheTtlMs: TTL_MS,
        maxBatchSize: 10,
        now: () => clock.now,
      });
      await service.predict('credit', { instances: [ROW] });
      expect(loads).toEqual([{ fetchMs: 7, sessionMs: 11, bytes: artifactBytes(1).byteLength }]);
    });

    it('validates the body against the production schema after loading', async () => {
      const { service } = setup();
      const error = await rejection(service.predict('credit', { instances: [{ ...ROW, home: 'castle' }] }));
      expect(error).toBeInstanceOf(RequestValidationError);
      expect(error).toMatchObject({ code: 'UNKNOWN_CATEGORY', details: { field: 'instances[0].home' } });
    });

    it('answers INFERENCE_FAILED (503) when the session fails to score', async () => {
      const { service, engine } = setup();
      engine.failScore = true;
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'INFERENCE_FAILED', status: 503, details: { model: 'credit', model_version: 1 } });
      expect(error.message).toBe('model "credit" version 1 failed to score');
      expect(error.cause).toBeInstanceOf(Error);
    });

    it('says which version record the registry could not read', async () => {
      const { service, registry } = setup();
      registry.failingVersions.add('credit@1');
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'REGISTRY_UNAVAILABLE',
        status: 503,
        message: 'the registry could not be read for model "credit" version 1; retry later',
      });
    });

    it("keeps an endpoint's own error code and status, adding the version and variant that failed", async () => {
      const { service, engine } = setup();
      const endpointError = new TooManyRequestsError('ENDPOINT_THROTTLED', 'throttled', { attempts: 3 });
      engine.scoreError = endpointError;
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(TooManyRequestsError);
      expect(error).toMatchObject({
        code: 'ENDPOINT_THROTTLED',
        status: 429,
        details: { attempts: 3, model: 'credit', model_version: 1, variant: 'production' },
      });
      expect(error.cause).toBe(endpointError);
    });
  });

  describe('production version resolution', () => {
    it('reads the registry once within the TTL', async () => {
      const { service, registry, clock } = setup();
      await service.predict('credit', { instances: [ROW] });
      clock.now += TTL_MS - 1;
      await service.predict('credit', { instances: [ROW] });
      await service.describeModel('credit');
      expect(registry.getModelCalls).toBe(1);
    });

    it('picks up a promotion after the TTL without a redeploy', async () => {
      const { service, registry, clock, artifacts } = setup();
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);

      registry.setProduction('credit', 2);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);

      clock.now += TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
      expect(registry.getModelCalls).toBe(2);
      expect(artifacts.reads).toEqual([versionRecord('credit', 1).artifact.key, versionRecord('credit', 2).artifact.key]);
    });

    it('answers REGISTRY_UNAVAILABLE (503) while the registry is down and does not cache the outage', async () => {
      const { service, registry } = setup();
      registry.failing = true;
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503 });
      expect(error.cause).toBeInstanceOf(Error);

      registry.failing = false;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
    });

    it('keeps serving a cached resolution while the registry is down within the TTL', async () => {
      const { service, registry } = setup();
      await service.predict('credit', { instances: [ROW] });
      registry.failing = true;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
    });

    it('caches MODEL_NOT_FOUND for the TTL and sees a model registered after it', async () => {
      const { service, registry, clock } = setup();
      await rejection(service.predict('later', { instances: [ROW] }));
      registry.addModel('later', 1, 1);
      expect(await rejection(service.predict('later', { instances: [ROW] }))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
      clock.now += TTL_MS;
      expect((await service.predict('later', { instances: [ROW] })).model).toBe('later');
    });

    it('keeps the 1 024 most recently read names cached and reads the oldest one again', async () => {
      // Prepare: 1 025 distinct unknown names, each answered (and cached) MODEL_NOT_FOUND.
      const { service, registry } = setup();
      for (let i = 0; i <= 1024; i++) await rejection(service.predict(`unknown-${i}`, { instances: [ROW] }));
      const reads = registry.getModelCalls;
      // Act, Assess: the second oldest is still cached; the oldest, dropped, is read again.
      expect(await rejection(service.predict('unknown-1', { instances: [ROW] }))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
      expect(registry.getModelCalls).toBe(reads);
      expect(await rejection(service.predict('unknown-0', { instances: [ROW] }))).toMatchObject({ code: 'MODEL_NOT_FOUND' });
      expect(registry.getModelCalls).toBe(reads + 1);
    });
  });

  describe('artifact loading', () => {
    it('fetches the artifact and creates a session once per version across sequential predicts', async () => {
      const { service, artifacts, engine, observer } = setup();
      for (let i = 0; i < 5; i++) await service.predict('credit', { instances: [ROW] });
      expect(artifacts.reads).toHaveLength(1);
      expect(engine.createSessionCalls).toBe(1);
      expect(engine.sessionsFor).toEqual(['onnx bytes of version 1']);
      expect(observer.loaded).toEqual([{ model: 'credit', version: 1 }]);
    });

    it('shares one load between concurrent predicts', async () => {
      const { service, artifacts, engine } = setup();
      const responses = await Promise.all(Array.from({ length: 20 }, () => service.predict('credit', { instances: [ROW] })));
      expect(responses.every((r) => r.model_version === 1)).toBe(true);
      expect(artifacts.reads).toHaveLength(1);
      expect(engine.createSessionCalls).toBe(1);
    });

    it('answers ARTIFACT_INTEGRITY_FAILED (503) when the bytes do not match their sha256, and retries later', async () => {
      const { service, artifacts, engine, observer } = setup();
      const key = versionRecord('credit', 1).artifact.key;
      artifacts.override.set(key, new TextEncoder().encode('tampered bytes'));

      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 1 },
      });
      expect(engine.createSessionCalls).toBe(0);
      expect(observer.failed).toEqual([expect.objectContaining({ model: 'credit', version: 1, reason: 'ARTIFACT_INTEGRITY_FAILED' })]);

      artifacts.override.delete(key);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(artifacts.reads).toEqual([key, key]);
      expect(engine.createSessionCalls).toBe(1);
    });

    it('answers ARTIFACT_UNAVAILABLE (503) when the artifact cannot be read, and retries later', async () => {
      const { service, artifacts, observer } = setup();
      artifacts.failing = true;
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'ARTIFACT_UNAVAILABLE', status: 503 });
      expect(observer.failed.map((f) => f.reason)).toEqual(['ARTIFACT_UNAVAILABLE']);

      artifacts.failing = false;
      expect((await service.predict('credit', { instances: [ROW] })).predictions).toHaveLength(1);
    });

    it('answers ARTIFACT_INVALID (503) when the engine cannot load the bytes', async () => {
      const { service, engine, observer } = setup();
      engine.failCreate = true;
      const error = await rejection(service.predict('credit', { instances: [ROW] }));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'ARTIFACT_INVALID', status: 503, details: { model: 'credit', model_version: 1 } });
      expect(observer.failed.map((f) => f.reason)).toEqual(['ARTIFACT_INVALID']);
    });

    it('releases the oldest loaded version beyond the limit', async () => {
      const { service, registry, clock, engine } = setup({ maxLoadedVersions: 1 });
      await service.predict('credit', { instances: [ROW] });
      registry.setProduction('credit', 2);
      clock.now += TTL_MS;
      await service.predict('credit', { instances: [ROW] });
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(engine.released).toBe(1);
    });

    it('releases only down to the limit, counting a resolution that expires this instant as no longer in use', async () => {
      // Prepare: a limit of two, models a and b loaded, their resolutions expiring exactly when c loads.
      const { service, registry, clock, engine } = setup({ maxLoadedVersions: 2 });
      for (const name of ['a', 'b', 'c']) registry.addModel(name, 1, 1);
      await service.predict('a', { instances: [ROW] });
      await service.predict('b', { instances: [ROW] });
      clock.now += TTL_MS;
      // Act
      await service.predict('c', { instances: [ROW] });
      await new Promise((resolve) => setTimeout(resolve, 0));
      // Assess: a (the oldest) is released, b stays loaded, a is loaded again when asked for.
      expect(engine.released).toBe(1);
      expect(engine.createSessionCalls).toBe(3);
      await service.predict('b', { instances: [ROW] });
      expect(engine.createSessionCalls).toBe(3);
      await service.predict('a', { instances: [ROW] });
      expect(engine.createSessionCalls).toBe(4);
    });
  });

  describe('canary', () => {
    it('honours a 0.3 share within ±2 % over 10 000 distinct routing keys, loading each version once', async () => {
      const { service, registry, artifacts, engine } = setup();
      registry.setCanary('credit', { version: 2, share: 0.3 });
      let canary = 0;
      for (let i = 0; i < 10_000; i++) {
        const response = await service.predict('credit', { instances: [ROW] }, { routingKey: `request-${i}` });
        if (response.variant === 'canary') {
          canary++;
          expect(response.model_version).toBe(2);
        } else {
          expect(response.model_version).toBe(1);
        }
      }
      expect(Math.abs(canary / 10_000 - 0.3)).toBeLessThanOrEqual(0.02);
      expect(artifacts.reads).toHaveLength(2);
      expect(engine.createSessionCalls).toBe(2);
      expect(registry.getModelCalls).toBe(1);
    });

    it('sends the same routing key to the same version every time', async () => {
      const { service, registry } = setup();
      registry.setCanary('credit', { version: 2, share: 0.5 });
      for (let i = 0; i < 50; i++) {
        const key = `customer-${i}`;
        const expected = routingBucket('credit', key) < 0.5 ? 2 : 1;
        for (let repeat = 0; repeat < 3; repeat++) {
          expect((await service.predict('credit', { instances: [ROW] }, { routingKey: key })).model_version).toBe(expected);
        }
      }
    });

    it('draws at random for a request without a routing key', async () => {
      const draws = [0.05, 0.95];
      const { service, registry } = setup({ random: () => draws.shift() ?? 0.5 });
      registry.setCanary('credit', { version: 2, share: 0.1 });
      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 2, variant: 'canary' });
      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 1, variant: 'production' });
    });

    it('falls back to production when the canary cannot load, reports it, and retries the canary later', async () => {
      const { service, registry, artifacts, observer } = setup({ random: () => 0 });
      registry.setCanary('credit', { version: 2, share: 0.2 });
      const canaryKey = versionRecord('credit', 2).artifact.key;
      artifacts.override.set(canaryKey, new TextEncoder().encode('tampered bytes'));

      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 1, variant: 'production' });
      expect(observer.fallbacks).toEqual([
        { model: 'credit', canary_version: 2, production_version: 1, reason: 'ARTIFACT_INTEGRITY_FAILED' },
      ]);
      expect(observer.failed.map((f) => [f.version, f.reason])).toEqual([[2, 'ARTIFACT_INTEGRITY_FAILED']]);

      artifacts.override.delete(canaryKey);
      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 2, variant: 'canary' });
    });

    it('still answers 503 when production cannot load, whatever the canary', async () => {
      const { service, registry, artifacts } = setup({ random: () => 0.99 });
      registry.setCanary('credit', { version: 2, share: 0.2 });
      artifacts.override.set(versionRecord('credit', 1).artifact.key, new TextEncoder().encode('tampered bytes'));
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 1 },
      });
    });

    it('ignores a canary whose version was soft-deleted', async () => {
      const { service, registry, artifacts } = setup({ random: () => 0 });
      registry.setCanary('credit', { version: 2, share: 0.5 });
      registry.softDelete('credit', 2);
      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 1, variant: 'production' });
      expect(artifacts.reads).toEqual([versionRecord('credit', 1).artifact.key]);
    });

    it('keeps production, canary and shadow loaded together even beyond the loaded-version limit', async () => {
      const draws = [0, 0.99, 0, 0.99];
      const { service, registry, engine } = setup({ maxLoadedVersions: 1, random: () => draws.shift() ?? 0.99 });
      registry.addModel('credit', 3, 1);
      registry.setCanary('credit', { version: 2, share: 0.5 });
      registry.setShadow('credit', 3);
      const variants: string[] = [];
      for (let i = 0; i < 4; i++) variants.push((await service.predict('credit', { instances: [ROW] })).variant);
      expect(variants).toEqual(['canary', 'production', 'canary', 'production']);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(engine.createSessionCalls).toBe(3);
      expect(engine.released).toBe(0);
    });
  });

  describe('shadow', () => {
    function shadowSetup() {
      const context = setup();
      context.registry.setShadow('credit', 2);
      // Version 1 labels good, bad, bad; version 2 labels good, good, bad.
      context.engine.byVersion.set(1, [0.2, 0.6, 0.9]);
      context.engine.byVersion.set(2, [0.3, 0.4, 0.9]);
      return context;
    }

    it("answers with production's predictions and reports the shadow's disagreements", async () => {
      const { service, observer } = shadowSetup();
      const response = await service.predict('credit', { instances: [ROW, ROW, ROW] });
      expect(response).toMatchObject({ model_version: 1, variant: 'production' });
      expect(response.predictions.map((p) => p.label)).toEqual(['good', 'bad', 'bad']);
      expect(response.predictions[1]?.probability).toBeCloseTo(0.6, 6);
      expect(observer.shadows).toHaveLength(1);
      const [comparison] = observer.shadows;
      expect(comparison).toMatchObject({ model: 'credit', production_version: 1, shadow_version: 2, rows: 3, disagreements: 1 });
      expect(comparison?.meanAbsDiff).toBeCloseTo(0.1, 6);
    });

    it('labels each side at its threshold exactly as predict does, and reports each row\'s absolute difference', async () => {
      const { service, observer, engine } = shadowSetup();
      // 0.5 is the threshold: positive on both sides, so no disagreement; the differences are |p − q| per row.
      engine.byVersion.set(1, [0.5, 0.25, 0.75]);
      engine.byVersion.set(2, [0.5, 0.75, 0.25]);
      await service.predict('credit', { instances: [ROW, ROW, ROW] });
      expect(observer.shadows[0]).toMatchObject({ rows: 3, disagreements: 2, absDiffs: [0, 0.5, 0.5] });
      expect(observer.shadows[0]?.meanAbsDiff).toBeCloseTo(1 / 3, 12);
    });

    it('reports no disagreement when both sides label every row positive, or every row negative, alike', async () => {
      const { service, observer, engine } = shadowSetup();
      engine.byVersion.set(1, [0.9, 0.1]);
      engine.byVersion.set(2, [0.8, 0.2]);
      await service.predict('credit', { instances: [ROW, ROW] });
      expect(observer.shadows[0]).toMatchObject({ rows: 2, disagreements: 0 });
    });

    it('loads the shadow once and compares on every request', async () => {
      const { service, observer, engine } = shadowSetup();
      for (let i = 0; i < 5; i++) await service.predict('credit', { instances: [ROW] });
      expect(engine.createSessionCalls).toBe(2);
      expect(observer.shadows.map((s) => s.disagreements)).toEqual([0, 0, 0, 0, 0]);
    });

    it('never fails the request when the shadow cannot load, and reports it', async () => {
      const { service, artifacts, observer } = shadowSetup();
      artifacts.override.set(versionRecord('credit', 2).artifact.key, new TextEncoder().encode('tampered bytes'));
      const response = await service.predict('credit', { instances: [ROW] });
      expect(response).toMatchObject({ model_version: 1, variant: 'production' });
      expect(observer.shadows).toEqual([]);
      expect(observer.shadowFailures).toEqual([
        { model: 'credit', production_version: 1, shadow_version: 2, reason: 'ARTIFACT_INTEGRITY_FAILED' },
      ]);
    });

    it('never fails the request when the shadow fails to score', async () => {
      const { service, engine, observer } = shadowSetup();
      engine.failScoreFor.add(2);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(observer.shadowFailures.map((f) => f.reason)).toEqual(['INFERENCE_FAILED']);
    });

    it('still fails the request when production fails to score, whatever the shadow', async () => {
      const { service, engine, observer } = shadowSetup();
      engine.failScoreFor.add(1);
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'INFERENCE_FAILED', status: 503 });
      expect(observer.shadows).toEqual([]);
    });

    it('does not shadow the requests the canary answers', async () => {
      const { service, registry, observer } = setup({ random: () => 0 });
      registry.addModel('credit', 3, 1);
      registry.setCanary('credit', { version: 2, share: 0.5 });
      registry.setShadow('credit', 3);
      expect((await service.predict('credit', { instances: [ROW] })).variant).toBe('canary');
      expect(observer.shadows).toEqual([]);
    });
  });

  describe('artifact changes after loading', () => {
    it('keeps serving a loaded version after its artifact is corrupted, while a fresh service answers 503', async () => {
      const { service, registry, artifacts, engine, clock } = setup();
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      artifacts.override.set(versionRecord('credit', 1).artifact.key, new TextEncoder().encode('corrupted in the bucket'));

      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      clock.now += TTL_MS; // the registry is read again; the version and its digest are unchanged
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(artifacts.reads).toHaveLength(1);

      const fresh = new ModelService({ registry, artifacts, engine, cacheTtlMs: TTL_MS, maxBatchSize: 10 });
      expect(await rejection(fresh.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 1 },
      });
    });
  });

  describe('last good state: a bad production artifact', () => {
    const tampered = new TextEncoder().encode('tampered bytes');

    it('is answered by the previous production version, reported once with both versions, and tried again at the next read', async () => {
      // Prepare: version 3 promoted over 1 then 2, and its stored bytes corrupted.
      const { service, registry, artifacts, observer, clock } = setup();
      registry.addModel('credit', 3, 1);
      registry.promoteOver('credit', 3, [1, 2]);
      const key3 = versionRecord('credit', 3).artifact.key;
      artifacts.override.set(key3, tampered);
      // Act
      const first = await service.predict('credit', { instances: [ROW] });
      const second = await service.predict('credit', { instances: [ROW] });
      // Assess: version 2 answers, says so, and the bad artifact is read once within the TTL.
      expect(first).toMatchObject({ model_version: 2, variant: 'production' });
      expect(second).toMatchObject({ model_version: 2, variant: 'production' });
      expect(observer.productionFallbacks).toEqual([{ model: 'credit', production_version: 3, serving_version: 2, reason: 'ARTIFACT_INTEGRITY_FAILED' }]);
      expect(artifacts.reads.filter((read) => read === key3)).toHaveLength(1);

      // A repaired artifact serves again once the config is read again.
      artifacts.override.delete(key3);
      clock.now += TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(3);
    });

    it('falls back when production does not load in the runtime (ARTIFACT_INVALID)', async () => {
      const { service, registry, engine, observer } = setup();
      registry.promoteOver('credit', 2, [1]);
      engine.failCreateFor.add(2);
      expect(await service.predict('credit', { instances: [ROW] })).toMatchObject({ model_version: 1, variant: 'production' });
      expect(observer.productionFallbacks.map((f) => f.reason)).toEqual(['ARTIFACT_INVALID']);
    });

    it('skips a soft-deleted or equally bad earlier version for the next older one', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.addModel('credit', 4, 1);
      registry.promoteOver('credit', 4, [1, 2, 3]);
      registry.softDelete('credit', 3);
      for (const version of [4, 2]) artifacts.override.set(versionRecord('credit', version).artifact.key, tampered);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(observer.productionFallbacks).toEqual([{ model: 'credit', production_version: 4, serving_version: 1, reason: 'ARTIFACT_INTEGRITY_FAILED' }]);
    });

    it('answers production\'s own 503 when no earlier version can serve, and retries on the next request', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.promoteOver('credit', 2, [1]);
      for (const version of [1, 2]) artifacts.override.set(versionRecord('credit', version).artifact.key, tampered);
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 2 },
      });
      expect(observer.productionFallbacks).toEqual([]);
      artifacts.override.delete(versionRecord('credit', 2).artifact.key);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
    });

    it('does not fall back on an outage: an unreadable artifact answers 503 ARTIFACT_UNAVAILABLE', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.promoteOver('credit', 2, [1]);
      artifacts.failing = true;
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'ARTIFACT_UNAVAILABLE', status: 503 });
      expect(observer.productionFallbacks).toEqual([]);
    });

    it('tries the most recent earlier production version first, never production itself, and at most three of them', async () => {
      // Prepare: 6 promoted after 1, 2, 6 (an earlier term of its own), 3, 4 and 5; 6, 5 and 4 are corrupted.
      const { service, registry, artifacts, observer } = setup();
      registry.addModel('credit', 6, 1);
      registry.promoteOver('credit', 6, [1, 2, 6, 3, 4, 5]);
      for (const version of [6, 5, 4]) artifacts.override.set(versionRecord('credit', version).artifact.key, tampered);
      // Act, Assess: 3 is the third candidate (5, 4, 3), not 1 (oldest first) and not a second try of 6.
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(3);
      expect(observer.productionFallbacks).toEqual([{ model: 'credit', production_version: 6, serving_version: 3, reason: 'ARTIFACT_INTEGRITY_FAILED' }]);
    });

    it('counts production listed in its own history among the three candidates it tries', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.addModel('credit', 5, 1);
      registry.promoteOver('credit', 5, [1, 2, 3, 5, 4]);
      for (const version of [5, 4, 3]) artifacts.override.set(versionRecord('credit', version).artifact.key, tampered);
      // Candidates 4, 3, 2 (5 itself is not one): 2 serves.
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
      expect(observer.productionFallbacks.map((f) => f.serving_version)).toEqual([2]);
    });

    it('gives up after three bad earlier versions with production\'s own 503, though a fourth would load', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.addModel('credit', 5, 1);
      registry.promoteOver('credit', 5, [1, 2, 3, 4]);
      for (const version of [5, 4, 3, 2]) artifacts.override.set(versionRecord('credit', version).artifact.key, tampered);
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 5 },
      });
      expect(observer.productionFallbacks).toEqual([]);
      expect(artifacts.reads).not.toContain(versionRecord('credit', 1).artifact.key);
    });

    it('does not fall back when only production\'s artifact is unreadable (an outage, ARTIFACT_UNAVAILABLE)', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.promoteOver('credit', 2, [1]);
      artifacts.failingKeys.add(versionRecord('credit', 2).artifact.key);
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'ARTIFACT_UNAVAILABLE', status: 503 });
      expect(observer.productionFallbacks).toEqual([]);
      expect(artifacts.reads).not.toContain(versionRecord('credit', 1).artifact.key);
    });

    it('answers production\'s own 503 when the registry cannot read an earlier version, without trying older ones', async () => {
      const { service, registry, artifacts, observer } = setup();
      registry.addModel('credit', 3, 1);
      registry.promoteOver('credit', 3, [1, 2]);
      artifacts.override.set(versionRecord('credit', 3).artifact.key, tampered);
      registry.failingVersions.add('credit@2');
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({
        code: 'ARTIFACT_INTEGRITY_FAILED',
        status: 503,
        details: { model: 'credit', model_version: 3 },
      });
      expect(observer.productionFallbacks).toEqual([]);
      expect(artifacts.reads).not.toContain(versionRecord('credit', 1).artifact.key);
    });

    it('falls back and serves stale config with an observer that has no optional hooks', async () => {
      const registry = new FakeRegistry();
      registry.addModel('credit', 2, 1);
      registry.promoteOver('credit', 2, [1]);
      const artifacts = new FakeArtifacts(registry);
      artifacts.override.set(versionRecord('credit', 2).artifact.key, tampered);
      const clock = { now: 1_000_000 };
      const minimal: ServingObserver = {
        modelLoaded: () => undefined,
        modelLoadFailed: () => undefined,
        canaryFallback: () => undefined,
        shadowScored: () => undefined,
        shadowFailed: () => undefined,
      };
      const service = new ModelService({
        registry,
        artifacts,
        engine: new FakeEngine(),
        observer: minimal,
        cacheTtlMs: TTL_MS,
        maxBatchSize: 10,
        staleServingMs: 10 * TTL_MS,
        now: () => clock.now,
      });
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      registry.failing = true;
      clock.now += TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
    });

    it('keeps the fallback version loaded beyond the loaded-version limit', async () => {
      const { service, registry, artifacts, engine } = setup({ maxLoadedVersions: 1 });
      registry.addModel('other', 1, 1);
      registry.promoteOver('credit', 2, [1]);
      artifacts.override.set(versionRecord('credit', 2).artifact.key, tampered);
      await service.predict('credit', { instances: [ROW] });
      await service.predict('other', { instances: [ROW] });
      const sessions = engine.createSessionCalls;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(engine.createSessionCalls).toBe(sessions);
    });
  });

  describe('last known serving config while the registry is down', () => {
    it('serves it past the TTL for staleServingMs after its last read, reported once per refresh, then answers 503', async () => {
      // Prepare
      const { service, registry, observer, clock } = setup({ staleServingMs: 3 * TTL_MS });
      await service.predict('credit', { instances: [ROW] });
      registry.failing = true;
      // Act, Assess: within the bound the last config answers; the registry is tried once per TTL.
      clock.now += TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      const reads = registry.getModelCalls;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(registry.getModelCalls).toBe(reads);
      clock.now += 2 * TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      expect(observer.stale).toEqual([
        { model: 'credit', production_version: 1, age_ms: TTL_MS },
        { model: 'credit', production_version: 1, age_ms: 3 * TTL_MS },
      ]);
      // Past the bound, at the next refresh: the outage is the answer.
      clock.now += TTL_MS;
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503 });
      // Back: read afresh, promotions included.
      registry.failing = false;
      registry.setProduction('credit', 2);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
    });

    it('answers 503 REGISTRY_UNAVAILABLE once the TTL has passed when no stale serving is configured', async () => {
      const { service, registry, clock, observer } = setup();
      await service.predict('credit', { instances: [ROW] });
      registry.failing = true;
      clock.now += TTL_MS;
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
      expect(observer.stale).toEqual([]);
    });
  });

  describe('listVersions', () => {
    it('lists the versions newest first with their roles, hiding soft-deleted ones', async () => {
      const { service, registry } = setup();
      registry.addModel('credit', 4, 1);
      registry.setCanary('credit', { version: 3, share: 0.1 });
      registry.setShadow('credit', 3);
      registry.softDelete('credit', 2);
      const versions = await service.listVersions('credit');
      expect(versions.map((v) => [v.version, v.roles])).toEqual([
        [4, []],
        [3, ['canary', 'shadow']],
        [1, ['production']],
      ]);
      const record = versionRecord('credit', 1);
      expect(versions[2]).toEqual({
        version: 1,
        stage: 'candidate',
        roles: ['production'],
        created_at: record.created_at,
        created_by: 'test',
        artifact_sha256: record.artifact.sha256,
        artifact_size_bytes: record.artifact.size_bytes,
        algorithm: 'logistic_regression',
        schema_version: 1,
        preprocess_version: 1,
        metrics: { roc_auc: 0.9 },
      });
    });

    it('answers MODEL_NOT_FOUND (404) for an unknown model and REGISTRY_UNAVAILABLE (503) in an outage', async () => {
      const { service, registry } = setup();
      expect(await rejection(service.listVersions('nope'))).toMatchObject({ code: 'MODEL_NOT_FOUND', status: 404 });
      registry.failing = true;
      expect(await rejection(service.listVersions('credit'))).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503 });
    });

    it('says which model is missing, and which read failed in an outage', async () => {
      const { service, registry } = setup();
      expect(await rejection(service.listVersions('nope'))).toMatchObject({ message: 'model "nope" does not exist', details: { model: 'nope' } });
      const versionsDown: RegistryReader = {
        getModel: (model) => registry.getModel(model),
        getVersion: (model, version) => registry.getVersion(model, version),
        listModels: () => registry.listModels(),
        listVersions: async () => Promise.reject(new Error('throttled')),
      };
      const onlyVersions = new ModelService({ registry: versionsDown, artifacts: new FakeArtifacts(registry), engine: new FakeEngine(), cacheTtlMs: TTL_MS, maxBatchSize: 10 });
      registry.addModel('fraud', 1, 1);
      const error = await rejection(onlyVersions.listVersions('fraud'));
      expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', message: 'the registry could not be read for the versions of model "fraud"; retry later' });
      expect(error.cause).toEqual(new Error('throttled'));
      registry.failing = true;
      expect(await rejection(service.listModels())).toMatchObject({ message: 'the registry could not be read for the model list; retry later' });
      expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ message: 'the registry could not be read for model "credit"; retry later' });
    });
  });

  describe('listModels', () => {
    it('lists every model sorted by name', async () => {
      const { service, registry } = setup();
      registry.addModel('zeta', 1, null);
      registry.addModel('alpha', 3, 2);
      const models = await service.listModels();
      expect(models.map((m) => m.model)).toEqual(['alpha', 'credit', 'zeta']);
      expect(models[0]).toEqual({
        model: 'alpha',
        description: 'the alpha model',
        production_version: 2,
        latest_version: 3,
        updated_at: '2024-01-02T00:00:00.000Z',
      });
    });

    it('answers REGISTRY_UNAVAILABLE (503) when the registry cannot be listed', async () => {
      const { service, registry } = setup();
      registry.failing = true;
      expect(await rejection(service.listModels())).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503 });
    });
  });

  describe('describeModel', () => {
    it('describes the production version with its schema, output, metrics and artifact digest', async () => {
      const { service } = setup();
      const description = await service.describeModel('credit');
      expect(description).toMatchObject({
        model: 'credit',
        production_version: 1,
        latest_version: 2,
        algorithm: 'logistic_regression',
        input_schema: metadata.input_schema,
        output: metadata.output,
        metrics: { roc_auc: 0.9 },
        artifact_sha256: versionRecord('credit', 1).artifact.sha256,
      });
    });
  });
  describe('model names', () => {
    it.each(['Credit', '-credit', 'a'.repeat(64), 'credit scoring', '', 'crédit'])('answers INVALID_MODEL_NAME (400) for %j before any registry read', async (name) => {
      const { service, registry } = setup();
      for (const call of [() => service.predict(name, { instances: [ROW] }), () => service.listVersions(name), () => service.describeModel(name)]) {
        const error = await rejection(call());
        expect(error).toBeInstanceOf(RequestValidationError);
        expect(error).toMatchObject({
          code: 'INVALID_MODEL_NAME',
          status: 400,
          message: `"${name}" is not a model name (^[a-z0-9][a-z0-9-_]{0,62}$)`,
          details: { field: 'model', received: name, pattern: '^[a-z0-9][a-z0-9-_]{0,62}$' },
        });
      }
      expect(registry.getModelCalls).toBe(0);
    });

    it('accepts a name of 63 characters', async () => {
      const { service, registry } = setup();
      const name = `c${'-'.repeat(61)}9`;
      registry.addModel(name, 1, 1);
      expect((await service.predict(name, { instances: [ROW] })).model).toBe(name);
    });
  });

  describe('a probability that is not a number', () => {
    it.each([Number.NaN, Number.POSITIVE_INFINITY])('refuses the instance with NON_FINITE_PREDICTION (400) naming its row, never a 200 (%s)', async (bad) => {
      const { service, engine } = setup();
      engine.probabilities = [0.2, bad];
      const error = await rejection(service.predict('credit', { instances: [ROW, ROW] }));
      expect(error).toBeInstanceOf(RequestValidationError);
      expect(error).toMatchObject({
        code: 'NON_FINITE_PREDICTION',
        status: 400,
        message: `instances[1] cannot be scored: the model answered ${String(bad)} for its values`,
        details: { field: 'instances[1]', model: 'credit', model_version: 1, variant: 'production' },
      });
    });
  });

  describe('batch scoring (resolveVersion, scoreRows)', () => {
    it('resolves the production version, or the version asked for, with its features by name and type', async () => {
      const { service } = setup();
      const expected = (version: number) => ({
        model: 'credit',
        model_version: version,
        artifact_sha256: versionRecord('credit', version).artifact.sha256,
        serving_target: { kind: 'lambda' },
        features: [
          { name: 'age', type: 'numeric' },
          { name: 'home', type: 'categorical' },
        ],
      });
      expect(await service.resolveVersion('credit')).toEqual(expected(1));
      expect(await service.resolveVersion('credit', 2)).toEqual(expected(2));
    });

    it('refuses a missing or soft-deleted version with VERSION_NOT_FOUND (404)', async () => {
      const { service, registry } = setup();
      registry.softDelete('credit', 2);
      for (const version of [2, 9]) {
        const error = await rejection(service.resolveVersion('credit', version));
        expect(error).toBeInstanceOf(NotFoundError);
        expect(error).toMatchObject({ code: 'VERSION_NOT_FOUND', status: 404, message: `model "credit" has no version ${version}`, details: { model: 'credit', model_version: version } });
        await expect(service.scoreRows('credit', version, [ROW])).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
      }
    });

    it('answers REGISTRY_UNAVAILABLE (503) when the version cannot be read', async () => {
      const { service, registry } = setup();
      registry.failing = true;
      const error = await rejection(service.scoreRows('credit', 2, [ROW]));
      expect(error).toBeInstanceOf(ModelUnavailableError);
      expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', message: 'the registry could not be read for model "credit" version 2; retry later' });
    });

    it('scores each row in input order with the version\'s threshold, refusing bad rows one by one', async () => {
      const { service, engine } = setup();
      engine.probabilities = [0.2, 0.5];
      const scores = await service.scoreRows('credit', 2, [ROW, { ...ROW, home: 'castle' }, { age: null, home: null }, 'x', { ...ROW, shoe: 1 }]);
      expect(scores).toEqual({
        model: 'credit',
        model_version: 2,
        artifact_sha256: versionRecord('credit', 2).artifact.sha256,
        results: [
          { ok: true, probability: expect.closeTo(0.2, 6), label: 'good' },
          { ok: false, code: 'UNKNOWN_CATEGORY', message: 'instances[1].home has a category the model does not know', field: 'instances[1].home' },
          { ok: true, probability: 0.5, label: 'bad' },
          { ok: false, code: 'INVALID_INSTANCE', message: 'instances[3] must be an object of feature values', field: 'instances[3]' },
          { ok: false, code: 'UNKNOWN_FEATURE', message: 'instances[4].shoe is not a feature of this model', field: 'instances[4].shoe' },
        ],
      });
    });

    it('does not score at all when every row is refused', async () => {
      const { service, engine } = setup();
      engine.failScore = true; // a session run, even of no rows, would fail the batch
      const scores = await service.scoreRows('credit', 1, [{ age: 'x', home: null }]);
      expect(scores.results).toEqual([{ ok: false, code: 'INVALID_TYPE', message: 'instances[0].age must be a number', field: 'instances[0].age' }]);
      expect(engine.createSessionCalls).toBe(1);
      expect(await service.scoreRows('credit', 1, [])).toMatchObject({ results: [] });
    });

    it('refuses a row the model answers NaN for, not the batch', async () => {
      const { service, engine } = setup();
      engine.probabilities = [0.9, Number.NaN];
      const { results } = await service.scoreRows('credit', 1, [ROW, ROW]);
      expect(results).toEqual([
        { ok: true, probability: expect.closeTo(0.9, 6), label: 'bad' },
        { ok: false, code: 'NON_FINITE_PREDICTION', message: 'instances[1] cannot be scored: the model answered NaN for its values', field: 'instances[1]' },
      ]);
    });

    it('fails the whole batch when the version cannot score, and loads a version once for many batches', async () => {
      const { service, engine } = setup();
      await service.scoreRows('credit', 2, [ROW]);
      await service.scoreRows('credit', 2, [ROW]);
      expect(engine.createSessionCalls).toBe(1);
      engine.failScore = true;
      await expect(service.scoreRows('credit', 2, [ROW])).rejects.toMatchObject({ code: 'INFERENCE_FAILED', details: { model: 'credit', model_version: 2, variant: 'production' } });
    });

    it('reads a version record once per container', async () => {
      const { service, registry } = setup();
      await service.scoreRows('credit', 2, [ROW]);
      registry.failing = true;
      expect((await service.scoreRows('credit', 2, [ROW])).results).toHaveLength(1);
      expect((await service.resolveVersion('credit', 2)).model_version).toBe(2);
    });
  });
});
