import { RequestValidationError, asError } from '#core/errors.ts';
import { MODEL_NAME_PATTERN } from '#core/registry/records.ts';
import {
  pipelineConfig,
  resolvedPipelineConfig,
  TRAINERS,
  type PipelineConfig as ContractPipelineConfig,
  type PipelineDefaultsConfig,
  type PipelineModelConfig,
  type PromotionConfig,
  type TrainerKind,
} from '#contracts/pipeline.ts';
import { ENV, parseJsonEnv } from '#contracts/env.ts';
import { parameterProblem } from '#contracts/hyperparameters.ts';
import { DEFAULT_RETRAIN_PROMOTION, RETRAIN_REQUESTER, retrainPromotionConfig, type RetrainPromotionConfig } from '#contracts/drift.ts';
import type { ProtectedAttribute } from './fairness.ts';
import type { GateThresholds } from './gate.ts';
import { THRESHOLD_POLICIES, checkThresholdPolicy, type ThresholdPolicy } from '#core/metrics/threshold.ts';
import { MAX_SEED, trainingJobPrefix } from './job-name.ts';

/**
 * What one run of the training pipeline is asked to do, and the settings it runs with.
 * The CDK passes `PipelineConfig` to the pipeline function as JSON (env `PIPELINE_CONFIG`,
 * from the `pipeline` block of the deployment config); a run's own input may override the
 * per-run fields. `normalizeRun` turns both into the `PipelineRun` every step reads.
 */

export type { TrainerKind } from '#contracts/pipeline.ts';

/** Promotion of a registered candidate (the config's `promotion`). */
export type PromotionSettings = PromotionConfig;

/** Settings a model's runs use unless the run says otherwise (`pipeline.defaults`). */
export type PipelineDefaults = PipelineDefaultsConfig;

/** One model's settings (`pipeline.models.NAME`): what differs from the defaults. */
export type PipelineModelSettings = PipelineModelConfig;

/**
 * What a run reads of the `pipeline` block: the defaults and the models (and the SageMaker trainers' settings: default
 * when absent), and `drift.retrainPromotion`, the most a drift-requested run may ask for (default when absent: a
 * canary waiting for approval).
 */
export type PipelineConfig = Pick<ContractPipelineConfig, 'defaults' | 'models'> &
  Partial<Pick<ContractPipelineConfig, 'sagemaker' | 'xgboost'>> & { readonly retrainPromotion?: RetrainPromotionConfig };

/** The built-in defaults: the schema's (the CDK config's too). */
export const DEFAULT_PIPELINE_CONFIG: ContractPipelineConfig = pipelineConfig.parse({});

/** One run as every step sees it: the request with every default filled in. */
export interface PipelineRun {
  readonly run_id: string;
  /** Prefix of the SageMaker training job names of this run (`{prefix}-{seed}`), within the service's rule. */
  readonly training_job_prefix: string;
  readonly model: string;
  readonly dataset: { readonly key: string; readonly sha256: string | null };
  readonly target: string;
  readonly positive_label: string;
  readonly trainer: TrainerKind;
  readonly seeds: readonly number[];
  readonly test_fraction: number;
  readonly parameters: Readonly<Record<string, number>>;
  readonly decision_threshold: ThresholdPolicy;
  readonly class_weight: 'none' | 'balanced';
  /** Cells read as missing in a numeric column besides empty ones (`pipeline.defaults.missingTokens`, per model, or the run's input). */
  readonly missing_tokens: readonly string[];
  readonly thresholds: GateThresholds;
  readonly max_regression: number;
  readonly max_seed_spread: number;
  readonly protected_attribute: ProtectedAttribute | null;
  readonly favorable_outcome: 'positive' | 'negative';
  readonly approval_required: boolean;
  readonly promotion: { readonly mode: 'production' | 'canary'; readonly canary_share: number };
  readonly requested_by: string;
  readonly reason: string;
  readonly started_at: string;
}

function fail(field: string, message: string, details: Readonly<Record<string, unknown>> = {}): never {
  throw new RequestValidationError('INVALID_RUN', `run field "${field}" ${message}`, { field, ...details });
}

function optionalString(raw: Record<string, unknown>, field: string): string | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '') fail(field, `must be a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

function optionalNumber(raw: Record<string, unknown>, field: string): number | undefined {
  const value = raw[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) fail(field, `must be a finite number, got ${JSON.stringify(value)}`);
  return value;
}

/** A run's `decision_threshold`: `{ "policy": "maxF1" }`, `{ "policy": "targetRecall", "recall": 0.8 }`, … */
function decisionThresholdOf(value: unknown): ThresholdPolicy | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) fail('decision_threshold', `must be an object with a policy, got ${JSON.stringify(value)}`);
  const raw = value as Record<string, unknown>;
  const policy = raw.policy;
  if (!THRESHOLD_POLICIES.includes(policy as ThresholdPolicy['policy'])) {
    fail('decision_threshold.policy', `must be one of ${THRESHOLD_POLICIES.join(', ')}, got ${JSON.stringify(policy)}`);
  }
  const number = (key: string): number => optionalNumber(raw, key) ?? fail(`decision_threshold.${key}`, `is required with policy ${String(policy)}`);
  let parsed: ThresholdPolicy;
  if (policy === 'targetRecall') parsed = { policy, recall: number('recall') };
  else if (policy === 'cost') parsed = { policy, falsePositive: number('falsePositive'), falseNegative: number('falseNegative') };
  else if (policy === 'fixed') parsed = { policy, threshold: number('threshold') };
  else parsed = { policy: policy as 'maxF1' | 'youden' };
  try {
    checkThresholdPolicy(parsed);
  } catch (error) {
    fail('decision_threshold', asError(error).message);
  }
  return parsed;
}

function trainerOf(value: unknown): TrainerKind | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' && (TRAINERS as readonly string[]).includes(value)) return value as TrainerKind;
  return fail('trainer', `must be one of ${TRAINERS.join(', ')}, got ${JSON.stringify(value)}`);
}

/**
 * A run's `parameters`: the hyperparameters its trainer takes (contracts/hyperparameters.ts), each in its range. A
 * name the trainer does not take is refused, not ignored: the run would train without the setting its author believes
 * it has (a misspelt `maxIteration`, or a run setting such as `seed` that the trainer reads from the run itself).
 */
function parametersOf(value: unknown, trainer: TrainerKind, classWeight: string): Record<string, number> {
  const parameters: Record<string, number> = {};
  if (value === undefined || value === null) return parameters;
  if (typeof value !== 'object' || Array.isArray(value)) fail('parameters', 'must be an object of numbers');
  for (const [name, number] of Object.entries(value as Record<string, unknown>)) {
    const problem = parameterProblem(trainer, name, number, { classWeight });
    if (problem !== undefined) fail(`parameters.${name}`, problem.message, { trainer, ...(problem.accepted === undefined ? {} : { accepted: problem.accepted }) });
    // Defined, not assigned: a `__proto__` name (the user's image may take any) stays a parameter instead of vanishing.
    Object.defineProperty(parameters, name, { value: number, enumerable: true, writable: true, configurable: true });
  }
  return parameters;
}

/**
 * Validates a run request (execution input) and fills it from the model's settings and the
 * defaults. Throws `RequestValidationError` with code `INVALID_RUN` naming the field.
 */
export function normalizeRun(input: unknown, config: PipelineConfig, now: Date, newId: () => string): PipelineRun {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) fail('(input)', 'must be an object');
  const raw = input as Record<string, unknown>;
  const model = optionalString(raw, 'model') ?? fail('model', 'is required');
  if (!MODEL_NAME_PATTERN.test(model)) fail('model', `must match ${MODEL_NAME_PATTERN.source}, got "${model}"`);
  const settings = config.models[model];
  const defaults = { ...config.defaults, ...settings };

  const dataset = raw.dataset;
  let datasetKey: string | undefined;
  let datasetSha: string | null = null;
  if (typeof dataset === 'object' && dataset !== null) {
    const ds = dataset as Record<string, unknown>;
    datasetKey = optionalString(ds, 'key');
    datasetSha = optionalString(ds, 'sha256') ?? null;
  }
  datasetKey ??= settings?.datasetKey ?? fail('dataset.key', 'is required (or set datasetKey for the model in the config)');
  // The pipeline may only read training data under datasets/ (its IAM policy says so too).
  if (!datasetKey.startsWith('datasets/')) fail('dataset.key', `must start with datasets/, got "${datasetKey}"`);

  const target = optionalString(raw, 'target') ?? settings?.target ?? fail('target', 'is required for a model without config');
  const positive =
    optionalString(raw, 'positive_label') ?? settings?.positiveLabel ?? fail('positive_label', 'is required for a model without config');

  const seedsRaw = raw.seeds;
  let seeds = defaults.seeds;
  if (seedsRaw !== undefined && seedsRaw !== null) {
    if (!Array.isArray(seedsRaw) || seedsRaw.length === 0 || seedsRaw.length > 10) fail('seeds', 'must be 1 to 10 integers');
    if (!seedsRaw.every((s) => Number.isInteger(s) && (s as number) >= 0 && (s as number) <= MAX_SEED)) fail('seeds', `must be integers from 0 to ${MAX_SEED}`);
    seeds = seedsRaw as number[];
  }
  const approval = raw.approval_required;
  if (approval !== undefined && approval !== null && typeof approval !== 'boolean') fail('approval_required', 'must be a boolean');
  const promotionMode = optionalString(raw, 'promotion_mode') ?? defaults.promotion.mode;
  if (promotionMode !== 'production' && promotionMode !== 'canary') fail('promotion_mode', 'must be production or canary');
  const canaryShare = optionalNumber(raw, 'canary_share') ?? defaults.promotion.canaryShare;
  if (!(canaryShare > 0 && canaryShare < 1)) fail('canary_share', `must be between 0 and 1, got ${canaryShare}`);
  const classWeight = optionalString(raw, 'class_weight') ?? defaults.classWeight;
  if (classWeight !== 'none' && classWeight !== 'balanced') fail('class_weight', `must be none or balanced, got "${classWeight}"`);
  const trainer = trainerOf(raw.trainer) ?? defaults.trainer;
  const parameters = parametersOf(raw.parameters, trainer, classWeight);

  const missingTokens = raw.missing_tokens ?? defaults.missingTokens;
  if (!Array.isArray(missingTokens) || missingTokens.length > 20 || !missingTokens.every((t) => typeof t === 'string' && t.trim() !== '' && t.length <= 20)) {
    fail('missing_tokens', `must be an array of at most 20 non-empty strings of at most 20 characters, got ${JSON.stringify(missingTokens)}`);
  }

  const requestedBy = optionalString(raw, 'requested_by') ?? 'unknown';
  let approvalRequired = typeof approval === 'boolean' ? approval : defaults.approvalRequired;
  let promotion: PipelineRun['promotion'] = { mode: promotionMode, canary_share: canaryShare };
  if (requestedBy === RETRAIN_REQUESTER) {
    // Anyone allowed to put events on the bus can send a RetrainRequested: its input may make the landing stricter
    // (approval, a canary, a smaller share), never looser than drift.retrainPromotion.
    const policy = config.retrainPromotion ?? DEFAULT_RETRAIN_PROMOTION;
    approvalRequired = policy.approvalRequired || approval === true;
    const mode = policy.mode === 'canary' || optionalString(raw, 'promotion_mode') === 'canary' ? 'canary' : 'production';
    promotion = { mode, canary_share: Math.min(canaryShare, defaults.promotion.canaryShare) };
  }

  const runId = optionalString(raw, 'run_id') ?? newId();
  return {
    run_id: runId,
    training_job_prefix: trainingJobPrefix(model, runId),
    model,
    dataset: { key: datasetKey, sha256: datasetSha },
    target,
    positive_label: positive,
    trainer,
    seeds,
    test_fraction: optionalNumber(raw, 'test_fraction') ?? defaults.testFraction,
    parameters,
    decision_threshold: decisionThresholdOf(raw.decision_threshold) ?? defaults.decisionThreshold,
    class_weight: classWeight,
    missing_tokens: (missingTokens as string[]).map((t) => t.trim()),
    thresholds: defaults.thresholds,
    max_regression: defaults.maxRegression,
    max_seed_spread: defaults.maxSeedSpread,
    protected_attribute: defaults.protectedAttribute,
    favorable_outcome: defaults.favorableOutcome,
    approval_required: approvalRequired,
    promotion,
    requested_by: requestedBy,
    reason: optionalString(raw, 'reason') ?? '',
    started_at: optionalString(raw, 'started_at') ?? now.toISOString(),
  };
}

/**
 * Parses the `PIPELINE_CONFIG` JSON the CDK sets with the config's own schema (unset: the defaults), so a bad value
 * fails the cold start with the message synth gives for it.
 * @throws ConfigError naming the field, the allowed range and the value received
 */
export function parsePipelineConfig(json: string | undefined): ContractPipelineConfig {
  return parseJsonEnv(ENV.PIPELINE_CONFIG, json, resolvedPipelineConfig, 'pipeline', {});
}

/**
 * Parses the `RETRAIN_PROMOTION` JSON the CDK sets from `drift.retrainPromotion` (unset: the default, a canary waiting
 * for approval).
 * @throws ConfigError naming the field and the value received
 */
export function parseRetrainPromotion(json: string | undefined): RetrainPromotionConfig {
  return parseJsonEnv(ENV.RETRAIN_PROMOTION, json, retrainPromotionConfig, 'drift.retrainPromotion', {});
}

/** Where a training data file lives in the artifact bucket: content-addressed like artifacts. */
export function datasetKey(model: string, sha256: string): string {
  return `datasets/${model}/${sha256}.csv`;
}
