/**
 * A RegistryStore in memory, for tests of the registry's core: the same contract as the
 * DynamoDB adapter (conditional writes on the model revision, idempotent client tokens),
 * without a database.
 */
import { ConflictError } from '#core/errors.ts';
import type { ChangeResult, ModelChange, RegistryStore } from '#core/registry/ports.ts';
import type { AuditRecord, ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';

export class InMemoryRegistryStore implements RegistryStore {
  readonly models = new Map<string, ModelRecord>();
  /** Versions per model, keyed by version number. */
  readonly versions = new Map<string, Map<number, ModelVersionRecord>>();
  readonly audits = new Map<string, AuditRecord[]>();
  /** Every applyChange call, replays and conflicts included, for assertions. */
  readonly changes: ModelChange[] = [];
  private readonly appliedTokens = new Set<string>();

  async getModel(model: string): Promise<ModelRecord | undefined> {
    return this.models.get(model);
  }

  async getVersion(model: string, version: number): Promise<ModelVersionRecord | undefined> {
    return this.versions.get(model)?.get(version);
  }

  async listModels(): Promise<ModelRecord[]> {
    return [...this.models.values()].sort((a, b) => a.model.localeCompare(b.model));
  }

  async listVersions(model: string): Promise<ModelVersionRecord[]> {
    return [...(this.versions.get(model)?.values() ?? [])].sort((a, b) => a.version - b.version);
  }

  /** Oldest first, as DynamoDB orders its `AUDIT#{at}#{client_token}` sort keys (ties by token, not by arrival). */
  async history(model: string): Promise<AuditRecord[]> {
    const sortKey = (record: AuditRecord): string => `${record.at}#${record.client_token}`;
    return [...(this.audits.get(model) ?? [])].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
  }

  async findVersionBySha256(model: string, sha256: string): Promise<ModelVersionRecord | undefined> {
    return (await this.listVersions(model)).find((v) => v.artifact.sha256 === sha256);
  }

  async applyChange(change: ModelChange): Promise<ChangeResult> {
    this.changes.push(change);
    const model = change.next.model;
    if (this.appliedTokens.has(tokenKey(model, change.audit.client_token))) return 'replayed';
    const current = this.models.get(model);
    if ((current?.revision ?? null) !== change.expectedRevision) {
      throw new ConflictError(
        'CONCURRENT_CHANGE',
        `model "${model}" changed concurrently (expected revision ${String(change.expectedRevision)}, found ${String(current?.revision ?? null)})`,
        { model },
      );
    }
    const versions = this.versions.get(model) ?? new Map<number, ModelVersionRecord>();
    if (change.newVersion !== undefined && versions.has(change.newVersion.version)) {
      throw new ConflictError('CONCURRENT_CHANGE', `model "${model}" already has version ${change.newVersion.version}`, { model });
    }
    for (const update of change.versionUpdates) {
      if (!versions.has(update.version)) {
        throw new ConflictError('CONCURRENT_CHANGE', `model "${model}" has no version ${update.version}`, { model });
      }
    }
    // All checks passed: apply everything at once, as the transaction would.
    for (const update of change.versionUpdates) {
      const existing = versions.get(update.version) as ModelVersionRecord;
      versions.set(update.version, {
        ...existing,
        ...(update.stage === undefined ? {} : { stage: update.stage }),
        ...(update.deleted_at === undefined ? {} : { deleted_at: update.deleted_at }),
      });
    }
    if (change.newVersion !== undefined) versions.set(change.newVersion.version, change.newVersion);
    this.versions.set(model, versions);
    this.models.set(model, change.next);
    this.appliedTokens.add(tokenKey(model, change.audit.client_token));
    await this.appendAudit(change.audit);
    return 'applied';
  }

  async wasApplied(model: string, clientToken: string): Promise<boolean> {
    return this.appliedTokens.has(tokenKey(model, clientToken));
  }

  async appendAudit(record: AuditRecord): Promise<void> {
    const list = this.audits.get(record.model) ?? [];
    list.push(record);
    this.audits.set(record.model, list);
  }
}

function tokenKey(model: string, clientToken: string): string {
  return `${model}\u0000${clientToken}`;
}
