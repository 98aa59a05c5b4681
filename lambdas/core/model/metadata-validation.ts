/**
 * Checks that an untrusted value (a `metadata.json` uploaded with an artifact) is a complete,
 * self-consistent `ModelMetadata`, field by field, and returns a fresh copy holding only the
 * known fields. A breakage is answered with `INVALID_METADATA` and a message that names the
 * field path and what is wrong with it, e.g. `metadata.output.threshold must be between 0 and 1
 * (exclusive), got 1.5`.
 */
import { type EncodedSample, SAMPLE_ENCODING, decodeSample } from '#core/profile/sample.ts';
import { RequestValidationError, asError } from '#core/errors.ts';
import { encodedColumnCount } from './encode.ts';
import type {
  BinaryOutput,
  CategoricalProfile,
  ColumnEncoding,
  FeatureImportance,
  FeatureProfile,
  FeatureSpec,
  InputSchema,
  Lineage,
  ModelMetadata,
  NumericProfile,
  Preprocessing,
} from './metadata.ts';

type JsonObject = Readonly<Record<string, unknown>>;

function invalid(field: string, problem: string): never {
  throw new RequestValidationError('INVALID_METADATA', `metadata.${field} ${problem}`, { field });
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, field: string): JsonObject {
  if (value === undefined) invalid(field, 'is missing');
  if (!isObject(value)) invalid(field, `must be an object, got ${show(value)}`);
  return value;
}

function present(parent: JsonObject, key: string, field: string): unknown {
  const value = parent[key];
  if (value === undefined) invalid(field, 'is missing');
  return value;
}

function string(parent: JsonObject, key: string, field: string): string {
  const value = present(parent, key, field);
  if (typeof value !== 'string' || value.trim() === '') invalid(field, `must be a non-empty string, got ${show(value)}`);
  return value;
}

function finite(parent: JsonObject, key: string, field: string): number {
  const value = present(parent, key, field);
  if (typeof value !== 'number' || !Number.isFinite(value)) invalid(field, `must be a finite number, got ${show(value)}`);
  return value;
}

function integer(parent: JsonObject, key: string, field: string, min: number): number {
  const value = present(parent, key, field);
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
    invalid(field, `must be an integer of at least ${min}, got ${show(value)}`);
  }
  return value;
}

function boolean(parent: JsonObject, key: string, field: string): boolean {
  const value = present(parent, key, field);
  if (typeof value !== 'boolean') invalid(field, `must be true or false, got ${show(value)}`);
  return value;
}

function array(parent: JsonObject, key: string, field: string): readonly unknown[] {
  const value = present(parent, key, field);
  if (!Array.isArray(value)) invalid(field, `must be an array, got ${show(value)}`);
  return value;
}

/** A non-empty array of distinct non-empty strings. */
function categories(parent: JsonObject, key: string, field: string): string[] {
  const values = array(parent, key, field);
  if (values.length === 0) invalid(field, 'must not be empty');
  const seen = new Set<string>();
  return values.map((value, i) => {
    if (typeof value !== 'string' || value === '') invalid(`${field}[${i}]`, `must be a non-empty string, got ${show(value)}`);
    if (seen.has(value)) invalid(field, `lists ${show(value)} more than once`);
    seen.add(value);
    return value;
  });
}

function pathKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function parseFeature(value: unknown, field: string): FeatureSpec {
  const raw = object(value, field);
  const name = string(raw, 'name', `${field}.name`);
  const type = present(raw, 'type', `${field}.type`);
  const nullable = boolean(raw, 'nullable', `${field}.nullable`);
  if (type === 'numeric') return { name, type, nullable };
  if (type === 'categorical') return { name, type, nullable, categories: categories(raw, 'categories', `${field}.categories`) };
  return invalid(`${field}.type`, `must be "numeric" or "categorical", got ${show(type)}`);
}

function parseInputSchema(value: unknown): InputSchema {
  const raw = object(value, 'input_schema');
  const schemaVersion = integer(raw, 'schema_version', 'input_schema.schema_version', 1);
  const list = array(raw, 'features', 'input_schema.features');
  if (list.length === 0) invalid('input_schema.features', 'must not be empty');
  const names = new Set<string>();
  const features = list.map((item, i) => {
    const feature = parseFeature(item, `input_schema.features[${i}]`);
    if (names.has(feature.name)) invalid(`input_schema.features[${i}].name`, `repeats the feature name ${show(feature.name)}`);
    names.add(feature.name);
    return feature;
  });
  return { schema_version: schemaVersion, features };
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((value, i) => value === b[i]);
}

function parseEncoding(value: unknown, field: string, schema: ReadonlyMap<string, FeatureSpec>): ColumnEncoding {
  const raw = object(value, field);
  const feature = string(raw, 'feature', `${field}.feature`);
  const spec = schema.get(feature);
  if (spec === undefined) invalid(`${field}.feature`, `names ${show(feature)}, which is not a feature of input_schema`);
  const kind = present(raw, 'kind', `${field}.kind`);
  if (kind !== 'numeric' && kind !== 'one_hot') invalid(`${field}.kind`, `must be "numeric" or "one_hot", got ${show(kind)}`);
  const expected = spec.type === 'numeric' ? 'numeric' : 'one_hot';
  if (kind !== expected) invalid(`${field}.kind`, `must be "${expected}" for the ${spec.type} feature ${show(feature)}, got ${show(kind)}`);
  // null: the missing value reaches the model as NaN (a tree model with default directions routes it).
  if (kind === 'numeric') return { feature, kind, impute: raw['impute'] === null ? null : finite(raw, 'impute', `${field}.impute`) };

  const cats = categories(raw, 'categories', `${field}.categories`);
  if (spec.type === 'categorical' && !sameStrings(cats, spec.categories)) {
    invalid(`${field}.categories`, `must equal the categories of input_schema feature ${show(feature)} in the same order`);
  }
  const impute = present(raw, 'impute', `${field}.impute`);
  if (impute !== null && (typeof impute !== 'string' || !cats.includes(impute))) {
    invalid(`${field}.impute`, `must be null or one of the categories, got ${show(impute)}`);
  }
  return { feature, kind, categories: cats, impute };
}

function parsePreprocessing(value: unknown, schema: InputSchema): Preprocessing {
  const raw = object(value, 'preprocessing');
  const preprocessVersion = integer(raw, 'preprocess_version', 'preprocessing.preprocess_version', 1);
  const inputName = string(raw, 'input_name', 'preprocessing.input_name');
  const outputName = string(raw, 'output_name', 'preprocessing.output_name');
  const columns = integer(raw, 'columns', 'preprocessing.columns', 1);
  const features = new Map(schema.features.map((f) => [f.name, f]));
  const list = array(raw, 'encodings', 'preprocessing.encodings');
  const covered = new Set<string>();
  const encodings = list.map((item, i) => {
    const encoding = parseEncoding(item, `preprocessing.encodings[${i}]`, features);
    if (covered.has(encoding.feature)) {
      invalid(`preprocessing.encodings[${i}].feature`, `encodes ${show(encoding.feature)} a second time`);
    }
    covered.add(encoding.feature);
    return encoding;
  });
  const uncovered = schema.features.filter((f) => !covered.has(f.name)).map((f) => f.name);
  if (uncovered.length > 0) {
    invalid('preprocessing.encodings', `has no encoding for the input_schema feature(s) ${uncovered.map(show).join(', ')}`);
  }
  const produced = encodedColumnCount(encodings);
  if (produced !== columns) invalid('preprocessing.columns', `is ${columns} but the encodings produce ${produced} columns`);
  return { preprocess_version: preprocessVersion, input_name: inputName, output_name: outputName, columns, encodings };
}

function parseOutput(value: unknown): BinaryOutput {
  const raw = object(value, 'output');
  const positive = string(raw, 'positive_label', 'output.positive_label');
  const negative = string(raw, 'negative_label', 'output.negative_label');
  if (positive === negative) invalid('output.negative_label', `must differ from output.positive_label (both are ${show(positive)})`);
  const threshold = finite(raw, 'threshold', 'output.threshold');
  if (!(threshold > 0 && threshold < 1)) invalid('output.threshold', `must be between 0 and 1 (exclusive), got ${threshold}`);
  const output = { positive_label: positive, negative_label: negative, threshold };
  if (raw['threshold_selection'] === undefined) return output;
  return { ...output, threshold_selection: parseThresholdSelection(raw['threshold_selection']) };
}

/** How the threshold was chosen (optional: external trainers need not say). */
function parseThresholdSelection(value: unknown): NonNullable<BinaryOutput['threshold_selection']> {
  const field = 'output.threshold_selection';
  const raw = object(value, field);
  const nullableNumber = (key: string): number | null => (raw[key] === null ? null : finite(raw, key, `${field}.${key}`));
  return {
    policy: string(raw, 'policy', `${field}.policy`),
    parameters: parseNumberRecord(raw['parameters'] ?? {}, `${field}.parameters`),
    chosen_on: string(raw, 'chosen_on', `${field}.chosen_on`),
    folds: nullableNumber('folds'),
    objective: nullableNumber('objective'),
  };
}

function parseNumberRecord(value: unknown, field: string): Record<string, number> {
  const raw = object(value, field);
  const out: Record<string, number> = {};
  for (const key of Object.keys(raw)) out[key] = finite(raw, key, `${field}${pathKey(key)}`);
  return out;
}

function parseProfile(value: unknown, field: string, spec: FeatureSpec): FeatureProfile {
  const raw = object(value, field);
  const type = present(raw, 'type', `${field}.type`);
  if (type !== spec.type) invalid(`${field}.type`, `must be "${spec.type}" like the input_schema feature, got ${show(type)}`);
  const count = integer(raw, 'count', `${field}.count`, 0);
  const missingRate = finite(raw, 'missing_rate', `${field}.missing_rate`);
  if (missingRate < 0 || missingRate > 1) invalid(`${field}.missing_rate`, `must be between 0 and 1, got ${missingRate}`);
  const missing = raw['missing'] === undefined ? {} : { missing: integer(raw, 'missing', `${field}.missing`, 0) };
  if (type === 'categorical') {
    const profile: CategoricalProfile = {
      type,
      count,
      missing_rate: missingRate,
      ...missing,
      frequencies: parseNumberRecord(present(raw, 'frequencies', `${field}.frequencies`), `${field}.frequencies`),
      ...(raw['counts'] === undefined ? {} : { counts: parseNumberRecord(raw['counts'], `${field}.counts`) }),
    };
    return profile;
  }
  const quantiles = array(raw, 'quantiles', `${field}.quantiles`).map((q, i) => {
    if (typeof q !== 'number' || !Number.isFinite(q)) invalid(`${field}.quantiles[${i}]`, `must be a finite number, got ${show(q)}`);
    return q;
  });
  const profile: NumericProfile = {
    type: 'numeric',
    count,
    missing_rate: missingRate,
    ...missing,
    min: finite(raw, 'min', `${field}.min`),
    max: finite(raw, 'max', `${field}.max`),
    mean: finite(raw, 'mean', `${field}.mean`),
    std: finite(raw, 'std', `${field}.std`),
    quantiles,
  };
  const withSample = raw['sample'] === undefined ? profile : { ...profile, sample: parseSample(raw['sample'], `${field}.sample`) };
  if (raw['percentiles'] === undefined) return withSample;
  const percentiles = array(raw, 'percentiles', `${field}.percentiles`).map((q, i) => {
    if (typeof q !== 'number' || !Number.isFinite(q)) invalid(`${field}.percentiles[${i}]`, `must be a finite number, got ${show(q)}`);
    return q;
  });
  return { ...withSample, percentiles };
}

/** A stored sample of training values: it must decode to its size. */
function parseSample(value: unknown, field: string): EncodedSample {
  const raw = object(value, field);
  const sample = { size: integer(raw, 'size', `${field}.size`, 0), encoding: string(raw, 'encoding', `${field}.encoding`), data: string(raw, 'data', `${field}.data`) };
  if (sample.encoding !== SAMPLE_ENCODING) invalid(`${field}.encoding`, `must be "${SAMPLE_ENCODING}", got ${show(sample.encoding)}`);
  const encoded = sample as EncodedSample;
  try {
    decodeSample(encoded);
  } catch (error) {
    invalid(`${field}.data`, `does not decode: ${asError(error).message}`);
  }
  return encoded;
}

function parseBaseline(value: unknown, schema: InputSchema): Record<string, FeatureProfile> {
  const raw = object(value, 'baseline');
  const out: Record<string, FeatureProfile> = {};
  for (const spec of schema.features) {
    const field = `baseline${pathKey(spec.name)}`;
    if (raw[spec.name] === undefined) invalid(field, `is missing: every input_schema feature needs a profile`);
    out[spec.name] = parseProfile(raw[spec.name], field, spec);
  }
  return out;
}

function parseLineage(value: unknown): Lineage {
  const raw = object(value, 'lineage');
  const parametersRaw = object(raw['parameters'], 'lineage.parameters');
  const parameters: Record<string, number | string | boolean> = {};
  for (const key of Object.keys(parametersRaw)) {
    const parameter = parametersRaw[key];
    const field = `lineage.parameters${pathKey(key)}`;
    if (typeof parameter === 'string' || typeof parameter === 'boolean') parameters[key] = parameter;
    else if (typeof parameter === 'number' && Number.isFinite(parameter)) parameters[key] = parameter;
    else invalid(field, `must be a finite number, a string or a boolean, got ${show(parameter)}`);
  }
  return {
    data_sha256: string(raw, 'data_sha256', 'lineage.data_sha256'),
    rows: integer(raw, 'rows', 'lineage.rows', 0),
    target: string(raw, 'target', 'lineage.target'),
    seed: finite(raw, 'seed', 'lineage.seed'),
    parameters,
    trainer: string(raw, 'trainer', 'lineage.trainer'),
    trainer_version: string(raw, 'trainer_version', 'lineage.trainer_version'),
  };
}

/**
 * Validates `raw` as model metadata and returns a copy with only the known fields.
 * Throws `RequestValidationError('INVALID_METADATA', …, { field })` at the first breakage.
 */
export function parseModelMetadata(raw: unknown): ModelMetadata {
  if (!isObject(raw)) {
    throw new RequestValidationError('INVALID_METADATA', `metadata must be a JSON object, got ${show(raw)}`, { field: '' });
  }
  const algorithm = string(raw, 'algorithm', 'algorithm');
  const inputSchema = parseInputSchema(raw['input_schema']);
  const preprocessing = parsePreprocessing(raw['preprocessing'], inputSchema);
  const output = parseOutput(raw['output']);
  const metrics = parseNumberRecord(raw['metrics'], 'metrics');
  const baseline = parseBaseline(raw['baseline'], inputSchema);
  const lineage = parseLineage(raw['lineage']);
  let metadata: ModelMetadata = { algorithm, input_schema: inputSchema, preprocessing, output, metrics, baseline, lineage };
  if (raw['feature_importance'] !== undefined) metadata = { ...metadata, feature_importance: parseFeatureImportance(raw['feature_importance'], inputSchema) };
  if (raw['prediction_profile'] === undefined) return metadata;
  const predictionProfile = parseProfile(raw['prediction_profile'], 'prediction_profile', { name: 'prediction', type: 'numeric', nullable: false });
  return predictionProfile.type === 'numeric' ? { ...metadata, prediction_profile: predictionProfile } : metadata;
}

/** Mean |SHAP| per feature: non-negative numbers for features of the schema only. */
function parseFeatureImportance(value: unknown, schema: InputSchema): FeatureImportance {
  const raw = object(value, 'feature_importance');
  const meanAbsShap = parseNumberRecord(raw['mean_abs_shap'], 'feature_importance.mean_abs_shap');
  const names = new Set(schema.features.map((f) => f.name));
  for (const [feature, importance] of Object.entries(meanAbsShap)) {
    const field = `feature_importance.mean_abs_shap${pathKey(feature)}`;
    if (!names.has(feature)) invalid(field, 'names no feature of the input schema');
    if (!(importance >= 0)) invalid(field, `must be a number of at least 0, got ${show(importance)}`);
  }
  return {
    method: string(raw, 'method', 'feature_importance.method'),
    rows: integer(raw, 'rows', 'feature_importance.rows', 0),
    background_rows: integer(raw, 'background_rows', 'feature_importance.background_rows', 0),
    mean_abs_shap: meanAbsShap,
  };
}
