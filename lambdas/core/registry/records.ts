import type { ModelMetadata } from '#core/model/metadata.ts';

/**
 * The registry's domain records, independent of how they are stored
 * (see docs/registry.md for the rules and the DynamoDB item layout).
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

/** A version that receives a deterministic share of a model's traffic beside production. */
export interface CanaryConfig {
  readonly version: number;
  /** Share of requests in (0, 1) that the canary answers. */
  readonly share: number;
}

/**
 * A model: a name and its serving config (which versions answer), plus what is needed to
 * roll back and to detect concurrent changes.
 */
export interface ModelRecord {
  readonly model: string;
  readonly description: string;
  /** The version that answers predict calls, or null while none is promoted. */
  readonly production_version: number | null;
  /** A version answering a share of requests beside production, or null. */
  readonly canary: CanaryConfig | null;
  /** A version that scores every request beside production; its answers are logged, never returned. */
  readonly shadow_version: number | null;
  /** Earlier production versions, oldest first; `rollback` returns to the last one. */
  readonly previous_production_versions: readonly number[];
  readonly latest_version: number;
  /** Incremented by every change of the model item; writers condition on the value they read. */
  readonly revision: number;
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
  /** Set when the version was soft-deleted: hidden from lists and serving, kept for audit. */
  readonly deleted_at: string | null;
  /**
   * Where the version is scored. Absent on records written before serving targets existed, which
   * serve in the Lambda (see {@link servingTargetOf}).
   */
  readonly serving_target?: ServingTarget;
}

/** What changed a model, as the audit trail records it. */
export const AUDIT_ACTIONS = [
  'register',
  'promote',
  'rollback',
  'canary_set',
  'canary_clear',
  'shadow_set',
  'shadow_clear',
  'archive',
  'reject',
  'delete',
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/** Whether the change took effect, lost to a concurrent change, or broke a rule. */
export type AuditOutcome = 'applied' | 'conflict' | 'refused';

/** One append-only entry of a model's history: who did what, when, why, and from what to what. */
export interface AuditRecord {
  readonly model: string;
  readonly at: string;
  readonly actor: string;
  readonly action: AuditAction;
  /** The version acted on, when there is one. */
  readonly version: number | null;
  /** The state before, e.g. `production=3` or `stage=candidate`. */
  readonly from: string | null;
  /** The state after (or that was asked for, when the outcome is not `applied`). */
  readonly to: string | null;
  readonly reason: string;
  readonly outcome: AuditOutcome;
  /** The caller's idempotency token: a retried call with the same token changes nothing twice. */
  readonly client_token: string;
}

/** Model names are URL path segments and key parts: keep them boring. */
export const MODEL_NAME_PATTERN = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** The content-addressed key of an artifact. */
export function artifactKey(model: string, sha256: string): string {
  return `models/${model}/${sha256}.onnx`;
}

/**
 * Where a version is scored: in the predict Lambda (onnxruntime-node, the artifact loaded into the
 * container), or by a SageMaker real-time endpoint that serves the version's packaged model
 * (`mlops package --target sagemaker`). The API contract is the same for both.
 */
export type ServingTarget = { readonly kind: 'lambda' } | { readonly kind: 'sagemaker'; readonly endpoint_name: string };

export const LAMBDA_TARGET: ServingTarget = { kind: 'lambda' };

/** SageMaker endpoint names (CreateEndpoint's rule). */
export const SAGEMAKER_ENDPOINT_NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/** The version's serving target; records without one serve in the Lambda. */
export function servingTargetOf(record: Pick<ModelVersionRecord, 'serving_target'>): ServingTarget {
  return record.serving_target ?? LAMBDA_TARGET;
}

/** The object key of a version's SageMaker package (`model.tar.gz` in Triton's model-repository layout). */
export function sagemakerPackageKey(model: string, version: number): string {
  return `sagemaker/${model}/${version}/model.tar.gz`;
}
