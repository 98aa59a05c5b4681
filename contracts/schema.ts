/**
 * The schema vocabulary of the contracts: zod builders that carry the platform's own error wording, and the one
 * formatter that turns a zod issue into `config field "api.maxBatchSize" must be an integer from 1 to 10000, got 0`.
 *
 * Every builder states its expectation once, as the error message of each of its checks, so a value of the wrong
 * type and a value out of range read the same. The formatter adds the field (a dotted path, `[i]` for array items)
 * and the value received. The CDK (synth) and the Lambdas (cold start) both throw {@link ConfigError} from here.
 */
import * as z from 'zod';

/** A configuration problem; its message names the field, what it must be and the value received. */
export class ConfigError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** How a value is shown in a message: JSON for strings and objects, `undefined` when missing. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** A number from `min` to `max`, both included (or above `min` with `exclusiveMin`). */
export function numberIn(min: number, max: number, exclusiveMin = false) {
  const error = `must be a number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'and at most' : 'to'} ${max}`;
  const base = z.number({ error });
  return (exclusiveMin ? base.gt(min, { error }) : base.gte(min, { error })).lte(max, { error });
}

/** An integer from `min` to `max`, both included. */
export function integerIn(min: number, max: number) {
  const error = `must be an integer from ${min} to ${max}`;
  return z.number({ error }).int({ error }).gte(min, { error }).lte(max, { error });
}

/** A number above 0, optionally at most `max` (two messages, as the range is open below). */
export function positiveNumber(max?: number) {
  const error = 'must be a positive number';
  const positive = z.number({ error }).gt(0, { error });
  return max === undefined ? positive : positive.lte(max, { error: `must be at most ${max}` });
}

/** One of the given strings. */
export function oneOf<const T extends readonly [string, ...string[]]>(options: T) {
  return z.enum(options, { error: `must be one of ${options.map((o) => `"${o}"`).join(', ')}` });
}

/** `true` or `false`. */
export function boolean() {
  return z.boolean({ error: 'must be true or false' });
}

/** A string matching `pattern`; `description` completes "must be ...". */
export function stringMatching(pattern: RegExp, description: string) {
  const error = `must be ${description}`;
  return z.string({ error }).regex(pattern, { error });
}

/** A string that is not empty or blank. */
export function nonEmptyString() {
  const error = 'must be a non-empty string';
  return z.string({ error }).refine((value) => value.trim() !== '', { error });
}

/**
 * An object that refuses unknown keys, naming the ones it knows. `what` completes "must be ..." when the value is
 * not an object at all.
 */
export function strictObject<Shape extends z.core.$ZodLooseShape>(shape: Shape, what = 'an object') {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? `is not a known field (known: ${known})` : `must be ${what}`),
  });
}

/** Where a parsed value came from, for the message: the root path it sits at and the wording of the source. */
export interface ContractSource {
  /** Dotted path of the parsed value inside the deployment config (`pipeline`, `observability.canary`); '' for the root. */
  readonly path?: string;
  /** Names the source: `config` gives `config field "x"`, `DRIFT_CONFIG` gives `DRIFT_CONFIG field "x"`. @default "config" */
  readonly source?: string;
  /** Prepended to the message (e.g. `environment variable PIPELINE_CONFIG: `). @default "" */
  readonly prefix?: string;
}

function joinPath(base: string, path: readonly PropertyKey[]): string {
  let out = base;
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The message of one zod issue, in the platform's wording. */
export function formatIssue(issue: z.core.$ZodIssue, where: ContractSource = {}): string {
  const source = where.source ?? 'config';
  const prefix = where.prefix ?? '';
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0] ?? '';
    const input = issue.input as Record<string, unknown> | undefined;
    return `${prefix}${source} field "${joinPath(where.path ?? '', [...issue.path, key])}" ${issue.message}, got ${show(input?.[key])}`;
  }
  // A message that names its own value (a custom check) is used as is.
  const got = issue.code === 'custom' && issue.params?.['noValue'] === true ? '' : `, got ${show(issue.input)}`;
  return `${prefix}${source} field "${joinPath(where.path ?? '', issue.path)}" ${issue.message}${got}`;
}

/**
 * Parses `value` with `schema`, throwing a {@link ConfigError} with the first problem in the platform's wording.
 * The CDK calls it at synth, the Lambdas at cold start: the same schema gives the same message.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: ContractSource = {}): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ConfigError(issue === undefined ? `${where.source ?? 'config'} is invalid` : formatIssue(issue, where));
}

/** Adds an issue to a refinement context, at `path` (relative to the refined value), with the value received. */
export function addIssue(ctx: z.core.$RefinementCtx, path: readonly PropertyKey[], message: string, input: unknown): void {
  ctx.addIssue({ code: 'custom', path: [...path], message, input });
}

/** Adds an issue whose message is complete without the value received. */
export function addIssueWithoutValue(ctx: z.core.$RefinementCtx, path: readonly PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path: [...path], message, params: { noValue: true } });
}

