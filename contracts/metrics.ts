/**
 * The custom metrics of the platform: their namespace, names and dimension names, declared once. The handlers emit
 * them (Powertools `Metrics`, EMF); the dashboard, the alarms and the canary watch read them. A CloudWatch metric is
 * identified by its namespace, name and complete dimension set, so both sides must spell them alike: they take them
 * from here. What each metric means, its unit and its dimension set are in docs/metrics.md.
 */

/** Powertools metrics namespace shared by every function of the platform. */
export const METRICS_NAMESPACE = 'ServerlessMLOps';

/**
 * The EMF dimension names. Every metric carries `service` (the Powertools service name) and `environment`
 * (`MLOPS_ENVIRONMENT`, which the constructs set to `appName`); the others are added per metric.
 */
export const METRIC_DIMENSIONS = {
  service: 'service',
  environment: 'environment',
  route: 'route',
  model: 'model',
  code: 'code',
  step: 'step',
  feature: 'feature',
  /** Added by Powertools to `ColdStart`. */
  functionName: 'function_name',
  variant: 'variant',
  endpoint: 'endpoint',
  /** The predict function version that answered (`VersionServerErrors`, read by the CodeDeploy rollback alarm). */
  functionVersion: 'function_version',
  /** The API consumer (`api.consumers`) that called (`ConsumerRequests`); `default` for the default key. */
  consumer: 'consumer',
} as const;

/** The inference API's metrics (lambdas/inference-api/api-handler.ts, handler.ts). */
export const API_METRICS = {
  requests: 'Requests',
  predictLatency: 'PredictLatency',
  predictedRows: 'PredictedRows',
  explainLatency: 'ExplainLatency',
  explainedRows: 'ExplainedRows',
  clientErrors: 'ClientErrors',
  serverErrors: 'ServerErrors',
  modelLoadTime: 'ModelLoadTime',
  canaryFallbacks: 'CanaryFallbacks',
  /** Production's artifact failed its sha256 check or its load and an earlier production version answers (dimension `model`). */
  productionFallbacks: 'ProductionFallbacks',
  /** The registry could not be read and a model's last known serving config keeps serving (dimension `model`). */
  staleServingConfig: 'StaleServingConfig',
  shadowScoredRows: 'ShadowScoredRows',
  shadowDisagreements: 'ShadowDisagreements',
  shadowFailures: 'ShadowFailures',
  /** Emitted by Powertools itself (`captureColdStartMetric`). */
  coldStart: 'ColdStart',
  endpointThrottleRetries: 'EndpointThrottleRetries',
  endpointFailures: 'EndpointFailures',
  endpointCircuitOpened: 'EndpointCircuitOpened',
  outOfRangeValues: 'OutOfRangeValues',
  captureFailures: 'CaptureFailures',
  captureDeferred: 'CaptureDeferred',
  captureDropped: 'CaptureDropped',
  feedbackLabels: 'FeedbackLabels',
  /** 0 or 1 (5xx) per answer, dimension `function_version`: the new version's error rate during a code deployment. */
  versionServerErrors: 'VersionServerErrors',
  /** One per request of a configured API consumer, dimensions `consumer` and `route` (and `model` on model routes). */
  consumerRequests: 'ConsumerRequests',
} as const;

/** The inference API's per-variant metrics (lambdas/inference-api/variant-metrics.ts), dimensions `model`, `variant`. */
export const VARIANT_METRICS = {
  /** 0 or 1 per request routed to a variant: Average = error rate, SampleCount = requests, Sum = errors. */
  errors: 'VariantErrors',
  /** Predict latency of the requests a variant answered (ms). */
  latency: 'VariantLatency',
  /** Predicted probabilities (up to 100 per request). */
  score: 'VariantScore',
} as const;

/** The drift job's metrics (lambdas/drift-job/drift-job-handler.ts). */
export const DRIFT_METRICS = {
  /** A model's window held too few captures to judge (dimension `model`). */
  insufficientData: 'DriftInsufficientData',
  /** Overall drift score of a model (dimension `model`). */
  score: 'DriftScore',
  /** 1 for each model whose drift is critical in a run, else 0 (dimension `model`). */
  critical: 'DriftCritical',
  /** Share of the features that drifted (dimension `model`). */
  driftedFeatureShare: 'DriftedFeatureShare',
  /** Accuracy on the labelled captures of the window (dimension `model`). */
  liveAccuracy: 'LiveAccuracy',
  /** ROC AUC on the labelled captures of the window (dimension `model`). */
  liveRocAuc: 'LiveRocAuc',
  /** Distribution of the predicted scores (dimension `model`), read as percentiles. */
  predictionScore: 'PredictionScore',
  /** Drift score of one feature (dimensions `model`, `feature`). */
  feature: 'FeatureDrift',
} as const;

/** The training pipeline's metrics (lambdas/training-pipeline/pipeline-handler.ts), dimension `step`. */
export const PIPELINE_METRICS = {
  stepDuration: 'PipelineStepDuration',
  gatePassed: 'GatePassed',
  gateFailed: 'GateFailed',
  modelsPromoted: 'ModelsPromoted',
  failures: 'PipelineFailures',
  stepErrors: 'PipelineStepErrors',
} as const;

/** The canary watch's metrics (lambdas/canary-watch/handler.ts). */
export const CANARY_METRICS = {
  checks: 'CanaryChecks',
  rollbacks: 'CanaryRollbacks',
  promotions: 'CanaryPromotions',
} as const;

/** Batch scoring's metrics (lambdas/batch-scoring/handler.ts). */
export const BATCH_METRICS = {
  rowsScored: 'BatchRowsScored',
  rowsRefused: 'BatchRowsRefused',
  scoringDuration: 'BatchScoringDuration',
  jobsSucceeded: 'BatchJobsSucceeded',
  jobsFailed: 'BatchJobsFailed',
  stepErrors: 'BatchStepErrors',
} as const;

/** The endpoint-scaling custom resource's metrics (lambdas/endpoint-scaling/scaling-release-handler.ts). */
export const ENDPOINT_SCALING_METRICS = {
  /** Scalable targets of other variants of an endpoint deregistered before its update (one per variant). */
  released: 'EndpointScalingReleased',
} as const;

/** The predict function's CodeDeploy pre-traffic hook's metrics (lambdas/pre-traffic-hook/pre-traffic-hook-handler.ts). */
export const PRE_TRAFFIC_METRICS = {
  /** The new version answered health and every production model's reference instance. */
  passed: 'PreTrafficPassed',
  /** It did not: CodeDeploy was told `Failed` and rolls the deployment back. */
  failed: 'PreTrafficFailed',
} as const;
