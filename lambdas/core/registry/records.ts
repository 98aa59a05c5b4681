import type { ModelMetadata } from '#core/model/metadata.ts';

/**
 * The registry's domain records, independent of how they are stored
 * (see docs/registry-layout.md for the DynamoDB item layout).
 */

/** Lifecycle stages of a model version. */
export const STAGES = ['candidate', 'staging', 'production', 'archived', 'rejected'] as const;
export type Stage = (typeof STAGES)[number];

/** Where a version's ONNX bytes live, content-addressed by their sha256. */
export interface ArtifactLocation {
  /** Object key in the artifact bucket, `models/{model}/{sha256}.onnx`. */
  readonly key: string;
  /** Lower-case hex sha256 of the bytes; checked every time they are loaded. */
  readonly sha256: string;
  readonly size_bytes: number;
}

/** A model: a name and which of its versions serves. */
export interface ModelRecord {
  readonly model: string;
  readonly description: string;
  /** The version that answers predict calls, or null while none is promoted. */
  readonly production_version: number | null;
  readonly latest_version: number;
  readonly created_at: string;
  readonly updated_at: string;
}

/** One immutable trained version of a model. */
export interface ModelVersionRecord {
  readonly model: string;
  readonly version: number;
  readonly stage: Stage;
  readonly artifact: ArtifactLocation;
  readonly metadata: ModelMetadata;
  readonly created_at: string;
  readonly created_by: string;
}

/** Model names are URL path segments and key parts: keep them boring. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** The content-addressed key of an artifact. */
export function artifactKey(model: string, sha256: string): string {
  return `models/${model}/${sha256}.onnx`;
}
