import type { Preprocessing } from '#core/model/metadata.ts';
import type { OutOfRangeWarning } from './range-check.ts';
import type { Variant } from './traffic.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';

/**
 * What the serving core needs from the outside world. Adapters implement these over
 * DynamoDB, S3 and onnxruntime-node; tests can pass plain objects.
 */

/** Read side of the model registry. */
export interface RegistryReader {
  getModel(model: string): Promise<ModelRecord | undefined>;
  getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined>;
  listModels(): Promise<ModelRecord[]>;
  /** All versions of a model in version order, soft-deleted ones included (`deleted_at` set). */
  listVersions(model: string): Promise<ModelVersionRecord[]>;
}

/** Fetches artifact bytes by object key. Throws when they cannot be read. */
export interface ArtifactReader {
  getArtifact(key: string): Promise<Uint8Array>;
}

/** A loaded model ready to score float32 rows. */
export interface ScoringSession {
  /** Runs one batch: `input` is row-major [rows, columns]; returns one probability per row. */
  score(input: Float32Array, rows: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Creates scoring sessions from artifact bytes (onnxruntime-node in production). */
export interface ScoringEngine {
  createSession(bytes: Uint8Array, preprocessing: Preprocessing): Promise<ScoringSession>;
}

/**
 * Opens sessions on remote endpoints that serve a version's packaged model (SageMaker real-time endpoints in AWS,
 * the local SageMaker-runtime server with `npm start`). Nothing is downloaded: the endpoint holds the model.
 */
export interface RemoteScoringEngine {
  createRemoteSession(endpointName: string, preprocessing: Preprocessing): ScoringSession;
}

/** What the serving core reports about itself, for logs and metrics. */
export interface ServingObserver {
  modelLoaded(event: { model: string; version: number; bytes: number; fetchMs: number; sessionMs: number }): void;
  modelLoadFailed(event: { model: string; version: number; reason: string; cause: unknown }): void;
  /** A request routed to the canary was answered by production because the canary could not serve. */
  canaryFallback(event: { model: string; canary_version: number; production_version: number; reason: string; cause: unknown }): void;
  /** The shadow version scored the rows production answered; its answers are compared, never returned. */
  shadowScored(event: ShadowComparison): void;
  /** The shadow version could not score a request (the response was not affected). */
  shadowFailed(event: { model: string; production_version: number; shadow_version: number; reason: string; cause: unknown }): void;
  /**
   * Production's artifact failed its sha256 check or its load (`reason`), and the earlier production version
   * `serving_version` answers in its place until the serving config is next read.
   */
  productionFallback?(event: { model: string; production_version: number; serving_version: number; reason: string; cause: unknown }): void;
  /** The registry could not be read; the model's last known serving config, read `age_ms` ago, keeps serving. */
  staleServingConfig?(event: { model: string; production_version: number; age_ms: number; cause: unknown }): void;
  /** A `warn` answer carried out-of-range values: `count` of them in all, `warnings` the first ones listed. */
  outOfRange?(event: OutOfRangeReport): void;
}

/** The out-of-range values of one answered request (range policy `warn`). */
export interface OutOfRangeReport {
  readonly model: string;
  readonly model_version: number;
  readonly variant: Variant;
  readonly count: number;
  readonly warnings: readonly OutOfRangeWarning[];
}

/** How a shadow version's answers compared with production's on one request. */
export interface ShadowComparison {
  readonly model: string;
  readonly production_version: number;
  readonly shadow_version: number;
  readonly rows: number;
  /** Rows whose labels differ. */
  readonly disagreements: number;
  /** Mean absolute difference of the positive-class probabilities. */
  readonly meanAbsDiff: number;
  /** Each row's absolute difference of the positive-class probabilities, in request order. */
  readonly absDiffs: readonly number[];
}
