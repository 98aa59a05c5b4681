import { describe, expect, it } from 'vitest';
import { ApiError, TooManyRequestsError } from '#core/errors.ts';
import type { ModelMetadata, Preprocessing } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord, ServingTarget } from '#core/registry/records.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { RegistryReader, RemoteScoringEngine, ScoringEngine, ScoringSession } from '#core/serving/ports.ts';

/** ModelService with versions served by remote (SageMaker) endpoints: same contract, nothing downloaded. */

const preprocessing: Preprocessing = {
  preprocess_version: 1,
  input_name: 'features',
  output_name: 'probability',
  columns: 1,
  encodings: [{ feature: 'age', kind: 'numeric', impute: 40 }],
};

const metadata: ModelMetadata = {
  algorithm: 'logistic_regression',
  input_schema: { schema_version: 1, features: [{ name: 'age', type: 'numeric', nullable: false }] },
  preprocessing,
  output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
  metrics: {},
  baseline: {},
  lineage: { data_sha256: '0'.repeat(64), rows: 1, target: 't', seed: 1, parameters: {}, trainer: 'test', trainer_version: '1' },
};

function version(number: number, target?: ServingTarget): ModelVersionRecord {
  return {
    model: 'big',
    version: number,
    stage: 'production',
    artifact: { key: `models/big/${number}.onnx`, sha256: String(number).repeat(64).slice(0, 64), size_bytes: 1 },
    metadata,
    created_at: '2024-01-01T00:00:00.000Z',
    created_by: 'test',
    deleted_at: null,
    ...(target === undefined ? {} : { serving_target: target }),
  };
}

function registry(versions: ModelVersionRecord[], production: number, canary: { version: number; share: number } | null = null): RegistryReader {
  const model: ModelRecord = {
    model: 'big',
    description: '',
    production_version: production,
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

/** Remote sessions answering `probability` per row, recording the endpoints and inputs. */
class FakeRemote implements RemoteScoringEngine {
  readonly calls: { endpoint: string; input: number[] }[] = [];
  failWith: Error | undefined;
  createRemoteSession(endpointName: string, received: Preprocessing): ScoringSession {
    expect(received).toEqual(preprocessing);
    return {
      score: async (input, rows) => {
        this.calls.push({ endpoint: endpointName, input: Array.from(input) });
        if (this.failWith !== undefined) throw this.failWith;
        return Float32Array.from({ length: rows }, () => 0.75);
      },
      release: async () => undefined,
    };
  }
}

const noArtifacts = { getArtifact: async (key: string): Promise<Uint8Array> => { throw new Error(`must not read ${key}`); } };
const lambdaEngine: ScoringEngine = {
  createSession: async () => ({ score: async (_input, rows) => Float32Array.from({ length: rows }, () => 0.25), release: async () => undefined }),
};

function service(reader: RegistryReader, remote: RemoteScoringEngine | undefined, artifacts = noArtifacts): ModelService {
  return new ModelService({
    registry: reader,
    artifacts,
    engine: lambdaEngine,
    ...(remote === undefined ? {} : { remoteEngine: remote }),
    cacheTtlMs: 1000,
    maxBatchSize: 10,
    random: () => 0,
  });
}

describe('ModelService with SageMaker-served versions', () => {
  it('scores through the remote engine with the same response shape, without reading the artifact', async () => {
    const remote = new FakeRemote();
    const answer = await service(registry([version(1, { kind: 'sagemaker', endpoint_name: 'big-gpu' })], 1), remote).predict('big', {
      instances: [{ age: 30 }, { age: 50 }],
    });
    expect(answer).toEqual({
      model: 'big',
      model_version: 1,
      variant: 'production',
      predictions: [
        { label: 'bad', probability: 0.75 },
        { label: 'bad', probability: 0.75 },
      ],
    });
    expect(remote.calls).toEqual([{ endpoint: 'big-gpu', input: [30, 50] }]);
  });

  it('validates the request before calling the endpoint', async () => {
    const remote = new FakeRemote();
    const error = await service(registry([version(1, { kind: 'sagemaker', endpoint_name: 'big-gpu' })], 1), remote)
      .predict('big', { instances: [{ age: 'old' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(400);
    expect(remote.calls).toEqual([]);
  });

  it("keeps the endpoint's documented error (class, code, message), adding the version and variant that failed", async () => {
    const remote = new FakeRemote();
    remote.failWith = new TooManyRequestsError('ENDPOINT_THROTTLED', 'busy', { attempts: 3 });
    const error = await service(registry([version(1, { kind: 'sagemaker', endpoint_name: 'big-gpu' })], 1), remote)
      .predict('big', { instances: [{ age: 30 }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TooManyRequestsError);
    expect(error).toMatchObject({
      code: 'ENDPOINT_THROTTLED',
      message: 'busy',
      details: { attempts: 3, model: 'big', model_version: 1, variant: 'production' },
      cause: remote.failWith,
    });
  });

  it('answers 503 ENDPOINT_NOT_CONFIGURED when the deployment has no remote engine', async () => {
    const error = await service(registry([version(1, { kind: 'sagemaker', endpoint_name: 'big-gpu' })], 1), undefined)
      .predict('big', { instances: [{ age: 30 }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 503, code: 'ENDPOINT_NOT_CONFIGURED', details: { model: 'big', model_version: 1 } });
  });

  it('splits a canary between a Lambda-served production and a SageMaker-served canary', async () => {
    const remote = new FakeRemote();
    const bytes = new TextEncoder().encode('x');
    const { createHash } = await import('node:crypto');
    const lambdaVersion = { ...version(1), artifact: { key: 'models/big/1.onnx', sha256: createHash('sha256').update(bytes).digest('hex'), size_bytes: 1 } };
    const reader = registry([lambdaVersion, version(2, { kind: 'sagemaker', endpoint_name: 'big-gpu' })], 1, { version: 2, share: 0.5 });
    const models = service(reader, remote, { getArtifact: async () => bytes });
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const answer = await models.predict('big', { instances: [{ age: 30 }] }, { routingKey: `entity-${i}` });
      seen.set(answer.variant, answer.predictions[0]?.probability ?? Number.NaN);
    }
    // Production answers from the Lambda engine (0.25), the canary from the endpoint (0.75).
    expect(Object.fromEntries(seen)).toEqual({ production: 0.25, canary: 0.75 });
  });
});
