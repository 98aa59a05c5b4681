/**
 * The training run input of a drift-triggered retrain: the run must make its candidate the way the production version
 * (the champion it is compared with) was made, unless the model's own pipeline config says otherwise.
 *
 * Each setting comes from, in order: the model's settings in the pipeline config (`pipeline.models.NAME`, carried in
 * `DRIFT_CONFIG`'s `retrainTargets`), then what the production version's metadata records, then nothing (the pipeline
 * applies its defaults). The pipeline-wide defaults never override the lineage: they are the defaults of new models.
 *
 * The trainer: the lineage's `trainer` read as one of the pipeline's trainers (`builtin-logreg` is `logreg`,
 * `builtin-gbdt` is `gbdt`, `sagemaker-xgboost` is `xgboost`, and each trainer's own name). A lineage naming any other
 * trainer (a version registered by hand, or made by the user's SageMaker image) leaves the run's trainer to the
 * pipeline's config and says so in the request's `reason`: the critical drift still gets a candidate, and whoever
 * approves it reads that it comes from another trainer than the champion's.
 *
 * The hyperparameters (`parameters`): the lineage's, under the names the run's trainer takes, only when the run trains
 * with the lineage's trainer and only values that trainer accepts (contracts/hyperparameters.ts, the declaration the
 * pipeline checks runs with); for `xgboost` not `tree_method` (a name, from `pipeline.xgboost.hyperparameters`), `seed`
 * (the run's seed) nor `scale_pos_weight` (derived from the class weight).
 * Nothing of a `sagemaker` (user image) lineage: its parameters are the image's own business.
 */
import { TRAINER_HYPERPARAMETERS, acceptsValue } from '#contracts/hyperparameters.ts';
import { TRAINERS, missingTokensConfig, type TrainerKind } from '#contracts/pipeline.ts';
import { RETRAIN_REQUESTER } from '#contracts/drift.ts';
import { checkThresholdPolicy, type ThresholdPolicy } from '#core/metrics/threshold.ts';
import type { ModelMetadata } from '#core/model/metadata.ts';
import { GBDT_TRAINER, TRAINER, type ClassWeight } from '#core/training/train-binary-classifier.ts';
import { XGBOOST_TRAINER } from '#core/training/xgboost-data.ts';

/** How a model is retrained (from the pipeline config); the production version's lineage fills the gaps. */
export interface RetrainTarget {
  readonly datasetKey?: string;
  readonly target?: string;
  readonly positiveLabel?: string;
  /** `pipeline.models.NAME.trainer`. */
  readonly trainer?: TrainerKind;
  /** `pipeline.models.NAME.decisionThreshold`. */
  readonly decisionThreshold?: ThresholdPolicy;
  /** `pipeline.models.NAME.classWeight`. */
  readonly classWeight?: ClassWeight;
  /** `pipeline.models.NAME.missingTokens`. */
  readonly missingTokens?: readonly string[];
}

/** How a drift-triggered training run promotes its version. */
export interface RetrainPromotion {
  readonly mode: 'production' | 'canary';
  readonly approvalRequired: boolean;
}

/** The pipeline trainer of each trainer name a lineage records (our trainers' names, and the pipeline's own). */
const LINEAGE_TRAINERS: Readonly<Record<string, TrainerKind>> = {
  ...Object.fromEntries(TRAINERS.map((trainer) => [trainer, trainer])),
  [TRAINER]: 'logreg',
  [GBDT_TRAINER]: 'gbdt',
  [XGBOOST_TRAINER]: 'xgboost',
};

/** The pipeline trainer that made a version, or undefined when its lineage names none the pipeline runs. */
export function lineageTrainer(metadata: ModelMetadata): TrainerKind | undefined {
  const name: unknown = metadata.lineage?.trainer;
  return typeof name === 'string' && Object.hasOwn(LINEAGE_TRAINERS, name) ? LINEAGE_TRAINERS[name] : undefined;
}

/** A lineage value as a number: numbers, and the strings the `xgboost` lineage records them as. */
function numberOf(value: unknown): number | undefined {
  const number = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : Number.NaN;
  return Number.isFinite(number) ? number : undefined;
}

/**
 * The run `parameters` the lineage's hyperparameters give a run of `trainer`: each hyperparameter the trainer takes
 * (contracts/hyperparameters.ts, the declaration `normalizeRun` checks a run with) whose recorded value is in its
 * range, under the run's name for it. Not one a run setting derives (`scale_pos_weight`, from the class weight).
 */
export function inheritedParameters(trainer: TrainerKind, lineageParameters: Readonly<Record<string, unknown>> | undefined): Record<string, number> {
  const parameters: Record<string, number> = {};
  if (trainer === 'sagemaker' || lineageParameters === undefined) return parameters;
  for (const [name, parameter] of Object.entries(TRAINER_HYPERPARAMETERS[trainer])) {
    if (parameter.derivedFrom !== undefined || !Object.hasOwn(lineageParameters, parameter.recordedAs)) continue;
    const value = numberOf(lineageParameters[parameter.recordedAs]);
    if (acceptsValue(parameter, value)) parameters[name] = value;
  }
  return parameters;
}

/** The policy that chose the version's decision threshold (`output.threshold_selection`), as a run's `decision_threshold`. */
export function inheritedDecisionThreshold(output: ModelMetadata['output'] | undefined): ThresholdPolicy | undefined {
  const selection = output?.threshold_selection;
  if (selection === undefined) return undefined;
  const parameters = selection.parameters ?? {};
  let policy: ThresholdPolicy;
  switch (selection.policy) {
    case 'maxF1':
    case 'youden':
      policy = { policy: selection.policy };
      break;
    case 'targetRecall':
      policy = { policy: 'targetRecall', recall: parameters['recall'] ?? Number.NaN };
      break;
    case 'cost':
      policy = { policy: 'cost', falsePositive: parameters['false_positive_cost'] ?? Number.NaN, falseNegative: parameters['false_negative_cost'] ?? Number.NaN };
      break;
    case 'fixed':
      policy = { policy: 'fixed', threshold: output?.threshold ?? Number.NaN };
      break;
    default:
      return undefined;
  }
  try {
    checkThresholdPolicy(policy);
  } catch {
    return undefined;
  }
  return policy;
}

/** The class weighting the lineage records (`class_weight`; the built-in trainers and, since it records it, `xgboost`). */
function inheritedClassWeight(lineageParameters: Readonly<Record<string, unknown>> | undefined): ClassWeight | undefined {
  const value = lineageParameters?.['class_weight'];
  return value === 'none' || value === 'balanced' ? value : undefined;
}

/** The missing tokens the lineage records (`missing_tokens`, a JSON array), when a run's input would accept them. */
function inheritedMissingTokens(lineageParameters: Readonly<Record<string, unknown>> | undefined): string[] | undefined {
  const value = lineageParameters?.['missing_tokens'];
  if (typeof value !== 'string') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  const tokens = missingTokensConfig.safeParse(parsed);
  return tokens.success ? tokens.data : undefined;
}

/** The training run input of a retrain request: the pipeline's settings for the model, else the production version's lineage. */
export function retrainInput(
  model: string,
  metadata: ModelMetadata,
  target: RetrainTarget | undefined,
  runId: string,
  reason: string,
  promotion?: RetrainPromotion,
) {
  const lineage = metadata.lineage;
  const madeBy = lineageTrainer(metadata);
  const trainer = target?.trainer ?? madeBy;
  // Lineage parameters mean something only to a trainer we know, and only the one that made the version.
  const known = madeBy === undefined ? undefined : lineage.parameters;
  const parameters = trainer !== undefined && trainer === madeBy ? inheritedParameters(trainer, known) : {};
  const decisionThreshold = target?.decisionThreshold ?? inheritedDecisionThreshold(metadata.output);
  const classWeight = target?.classWeight ?? inheritedClassWeight(known);
  const missingTokens = target?.missingTokens ?? inheritedMissingTokens(known);
  const note =
    trainer === undefined
      ? `; the production version's trainer ${JSON.stringify(lineage?.trainer ?? null)} is not one the pipeline runs (${TRAINERS.join(', ')}), so the run uses the pipeline's trainer for the model (set pipeline.models.${model}.trainer to choose it)`
      : '';
  return {
    ...(promotion === undefined ? {} : { promotion_mode: promotion.mode, approval_required: promotion.approvalRequired }),
    run_id: runId,
    model,
    // `mlops train` stores datasets content-addressed, so the production version's data is here.
    dataset: { key: target?.datasetKey ?? `datasets/${model}/${lineage.data_sha256}.csv` },
    target: target?.target ?? lineage.target,
    positive_label: target?.positiveLabel ?? metadata.output.positive_label,
    ...(trainer === undefined ? {} : { trainer }),
    ...(Object.keys(parameters).length === 0 ? {} : { parameters }),
    ...(decisionThreshold === undefined ? {} : { decision_threshold: decisionThreshold }),
    ...(classWeight === undefined ? {} : { class_weight: classWeight }),
    ...(missingTokens === undefined ? {} : { missing_tokens: [...missingTokens] }),
    requested_by: RETRAIN_REQUESTER,
    reason: `${reason}${note}`,
  };
}
