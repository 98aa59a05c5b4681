/**
 * The `xgboost` trainer's share of the work around SageMaker's built-in XGBoost algorithm: what goes in (the training
 * rows encoded by our preprocessing, label first, no header, one shard per instance) and what comes out (the model's
 * metadata completed with the threshold and the holdout metrics once the ONNX artifact exists).
 *
 * The split is the built-in trainers' (`splitLabelledCsv`: the same holdout the evaluation scores), and the training
 * rows are split once more, stratified, into the rows XGBoost fits and the validation rows the decision threshold is
 * chosen on (XGBoost's `validation` channel too). The holdout is never sent to the job.
 */
import { TrainingDataError, type FeatureColumn } from '#core/data/table.ts';
import { classificationMetrics } from '#core/metrics/classification.ts';
import { chooseThreshold, type ThresholdPolicy } from '#core/metrics/threshold.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { FeatureRow, ModelMetadata } from '#core/model/metadata.ts';
import { profileFeatures, profileValues } from '#core/profile/baseline.ts';
import { acceptedNames } from '#contracts/hyperparameters.ts';
import type { XgboostConfig } from '#contracts/pipeline.ts';
import { splitLabelledCsv, type LabelledRows } from './holdout.ts';
import { fitPreprocessing, type FittedPreprocessing } from './preprocessing.ts';
import { stratifiedSplit } from './split.ts';
import { MAX_ENCODED_COLUMNS, type ClassWeight } from './train-binary-classifier.ts';

/** The trainer recorded in the lineage, and the algorithm in the metadata. */
export const XGBOOST_TRAINER = 'sagemaker-xgboost';
export const XGBOOST_ALGORITHM = 'xgboost';

/** The `xgboost` trainer's settings as the camel-case config names them, by XGBoost's own hyperparameter names. */
export const XGBOOST_HYPERPARAMETER_NAMES = {
  numRound: 'num_round',
  maxDepth: 'max_depth',
  eta: 'eta',
  minChildWeight: 'min_child_weight',
  subsample: 'subsample',
  colsampleBytree: 'colsample_bytree',
  lambda: 'lambda',
  alpha: 'alpha',
  gamma: 'gamma',
  maxBin: 'max_bin',
  treeMethod: 'tree_method',
  earlyStoppingRounds: 'early_stopping_rounds',
} as const satisfies Record<keyof XgboostConfig['hyperparameters'], string>;

/** The rows of one run of one seed, split three ways, and the preprocessing fitted on the training rows. */
export interface XgboostSplit {
  /** The feature columns of the data file, as typed. */
  readonly columns: readonly FeatureColumn[];
  readonly features: FittedPreprocessing;
  /** Every training row (fit + validation), for the baseline profile. */
  readonly training: LabelledRows;
  /** The rows XGBoost fits. */
  readonly fit: LabelledRows;
  /** The rows XGBoost validates on and the threshold is chosen on. */
  readonly validation: LabelledRows;
  /** The pipeline's holdout (the evaluation's), never sent to the job. */
  readonly holdout: LabelledRows;
  readonly positiveLabel: string;
  readonly negativeLabel: string;
  /** Rows of the whole data file. */
  readonly rows: number;
}

function pick(rows: LabelledRows, indexes: readonly number[]): LabelledRows {
  return { rows: indexes.map((i) => rows.rows[i] as FeatureRow), labels: Uint8Array.from(indexes, (i) => rows.labels[i] as number) };
}

/**
 * Splits the data file as the pipeline does (holdout by `seed` and `testFraction`), then the training rows into fit
 * and validation rows (stratified, `validationFraction`), and fits the preprocessing on the training rows.
 * @throws TrainingDataError when a part lacks a class or the features encode to no or too many columns
 */
export function splitForXgboost(input: {
  readonly csv: string;
  readonly target: string;
  readonly positiveLabel: string;
  readonly seed: number;
  readonly testFraction: number;
  readonly validationFraction: number;
  /** Cells read as missing in a numeric column besides empty ones (the run's `missing_tokens`). */
  readonly missingTokens?: readonly string[];
}): XgboostSplit {
  const { table, train, holdout } = splitLabelledCsv(input);
  // Its own stream, so the holdout does not move when the validation share changes.
  const inner = stratifiedSplit(train.labels, input.validationFraction, (input.seed ^ 0x7b1d) | 0);
  const fit = pick(train, inner.train);
  const validation = pick(train, inner.holdout);
  for (const [name, part] of [['fit', fit], ['validation', validation]] as const) {
    const positives = part.labels.reduce((sum, label) => sum + label, 0);
    if (positives === 0 || positives === part.labels.length) {
      throw new TrainingDataError(`the ${name} rows of the xgboost trainer hold one class only (${part.labels.length} rows): more data or another validationFraction`);
    }
  }
  const features = fitPreprocessing(table.features, train.rows);
  const { columns } = features.preprocessing;
  if (columns === 0) throw new TrainingDataError('the features encode to zero columns (every feature is empty)');
  if (columns > MAX_ENCODED_COLUMNS) throw new TrainingDataError(`the features encode to ${columns} columns, more than ${MAX_ENCODED_COLUMNS}`);
  return { columns: table.features, features, training: train, fit, validation, holdout, positiveLabel: table.positiveLabel, negativeLabel: table.negativeLabel, rows: table.rows.length };
}

/**
 * The rows as the algorithm reads CSV: the 0/1 label first, then the encoded columns, no header; row i goes to shard
 * i mod `shards` (so every shard has rows when there are at least as many rows as shards).
 * A float32 is written with the digits that read back as the same float32 (JavaScript's shortest form of its double).
 */
export function xgboostCsvShards(preprocessing: FittedPreprocessing['preprocessing'], rows: LabelledRows, shards: number): string[] {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a positive integer, got ${shards}`);
  if (rows.rows.length < shards) throw new TrainingDataError(`${rows.rows.length} rows cannot fill ${shards} shards (one per training instance): fewer instances or more data`);
  const encoded = encodeRows(preprocessing, rows.rows);
  const { columns } = preprocessing;
  const parts: string[][] = Array.from({ length: shards }, () => []);
  for (let r = 0; r < rows.rows.length; r++) {
    const cells = [String(rows.labels[r])];
    for (let c = 0; c < columns; c++) {
      const value = encoded[r * columns + c] as number;
      cells.push(Number.isNaN(value) ? '' : String(value));
    }
    (parts[r % shards] as string[]).push(cells.join(','));
  }
  return parts.map((lines) => `${lines.join('\n')}\n`);
}

/**
 * The job's `HyperParameters` (strings, as SageMaker takes them): the config's, `binary:logistic`, `auc`, the seed,
 * `scale_pos_weight` for `classWeight` `balanced`, then the run's `parameters` by XGBoost's names.
 * @throws RangeError naming a run parameter that is not one of XGBoost's names above
 */
export function xgboostHyperparameters(input: {
  readonly config: XgboostConfig;
  readonly seed: number;
  readonly classWeight: ClassWeight;
  readonly labels: Uint8Array;
  readonly overrides: Readonly<Record<string, number>>;
}): Record<string, string> {
  const out: Record<string, string> = { objective: 'binary:logistic', eval_metric: 'auc', seed: String(input.seed) };
  for (const [key, name] of Object.entries(XGBOOST_HYPERPARAMETER_NAMES)) {
    const value = input.config.hyperparameters[key as keyof typeof XGBOOST_HYPERPARAMETER_NAMES];
    if (value !== null) out[name] = String(value);
  }
  if (input.classWeight === 'balanced') {
    const positives = input.labels.reduce((sum, label) => sum + label, 0);
    out['scale_pos_weight'] = String((input.labels.length - positives) / positives);
  }
  // normalizeRun refused any other name already; a run built without it (a test, an old execution) is refused here.
  const known = acceptedNames('xgboost') ?? [];
  for (const [name, value] of Object.entries(input.overrides)) {
    if (name === 'tree_method') throw new RangeError('run parameter "tree_method" is a name, set it in pipeline.xgboost.hyperparameters.treeMethod');
    if (!known.includes(name)) throw new RangeError(`run parameter "${name}" is not an xgboost trainer parameter (${known.join(', ')})`);
    out[name] = String(value);
  }
  return out;
}

/** The metadata of the model before the job: everything but the threshold, the metrics and the prediction profile. */
export function draftXgboostMetadata(split: XgboostSplit, lineage: { readonly dataSha256: string; readonly target: string; readonly seed: number; readonly parameters: Readonly<Record<string, string>>; readonly version: string }): ModelMetadata {
  return {
    algorithm: XGBOOST_ALGORITHM,
    input_schema: split.features.inputSchema,
    preprocessing: split.features.preprocessing,
    // Replaced by completeXgboostMetadata: 0.5 until the validation rows are scored.
    output: { positive_label: split.positiveLabel, negative_label: split.negativeLabel, threshold: 0.5 },
    metrics: {},
    baseline: profileFeatures(split.columns, split.training.rows),
    lineage: {
      data_sha256: lineage.dataSha256,
      rows: split.rows,
      target: lineage.target,
      seed: lineage.seed,
      parameters: { ...lineage.parameters },
      trainer: XGBOOST_TRAINER,
      trainer_version: lineage.version,
    },
  };
}

/**
 * The metadata of the converted model: the threshold by the run's policy on the validation rows' probabilities, the
 * holdout metrics at it (as the built-in trainers record them) and the holdout's prediction profile.
 */
export function completeXgboostMetadata(
  draft: ModelMetadata,
  policy: ThresholdPolicy,
  validation: { readonly labels: Uint8Array; readonly probabilities: Float64Array },
  holdout: { readonly labels: Uint8Array; readonly probabilities: Float64Array },
  trainRows: number,
): ModelMetadata {
  const chosen = chooseThreshold(validation.labels, validation.probabilities, policy);
  const parameters: Record<string, number> =
    policy.policy === 'targetRecall'
      ? { recall: policy.recall }
      : policy.policy === 'cost'
        ? { false_positive_cost: policy.falsePositive, false_negative_cost: policy.falseNegative }
        : {};
  return {
    ...draft,
    output: {
      ...draft.output,
      threshold: chosen.threshold,
      threshold_selection: { policy: policy.policy, parameters, chosen_on: policy.policy === 'fixed' ? 'fixed' : 'validation', folds: null, objective: chosen.objective },
    },
    metrics: {
      ...classificationMetrics(holdout.labels, holdout.probabilities, chosen.threshold),
      train_rows: trainRows,
      validation_rows: validation.labels.length,
      holdout_rows: holdout.labels.length,
    },
    prediction_profile: profileValues(holdout.probabilities),
  };
}
