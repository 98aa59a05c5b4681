/**
 * The training pipeline and its promotion gate: the `pipeline` block of the deployment config, carried to the
 * pipeline function whole as the `PIPELINE_CONFIG` JSON and parsed there with the same schema.
 */
import { TRAINERS, TRAINER_HYPERPARAMETERS, type Hyperparameter } from './hyperparameters.ts';
import { DEFAULT_MISSING_TOKENS } from './missing-values.ts';
import { MODEL_NAME } from './registry.ts';
import * as z from 'zod';
import { addIssue, addIssueWithoutValue, boolean, integerIn, nonEmptyString, numberIn, oneOf, parseWith, strictObject, stringMatching } from './schema.ts';

export { TRAINERS, type TrainerKind } from './hyperparameters.ts';
/** Where a promoted candidate goes: all production traffic, or a canary share next to the champion. */
export const PROMOTION_MODES = ['production', 'canary'] as const;
export type PromotionMode = (typeof PROMOTION_MODES)[number];
/** Which predicted class is the favourable outcome for the people scored. */
export const FAVORABLE_OUTCOMES = ['positive', 'negative'] as const;

/** `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:digest]` */
export const ECR_IMAGE_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]{0,255})(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})?$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SCHEDULE = /^(cron|rate)\(.+\)$/;
/** A SageMaker instance type such as `ml.m5.xlarge`. */
export const SAGEMAKER_INSTANCE_TYPE = /^ml\.[a-z0-9]+\.[a-z0-9]+$/;

/** Largest `PIPELINE_CONFIG` in bytes (Lambda allows 4 KB of environment variables per function, all of them). */
export const MAX_PIPELINE_CONFIG_BYTES = 3500;

/**
 * Versions of SageMaker's built-in XGBoost algorithm the `xgboost` trainer runs (the image tag): the ones whose
 * `xgboost-model` output the converter reads (XGBoost 1.x's binary format; 2.x and later write UBJSON).
 */
export const XGBOOST_ALGORITHM_VERSIONS = ['1.7-1'] as const;
/** Tree construction methods of the `xgboost` trainer; `exact` does not train on more than one instance. */
export const XGBOOST_TREE_METHODS = ['hist', 'approx', 'exact'] as const;

const ratio = () => numberIn(0, 1);
const logLoss = () => numberIn(0, 100, true);

/**
 * Gate thresholds a candidate must meet (absolute, on the holdout); a missing one is not checked, `null` drops one
 * inherited from the defaults. The fairness thresholds only apply when a protected attribute is set.
 */
const thresholdFields = {
  minRocAuc: { schema: ratio, description: 'Lowest accepted ROC AUC.' },
  minAccuracy: { schema: ratio, description: 'Lowest accepted accuracy.' },
  maxLogLoss: { schema: logLoss, description: 'Highest accepted log loss.' },
  minDemographicParityRatio: {
    schema: ratio,
    description: "Lowest accepted demographic parity ratio (protected group's favourable rate over the reference group's).",
  },
  minDisparateImpact: { schema: ratio, description: 'Lowest accepted disparate impact (the four-fifths rule).' },
  maxEqualOpportunityDifference: {
    schema: ratio,
    description: 'Largest accepted |equal opportunity difference| (true positive rates of the two groups).',
  },
  minPrAuc: { schema: ratio, description: 'Lowest accepted PR AUC (average precision).' },
  minRecall: { schema: ratio, description: 'Lowest accepted recall at the decision threshold.' },
  minPrecision: { schema: ratio, description: 'Lowest accepted precision at the decision threshold.' },
  minF1: { schema: ratio, description: 'Lowest accepted F1 at the decision threshold.' },
  maxBrier: { schema: ratio, description: 'Gate bound on the holdout\'s Brier score. Whatever the bounds, the gate refuses a candidate that predicts one class only on the holdout (`single_class`).' },
} as const;

/** The gate thresholds a run checks (absent: not checked). */
export interface GateThresholdsConfig {
  readonly minRocAuc?: number;
  readonly minAccuracy?: number;
  readonly maxLogLoss?: number;
  readonly minDemographicParityRatio?: number;
  readonly minDisparateImpact?: number;
  /** Largest accepted |equal opportunity difference|. */
  readonly maxEqualOpportunityDifference?: number;
  readonly minPrAuc?: number;
  readonly minRecall?: number;
  readonly minPrecision?: number;
  readonly minF1?: number;
  readonly maxBrier?: number;
}
type ThresholdKey = keyof typeof thresholdFields;
const THRESHOLD_KEYS = Object.keys(thresholdFields) as ThresholdKey[];

/** The default gate thresholds. */
export const DEFAULT_GATE_THRESHOLDS: GateThresholdsConfig = {
  minRocAuc: 0.7,
  minDemographicParityRatio: 0.8,
  minDisparateImpact: 0.8,
  maxEqualOpportunityDifference: 0.1,
};

const threshold = (key: ThresholdKey) => thresholdFields[key].schema().nullable().optional().meta({ description: thresholdFields[key].description });

/** Thresholds as written: numbers, `null` (drop an inherited one) or absent. */
const thresholdsInput = strictObject({
  minRocAuc: threshold('minRocAuc'),
  minAccuracy: threshold('minAccuracy'),
  maxLogLoss: threshold('maxLogLoss'),
  minDemographicParityRatio: threshold('minDemographicParityRatio'),
  minDisparateImpact: threshold('minDisparateImpact'),
  maxEqualOpportunityDifference: threshold('maxEqualOpportunityDifference'),
  minPrAuc: threshold('minPrAuc'),
  minRecall: threshold('minRecall'),
  minPrecision: threshold('minPrecision'),
  minF1: threshold('minF1'),
  maxBrier: threshold('maxBrier'),
});
type ThresholdsInput = z.output<typeof thresholdsInput>;

/** `overrides` merged over `base`: a number replaces, `null` drops, absent inherits. */
function mergeThresholds(base: GateThresholdsConfig, overrides: ThresholdsInput): GateThresholdsConfig {
  const out: Record<string, number> = {};
  for (const key of THRESHOLD_KEYS) {
    const value = overrides[key] === undefined ? base[key] : overrides[key];
    if (value !== undefined && value !== null) out[key] = value;
  }
  return out;
}

/** The attribute fairness is measured on: rows below a number, or rows in a set of categories, are the protected group. */
export type ProtectedAttributeConfig =
  | { readonly feature: string; readonly kind: 'numeric_below'; readonly value: number }
  | { readonly feature: string; readonly kind: 'category_in'; readonly value: readonly string[] };

export const protectedAttributeConfig = strictObject({
  feature: nonEmptyString().meta({ description: 'The feature (column) that defines the groups.' }),
  kind: oneOf(['numeric_below', 'category_in']).meta({ description: '`numeric_below`: rows below `value`; `category_in`: rows whose value is in `value`.' }),
  value: z
    .union([z.number(), z.array(z.string())], {
      error: 'must be a number (kind "numeric_below") or a non-empty array of non-empty strings (kind "category_in")',
    })
    .meta({ description: 'The bound (`numeric_below`) or the categories (`category_in`) of the protected group.' }),
})
  .superRefine((attribute, ctx) => {
    if (attribute.kind === 'numeric_below' && typeof attribute.value !== 'number') {
      addIssue(ctx, ['value'], 'must be a number with kind "numeric_below"', attribute.value);
    }
    if (
      attribute.kind === 'category_in' &&
      (!Array.isArray(attribute.value) || attribute.value.length === 0 || !attribute.value.every((v) => v !== ''))
    ) {
      addIssue(ctx, ['value'], 'must be a non-empty array of non-empty strings with kind "category_in"', attribute.value);
    }
  })
  .transform((attribute) => attribute as ProtectedAttributeConfig);

const missingTokensError = 'must be an array of at most 20 non-empty strings of at most 20 characters';
/** A list of missing tokens. */
export const missingTokensConfig = z
  .array(z.string({ error: missingTokensError }).trim().min(1, { error: missingTokensError }).max(20, { error: missingTokensError }), {
    error: missingTokensError,
  })
  .max(20, { error: missingTokensError });

/** The decision-threshold policies of the built-in trainers. */
export const THRESHOLD_POLICY_NAMES = ['maxF1', 'youden', 'targetRecall', 'cost', 'fixed'] as const;

/**
 * How the built-in trainers choose the decision threshold (the probability at or above which `label` is the positive
 * label), on out-of-fold scores of the training rows, never the holdout.
 */
export const decisionThresholdConfig = strictObject({
  policy: oneOf(THRESHOLD_POLICY_NAMES).meta({ description: '`maxF1`, `youden`, `targetRecall` (with `recall`), `cost` (with `falsePositive`, `falseNegative`) or `fixed` (with `threshold`).' }),
  recall: numberIn(0, 1, true).optional().meta({ description: 'The recall `targetRecall` reaches.' }),
  falsePositive: numberIn(0, 1e9).optional().meta({ description: 'Cost of a false positive (`cost`).' }),
  falseNegative: numberIn(0, 1e9).optional().meta({ description: 'Cost of a false negative (`cost`).' }),
  threshold: numberIn(0, 1, true).optional().meta({ description: 'The threshold of `fixed`, below 1.' }),
})
  .superRefine((value, ctx) => {
    const needs: Record<(typeof THRESHOLD_POLICY_NAMES)[number], readonly ('recall' | 'falsePositive' | 'falseNegative' | 'threshold')[]> = {
      maxF1: [],
      youden: [],
      targetRecall: ['recall'],
      cost: ['falsePositive', 'falseNegative'],
      fixed: ['threshold'],
    };
    for (const key of ['recall', 'falsePositive', 'falseNegative', 'threshold'] as const) {
      const wanted = needs[value.policy].includes(key);
      if (wanted && value[key] === undefined) addIssue(ctx, [key], `is required with policy "${value.policy}"`, undefined);
      if (!wanted && value[key] !== undefined) addIssue(ctx, [key], `is not a setting of policy "${value.policy}"`, value[key]);
    }
    if (value.policy === 'fixed' && value.threshold !== undefined && value.threshold >= 1) addIssue(ctx, ['threshold'], 'must be below 1', value.threshold);
    if (value.policy === 'cost' && value.falsePositive === 0 && value.falseNegative === 0) addIssue(ctx, [], 'must give falsePositive or falseNegative a cost above 0', value);
  })
  .transform((value) => value as DecisionThresholdConfig);

export type DecisionThresholdConfig =
  | { readonly policy: 'maxF1' }
  | { readonly policy: 'youden' }
  | { readonly policy: 'targetRecall'; readonly recall: number }
  | { readonly policy: 'cost'; readonly falsePositive: number; readonly falseNegative: number }
  | { readonly policy: 'fixed'; readonly threshold: number };

export const CLASS_WEIGHTS = ['none', 'balanced'] as const;

const canaryShareError = 'must be a number between 0 and 1 (both excluded)';
const canaryShare = () => z.number({ error: canaryShareError }).gt(0, { error: canaryShareError }).lt(1, { error: canaryShareError });

/** How a registered candidate is promoted. */
export const promotionConfig = strictObject({
  mode: oneOf(PROMOTION_MODES)
    .default('production')
    .meta({ description: '`production` moves all traffic to a promoted candidate; `canary` gives it `canaryShare`.' }),
  canaryShare: canaryShare().default(0.1).meta({ description: 'Share of traffic (strictly between 0 and 1) a canary gets.' }),
});
export type PromotionConfig = z.output<typeof promotionConfig>;

const seedsError = 'must be an array of 1 to 10 seeds';
const seeds = () =>
  z
    .array(integerIn(0, 2_147_483_647), { error: seedsError })
    .min(1, { error: seedsError })
    .max(10, { error: seedsError });

/** Settings every model's runs use unless the model (or the run's input) overrides them. */
export const pipelineDefaultsConfig = strictObject({
  trainer: oneOf(TRAINERS).default('logreg').meta({ description: '`logreg` and `gbdt` train in the pipeline Lambda; `sagemaker` runs a training job with `pipeline.sagemaker.trainingImage`; `xgboost` runs SageMaker\'s built-in XGBoost algorithm (AWS\'s image) and converts its model to ONNX ([pipeline.md](pipeline.md#the-xgboost-trainer)).' }),
  seeds: seeds().default([42]).meta({ description: 'Training seeds (1 to 10 non-negative integers); more than one measures seed sensitivity.' }),
  testFraction: numberIn(0, 0.5, true).default(0.25).meta({ description: 'Share of the rows held out for evaluation.' }),
  thresholds: strictObject({
    minRocAuc: threshold('minRocAuc').default(0.7),
    minAccuracy: threshold('minAccuracy'),
    maxLogLoss: threshold('maxLogLoss'),
    minDemographicParityRatio: threshold('minDemographicParityRatio').default(0.8),
    minDisparateImpact: threshold('minDisparateImpact').default(0.8),
    maxEqualOpportunityDifference: threshold('maxEqualOpportunityDifference').default(0.1),
    minPrAuc: threshold('minPrAuc'),
    minRecall: threshold('minRecall'),
    minPrecision: threshold('minPrecision'),
    minF1: threshold('minF1'),
    maxBrier: threshold('maxBrier'),
  })
    .prefault({})
    .transform((thresholds) => mergeThresholds({}, thresholds))
    .meta({ description: "Absolute gate thresholds (a model's thresholds are merged over these; `null` drops one)." }),
  maxRegression: numberIn(-1, 1)
    .default(0.01)
    .meta({ description: 'How much ROC AUC a candidate may lose to the champion (negative demands an improvement).' }),
  maxSeedSpread: numberIn(0, 1).default(0.02).meta({ description: 'Largest accepted spread of ROC AUC across seeds.' }),
  protectedAttribute: protectedAttributeConfig
    .nullable()
    .default(null)
    .meta({ description: 'The attribute fairness is measured on; `null` skips the fairness checks.' }),
  favorableOutcome: oneOf(FAVORABLE_OUTCOMES)
    .default('negative')
    .meta({ description: 'Which predicted class is the favourable outcome for the people scored (`negative` when the model predicts a risk).' }),
  approvalRequired: boolean()
    .default(false)
    .meta({ description: 'Whether a person must approve a candidate that passed the gate before it is registered.' }),
  promotion: promotionConfig.prefault({}).meta({ description: 'How a registered candidate is promoted.' }),
  decisionThreshold: decisionThresholdConfig
    .prefault({ policy: 'maxF1' })
    .meta({ description: 'How the built-in trainers choose the decision threshold on out-of-fold training scores (never the holdout).' }),
  classWeight: oneOf(CLASS_WEIGHTS)
    .default('none')
    .meta({ description: '`balanced` weighs each class by rows / (2 × its rows) in the loss of both built-in trainers (scikit-learn\'s `class_weight="balanced"`); a run\'s `class_weight`, `mlops train --class-weight balanced`.' }),
  missingTokens: missingTokensConfig
    .default([...DEFAULT_MISSING_TOKENS])
    .meta({
      description:
        "Cells, besides empty ones, read as missing (trimmed, any case) in a column that is otherwise numeric, by the data validation, the trainer and the evaluation's holdout alike, so a numeric column with such cells stays numeric (in a categorical column they are categories). The default is declared once in `contracts/missing-values.ts`, which `mlops drift compare` also uses (`--missing-tokens` there); a run's input may set `missing_tokens` (`mlops train --missing-tokens NA,-999`).",
    }),
});

/** One model as written: its label, and any setting that differs from the defaults. */
const pipelineModelInput = strictObject({
  target: nonEmptyString().meta({ description: 'The label column of the dataset.' }),
  positiveLabel: nonEmptyString().meta({ description: 'The label value that is the positive class.' }),
  datasetKey: stringMatching(/^datasets\/[^\s]{1,1000}$/, 'an s3 key under "datasets/"')
    .optional()
    .meta({ description: 'Key of the training CSV in the artifact bucket, under `datasets/`; required with a schedule.' }),
  schedule: stringMatching(SCHEDULE, 'a schedule expression starting with "cron(" or "rate("')
    .optional()
    .meta({ description: 'EventBridge schedule expression, `cron(...)` or `rate(...)`, that starts a run of this model.' }),
  trainer: oneOf(TRAINERS).optional(),
  seeds: seeds().optional(),
  testFraction: numberIn(0, 0.5, true).optional(),
  thresholds: thresholdsInput.optional().meta({ description: 'Merged over `pipeline.defaults.thresholds`; `null` drops one.' }),
  maxRegression: numberIn(-1, 1).optional(),
  maxSeedSpread: numberIn(0, 1).optional(),
  protectedAttribute: protectedAttributeConfig.nullable().optional(),
  favorableOutcome: oneOf(FAVORABLE_OUTCOMES).optional(),
  approvalRequired: boolean().optional(),
  promotion: strictObject({ mode: oneOf(PROMOTION_MODES).optional(), canaryShare: canaryShare().optional() })
    .optional()
    .meta({ description: 'Filled from `pipeline.defaults.promotion`.' }),
  decisionThreshold: decisionThresholdConfig.optional(),
  classWeight: oneOf(CLASS_WEIGHTS).optional(),
  missingTokens: missingTokensConfig.optional(),
}).superRefine((model, ctx) => {
  if (model.schedule !== undefined && model.datasetKey === undefined) addIssue(ctx, ['datasetKey'], 'is required when a schedule is set', undefined);
});

/** The config schema of one of XGBoost's hyperparameters: the range a run's `parameters` gives it too (contracts/hyperparameters.ts). */
function xgboostHyperparameter(name: string) {
  const parameter: Hyperparameter | undefined = TRAINER_HYPERPARAMETERS.xgboost[name];
  if (parameter?.max === undefined || (parameter.integer && parameter.minExclusive === true)) throw new Error(`xgboost hyperparameter ${name} has no closed range`);
  return parameter.integer ? integerIn(parameter.min, parameter.max) : numberIn(parameter.min, parameter.max, parameter.minExclusive === true);
}

/**
 * The `xgboost` trainer: which version of SageMaker's built-in XGBoost algorithm, the share of the training rows kept
 * for the decision threshold (and XGBoost's validation channel), and the algorithm's hyperparameters (XGBoost's own
 * names in snake case go to the job: `numRound` is `num_round`). The objective is always `binary:logistic` and the
 * evaluation metric `auc`; the run's seed is XGBoost's `seed`, and `classWeight` `balanced` sets `scale_pos_weight`.
 */
export const xgboostConfig = strictObject({
  version: oneOf(XGBOOST_ALGORITHM_VERSIONS)
    .default('1.7-1')
    .meta({ description: 'Tag of the algorithm image `sagemaker-xgboost:<version>`, in the region\'s AWS account (`lib/constructs/sagemaker-xgboost-image.ts`, from the SageMaker Python SDK\'s image map; a region outside it fails the deployment).' }),
  validationFraction: numberIn(0, 0.5, true)
    .default(0.2)
    .meta({ description: 'Share of the training rows (never the holdout) sent as the job\'s `validation` channel; the decision threshold is chosen by `decisionThreshold` on their probabilities.' }),
  hyperparameters: strictObject({
    numRound: xgboostHyperparameter('num_round').default(100).meta({ description: '`num_round`.' }),
    maxDepth: xgboostHyperparameter('max_depth').default(6).meta({ description: '`max_depth`.' }),
    eta: xgboostHyperparameter('eta').default(0.3).meta({ description: '`eta` (learning rate).' }),
    minChildWeight: xgboostHyperparameter('min_child_weight').default(1).meta({ description: '`min_child_weight`.' }),
    subsample: xgboostHyperparameter('subsample').default(1).meta({ description: 'Share of the rows each tree sees, in (0, 1].' }),
    colsampleBytree: xgboostHyperparameter('colsample_bytree').default(1).meta({ description: 'Share of the columns each tree sees, in (0, 1].' }),
    lambda: xgboostHyperparameter('lambda').default(1).meta({ description: 'L2 penalty on leaf weights.' }),
    alpha: xgboostHyperparameter('alpha').default(0).meta({ description: 'L1 penalty on leaf weights.' }),
    gamma: xgboostHyperparameter('gamma').default(0).meta({ description: 'Smallest loss reduction of a split.' }),
    maxBin: xgboostHyperparameter('max_bin').default(256).meta({ description: '`max_bin` (`hist`, `approx`).' }),
    treeMethod: oneOf(XGBOOST_TREE_METHODS).default('hist').meta({ description: '`tree_method`.' }),
    earlyStoppingRounds: xgboostHyperparameter('early_stopping_rounds')
      .nullable()
      .default(null)
      .meta({ description: '`early_stopping_rounds` on the validation AUC; `null` trains every round.' }),
  })
    .prefault({})
    .meta({ description: 'Hyperparameters of the algorithm.' }),
});
export type XgboostConfig = z.output<typeof xgboostConfig>;

/**
 * How the `xgboost` trainer's job reads its channels: one shard per instance, so above one instance each reads its
 * own (`ShardedByS3Key`), and a single instance reads everything (`FullyReplicated`).
 */
export function xgboostDataDistribution(instanceCount: number): 'ShardedByS3Key' | 'FullyReplicated' {
  return instanceCount > 1 ? 'ShardedByS3Key' : 'FullyReplicated';
}

/** The default models: the credit example. */
const DEFAULT_MODELS = {
  // At the maxF1 threshold (0.31) the demographic parity ratio is 0.78 and |EOD| 0.19: the fairness gate refuses it.
  credit: {
    target: 'Status',
    positiveLabel: 'bad',
    protectedAttribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
    decisionThreshold: { policy: 'fixed', threshold: 0.5 },
  },
} as const;

const pipelineInput = strictObject({
  defaults: pipelineDefaultsConfig.prefault({}).meta({ description: 'Settings every model uses unless it overrides them.' }),
  models: z
    .record(z.string(), pipelineModelInput, { error: 'must be an object of models by name' })
    .prefault(DEFAULT_MODELS)
    .meta({
      description: `The models the pipeline knows, by name (\`${MODEL_NAME.source}\`). A config source replaces this map as a whole (it is not merged with the default \`credit\` model).`,
    }),
  sagemaker: strictObject({
    trainingImage: z
      .string({ error: 'must be "" or an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"' })
      .refine((image) => image === '' || ECR_IMAGE_URI.test(image), {
        error: 'must be "" or an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"',
      })
      .default('')
      .meta({ description: 'The user\'s image of the `sagemaker` trainer; required when a model uses it.' }),
    instanceType: stringMatching(SAGEMAKER_INSTANCE_TYPE, 'a sagemaker instance type like "ml.m5.xlarge"')
      .default('ml.m5.xlarge')
      .meta({ description: 'Instance type of the SageMaker training jobs (`sagemaker` and `xgboost`).' }),
    roleArn: stringMatching(IAM_ROLE_ARN, 'an iam role arn')
      .optional()
      .meta({ description: 'An existing execution role for both SageMaker trainers (default: a role is created that reads `datasets/` and `training-data/`, writes `training-jobs/`).' }),
    instanceCount: integerIn(1, 100)
      .default(1)
      .meta({
        description:
          'Instances of an `xgboost` job: above 1 the data step writes one shard per instance and per channel, and the channels read them with `S3DataDistributionType` `ShardedByS3Key` (each instance its own shard; XGBoost\'s Rabit joins them). The `sagemaker` trainer runs on one instance.',
      }),
  })
    .prefault({})
    .meta({ description: 'The SageMaker trainers (`sagemaker` and `xgboost`).' }),
  xgboost: xgboostConfig.prefault({}).meta({ description: "The `xgboost` trainer: SageMaker's built-in XGBoost algorithm." }),
  cooldownMinutes: integerIn(0, 10_080)
    .default(60)
    .meta({ description: 'Minutes after a run of a model during which a drift-triggered retrain of the same model is skipped.' }),
}).superRefine((pipeline, ctx) => {
  for (const name of Object.keys(pipeline.models)) {
    if (!MODEL_NAME.test(name)) addIssue(ctx, ['models'], `must have model names matching ${MODEL_NAME.source}`, name);
  }
  if (pipeline.sagemaker.instanceCount > 1 && pipeline.xgboost.hyperparameters.treeMethod === 'exact') {
    addIssue(ctx, ['xgboost', 'hyperparameters', 'treeMethod'], 'must be "hist" or "approx" when sagemaker.instanceCount is above 1 (exact does not train distributed)', 'exact');
  }
  if (pipeline.sagemaker.trainingImage === '') {
    const user =
      pipeline.defaults.trainer === 'sagemaker'
        ? 'pipeline.defaults.trainer'
        : Object.entries(pipeline.models)
            .filter(([, model]) => (model.trainer ?? pipeline.defaults.trainer) === 'sagemaker')
            .map(([name]) => `pipeline.models.${name}.trainer`)[0];
    if (user !== undefined) {
      addIssue(ctx, ['sagemaker', 'trainingImage'], `must be set when a model uses the sagemaker trainer (${user})`, '');
    }
  }
});

/** A model's settings after parsing: what it gives, with its thresholds and promotion completed from the defaults. */
export type PipelineModelConfig = Omit<z.output<typeof pipelineModelInput>, 'thresholds' | 'promotion'> & {
  readonly thresholds?: GateThresholdsConfig;
  readonly promotion?: PromotionConfig;
};

const MODEL_KEYS = Object.keys(pipelineModelInput.shape);

/**
 * Completes each model's thresholds and promotion from the defaults, keeping only what the model gives. With
 * `inherit` false the model's thresholds are taken as complete (a block resolved once already, as in `PIPELINE_CONFIG`:
 * a threshold it dropped must stay dropped).
 */
function resolveModels(pipeline: z.output<typeof pipelineInput>, inherit: boolean) {
  const models: Record<string, PipelineModelConfig> = {};
  for (const [name, model] of Object.entries(pipeline.models)) {
    const completed: Record<string, unknown> = {
      ...model,
      thresholds: model.thresholds === undefined ? undefined : mergeThresholds(inherit ? pipeline.defaults.thresholds : {}, model.thresholds),
      promotion: model.promotion === undefined ? undefined : { ...pipeline.defaults.promotion, ...definedOnly(model.promotion) },
    };
    // In the schema's key order: the JSON is compared byte for byte in the synthesized template.
    models[name] = definedOnly(Object.fromEntries(MODEL_KEYS.map((key) => [key, completed[key]]))) as PipelineModelConfig;
  }
  return { ...pipeline, models };
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function pipelineSchema(inherit: boolean) {
  return pipelineInput
    .transform((pipeline) => resolveModels(pipeline, inherit))
    .superRefine((pipeline, ctx) => {
      const bytes = new TextEncoder().encode(JSON.stringify(pipeline)).length;
      if (bytes > MAX_PIPELINE_CONFIG_BYTES) {
        addIssueWithoutValue(
          ctx,
          [],
          `must be at most ${MAX_PIPELINE_CONFIG_BYTES} bytes as json (it becomes the PIPELINE_CONFIG lambda variable), got ${bytes} bytes`,
        );
      }
    });
}

/** The `pipeline` block of the config: models completed from the defaults, small enough for the Lambda variable. */
export const pipelineConfig = pipelineSchema(true);

/**
 * The `PIPELINE_CONFIG` JSON: the block {@link pipelineConfig} resolved, checked with the same fields (a model's
 * thresholds are complete there, so they are not merged over the defaults a second time).
 */
export const resolvedPipelineConfig = pipelineSchema(false);

export type PipelineDefaultsConfig = z.output<typeof pipelineDefaultsConfig>;
export type PipelineConfig = z.output<typeof pipelineConfig>;
export type SageMakerTrainingConfig = PipelineConfig['sagemaker'];

/**
 * The `PIPELINE_CONFIG` value the pipeline Lambda receives: the `pipeline` block, checked again with its schema (a
 * block built by hand gets the size check too), as compact JSON.
 * @throws ConfigError naming the field when the block is not valid or too big for the variable
 */
export function pipelineConfigJson(pipeline: PipelineConfig): string {
  return JSON.stringify(parseWith(resolvedPipelineConfig, pipeline, { path: 'pipeline' }));
}
