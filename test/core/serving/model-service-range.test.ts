import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '#core/errors.ts';
import type { ModelMetadata, NumericProfile, Preprocessing } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord, ServingTarget } from '#core/registry/records.ts';
import { ModelService, type ModelServiceOptions } from '#core/serving/model-service.ts';
import type { OutOfRangePolicy } from '#core/serving/range-check.ts';
import type { OutOfRangeReport, RegistryReader, RemoteScoringEngine, ScoringEngine, ScoringSession, ServingObserver } from '#core/serving/ports.ts';

/** ModelService's range check: the answering version's baseline, before scoring, on the Lambda and endpoint paths. */

const preprocessing: Preprocessing = {
  preprocess_version: 1,
  input_name: 'features',
  output_name: 'probability',
  columns: 2,
  encodings: [
    { feature: 'age', kind: 'numeric', impute: 40 },
    { feature: 'income', kind: 'numeric', impute: 100 },
  ],
};

function numeric(min: number, max: number): NumericProfile {
  return { type: 'numeric', count: 10, missing_rate: 0, min, max, mean: (min + max) / 2, std: 1, quantiles: [] };
}

/** Version 1 trained on ages 20–60; version 2 (the canary) on ages 20–100. Income has no baseline in either. */
function metadataOf(version: number): ModelMetadata {
  return {
    algorithm: 'logistic_regression',
    input_schema: {
      schema_version: 1,
      features: [
        { name: 'age', type: 'numeric', nullable: true },
        { name: 'income', type: 'numeric', nullable: true },
      ],
    },
    preprocessing,
    output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
    metrics: {},
    baseline: { age: version === 1 ? numeric(20, 60) : numeric(20, 100) },
    lineage: { data_sha256: '0'.repeat(64), rows: 10, target: 't', seed: 1, parameters: {}, trainer: 'test', trainer_version: '1' },
  };
}

function bytesOf(version: number): Uint8Array {
  return new TextEncoder().encode(`version ${version}`);
}

function versionRecord(version: number, target?: ServingTarget): ModelVersionRecord {
  const sha256 = createHash('sha256').update(bytesOf(version)).digest('hex');
  return {
    model: 'm',
    version,
    stage: 'production',
    artifact: { key: `models/m/${version}.onnx`, sha256, size_bytes: 9 },
    metadata: metadataOf(version),
    created_at: '2024-01-01T00:00:00.000Z',
    created_by: 'test',
    deleted_at: null,
    ...(target === undefined ? {} : { serving_target: target }),
  };
}

function registry(versions: ModelVersionRecord[], canary: { version: number; share: number } | null = null): RegistryReader {
  const model: ModelRecord = {
    model: 'm',
    description: '',
    production_version: 1,
    canary,
    shadow_version: null,
    previous_production_versions: [],
    latest_version: versions.length,
    revision: 1,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
  };
  return {
    getModel: async () => model,
    getVersion: async (_m, v) => versions.find((r) => r.version === v),
    listModels: async () => [model],
    listVersions: async () => versions,
  };
}

/** Sessions that answer 0.25 per row and count the batches they scored. */
class CountingEngine implements ScoringEngine, RemoteScoringEngine {
  scored = 0;
  private session(): ScoringSession {
    return {
      score: async (_input, rows) => {
        this.scored++;
        return new Float32Array(rows).fill(0.25);
      },
      release: async () => undefined,
    };
  }
  createSession = async (): Promise<ScoringSession> => this.session();
  createRemoteSession = (): ScoringSession => this.session();
}

function service(
  policy: OutOfRangePolicy | undefined,
  options: {
    versions?: ModelVersionRecord[];
    canary?: { version: number; share: number };
    reports?: OutOfRangeReport[];
    ood?: { policy: OutOfRangePolicy; pValue: number };
    maxBatchSize?: number;
    /** An observer with none of the optional hooks (`outOfRange` among them). */
    bareObserver?: boolean;
  } = {},
): { service: ModelService; engine: CountingEngine } {
  const engine = new CountingEngine();
  const observer: ServingObserver = {
    modelLoaded: () => undefined,
    modelLoadFailed: () => undefined,
    canaryFallback: () => undefined,
    shadowScored: () => undefined,
    shadowFailed: () => undefined,
    ...(options.bareObserver === true ? {} : { outOfRange: (report: OutOfRangeReport) => options.reports?.push(report) }),
  };
  const serviceOptions: ModelServiceOptions = {
    registry: registry(options.versions ?? [versionRecord(1)], options.canary ?? null),
    artifacts: { getArtifact: async (key) => bytesOf(Number(/(\d+)\.onnx$/.exec(key)?.[1])) },
    engine,
    remoteEngine: engine,
    observer,
    cacheTtlMs: 30_000,
    maxBatchSize: options.maxBatchSize ?? 10,
    ...(policy === undefined ? {} : { outOfRange: { policy, tolerance: 0.25 } }),
    ...(options.ood === undefined ? {} : { outOfDistribution: options.ood }),
  };
  return { service: new ModelService(serviceOptions), engine };
}

const IN_RANGE = { instances: [{ age: 70, income: 1e9 }, { age: null, income: null }] };
const OUT_OF_RANGE = { instances: [{ age: 30, income: 1 }, { age: 71, income: -1e9 }] };

describe('ModelService range check', () => {
  it('answers in-range batches without a warnings field under warn', async () => {
    const reports: OutOfRangeReport[] = [];
    const response = await service('warn', { reports }).service.predict('m', IN_RANGE);
    expect(Object.keys(response)).toEqual(['model', 'model_version', 'variant', 'predictions']);
    expect(reports).toEqual([]);
  });

  it('answers with warnings under warn, bounds widened by the tolerance, and reports the count', async () => {
    const reports: OutOfRangeReport[] = [];
    const { service: warning, engine } = service('warn', { reports });
    const response = await warning.predict('m', OUT_OF_RANGE);
    expect(response.predictions).toHaveLength(2);
    expect(response.warnings).toEqual([{ instance: 1, feature: 'age', code: 'OUT_OF_RANGE', value: 71, min: 10, max: 70 }]);
    expect(engine.scored).toBe(1);
    expect(reports).toEqual([{ model: 'm', model_version: 1, variant: 'production', count: 1, warnings: response.warnings }]);
  });

  it('rejects under reject with OUT_OF_RANGE before anything is scored', async () => {
    const { service: rejecting, engine } = service('reject');
    const error = await rejecting.predict('m', OUT_OF_RANGE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error).toMatchObject({ code: 'OUT_OF_RANGE', details: { field: 'instances[1].age', received: 71, min: 10, max: 70 } });
    expect(engine.scored).toBe(0);
    await expect(rejecting.predict('m', IN_RANGE)).resolves.toMatchObject({ model_version: 1 });
  });

  it.each([['off' as const], [undefined]])('checks nothing with policy %s', async (policy) => {
    const response = await service(policy).service.predict('m', OUT_OF_RANGE);
    expect(response).not.toHaveProperty('warnings');
  });

  it('answers with warnings under warn with an observer that takes no out-of-range reports', async () => {
    const response = await service('warn', { bareObserver: true }).service.predict('m', OUT_OF_RANGE);
    expect(response.warnings).toMatchObject([{ instance: 1, feature: 'age', code: 'OUT_OF_RANGE', value: 71 }]);
  });

  it('refuses out-of-range rows one by one in batch scoring under reject, each by its own index, and scores them under warn and off', async () => {
    const rows = [{ age: 30, income: 1 }, { age: 71, income: 1 }];
    const { service: rejecting, engine } = service('reject');
    const batch = await rejecting.scoreRows('m', 1, rows);
    expect(batch.results[0]).toEqual({ ok: true, probability: 0.25, label: 'good' });
    // The refusal names the row by its own index in the batch (it named instances[0] for every row before).
    expect(batch.results[1]).toStrictEqual({
      ok: false,
      code: 'OUT_OF_RANGE',
      field: 'instances[1].age',
      message: 'instances[1].age is 71, outside the range this model version was trained on (with tolerance): 10 to 70',
    });
    expect(engine.scored).toBe(1);
    for (const policy of ['warn', 'off'] as const) {
      const { results } = await service(policy).service.scoreRows('m', 1, rows);
      expect(results.map((r) => r.ok)).toEqual([true, true]);
    }
  });

  it("checks a canary's requests against the canary's own baseline", async () => {
    const { service: split } = service('reject', { versions: [versionRecord(1), versionRecord(2)], canary: { version: 2, share: 100 } });
    const response = await split.predict('m', OUT_OF_RANGE);
    expect(response).toMatchObject({ model_version: 2, variant: 'canary' });
    expect(response).not.toHaveProperty('warnings');
  });

  it('rejects before calling the endpoint of a version served by SageMaker', async () => {
    const { service: remote, engine } = service('reject', { versions: [versionRecord(1, { kind: 'sagemaker', endpoint_name: 'gpu' })] });
    await expect(remote.predict('m', OUT_OF_RANGE)).rejects.toMatchObject({ code: 'OUT_OF_RANGE' });
    expect(engine.scored).toBe(0);
    await expect(remote.predict('m', IN_RANGE)).resolves.toMatchObject({ model_version: 1 });
    expect(engine.scored).toBe(1);
  });
});

/** Version 1 with 1 000 training ages spread evenly over 20–60 (its 101 percentiles): what the OOD score compares with. */
function oodVersion(): ModelVersionRecord {
  const record = versionRecord(1);
  const age: NumericProfile = { ...numeric(20, 60), count: 1000, percentiles: Array.from({ length: 101 }, (_, i) => 20 + 0.4 * i) };
  return { ...record, metadata: { ...record.metadata, baseline: { age } } };
}

describe('ModelService out-of-distribution score', () => {
  const batch = { instances: [{ age: 40, income: 1 }, { age: 20.5, income: 1 }, { age: 200, income: 1 }, { age: null, income: 1 }] };

  it('adds nothing under off (the default)', async () => {
    const response = await service(undefined, { versions: [oodVersion()] }).service.predict('m', batch);
    expect(Object.keys(response)).toEqual(['model', 'model_version', 'variant', 'predictions']);
    expect(Object.keys(response.predictions[0] ?? {})).toEqual(['label', 'probability']);
  });

  it('scores every instance under warn and warns of those below the p-value, naming the feature', async () => {
    const response = await service(undefined, { versions: [oodVersion()], ood: { policy: 'warn', pValue: 0.01 } }).service.predict('m', batch);
    const scores = response.predictions.map((p) => p.ood_score ?? Number.NaN);
    // The median age is typical, the training edge unusual but not flagged, 200 beyond every training value, null unscored.
    expect(scores[0]).toBeLessThan(0.05);
    expect(scores[1]).toBeGreaterThan(0.9);
    expect(scores[2]).toBeGreaterThan(0.99);
    expect(scores[3]).toBe(0);
    expect(response.warnings).toEqual([{ instance: 2, feature: 'age', code: 'OUT_OF_DISTRIBUTION', ood_score: scores[2], p_value: 2 / 1001 }]);
  });

  it('adds nothing under an explicit off, even with a p-value set', async () => {
    const response = await service(undefined, { versions: [oodVersion()], ood: { policy: 'off', pValue: 0.5 } }).service.predict('m', batch);
    expect(Object.keys(response)).toEqual(['model', 'model_version', 'variant', 'predictions']);
    expect(Object.keys(response.predictions[2] ?? {})).toEqual(['label', 'probability']);
  });

  it('does not flag an instance whose p-value equals the configured one, and flags it just above', async () => {
    const far = { instances: [{ age: 200, income: 1 }] };
    const at = await service(undefined, { versions: [oodVersion()], ood: { policy: 'warn', pValue: 2 / 1001 } }).service.predict('m', far);
    expect(at.warnings).toBeUndefined();
    expect(at.predictions[0]?.ood_score).toBeGreaterThan(0.99);
    const { service: rejecting } = service(undefined, { versions: [oodVersion()], ood: { policy: 'reject', pValue: 2 / 1001 } });
    await expect(rejecting.predict('m', far)).resolves.toMatchObject({ model_version: 1 });
    const above = await service(undefined, { versions: [oodVersion()], ood: { policy: 'warn', pValue: 2.000001 / 1001 } }).service.predict('m', far);
    expect(above.warnings).toMatchObject([{ instance: 0, code: 'OUT_OF_DISTRIBUTION', p_value: 2 / 1001 }]);
    // Scores are rounded to six decimals, never scaled: a score stays within [0, 1].
    const score = above.predictions[0]?.ood_score ?? Number.NaN;
    expect(score).toBeLessThanOrEqual(1);
    expect(Math.round(score * 1e6) / 1e6).toBe(score);
    expect((above.warnings?.[0] as { ood_score: number }).ood_score).toBe(score);
  });

  it('says which instance is out of distribution, at what p-value, and by which feature', async () => {
    const { service: s } = service(undefined, { versions: [oodVersion()], ood: { policy: 'reject', pValue: 0.01 } });
    await expect(s.predict('m', { instances: [{ age: 40, income: 1 }, { age: 200, income: 1 }] })).rejects.toMatchObject({
      message: 'instances[1] is out of distribution: p = 0.00200 below 0.01, most unusual feature "age"',
    });
  });

  it('lists at most 100 out-of-distribution warnings, yet scores every instance', async () => {
    const instances = Array.from({ length: 101 }, () => ({ age: 200, income: 1 }));
    const { service: s } = service(undefined, { versions: [oodVersion()], ood: { policy: 'warn', pValue: 0.01 }, maxBatchSize: 200 });
    const response = await s.predict('m', { instances });
    expect(response.predictions.filter((p) => (p.ood_score ?? 0) > 0.99)).toHaveLength(101);
    expect(response.warnings).toHaveLength(100);
    expect(response.warnings?.at(-1)).toMatchObject({ instance: 99 });
  });

  it('refuses a batch with an out-of-distribution instance under reject, before scoring it', async () => {
    const { service: s, engine } = service(undefined, { versions: [oodVersion()], ood: { policy: 'reject', pValue: 0.01 } });
    await expect(s.predict('m', batch)).rejects.toMatchObject({ status: 400, code: 'OUT_OF_DISTRIBUTION', details: { instance: 2, feature: 'age' } });
    expect(engine.scored).toBe(0);
    const typical = await s.predict('m', { instances: [{ age: 40, income: 1 }] });
    expect(typical.predictions[0]?.ood_score).toBeLessThan(0.05);
    expect(engine.scored).toBe(1);
  });
});
