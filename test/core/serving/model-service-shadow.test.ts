import { describe, expect, it } from 'vitest';
import { ModelUnavailableError } from '#core/errors.ts';
import { ROW, rejection, setup, versionRecord } from '../../support/model-service-fakes.ts';

/** ModelService's shadow path: what the observer is told when the shadow, or production beside it, answers badly. */

/** The credit model with version 2 shadowing production (version 1). */
function shadowSetup() {
  const context = setup();
  context.registry.setShadow('credit', 2);
  return context;
}

describe('ModelService shadow', () => {
  it('reports a shadow that answers fewer rows than asked as SHADOW_FAILED, never as a comparison', async () => {
    // Prepare: the shadow's session answers one probability whatever the batch.
    const { service, engine, observer } = shadowSetup();
    engine.answeredRows.set(2, 1);
    // Act
    const answer = await service.predict('credit', { instances: [ROW, ROW, ROW] });
    // Assess: production's three predictions, the shadow's failure with what it answered.
    expect(answer).toMatchObject({ model_version: 1, variant: 'production' });
    expect(answer.predictions).toHaveLength(3);
    expect(observer.shadows).toEqual([]);
    expect(observer.shadowFailures).toEqual([{ model: 'credit', production_version: 1, shadow_version: 2, reason: 'SHADOW_FAILED' }]);
    expect((observer.shadowFailureCauses[0] as Error).message).toBe('the shadow answered 1 rows for 3');
  });

  it("names the shadow version and variant in the failure it reports when the shadow's session fails to score", async () => {
    const { service, engine, observer } = shadowSetup();
    engine.failScoreFor.add(2);
    expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
    const [cause] = observer.shadowFailureCauses;
    expect(cause).toBeInstanceOf(ModelUnavailableError);
    expect(cause).toMatchObject({
      code: 'INFERENCE_FAILED',
      message: 'model "credit" version 2 failed to score',
      details: { model: 'credit', model_version: 2, variant: 'shadow' },
    });
  });

  it('compares no rows, with a mean difference of 0, when production answers no probability at all', async () => {
    // Prepare: production's session answers an empty array (a broken graph), the shadow scores normally.
    const { service, engine, observer } = shadowSetup();
    engine.answeredRows.set(1, 0);
    // Act: the request is refused, as predict refuses a missing probability.
    expect(await rejection(service.predict('credit', { instances: [ROW] }))).toMatchObject({ code: 'NON_FINITE_PREDICTION', status: 400 });
    // Assess: the comparison reported holds no rows and no NaN.
    expect(observer.shadows).toEqual([{ model: 'credit', production_version: 1, shadow_version: 2, rows: 0, disagreements: 0, meanAbsDiff: 0, absDiffs: [] }]);
  });

  it('ignores a shadow whose version was soft-deleted: nothing loaded, nothing compared', async () => {
    const { service, registry, artifacts, observer } = shadowSetup();
    registry.softDelete('credit', 2);
    expect((await service.predict('credit', { instances: [ROW] })).model_version).toBe(1);
    expect(artifacts.reads).toEqual([versionRecord('credit', 1).artifact.key]);
    expect(observer.shadows).toEqual([]);
    expect(observer.shadowFailures).toEqual([]);
  });
});
