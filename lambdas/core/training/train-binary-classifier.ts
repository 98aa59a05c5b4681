/**
 * The built-in trainers: CSV text with a named binary target in, ONNX bytes and model metadata out.
 *
 * Steps: parse → type the columns → stratified split → fit imputation/one-hot/scaling on the
 * training rows → the model (L2 logistic regression by IRLS, or gradient-boosted trees on the
 * encoded columns) → the decision threshold, chosen by a policy on out-of-fold scores of the
 * training rows (k-fold cross-validation: the holdout is never looked at) → metrics on the holdout
 * at that threshold → baseline profile of the training rows → ONNX graph.
 * Both trainers share every step but the model. Deterministic: the same inputs give the same bytes.
 */
import { DEFAULT_MISSING_TOKENS } from '#contracts/missing-values.ts';
import { CsvFormatError, parseCsv } from '#core/data/csv.ts';
import type { LabelledTable } from '#core/data/table.ts';
import { TrainingDataError, toLabelledTable } from '#core/data/table.ts';
import { classificationMetrics } from '#core/metrics/classification.ts';
import { DEFAULT_THRESHOLD_POLICY, checkThresholdPolicy, chooseThreshold, type ThresholdPolicy } from '#core/metrics/threshold.ts';
import { SeededRandom } from '#core/data/random.ts';
import { encodeRows } from '#core/model/encode.ts';
import type { FeatureRow, ModelMetadata, OneHotEncoding } from '#core/model/metadata.ts';
import { buildLogisticRegressionOnnx } from '#core/onnx/logistic-regression-graph.ts';
import { buildTreeEnsembleOnnx } from '#core/onnx/tree-ensemble-graph.ts';
import { profileFeatures, profileValues } from '#core/profile/baseline.ts';
import { DEFAULT_L2, DEFAULT_MAX_ITERATIONS, fitLogisticRegression, predictProbabilities } from './logistic-regression.ts';
import { fitGradientBoosting, predictGradientBoosting, resolveGradientBoostingOptions } from './gradient-boosting.ts';
import type { FittedPreprocessing, Scaling } from './preprocessing.ts';
import { fitPreprocessing } from './preprocessing.ts';
import { stratifiedSplit } from './split.ts';

export { TrainingDataError };

export const TRAINER = 'builtin-logreg';
export const TRAINER_VERSION = '1.1.0';
export const ALGORITHM = 'logistic_regression';
/** Fewest rows of each class the trainer accepts. */
export const MIN_ROWS_PER_CLASS = 20;
/**
 * Most encoded columns the trainer accepts: Newton steps cost O(columns³), so an identifier-like
 * categorical column (one category per row) must be dropped or binned before training.
 */
export const MAX_ENCODED_COLUMNS = 1000;

export const GBDT_TRAINER = 'builtin-gbdt';
export const GBDT_TRAINER_VERSION = '1.1.0';
export const GBDT_ALGORITHM = 'gradient_boosted_trees';

/** What every built-in trainer takes. */
export interface TrainBinaryClassifierInput {
  /** The training data: CSV text with a header row. */
  readonly csv: string;
  /** Name of the target column; it must have exactly two distinct values and no missing ones. */
  readonly target: string;
  /** The target value whose probability the model outputs. */
  readonly positiveLabel: string;
  /** sha256 (hex) of the data file, recorded in the lineage. */
  readonly dataSha256: string;
  /** Seed of the split. Default 42. */
  readonly seed?: number;
  /** Share of each class held out for evaluation. Default 0.25. */
  readonly testFraction?: number;
  /**
   * Probability at or above which a prediction is positive: the same as `thresholdPolicy` `fixed`.
   * @default - chosen by `thresholdPolicy`
   */
  readonly threshold?: number;
  /** How the decision threshold is chosen on out-of-fold scores of the training rows. Default `maxF1`. */
  readonly thresholdPolicy?: ThresholdPolicy;
  /** Folds of the cross-validation the threshold is chosen on (2 to 10). Default 3 (logistic regression), 2 (trees). */
  readonly thresholdFolds?: number;
  /**
   * `balanced` weighs each class by rows / (2 × its rows), as scikit-learn's `class_weight="balanced"`, so the rare
   * class counts as much as the common one in the loss. Default `none`.
   */
  readonly classWeight?: ClassWeight;
  /** Cells read as missing in a numeric column, besides empty ones. Default `DEFAULT_MISSING_TOKENS` (data/table.ts). */
  readonly missingTokens?: readonly string[];
}

export type ClassWeight = 'none' | 'balanced';

export interface TrainLogisticRegressionInput extends TrainBinaryClassifierInput {
  /** L2 penalty (1 / C in scikit-learn terms). Default 1. */
  readonly l2?: number;
  /** Newton iterations at most. Default 100. */
  readonly maxIterations?: number;
}

/** Defaults: see GRADIENT_BOOSTING_DEFAULTS in gradient-boosting.ts. */
export interface TrainGradientBoostingInput extends TrainBinaryClassifierInput {
  /** Number of trees. */
  readonly trees?: number;
  /** Depth of each tree. */
  readonly maxDepth?: number;
  /** Shrinkage applied to every tree. */
  readonly learningRate?: number;
  /** L2 penalty on leaf values. */
  readonly lambda?: number;
  /** Smallest hessian sum of a leaf. */
  readonly minChildWeight?: number;
  /** Smallest loss reduction of a split. */
  readonly minSplitGain?: number;
  /** Share of the training rows each tree sees (drawn with the run's seed). */
  readonly subsample?: number;
  /** Most quantile bins per encoded column. */
  readonly maxBins?: number;
}

export interface TrainedBinaryClassifier {
  readonly onnx: Uint8Array;
  readonly metadata: ModelMetadata;
  /** The holdout rows, their 0/1 labels and the model's probabilities for them. */
  readonly holdout: {
    readonly rows: FeatureRow[];
    readonly labels: Uint8Array;
    readonly probabilities: Float64Array;
  };
}

/** Standardises a row-major float32 matrix in float64: (x - mean) / std per column. */
function scale(encoded: Float32Array, scaling: Scaling): Float64Array {
  const columns = scaling.mean.length;
  const out = new Float64Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) {
    const j = i % columns;
    out[i] = ((encoded[i] as number) - (scaling.mean[j] as number)) / (scaling.std[j] as number);
  }
  return out;
}

function pick<T>(items: readonly T[], indexes: readonly number[]): T[] {
  return indexes.map((i) => items[i] as T);
}

/** The data of a training run after the steps every trainer shares. */
interface PreparedTraining {
  readonly seed: number;
  readonly testFraction: number;
  readonly policy: ThresholdPolicy;
  readonly classWeight: ClassWeight;
  /** Per training row, its class weight (undefined when `none`). */
  readonly sampleWeights: Float64Array | undefined;
  readonly table: LabelledTable;
  readonly trainRows: FeatureRow[];
  readonly trainLabels: Uint8Array;
  readonly holdoutRows: FeatureRow[];
  readonly holdoutLabels: Uint8Array;
  readonly fitted: FittedPreprocessing;
}

/**
 * The shared first steps: check the common options, parse and type the CSV, check the class
 * counts, split, and fit the preprocessing on the training rows.
 */
function prepareTraining(input: TrainBinaryClassifierInput): PreparedTraining {
  const seed = input.seed ?? 42;
  const testFraction = input.testFraction ?? 0.25;
  if (input.threshold !== undefined && !(input.threshold > 0 && input.threshold < 1)) throw new RangeError(`threshold must be in (0, 1), got ${input.threshold}`);
  const policy: ThresholdPolicy = input.thresholdPolicy ?? (input.threshold === undefined ? DEFAULT_THRESHOLD_POLICY : { policy: 'fixed', threshold: input.threshold });
  checkThresholdPolicy(policy);
  const classWeight = input.classWeight ?? 'none';
  if (classWeight !== 'none' && classWeight !== 'balanced') throw new RangeError(`classWeight must be none or balanced, got ${String(classWeight)}`);
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);

  let parsed;
  try {
    parsed = parseCsv(input.csv);
  } catch (error) {
    if (error instanceof CsvFormatError) throw new TrainingDataError(`the data is not valid CSV: ${error.message}`, { cause: error });
    throw error;
  }
  const table = toLabelledTable(parsed, input.target, input.positiveLabel, input.missingTokens === undefined ? {} : { missingTokens: input.missingTokens });

  let positives = 0;
  for (const label of table.labels) positives += label;
  const negatives = table.labels.length - positives;
  if (positives < MIN_ROWS_PER_CLASS || negatives < MIN_ROWS_PER_CLASS) {
    throw new TrainingDataError(
      `need at least ${MIN_ROWS_PER_CLASS} rows of each class, got ${positives} "${table.positiveLabel}" and ${negatives} "${table.negativeLabel}"`,
    );
  }

  const split = stratifiedSplit(table.labels, testFraction, seed);
  const trainRows = pick(table.rows, split.train);
  const trainLabels = Uint8Array.from(split.train, (i) => table.labels[i] as number);
  const holdoutRows = pick(table.rows, split.holdout);
  const holdoutLabels = Uint8Array.from(split.holdout, (i) => table.labels[i] as number);

  const fitted = fitPreprocessing(table.features, trainRows);
  const { preprocessing } = fitted;
  const columns = preprocessing.columns;
  if (columns === 0) throw new TrainingDataError('the features encode to zero columns (every feature is empty)');
  if (columns > MAX_ENCODED_COLUMNS) {
    const widest = preprocessing.encodings
      .filter((e): e is OneHotEncoding => e.kind === 'one_hot')
      .sort((a, b) => b.categories.length - a.categories.length)
      .slice(0, 3)
      .map((e) => `${e.feature} (${e.categories.length} categories)`);
    throw new TrainingDataError(
      `the features encode to ${columns} columns, more than ${MAX_ENCODED_COLUMNS}; drop or bin high-cardinality categorical features: ${widest.join(', ')}`,
    );
  }
  return { seed, testFraction, policy, classWeight, sampleWeights: classWeights(trainLabels, classWeight), table, trainRows, trainLabels, holdoutRows, holdoutLabels, fitted };
}

/** The matrices both trainers fit and score on, as `trainLogisticRegression` and `trainGradientBoosting` build them. */
export interface EncodedTrainingData {
  readonly columns: number;
  readonly trainLabels: Uint8Array;
  readonly holdoutLabels: Uint8Array;
  /** Encoded (imputed, one-hot) rows, row-major float32: what the trees split. */
  readonly trainEncoded: Float32Array;
  readonly holdoutEncoded: Float32Array;
  /** The encoded rows standardised in float64: what the logistic regression fits. */
  readonly trainScaled: Float64Array;
  readonly holdoutScaled: Float64Array;
  /** Per training row, its class weight (undefined for `classWeight: 'none'`). */
  readonly sampleWeights: Float64Array | undefined;
}

/**
 * The split, preprocessing and encoding of a training run without the model: the trainers' benchmark times the fits
 * on exactly these matrices and hands them to scikit-learn (bench/trainers.bench.ts).
 * @throws TrainingDataError as `trainLogisticRegression` does.
 */
export function encodeTrainingData(input: TrainBinaryClassifierInput): EncodedTrainingData {
  const prepared = prepareTraining(input);
  const { preprocessing, scaling } = prepared.fitted;
  const trainEncoded = encodeRows(preprocessing, prepared.trainRows);
  const holdoutEncoded = encodeRows(preprocessing, prepared.holdoutRows);
  return {
    columns: preprocessing.columns,
    trainLabels: prepared.trainLabels,
    holdoutLabels: prepared.holdoutLabels,
    trainEncoded,
    holdoutEncoded,
    trainScaled: scale(trainEncoded, scaling),
    holdoutScaled: scale(holdoutEncoded, scaling),
    sampleWeights: prepared.sampleWeights,
  };
}

/** Per row, rows / (2 × rows of its class) for `balanced` (scikit-learn's formula); undefined for `none`. */
export function classWeights(labels: Uint8Array, classWeight: ClassWeight): Float64Array | undefined {
  if (classWeight === 'none') return undefined;
  let positives = 0;
  for (const label of labels) positives += label;
  const negatives = labels.length - positives;
  const positiveWeight = labels.length / (2 * positives);
  const negativeWeight = labels.length / (2 * negatives);
  return Float64Array.from(labels, (label) => (label === 1 ? positiveWeight : negativeWeight));
}

/**
 * Out-of-fold scores of the training rows: stratified `folds`-fold cross-validation, each fold scored by a model fitted
 * on the others (`fitPredict(fit, score)` with row indexes into the training rows). Every training row gets exactly one
 * score from a model that did not see it.
 */
export function outOfFoldScores(labels: Uint8Array, folds: number, seed: number, fitPredict: (fit: number[], score: number[]) => Float64Array): Float64Array {
  if (!Number.isInteger(folds) || folds < 2 || folds > 10) throw new RangeError(`thresholdFolds must be an integer from 2 to 10, got ${folds}`);
  const fold = new Uint8Array(labels.length);
  // Its own stream, so the split of the data does not move when the folds change.
  const random = new SeededRandom((seed ^ 0x5f0d) | 0);
  for (const label of [0, 1]) {
    const members = random.shuffle(Array.from(labels.keys()).filter((i) => labels[i] === label));
    members.forEach((row, position) => {
      fold[row] = position % folds;
    });
  }
  const scores = new Float64Array(labels.length);
  for (let k = 0; k < folds; k++) {
    const fit: number[] = [];
    const score: number[] = [];
    for (let i = 0; i < labels.length; i++) (fold[i] === k ? score : fit).push(i);
    const predicted = fitPredict(fit, score);
    score.forEach((row, j) => {
      scores[row] = predicted[j] as number;
    });
  }
  return scores;
}

/** The rows `indexes` of a row-major matrix with `columns` columns. */
function rowsOf<T extends Float32Array | Float64Array>(matrix: T, columns: number, indexes: readonly number[], make: (length: number) => T): T {
  const out = make(indexes.length * columns);
  indexes.forEach((row, i) => out.set(matrix.subarray(row * columns, (row + 1) * columns), i * columns));
  return out;
}

function pickWeights(weights: Float64Array | undefined, indexes: readonly number[]): Float64Array | undefined {
  return weights === undefined ? undefined : Float64Array.from(indexes, (i) => weights[i] as number);
}

/** How the threshold was chosen, stored in the metadata's `output.threshold_selection`. */
export interface ThresholdSelection {
  readonly policy: ThresholdPolicy['policy'];
  /** The policy's parameters (`recall`, `false_positive_cost`, `false_negative_cost`); empty for the others. */
  readonly parameters: Readonly<Record<string, number>>;
  /** `cross_validation` (out-of-fold scores of the training rows) or `fixed`. */
  readonly chosen_on: 'cross_validation' | 'fixed';
  readonly folds: number | null;
  /** The value the policy reached on the out-of-fold scores (F1, Youden's J, recall or total cost); null for `fixed`. */
  readonly objective: number | null;
}

/** Chooses the threshold by the run's policy on out-of-fold scores (no fits at all for `fixed`). */
function selectThreshold(prepared: PreparedTraining, folds: number, fitPredict: (fit: number[], score: number[]) => Float64Array): { threshold: number; selection: ThresholdSelection } {
  const { policy } = prepared;
  const parameters: Record<string, number> =
    policy.policy === 'targetRecall'
      ? { recall: policy.recall }
      : policy.policy === 'cost'
        ? { false_positive_cost: policy.falsePositive, false_negative_cost: policy.falseNegative }
        : {};
  if (policy.policy === 'fixed') {
    return { threshold: policy.threshold, selection: { policy: 'fixed', parameters, chosen_on: 'fixed', folds: null, objective: null } };
  }
  const scores = outOfFoldScores(prepared.trainLabels, folds, prepared.seed, fitPredict);
  const chosen = chooseThreshold(prepared.trainLabels, scores, policy);
  return { threshold: chosen.threshold, selection: { policy: policy.policy, parameters, chosen_on: 'cross_validation', folds, objective: chosen.objective } };
}

/** What distinguishes one trainer's result: its model's name, lineage and holdout probabilities. */
interface TrainedModelDescription {
  readonly algorithm: string;
  readonly trainer: string;
  readonly trainerVersion: string;
  /** Recorded in the lineage: the trainer's parameters, `test_fraction` included. */
  readonly parameters: Readonly<Record<string, number | string | boolean>>;
  readonly probabilities: Float64Array;
  readonly onnx: Uint8Array;
  readonly threshold: number;
  readonly selection: ThresholdSelection;
}

/** The shared last steps: holdout metrics, baseline profile and metadata. */
function finishTraining(input: TrainBinaryClassifierInput, prepared: PreparedTraining, model: TrainedModelDescription): TrainedBinaryClassifier {
  const { seed, table, trainRows, trainLabels, holdoutRows, holdoutLabels, fitted } = prepared;
  const { threshold } = model;
  const { probabilities } = model;
  let trainPositives = 0;
  for (const label of trainLabels) trainPositives += label;

  const metadata: ModelMetadata = {
    algorithm: model.algorithm,
    input_schema: fitted.inputSchema,
    preprocessing: fitted.preprocessing,
    output: { positive_label: table.positiveLabel, negative_label: table.negativeLabel, threshold, threshold_selection: model.selection },
    metrics: {
      ...classificationMetrics(holdoutLabels, probabilities, threshold),
      train_rows: trainRows.length,
      holdout_rows: holdoutRows.length,
      positive_rate: trainPositives / trainRows.length,
    },
    baseline: profileFeatures(table.features, trainRows, { sampleSeed: seed }),
    prediction_profile: profileValues(probabilities),
    lineage: {
      data_sha256: input.dataSha256,
      rows: table.rows.length,
      target: input.target,
      seed,
      parameters: {
        ...model.parameters,
        ...lineageParameters(prepared, model.selection),
        // As the xgboost trainer records them: a drift-triggered retrain reads them back.
        missing_tokens: JSON.stringify(input.missingTokens ?? DEFAULT_MISSING_TOKENS),
      },
      trainer: model.trainer,
      trainer_version: model.trainerVersion,
    },
  };
  return { onnx: model.onnx, metadata, holdout: { rows: holdoutRows, labels: holdoutLabels, probabilities } };
}

/** The threshold policy and the class weighting, recorded in the lineage with the trainer's parameters. */
function lineageParameters(prepared: PreparedTraining, selection: ThresholdSelection): Record<string, number | string> {
  return {
    threshold_policy: selection.policy,
    ...Object.fromEntries(Object.entries(selection.parameters).map(([k, v]) => [`threshold_${k}`, v])),
    ...(selection.folds === null ? {} : { threshold_folds: selection.folds }),
    class_weight: prepared.classWeight,
  };
}

/**
 * Trains a logistic regression on `input.csv`.
 * @throws TrainingDataError when the data is unusable (not CSV, no such target, target not binary,
 *   positive label absent, fewer than MIN_ROWS_PER_CLASS rows of a class, more than
 *   MAX_ENCODED_COLUMNS encoded columns).
 */
export function trainLogisticRegression(input: TrainLogisticRegressionInput): TrainedBinaryClassifier {
  const l2 = input.l2 ?? DEFAULT_L2;
  const maxIterations = input.maxIterations ?? DEFAULT_MAX_ITERATIONS;
  const prepared = prepareTraining(input);
  const { trainRows, holdoutRows } = prepared;
  const { preprocessing, scaling } = prepared.fitted;
  const columns = preprocessing.columns;

  const trainMatrix = scale(encodeRows(preprocessing, trainRows), scaling);
  const options = { l2, maxIterations };
  const model = fitLogisticRegression(trainMatrix, prepared.trainLabels, trainRows.length, columns, {
    ...options,
    ...(prepared.sampleWeights === undefined ? {} : { sampleWeights: prepared.sampleWeights }),
  });
  const probabilities = predictProbabilities(model, scale(encodeRows(preprocessing, holdoutRows), scaling), holdoutRows.length, columns);
  const { threshold, selection } = selectThreshold(prepared, input.thresholdFolds ?? 3, (fit, score) => {
    const weights = pickWeights(prepared.sampleWeights, fit);
    const foldModel = fitLogisticRegression(
      rowsOf(trainMatrix, columns, fit, (n) => new Float64Array(n)),
      Uint8Array.from(fit, (i) => prepared.trainLabels[i] as number),
      fit.length,
      columns,
      { ...options, ...(weights === undefined ? {} : { sampleWeights: weights }) },
    );
    return predictProbabilities(foldModel, rowsOf(trainMatrix, columns, score, (n) => new Float64Array(n)), score.length, columns);
  });

  const onnx = buildLogisticRegressionOnnx({
    columns,
    mean: scaling.mean,
    std: scaling.std,
    weights: model.weights,
    intercept: model.intercept,
    inputName: preprocessing.input_name,
    outputName: preprocessing.output_name,
  });

  return finishTraining(input, prepared, {
    algorithm: ALGORITHM,
    trainer: TRAINER,
    trainerVersion: TRAINER_VERSION,
    parameters: { l2, test_fraction: prepared.testFraction, max_iterations: maxIterations },
    probabilities,
    onnx,
    threshold,
    selection,
  });
}

/**
 * Trains gradient-boosted trees on `input.csv`: the same split, preprocessing, metrics and
 * baseline as `trainLogisticRegression`, with the trees splitting the encoded (imputed and
 * one-hot) columns so the serving encoder is unchanged. No scaling: trees do not need it.
 * @throws TrainingDataError as `trainLogisticRegression` does.
 */
export function trainGradientBoosting(input: TrainGradientBoostingInput): TrainedBinaryClassifier {
  const prepared = prepareTraining(input);
  const options = resolveGradientBoostingOptions({
    trees: input.trees,
    maxDepth: input.maxDepth,
    learningRate: input.learningRate,
    lambda: input.lambda,
    minChildWeight: input.minChildWeight,
    minSplitGain: input.minSplitGain,
    subsample: input.subsample,
    maxBins: input.maxBins,
    seed: prepared.seed,
  });
  const { trainRows, holdoutRows } = prepared;
  const { preprocessing } = prepared.fitted;
  const columns = preprocessing.columns;

  const trainMatrix = encodeRows(preprocessing, trainRows);
  const model = fitGradientBoosting(trainMatrix, prepared.trainLabels, trainRows.length, columns, options, prepared.sampleWeights);
  const probabilities = predictGradientBoosting(model, encodeRows(preprocessing, holdoutRows), holdoutRows.length, columns);
  const { threshold, selection } = selectThreshold(prepared, input.thresholdFolds ?? 2, (fit, score) => {
    const foldModel = fitGradientBoosting(
      rowsOf(trainMatrix, columns, fit, (n) => new Float32Array(n)),
      Uint8Array.from(fit, (i) => prepared.trainLabels[i] as number),
      fit.length,
      columns,
      options,
      pickWeights(prepared.sampleWeights, fit),
    );
    return predictGradientBoosting(foldModel, rowsOf(trainMatrix, columns, score, (n) => new Float32Array(n)), score.length, columns);
  });

  const onnx = buildTreeEnsembleOnnx({
    columns,
    trees: model.trees,
    baseScore: model.baseScore,
    inputName: preprocessing.input_name,
    outputName: preprocessing.output_name,
  });

  return finishTraining(input, prepared, {
    algorithm: GBDT_ALGORITHM,
    trainer: GBDT_TRAINER,
    trainerVersion: GBDT_TRAINER_VERSION,
    parameters: {
      trees: options.trees,
      max_depth: options.maxDepth,
      learning_rate: options.learningRate,
      lambda: options.lambda,
      min_child_weight: options.minChildWeight,
      min_split_gain: options.minSplitGain,
      subsample: options.subsample,
      max_bins: options.maxBins,
      test_fraction: prepared.testFraction,
    },
    probabilities,
    onnx,
    threshold,
    selection,
  });
}
