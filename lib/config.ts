/**
 * Deployment configuration of the platform: read from the CDK context, validated with the schemas of `contracts/`.
 *
 * Sources, later ones merged over earlier ones (objects merge key by key, arrays and scalars replace; the one
 * exception is `pipeline.models`, which a later source replaces as a whole so that a default model can be dropped):
 *   1. the defaults of the schema ({@link DEFAULT_CONFIG})
 *   2. the cdk.json / `-c` context key `mlops` (an object, or a JSON string when given with `-c mlops='{...}'`)
 *   3. the JSON file named by the context key `configFile` (`npx cdk synth -c configFile=my.json`),
 *      resolved against the current working directory
 *
 * Any unknown key, wrong type or out-of-range value throws a {@link ConfigError} naming the field, the allowed
 * values and the value received; the Lambdas parse the parts they receive with the same schemas at cold start.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseMlopsConfig, type MlopsConfig } from '#contracts/config.ts';
import { ConfigError, show } from '#contracts/schema.ts';

export { ConfigError } from '#contracts/schema.ts';
export { DEFAULT_CONFIG, LOG_RETENTION_DAYS } from '#contracts/config.ts';
export type { LambdaArchitecture, MlopsConfig, RemovalPolicyName } from '#contracts/config.ts';
export type { ApiConfig, QuotaConfig, QuotaPeriod, ThrottleConfig, WafConfig } from '#contracts/api.ts';
export type { OutOfRangePolicy, PredictConfig } from '#contracts/predict.ts';
export type { ExplainApproximation, ExplainConfig } from '#contracts/explain.ts';
export type { ArtifactsConfig, RegistryConfig } from '#contracts/registry.ts';
export { MODEL_NAME } from '#contracts/registry.ts';
export { ECR_IMAGE_URI, MAX_PIPELINE_CONFIG_BYTES, pipelineConfigJson } from '#contracts/pipeline.ts';
export type {
  GateThresholdsConfig,
  PipelineConfig,
  PipelineDefaultsConfig,
  PipelineModelConfig,
  PromotionConfig,
  PromotionMode,
  ProtectedAttributeConfig,
  TrainerKind,
} from '#contracts/pipeline.ts';
export { ALARM_METRIC_LAG_SECONDS, DEPLOYMENT_STRATEGIES, DEPLOYMENT_STRATEGY_INTERVALS, secondsToAlarm } from '#contracts/observability.ts';
export type {
  AlarmsConfig,
  DeploymentConfig,
  DeploymentStrategy,
  NotificationsConfig,
  ObservabilityConfig,
  RollbackConfig,
} from '#contracts/observability.ts';
export type { CanaryWatchConfig } from '#contracts/canary.ts';
export type { DriftConfig, DriftThresholdsConfig, RetrainPromotionConfig } from '#contracts/drift.ts';
export { DEFAULT_ENDPOINT } from '#contracts/gpu.ts';
export type { EndpointAlarmsConfig, EndpointVariantKind, SageMakerEndpointConfig, SageMakerServingConfig } from '#contracts/gpu.ts';

type Raw = Record<string, unknown>;

function isPlainObject(value: unknown): value is Raw {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects a later source replaces as a whole instead of merging into (dotted paths from the root). */
const REPLACED_WHOLE: readonly string[] = ['pipeline.models'];

/** Deep-merges plain objects; anything else in `override` (arrays, scalars) replaces the base value. */
function merge(base: unknown, override: unknown, path = ''): unknown {
  if (override === undefined) return base;
  if (!isPlainObject(base) || !isPlainObject(override) || REPLACED_WHOLE.includes(path)) return override;
  const out: Raw = { ...base };
  for (const [key, value] of Object.entries(override)) {
    out[key] = merge(base[key], value, path === '' ? key : `${path}.${key}`);
  }
  return out;
}

/**
 * Validates `raw` (a partial config, or undefined for all defaults) and fills in the defaults.
 * @throws ConfigError on any unknown key, wrong type or out-of-range value
 */
export function parseConfig(raw: unknown): MlopsConfig {
  return parseMlopsConfig(raw);
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

/** A source without its top-level `$schema` key, which names the JSON Schema editors check it with (docs/configuration.md). */
function withoutSchemaKey(source: unknown): unknown {
  if (!isPlainObject(source) || typeof source['$schema'] !== 'string') return source;
  const { $schema: _schema, ...rest } = source;
  return rest;
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

  return parseConfig(merge(withoutSchemaKey(fromContext), withoutSchemaKey(fromFile)));
}

