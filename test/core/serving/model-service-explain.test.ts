import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord, ServingTarget } from '#core/registry/records.ts';
import { ExplainNotSupportedError } from '#core/explain/explainer.ts';
import { ModelService, type ExplainResponse } from '#core/serving/model-service.ts';
import type { ArtifactReader, RegistryReader, ScoringEngine, ScoringSession } from '#core/serving/ports.ts';
import { trainGradientBoosting, trainLogisticRegression } from '#core/training/train-binary-classifier.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import onnxProto from 'onnx-proto';
import { CREDIT_INSTANCE } from '../../support/credit-instances.ts';

/** ModelService.explain: routed and validated as predict, the method from the graph, checked before answering. */

const csv = readFileSync(new URL('../../../examples/credit/credit_data.csv', import.meta.url), 'utf8');
const engine = new OnnxScoringEngine({ intraOpNumThreads: 1 });

interface Artifact {
  readonly bytes: Uint8Array;
  readonly metadata: ModelMetadata;
}

function record(version: number, artifact: Artifact, target?: ServingTarget): ModelVersionRecord {
  return {
    model: 'credit',
    version,
    stage: 'production',
    artifact: { key: `models/credit/${version}.onnx`, sha256: createHash('sha256').update(artifact.bytes).digest('hex'), size_bytes: artifact.bytes.byteLength },
    metadata: artifact.metadata,
    created_at: '2024-01-01T00:00:00.000Z',
    created_by: 'test',
    deleted_at: null,
    ...(target === undefined ? {} : { serving_target: target }),
  };
}

function serviceOf(
  versions: { record: ModelVersionRecord; bytes: Uint8Array }[],
  options: { canary?: number; engine?: ScoringEngine; approximation?: 'sampling' | 'refuse'; reads?: string[]; rangePolicy?: 'warn' } = {},
): ModelService {
  const model: ModelRecord = {
    model: 'credit',
    description: '',
    production_version: 1,
    canary: options.canary === undefined ? null : { version: options.canary, share: 1 },
    shadow_version: null,
    previous_production_versions: [],
    latest_version: versions.length,
    revision: 1,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
  };
  const registry: RegistryReader = {
    getModel: async () => model,
    getVersion: async (_m, v) => versions.find((entry) => entry.record.version === v)?.record,
    listModels: async () => [model],
    listVersions: async () => versions.map((entry) => entry.record),
  };
  const artifacts: ArtifactReader = {
    getArtifact: async (key) => {
      options.reads?.push(key);
      const found = versions.find((entry) => entry.record.artifact.key === key);
      if (found === undefined) throw new Error(`no ${key}`);
      return found.bytes;
    },
  };
  return new ModelService({
    registry,
    artifacts,
    engine: options.engine ?? engine,
    cacheTtlMs: 60_000,
    maxBatchSize: 1000,
    ...(options.rangePolicy === undefined ? {} : { outOfRange: { policy: options.rangePolicy, tolerance: 0 } }),
    explain: { maxBatchSize: 10, backgroundSize: 50, approximation: options.approximation ?? 'sampling', samplingBudget: 500, topContributions: 3 },
  });
}

async function apiErrorOf(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('expected an ApiError');
}

function expectAddsUp(response: ExplainResponse): void {
  for (const explanation of response.explanations) {
    const sum = Object.values(explanation.attributions).reduce((a, b) => a + b, explanation.base_value);
    expect(Math.abs(sum - explanation.log_odds)).toBeLessThan(1e-9);
    expect(Math.abs(1 / (1 + Math.exp(-explanation.log_odds)) - explanation.probability)).toBeLessThan(1e-5);
  }
}

let logreg: Artifact;
let gbdt: Artifact;

beforeAll(() => {
  const linear = trainLogisticRegression({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'x' });
  logreg = { bytes: linear.onnx, metadata: linear.metadata };
  const trees = trainGradientBoosting({ csv, target: 'Status', positiveLabel: 'bad', dataSha256: 'x', trees: 40 });
  gbdt = { bytes: trees.onnx, metadata: trees.metadata };
});

describe('ModelService.explain', () => {
  it('explains the production logistic regression in closed form, with the probability predict answers', async () => {
    const reads: string[] = [];
    const service = serviceOf([{ record: record(1, logreg), bytes: logreg.bytes }], { reads });
    const body = { instances: [CREDIT_INSTANCE, { ...CREDIT_INSTANCE, Home: null, Income: null }] };
    const response = await service.explain('credit', body);
    const predicted = await service.predict('credit', body);
    expect(response).toMatchObject({
      model: 'credit',
      model_version: 1,
      variant: 'production',
      method: 'linear_exact',
      approximate: false,
      output_space: 'log_odds',
      background: { source: 'baseline_profile', rows: 50 },
    });
    expect(response.explanations.map((e) => e.probability)).toEqual(predicted.predictions.map((p) => p.probability));
    expect(response.explanations.map((e) => e.label)).toEqual(predicted.predictions.map((p) => p.label));
    expectAddsUp(response);
    const [first] = response.explanations;
    expect(Object.keys(first?.attributions ?? {})).toEqual(logreg.metadata.input_schema.features.map((f) => f.name));
    expect(first?.top_contributions).toHaveLength(3);
    const top = first?.top_contributions[0];
    expect(top?.value).toBe(CREDIT_INSTANCE[top?.feature as keyof typeof CREDIT_INSTANCE]);
    // The artifact is read once more for the explainer, then reused.
    await service.explain('credit', body);
    expect(reads).toEqual(['models/credit/1.onnx', 'models/credit/1.onnx']);
  });

  it('routes to the canary as predict does, and explains its trees exactly', async () => {
    const service = serviceOf(
      [
        { record: record(1, logreg), bytes: logreg.bytes },
        { record: record(2, gbdt), bytes: gbdt.bytes },
      ],
      { canary: 2 },
    );
    const response = await service.explain('credit', { instances: [CREDIT_INSTANCE] });
    expect(response).toMatchObject({ model_version: 2, variant: 'canary', method: 'tree_exact', approximate: false });
    expectAddsUp(response);
  });

  it('has its own batch limit and predict\'s validation', async () => {
    const service = serviceOf([{ record: record(1, logreg), bytes: logreg.bytes }]);
    expect(await apiErrorOf(service.explain('credit', { instances: Array.from({ length: 11 }, () => CREDIT_INSTANCE) }))).toMatchObject({
      status: 400,
      code: 'BATCH_TOO_LARGE',
    });
    expect(await apiErrorOf(service.explain('credit', { instances: [{ ...CREDIT_INSTANCE, Bogus: 1 }] }))).toMatchObject({ status: 400, code: 'UNKNOWN_FEATURE' });
  });

  it('refuses a version served by a SageMaker endpoint with 422 EXPLAIN_NOT_SUPPORTED', async () => {
    const remote = { createRemoteSession: (): ScoringSession => ({ score: async (_i, rows) => new Float32Array(rows).fill(0.5), release: async () => undefined }) };
    const target: ServingTarget = { kind: 'sagemaker', endpoint_name: 'credit-gpu' };
    const service = new ModelService({
      registry: {
        getModel: async () => ({ model: 'credit', description: '', production_version: 1, canary: null, shadow_version: null, previous_production_versions: [], latest_version: 1, revision: 1, created_at: '', updated_at: '' }),
        getVersion: async () => record(1, logreg, target),
        listModels: async () => [],
        listVersions: async () => [],
      },
      artifacts: { getArtifact: async () => logreg.bytes },
      engine,
      remoteEngine: remote,
      cacheTtlMs: 60_000,
      maxBatchSize: 1000,
    });
    expect(await apiErrorOf(service.explain('credit', { instances: [CREDIT_INSTANCE] }))).toMatchObject({
      status: 422,
      code: 'EXPLAIN_NOT_SUPPORTED',
      message: 'model "credit" version 1 is served by a SageMaker endpoint; explanations are computed from the ONNX graph in the API function',
      details: { reason: 'sagemaker_endpoint', model_version: 1 },
    });
  });

  it('samples a graph without an exact method (flagged approximate), or refuses it where configured', async () => {
    // A logistic regression whose Sigmoid output is squared: not linear before a Sigmoid, not trees.
    const model = onnxProto.onnx.ModelProto.decode(logreg.bytes);
    const graph = model.graph as onnxProto.onnx.GraphProto;
    const output = logreg.metadata.preprocessing.output_name;
    const last = graph.node[graph.node.length - 1] as onnxProto.onnx.NodeProto;
    last.output = ['sigmoid_out'];
    graph.node.push(onnxProto.onnx.NodeProto.create({ opType: 'Mul', input: ['sigmoid_out', 'sigmoid_out'], output: [output] }));
    const bytes = onnxProto.onnx.ModelProto.encode(model).finish();
    const squared = { bytes, metadata: logreg.metadata };

    const sampling = serviceOf([{ record: record(1, squared), bytes }]);
    const response = await sampling.explain('credit', { instances: [CREDIT_INSTANCE] });
    expect(response).toMatchObject({ method: 'sampling', approximate: true });
    const [explanation] = response.explanations;
    const sum = Object.values(explanation?.attributions ?? {}).reduce((a, b) => a + b, explanation?.base_value ?? 0);
    expect(Math.abs(sum - (explanation?.log_odds as number))).toBeLessThan(1e-6);

    const reads: string[] = [];
    const refusing = serviceOf([{ record: record(1, squared), bytes }], { approximation: 'refuse', reads });
    const refusal = await apiErrorOf(refusing.explain('credit', { instances: [CREDIT_INSTANCE] }));
    expect(refusal).toMatchObject({
      status: 422,
      code: 'EXPLAIN_NOT_SUPPORTED',
      message: 'model "credit" version 1 has no exact SHAP method and this deployment does not approximate',
      details: { reason: 'no_exact_method', graph: expect.stringContaining('Mul') },
    });
    expect(refusal.cause).toBeInstanceOf(ExplainNotSupportedError);
    expect((refusal.cause as Error).message).toMatch(/^the graph has no exact SHAP method \(.*Mul.*\) and sampling is off$/);
    // The refusal stays: the artifact is not read again (once to load, once for the explainer).
    expect(await apiErrorOf(refusing.explain('credit', { instances: [CREDIT_INSTANCE] }))).toMatchObject({ code: 'EXPLAIN_NOT_SUPPORTED' });
    expect(reads).toHaveLength(2);

    // A failure while scoring the samples is the model's 503, naming the version.
    const failingSamples: ScoringEngine = {
      createSession: async (sessionBytes, preprocessing) => {
        const real = await engine.createSession(sessionBytes, preprocessing);
        return {
          score: async (input, rows) => {
            if (rows > 1) throw new Error('out of memory');
            return real.score(input, rows);
          },
          release: async () => real.release(),
        };
      },
    };
    const failing = serviceOf([{ record: record(1, squared), bytes }], { engine: failingSamples });
    const error = await apiErrorOf(failing.explain('credit', { instances: [CREDIT_INSTANCE] }));
    expect(error).toMatchObject({
      status: 503,
      code: 'INFERENCE_FAILED',
      message: 'model "credit" version 1 failed to score the explanation\'s samples',
      details: { model: 'credit', model_version: 1, variant: 'production' },
    });
    expect((error.cause as Error).message).toBe('out of memory');
  });

  it('carries the range warnings under warn, and no warnings field when every value is in range', async () => {
    const service = serviceOf([{ record: record(1, logreg), bytes: logreg.bytes }], { rangePolicy: 'warn' });
    const inRange = await service.explain('credit', { instances: [CREDIT_INSTANCE] });
    expect(Object.keys(inRange)).not.toContain('warnings');
    const outOfRange = await service.explain('credit', { instances: [{ ...CREDIT_INSTANCE, Amount: 1e7 }] });
    expect(outOfRange.warnings).toMatchObject([{ instance: 0, feature: 'Amount', code: 'OUT_OF_RANGE', value: 1e7 }]);
    expect(outOfRange.explanations).toHaveLength(1);
  });

  it('answers 503 ARTIFACT_INVALID when the artifact loads in the runtime but cannot be read as ONNX for the explainer', async () => {
    const lenient: ScoringEngine = {
      createSession: async () => ({ score: async (_input, rows) => new Float32Array(rows).fill(0.5), release: async () => undefined }),
    };
    const bytes = new TextEncoder().encode('not an onnx graph');
    const service = serviceOf([{ record: record(1, { bytes, metadata: logreg.metadata }), bytes }], { engine: lenient });
    expect((await service.predict('credit', { instances: [CREDIT_INSTANCE] })).model_version).toBe(1);
    const error = await apiErrorOf(service.explain('credit', { instances: [CREDIT_INSTANCE] }));
    expect(error).toMatchObject({
      status: 503,
      code: 'ARTIFACT_INVALID',
      message: 'the artifact of model "credit" version 1 cannot be read as ONNX',
      details: { model: 'credit', model_version: 1, variant: 'production' },
    });
    // The reader's own complaint stays attached for the logs.
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('fails with the fault itself, not 422 EXPLAIN_NOT_SUPPORTED, when the version\'s encodings name a feature its schema lacks', async () => {
    // An inconsistent version: predict imputes the unknown encoding's column, the explainer cannot map it to a feature.
    const { preprocessing } = logreg.metadata;
    const [first] = preprocessing.encodings;
    const renamed = { ...logreg.metadata, preprocessing: { ...preprocessing, encodings: preprocessing.encodings.map((e) => (e === first ? { ...e, feature: 'Tenure' } : e)) } };
    const service = serviceOf([{ record: record(1, { bytes: logreg.bytes, metadata: renamed }), bytes: logreg.bytes }]);
    expect((await service.predict('credit', { instances: [CREDIT_INSTANCE] })).model_version).toBe(1);
    const error = await service.explain('credit', { instances: [CREDIT_INSTANCE] }).then(
      () => undefined,
      (thrown: unknown) => thrown,
    );
    expect(error).not.toBeInstanceOf(ApiError);
    expect((error as Error).message).toBe('encoding of "Tenure", which is not in the input schema');
  });

  it('answers 500 EXPLANATION_CHECK_FAILED, never the explanation, when the graph read disagrees with the session', async () => {
    const lying: ScoringEngine = {
      createSession: async () => ({ score: async (_input, rows) => new Float32Array(rows).fill(0.9), release: async () => undefined }),
    };
    const service = serviceOf([{ record: record(1, logreg), bytes: logreg.bytes }], { engine: lying });
    expect(await apiErrorOf(service.explain('credit', { instances: [CREDIT_INSTANCE] }))).toMatchObject({
      status: 500,
      code: 'EXPLANATION_CHECK_FAILED',
      details: { check: 'probability', instance: 0, model_version: 1 },
    });
  });

  it('answers 503 ARTIFACT_INTEGRITY_FAILED when the artifact changed since it was loaded, and retries on the next request', async () => {
    const entry = { record: record(1, logreg), bytes: logreg.bytes };
    const service = serviceOf([entry]);
    await service.predict('credit', { instances: [CREDIT_INSTANCE] });
    entry.bytes = gbdt.bytes;
    expect(await apiErrorOf(service.explain('credit', { instances: [CREDIT_INSTANCE] }))).toMatchObject({ status: 503, code: 'ARTIFACT_INTEGRITY_FAILED' });
    entry.bytes = logreg.bytes;
    expect((await service.explain('credit', { instances: [CREDIT_INSTANCE] })).method).toBe('linear_exact');
  });
});
