/**
 * The names of the environment variables the platform's Lambda functions read.
 * This is the one place they are spelled; constructs set them through these constants.
 * (lib/ never imports lambdas/; the runtime code reads `process.env[...]` with the same literal names.)
 */
export const ENV = {
  /** DynamoDB model registry table name. */
  REGISTRY_TABLE_NAME: 'REGISTRY_TABLE_NAME',
  /** S3 bucket holding `models/{model}/{sha256}.onnx` and `.json`. */
  ARTIFACT_BUCKET_NAME: 'ARTIFACT_BUCKET_NAME',
  /** Largest number of records in one predict request. */
  MAX_BATCH_SIZE: 'MAX_BATCH_SIZE',
  /** Largest request body in bytes. */
  MAX_REQUEST_BYTES: 'MAX_REQUEST_BYTES',
  /** Registry lookup cache TTL in seconds. */
  REGISTRY_CACHE_TTL_SECONDS: 'REGISTRY_CACHE_TTL_SECONDS',
  /** Comma-separated allowed CORS origins; empty means no CORS headers. */
  CORS_ALLOW_ORIGIN: 'CORS_ALLOW_ORIGIN',
  /** ONNX Runtime intra-op thread count. */
  ONNX_INTRA_OP_THREADS: 'ONNX_INTRA_OP_THREADS',
  /** The deployment's name, the `environment` default dimension of every metric. */
  MLOPS_ENVIRONMENT: 'MLOPS_ENVIRONMENT',
  /** The `pipeline` block of the deployment config as JSON (see `pipelineConfigJson` in lib/config.ts). */
  PIPELINE_CONFIG: 'PIPELINE_CONFIG',
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
  /** The `observability.canary` block of the deployment config as JSON (the canary watch's thresholds). */
  CANARY_THRESHOLDS: 'CANARY_THRESHOLDS',
  /** Powertools service name of the inference API: the `service` dimension of the metrics the canary watch reads. */
  INFERENCE_SERVICE_NAME: 'INFERENCE_SERVICE_NAME',
  /** Firehose delivery stream the predict function sends captured predictions to. */
  CAPTURE_STREAM_NAME: 'CAPTURE_STREAM_NAME',
  /** S3 bucket of captured predictions, feedback labels and drift reports. */
  CAPTURE_BUCKET_NAME: 'CAPTURE_BUCKET_NAME',
  /** Share of predict requests captured, 0 to 1. */
  CAPTURE_SAMPLE_RATE: 'CAPTURE_SAMPLE_RATE',
  /** The drift job's settings as JSON (thresholds, cooldown, retraining). */
  DRIFT_CONFIG: 'DRIFT_CONFIG',
  /** EventBridge bus the drift job puts its events on. */
  EVENT_BUS_NAME: 'EVENT_BUS_NAME',
  /** What the predict function does with values outside the training range: `off`, `warn` or `reject` (`predict.outOfRange`). */
  OUT_OF_RANGE_POLICY: 'OUT_OF_RANGE_POLICY',
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
  /** Share of the training range tolerated beyond each end (`predict.outOfRangeTolerance`). */
  OUT_OF_RANGE_TOLERANCE: 'OUT_OF_RANGE_TOLERANCE',
} as const;

export type EnvName = (typeof ENV)[keyof typeof ENV];

/** Powertools metrics namespace shared by every function of the platform. */
export const METRICS_NAMESPACE = 'ServerlessMLOps';

/** Powertools service name of the inference API function. */
export const INFERENCE_API_SERVICE_NAME = 'inference-api';

/** Powertools service name of the training pipeline function. */
export const TRAINING_PIPELINE_SERVICE_NAME = 'training-pipeline';

/** Powertools service name of the canary-watch function. */
export const CANARY_WATCH_SERVICE_NAME = 'canary-watch';
/** Powertools service name of the drift job function. */
export const DRIFT_MONITOR_SERVICE_NAME = 'drift-monitor';
