import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { ModelMetadata, Preprocessing } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { ModelService, type ModelServiceOptions } from '#core/serving/model-service.ts';
import type { ArtifactReader, RegistryReader, ScoringEngine, ScoringSession, ServingObserver, ShadowComparison } from '#core/serving/ports.ts';

/**
 * The fakes of ModelService's unit tests (model-service.test.ts, -request, -cache and -shadow): a registry, an object
 * store and an engine in memory, each able to fail the way its AWS or onnxruntime counterpart does, and an observer
 * that records what it is told.
 */

export const TTL_MS = 30_000;

const preprocessing: Preprocessing = {
  preprocess_version: 1,
  input_name: 'features',
  output_name: 'probability',
  columns: 3,
  encodings: [
    { feature: 'age', kind: 'numeric', impute: 40 },
    { feature: 'home', kind: 'one_hot', categories: ['owner', 'rent'], impute: 'owner' },
  ],
};

export const metadata: ModelMetadata = {
  algorithm: 'logistic_regression',
  input_schema: {
    schema_version: 1,
    features: [
      { name: 'age', type: 'numeric', nullable: true },
      { name: 'home', type: 'categorical', nullable: true, categories: ['owner', 'rent'] },
    ],
  },
  preprocessing,
  output: { positive_label: 'bad', negative_label: 'good', threshold: 0.5 },
  metrics: { roc_auc: 0.9 },
  baseline: {},
  lineage: { data_sha256: '0'.repeat(64), rows: 10, target: 'Status', seed: 1, parameters: {}, trainer: 'test', trainer_version: '1' },
};

export const ROW = { age: 30, home: 'rent' } as const;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function artifactBytes(version: number): Uint8Array {
  return new TextEncoder().encode(`onnx bytes of version ${version}`);
}

export function versionRecord(model: string, version: number): ModelVersionRecord {
  const bytes = artifactBytes(version);
  const sha256 = sha256Hex(bytes);
  return {
    model,
    version,
    stage: 'candidate',
    artifact: { key: `models/${model}/${sha256}.onnx`, sha256, size_bytes: bytes.byteLength },
    metadata,
    created_at: '2024-01-01T00:00:00.000Z',
    created_by: 'test',
    deleted_at: null,
  };
}

/** A registry held in maps; `failing` makes every read throw, as an outage would. */
export class FakeRegistry implements RegistryReader {
  readonly models = new Map<string, ModelRecord>();
  readonly versions = new Map<string, ModelVersionRecord>();
  failing = false;
  /** Versions (`model@version`) whose reads throw while the rest answer. */
  readonly failingVersions = new Set<string>();
  getModelCalls = 0;
  /** Every version read (`model@version`), in the order asked. */
  readonly versionReads: string[] = [];

  addModel(model: string, versions: number, production: number | null): void {
    for (let v = 1; v <= versions; v++) this.versions.set(`${model}@${v}`, versionRecord(model, v));
    this.models.set(model, {
      model,
      description: `the ${model} model`,
      production_version: production,
      canary: null,
      shadow_version: null,
      previous_production_versions: [],
      latest_version: versions,
      revision: 1,
      created_at: '2024-01-01T00:00:00.000Z',
      updated_at: '2024-01-02T00:00:00.000Z',
    });
  }

  private update(model: string, change: Partial<ModelRecord>): void {
    const record = this.models.get(model);
    if (record === undefined) throw new Error(`no model ${model}`);
    this.models.set(model, { ...record, ...change, revision: record.revision + 1 });
  }

  setProduction(model: string, production: number | null): void {
    this.update(model, { production_version: production });
  }

  /** Promotes `production` over the earlier ones, as the registry's history records them (oldest first). */
  promoteOver(model: string, production: number, previous: readonly number[]): void {
    this.update(model, { production_version: production, previous_production_versions: previous });
  }

  setCanary(model: string, canary: ModelRecord['canary']): void {
    this.update(model, { canary });
  }

  setShadow(model: string, shadow: number | null): void {
    this.update(model, { shadow_version: shadow });
  }

  softDelete(model: string, version: number): void {
    const record = this.versions.get(`${model}@${version}`);
    if (record === undefined) throw new Error(`no version ${model}@${version}`);
    this.versions.set(`${model}@${version}`, { ...record, deleted_at: '2024-02-01T00:00:00.000Z' });
  }

  async getModel(model: string): Promise<ModelRecord | undefined> {
    this.getModelCalls++;
    if (this.failing) throw new Error('registry is down');
    return this.models.get(model);
  }

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    this.versionReads.push(`${model}@${version}`);
    if (this.failing || this.failingVersions.has(`${model}@${version}`)) throw new Error('registry is down');
    return this.versions.get(`${model}@${version}`);
  }

  async listModels(): Promise<ModelRecord[]> {
    if (this.failing) throw new Error('registry is down');
    return [...this.models.values()];
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    if (this.failing) throw new Error('registry is down');
    return [...this.versions.values()].filter((v) => v.model === model).sort((a, b) => a.version - b.version);
  }
}

/** Artifact bytes by key; `override` replaces what a key returns, `failing` makes reads throw. */
export class FakeArtifacts implements ArtifactReader {
  readonly reads: string[] = [];
  readonly override = new Map<string, Uint8Array>();
  /** Keys whose reads throw while the rest answer. */
  readonly failingKeys = new Set<string>();
  failing = false;

  constructor(private readonly registry: FakeRegistry) {}

  async getArtifact(key: string): Promise<Uint8Array> {
    this.reads.push(key);
    // Yield so concurrent callers really overlap with the load.
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (this.failing || this.failingKeys.has(key)) throw new Error('no such key');
    const replaced = this.override.get(key);
    if (replaced !== undefined) return replaced;
    for (const record of this.registry.versions.values()) {
      if (record.artifact.key === key) return artifactBytes(record.version);
    }
    throw new Error(`no such key ${key}`);
  }
}

/**
 * Sessions that answer fixed probabilities (per version where `byVersion` says), cycled over the rows. A released
 * session refuses to score, as an onnxruntime session does once released.
 */
export class FakeEngine implements ScoringEngine {
  createSessionCalls = 0;
  released = 0;
  failCreate = false;
  /** Versions whose bytes do not load (as a graph onnxruntime refuses). */
  readonly failCreateFor = new Set<number>();
  failScore = false;
  /** What scoring throws instead, as a remote endpoint's documented error would. */
  scoreError: Error | undefined;
  /** Versions whose sessions fail to score. */
  readonly failScoreFor = new Set<number>();
  probabilities: readonly number[] = [0.2, 0.5, 0.9];
  readonly byVersion = new Map<number, readonly number[]>();
  /** Versions whose sessions answer this many probabilities whatever the rows asked (a broken graph or endpoint). */
  readonly answeredRows = new Map<number, number>();
  readonly sessionsFor: string[] = [];

  async createSession(bytes: Uint8Array, received: Preprocessing): Promise<ScoringSession> {
    this.createSessionCalls++;
    if (this.failCreate) throw new Error('protobuf parsing failed');
    expect(received).toEqual(preprocessing);
    const text = new TextDecoder().decode(bytes);
    this.sessionsFor.push(text);
    const version = Number(/version (\d+)$/.exec(text)?.[1]);
    if (this.failCreateFor.has(version)) throw new Error('protobuf parsing failed');
    let released = false;
    return {
      score: async (input: Float32Array, rows: number): Promise<Float32Array> => {
        if (released) throw new Error(`the session of version ${version} was released`);
        if (this.scoreError !== undefined) throw this.scoreError;
        if (this.failScore || this.failScoreFor.has(version)) throw new Error('kernel failure');
        expect(input.length).toBe(rows * preprocessing.columns);
        const probabilities = this.byVersion.get(version) ?? this.probabilities;
        return Float32Array.from({ length: this.answeredRows.get(version) ?? rows }, (_, i) => probabilities[i % probabilities.length] ?? 0);
      },
      release: async (): Promise<void> => {
        released = true;
        this.released++;
      },
    };
  }
}

export class RecordingObserver implements ServingObserver {
  readonly loaded: { model: string; version: number }[] = [];
  readonly failed: { model: string; version: number; reason: string; cause: unknown }[] = [];

  modelLoaded(event: { model: string; version: number }): void {
    this.loaded.push({ model: event.model, version: event.version });
  }

  modelLoadFailed(event: { model: string; version: number; reason: string; cause: unknown }): void {
    this.failed.push(event);
  }

  readonly fallbacks: { model: string; canary_version: number; production_version: number; reason: string }[] = [];
  readonly productionFallbacks: { model: string; production_version: number; serving_version: number; reason: string }[] = [];
  readonly stale: { model: string; production_version: number; age_ms: number }[] = [];

  productionFallback(event: { model: string; production_version: number; serving_version: number; reason: string }): void {
    this.productionFallbacks.push({ model: event.model, production_version: event.production_version, serving_version: event.serving_version, reason: event.reason });
  }

  staleServingConfig(event: { model: string; production_version: number; age_ms: number }): void {
    this.stale.push({ model: event.model, production_version: event.production_version, age_ms: event.age_ms });
  }
  readonly shadows: ShadowComparison[] = [];
  readonly shadowFailures: { model: string; production_version: number; shadow_version: number; reason: string }[] = [];
  /** The `cause` of each canary fallback and shadow failure, in order. */
  readonly fallbackCauses: unknown[] = [];
  readonly shadowFailureCauses: unknown[] = [];

  canaryFallback(event: { model: string; canary_version: number; production_version: number; reason: string; cause: unknown }): void {
    this.fallbackCauses.push(event.cause);
    this.fallbacks.push({ model: event.model, canary_version: event.canary_version, production_version: event.production_version, reason: event.reason });
  }

  shadowScored(event: ShadowComparison): void {
    this.shadows.push(event);
  }

  shadowFailed(event: { model: string; production_version: number; shadow_version: number; reason: string; cause: unknown }): void {
    this.shadowFailureCauses.push(event.cause);
    this.shadowFailures.push({
      model: event.model,
      production_version: event.production_version,
      shadow_version: event.shadow_version,
      reason: event.reason,
    });
  }
}

/** The credit model (versions 1 and 2, production 1) served with the fakes, a clock at 1 000 000 ms and `options` on top. */
export function setup(options: Partial<ModelServiceOptions> = {}) {
  const registry = new FakeRegistry();
  registry.addModel('credit', 2, 1);
  const artifacts = new FakeArtifacts(registry);
  const engine = new FakeEngine();
  const observer = new RecordingObserver();
  const clock = { now: 1_000_000 };
  const service = new ModelService({
    registry,
    artifacts,
    engine,
    observer,
    cacheTtlMs: TTL_MS,
    maxBatchSize: 10,
    now: () => clock.now,
    ...options,
  });
  return { registry, artifacts, engine, observer, clock, service };
}

export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject');
}
