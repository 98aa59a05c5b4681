import { createHash } from 'node:crypto';
import { ApiError, ModelUnavailableError, NotFoundError, RequestValidationError, UnprocessableError } from '#core/errors.ts';
// The explain code is imported when a version's explainer is first built or an explanation answered, not at module
// load: predict never needs it, and a cold start skips its evaluation (docs/benchmarks.md).
import type { ExplanationBatch } from '#core/explain/answer.ts';
import type { Explainer } from '#core/explain/explainer.ts';
import { DEFAULT_EXPLAIN_SETTINGS, type ExplainSettings } from '#core/explain/settings.ts';
import { compileSchema, validateInstance, validatePredictRequest, type CompiledSchema } from '#core/api/predict-request.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { InputSchema, BinaryOutput, FeatureRow } from '#core/model/metadata.ts';
import { MODEL_NAME_PATTERN, servingTargetOf, type ModelRecord, type ModelVersionRecord, type Stage } from '#core/registry/records.ts';
import { compileOodScorer, oodScore, type OodScorer } from './ood.ts';
import { MAX_RANGE_WARNINGS, compileFeatureBounds, findOutOfRange, rejectOutOfRange, type FeatureBounds, type OutOfRangePolicy, type OutOfRangeWarning } from './range-check.ts';
import type { ArtifactReader, RegistryReader, RemoteScoringEngine, ScoringEngine, ScoringSession, ServingObserver } from './ports.ts';
import { chooseVariant, type Variant } from './traffic.ts';

/** One prediction: the label the threshold gives and the positive-class probability. */
export interface Prediction {
  readonly label: string;
  readonly probability: number;
  /** The instance's out-of-distribution score (ood.ts), when the deployment's `predict.outOfDistribution` is `warn` or `reject`. */
  readonly ood_score?: number;
}

/** One out-of-distribution instance, as a `warn` answer lists it. */
export interface OodWarning {
  /** Index of the instance in the request's `instances`. */
  readonly instance: number;
  /** Its most unusual feature. */
  readonly feature: string | null;
  readonly code: 'OUT_OF_DISTRIBUTION';
  readonly ood_score: number;
  readonly p_value: number;
}

function round6(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

/** The label a probability gets: the version's threshold decides (predict and batch scoring share this rule). */
export function labelFor(output: BinaryOutput, probability: number): string {
  return probability >= output.threshold ? output.positive_label : output.negative_label;
}

/** One row of a batch: scored like a predict instance, or refused with the code predict would answer. */
export type RowScore =
  | { readonly ok: true; readonly probability: number; readonly label: string }
  | { readonly ok: false; readonly code: string; readonly message: string; readonly field?: string };

/** The rows of one batch scored by one version, in input order. */
export interface BatchScores {
  readonly model: string;
  readonly model_version: number;
  readonly artifact_sha256: string;
  readonly results: RowScore[];
}

/** The version a batch job scores with, fixed when the job starts so that every batch uses the same one. */
export interface ResolvedVersion {
  readonly model: string;
  readonly model_version: number;
  readonly artifact_sha256: string;
  readonly serving_target: ReturnType<typeof servingTargetOf>;
  /** Its input features by name and type (how a batch job reads CSV text). */
  readonly features: readonly { readonly name: string; readonly type: 'numeric' | 'categorical' }[];
}

export interface PredictResponse {
  readonly model: string;
  /** The version that answered: production's, or the canary's for the requests routed to it. */
  readonly model_version: number;
  readonly variant: Variant;
  readonly predictions: Prediction[];
  /**
   * Values outside the answering version's tolerated training range (policy `warn`), at most
   * `MAX_RANGE_WARNINGS`, then out-of-distribution instances (`predict.outOfDistribution` `warn`); absent when there
   * are none, so ordinary answers are unchanged.
   */
  readonly warnings?: (OutOfRangeWarning | OodWarning)[];
}

/** The answer of `POST /v1/models/{model}/explain` (see answer.ts for the per-instance fields). */
export interface ExplainResponse extends ExplanationBatch {
  readonly model: string;
  readonly model_version: number;
  readonly variant: Variant;
  readonly warnings?: OutOfRangeWarning[];
}

export interface PredictOptions {
  /**
   * Makes the canary split deterministic: requests with the same key always reach the same
   * version (while the canary share is unchanged). Without one, each request draws at random.
   */
  readonly routingKey?: string;
}

/** The serving roles a version holds in its model's config. */
export type ServingRole = 'production' | 'canary' | 'shadow';

/** One version of a model as `GET /v1/models/{model}/versions` lists it. */
export interface VersionSummary {
  readonly version: number;
  readonly stage: Stage;
  readonly roles: ServingRole[];
  readonly created_at: string;
  readonly created_by: string;
  readonly artifact_sha256: string;
  readonly artifact_size_bytes: number;
  readonly algorithm: string;
  readonly schema_version: number;
  readonly preprocess_version: number;
  readonly metrics: Readonly<Record<string, number>>;
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
  /**
   * Scores the versions whose serving target is a SageMaker endpoint.
   * @default - none: such versions answer 503 `ENDPOINT_NOT_CONFIGURED`
   */
  readonly remoteEngine?: RemoteScoringEngine;
  readonly observer?: ServingObserver;
  /** How long a resolved serving config (production, canary, shadow) is trusted before the registry is read again. */
  readonly cacheTtlMs: number;
  /**
   * How long after its last successful read a model's serving config keeps serving while the registry cannot be read
   * (reported through `staleServingConfig`); past it, requests answer 503 `REGISTRY_UNAVAILABLE`.
   * @default 0 (an unreadable registry answers 503 as soon as the TTL has passed)
   */
  readonly staleServingMs?: number;
  readonly maxBatchSize: number;
  /** Loaded versions kept per container; older ones are released. @default 4 */
  readonly maxLoadedVersions?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Draws the canary split of requests without a routing key. @default Math.random */
  readonly random?: () => number;
  /**
   * What happens to numeric values outside the answering version's training range (see range-check.ts), and the
   * tolerance: the share of the training range (max − min) allowed beyond each end.
   * @default - no range check (the deployment config's default is `warn` with tolerance 0.1)
   */
  readonly outOfRange?: { readonly policy: OutOfRangePolicy; readonly tolerance: number };
  /**
   * The per-instance out-of-distribution score (ood.ts): `warn` and `reject` add `ood_score` to each prediction; `warn`
   * adds a warning for each instance whose p-value is below `pValue`, `reject` refuses such a batch with 400
   * `OUT_OF_DISTRIBUTION`.
   * @default - no score (the deployment config's default is `off`)
   */
  readonly outOfDistribution?: { readonly policy: OutOfRangePolicy; readonly pValue: number };
  /** The explain route's batch limit, background and approximation. @default DEFAULT_EXPLAIN_SETTINGS */
  readonly explain?: ExplainSettings;
}

/** A version loaded into memory: its record, its compiled schema and its session. */
interface LoadedVersion {
  readonly record: ModelVersionRecord;
  readonly schema: CompiledSchema;
  readonly session: ScoringSession;
  /** The tolerated ranges of its numeric features; empty when the range check is off. */
  readonly bounds: readonly FeatureBounds[];
  /** Its out-of-distribution scorer; undefined when the score is off. */
  readonly ood?: OodScorer;
}

/** A model's serving config with the records of the versions it names. */
interface Resolved {
  readonly model: ModelRecord;
  readonly production: ModelVersionRecord;
  /** Absent when there is no canary or its record is missing or soft-deleted. */
  readonly canary: ModelVersionRecord | undefined;
  readonly shadow: ModelVersionRecord | undefined;
}

interface Resolution {
  readonly expiresAt: number;
  readonly result: Promise<Resolved>;
  /** Set once `result` has settled successfully, so warm requests need not await it. */
  value?: Resolved;
  /** The last config read from the registry and when: carried across refreshes, served while the registry is down. */
  lastRead?: { readonly value: Resolved; readonly at: number };
}

/** The load failures that mean the artifact itself is bad (not an outage): production falls back to an earlier version. */
const FALLBACK_REASONS: ReadonlySet<string> = new Set(['ARTIFACT_INTEGRITY_FAILED', 'ARTIFACT_INVALID']);
/** Earlier production versions tried, most recent first, when production's artifact is bad. */
const MAX_FALLBACK_CANDIDATES = 3;

const silentObserver: ServingObserver = {
  modelLoaded: () => undefined,
  modelLoadFailed: () => undefined,
  canaryFallback: () => undefined,
  shadowScored: () => undefined,
  shadowFailed: () => undefined,
};

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Serves models: resolves a model's serving config from the registry (cached for a short
 * TTL so promotions need no deploy), splits requests between production and a canary,
 * scores production's requests with a shadow version on the side, loads each version's
 * artifact once per container after checking its sha256, and scores validated batches in
 * one session run. A loaded version keeps serving from memory even if its object changes.
 */
export class ModelService {
  private readonly resolutions = new Map<string, Resolution>();
  private readonly loaded = new Map<string, Promise<LoadedVersion>>();
  /** Explainers by load key, built on a version's first explain request. */
  private readonly explainers = new Map<string, Promise<Explainer>>();
  private readonly explainSettings: ExplainSettings;
  /** The loads that have finished, for a warm path without promise hops. */
  private readonly ready = new Map<string, LoadedVersion>();
  /** Version records read for batch jobs, by `model@version`. */
  private readonly records = new Map<string, ModelVersionRecord>();
  private readonly observer: ServingObserver;
  private readonly now: () => number;
  private readonly maxLoadedVersions: number;
  private readonly random: () => number;
  private readonly rangePolicy: OutOfRangePolicy;
  private readonly staleServingMs: number;
  /** Production's load (or its fallback) per resolved config: a bad artifact is tried again once per resolution. */
  private readonly productionLoads = new WeakMap<Resolved, Promise<LoadedVersion>>();
  /** The load key of the earlier version answering for each model whose production artifact is bad (spared by eviction). */
  private readonly fallbacks = new Map<string, string>();

  constructor(private readonly options: ModelServiceOptions) {
    this.observer = options.observer ?? silentObserver;
    this.now = options.now ?? Date.now;
    this.maxLoadedVersions = options.maxLoadedVersions ?? 4;
    this.random = options.random ?? Math.random;
    this.rangePolicy = options.outOfRange?.policy ?? 'off';
    this.explainSettings = options.explain ?? DEFAULT_EXPLAIN_SETTINGS;
    this.staleServingMs = options.staleServingMs ?? 0;
  }

  async listModels(): Promise<ModelSummary[]> {
    const models = await registryCall('the model list', () => this.options.registry.listModels());
    return models.map(summarise).sort((a, b) => a.model.localeCompare(b.model));
  }

  /** The versions of a model, newest first, without the soft-deleted ones. */
  async listVersions(name: string): Promise<VersionSummary[]> {
    checkModelName(name);
    const [model, versions] = await Promise.all([
      registryCall(`model "${name}"`, () => this.options.registry.getModel(name)),
      registryCall(`the versions of model "${name}"`, () => this.options.registry.listVersions(name)),
    ]);
    if (model === undefined) {
      throw new NotFoundError('MODEL_NOT_FOUND', `model "${name}" does not exist`, { model: name });
    }
    return versions
      .filter((version) => version.deleted_at === null)
      .sort((a, b) => b.version - a.version)
      .map((version) => summariseVersion(model, version));
  }

  async describeModel(name: string): Promise<ModelDescription> {
    const { model, production: version } = await this.resolve(name);
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

  /**
   * Validates `body` against the schema of the version that answers (production, or the
   * canary for its share of requests) and scores it in one batch. When the model has a
   * shadow version, production's requests are also scored by it; its answers are compared
   * and reported, never returned, and its failures never fail the request.
   */
  async predict(name: string, body: unknown, options: PredictOptions = {}): Promise<PredictResponse> {
    const resolved = this.freshResolution(name) ?? (await this.resolve(name));
    const { production } = resolved;
    const { variant, version, loaded } = await this.route(resolved, options);
    const rows = validatePredictRequest(loaded.schema, body, this.options.maxBatchSize);
    const rangeWarnings = this.checkRange(loaded, rows, version, variant);
    const ood = this.checkOod(loaded, rows);
    const warnings = ood === undefined || ood.warnings.length === 0 ? rangeWarnings : [...(rangeWarnings ?? []), ...ood.warnings];
    const input = encodeRows(version.metadata.preprocessing, rows);

    const shadow = variant === 'production' ? resolved.shadow : undefined;
    let probabilities: Float32Array;
    if (shadow === undefined) {
      probabilities = await this.score(loaded, version, input, rows.length, variant);
    } else {
      const [primary, shadowed] = await Promise.allSettled([
        this.score(loaded, version, input, rows.length, variant),
        this.scoreShadow(shadow, production, body, rows.length),
      ]);
      if (primary.status === 'rejected') throw primary.reason;
      probabilities = primary.value;
      if (shadowed.status === 'fulfilled' && shadowed.value !== undefined) {
        this.compareShadow(production, shadow, probabilities, shadowed.value);
      }
    }

    const { output } = version.metadata;
    const predictions = new Array<Prediction>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const probability = probabilities[i] ?? Number.NaN;
      if (!Number.isFinite(probability)) throw nonFinitePrediction(version, variant, i, probability);
      const score = ood?.scores[i];
      predictions[i] = score === undefined ? { label: labelFor(output, probability), probability } : { label: labelFor(output, probability), probability, ood_score: score };
    }
    const response: PredictResponse = { model: name, model_version: version.version, variant, predictions };
    return warnings === undefined ? response : { ...response, warnings };
  }

  /**
   * Explains the instances of `body` with SHAP values of their features, routed, validated and range-checked as
   * predict does them, with the explain batch limit. Versions served by a SageMaker endpoint, and graphs without an
   * exact method when sampling is off, answer 422 `EXPLAIN_NOT_SUPPORTED`.
   */
  async explain(name: string, body: unknown, options: PredictOptions = {}): Promise<ExplainResponse> {
    const resolved = this.freshResolution(name) ?? (await this.resolve(name));
    const { variant, version, loaded } = await this.route(resolved, options);
    const rows = validatePredictRequest(loaded.schema, body, this.explainSettings.maxBatchSize);
    const warnings = this.checkRange(loaded, rows, version, variant);
    const details = { model: name, model_version: version.version, variant };
    if (servingTargetOf(version).kind === 'sagemaker') {
      throw new UnprocessableError(
        'EXPLAIN_NOT_SUPPORTED',
        `model "${name}" version ${version.version} is served by a SageMaker endpoint; explanations are computed from the ONNX graph in the API function`,
        { ...details, reason: 'sagemaker_endpoint' },
      );
    }
    const explainer = await this.explainerFor(version, details);
    const input = encodeRows(version.metadata.preprocessing, rows);
    const probabilities = await this.score(loaded, version, input, rows.length, variant);
    let explanations;
    try {
      explanations = await explainer.explain(input, rows.length, (hybrid, count) => loaded.session.score(hybrid, count));
    } catch (cause) {
      throw new ModelUnavailableError('INFERENCE_FAILED', `model "${name}" version ${version.version} failed to score the explanation's samples`, details, { cause });
    }
    const { answerExplanations } = await import('#core/explain/answer.ts');
    const batch = answerExplanations(explainer, explanations, rows, probabilities, version.metadata.output, this.explainSettings.topContributions, details);
    const response: ExplainResponse = { model: name, model_version: version.version, variant, ...batch };
    return warnings === undefined ? response : { ...response, warnings };
  }

  /** The version that answers: production, or the canary for its share of requests (production when it cannot load). */
  private async route(resolved: Resolved, options: PredictOptions): Promise<{ variant: Variant; version: ModelVersionRecord; loaded: LoadedVersion }> {
    const { production } = resolved;
    if (resolved.canary !== undefined && chooseVariant(resolved.model, options.routingKey, this.random).variant === 'canary') {
      const canary = await this.loadCanary(resolved.canary, production);
      if (canary !== undefined) return { variant: 'canary', version: resolved.canary, loaded: canary };
    }
    // Warm requests take the loaded version directly; only misses wait on a load (or find production's fallback).
    const loaded = this.ready.get(loadKey(production)) ?? (await this.loadProduction(resolved));
    if (this.ready.get(loadKey(loaded.record)) === loaded) return { variant: 'production', version: loaded.record, loaded };
    // Released by eviction since this config loaded it (a config served stale outlives its TTL, and eviction spares only
    // fresh ones): load it again rather than score with a released session.
    this.productionLoads.delete(resolved);
    const reloaded = await this.loadProduction(resolved);
    return { variant: 'production', version: reloaded.record, loaded: reloaded };
  }

  /**
   * Production's loaded version, or, when its artifact fails its sha256 check or does not load, the most recent earlier
   * production version that does (reported through `productionFallback`). The outcome holds for the resolved config:
   * the bad artifact is tried again when the config is next read from the registry.
   */
  private loadProduction(resolved: Resolved): Promise<LoadedVersion> {
    const existing = this.productionLoads.get(resolved);
    if (existing !== undefined) return existing;
    const name = resolved.model.model;
    const loading = this.load(resolved.production).then(
      (loaded) => {
        this.fallbacks.delete(name);
        return loaded;
      },
      (error: unknown) => this.fallBack(resolved, error),
    );
    this.productionLoads.set(resolved, loading);
    // Nothing could serve: the next request tries again.
    loading.catch(() => this.productionLoads.delete(resolved));
    return loading;
  }

  /** The earlier production version that answers for a bad production artifact; rethrows `error` when none can. */
  private async fallBack(resolved: Resolved, error: unknown): Promise<LoadedVersion> {
    if (!(error instanceof ModelUnavailableError) || !FALLBACK_REASONS.has(error.code)) throw error;
    const { model, production } = resolved;
    const earlier = [...new Set([...model.previous_production_versions].reverse())].filter((v) => v !== production.version);
    for (const version of earlier.slice(0, MAX_FALLBACK_CANDIDATES)) {
      let record: ModelVersionRecord | undefined;
      try {
        record = await this.options.registry.getVersion(model.model, version);
      } catch {
        throw error; // the registry is down as well: production's own failure is the answer
      }
      if (record === undefined || record.deleted_at !== null) continue;
      let loaded: LoadedVersion;
      try {
        loaded = this.ready.get(loadKey(record)) ?? (await this.load(record));
      } catch {
        continue; // reported by the load; an older one may serve
      }
      this.fallbacks.set(model.model, loadKey(record));
      this.observer.productionFallback?.({
        model: model.model,
        production_version: production.version,
        serving_version: record.version,
        reason: error.code,
        cause: error,
      });
      return loaded;
    }
    throw error;
  }

  /** Before scoring, on every path (ONNX or endpoint, production or canary): a rejected batch is never scored. */
  private checkRange(loaded: LoadedVersion, rows: readonly FeatureRow[], version: ModelVersionRecord, variant: Variant): OutOfRangeWarning[] | undefined {
    if (this.rangePolicy === 'reject') rejectOutOfRange(loaded.bounds, rows);
    else if (this.rangePolicy === 'warn') return this.warnOutOfRange(loaded.bounds, rows, version, variant);
    return undefined;
  }

  /**
   * The out-of-distribution scores of a batch, before scoring: `reject` refuses a batch with an instance below the
   * p-value (400 `OUT_OF_DISTRIBUTION`, naming the first and its most unusual feature), `warn` returns each instance's
   * score and a warning per flagged instance (at most `MAX_RANGE_WARNINGS`).
   */
  private checkOod(loaded: LoadedVersion, rows: readonly FeatureRow[]): { scores: number[]; warnings: OodWarning[] } | undefined {
    const settings = this.options.outOfDistribution;
    if (loaded.ood === undefined || settings === undefined || settings.policy === 'off') return undefined;
    const scores: number[] = [];
    const warnings: OodWarning[] = [];
    for (let i = 0; i < rows.length; i++) {
      const result = oodScore(loaded.ood, rows[i] as FeatureRow);
      scores.push(round6(result.score));
      if (result.p_value >= settings.pValue) continue;
      if (settings.policy === 'reject') {
        throw new RequestValidationError(
          'OUT_OF_DISTRIBUTION',
          `instances[${i}] is out of distribution: p = ${result.p_value.toPrecision(3)} below ${settings.pValue}, most unusual feature "${result.feature}"`,
          { instance: i, feature: result.feature, p_value: result.p_value, ood_score: result.score },
        );
      }
      if (warnings.length < MAX_RANGE_WARNINGS) {
        warnings.push({ instance: i, feature: result.feature, code: 'OUT_OF_DISTRIBUTION', ood_score: round6(result.score), p_value: result.p_value });
      }
    }
    return { scores, warnings };
  }

  /** A version's explainer, built once per container from its artifact (read again and checked) and baseline. */
  private explainerFor(record: ModelVersionRecord, details: Readonly<Record<string, unknown>>): Promise<Explainer> {
    const key = loadKey(record);
    const existing = this.explainers.get(key);
    if (existing !== undefined) return existing;
    const building = this.buildExplainer(record, details);
    this.explainers.set(key, building);
    // An outage is retried by the next request; a graph that cannot be explained stays refused.
    building.catch((error: unknown) => {
      if (!(error instanceof UnprocessableError) && this.explainers.get(key) === building) this.explainers.delete(key);
    });
    return building;
  }

  private async buildExplainer(record: ModelVersionRecord, details: Readonly<Record<string, unknown>>): Promise<Explainer> {
    const bytes = await this.readArtifact(record);
    const [{ readExplainableGraph }, { createExplainer, ExplainNotSupportedError }, { backgroundFromBaseline }] = await Promise.all([
      import('#core/explain/onnx-reader.ts'),
      import('#core/explain/explainer.ts'),
      import('#core/explain/background.ts'),
    ]);
    const { metadata } = record;
    const { preprocessing } = metadata;
    let graph;
    try {
      graph = readExplainableGraph(bytes, preprocessing.input_name, preprocessing.output_name, preprocessing.columns);
    } catch (cause) {
      throw new ModelUnavailableError('ARTIFACT_INVALID', `the artifact of model "${record.model}" version ${record.version} cannot be read as ONNX`, details, { cause });
    }
    const settings = this.explainSettings;
    try {
      return createExplainer({
        graph,
        metadata,
        background: backgroundFromBaseline(metadata.input_schema, metadata.baseline, settings.backgroundSize),
        approximation: settings.approximation === 'refuse' ? { kind: 'refuse' } : { kind: 'sampling', budget: settings.samplingBudget },
      });
    } catch (cause) {
      if (!(cause instanceof ExplainNotSupportedError)) throw cause;
      throw new UnprocessableError(
        'EXPLAIN_NOT_SUPPORTED',
        `model "${record.model}" version ${record.version} has no exact SHAP method and this deployment does not approximate`,
        { ...details, reason: 'no_exact_method', graph: graph.kind === 'opaque' ? graph.reason : graph.kind },
        { cause },
      );
    }
  }

  /**
   * The version a batch job scores with: `version`, or the production version when it is undefined. Soft-deleted or
   * missing versions are refused (404), like a model without production.
   */
  async resolveVersion(name: string, version?: number): Promise<ResolvedVersion> {
    const record = version === undefined ? (await this.resolve(name)).production : await this.versionRecord(name, version);
    return {
      model: name,
      model_version: record.version,
      artifact_sha256: record.artifact.sha256,
      serving_target: servingTargetOf(record),
      features: record.metadata.input_schema.features.map(({ name, type }) => ({ name, type })),
    };
  }

  /**
   * Scores the rows of a batch job with one version, through predict's own path: each row validated against the
   * version's schema (and its range check with policy `reject`), the valid ones encoded and scored in one session run,
   * labelled with the version's threshold. A bad row is refused with its code and never fails the others; a version
   * that cannot load or score fails the whole batch (the caller retries or counts it).
   */
  async scoreRows(name: string, version: number, instances: readonly unknown[]): Promise<BatchScores> {
    const record = await this.versionRecord(name, version);
    const loaded = this.ready.get(loadKey(record)) ?? (await this.load(record));
    const results = new Array<RowScore>(instances.length);
    const valid: FeatureRow[] = [];
    const positions: number[] = [];
    for (let i = 0; i < instances.length; i++) {
      try {
        const row = validateInstance(loaded.schema, instances[i], i);
        if (this.rangePolicy === 'reject') rejectOutOfRange(loaded.bounds, [row], i);
        valid.push(row);
        positions.push(i);
      } catch (error) {
        if (!(error instanceof RequestValidationError)) throw error;
        const field = error.details['field'];
        results[i] = { ok: false, code: error.code, message: error.message, ...(typeof field === 'string' ? { field } : {}) };
      }
    }
    if (valid.length > 0) {
      const input = encodeRows(record.metadata.preprocessing, valid);
      const probabilities = await this.score(loaded, record, input, valid.length, 'production');
      const { output } = record.metadata;
      for (let v = 0; v < valid.length; v++) {
        const probability = probabilities[v] ?? Number.NaN;
        const position = positions[v] as number;
        if (Number.isFinite(probability)) {
          results[position] = { ok: true, probability, label: labelFor(output, probability) };
        } else {
          // Refused like predict refuses it (NON_FINITE_PREDICTION), one row, never the batch.
          const error = nonFinitePrediction(record, 'production', position, probability);
          results[position] = { ok: false, code: error.code, message: error.message, field: `instances[${position}]` };
        }
      }
    }
    return { model: name, model_version: record.version, artifact_sha256: record.artifact.sha256, results };
  }

  /** A version's record (immutable but for its stage), read once per container; soft-deleted ones are refused. */
  private async versionRecord(name: string, version: number): Promise<ModelVersionRecord> {
    const key = `${name}@${version}`;
    let record = this.records.get(key);
    if (record === undefined) {
      record = await registryCall(`model "${name}" version ${version}`, () => this.options.registry.getVersion(name, version));
      if (record === undefined || record.deleted_at !== null) {
        throw new NotFoundError('VERSION_NOT_FOUND', `model "${name}" has no version ${version}`, { model: name, model_version: version });
      }
      this.records.set(key, record);
    }
    return record;
  }

  /** The warnings of a `warn` answer (undefined when all values are in range), reported to the observer. */
  private warnOutOfRange(
    bounds: readonly FeatureBounds[],
    rows: readonly FeatureRow[],
    version: ModelVersionRecord,
    variant: Variant,
  ): OutOfRangeWarning[] | undefined {
    const { count, warnings } = findOutOfRange(bounds, rows);
    if (count === 0) return undefined;
    this.observer.outOfRange?.({ model: version.model, model_version: version.version, variant, count, warnings });
    return warnings;
  }

  private async score(
    loaded: LoadedVersion,
    version: ModelVersionRecord,
    input: Float32Array,
    rows: number,
    variant: ServingRole,
  ): Promise<Float32Array> {
    try {
      return await loaded.session.score(input, rows);
    } catch (cause) {
      // The version and variant let the error be counted against the version that failed (the canary watch reads
      // them); remote endpoints keep their own documented codes (throttled, timeout, circuit open).
      const failed = { model: version.model, model_version: version.version, variant };
      if (cause instanceof ApiError) throw cause.withDetails(failed);
      throw new ModelUnavailableError('INFERENCE_FAILED', `model "${version.model}" version ${version.version} failed to score`, failed, { cause });
    }
  }

  /** The loaded canary, or undefined (reported) when it cannot serve: production answers instead. */
  private async loadCanary(canary: ModelVersionRecord, production: ModelVersionRecord): Promise<LoadedVersion | undefined> {
    const ready = this.ready.get(loadKey(canary));
    if (ready !== undefined) return ready;
    try {
      return await this.load(canary);
    } catch (cause) {
      this.observer.canaryFallback({
        model: canary.model,
        canary_version: canary.version,
        production_version: production.version,
        reason: cause instanceof ApiError ? cause.code : 'CANARY_LOAD_FAILED',
        cause,
      });
      return undefined;
    }
  }

  /** The shadow's probabilities for the same body, or undefined (reported) when it cannot score them. Never rejects. */
  private async scoreShadow(
    shadow: ModelVersionRecord,
    production: ModelVersionRecord,
    body: unknown,
    rows: number,
  ): Promise<Float32Array | undefined> {
    try {
      const loaded = this.ready.get(loadKey(shadow)) ?? (await this.load(shadow));
      // The shadow's own schema and preprocessing: it may encode the same instances differently.
      const shadowRows = validatePredictRequest(loaded.schema, body, this.options.maxBatchSize);
      const input = encodeRows(shadow.metadata.preprocessing, shadowRows);
      const probabilities = await this.score(loaded, shadow, input, rows, 'shadow');
      if (probabilities.length < rows) throw new Error(`the shadow answered ${probabilities.length} rows for ${rows}`);
      return probabilities;
    } catch (cause) {
      this.observer.shadowFailed({
        model: shadow.model,
        production_version: production.version,
        shadow_version: shadow.version,
        reason: cause instanceof ApiError ? cause.code : 'SHADOW_FAILED',
        cause,
      });
      return undefined;
    }
  }

  private compareShadow(
    production: ModelVersionRecord,
    shadow: ModelVersionRecord,
    primary: Float32Array,
    shadowed: Float32Array,
  ): void {
    const primaryOutput = production.metadata.output;
    const shadowOutput = shadow.metadata.output;
    const rows = primary.length;
    let disagreements = 0;
    let absDiff = 0;
    const absDiffs: number[] = [];
    for (let i = 0; i < rows; i++) {
      const p = primary[i] ?? Number.NaN;
      const q = shadowed[i] ?? Number.NaN;
      const primaryLabel = p >= primaryOutput.threshold ? primaryOutput.positive_label : primaryOutput.negative_label;
      const shadowLabel = q >= shadowOutput.threshold ? shadowOutput.positive_label : shadowOutput.negative_label;
      if (primaryLabel !== shadowLabel) disagreements++;
      absDiff += Math.abs(p - q);
      absDiffs.push(Math.abs(p - q));
    }
    this.observer.shadowScored({
      model: production.model,
      production_version: production.version,
      shadow_version: shadow.version,
      rows,
      disagreements,
      meanAbsDiff: rows === 0 ? 0 : absDiff / rows,
      absDiffs,
    });
  }

  private freshResolution(name: string): Resolved | undefined {
    const cached = this.resolutions.get(name);
    return cached !== undefined && cached.expiresAt > this.now() ? cached.value : undefined;
  }

  /** The serving config of a model, from the TTL cache or the registry. */
  private resolve(name: string): Promise<Resolved> {
    const cached = this.resolutions.get(name);
    if (cached !== undefined && cached.expiresAt > this.now()) return cached.result;
    checkModelName(name);
    const lastRead = cached?.lastRead;
    const readAt = this.now();
    const result = this.readServingConfig(name).then(
      (value) => {
        resolution.lastRead = { value, at: readAt };
        return value;
      },
      (error: unknown) => this.staleOr(name, lastRead, error),
    );
    const resolution: Resolution = { expiresAt: readAt + this.options.cacheTtlMs, result, ...(lastRead === undefined ? {} : { lastRead }) };
    this.resolutions.delete(name);
    this.resolutions.set(name, resolution);
    // Clients choose the names they ask for: the cache (of not-found answers too) keeps the most recent ones only.
    for (const oldest of this.resolutions.keys()) {
      if (this.resolutions.size <= MAX_CACHED_RESOLUTIONS) break;
      this.resolutions.delete(oldest);
    }
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

  /**
   * While the registry cannot be read, the model's last known serving config keeps serving for `staleServingMs` after
   * its last successful read (reported through `staleServingConfig`, once per refresh); otherwise the error stands.
   */
  private staleOr(name: string, lastRead: Resolution['lastRead'], error: unknown): Resolved {
    if (!(error instanceof ModelUnavailableError) || error.code !== 'REGISTRY_UNAVAILABLE' || lastRead === undefined) throw error;
    const ageMs = this.now() - lastRead.at;
    if (ageMs > this.staleServingMs) throw error;
    this.observer.staleServingConfig?.({ model: name, production_version: lastRead.value.production.version, age_ms: ageMs, cause: error });
    return lastRead.value;
  }

  private async readServingConfig(name: string): Promise<Resolved> {
    const model = await registryCall(`model "${name}"`, () => this.options.registry.getModel(name));
    if (model === undefined) {
      throw new NotFoundError('MODEL_NOT_FOUND', `model "${name}" does not exist`, { model: name });
    }
    if (model.production_version === null) {
      throw new NotFoundError('NO_PRODUCTION_VERSION', `model "${name}" has no production version yet`, { model: name });
    }
    const productionVersion = model.production_version;
    const canaryVersion = model.canary !== null && model.canary.version !== productionVersion ? model.canary.version : null;
    const shadowVersion = model.shadow_version !== productionVersion ? model.shadow_version : null;
    const read = (version: number | null): Promise<ModelVersionRecord | undefined> =>
      version === null
        ? Promise.resolve(undefined)
        : registryCall(`model "${name}" version ${version}`, () => this.options.registry.getVersion(name, version));
    const [production, canary, shadow] = await Promise.all([read(productionVersion), read(canaryVersion), read(shadowVersion)]);
    if (production === undefined || production.deleted_at !== null) {
      throw new ModelUnavailableError(
        'VERSION_RECORD_MISSING',
        `model "${name}" points at version ${productionVersion}, which the registry does not hold`,
        { model: name, model_version: productionVersion },
      );
    }
    // A canary or shadow whose record is gone simply does not take part.
    return {
      model,
      production,
      canary: canary?.deleted_at === null ? canary : undefined,
      shadow: shadow?.deleted_at === null ? shadow : undefined,
    };
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
    const { model, version, metadata } = record;
    const details = { model, model_version: version };
    const target = servingTargetOf(record);
    if (target.kind === 'sagemaker') {
      // The endpoint holds the packaged model: nothing to fetch or load here.
      if (this.options.remoteEngine === undefined) {
        throw new ModelUnavailableError(
          'ENDPOINT_NOT_CONFIGURED',
          `model "${model}" version ${version} is served by a SageMaker endpoint, which this deployment cannot call`,
          details,
        );
      }
      const session = this.options.remoteEngine.createRemoteSession(target.endpoint_name, metadata.preprocessing);
      return { record, schema: compileSchema(metadata.input_schema), session, bounds: this.boundsOf(record), ...this.oodOf(record) };
    }
    const fail = (code: string, message: string, cause: unknown): never => {
      this.observer.modelLoadFailed({ model, version, reason: code, cause });
      throw new ModelUnavailableError(code, message, details, { cause });
    };

    const fetchStarted = this.now();
    const bytes = await this.readArtifact(record);
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
    return { record, schema: compileSchema(metadata.input_schema), session, bounds: this.boundsOf(record), ...this.oodOf(record) };
  }

  /** The artifact's bytes, checked against the recorded sha256; failures are reported and answered 503. */
  private async readArtifact(record: ModelVersionRecord): Promise<Uint8Array> {
    const { model, version, artifact } = record;
    const fail = (code: string, message: string, cause: unknown): never => {
      this.observer.modelLoadFailed({ model, version, reason: code, cause });
      throw new ModelUnavailableError(code, message, { model, model_version: version }, { cause });
    };
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
    return bytes;
  }

  /** Compiled once per loaded version, when the score is on. */
  private oodOf(record: ModelVersionRecord): { ood?: OodScorer } {
    const settings = this.options.outOfDistribution;
    if (settings === undefined || settings.policy === 'off') return {};
    return { ood: compileOodScorer(record.metadata.input_schema, record.metadata.baseline) };
  }

  /** Computed once per loaded version: requests only compare. */
  private boundsOf(record: ModelVersionRecord): FeatureBounds[] {
    const { outOfRange } = this.options;
    if (outOfRange === undefined || outOfRange.policy === 'off') return [];
    return compileFeatureBounds(record.metadata.input_schema, record.metadata.baseline, outOfRange.tolerance);
  }

  /**
   * Releases the oldest loaded versions beyond the limit, sparing those a cached serving
   * config still names (production, canary and shadow of a model must not evict each other).
   */
  private evictBeyondLimit(): void {
    if (this.loaded.size <= this.maxLoadedVersions) return;
    const inUse = new Set<string>(this.fallbacks.values());
    for (const resolution of this.resolutions.values()) {
      const value = resolution.value;
      if (value === undefined || resolution.expiresAt <= this.now()) continue;
      for (const record of [value.production, value.canary, value.shadow]) if (record !== undefined) inUse.add(loadKey(record));
    }
    for (const key of [...this.loaded.keys()]) {
      if (this.loaded.size <= this.maxLoadedVersions) return;
      if (inUse.has(key)) continue;
      const evicted = this.loaded.get(key);
      this.loaded.delete(key);
      this.ready.delete(key);
      this.explainers.delete(key);
      void evicted?.then((version) => version.session.release()).catch(() => undefined);
    }
  }
}

/** Serving configs kept in the TTL cache; the oldest beyond it are forgotten (and read again when asked for). */
const MAX_CACHED_RESOLUTIONS = 1024;

/**
 * A name the registry cannot hold (over 63 characters, or outside `MODEL_NAME_PATTERN`) is the client's mistake, answered
 * 400 before any registry read: a 2,043-character name would otherwise fail DynamoDB's key limit as a 503.
 */
function checkModelName(name: string): void {
  if (!MODEL_NAME_PATTERN.test(name)) {
    throw new RequestValidationError('INVALID_MODEL_NAME', `"${name}" is not a model name (${MODEL_NAME_PATTERN.source})`, {
      field: 'model',
      received: name,
      pattern: MODEL_NAME_PATTERN.source,
    });
  }
}

/**
 * A probability that is not a number (finite float32 inputs whose encoding overflows inside the model, say) is never
 * served as a 200: the instance is refused with a 400 naming its row, as the values that caused it came from the client.
 */
function nonFinitePrediction(version: ModelVersionRecord, variant: Variant, row: number, probability: number): RequestValidationError {
  return new RequestValidationError('NON_FINITE_PREDICTION', `instances[${row}] cannot be scored: the model answered ${String(probability)} for its values`, {
    field: `instances[${row}]`,
    model: version.model,
    model_version: version.version,
    variant,
  });
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

function summariseVersion(model: ModelRecord, version: ModelVersionRecord): VersionSummary {
  const roles: ServingRole[] = [];
  if (model.production_version === version.version) roles.push('production');
  if (model.canary?.version === version.version) roles.push('canary');
  if (model.shadow_version === version.version) roles.push('shadow');
  const { metadata, artifact } = version;
  return {
    version: version.version,
    stage: version.stage,
    roles,
    created_at: version.created_at,
    created_by: version.created_by,
    artifact_sha256: artifact.sha256,
    artifact_size_bytes: artifact.size_bytes,
    algorithm: metadata.algorithm,
    schema_version: metadata.input_schema.schema_version,
    preprocess_version: metadata.preprocessing.preprocess_version,
    metrics: metadata.metrics,
  };
}
