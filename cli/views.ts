import { servingTargetOf, type AuditRecord, type ModelRecord, type ModelVersionRecord } from '#core/registry/records.ts';
import { rankImportance } from '#core/explain/importance.ts';
import { formatShare } from './change.ts';
import { formatFields, formatTable, type Cell } from './output.ts';

/** How registry records look in tables. */

export function rolesOf(model: ModelRecord, version: number): string[] {
  const roles: string[] = [];
  if (model.production_version === version) roles.push('production');
  if (model.canary?.version === version) roles.push(`canary ${formatShare(model.canary.share)}`);
  if (model.shadow_version === version) roles.push('shadow');
  return roles;
}

function canaryCell(model: ModelRecord): Cell {
  return model.canary === null ? null : `${model.canary.version} @ ${formatShare(model.canary.share)}`;
}

export function modelsTable(models: readonly ModelRecord[]): string {
  if (models.length === 0) return 'no models registered yet (mlops register --help)\n';
  return formatTable(
    ['model', 'production', 'canary', 'shadow', 'latest', 'revision', 'updated', 'description'],
    models.map((m) => [m.model, m.production_version, canaryCell(m), m.shadow_version, m.latest_version, m.revision, m.updated_at, m.description]),
  );
}

export function modelFields(model: ModelRecord): string {
  return formatFields([
    ['model', model.model],
    ['description', model.description],
    ['production', model.production_version],
    ['canary', canaryCell(model)],
    ['shadow', model.shadow_version],
    ['rollback to', model.previous_production_versions.at(-1)],
    ['latest version', model.latest_version],
    ['revision', model.revision],
    ['created', model.created_at],
    ['updated', model.updated_at],
  ]);
}

function metric(version: ModelVersionRecord, name: string): Cell {
  const value = version.metadata.metrics[name];
  return value === undefined ? null : Number(value.toFixed(4));
}

/** The decision threshold and how it was chosen: `0.1392 (maxF1)`; older versions show the bare threshold. */
function thresholdCell(version: ModelVersionRecord): string {
  const { threshold, threshold_selection: selection } = version.metadata.output;
  return selection === undefined ? String(Number(threshold.toFixed(4))) : `${Number(threshold.toFixed(4))} (${selection.policy})`;
}

/** `lambda`, or `sagemaker:<endpoint>` for a version a SageMaker endpoint serves. */
function servedBy(version: ModelVersionRecord): string {
  const target = servingTargetOf(version);
  return target.kind === 'sagemaker' ? `sagemaker:${target.endpoint_name}` : 'lambda';
}

export function versionsTable(model: ModelRecord, versions: readonly ModelVersionRecord[]): string {
  if (versions.length === 0) return 'no versions\n';
  const showDeleted = versions.some((v) => v.deleted_at !== null);
  return formatTable(
    ['version', 'stage', 'roles', 'roc_auc', 'pr_auc', 'threshold', 'recall', 'precision', 'brier', 'created', 'created by', 'sha256', 'served by', ...(showDeleted ? ['deleted'] : [])],
    versions.map((v) => [
      v.version,
      v.stage,
      rolesOf(model, v.version).join(', '),
      metric(v, 'roc_auc'),
      metric(v, 'pr_auc'),
      thresholdCell(v),
      metric(v, 'recall'),
      metric(v, 'precision'),
      metric(v, 'brier'),
      v.created_at,
      v.created_by,
      v.artifact.sha256.slice(0, 12),
      servedBy(v),
      ...(showDeleted ? [v.deleted_at] : []),
    ]),
  );
}

/**
 * The global importance of a version's features (mean |SHAP| on the holdout, largest first, with each one's share), or
 * a line saying there is none (versions registered by hand, or before the pipeline measured it).
 */
export function importanceTable(version: ModelVersionRecord): string {
  const importance = version.metadata.feature_importance;
  if (importance === undefined) return `global importance of version ${version.version}: not measured (only versions trained by the pipeline have it)\n`;
  const ranked = rankImportance(importance);
  const header = `global importance of version ${version.version}: mean |SHAP| in log-odds on ${importance.rows} holdout rows (${importance.method}, ${importance.background_rows} background rows)\n`;
  return header + formatTable(['feature', 'mean |SHAP|', 'share'], ranked.map((r) => [r.feature, Number(r.mean_abs_shap.toFixed(4)), `${(r.share * 100).toFixed(1)} %`]));
}

export function historyTable(records: readonly AuditRecord[]): string {
  if (records.length === 0) return 'no history\n';
  return formatTable(
    ['at', 'actor', 'action', 'version', 'from', 'to', 'outcome', 'reason'],
    records.map((r) => [r.at, r.actor, r.action, r.version, r.from, r.to, r.outcome, r.reason]),
  );
}
