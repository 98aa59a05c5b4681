import type { CategoricalFeatureSpec, FeatureRow, FeatureSpec, FeatureValue, InputSchema } from '#core/model/metadata.ts';
import { RequestValidationError } from '#core/errors.ts';

/**
 * Turns a predict request body into validated feature rows, or throws a
 * `RequestValidationError` whose code names the problem and whose details name the field.
 *
 * Codes: MALFORMED_JSON, INVALID_BODY, EMPTY_BATCH, BATCH_TOO_LARGE, INVALID_INSTANCE,
 * MISSING_FEATURE, UNKNOWN_FEATURE, INVALID_TYPE, NON_FINITE_VALUE, VALUE_BEYOND_FLOAT32,
 * NULL_NOT_ALLOWED, UNKNOWN_CATEGORY.
 */

/**
 * The largest finite float32. Models take float32 tensors: a finite JSON number beyond it (`1e308`) would become
 * ±Infinity in the tensor and a NaN probability, so it is refused at validation like a non-finite value.
 */
export const FLOAT32_MAX = 3.4028234663852886e38;

/**
 * Marker for the bare `NaN`, `Infinity` and `-Infinity` tokens that some JSON writers
 * (Python's `json.dumps`, for one) emit. JSON.parse refuses them, but the client deserves
 * to hear which field was not finite, not just "malformed JSON".
 */
const NON_FINITE_MARKER = '\u0000non-finite:';

const NON_FINITE_TOKENS = ['-Infinity', 'Infinity', 'NaN'] as const;

/**
 * Rewrites bare non-finite tokens outside strings into marker strings so that the body
 * parses and validation can point at the field. Returns undefined when there are none.
 */
function quoteNonFiniteTokens(text: string): string | undefined {
  let out = '';
  let last = 0;
  let inString = false;
  let found = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 0x5c /* \ */) i++;
      else if (ch === 0x22 /* " */) inString = false;
      continue;
    }
    if (ch === 0x22) {
      inString = true;
      continue;
    }
    for (const token of NON_FINITE_TOKENS) {
      if (text.startsWith(token, i)) {
        out += text.slice(last, i) + JSON.stringify(NON_FINITE_MARKER + token);
        i += token.length - 1;
        last = i + 1;
        found = true;
        break;
      }
    }
  }
  return found ? out + text.slice(last) : undefined;
}

/** Parses a JSON request body, accepting bare NaN/Infinity only so they can be reported precisely. */
export function parseJsonBody(body: string | null | undefined): unknown {
  if (body === null || body === undefined || body.trim() === '') {
    throw new RequestValidationError('MALFORMED_JSON', 'the request body is empty; send a JSON object', {});
  }
  try {
    return JSON.parse(body);
  } catch (error) {
    const rewritten = quoteNonFiniteTokens(body);
    if (rewritten !== undefined) {
      try {
        return JSON.parse(rewritten);
      } catch {
        // fall through to the original parse error, which is the one the client should see
      }
    }
    const reason = error instanceof Error ? error.message : String(error);
    throw new RequestValidationError('MALFORMED_JSON', 'the request body is not valid JSON', { reason });
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A schema compiled once per model version so each request does only lookups. */
export interface CompiledSchema {
  readonly schema: InputSchema;
  readonly names: ReadonlySet<string>;
  readonly categories: ReadonlyMap<string, ReadonlySet<string>>;
}

export function compileSchema(schema: InputSchema): CompiledSchema {
  const categories = new Map<string, ReadonlySet<string>>();
  for (const feature of schema.features) {
    if (feature.type === 'categorical') categories.set(feature.name, new Set(feature.categories));
  }
  return { schema, names: new Set(schema.features.map((f) => f.name)), categories };
}

/** Field paths are built only when an error needs one: this runs per value on the hot path. */
function fieldOf(index: number, feature?: string): string {
  return feature === undefined ? `instances[${index}]` : `instances[${index}].${feature}`;
}

/**
 * Validates one instance (`index` names it in error fields): the check `validatePredictRequest` applies to each, for
 * callers that refuse rows one by one instead of whole requests (batch scoring).
 */
export function validateInstance(compiled: CompiledSchema, instance: unknown, index: number): FeatureRow {
  if (!isPlainObject(instance)) {
    throw new RequestValidationError('INVALID_INSTANCE', `${fieldOf(index)} must be an object of feature values`, {
      field: fieldOf(index),
      received: describeType(instance),
    });
  }
  const features = compiled.schema.features;
  // With as many keys as features, all of them present means none unknown: the per-key lookup runs only when the
  // counts differ or a feature is missing (then an unknown key, if any, is reported first, as always).
  const keyCount = Object.keys(instance).length;
  if (keyCount !== features.length) rejectUnknownFeatures(compiled, instance, index);
  const row: Record<string, FeatureValue> = {};
  for (let f = 0; f < features.length; f++) {
    const feature = features[f] as FeatureSpec;
    const name = feature.name;
    // hasOwn, not `in` or undefined: a feature may be named like an Object.prototype member.
    if (!Object.hasOwn(instance, name)) {
      rejectUnknownFeatures(compiled, instance, index);
      throw new RequestValidationError(
        'MISSING_FEATURE',
        `${fieldOf(index, name)} is missing; send null for a missing value${feature.nullable ? '' : ' (this feature does not accept one)'}`,
        { field: fieldOf(index, name), nullable: feature.nullable },
      );
    }
    const value = instance[name];
    if (value === null) {
      if (!feature.nullable) {
        throw new RequestValidationError('NULL_NOT_ALLOWED', `${fieldOf(index, name)} cannot be null for this model`, {
          field: fieldOf(index, name),
        });
      }
      row[name] = null;
    } else if (feature.type === 'numeric') {
      if (typeof value === 'number' && value <= FLOAT32_MAX && value >= -FLOAT32_MAX) {
        row[name] = value;
      } else {
        throw invalidNumber(index, name, value);
      }
    } else if (typeof value === 'string' && compiled.categories.get(name)?.has(value) === true) {
      row[name] = value;
    } else {
      throw invalidCategory(index, feature, value);
    }
  }
  return row;
}

/** Throws `UNKNOWN_FEATURE` for the first key of `instance` that is not a feature of the model. */
function rejectUnknownFeatures(compiled: CompiledSchema, instance: Record<string, unknown>, index: number): void {
  for (const key of Object.keys(instance)) {
    if (!compiled.names.has(key)) {
      throw new RequestValidationError('UNKNOWN_FEATURE', `${fieldOf(index, key)} is not a feature of this model`, {
        field: fieldOf(index, key),
        expected_features: [...compiled.names],
      });
    }
  }
}

function isNonFiniteMarker(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(NON_FINITE_MARKER);
}

function invalidNumber(index: number, name: string, value: unknown): RequestValidationError {
  const field = fieldOf(index, name);
  if (isNonFiniteMarker(value)) {
    return new RequestValidationError('NON_FINITE_VALUE', `${field} must be a finite number`, {
      field,
      received: value.slice(NON_FINITE_MARKER.length),
    });
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return new RequestValidationError('NON_FINITE_VALUE', `${field} must be a finite number`, { field, received: String(value) });
  }
  if (typeof value === 'number') {
    return new RequestValidationError('VALUE_BEYOND_FLOAT32', `${field} is beyond the range of a float32 (±${FLOAT32_MAX})`, {
      field,
      received: String(value),
      limit: FLOAT32_MAX,
    });
  }
  return new RequestValidationError('INVALID_TYPE', `${field} must be a number`, {
    field,
    expected: 'number',
    received: describeType(value),
  });
}

function invalidCategory(index: number, feature: CategoricalFeatureSpec, value: unknown): RequestValidationError {
  const field = fieldOf(index, feature.name);
  if (isNonFiniteMarker(value)) {
    return new RequestValidationError('NON_FINITE_VALUE', `${field} must be a category, not a non-finite number`, {
      field,
      received: value.slice(NON_FINITE_MARKER.length),
    });
  }
  if (typeof value !== 'string') {
    return new RequestValidationError('INVALID_TYPE', `${field} must be a string category`, {
      field,
      expected: 'string',
      received: describeType(value),
    });
  }
  return new RequestValidationError('UNKNOWN_CATEGORY', `${field} has a category the model does not know`, {
    field,
    received: value,
    allowed: feature.categories,
  });
}

/** Validates `{"instances": [...]}` against the schema and batch limit. */
export function validatePredictRequest(compiled: CompiledSchema, body: unknown, maxBatchSize: number): FeatureRow[] {
  if (!isPlainObject(body)) {
    throw new RequestValidationError('INVALID_BODY', 'the request body must be a JSON object with "instances"', {
      received: describeType(body),
    });
  }
  for (const key of Object.keys(body)) {
    if (key !== 'instances') {
      throw new RequestValidationError('INVALID_BODY', `unknown top-level field "${key}"; only "instances" is accepted`, {
        field: key,
      });
    }
  }
  const instances = body.instances;
  if (!Array.isArray(instances)) {
    throw new RequestValidationError('INVALID_BODY', '"instances" must be an array of objects', {
      field: 'instances',
      received: describeType(instances),
    });
  }
  if (instances.length === 0) {
    throw new RequestValidationError('EMPTY_BATCH', '"instances" must hold at least one instance', { field: 'instances' });
  }
  if (instances.length > maxBatchSize) {
    throw new RequestValidationError(
      'BATCH_TOO_LARGE',
      `"instances" holds ${instances.length} instances; the limit is ${maxBatchSize}`,
      { field: 'instances', received: instances.length, limit: maxBatchSize },
    );
  }
  const rows = new Array<FeatureRow>(instances.length);
  for (let i = 0; i < instances.length; i++) rows[i] = validateInstance(compiled, instances[i], i);
  return rows;
}
