import type { Preprocessing } from '#core/model/metadata.ts';
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

/** What the serving core reports about itself, for logs and metrics. */
export interface ServingObserver {
  modelLoaded(event: { model: string; version: number; bytes: number; fetchMs: number; sessionMs: number }): void;
  modelLoadFailed(event: { model: string; version: number; reason: string; cause: unknown }): void;
}
