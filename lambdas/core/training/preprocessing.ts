/**
 * Fits the model-agnostic encoding (imputation, one-hot) and the linear model's scaling on the
 * training rows only, so nothing about the holdout leaks into the model.
 */
import type { FeatureColumn } from '#core/data/table.ts';
import { encodeRows, encodedColumnCount } from '#core/model/encode.ts';
import type { ColumnEncoding, FeatureRow, FeatureSpec, InputSchema, Preprocessing } from '#core/model/metadata.ts';

export const SCHEMA_VERSION = 1;
export const PREPROCESS_VERSION = 1;
export const INPUT_NAME = 'features';
export const OUTPUT_NAME = 'probability';

/** Per encoded column standardisation: scaled = (x - mean) / std. */
export interface Scaling {
  readonly mean: Float64Array;
  readonly std: Float64Array;
}

export interface FittedPreprocessing {
  readonly inputSchema: InputSchema;
  readonly preprocessing: Preprocessing;
  /** Mean/std over training rows for numeric columns (after imputation); 0/1 for one-hot columns. */
  readonly scaling: Scaling;
}

/** The median of `values` (which it sorts in place); 0 for an empty list. */
export function median(values: number[]): number {
  if (values.length === 0) return 0;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? (values[mid] as number) : ((values[mid - 1] as number) + (values[mid] as number)) / 2;
}

function fitFeature(feature: FeatureColumn, rows: readonly FeatureRow[]): { spec: FeatureSpec; encoding: ColumnEncoding } {
  let missing = false;
  if (feature.kind === 'numeric') {
    const values: number[] = [];
    for (const row of rows) {
      const value = row[feature.name];
      if (typeof value === 'number') values.push(value);
      else missing = true;
    }
    return {
      spec: { name: feature.name, type: 'numeric', nullable: missing },
      encoding: { feature: feature.name, kind: 'numeric', impute: median(values) },
    };
  }

  const counts = new Map<string, number>();
  for (const row of rows) {
    const value = row[feature.name];
    if (typeof value === 'string') counts.set(value, (counts.get(value) ?? 0) + 1);
    else missing = true;
  }
  const categories = [...counts.keys()].sort();
  // Most frequent category; ties go to the first in sorted order.
  let impute: string | null = null;
  let best = 0;
  for (const category of categories) {
    const count = counts.get(category) as number;
    if (count > best) {
      best = count;
      impute = category;
    }
  }
  return {
    spec: { name: feature.name, type: 'categorical', nullable: missing, categories },
    encoding: { feature: feature.name, kind: 'one_hot', categories, impute },
  };
}

/** Fits the input schema, the encoding and the scaling on `rows` (the training rows). */
export function fitPreprocessing(features: readonly FeatureColumn[], rows: readonly FeatureRow[]): FittedPreprocessing {
  const fitted = features.map((feature) => fitFeature(feature, rows));
  const encodings = fitted.map((f) => f.encoding);
  const preprocessing: Preprocessing = {
    preprocess_version: PREPROCESS_VERSION,
    input_name: INPUT_NAME,
    output_name: OUTPUT_NAME,
    columns: encodedColumnCount(encodings),
    encodings,
  };
  const inputSchema: InputSchema = { schema_version: SCHEMA_VERSION, features: fitted.map((f) => f.spec) };
  return { inputSchema, preprocessing, scaling: fitScaling(preprocessing, encodeRows(preprocessing, rows), rows.length) };
}

/** Population mean/std of numeric columns of the encoded training matrix; identity for one-hot columns. */
export function fitScaling(preprocessing: Preprocessing, encoded: Float32Array, rowCount: number): Scaling {
  const columns = preprocessing.columns;
  const mean = new Float64Array(columns);
  const std = new Float64Array(columns).fill(1);
  let column = 0;
  for (const encoding of preprocessing.encodings) {
    if (encoding.kind === 'one_hot') {
      column += encoding.categories.length;
      continue;
    }
    let sum = 0;
    for (let r = 0; r < rowCount; r++) sum += encoded[r * columns + column] as number;
    const m = rowCount > 0 ? sum / rowCount : 0;
    let squares = 0;
    for (let r = 0; r < rowCount; r++) {
      const d = (encoded[r * columns + column] as number) - m;
      squares += d * d;
    }
    const s = rowCount > 0 ? Math.sqrt(squares / rowCount) : 0;
    mean[column] = m;
    std[column] = s > 0 && Number.isFinite(s) ? s : 1;
    column += 1;
  }
  return { mean, std };
}
