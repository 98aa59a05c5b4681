/**
 * The environment of the platform's Lambda functions: each variable's name, and for those carrying a part of the
 * deployment config, the schema that part is parsed with at cold start (the one the CDK validated it with at synth,
 * so a bad value reads the same in both places). The constructs set the variables through {@link ENV}; the handlers
 * read them through the same names.
 */
import type * as z from 'zod';
import { ConfigError, parseWith, show } from './schema.ts';

export const ENV = {
  /** DynamoDB model registry table name. */
  REGISTRY_TABLE_NAME: 'REGISTRY_TABLE_NAME',
  /** S3 bucket holding `models/{model}/{sha256}.onnx` and `.json`. */
  ARTIFACT_BUCKET_NAME: 'ARTIFACT_BUCKET_NAME',
  /** Largest number of records in one predict request (`api.maxBatchSize`). */
  MAX_BATCH_SIZE: 'MAX_BATCH_SIZE',
  /** Largest request body in bytes (`api.maxRequestBytes`). */
  MAX_REQUEST_BYTES: 'MAX_REQUEST_BYTES',
  /** Registry lookup cache TTL in seconds (`registry.cacheTtlSeconds`). */
  REGISTRY_CACHE_TTL_SECONDS: 'REGISTRY_CACHE_TTL_SECONDS',
  /** How long a model's last known serving config keeps serving while the registry is unreadable (`registry.staleServingSeconds`). */
  REGISTRY_STALE_SERVING_SECONDS: 'REGISTRY_STALE_SERVING_SECONDS',
  /** The API consumers' keys as JSON (`[{"keyId", "name", "models"?}]`, from `api.consumers`), parsed with `consumerDirectory`. */
  API_CONSUMERS: 'API_CONSUMERS',
  /**
   * Whether the deployment's default API key exists (`api.defaultKey`, resolved by `defaultKeyEnabled`): when `false`,
   * a key id that is no consumer's (`API_CONSUMERS`) is refused, never served as the unrestricted default consumer.
   */
  API_DEFAULT_KEY: 'API_DEFAULT_KEY',
  /** Comma-separated allowed CORS origins; empty means no CORS headers (`api.corsAllowOrigins`). */
  CORS_ALLOW_ORIGIN: 'CORS_ALLOW_ORIGIN',
  /** ONNX Runtime intra-op thread count (`predict.onnxIntraOpThreads`). */
  ONNX_INTRA_OP_THREADS: 'ONNX_INTRA_OP_THREADS',
  /** The deployment's name, the `environment` default dimension of every metric. */
  MLOPS_ENVIRONMENT: 'MLOPS_ENVIRONMENT',
  /** The `pipeline` block of the deployment config as JSON (`pipelineConfigJson`), parsed with `pipelineConfig`. */
  PIPELINE_CONFIG: 'PIPELINE_CONFIG',
  /**
   * `drift.retrainPromotion` as JSON, parsed with `retrainPromotionConfig`: the most a drift-requested run (`requested_by:
   * drift`, what the retrain rule starts) may ask for, whatever its input says. Unset: a canary waiting for approval.
   */
  RETRAIN_PROMOTION: 'RETRAIN_PROMOTION',
  /** ARN of the SNS topic the training pipeline notifies (approval requests, outcomes). */
  NOTIFICATION_TOPIC_ARN: 'NOTIFICATION_TOPIC_ARN',
  /** Longest wait for one SageMaker InvokeEndpoint call, in milliseconds (`sagemakerServing.invokeTimeoutMs`). */
  SAGEMAKER_INVOKE_TIMEOUT_MS: 'SAGEMAKER_INVOKE_TIMEOUT_MS',
  /** Retries of a throttled InvokeEndpoint call. */
  SAGEMAKER_MAX_THROTTLE_RETRIES: 'SAGEMAKER_MAX_THROTTLE_RETRIES',
  /** Backoff before the first retry, in milliseconds. */
  SAGEMAKER_RETRY_BASE_DELAY_MS: 'SAGEMAKER_RETRY_BASE_DELAY_MS',
  /** Consecutive failures that open an endpoint's circuit. */
  SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD: 'SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD',
  /** Seconds an open circuit refuses calls. */
  SAGEMAKER_CIRCUIT_OPEN_SECONDS: 'SAGEMAKER_CIRCUIT_OPEN_SECONDS',
  /** Powertools service name (logger, tracer, metrics dimension). */
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  /** Powertools metrics namespace. */
  POWERTOOLS_METRICS_NAMESPACE: 'POWERTOOLS_METRICS_NAMESPACE',
  /** Powertools log level. */
  POWERTOOLS_LOG_LEVEL: 'POWERTOOLS_LOG_LEVEL',
  /** The `observability.canary` block of the deployment config as JSON, parsed with `canaryWatchConfig`. */
  CANARY_THRESHOLDS: 'CANARY_THRESHOLDS',
  /** Powertools service name of the inference API: the `service` dimension of the metrics the canary watch reads. */
  INFERENCE_SERVICE_NAME: 'INFERENCE_SERVICE_NAME',
  /** Firehose delivery stream the predict function sends captured predictions to. */
  CAPTURE_STREAM_NAME: 'CAPTURE_STREAM_NAME',
  /** S3 bucket of captured predictions, feedback labels and drift reports. */
  CAPTURE_BUCKET_NAME: 'CAPTURE_BUCKET_NAME',
  /** Share of predict requests captured, 0 to 1 (`drift.captureSampleRate`). */
  CAPTURE_SAMPLE_RATE: 'CAPTURE_SAMPLE_RATE',
  /** The drift job's settings as JSON (thresholds, cooldown, retraining), parsed with `driftJobSettings`. */
  DRIFT_CONFIG: 'DRIFT_CONFIG',
  /** EventBridge bus the drift job puts its events on. */
  EVENT_BUS_NAME: 'EVENT_BUS_NAME',
  /** What the predict function does with values outside the training range: `off`, `warn` or `reject` (`predict.outOfRange`). */
  OUT_OF_RANGE_POLICY: 'OUT_OF_RANGE_POLICY',
  /** Share of the training range tolerated beyond each end (`predict.outOfRangeTolerance`). */
  OUT_OF_RANGE_TOLERANCE: 'OUT_OF_RANGE_TOLERANCE',
  /** The per-instance out-of-distribution score: `off`, `warn` or `reject` (`predict.outOfDistribution`). */
  OUT_OF_DISTRIBUTION_POLICY: 'OUT_OF_DISTRIBUTION_POLICY',
  /** The p-value below which an instance is out of distribution (`predict.outOfDistributionPValue`). */
  OUT_OF_DISTRIBUTION_P_VALUE: 'OUT_OF_DISTRIBUTION_P_VALUE',
  /** Most instances per explain request (`explain.maxBatchSize`). */
  EXPLAIN_MAX_BATCH_SIZE: 'EXPLAIN_MAX_BATCH_SIZE',
  /** Rows of explain's background sample (`explain.backgroundSize`). */
  EXPLAIN_BACKGROUND_SIZE: 'EXPLAIN_BACKGROUND_SIZE',
  /** `sampling` or `refuse` for graphs without an exact SHAP method (`explain.approximation`). */
  EXPLAIN_APPROXIMATION: 'EXPLAIN_APPROXIMATION',
  /** Model evaluations per instance when sampling (`explain.samplingBudget`). */
  EXPLAIN_SAMPLING_BUDGET: 'EXPLAIN_SAMPLING_BUDGET',
  /** Attributions in `top_contributions` (`explain.topContributions`). */
  EXPLAIN_TOP_CONTRIBUTIONS: 'EXPLAIN_TOP_CONTRIBUTIONS',
  /** Comma-separated buckets batch scoring jobs may read and write (the batch bucket). */
  BATCH_BUCKET_NAMES: 'BATCH_BUCKET_NAMES',
  /** Rows per batch of a batch scoring job (`batch.maxItemsPerBatch`). */
  BATCH_MAX_ITEMS_PER_BATCH: 'BATCH_MAX_ITEMS_PER_BATCH',
  /** Batches scored at once (`batch.maxConcurrency`). */
  BATCH_MAX_CONCURRENCY: 'BATCH_MAX_CONCURRENCY',
  /** Tolerated share of failed batches, and of refused rows in a batch, percent (`batch.toleratedFailurePercentage`). */
  BATCH_TOLERATED_FAILURE_PERCENTAGE: 'BATCH_TOLERATED_FAILURE_PERCENTAGE',
  /** Qualified ARN of the predict function version a CodeDeploy deployment is about to shift traffic to. */
  TARGET_FUNCTION_ARN: 'TARGET_FUNCTION_ARN',
  /** Seconds the drift job's lease (single-flight) lasts without being released. */
  DRIFT_LEASE_SECONDS: 'DRIFT_LEASE_SECONDS',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

export { METRICS_NAMESPACE } from './metrics.ts';

/** Powertools service names of the functions (the `service` dimension of their metrics). */
export const SERVICE_NAMES = {
  inferenceApi: 'inference-api',
  trainingPipeline: 'training-pipeline',
  canaryWatch: 'canary-watch',
  driftMonitor: 'drift-monitor',
  batchScoring: 'batch-scoring',
  preTrafficHook: 'pre-traffic-hook',
  endpointScaling: 'endpoint-scaling',
} as const;

/**
 * Parses an environment variable holding a JSON part of the deployment config with that part's schema. The message
 * of a bad value is the one synth gives for the same value in cdk.json, after `environment variable NAME: `.
 * @param path where the part sits in the deployment config (`pipeline`, `observability.canary`)
 * @throws ConfigError when the variable is unset (and no `fallback` is given), is not JSON, or fails the schema
 */
export function parseJsonEnv<S extends z.ZodType>(
  name: EnvName,
  raw: string | undefined,
  schema: S,
  path: string,
  fallback?: unknown,
): z.output<S> {
  const prefix = `environment variable ${name}: `;
  let value: unknown = fallback;
  if (raw === undefined || raw.trim() === '') {
    if (fallback === undefined) throw new ConfigError(`environment variable ${name} is not set`);
  } else {
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new ConfigError(`${prefix}not valid json (${err instanceof Error ? err.message : show(err)})`);
    }
  }
  return parseWith(schema, value, { path, prefix });
}

/**
 * Reads an environment variable holding one setting of the deployment config (`MAX_BATCH_SIZE` is `api.maxBatchSize`)
 * with that setting's schema: unset gives the schema's default, and a bad value fails with the message synth gives
 * for it in cdk.json, after `environment variable NAME: `. The text is read as JSON when it is JSON (`1000`, `true`),
 * as a plain string otherwise (`warn`); `list` splits a comma-separated list first.
 * @throws ConfigError naming the setting, the allowed range and the value received
 */
export function configEnv<S extends z.ZodType>(
  name: EnvName,
  schema: S,
  path: string,
  options: { readonly env?: Readonly<Record<string, string | undefined>>; readonly list?: boolean } = {},
): z.output<S> {
  const raw = (options.env ?? process.env)[name];
  let value: unknown;
  if (raw === undefined || raw === '') value = options.list === true ? [] : undefined;
  else if (options.list === true) value = raw.split(',').map((item) => item.trim()).filter((item) => item !== '');
  else {
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
  }
  return parseWith(schema, value, { path, prefix: `environment variable ${name}: ` });
}
