import { ConflictError, NotFoundError, RequestValidationError } from '#core/errors.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ChangeResult, ModelChange, RegistryStore, VersionUpdate } from './ports.ts';
import {
  MODEL_NAME_PATTERN,
  servingTargetOf,
  type ArtifactLocation,
  type AuditAction,
  type AuditRecord,
  type ModelRecord,
  type ModelVersionRecord,
  type ServingTarget,
} from './records.ts';

/**
 * The registry's lifecycle rules: registering versions, promoting, rolling back, canary and
 * shadow traffic, archiving, rejecting and soft-deleting. Every change is one atomic store
 * write conditioned on the model revision the caller read, with its audit record; a change
 * that loses to a concurrent one is refused with `CONCURRENT_CHANGE` and audited as a conflict.
 */

/** Who asks for a change, why, and the token that makes a retry harmless. */
export interface ChangeRequest {
  readonly model: string;
  readonly actor: string;
  readonly reason?: string;
  /** Idempotency token; a random one is made when absent (then a retry is a new attempt). */
  readonly clientToken?: string;
  /**
   * The model revision the caller based its decision on (e.g. what it showed a person).
   * When given, the change applies only if the model is still at that revision.
   * @default the revision read at the start of the call
   */
  readonly expectedRevision?: number;
}

export interface VersionChangeRequest extends ChangeRequest {
  readonly version: number;
}

export interface RegisterRequest extends ChangeRequest {
  readonly description?: string;
  readonly artifact: ArtifactLocation;
  readonly metadata: ModelMetadata;
  /** Where the version is scored. @default - absent: the predict Lambda */
  readonly servingTarget?: ServingTarget;
}

export interface RegisterResult {
  readonly version: ModelVersionRecord;
  /** True when these bytes were already registered: the existing version is returned. */
  readonly deduplicated: boolean;
}

export interface ChangeOutcome {
  readonly model: ModelRecord;
  readonly result: ChangeResult;
}

export interface RegistryServiceOptions {
  readonly store: RegistryStore;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default crypto.randomUUID */
  readonly newToken?: () => string;
  /**
   * Checks a version's artifact before it becomes production (its bytes match the recorded sha256 and load in the
   * serving runtime); throws when they do not, and the promotion is refused with 409 `ARTIFACT_VERIFICATION_FAILED`.
   * @default - no check
   */
  readonly verifyArtifact?: (version: ModelVersionRecord) => Promise<void>;
}

/** A change computed from the state read: the new model record, version updates and audit text. */
interface Plan {
  readonly next: Omit<ModelRecord, 'revision' | 'updated_at'>;
  readonly versionUpdates: readonly VersionUpdate[];
  readonly version: number | null;
  readonly from: string | null;
  readonly to: string | null;
}

function servingState(model: ModelRecord): string {
  const parts = [`production=${model.production_version ?? 'none'}`];
  if (model.canary !== null) parts.push(`canary=${model.canary.version}@${model.canary.share}`);
  if (model.shadow_version !== null) parts.push(`shadow=${model.shadow_version}`);
  return parts.join(' ');
}

function rolesOf(model: ModelRecord, version: number): string[] {
  const roles: string[] = [];
  if (model.production_version === version) roles.push('production');
  if (model.canary?.version === version) roles.push('canary');
  if (model.shadow_version === version) roles.push('shadow');
  return roles;
}

export class RegistryService {
  private readonly store: RegistryStore;
  private readonly clock: () => Date;
  private readonly newToken: () => string;

  private readonly verifyArtifact: ((version: ModelVersionRecord) => Promise<void>) | undefined;

  constructor(options: RegistryServiceOptions) {
    this.verifyArtifact = options.verifyArtifact;
    this.store = options.store;
    this.clock = options.clock ?? (() => new Date());
    this.newToken = options.newToken ?? (() => crypto.randomUUID());
  }

  // ---- reads ----

  /** Models that have at least one version. */
  listModels(): Promise<ModelRecord[]> {
    return this.store.listModels();
  }

  async getModel(model: string): Promise<ModelRecord> {
    const record = await this.store.getModel(model);
    if (record === undefined) throw new NotFoundError('MODEL_NOT_FOUND', `model "${model}" does not exist`, { model });
    return record;
  }

  /** The versions of a model; soft-deleted ones only when asked. */
  async listVersions(model: string, options: { includeDeleted?: boolean } = {}): Promise<ModelVersionRecord[]> {
    await this.getModel(model);
    const versions = await this.store.listVersions(model);
    return options.includeDeleted === true ? versions : versions.filter((v) => v.deleted_at === null);
  }

  async getVersion(model: string, version: number, options: { includeDeleted?: boolean } = {}): Promise<ModelVersionRecord> {
    const record = await this.store.getVersion(model, version);
    if (record === undefined || (record.deleted_at !== null && options.includeDeleted !== true)) {
      throw new NotFoundError('VERSION_NOT_FOUND', `model "${model}" has no version ${version}`, { model, version });
    }
    return record;
  }

  async history(model: string): Promise<AuditRecord[]> {
    await this.getModel(model);
    return this.store.history(model);
  }

  // ---- changes ----

  /**
   * Adds a version as a candidate (creating the model on first use). The same bytes
   * registered again return the existing version instead of a new one.
   */
  async register(request: RegisterRequest): Promise<RegisterResult> {
    // Two registrations racing for the next version number: the loser reads again and takes the next one.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.registerOnce(request);
      } catch (error) {
        if (!(error instanceof ConflictError && error.code === 'CONCURRENT_CHANGE') || attempt >= 5) throw error;
      }
    }
  }

  private async registerOnce(request: RegisterRequest): Promise<RegisterResult> {
    if (!MODEL_NAME_PATTERN.test(request.model)) {
      throw new RequestValidationError(
        'INVALID_MODEL_NAME',
        `model name "${request.model}" must be 1-63 lower-case letters, digits, "-" or "_", starting with a letter or digit`,
        { model: request.model },
      );
    }
    const duplicate = await this.store.findVersionBySha256(request.model, request.artifact.sha256);
    if (duplicate !== undefined && duplicate.deleted_at === null) return { version: duplicate, deduplicated: true };

    const existing = await this.store.getModel(request.model);
    const now = this.clock().toISOString();
    const versionNumber = (existing?.latest_version ?? 0) + 1;
    const version: ModelVersionRecord = {
      model: request.model,
      version: versionNumber,
      stage: 'candidate',
      artifact: request.artifact,
      metadata: request.metadata,
      created_at: now,
      created_by: request.actor,
      deleted_at: null,
      ...(request.servingTarget === undefined ? {} : { serving_target: request.servingTarget }),
    };
    const base: Omit<ModelRecord, 'revision' | 'updated_at'> = existing ?? {
      model: request.model,
      description: request.description ?? '',
      production_version: null,
      canary: null,
      shadow_version: null,
      previous_production_versions: [],
      latest_version: 0,
      created_at: now,
    };
    const plan: Plan = {
      next: {
        ...base,
        description: request.description ?? base.description,
        latest_version: versionNumber,
      },
      versionUpdates: [],
      version: versionNumber,
      from: null,
      to: 'stage=candidate',
    };
    await this.apply('register', request, existing, plan, version);
    return { version, deduplicated: false };
  }

  /** Makes a version the production version; the one it replaces is archived and remembered for rollback. */
  promote(request: VersionChangeRequest): Promise<ChangeOutcome> {
    return this.change('promote', request, async (model) => {
      const target = await this.liveVersion(model.model, request.version);
      if (target.stage === 'rejected') {
        throw new ConflictError('VERSION_REJECTED', `version ${request.version} was rejected and cannot be promoted`, {
          model: model.model,
          version: request.version,
        });
      }
      if (this.verifyArtifact !== undefined && servingTargetOf(target).kind !== 'sagemaker') {
        try {
          await this.verifyArtifact(target);
        } catch (cause) {
          throw new ConflictError(
            'ARTIFACT_VERIFICATION_FAILED',
            `the artifact of version ${request.version} failed verification and cannot be promoted: ${cause instanceof Error ? cause.message : String(cause)}`,
            { model: model.model, version: request.version },
            { cause },
          );
        }
      }
      if (model.production_version === request.version) {
        throw new ConflictError('ALREADY_PRODUCTION', `version ${request.version} is already in production`, {
          model: model.model,
          version: request.version,
        });
      }
      const previous = model.production_version;
      return {
        next: {
          ...model,
          production_version: request.version,
          canary: model.canary?.version === request.version ? null : model.canary,
          shadow_version: model.shadow_version === request.version ? null : model.shadow_version,
          previous_production_versions:
            previous === null ? model.previous_production_versions : [...model.previous_production_versions, previous],
        },
        versionUpdates: [
          { version: request.version, stage: 'production' },
          ...(previous === null ? [] : [{ version: previous, stage: 'archived' as const }]),
        ],
        version: request.version,
        from: servingState(model),
        to: `production=${request.version}`,
      };
    });
  }

  /** Returns production to the version it replaced last. */
  rollback(request: ChangeRequest): Promise<ChangeOutcome> {
    return this.change('rollback', request, async (model) => {
      const history = model.previous_production_versions;
      const target = history[history.length - 1];
      if (target === undefined) {
        throw new ConflictError('NOTHING_TO_ROLL_BACK', `model "${model.model}" has no earlier production version`, {
          model: model.model,
        });
      }
      await this.liveVersion(model.model, target);
      const current = model.production_version;
      return {
        next: {
          ...model,
          production_version: target,
          canary: model.canary?.version === target ? null : model.canary,
          shadow_version: model.shadow_version === target ? null : model.shadow_version,
          previous_production_versions: history.slice(0, -1),
        },
        versionUpdates: [
          { version: target, stage: 'production' },
          ...(current === null ? [] : [{ version: current, stage: 'archived' as const }]),
        ],
        version: target,
        from: servingState(model),
        to: `production=${target}`,
      };
    });
  }

  /** Sends a deterministic share of requests to a version beside production. Async: a bad share rejects, never throws. */
  async setCanary(request: VersionChangeRequest & { readonly share: number }): Promise<ChangeOutcome> {
    if (!(request.share > 0 && request.share < 1)) {
      throw new RequestValidationError('INVALID_SHARE', `canary share must be between 0 and 1 (exclusive), got ${request.share}`, {
        share: request.share,
      });
    }
    return this.change('canary_set', request, async (model) => {
      await this.servableVersion(model, request.version);
      const replaced = model.canary !== null && model.canary.version !== request.version ? model.canary.version : null;
      return {
        next: { ...model, canary: { version: request.version, share: request.share } },
        versionUpdates: [
          { version: request.version, stage: 'staging' },
          ...(replaced === null ? [] : [{ version: replaced, stage: 'candidate' as const }]),
        ],
        version: request.version,
        from: servingState(model),
        to: `canary=${request.version}@${request.share}`,
      };
    });
  }

  clearCanary(request: ChangeRequest): Promise<ChangeOutcome> {
    return this.change('canary_clear', request, async (model) => {
      if (model.canary === null) {
        throw new ConflictError('NO_CANARY', `model "${model.model}" has no canary`, { model: model.model });
      }
      return {
        next: { ...model, canary: null },
        versionUpdates: [{ version: model.canary.version, stage: 'candidate' }],
        version: model.canary.version,
        from: servingState(model),
        to: 'canary=none',
      };
    });
  }

  /** Scores every request with a version beside production, logging but never returning its answers. */
  setShadow(request: VersionChangeRequest): Promise<ChangeOutcome> {
    return this.change('shadow_set', request, async (model) => {
      await this.servableVersion(model, request.version);
      return {
        next: { ...model, shadow_version: request.version },
        versionUpdates: [],
        version: request.version,
        from: servingState(model),
        to: `shadow=${request.version}`,
      };
    });
  }

  clearShadow(request: ChangeRequest): Promise<ChangeOutcome> {
    return this.change('shadow_clear', request, async (model) => {
      if (model.shadow_version === null) {
        throw new ConflictError('NO_SHADOW', `model "${model.model}" has no shadow version`, { model: model.model });
      }
      return {
        next: { ...model, shadow_version: null },
        versionUpdates: [],
        version: model.shadow_version,
        from: servingState(model),
        to: 'shadow=none',
      };
    });
  }

  archive(request: VersionChangeRequest): Promise<ChangeOutcome> {
    return this.retire('archive', request, 'archived');
  }

  reject(request: VersionChangeRequest): Promise<ChangeOutcome> {
    return this.retire('reject', request, 'rejected');
  }

  /** Hides a version from lists and serving; its records and artifact are kept. */
  delete(request: VersionChangeRequest): Promise<ChangeOutcome> {
    return this.change('delete', request, async (model) => {
      const target = await this.liveVersion(model.model, request.version);
      this.assertNotServing(model, request.version, 'delete');
      const at = this.clock().toISOString();
      return {
        next: { ...model },
        versionUpdates: [{ version: request.version, deleted_at: at }],
        version: request.version,
        from: `stage=${target.stage}`,
        to: 'deleted',
      };
    });
  }

  // ---- internals ----

  private retire(action: AuditAction, request: VersionChangeRequest, stage: 'archived' | 'rejected'): Promise<ChangeOutcome> {
    return this.change(action, request, async (model) => {
      const target = await this.liveVersion(model.model, request.version);
      this.assertNotServing(model, request.version, action);
      return {
        next: { ...model },
        versionUpdates: [{ version: request.version, stage }],
        version: request.version,
        from: `stage=${target.stage}`,
        to: `stage=${stage}`,
      };
    });
  }

  private assertNotServing(model: ModelRecord, version: number, action: string): void {
    const roles = rolesOf(model, version);
    if (roles.length > 0) {
      throw new ConflictError('VERSION_SERVING', `version ${version} serves as ${roles.join(' and ')}; cannot ${action} it`, {
        model: model.model,
        version,
        roles,
      });
    }
  }

  private async liveVersion(model: string, version: number): Promise<ModelVersionRecord> {
    return this.getVersion(model, version);
  }

  private async servableVersion(model: ModelRecord, version: number): Promise<ModelVersionRecord> {
    const target = await this.liveVersion(model.model, version);
    if (target.stage === 'rejected') {
      throw new ConflictError('VERSION_REJECTED', `version ${version} was rejected and cannot serve`, {
        model: model.model,
        version,
      });
    }
    if (model.production_version === version) {
      throw new ConflictError('ALREADY_PRODUCTION', `version ${version} is the production version`, {
        model: model.model,
        version,
      });
    }
    // A canary or shadow answers the same requests as production, so it must accept the same body.
    if (model.production_version !== null) {
      const production = await this.store.getVersion(model.model, model.production_version);
      const sameFeatures = (v: ModelVersionRecord): string => JSON.stringify(v.metadata.input_schema.features);
      if (production !== undefined && sameFeatures(production) !== sameFeatures(target)) {
        throw new ConflictError(
          'SCHEMA_INCOMPATIBLE',
          `version ${version} expects other features than production version ${model.production_version}; it cannot share its traffic`,
          { model: model.model, version, production_version: model.production_version },
        );
      }
    }
    return target;
  }

  /** Reads the model, plans the change, applies it conditioned on the revision read. */
  private async change(
    action: AuditAction,
    request: ChangeRequest,
    plan: (model: ModelRecord) => Promise<Plan>,
  ): Promise<ChangeOutcome> {
    const model = await this.getModel(request.model);
    // A retry of a change that was applied answers as it did, instead of planning it again.
    if (request.clientToken !== undefined && (await this.store.wasApplied(request.model, request.clientToken))) {
      return { model, result: 'replayed' };
    }
    let planned: Plan;
    try {
      if (request.expectedRevision !== undefined && request.expectedRevision !== model.revision) {
        throw new ConflictError(
          'CONCURRENT_CHANGE',
          `model "${model.model}" is at revision ${model.revision}, not ${request.expectedRevision}; read it again and retry`,
          { model: model.model, expected_revision: request.expectedRevision, revision: model.revision },
        );
      }
      planned = await plan(model);
    } catch (error) {
      if (error instanceof ConflictError) {
        const version = 'version' in request && typeof request.version === 'number' ? request.version : null;
        const outcome = error.code === 'CONCURRENT_CHANGE' ? 'conflict' : 'refused';
        await this.store.appendAudit(this.auditRecord(action, request, version, servingState(model), null, error.message, outcome));
      }
      throw error;
    }
    const { next, result } = await this.apply(action, request, model, planned);
    return { model: next, result };
  }

  private async apply(
    action: AuditAction,
    request: ChangeRequest,
    read: ModelRecord | undefined,
    plan: Plan,
    newVersion?: ModelVersionRecord,
  ): Promise<{ next: ModelRecord; result: ChangeResult }> {
    const token = request.clientToken ?? this.newToken();
    const now = this.clock().toISOString();
    const next: ModelRecord = { ...plan.next, revision: (read?.revision ?? 0) + 1, updated_at: now };
    const audit = this.auditRecord(action, { ...request, clientToken: token }, plan.version, plan.from, plan.to, request.reason ?? '', 'applied');
    const change: ModelChange = {
      expectedRevision: read?.revision ?? null,
      next,
      versionUpdates: plan.versionUpdates,
      ...(newVersion === undefined ? {} : { newVersion }),
      audit,
    };
    try {
      return { next, result: await this.store.applyChange(change) };
    } catch (error) {
      if (error instanceof ConflictError && error.code === 'CONCURRENT_CHANGE') {
        // Every attempt is accounted for: the loser's attempt is audited too.
        await this.store.appendAudit({ ...audit, client_token: `${token}#conflict`, outcome: 'conflict' });
      }
      throw error;
    }
  }

  private auditRecord(
    action: AuditAction,
    request: ChangeRequest,
    version: number | null,
    from: string | null,
    to: string | null,
    reason: string,
    outcome: AuditRecord['outcome'],
  ): AuditRecord {
    return {
      model: request.model,
      at: this.clock().toISOString(),
      actor: request.actor,
      action,
      version,
      from,
      to,
      reason: outcome === 'applied' ? reason : [request.reason, reason].filter((r) => r !== undefined && r !== '').join(' — '),
      outcome,
      client_token: request.clientToken ?? this.newToken(),
    };
  }
}
