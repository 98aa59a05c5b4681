import { createHash } from 'node:crypto';
import { ModelUnavailableError, NotFoundError } from '#core/api/errors.ts';
import { compileSchema, validatePredictRequest, type CompiledSchema } from '#core/api/predict-request.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { InputSchema, BinaryOutput } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import type { ArtifactReader, RegistryReader, ScoringEngine, ScoringSession, ServingObserver } from './ports.ts';

/** One prediction: the label the threshold gives and the positive-class probability. */
export interface Prediction {
  readonly label: string;
  readonly probability: number;
}

export interface PredictResponse {
  readonly model: string;
  readonly model_version: number;
  readonly predictions: Prediction[];
}

export interface ModelSummary {
  readonly model: string;
  readonly description: string;
  readonly production_version: number | null;
  readonly latest_version: number;
  readonly updated_at: string;
}

export interface ModelDescription extends ModelSummary {
  readonly algorithm: string;
  readonly input_schema: InputSchema;
  readonly output: BinaryOutput;
  readonly metrics: Readonly<Record<string, number>>;
  readonly artifact_sha256: string;
  readonly created_at: string;
}

export interface ModelServiceOptions {
  readonly registry: RegistryReader;
  readonly artifacts: ArtifactReader;
  readonly engine: ScoringEngine;
  readonly observer?: ServingObserver;
  /** How long a resolved production version is trusted before the registry is read again. */
  readonly cacheTtlMs: number;
  readonly maxBatchSize: number;
  /** Loaded versions kept per container; older ones are released. @default 4 */
  readonly maxLoadedVersions?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/** A version loaded into memory: its record, its compiled schema and its session. */
interface LoadedVersion {
  readonly record: ModelVersionRecord;
  readonly schema: CompiledSchema;
  readonly session: ScoringSession;
}

interface Resolved {
  readonly model: ModelRecord;
  readonly version: ModelVersionRecord;
}

interface Resolution {
  readonly expiresAt: number;
  readonly result: Promise<Resolved>;
  /** Set once `result` has settled successfully, so warm requests need not await it. */
  value?: Resolved;
}

const silentObserver: ServingObserver = { modelLoaded: () => undefined, modelLoadFailed: () => undefined };

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Serves models: resolves a model's production version from the registry (cached for a
 * short TTL so promotions need no deploy), loads each version's artifact once per
 * container after checking its sha256, and scores validated batches in one session run.
 */
export class ModelService {
  private readonly resolutions = new Map<string, Resolution>();
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();
  /** The loads that have finished, for a warm path without promise hops. */
  private readonly ready = new Map<string, LoadedVersion>();
  private readonly observer: ServingObserver;
  private readonly now: () => number;
  private readonly maxLoadedVersions: number;

  constructor(private readonly options: ModelServiceOptions) {
    this.observer = options.observer ?? silentObserver;
    this.now = options.now ?? Date.now;
    this.maxLoadedVersions = options.maxLoadedVersions ?? 4;
  }

  async listModels(): Promise<ModelSummary[]> {
    const models = await registryCall('the model list', () => this.options.registry.listModels());
    return models.map(summarise).sort((a, b) => a.model.localeCompare(b.model));
  }

  async describeModel(name: string): Promise<ModelDescription> {
    const { model, version } = await this.resolveProduction(name);
    const { metadata } = version;
    return {
      ...summarise(model),
      algorithm: metadata.algorithm,
      input_schema: metadata.input_schema,
      output: metadata.output,
      metrics: metadata.metrics,
      artifact_sha256: version.artifact.sha256,
      created_at: version.created_at,
    };
  }

  /** Validates `body` against the production version's schema and scores it in one batch. */
  async predict(name: string, body: unknown): Promise<PredictResponse> {
    // Warm requests take the cached values directly; only misses wait on the registry or a load.
    const version = this.freshResolution(name)?.version ?? (await this.resolveProduction(name)).version;
    const loaded = this.ready.get(loadKey(version)) ?? (await this.load(version));
    const rows = validatePredictRequest(loaded.schema, body, this.options.maxBatchSize);
    const { preprocessing, output } = version.metadata;
    const input = encodeRows(preprocessing, rows);
    let probabilities: Float32Array;
    try {
      probabilities = await loaded.session.score(input, rows.length);
    } catch (cause) {
      throw new ModelUnavailableError('INFERENCE_FAILED', `model "${name}" version ${version.version} failed to score`, {
        model: name,
        model_version: version.version,
      }, { cause });
    }
    const predictions = new Array<Prediction>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const probability = probabilities[i] ?? Number.NaN;
      predictions[i] = {
        label: probability >= output.threshold ? output.positive_label : output.negative_label,
        probability,
      };
    }
    return { model: name, model_version: version.version, predictions };
  }

  private freshResolution(name: string): Resolved | undefined {
    const cached = this.resolutions.get(name);
    return cached !== undefined && cached.expiresAt > this.now() ? cached.value : undefined;
  }

  /** The production version of a model, from the TTL cache or the registry. */
  private resolveProduction(name: string): Promise<Resolved> {
    const cached = this.resolutions.get(name);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.result;
    const result = this.readProduction(name);
    const resolution: Resolution = { expiresAt: this.now() + this.options.cacheTtlMs, result };
    this.resolutions.set(name, resolution);
    result.then((value) => {
      resolution.value = value;
    }, () => undefined);
    // A registry outage must not be cached: the next request tries again.
    result.catch((error: unknown) => {
      if (!(error instanceof NotFoundError) && this.resolutions.get(name)?.result === result) {
        this.resolutions.delete(name);
      }
    });
    return result;
  }

  private async readProduction(name: string): Promise<Resolved> {
    const model = await registryCall(`model "${name}"`, () => this.options.registry.getModel(name));
    if (model === undefined) {
      throw new NotFoundError('MODEL_NOT_FOUND', `model "${name}" does not exist`, { model: name });
    }
    if (model.production_version === null) {
      throw new NotFoundError('NO_PRODUCTION_VERSION', `model "${name}" has no production version yet`, { model: name });
    }
    const productionVersion = model.production_version;
    const version = await registryCall(`model "${name}" version ${productionVersion}`, () =>
      this.options.registry.getVersion(name, productionVersion),
    );
    if (version === undefined) {
      throw new ModelUnavailableError(
        'VERSION_RECORD_MISSING',
        `model "${name}" points at version ${model.production_version}, which the registry does not hold`,
        { model: name, model_version: model.production_version },
      );
    }
    return { model, version };
  }

  /** Loads a version once per container; concurrent callers share one load. */
  private load(record: ModelVersionRecord): Promise<LoadedVersion> {
    const key = loadKey(record);
    const existing = this.loaded.get(key);
    if (existing !== undefined) return existing;
    const loading = this.loadVersion(record);
    this.loaded.set(key, loading);
    loading.then(
      (loaded) => {
        this.ready.set(key, loaded);
        this.evictBeyondLimit();
      },
      () => this.loaded.delete(key), // a failed load is retried by the next request
    );
    return loading;
  }

  private async loadVersion(record: ModelVersionRecord): Promise<LoadedVersion> {
    const { model, version, artifact, metadata } = record;
    const details = { model, model_version: version };
    const fail = (code: string, message: string, cause: unknown): never => {
      this.observer.modelLoadFailed({ model, version, reason: code, cause });
      throw new ModelUnavailableError(code, message, details, { cause });
    };

    const fetchStarted = this.now();
    let bytes: Uint8Array | undefined;
    try {
      bytes = await this.options.artifacts.getArtifact(artifact.key);
    } catch (cause) {
      fail('ARTIFACT_UNAVAILABLE', `the artifact of model "${model}" version ${version} cannot be read`, cause);
    }
    if (bytes === undefined) return fail('ARTIFACT_UNAVAILABLE', 'artifact read returned nothing', undefined);
    const actual = sha256Hex(bytes);
    if (actual !== artifact.sha256) {
      fail(
        'ARTIFACT_INTEGRITY_FAILED',
        `the artifact of model "${model}" version ${version} does not match its recorded sha256`,
        new Error(`expected sha256 ${artifact.sha256}, got ${actual}`),
      );
    }
    const sessionStarted = this.now();
    let session: ScoringSession | undefined;
    try {
      session = await this.options.engine.createSession(bytes, metadata.preprocessing);
    } catch (cause) {
      fail('ARTIFACT_INVALID', `the artifact of model "${model}" version ${version} cannot be loaded`, cause);
    }
    if (session === undefined) return fail('ARTIFACT_INVALID', 'session creation returned nothing', undefined);
    this.observer.modelLoaded({
      model,
      version,
      bytes: bytes.byteLength,
      fetchMs: sessionStarted - fetchStarted,
      sessionMs: this.now() - sessionStarted,
    });
    return { record, schema: compileSchema(metadata.input_schema), session };
  }

  private evictBeyondLimit(): void {
    while (this.loaded.size > this.maxLoadedVersions) {
      const oldest = this.loaded.keys().next();
      if (oldest.done === true) return;
      const evicted = this.loaded.get(oldest.value);
      this.loaded.delete(oldest.value);
      this.ready.delete(oldest.value);
      void evicted?.then((version) => version.session.release()).catch(() => undefined);
    }
  }
}

/** A registry that cannot be read is an outage (503), never a client's fault or a crash. */
async function registryCall<T>(what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (cause) {
    throw new ModelUnavailableError('REGISTRY_UNAVAILABLE', `the registry could not be read for ${what}; retry later`, {}, { cause });
  }
}

function loadKey(record: ModelVersionRecord): string {
  return `${record.model}@${record.version}#${record.artifact.sha256}`;
}

function summarise(model: ModelRecord): ModelSummary {
  return {
    model: model.model,
    description: model.description,
    production_version: model.production_version,
    latest_version: model.latest_version,
    updated_at: model.updated_at,
  };
}
