import { describe, expect, it } from 'vitest';
import { ModelUnavailableError } from '#core/errors.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { RegistryReader } from '#core/serving/ports.ts';
import { FakeArtifacts, FakeEngine, FakeRegistry, ROW, TTL_MS, rejection, setup, versionRecord } from '../../support/model-service-fakes.ts';

/** ModelService on a request's way in: which registry read failed, the production fallback's bookkeeping, batch rows. */

const tampered = new TextEncoder().encode('tampered bytes');

/** Lets the releases that eviction starts without awaiting them finish. */
async function settled(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 0));
}

describe('ModelService requests', () => {
  it("says the model's own record could not be read when listing its versions, though the version list could", async () => {
    const registry = new FakeRegistry();
    registry.addModel('fraud', 2, 1);
    const modelDown: RegistryReader = {
      getModel: async () => Promise.reject(new Error('throttled')),
      getVersion: (model, version) => registry.getVersion(model, version),
      listModels: () => registry.listModels(),
      listVersions: (model) => registry.listVersions(model),
    };
    const service = new ModelService({ registry: modelDown, artifacts: new FakeArtifacts(registry), engine: new FakeEngine(), cacheTtlMs: TTL_MS, maxBatchSize: 10 });
    const error = await rejection(service.listVersions('fraud'));
    expect(error).toBeInstanceOf(ModelUnavailableError);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', status: 503, message: 'the registry could not be read for model "fraud"; retry later' });
    expect(error.cause).toEqual(new Error('throttled'));
  });

  describe('the version answering for a bad production artifact', () => {
    it('is released like any other version once the repaired production artifact serves again', async () => {
      // Prepare: production 2 corrupted, so 1 answers; then 2 is repaired and serves at the next read.
      const { service, registry, artifacts, engine, clock } = setup({ maxLoadedVersions: 2 });
      registry.addModel('other', 1, 1);
      registry.promoteOver('credit', 2, [1]);
      const key2 = versionRecord('credit', 2).artifact.key;
      artifacts.override.set(key2, tampered);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
      artifacts.override.delete(key2);
      clock.now += TTL_MS;
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
      // Act: a third version loads beyond the limit of two.
      await service.predict('other', { instances: [ROW] });
      await settled();
      // Assess: version 1, no longer answering for anything, is the one released, and a batch job loads it again.
      expect(engine.released).toBe(1);
      const sessions = engine.createSessionCalls;
      expect((await service.scoreRows('credit', 1, [ROW])).results).toEqual([{ ok: true, probability: expect.closeTo(0.2, 6), label: 'good' }]);
      expect(engine.createSessionCalls).toBe(sessions + 1);
      expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(2);
    });
  });

  describe('batch rows', () => {
    it('fails the batch with the error itself when reading a row throws something other than a refusal', async () => {
      const { service } = setup();
      const broken = new Error('the row source failed');
      const row: Record<string, unknown> = { home: 'rent' };
      Object.defineProperty(row, 'age', {
        enumerable: true,
        get: () => {
          throw broken;
        },
      });
      expect(await rejection(service.scoreRows('credit', 1, [ROW, row]))).toBe(broken);
      // The same rows without the broken one are scored.
      expect((await service.scoreRows('credit', 1, [ROW])).results).toHaveLength(1);
    });
  });
});
