/**
 * Cache keys for pipeline steps: a step whose inputs (data, parameters, trainer) are unchanged
 * can reuse its earlier output instead of running again.
 *
 * The key is the sha256 (lower-case hex) of a canonical JSON of the inputs, so it does not depend
 * on the order in which parameter keys were written.
 */
import { createHash } from 'node:crypto';

/** A value `canonicalJson` accepts: JSON data made of plain objects, arrays and primitives. */
export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | readonly CanonicalValue[]
  | { readonly [key: string]: CanonicalValue | undefined };

/**
 * JSON with the keys of every object sorted (by UTF-16 code units) and no whitespace; arrays keep
 * their order. Object keys whose value is `undefined` are left out, as `JSON.stringify` does.
 * @throws RangeError for a non-finite number; TypeError for anything that is not plain JSON data
 *   (undefined outside an object, a function, a bigint, a symbol, a Date, a Map, a class instance…).
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, path: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new RangeError(`${path} is not a finite number (${value})`);
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((item: unknown, i) => write(item, `${path}[${i}]`)).join(',')}]`;
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) throw new TypeError(`${path} is not a plain object`);
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${write(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new TypeError(`${path} is a ${typeof value}, which JSON cannot represent`);
  }
}

export interface StepCacheInput {
  /** sha256 of the training data file. */
  readonly dataSha256: string;
  /** The step's parameters; key order does not matter. */
  readonly parameters: Readonly<Record<string, CanonicalValue | undefined>>;
  readonly trainer: string;
  readonly trainerVersion: string;
  /** The pipeline step, when one cache serves several steps (e.g. "train", "evaluate"). */
  readonly step?: string;
}

/** Bumped if the layout of the hashed document changes, so old keys stop matching. */
const CACHE_KEY_VERSION = 1;

/**
 * The cache key of a step: sha256 hex of the canonical JSON of its inputs.
 * @throws RangeError when dataSha256, trainer or trainerVersion is empty; see `canonicalJson` for parameters.
 */
export function stepCacheKey(input: StepCacheInput): string {
  for (const field of ['dataSha256', 'trainer', 'trainerVersion'] as const) {
    if (typeof input[field] !== 'string' || input[field] === '') throw new RangeError(`${field} must be a non-empty string`);
  }
  const document = canonicalJson({
    cache_key_version: CACHE_KEY_VERSION,
    data_sha256: input.dataSha256,
    parameters: input.parameters,
    trainer: input.trainer,
    trainer_version: input.trainerVersion,
    step: input.step,
  });
  return createHash('sha256').update(document, 'utf8').digest('hex');
}
