/**
 * The metadata that travels with every ONNX artifact: what the model expects as input,
 * how raw request values become the input tensor, what the output means, and how it was made.
 *
 * The trainer writes it, the registry stores it beside the version, and the predict handler
 * reads it to validate and encode requests. Field names are snake_case because this is a
 * wire and storage format (DynamoDB items, JSON files, API answers).
 */

import type { EncodedSample } from '#core/profile/sample.ts';

/** A numeric input feature. `nullable` features accept `null` (or omission is still an error: see validation). */
export interface NumericFeatureSpec {
  readonly name: string;
  readonly type: 'numeric';
  /** Whether an explicit `null` is accepted as a missing value (it is then imputed). */
  readonly nullable: boolean;
}

/** A categorical input feature with a closed set of string categories. */
export interface CategoricalFeatureSpec {
  readonly name: string;
  readonly type: 'categorical';
  /** Whether an explicit `null` is accepted as a missing value (it is then imputed). */
  readonly nullable: boolean;
  /** The categories seen in training, in encoding order. */
  readonly categories: readonly string[];
}

export type FeatureSpec = NumericFeatureSpec | CategoricalFeatureSpec;

/** The request contract of a model version. */
export interface InputSchema {
  /** Bumped whenever the set, order or types of features change. */
  readonly schema_version: number;
  readonly features: readonly FeatureSpec[];
}

/** One numeric feature becomes one tensor column; a missing value becomes `impute`. */
export interface NumericEncoding {
  readonly feature: string;
  readonly kind: 'numeric';
  /**
   * The value a missing input takes (the training median for the built-in trainer), or null to pass it to the
   * model as NaN: tree models that learned where missing values go (XGBoost's default directions) route it there.
   */
  readonly impute: number | null;
}

/**
 * One categorical feature becomes one indicator column per category.
 * A missing value takes the `impute` category, or all zeros when `impute` is null.
 */
export interface OneHotEncoding {
  readonly feature: string;
  readonly kind: 'one_hot';
  readonly categories: readonly string[];
  readonly impute: string | null;
}

export type ColumnEncoding = NumericEncoding | OneHotEncoding;

/**
 * How a validated request row becomes a row of the float32 input tensor.
 * Scaling is not here: it is part of the ONNX graph, so the artifact stays model-specific
 * and this encoding stays model-agnostic (the same for linear models and trees).
 */
export interface Preprocessing {
  readonly preprocess_version: number;
  /** Name of the graph's float32 input, shape [batch, columns]. */
  readonly input_name: string;
  /** Name of the graph's float32 output, shape [batch, 1]: the probability of the positive label. */
  readonly output_name: string;
  /** Total number of tensor columns the encodings produce, in order. */
  readonly columns: number;
  readonly encodings: readonly ColumnEncoding[];
}

/** What the model's output probability means. */
export interface BinaryOutput {
  readonly positive_label: string;
  readonly negative_label: string;
  /** A probability at or above this is labelled positive. */
  readonly threshold: number;
  /**
   * How the trainer chose `threshold`: the policy (`maxF1`, `youden`, `targetRecall`, `cost`, `fixed`), its parameters,
   * what it was chosen on (out-of-fold scores of the training rows, never the holdout) and the value it reached.
   * Absent in metadata written before it existed (the threshold was then a fixed 0.5) and from external trainers.
   */
  readonly threshold_selection?: {
    readonly policy: string;
    readonly parameters: Readonly<Record<string, number>>;
    readonly chosen_on: string;
    readonly folds: number | null;
    readonly objective: number | null;
  };
}

/** Per-feature statistics of the training data, used for validation and drift detection. */
export interface NumericProfile {
  readonly type: 'numeric';
  /** Non-missing values. */
  readonly count: number;
  readonly missing_rate: number;
  /** Rows where the value is missing (the missing-rate test's reference count). Absent in older metadata. */
  readonly missing?: number;
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  /** Quantiles at 0, 0.1, …, 1 (11 values). */
  readonly quantiles: readonly number[];
  /**
   * Percentiles at 0, 0.01, …, 1 (101 values): the drift job's baseline distribution, fine enough for KS on
   * discrete and heavily tied features, where deciles are not. Absent in metadata written before it existed.
   */
  readonly percentiles?: readonly number[];
  /**
   * A uniform random sample of the real training values (up to 10 000, all versions' samples together under 128 KiB of
   * base64; see profile/sample.ts): the drift job's KS reference. Absent in metadata written before it existed (the
   * percentiles then stand in).
   */
  readonly sample?: EncodedSample;
}

export interface CategoricalProfile {
  readonly type: 'categorical';
  /** Non-missing values. */
  readonly count: number;
  readonly missing_rate: number;
  /** Rows where the value is missing (the missing-rate test's reference count). Absent in older metadata. */
  readonly missing?: number;
  /** Share of each category among non-missing values. */
  readonly frequencies: Readonly<Record<string, number>>;
  /**
   * Count of each category in the training rows: the reference row of the drift job's test of homogeneity.
   * Absent in metadata written before it existed; then frequency × count, rounded, stands in.
   */
  readonly counts?: Readonly<Record<string, number>>;
}

export type FeatureProfile = NumericProfile | CategoricalProfile;

/** How a version was made, so it can be reproduced and compared. */
export interface Lineage {
  /** sha256 of the training data file. */
  readonly data_sha256: string;
  readonly rows: number;
  readonly target: string;
  readonly seed: number;
  readonly parameters: Readonly<Record<string, number | string | boolean>>;
  readonly trainer: string;
  readonly trainer_version: string;
}

/**
 * Global importance of the input features: the mean |SHAP value| (log-odds) of each over holdout rows, measured by the
 * pipeline's Evaluate step with the explain route's method and background (lambdas/core/explain/importance.ts).
 */
export interface FeatureImportance {
  /** How the SHAP values were computed: `linear_exact`, `tree_exact` or `sampling`. */
  readonly method: string;
  /** Holdout rows explained. */
  readonly rows: number;
  /** Rows of the background they were measured against. */
  readonly background_rows: number;
  /** Mean |SHAP value| per input feature, in schema order. */
  readonly mean_abs_shap: Readonly<Record<string, number>>;
}

/** Everything the platform knows about a trained model version besides its bytes. */
export interface ModelMetadata {
  readonly algorithm: string;
  readonly input_schema: InputSchema;
  readonly preprocessing: Preprocessing;
  readonly output: BinaryOutput;
  /** Holdout metrics (roc_auc, accuracy, …). */
  readonly metrics: Readonly<Record<string, number>>;
  readonly baseline: Readonly<Record<string, FeatureProfile>>;
  readonly lineage: Lineage;
  /**
   * Profile of the predicted probabilities on the holdout: the baseline of the drift job's prediction check.
   * Absent in metadata written before it existed (the prediction check is then skipped).
   */
  readonly prediction_profile?: NumericProfile;
  /** Mean |SHAP| per feature on the holdout, set by the training pipeline; absent for versions registered by hand or before it existed. */
  readonly feature_importance?: FeatureImportance;
}

/** A request or training row after validation: a number, a category, or null for missing. */
export type FeatureValue = number | string | null;
export type FeatureRow = Readonly<Record<string, FeatureValue>>;
