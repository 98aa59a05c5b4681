import type { RegistryReader } from '#core/serving/ports.ts';
import type { AuditRecord, ModelRecord, ModelVersionRecord, Stage } from './records.ts';

/** A stage or soft-delete change of one version, made in the same transaction as its model's change. */
export interface VersionUpdate {
  readonly version: number;
  readonly stage?: Stage;
  readonly deleted_at?: string;
}

/**
 * One atomic change of a model: the model item is written only if its revision still holds
 * `expectedRevision` (null: the model must not exist yet), together with the version updates,
 * the optional new version, and the audit record. A retry with the same `audit.client_token`
 * changes nothing twice.
 */
export interface ModelChange {
  readonly expectedRevision: number | null;
  readonly next: ModelRecord;
  readonly versionUpdates: readonly VersionUpdate[];
  readonly newVersion?: ModelVersionRecord;
  readonly audit: AuditRecord;
}

/** The outcome of applying a change: `replayed` when the client token had already been applied. */
export type ChangeResult = 'applied' | 'replayed';

/** Storage of the registry (DynamoDB in AWS and locally). */
export interface RegistryStore extends RegistryReader {
  /** All versions of a model, soft-deleted ones included, in version order. */
  listVersions(model: string): Promise<ModelVersionRecord[]>;
  /** The model's audit trail, oldest first. */
  history(model: string): Promise<AuditRecord[]>;
  /** The version of `model` whose artifact has this sha256, if any. */
  findVersionBySha256(model: string, sha256: string): Promise<ModelVersionRecord | undefined>;
  /** Throws `ConflictError` (code `CONCURRENT_CHANGE`) when the model's revision moved. */
  applyChange(change: ModelChange): Promise<ChangeResult>;
  /** Whether a change with this client token has been applied to the model already. */
  wasApplied(model: string, clientToken: string): Promise<boolean>;
  /** Appends an audit record on its own: used for attempts that did not apply. */
  appendAudit(record: AuditRecord): Promise<void>;
}
