/**
 * The built-in trainers: CSV text with a named binary target in, ONNX bytes and model metadata out.
 *
 * Steps: parse → type the columns → stratified split → fit imputation/one-hot/scaling on the
 * training rows → the model (L2 logistic regression by IRLS, or gradient-boosted trees on the
 * encoded columns) → metrics on the holdout → baseline profile of the training rows → ONNX graph.
 * Both trainers share every step but the model. Deterministic: the same inputs give the same bytes.
 */
import { CsvFormatError, parseCsv } from '#core/data/csv.ts';
import type { LabelledTable } from '#core/data/table.ts';
import { TrainingDataError, toLabelledTable } from '#core/data/table.ts';
import { classificationMetrics } from '#core/metrics/classification.ts';
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
export const TRAINER_VERSION = '1.0.0';
export const ALGORITHM = 'logistic_regression';
/** Fewest rows of each class the trainer accepts. */
export const MIN_ROWS_PER_CLASS = 20;
/**
 * Most encoded columns the trainer accepts: Newton steps cost O(columns³), so an identifier-like
 * categorical column (one category per row) must be dropped or binned before training.
 */
export const MAX_ENCODED_COLUMNS = 1000;

export const GBDT_TRAINER = 'builtin-gbdt';
export const GBDT_TRAINER_VERSION = '1.0.0';
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
  /** Probability at or above which a prediction is positive. Default 0.5. */
  readonly threshold?: number;
  /** Cells read as missing in a numeric column, besides empty ones. Default `DEFAULT_MISSING_TOKENS` (data/table.ts). */
  readonly missingTokens?: readonly string[];
}

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
  readonly threshold: number;
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
  const threshold = input.threshold ?? 0.5;
  if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`);
  if (!(testFraction > 0 && testFraction < 1)) throw new RangeError(`testFraction must be in (0, 1), got ${testFraction}`);
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);

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
  return { seed, testFraction, threshold, table, trainRows, trainLabels, holdoutRows, holdoutLabels, fitted };
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
}

/** The shared last steps: holdout metrics, baseline profile and metadata. */
function finishTraining(input: TrainBinaryClassifierInput, prepared: PreparedTraining, model: TrainedModelDescription): TrainedBinaryClassifier {
  const { seed, threshold, table, trainRows, trainLabels, holdoutRows, holdoutLabels, fitted } = prepared;
  const { probabilities } = model;
  let trainPositives = 0;
  for (const label of trainLabels) trainPositives += label;

  const metadata: ModelMetadata = {
    algorithm: model.algorithm,
    input_schema: fitted.inputSchema,
    preprocessing: fitted.preprocessing,
    output: { positive_label: table.positiveLabel, negative_label: table.negativeLabel, threshold },
    metrics: {
      ...classificationMetrics(holdoutLabels, probabilities, threshold),
      train_rows: trainRows.length,
      holdout_rows: holdoutRows.length,
      positive_rate: trainPositives / trainRows.length,
    },
    baseline: profileFeatures(table.features, trainRows),
    prediction_profile: profileValues(probabilities),
    lineage: {
      data_sha256: input.dataSha256,
      rows: table.rows.length,
      target: input.target,
      seed,
      parameters: model.parameters,
      trainer: model.trainer,
      trainer_version: model.trainerVersion,
    },
  };
  return { onnx: model.onnx, metadata, holdout: { rows: holdoutRows, labels: holdoutLabels, probabilities } };
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

  const model = fitLogisticRegression(scale(encodeRows(preprocessing, trainRows), scaling), prepared.trainLabels, trainRows.length, columns, {
    l2,
    maxIterations,
  });
  const probabilities = predictProbabilities(model, scale(encodeRows(preprocessing, holdoutRows), scaling), holdoutRows.length, columns);

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

  const model = fitGradientBoosting(encodeRows(preprocessing, trainRows), prepared.trainLabels, trainRows.length, columns, options);
  const probabilities = predictGradientBoosting(model, encodeRows(preprocessing, holdoutRows), holdoutRows.length, columns);

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
  });
}
