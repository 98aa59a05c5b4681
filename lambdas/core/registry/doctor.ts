import type { AuditRecord, ModelRecord, ModelVersionRecord } from './records.ts';

/**
 * The registry's invariants, checked from what it stores. `mlops doctor` runs them against the local platform or a
 * deployed stack; the crash harness runs them after every kill. Each finding names its invariant:
 *
 * - `one-production-version`: at most one version of a model is at stage `production`;
 * - `stages-match-pointers`: the model's production pointer names a live version at stage `production` and no other
 *   version is; its canary names a live version at stage `staging`; every name it points at exists;
 * - `one-audit-per-revision`: every applied change both bumped the model's revision and wrote one `applied` audit
 *   entry, so there are exactly `revision` of them;
 * - `artifact-intact`: every live version's artifact can be read and has the sha256 its record holds;
 * - `no-object-without-metadata` (local S3 only, checked by the caller): no stored object lacks its metadata.
 */

export const INVARIANTS = [
  'one-production-version',
  'stages-match-pointers',
  'one-audit-per-revision',
  'artifact-intact',
  'no-object-without-metadata',
] as const;

export type Invariant = (typeof INVARIANTS)[number];

export interface DoctorFinding {
  readonly invariant: Invariant;
  /** The model concerned; absent for findings about the store as a whole. */
  readonly model?: string;
  readonly version?: number;
  readonly message: string;
}

/** What the checks read: the registry (soft-deleted versions included) and, optionally, the artifacts. */
export interface DoctorSource {
  listModels(): Promise<ModelRecord[]>;
  /** Every version of the model, soft-deleted ones included. */
  listVersions(model: string): Promise<ModelVersionRecord[]>;
  history(model: string): Promise<AuditRecord[]>;
  /** The artifact's sha256 (lower-case hex), or undefined when it cannot be read. Absent: artifacts are not checked. */
  artifactSha256?(key: string): Promise<string | undefined>;
}

export interface DoctorReport {
  readonly healthy: boolean;
  readonly models: number;
  readonly versions: number;
  /** The invariants checked (`no-object-without-metadata` only when the caller checked it). */
  readonly checked: readonly Invariant[];
  readonly findings: readonly DoctorFinding[];
}

/** The findings of one model. */
export async function checkModel(source: DoctorSource, model: ModelRecord): Promise<DoctorFinding[]> {
  const findings: DoctorFinding[] = [];
  const name = model.model;
  const versions = await source.listVersions(name);
  const byNumber = new Map(versions.map((v) => [v.version, v]));

  const atProduction = versions.filter((v) => v.stage === 'production').map((v) => v.version);
  if (atProduction.length > 1) {
    findings.push({ invariant: 'one-production-version', model: name, message: `versions ${atProduction.join(', ')} are all at stage production` });
  }

  const pointer = model.production_version;
  if (pointer !== null) {
    const target = byNumber.get(pointer);
    if (target === undefined) {
      findings.push({ invariant: 'stages-match-pointers', model: name, version: pointer, message: `the production pointer names version ${pointer}, which does not exist` });
    } else if (target.deleted_at !== null || target.stage !== 'production') {
      findings.push({
        invariant: 'stages-match-pointers',
        model: name,
        version: pointer,
        message: `the production pointer names version ${pointer}, which is at stage ${target.stage}${target.deleted_at === null ? '' : ' and deleted'}`,
      });
    }
  }
  for (const version of atProduction) {
    if (version !== pointer) {
      findings.push({
        invariant: 'stages-match-pointers',
        model: name,
        version,
        message: `version ${version} is at stage production but the production pointer is ${pointer ?? 'none'}`,
      });
    }
  }
  if (model.canary !== null) {
    const canary = byNumber.get(model.canary.version);
    if (canary === undefined || canary.deleted_at !== null || canary.stage !== 'staging') {
      findings.push({
        invariant: 'stages-match-pointers',
        model: name,
        version: model.canary.version,
        message: `the canary names version ${model.canary.version}, which is ${canary === undefined ? 'missing' : `at stage ${canary.stage}${canary.deleted_at === null ? '' : ' and deleted'}`}`,
      });
    }
  }
  const shadow = model.shadow_version === null ? undefined : byNumber.get(model.shadow_version);
  if (model.shadow_version !== null && (shadow === undefined || shadow.deleted_at !== null)) {
    findings.push({ invariant: 'stages-match-pointers', model: name, version: model.shadow_version, message: `the shadow names version ${model.shadow_version}, which is missing or deleted` });
  }
  if (model.latest_version < Math.max(0, ...versions.map((v) => v.version))) {
    findings.push({ invariant: 'stages-match-pointers', model: name, message: `latest_version is ${model.latest_version} but version ${Math.max(...versions.map((v) => v.version))} exists` });
  }

  const applied = (await source.history(name)).filter((a) => a.outcome === 'applied').length;
  if (applied !== model.revision) {
    findings.push({
      invariant: 'one-audit-per-revision',
      model: name,
      message: `the model is at revision ${model.revision} but its audit trail has ${applied} applied entries`,
    });
  }

  if (source.artifactSha256 !== undefined) {
    for (const version of versions) {
      if (version.deleted_at !== null) continue;
      const actual = await source.artifactSha256(version.artifact.key);
      if (actual !== version.artifact.sha256) {
        findings.push({
          invariant: 'artifact-intact',
          model: name,
          version: version.version,
          message:
            actual === undefined
              ? `the artifact of version ${version.version} (${version.artifact.key}) cannot be read`
              : `the artifact of version ${version.version} has sha256 ${actual}, not the recorded ${version.artifact.sha256}`,
        });
      }
    }
  }
  return findings;
}

/** Checks every model; `extra` are findings the caller made itself (the local S3 store's). */
export async function runDoctor(source: DoctorSource, extra?: { readonly findings: readonly DoctorFinding[] }): Promise<DoctorReport> {
  const models = await source.listModels();
  const findings: DoctorFinding[] = [];
  let versions = 0;
  for (const model of models) {
    findings.push(...(await checkModel(source, model)));
    versions += model.latest_version;
  }
  findings.push(...(extra?.findings ?? []));
  const checked = INVARIANTS.filter(
    (i) => (i !== 'artifact-intact' || source.artifactSha256 !== undefined) && (i !== 'no-object-without-metadata' || extra !== undefined),
  );
  return { healthy: findings.length === 0, models: models.length, versions, checked, findings };
}
