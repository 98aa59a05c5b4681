/**
 * Deployment configuration of the platform: typed, defaulted and validated by hand.
 *
 * Sources, later ones merged over earlier ones (objects merge key by key, arrays and scalars replace):
 *   1. {@link DEFAULT_CONFIG}
 *   2. the cdk.json / `-c` context key `mlops` (an object, or a JSON string when given with `-c mlops='{...}'`)
 *   3. the JSON file named by the context key `configFile` (`npx cdk synth -c configFile=my.json`),
 *      resolved against the current working directory
 *
 * Any unknown key, wrong type or out-of-range value throws a {@link ConfigError} naming the field.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** A configuration problem; its message names the field and the value received. */
export class ConfigError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** CPU architecture of the Lambda functions and of the ONNX Runtime layer. */
export type LambdaArchitecture = 'x86_64' | 'arm64';
/** Usage plan quota period. */
export type QuotaPeriod = 'DAY' | 'WEEK' | 'MONTH';
/** What happens to stateful resources (bucket, table, log groups) when the stack is deleted. */
export type RemovalPolicyName = 'retain' | 'destroy';

/** Retention values accepted by CloudWatch Logs (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export interface ThrottleConfig {
  /**
   * Steady-state requests per second allowed per API key (usage plan throttle).
   * @default 50
   */
  readonly rateLimit: number;
  /**
   * Burst capacity (requests) per API key (usage plan throttle).
   * @default 100
   */
  readonly burstLimit: number;
}

export interface QuotaConfig {
  /**
   * Maximum number of requests per API key in one {@link QuotaConfig.period}.
   * @default 100000
   */
  readonly limit: number;
  /**
   * The quota period.
   * @default "DAY"
   */
  readonly period: QuotaPeriod;
}

export interface ApiConfig {
  /** Usage plan throttle applied to every API key. */
  readonly throttle: ThrottleConfig;
  /** Usage plan quota applied to every API key. */
  readonly quota: QuotaConfig;
  /**
   * Largest accepted request body in bytes (checked by the handler; Lambda's own limit is 6 MB).
   * @default 1048576
   */
  readonly maxRequestBytes: number;
  /**
   * Largest number of records accepted in one predict request (1..10000).
   * @default 1000
   */
  readonly maxBatchSize: number;
  /**
   * Origins allowed by CORS (`"*"` or `https://host[:port]`). Empty disables CORS entirely.
   * @default []
   */
  readonly corsAllowOrigins: readonly string[];
  /**
   * API Gateway stage name (first path segment of the API URL).
   * @default "prod"
   */
  readonly stageName: string;
}

export interface PredictConfig {
  /**
   * Memory of the predict function in MB (1769 MB = one full vCPU).
   * @default 1769
   */
  readonly memorySize: number;
  /**
   * Timeout of the predict function in seconds (at most 29, API Gateway's integration timeout).
   * @default 10
   */
  readonly timeoutSeconds: number;
  /**
   * Reserved concurrency of the predict function; unset means the account's unreserved pool.
   * @default undefined
   */
  readonly reservedConcurrency?: number | undefined;
  /**
   * Provisioned concurrency on the `live` alias; 0 means none (no alias is created).
   * @default 0
   */
  readonly provisionedConcurrency: number;
  /**
   * ONNX Runtime intra-op threads per inference session.
   * @default 1
   */
  readonly onnxIntraOpThreads: number;
}

export interface RegistryConfig {
  /**
   * How long the predict function caches registry lookups, in seconds (0 disables the cache).
   * @default 30
   */
  readonly cacheTtlSeconds: number;
}

export interface ArtifactsConfig {
  /**
   * Days after which noncurrent versions of artifact objects are deleted.
   * @default 90
   */
  readonly noncurrentVersionExpirationDays: number;
}

export interface MlopsConfig {
  /**
   * Used for the stack name and as a prefix of resource names (lowercase letters, digits, dashes).
   * @default "serverless-mlops"
   */
  readonly appName: string;
  /**
   * Lambda architecture; also selects which ONNX Runtime binary goes into the layer.
   * @default "x86_64"
   */
  readonly architecture: LambdaArchitecture;
  /**
   * Retention of every log group, in days (a value CloudWatch Logs accepts).
   * @default 30
   */
  readonly logRetentionDays: number;
  /**
   * Removal policy of stateful resources. `retain` also turns DynamoDB deletion protection on;
   * `destroy` empties and deletes the buckets and the table with the stack (for dev stacks).
   * @default "retain"
   */
  readonly removalPolicy: RemovalPolicyName;
  readonly api: ApiConfig;
  readonly predict: PredictConfig;
  readonly registry: RegistryConfig;
  readonly artifacts: ArtifactsConfig;
}

/** The defaults; cdk.json's `mlops` context block repeats them. */
export const DEFAULT_CONFIG: MlopsConfig = {
  appName: 'serverless-mlops',
  architecture: 'x86_64',
  logRetentionDays: 30,
  removalPolicy: 'retain',
  api: {
    throttle: { rateLimit: 50, burstLimit: 100 },
    quota: { limit: 100_000, period: 'DAY' },
    maxRequestBytes: 1_048_576,
    maxBatchSize: 1000,
    corsAllowOrigins: [],
    stageName: 'prod',
  },
  predict: {
    memorySize: 1769,
    timeoutSeconds: 10,
    provisionedConcurrency: 0,
    onnxIntraOpThreads: 1,
  },
  registry: { cacheTtlSeconds: 30 },
  artifacts: { noncurrentVersionExpirationDays: 90 },
};

// ---------------------------------------------------------------------------------------------
// Validation helpers
// ---------------------------------------------------------------------------------------------

type Raw = Record<string, unknown>;

function isPlainObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

function fail(field: string, expectation: string, value: unknown): never {
  throw new ConfigError(`config field "${field}" ${expectation}, got ${show(value)}`);
}

function objectAt(raw: unknown, field: string, allowed: readonly string[]): Raw {
  if (!isPlainObject(raw)) fail(field, 'must be an object', raw);
  for (const key of Object.keys(raw)) {
    if (!allowed.includes(key)) {
      const path = field === '' ? key : `${field}.${key}`;
      throw new ConfigError(`config field "${path}" is not a known field (known: ${allowed.join(', ')})`);
    }
  }
  return raw;
}

function stringMatching(raw: Raw, key: string, field: string, pattern: RegExp, description: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || !pattern.test(value)) fail(field, `must be ${description}`, value);
  return value;
}

function oneOf<T extends string>(raw: Raw, key: string, field: string, options: readonly T[]): T {
  const value = raw[key];
  const match = options.find((option) => option === value);
  if (match === undefined) fail(field, `must be one of ${options.map((o) => `"${o}"`).join(', ')}`, value);
  return match;
}

function positiveNumber(raw: Raw, key: string, field: string, max?: number): number {
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    fail(field, 'must be a positive number', value);
  }
  if (max !== undefined && value > max) fail(field, `must be at most ${max}`, value);
  return value;
}

function integerIn(raw: Raw, key: string, field: string, min: number, max: number): number {
  const value = raw[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    fail(field, `must be an integer from ${min} to ${max}`, value);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Merge and parse
// ---------------------------------------------------------------------------------------------

/** Deep-merges plain objects; anything else in `override` (arrays, scalars) replaces the base value. */
function merge(base: unknown, override: unknown): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override)) return override;
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = merge(base[key], value);
  }
  return out;
}

const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

function parseApi(raw: unknown): ApiConfig {
  const api = objectAt(raw, 'api', ['throttle', 'quota', 'maxRequestBytes', 'maxBatchSize', 'corsAllowOrigins', 'stageName']);
  const throttle = objectAt(api['throttle'], 'api.throttle', ['rateLimit', 'burstLimit']);
  const quota = objectAt(api['quota'], 'api.quota', ['limit', 'period']);

  const origins = api['corsAllowOrigins'];
  if (!Array.isArray(origins)) fail('api.corsAllowOrigins', 'must be an array of origins', origins);
  const corsAllowOrigins = origins.map((origin: unknown, i: number): string => {
    if (typeof origin !== 'string' || (origin !== '*' && !ORIGIN.test(origin))) {
      fail(`api.corsAllowOrigins[${i}]`, 'must be "*" or an origin like "https://example.com"', origin);
    }
    return origin;
  });
  if (corsAllowOrigins.includes('*') && corsAllowOrigins.length > 1) {
    fail('api.corsAllowOrigins', 'must not combine "*" with other origins', corsAllowOrigins);
  }

  return {
    throttle: {
      rateLimit: positiveNumber(throttle, 'rateLimit', 'api.throttle.rateLimit', 10_000),
      burstLimit: integerIn(throttle, 'burstLimit', 'api.throttle.burstLimit', 1, 5000),
    },
    quota: {
      limit: integerIn(quota, 'limit', 'api.quota.limit', 1, 2_000_000_000),
      period: oneOf(quota, 'period', 'api.quota.period', ['DAY', 'WEEK', 'MONTH'] as const),
    },
    maxRequestBytes: integerIn(api, 'maxRequestBytes', 'api.maxRequestBytes', 1, 6 * 1024 * 1024),
    maxBatchSize: integerIn(api, 'maxBatchSize', 'api.maxBatchSize', 1, 10_000),
    corsAllowOrigins,
    stageName: stringMatching(api, 'stageName', 'api.stageName', /^[A-Za-z0-9_]{1,64}$/, 'letters, digits or underscores (1 to 64)'),
  };
}

function parsePredict(raw: unknown): PredictConfig {
  const predict = objectAt(raw, 'predict', [
    'memorySize',
    'timeoutSeconds',
    'reservedConcurrency',
    'provisionedConcurrency',
    'onnxIntraOpThreads',
  ]);
  const reservedConcurrency =
    predict['reservedConcurrency'] === undefined
      ? undefined
      : integerIn(predict, 'reservedConcurrency', 'predict.reservedConcurrency', 1, 100_000);
  const provisionedConcurrency = integerIn(predict, 'provisionedConcurrency', 'predict.provisionedConcurrency', 0, 100_000);
  if (reservedConcurrency !== undefined && provisionedConcurrency > reservedConcurrency) {
    fail('predict.provisionedConcurrency', `must not exceed predict.reservedConcurrency (${reservedConcurrency})`, provisionedConcurrency);
  }
  return {
    memorySize: integerIn(predict, 'memorySize', 'predict.memorySize', 128, 10_240),
    timeoutSeconds: integerIn(predict, 'timeoutSeconds', 'predict.timeoutSeconds', 1, 29),
    ...(reservedConcurrency === undefined ? {} : { reservedConcurrency }),
    provisionedConcurrency,
    onnxIntraOpThreads: integerIn(predict, 'onnxIntraOpThreads', 'predict.onnxIntraOpThreads', 1, 6),
  };
}

/**
 * Merges `raw` (a partial config, or undefined for all defaults) over {@link DEFAULT_CONFIG} and validates it.
 * @throws ConfigError on any unknown key, wrong type or out-of-range value
 */
export function parseConfig(raw: unknown): MlopsConfig {
  const merged = merge(DEFAULT_CONFIG, raw);
  const root = objectAt(merged, '', [
    'appName',
    'architecture',
    'logRetentionDays',
    'removalPolicy',
    'api',
    'predict',
    'registry',
    'artifacts',
  ]);
  const registry = objectAt(root['registry'], 'registry', ['cacheTtlSeconds']);
  const artifacts = objectAt(root['artifacts'], 'artifacts', ['noncurrentVersionExpirationDays']);

  const logRetentionDays = root['logRetentionDays'];
  const retention = LOG_RETENTION_DAYS.find((days) => days === logRetentionDays);
  if (retention === undefined) {
    fail('logRetentionDays', `must be one of ${LOG_RETENTION_DAYS.join(', ')}`, logRetentionDays);
  }

  return {
    appName: stringMatching(
      root,
      'appName',
      'appName',
      /^[a-z][a-z0-9-]{0,38}[a-z0-9]$/,
      'lowercase letters, digits and dashes, starting with a letter (2 to 40 characters)',
    ),
    architecture: oneOf(root, 'architecture', 'architecture', ['x86_64', 'arm64'] as const),
    logRetentionDays: retention,
    removalPolicy: oneOf(root, 'removalPolicy', 'removalPolicy', ['retain', 'destroy'] as const),
    api: parseApi(root['api']),
    predict: parsePredict(root['predict']),
    registry: {
      cacheTtlSeconds: integerIn(registry, 'cacheTtlSeconds', 'registry.cacheTtlSeconds', 0, 3600),
    },
    artifacts: {
      noncurrentVersionExpirationDays: integerIn(
        artifacts,
        'noncurrentVersionExpirationDays',
        'artifacts.noncurrentVersionExpirationDays',
        1,
        3650,
      ),
    },
  };
}

/** Anything with a construct node (an App, a Stack) or a bare context getter. */
export type ContextSource = { readonly node: { tryGetContext(key: string): unknown } } | ((key: string) => unknown);

function contextValue(source: ContextSource, key: string): unknown {
  return typeof source === 'function' ? source(key) : source.node.tryGetContext(key);
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${what} is not valid json: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * Reads the configuration from the context (`mlops`) and the optional `configFile`, merged over the defaults.
 * @param source an App (or any construct), or a function returning context values
 * @param cwd directory a relative `configFile` is resolved against
 * @throws ConfigError when a source cannot be read or a value is invalid
 */
export function loadConfig(source: ContextSource, cwd: string = process.cwd()): MlopsConfig {
  let fromContext = contextValue(source, 'mlops');
  if (typeof fromContext === 'string') fromContext = parseJson(fromContext, 'context "mlops"');
  if (fromContext !== undefined && !isPlainObject(fromContext)) {
    throw new ConfigError(`context "mlops" must be an object, got ${show(fromContext)}`);
  }

  const configFile = contextValue(source, 'configFile');
  let fromFile: unknown;
  if (configFile !== undefined) {
    if (typeof configFile !== 'string' || configFile === '') {
      throw new ConfigError(`context "configFile" must be a file path, got ${show(configFile)}`);
    }
    const path = resolve(cwd, configFile);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      const reason = err instanceof Error && 'code' in err ? String(err.code) : String(err);
      throw new ConfigError(`config file "${configFile}" could not be read (${reason})`);
    }
    fromFile = parseJson(text, `config file "${configFile}"`);
    if (!isPlainObject(fromFile)) {
      throw new ConfigError(`config file "${configFile}" must hold a json object, got ${show(fromFile)}`);
    }
  }

  return parseConfig(merge(fromContext, fromFile));
}
