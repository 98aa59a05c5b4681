/**
 * Deployment configuration of the platform: typed, defaulted and validated by hand.
 *
 * Sources, later ones merged over earlier ones (objects merge key by key, arrays and scalars replace; the one
 * exception is `pipeline.models`, which a later source replaces as a whole so that a default model can be dropped):
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
   * Provisioned concurrency on the `live` alias (which always exists); 0 means none.
   * @default 0
   */
  readonly provisionedConcurrency: number;
  /**
   * ONNX Runtime intra-op threads per inference session.
   * @default 1
   */
  readonly onnxIntraOpThreads: number;
  /**
   * What predict does with a numeric value outside the answering version's training range (widened by
   * `outOfRangeTolerance`): `off` checks nothing, `warn` answers 200 with `warnings`, `reject` answers 400 `OUT_OF_RANGE`.
   * @default "warn"
   */
  readonly outOfRange: OutOfRangePolicy;
  /**
   * Share of the training range (max − min) tolerated below the training min and above the training max (0 to 100).
   * @default 0.1
   */
  readonly outOfRangeTolerance: number;
}

/** What explain does with a graph without an exact SHAP method (the names of lambdas/core/explain/settings.ts). */
export type ExplainApproximation = 'sampling' | 'refuse';
const EXPLAIN_APPROXIMATIONS: readonly ExplainApproximation[] = ['sampling', 'refuse'];

/** The `/explain` route: SHAP values of a batch of instances (docs/api.md#explanations). */
export interface ExplainConfig {
  /**
   * Most instances per explain request (1..1000); explaining costs more than predicting.
   * @default 10
   */
  readonly maxBatchSize: number;
  /** Per-key throttle of `POST /v1/models/{model}/explain` in the usage plan, beside the API-wide one. */
  readonly throttle: ThrottleConfig;
  /**
   * Rows of the background sample the values are measured against, drawn from the version's baseline profile (1..1000).
   * @default 100
   */
  readonly backgroundSize: number;
  /**
   * A graph with no exact method (neither linear before its Sigmoid nor a tree ensemble): `sampling` estimates its values
   * (flagged approximate), `refuse` answers 422 EXPLAIN_NOT_SUPPORTED.
   * @default "sampling"
   */
  readonly approximation: ExplainApproximation;
  /**
   * Model evaluations per instance when sampling (100..100000).
   * @default 2000
   */
  readonly samplingBudget: number;
  /**
   * Attributions listed in `top_contributions` (1..100).
   * @default 5
   */
  readonly topContributions: number;
}

/** What the predict function does with values outside the training range (the names of the serving core). */
export type OutOfRangePolicy = 'off' | 'warn' | 'reject';
const OUT_OF_RANGE_POLICIES: readonly OutOfRangePolicy[] = ['off', 'warn', 'reject'];

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

/** Which trainer a pipeline run uses: the built-in ones run in the pipeline Lambda, `sagemaker` runs a training job. */
export type TrainerKind = 'logreg' | 'gbdt' | 'sagemaker';
/** Where a promoted candidate goes: all production traffic, or a canary share next to the champion. */
export type PromotionMode = 'production' | 'canary';

/**
 * Gate thresholds a candidate must meet (absolute, on the holdout). A missing threshold is not checked.
 * The fairness thresholds only apply when a protected attribute is set.
 */
export interface GateThresholdsConfig {
  /**
   * Lowest accepted ROC AUC.
   * @default 0.7
   */
  readonly minRocAuc?: number;
  /**
   * Lowest accepted accuracy.
   * @default - not checked
   */
  readonly minAccuracy?: number;
  /**
   * Highest accepted log loss.
   * @default - not checked
   */
  readonly maxLogLoss?: number;
  /**
   * Lowest accepted demographic parity ratio (protected group's favourable rate over the reference group's).
   * @default 0.8
   */
  readonly minDemographicParityRatio?: number;
  /**
   * Lowest accepted disparate impact (the four-fifths rule).
   * @default 0.8
   */
  readonly minDisparateImpact?: number;
  /**
   * Largest accepted |equal opportunity difference| (true positive rates of the two groups).
   * @default 0.1
   */
  readonly maxEqualOpportunityDifference?: number;
}

/** The attribute fairness is measured on: rows below a number, or rows in a set of categories, are the protected group. */
export type ProtectedAttributeConfig =
  | { readonly feature: string; readonly kind: 'numeric_below'; readonly value: number }
  | { readonly feature: string; readonly kind: 'category_in'; readonly value: readonly string[] };

export interface PromotionConfig {
  /**
   * `production` moves all traffic to a promoted candidate; `canary` gives it {@link PromotionConfig.canaryShare}.
   * @default "production"
   */
  readonly mode: PromotionMode;
  /**
   * Share of traffic (strictly between 0 and 1) a canary gets.
   * @default 0.1
   */
  readonly canaryShare: number;
}

/** Settings every model's runs use unless the model (or the run's input) overrides them. */
export interface PipelineDefaultsConfig {
  /**
   * The trainer.
   * @default "logreg"
   */
  readonly trainer: TrainerKind;
  /**
   * Training seeds (1 to 10 non-negative integers); more than one measures seed sensitivity.
   * @default [42]
   */
  readonly seeds: readonly number[];
  /**
   * Share of the rows held out for evaluation, in (0, 0.5].
   * @default 0.25
   */
  readonly testFraction: number;
  /** Absolute gate thresholds (a model's thresholds are merged over these; `null` in a model drops one). */
  readonly thresholds: GateThresholdsConfig;
  /**
   * How much ROC AUC a candidate may lose to the champion (-1..1; negative demands an improvement).
   * @default 0.01
   */
  readonly maxRegression: number;
  /**
   * Largest accepted spread of ROC AUC across seeds (0..1).
   * @default 0.02
   */
  readonly maxSeedSpread: number;
  /**
   * The attribute fairness is measured on; `null` skips the fairness checks.
   * @default null
   */
  readonly protectedAttribute: ProtectedAttributeConfig | null;
  /**
   * Which predicted class is the favourable outcome for the people scored (`negative` when the model predicts a risk).
   * @default "negative"
   */
  readonly favorableOutcome: 'positive' | 'negative';
  /**
   * Whether a person must approve a candidate that passed the gate before it is registered.
   * @default false
   */
  readonly approvalRequired: boolean;
  /** How a registered candidate is promoted. */
  readonly promotion: PromotionConfig;
}

/** One model the pipeline trains: its label, and any setting that differs from {@link PipelineDefaultsConfig}. */
export interface PipelineModelConfig {
  /** The label column of the dataset. */
  readonly target: string;
  /** The label value that is the positive class. */
  readonly positiveLabel: string;
  /**
   * Key of the training CSV in the artifact bucket, under `datasets/`; required with a schedule.
   * @default - each run's input names the dataset
   */
  readonly datasetKey?: string;
  /**
   * EventBridge schedule expression, `cron(...)` or `rate(...)`, that starts a run of this model.
   * @default - no scheduled runs
   */
  readonly schedule?: string;
  /** @default - pipeline.defaults.trainer */
  readonly trainer?: TrainerKind;
  /** @default - pipeline.defaults.seeds */
  readonly seeds?: readonly number[];
  /** @default - pipeline.defaults.testFraction */
  readonly testFraction?: number;
  /** Merged over pipeline.defaults.thresholds; the result is complete. @default - pipeline.defaults.thresholds */
  readonly thresholds?: GateThresholdsConfig;
  /** @default - pipeline.defaults.maxRegression */
  readonly maxRegression?: number;
  /** @default - pipeline.defaults.maxSeedSpread */
  readonly maxSeedSpread?: number;
  /** @default - pipeline.defaults.protectedAttribute */
  readonly protectedAttribute?: ProtectedAttributeConfig | null;
  /** @default - pipeline.defaults.favorableOutcome */
  readonly favorableOutcome?: 'positive' | 'negative';
  /** @default - pipeline.defaults.approvalRequired */
  readonly approvalRequired?: boolean;
  /** Filled from pipeline.defaults.promotion; the result is complete. @default - pipeline.defaults.promotion */
  readonly promotion?: PromotionConfig;
}

export interface SageMakerConfig {
  /**
   * ECR image URI of the SageMaker training image (`<account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`).
   * Empty is allowed only while no model uses the `sagemaker` trainer.
   * @default ""
   */
  readonly trainingImage: string;
  /**
   * Instance type of the training jobs.
   * @default "ml.m5.xlarge"
   */
  readonly instanceType: string;
  /**
   * ARN of an existing SageMaker execution role to run training jobs with.
   * @default - a role is created with read on `datasets/*`, write on `training-jobs/*`, its logs and ECR pull
   */
  readonly roleArn?: string;
}

export interface PipelineConfig {
  readonly defaults: PipelineDefaultsConfig;
  /**
   * The models the pipeline knows, by name (`/^[a-z0-9][a-z0-9-_]{0,62}$/`). A config source replaces this map as a
   * whole (it is not merged with the default `credit` model).
   * @default { credit: { target: "Status", positiveLabel: "bad", protectedAttribute: { feature: "Age", kind: "numeric_below", value: 25 } } }
   */
  readonly models: Readonly<Record<string, PipelineModelConfig>>;
  readonly sagemaker: SageMakerConfig;
  /**
   * Minutes after a run of a model during which a drift-triggered retrain of the same model is skipped.
   * @default 60
   */
  readonly cooldownMinutes: number;
}

export interface NotificationsConfig {
  /**
   * Email addresses subscribed to the pipeline's notification topic (each must confirm the subscription).
   * @default []
   */
  readonly emails: readonly string[];
  /**
   * ARN of an existing (standard, not FIFO) SNS topic to notify instead of creating one.
   * @default - a topic encrypted with a new KMS key is created
   */
  readonly topicArn?: string;
}

/** How CodeDeploy shifts traffic to a new version of the predict function (CodeDeploy's predefined Lambda configs). */
export type DeploymentStrategy =
  | 'allAtOnce'
  | 'canary10Percent5Minutes'
  | 'canary10Percent10Minutes'
  | 'linear10PercentEvery1Minute';

/** The deployment strategies accepted by {@link DeploymentConfig.strategy}. */
export const DEPLOYMENT_STRATEGIES: readonly DeploymentStrategy[] = [
  'allAtOnce',
  'canary10Percent5Minutes',
  'canary10Percent10Minutes',
  'linear10PercentEvery1Minute',
];

/**
 * Thresholds and evaluation of the alarms. The serving alarms (latency, 5xx rate, throttles) evaluate
 * {@link AlarmsConfig.datapointsToAlarm} of {@link AlarmsConfig.evaluationPeriods} periods of
 * {@link AlarmsConfig.periodSeconds}; the pipeline and drift alarms fire on one period holding one event.
 */
export interface AlarmsConfig {
  /**
   * Period of the serving alarms in seconds (a multiple of 60, at most 3600).
   * @default 60
   */
  readonly periodSeconds: number;
  /**
   * Number of periods the serving alarms look at (periods × seconds at most one day).
   * @default 5
   */
  readonly evaluationPeriods: number;
  /**
   * Number of breaching periods among {@link AlarmsConfig.evaluationPeriods} that puts a serving alarm in ALARM.
   * @default 3
   */
  readonly datapointsToAlarm: number;
  /**
   * API p95 latency (API Gateway `Latency`) above which the latency alarm breaches, in milliseconds.
   * @default 1000
   */
  readonly p95LatencyMs: number;
  /**
   * Share of API requests answered 5xx, in percent, above which the 5xx alarm breaches.
   * @default 0.1
   */
  readonly serverErrorRatePercent: number;
  /**
   * Throttled invocations of the predict function per period at which the throttle alarm breaches.
   * @default 1
   */
  readonly throttles: number;
  /**
   * Failed or timed-out pipeline executions in 5 minutes at which the pipeline alarm fires.
   * @default 1
   */
  readonly pipelineFailures: number;
  /**
   * `DriftCritical` count (summed over models) in 5 minutes at which the drift alarm fires.
   * @default 1
   */
  readonly driftCritical: number;
}

export interface DeploymentConfig {
  /**
   * How CodeDeploy shifts the `live` alias of the predict function to a new version; the serving alarms roll it back.
   * @default "canary10Percent5Minutes"
   */
  readonly strategy: DeploymentStrategy;
}

/** How canary model versions are judged (the canary watch, its alarms). */
export interface CanaryWatchConfig {
  /**
   * Largest accepted share of failed canary requests, in percent (`VariantErrors` average × 100).
   * @default 1
   */
  readonly maxErrorRatePercent: number;
  /**
   * Largest accepted canary p95 latency of predict calls, in ms.
   * @default 1000
   */
  readonly maxP95LatencyMs: number;
  /**
   * Largest accepted difference between the canary's and production's mean predicted probability.
   * @default 0.1
   */
  readonly maxScoreShift: number;
  /**
   * Canary requests needed before its figures are judged.
   * @default 50
   */
  readonly minRequests: number;
  /**
   * Minutes a canary must stay healthy before it is promoted.
   * @default 30
   */
  readonly healthyMinutes: number;
  /**
   * Whether a healthy canary is promoted automatically (otherwise it keeps its share until a person decides).
   * @default true
   */
  readonly autoPromote: boolean;
}

export interface ObservabilityConfig {
  /** Alarm thresholds (the SLO) and evaluation. */
  readonly alarms: AlarmsConfig;
  /** Safe rollout of the predict function's code. */
  readonly deployment: DeploymentConfig;
  /**
   * Names of SageMaker endpoints whose health (invocations, errors, model latency) the dashboard shows.
   * @default [] (no SageMaker widgets)
   */
  readonly sagemakerEndpointNames: readonly string[];
  /** Safe rollout of model versions: the canary watch's thresholds and healthy time. */
  readonly canary: CanaryWatchConfig;
}

/** Per-feature and overall drift levels (the drift job's `DriftThresholds`). */
export interface DriftThresholdsConfig {
  /** A feature's test is significant below this p-value. @default 0.05 */
  readonly pValue: number;
  /** PSI above which a significant feature has drifted (and the model's drift is a warning). @default 0.1 */
  readonly psiWarning: number;
  /** PSI above which a significant feature makes the drift critical. @default 0.25 */
  readonly psiCritical: number;
  /** Share of drifted features for a warning. @default 0.2 */
  readonly shareWarning: number;
  /** Share of drifted features for critical drift. @default 0.3 */
  readonly shareCritical: number;
  /** Fewer captured rows (or values of a feature) than this is "insufficient data", never an alarm. @default 50 */
  readonly minRows: number;
  /** Wasserstein-1 over the baseline std above which a significant numeric feature has drifted. @default 0.2 */
  readonly wassersteinBound: number;
}

/** Prediction capture and the drift job. */
export interface DriftConfig {
  /**
   * Share of predict requests captured (by request id), 0 to 1; 0 turns capture off.
   * @default 1
   */
  readonly captureSampleRate: number;
  /**
   * Days captured predictions, feedback and reports are kept in the capture bucket.
   * @default 90
   */
  readonly captureRetentionDays: number;
  /**
   * EventBridge schedule expression of the regular drift check.
   * @default "rate(1 hour)"
   */
  readonly schedule: string;
  /**
   * Window of the regular check (`30m`, `1h`, `24h`, up to `7d`).
   * @default "1h"
   */
  readonly window: string;
  /**
   * EventBridge schedule expression of the daily full report (a 24 h window).
   * @default "cron(0 2 * * ? *)"
   */
  readonly dailySchedule: string;
  readonly thresholds: DriftThresholdsConfig;
  /**
   * Largest tolerated drop of live accuracy or ROC AUC (from feedback) below the holdout metric, absolute.
   * @default 0.05
   */
  readonly performanceMaxDrop: number;
  /**
   * Whether critical drift requests a training run (at most once per model per `pipeline.cooldownMinutes`).
   * @default true
   */
  readonly retrainOnCritical: boolean;
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
  readonly explain: ExplainConfig;
  readonly registry: RegistryConfig;
  readonly artifacts: ArtifactsConfig;
  /** The training pipeline (also passed to the pipeline Lambda as the `PIPELINE_CONFIG` JSON). */
  readonly pipeline: PipelineConfig;
  /** Where the training pipeline's notifications and the alarms go. */
  readonly notifications: NotificationsConfig;
  /** The dashboard, the alarms and the predict function's CodeDeploy rollout. */
  readonly observability: ObservabilityConfig;
  /** Prediction capture and drift monitoring. */
  readonly drift: DriftConfig;
  /** The GPU path: SageMaker real-time endpoints for models too big for the Lambda or needing a GPU (docs/gpu.md). */
  readonly sagemakerServing: SageMakerServingConfig;
}

/** How an endpoint runs: on instances (GPU by default) with auto scaling, or on SageMaker Serverless Inference (CPU). */
export type EndpointVariantKind = 'instance' | 'serverless';

/** One SageMaker real-time endpoint serving one packaged model version. */
export interface SageMakerEndpointConfig {
  /** The registry model the endpoint serves (also the Triton model name inside the package). */
  readonly model: string;
  /** The version whose package (`sagemaker/{model}/{version}/model.tar.gz`, written by `mlops package`) it serves. */
  readonly version: number;
  /**
   * `instance`: real-time instances with auto scaling; `serverless`: Serverless Inference for CPU models with spiky traffic.
   * @default "instance"
   */
  readonly variant: EndpointVariantKind;
  /**
   * ECR image URI of the serving container.
   * @default - NVIDIA Triton Inference Server 24.09 (`sagemaker-tritonserver:24.09-py3`) of the stack's region
   */
  readonly image?: string;
  /**
   * Instance type (variant `instance`).
   * @default "ml.g5.xlarge"
   */
  readonly instanceType: string;
  /**
   * Instances at creation (variant `instance`).
   * @default 1
   */
  readonly initialInstanceCount: number;
  /**
   * Fewest instances auto scaling keeps (variant `instance`).
   * @default 1
   */
  readonly minInstances: number;
  /**
   * Most instances auto scaling adds (variant `instance`).
   * @default 2
   */
  readonly maxInstances: number;
  /**
   * Target of the target-tracking policy: invocations per instance per minute (variant `instance`).
   * @default 100
   */
  readonly targetInvocationsPerInstance: number;
  /**
   * Percent of requests and responses captured to S3 under `data-capture/{endpoint}/` (0 turns capture off; variant `instance`).
   * @default 10
   */
  readonly dataCapturePercent: number;
  /**
   * Memory of a serverless endpoint in MB (1024 to 6144, a multiple of 1024; variant `serverless`).
   * @default 4096
   */
  readonly serverlessMemoryMb: number;
  /**
   * Concurrent invocations of a serverless endpoint (1 to 200; variant `serverless`).
   * @default 10
   */
  readonly serverlessMaxConcurrency: number;
}

/** Alarm thresholds of every SageMaker endpoint (evaluated like the serving alarms: `observability.alarms`). */
export interface EndpointAlarmsConfig {
  /**
   * Model latency p95 above which the latency alarm breaches, in milliseconds.
   * @default 1000
   */
  readonly modelLatencyP95Ms: number;
  /**
   * `Invocation5XXErrors` per period at which the 5xx alarm breaches.
   * @default 1
   */
  readonly serverErrors: number;
  /**
   * Average GPU utilisation in percent (per GPU summed, as SageMaker reports it) above which the GPU alarm breaches.
   * @default 90
   */
  readonly gpuUtilizationPercent: number;
}

export interface SageMakerServingConfig {
  /**
   * Largest artifact `mlops register` accepts for the Lambda target, in bytes; larger ones must target `sagemaker`.
   * @default 268435456 (256 MiB)
   */
  readonly lambdaMaxArtifactBytes: number;
  /**
   * Longest wait of the predict function for one InvokeEndpoint call, in milliseconds.
   * @default 3000
   */
  readonly invokeTimeoutMs: number;
  /**
   * Retries of a throttled InvokeEndpoint call (exponential backoff); other failures are not retried.
   * @default 2
   */
  readonly maxThrottleRetries: number;
  /**
   * Backoff before the first retry, in milliseconds (doubled for each next one).
   * @default 100
   */
  readonly retryBaseDelayMs: number;
  /**
   * Consecutive failed calls (5xx, timeouts, invalid answers) that open an endpoint's circuit.
   * @default 5
   */
  readonly circuitFailureThreshold: number;
  /**
   * Seconds an open circuit answers `ENDPOINT_CIRCUIT_OPEN` before it lets a trial call through.
   * @default 30
   */
  readonly circuitOpenSeconds: number;
  /** Alarm thresholds of the endpoints. */
  readonly alarms: EndpointAlarmsConfig;
  /**
   * The endpoints to create, by endpoint name (what `mlops register --target sagemaker --endpoint NAME` names).
   * @default {} (no endpoint: the default synth has no SageMaker resources)
   */
  readonly endpoints: Readonly<Record<string, SageMakerEndpointConfig>>;
}

/** The defaults of each endpoint; only `model` and `version` must be given. */
export const DEFAULT_ENDPOINT: Omit<SageMakerEndpointConfig, 'model' | 'version'> = {
  variant: 'instance',
  instanceType: 'ml.g5.xlarge',
  initialInstanceCount: 1,
  minInstances: 1,
  maxInstances: 2,
  targetInvocationsPerInstance: 100,
  dataCapturePercent: 10,
  serverlessMemoryMb: 4096,
  serverlessMaxConcurrency: 10,
};

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
    outOfRange: 'warn',
    outOfRangeTolerance: 0.1,
  },
  explain: {
    maxBatchSize: 10,
    throttle: { rateLimit: 5, burstLimit: 10 },
    backgroundSize: 100,
    approximation: 'sampling',
    samplingBudget: 2000,
    topContributions: 5,
  },
  registry: { cacheTtlSeconds: 30 },
  artifacts: { noncurrentVersionExpirationDays: 90 },
  pipeline: {
    defaults: {
      trainer: 'logreg',
      seeds: [42],
      testFraction: 0.25,
      thresholds: { minRocAuc: 0.7, minDemographicParityRatio: 0.8, minDisparateImpact: 0.8, maxEqualOpportunityDifference: 0.1 },
      maxRegression: 0.01,
      maxSeedSpread: 0.02,
      protectedAttribute: null,
      favorableOutcome: 'negative',
      approvalRequired: false,
      promotion: { mode: 'production', canaryShare: 0.1 },
    },
    models: {
      credit: {
        target: 'Status',
        positiveLabel: 'bad',
        protectedAttribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
      },
    },
    sagemaker: { trainingImage: '', instanceType: 'ml.m5.xlarge' },
    cooldownMinutes: 60,
  },
  notifications: { emails: [] },
  observability: {
    alarms: {
      periodSeconds: 60,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      p95LatencyMs: 1000,
      serverErrorRatePercent: 0.1,
      throttles: 1,
      pipelineFailures: 1,
      driftCritical: 1,
    },
    deployment: { strategy: 'canary10Percent5Minutes' },
    sagemakerEndpointNames: [],
    canary: { maxErrorRatePercent: 1, maxP95LatencyMs: 1000, maxScoreShift: 0.1, minRequests: 50, healthyMinutes: 30, autoPromote: true },
  },
  drift: {
    captureSampleRate: 1,
    captureRetentionDays: 90,
    schedule: 'rate(1 hour)',
    window: '1h',
    dailySchedule: 'cron(0 2 * * ? *)',
    thresholds: { pValue: 0.05, psiWarning: 0.1, psiCritical: 0.25, shareWarning: 0.2, shareCritical: 0.3, minRows: 50, wassersteinBound: 0.2 },
    performanceMaxDrop: 0.05,
    retrainOnCritical: true,
  },
  sagemakerServing: {
    lambdaMaxArtifactBytes: 268_435_456,
    invokeTimeoutMs: 3000,
    maxThrottleRetries: 2,
    retryBaseDelayMs: 100,
    circuitFailureThreshold: 5,
    circuitOpenSeconds: 30,
    alarms: { modelLatencyP95Ms: 1000, serverErrors: 1, gpuUtilizationPercent: 90 },
    endpoints: {},
  },
};

/** Largest `PIPELINE_CONFIG` in bytes (Lambda allows 4 KB of environment variables per function, all of them). */
export const MAX_PIPELINE_CONFIG_BYTES = 3500;

/** Model names, the same rule as the registry's. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9-_]{0,62}$/;

/** The `PIPELINE_CONFIG` value the pipeline Lambda receives: the `pipeline` block as compact JSON. */
export function pipelineConfigJson(pipeline: PipelineConfig): string {
  return JSON.stringify(pipeline);
}

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

function numberIn(raw: Raw, key: string, field: string, min: number, max: number, exclusiveMin = false): number {
  const value = raw[key];
  if (
    typeof value !== 'number' ||
    !Number.isFinite(value) ||
    (exclusiveMin ? value <= min : value < min) ||
    value > max
  ) {
    fail(field, `must be a number ${exclusiveMin ? 'above' : 'from'} ${min} ${exclusiveMin ? 'and at most' : 'to'} ${max}`, value);
  }
  return value;
}

function booleanAt(raw: Raw, key: string, field: string): boolean {
  const value = raw[key];
  if (typeof value !== 'boolean') fail(field, 'must be true or false', value);
  return value;
}

function nonEmptyString(raw: Raw, key: string, field: string): string {
  const value = raw[key];
  if (typeof value !== 'string' || value.trim() === '') fail(field, 'must be a non-empty string', value);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Merge and parse
// ---------------------------------------------------------------------------------------------

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
    'outOfRange',
    'outOfRangeTolerance',
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
    outOfRange: oneOf(predict, 'outOfRange', 'predict.outOfRange', OUT_OF_RANGE_POLICIES),
    outOfRangeTolerance: numberIn(predict, 'outOfRangeTolerance', 'predict.outOfRangeTolerance', 0, 100),
  };
}

function parseExplain(raw: unknown): ExplainConfig {
  const explain = objectAt(raw, 'explain', ['maxBatchSize', 'throttle', 'backgroundSize', 'approximation', 'samplingBudget', 'topContributions']);
  const throttle = objectAt(explain['throttle'], 'explain.throttle', ['rateLimit', 'burstLimit']);
  return {
    maxBatchSize: integerIn(explain, 'maxBatchSize', 'explain.maxBatchSize', 1, 1000),
    throttle: {
      rateLimit: positiveNumber(throttle, 'rateLimit', 'explain.throttle.rateLimit', 10_000),
      burstLimit: integerIn(throttle, 'burstLimit', 'explain.throttle.burstLimit', 1, 5000),
    },
    backgroundSize: integerIn(explain, 'backgroundSize', 'explain.backgroundSize', 1, 1000),
    approximation: oneOf(explain, 'approximation', 'explain.approximation', EXPLAIN_APPROXIMATIONS),
    samplingBudget: integerIn(explain, 'samplingBudget', 'explain.samplingBudget', 100, 100_000),
    topContributions: integerIn(explain, 'topContributions', 'explain.topContributions', 1, 100),
  };
}

const TRAINERS = ['logreg', 'gbdt', 'sagemaker'] as const;
const OUTCOMES = ['positive', 'negative'] as const;
const THRESHOLD_KEYS = [
  'minRocAuc',
  'minAccuracy',
  'maxLogLoss',
  'minDemographicParityRatio',
  'minDisparateImpact',
  'maxEqualOpportunityDifference',
] as const;
const DEFAULT_KEYS = [
  'trainer',
  'seeds',
  'testFraction',
  'thresholds',
  'maxRegression',
  'maxSeedSpread',
  'protectedAttribute',
  'favorableOutcome',
  'approvalRequired',
  'promotion',
] as const;
/** `<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@sha256:digest]` */
export const ECR_IMAGE_URI =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([a-z0-9][a-z0-9._/-]{0,255})(?::[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})?$/;
const IAM_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SCHEDULE = /^(cron|rate)\(.+\)$/;

/**
 * Gate thresholds: each a finite number (ratios and rates from 0 to 1, log loss above 0). `null` removes a threshold
 * inherited from `base` (a model's thresholds are merged over the defaults').
 */
function parseThresholds(raw: unknown, field: string, base: GateThresholdsConfig = {}): GateThresholdsConfig {
  const thresholds = objectAt(raw, field, THRESHOLD_KEYS);
  const out: Record<string, number> = {};
  for (const key of THRESHOLD_KEYS) {
    const value = thresholds[key] === undefined ? base[key] : thresholds[key];
    if (value === undefined || value === null) continue;
    out[key] =
      key === 'maxLogLoss'
        ? numberIn({ [key]: value }, key, `${field}.${key}`, 0, 100, true)
        : numberIn({ [key]: value }, key, `${field}.${key}`, 0, 1);
  }
  return out;
}

function parseProtectedAttribute(raw: unknown, field: string): ProtectedAttributeConfig | null {
  if (raw === null) return null;
  const attribute = objectAt(raw, field, ['feature', 'kind', 'value']);
  const feature = nonEmptyString(attribute, 'feature', `${field}.feature`);
  const kind = oneOf(attribute, 'kind', `${field}.kind`, ['numeric_below', 'category_in'] as const);
  const value = attribute['value'];
  if (kind === 'numeric_below') {
    if (typeof value !== 'number' || !Number.isFinite(value)) fail(`${field}.value`, 'must be a number with kind "numeric_below"', value);
    return { feature, kind, value };
  }
  if (!Array.isArray(value) || value.length === 0 || !value.every((v: unknown) => typeof v === 'string' && v !== '')) {
    fail(`${field}.value`, 'must be a non-empty array of non-empty strings with kind "category_in"', value);
  }
  return { feature, kind, value: value.map(String) };
}

function parseSeeds(raw: Raw, field: string): number[] {
  const seeds = raw['seeds'];
  if (!Array.isArray(seeds) || seeds.length === 0 || seeds.length > 10) fail(field, 'must be an array of 1 to 10 seeds', seeds);
  return seeds.map((seed: unknown, i: number): number => {
    if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > 2_147_483_647) {
      fail(`${field}[${i}]`, 'must be an integer from 0 to 2147483647', seed);
    }
    return seed;
  });
}

function parsePromotion(raw: unknown, field: string, base?: PromotionConfig): PromotionConfig {
  const promotion = { ...base, ...objectAt(raw, field, ['mode', 'canaryShare']) };
  const canaryShare = promotion['canaryShare'];
  if (typeof canaryShare !== 'number' || !(canaryShare > 0 && canaryShare < 1)) {
    fail(`${field}.canaryShare`, 'must be a number between 0 and 1 (both excluded)', canaryShare);
  }
  return { mode: oneOf(promotion, 'mode', `${field}.mode`, ['production', 'canary'] as const), canaryShare };
}

function parseDefaults(raw: unknown): PipelineDefaultsConfig {
  const field = 'pipeline.defaults';
  const defaults = objectAt(raw, field, DEFAULT_KEYS);
  return {
    trainer: oneOf(defaults, 'trainer', `${field}.trainer`, TRAINERS),
    seeds: parseSeeds(defaults, `${field}.seeds`),
    testFraction: numberIn(defaults, 'testFraction', `${field}.testFraction`, 0, 0.5, true),
    thresholds: parseThresholds(defaults['thresholds'], `${field}.thresholds`),
    maxRegression: numberIn(defaults, 'maxRegression', `${field}.maxRegression`, -1, 1),
    maxSeedSpread: numberIn(defaults, 'maxSeedSpread', `${field}.maxSeedSpread`, 0, 1),
    protectedAttribute: parseProtectedAttribute(defaults['protectedAttribute'], `${field}.protectedAttribute`),
    favorableOutcome: oneOf(defaults, 'favorableOutcome', `${field}.favorableOutcome`, OUTCOMES),
    approvalRequired: booleanAt(defaults, 'approvalRequired', `${field}.approvalRequired`),
    promotion: parsePromotion(defaults['promotion'], `${field}.promotion`),
  };
}

/** One model: only the settings it gives are kept (the pipeline falls back to the defaults), so the JSON stays small. */
function parseModel(raw: unknown, field: string, defaults: PipelineDefaultsConfig): PipelineModelConfig {
  const model = objectAt(raw, field, ['target', 'positiveLabel', 'datasetKey', 'schedule', ...DEFAULT_KEYS]);
  const has = (key: string): boolean => model[key] !== undefined;
  const datasetKey = has('datasetKey')
    ? stringMatching(model, 'datasetKey', `${field}.datasetKey`, /^datasets\/[^\s]{1,1000}$/, 'an s3 key under "datasets/"')
    : undefined;
  const schedule = has('schedule')
    ? stringMatching(model, 'schedule', `${field}.schedule`, SCHEDULE, 'a schedule expression starting with "cron(" or "rate("')
    : undefined;
  if (schedule !== undefined && datasetKey === undefined) {
    fail(`${field}.datasetKey`, 'is required when a schedule is set', undefined);
  }
  return {
    target: nonEmptyString(model, 'target', `${field}.target`),
    positiveLabel: nonEmptyString(model, 'positiveLabel', `${field}.positiveLabel`),
    ...(datasetKey === undefined ? {} : { datasetKey }),
    ...(schedule === undefined ? {} : { schedule }),
    ...(has('trainer') ? { trainer: oneOf(model, 'trainer', `${field}.trainer`, TRAINERS) } : {}),
    ...(has('seeds') ? { seeds: parseSeeds(model, `${field}.seeds`) } : {}),
    ...(has('testFraction') ? { testFraction: numberIn(model, 'testFraction', `${field}.testFraction`, 0, 0.5, true) } : {}),
    ...(has('thresholds') ? { thresholds: parseThresholds(model['thresholds'], `${field}.thresholds`, defaults.thresholds) } : {}),
    ...(has('maxRegression') ? { maxRegression: numberIn(model, 'maxRegression', `${field}.maxRegression`, -1, 1) } : {}),
    ...(has('maxSeedSpread') ? { maxSeedSpread: numberIn(model, 'maxSeedSpread', `${field}.maxSeedSpread`, 0, 1) } : {}),
    ...(has('protectedAttribute')
      ? { protectedAttribute: parseProtectedAttribute(model['protectedAttribute'], `${field}.protectedAttribute`) }
      : {}),
    ...(has('favorableOutcome') ? { favorableOutcome: oneOf(model, 'favorableOutcome', `${field}.favorableOutcome`, OUTCOMES) } : {}),
    ...(has('approvalRequired') ? { approvalRequired: booleanAt(model, 'approvalRequired', `${field}.approvalRequired`) } : {}),
    ...(has('promotion') ? { promotion: parsePromotion(model['promotion'], `${field}.promotion`, defaults.promotion) } : {}),
  };
}

function parsePipeline(raw: unknown): PipelineConfig {
  const pipeline = objectAt(raw, 'pipeline', ['defaults', 'models', 'sagemaker', 'cooldownMinutes']);
  const defaults = parseDefaults(pipeline['defaults']);

  const modelsRaw = pipeline['models'];
  if (!isPlainObject(modelsRaw)) fail('pipeline.models', 'must be an object of models by name', modelsRaw);
  const models: Record<string, PipelineModelConfig> = {};
  for (const [name, model] of Object.entries(modelsRaw)) {
    if (!MODEL_NAME.test(name)) {
      fail('pipeline.models', `must have model names matching ${MODEL_NAME.source}`, name);
    }
    models[name] = parseModel(model, `pipeline.models.${name}`, defaults);
  }

  const sagemakerRaw = objectAt(pipeline['sagemaker'], 'pipeline.sagemaker', ['trainingImage', 'instanceType', 'roleArn']);
  const trainingImage = sagemakerRaw['trainingImage'];
  if (typeof trainingImage !== 'string' || (trainingImage !== '' && !ECR_IMAGE_URI.test(trainingImage))) {
    fail('pipeline.sagemaker.trainingImage', 'must be "" or an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"', trainingImage);
  }
  if (trainingImage === '') {
    const user =
      defaults.trainer === 'sagemaker'
        ? 'pipeline.defaults.trainer'
        : Object.entries(models)
            .filter(([, model]) => (model.trainer ?? defaults.trainer) === 'sagemaker')
            .map(([name]) => `pipeline.models.${name}.trainer`)[0];
    if (user !== undefined) {
      fail('pipeline.sagemaker.trainingImage', `must be set when a model uses the sagemaker trainer (${user})`, trainingImage);
    }
  }
  const instanceType = stringMatching(
    sagemakerRaw,
    'instanceType',
    'pipeline.sagemaker.instanceType',
    /^ml\.[a-z0-9]+\.[a-z0-9]+$/,
    'a sagemaker instance type like "ml.m5.xlarge"',
  );
  const roleArn =
    sagemakerRaw['roleArn'] === undefined
      ? undefined
      : stringMatching(sagemakerRaw, 'roleArn', 'pipeline.sagemaker.roleArn', IAM_ROLE_ARN, 'an iam role arn');

  const parsed: PipelineConfig = {
    defaults,
    models,
    sagemaker: { trainingImage, instanceType, ...(roleArn === undefined ? {} : { roleArn }) },
    cooldownMinutes: integerIn(pipeline, 'cooldownMinutes', 'pipeline.cooldownMinutes', 0, 10_080),
  };
  const bytes = Buffer.byteLength(pipelineConfigJson(parsed), 'utf8');
  if (bytes > MAX_PIPELINE_CONFIG_BYTES) {
    throw new ConfigError(
      `config field "pipeline" must be at most ${MAX_PIPELINE_CONFIG_BYTES} bytes as json (it becomes the PIPELINE_CONFIG lambda variable), got ${bytes} bytes`,
    );
  }
  return parsed;
}

function parseNotifications(raw: unknown): NotificationsConfig {
  const notifications = objectAt(raw, 'notifications', ['emails', 'topicArn']);
  const emails = notifications['emails'];
  if (!Array.isArray(emails)) fail('notifications.emails', 'must be an array of email addresses', emails);
  const topicArn =
    notifications['topicArn'] === undefined
      ? undefined
      : stringMatching(notifications, 'topicArn', 'notifications.topicArn', SNS_TOPIC_ARN, 'the arn of a standard (not fifo) sns topic');
  return {
    emails: emails.map((email: unknown, i: number): string => {
      if (typeof email !== 'string' || !EMAIL.test(email)) fail(`notifications.emails[${i}]`, 'must be an email address', email);
      return email;
    }),
    ...(topicArn === undefined ? {} : { topicArn }),
  };
}

const ALARM_KEYS = [
  'periodSeconds',
  'evaluationPeriods',
  'datapointsToAlarm',
  'p95LatencyMs',
  'serverErrorRatePercent',
  'throttles',
  'pipelineFailures',
  'driftCritical',
] as const;
/** SageMaker endpoint names (CreateEndpoint's rule). */
const SAGEMAKER_ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** CloudWatch's limit on evaluation periods × period for alarms. */
const MAX_ALARM_WINDOW_SECONDS = 86_400;

function parseObservability(raw: unknown): ObservabilityConfig {
  const observability = objectAt(raw, 'observability', ['alarms', 'deployment', 'sagemakerEndpointNames', 'canary']);
  const alarms = objectAt(observability['alarms'], 'observability.alarms', ALARM_KEYS);
  const deployment = objectAt(observability['deployment'], 'observability.deployment', ['strategy']);

  const periodSeconds = alarms['periodSeconds'];
  if (typeof periodSeconds !== 'number' || !Number.isInteger(periodSeconds) || periodSeconds < 60 || periodSeconds > 3600 || periodSeconds % 60 !== 0) {
    fail('observability.alarms.periodSeconds', 'must be a multiple of 60 from 60 to 3600', periodSeconds);
  }
  const evaluationPeriods = integerIn(alarms, 'evaluationPeriods', 'observability.alarms.evaluationPeriods', 1, 100);
  if (evaluationPeriods * periodSeconds > MAX_ALARM_WINDOW_SECONDS) {
    fail(
      'observability.alarms.evaluationPeriods',
      `times observability.alarms.periodSeconds (${periodSeconds}) must be at most ${MAX_ALARM_WINDOW_SECONDS} seconds`,
      evaluationPeriods,
    );
  }

  const endpoints = observability['sagemakerEndpointNames'];
  if (!Array.isArray(endpoints)) fail('observability.sagemakerEndpointNames', 'must be an array of endpoint names', endpoints);

  return {
    alarms: {
      periodSeconds,
      evaluationPeriods,
      datapointsToAlarm: integerIn(alarms, 'datapointsToAlarm', 'observability.alarms.datapointsToAlarm', 1, evaluationPeriods),
      p95LatencyMs: integerIn(alarms, 'p95LatencyMs', 'observability.alarms.p95LatencyMs', 1, 30_000),
      serverErrorRatePercent: numberIn(alarms, 'serverErrorRatePercent', 'observability.alarms.serverErrorRatePercent', 0, 100, true),
      throttles: integerIn(alarms, 'throttles', 'observability.alarms.throttles', 1, 1_000_000),
      pipelineFailures: integerIn(alarms, 'pipelineFailures', 'observability.alarms.pipelineFailures', 1, 1000),
      driftCritical: integerIn(alarms, 'driftCritical', 'observability.alarms.driftCritical', 1, 1000),
    },
    deployment: { strategy: oneOf(deployment, 'strategy', 'observability.deployment.strategy', DEPLOYMENT_STRATEGIES) },
    sagemakerEndpointNames: endpoints.map((name: unknown, i: number): string => {
      if (typeof name !== 'string' || !SAGEMAKER_ENDPOINT_NAME.test(name)) {
        fail(`observability.sagemakerEndpointNames[${i}]`, 'must be a sagemaker endpoint name (letters, digits and dashes, 1 to 63)', name);
      }
      return name;
    }),
    canary: parseCanaryWatch(observability['canary']),
  };
}

function parseCanaryWatch(raw: unknown): CanaryWatchConfig {
  const canary = objectAt(raw, 'observability.canary', [
    'maxErrorRatePercent',
    'maxP95LatencyMs',
    'maxScoreShift',
    'minRequests',
    'healthyMinutes',
    'autoPromote',
  ]);
  return {
    maxErrorRatePercent: numberIn(canary, 'maxErrorRatePercent', 'observability.canary.maxErrorRatePercent', 0, 100),
    maxP95LatencyMs: integerIn(canary, 'maxP95LatencyMs', 'observability.canary.maxP95LatencyMs', 1, 30_000),
    maxScoreShift: numberIn(canary, 'maxScoreShift', 'observability.canary.maxScoreShift', 0, 1, true),
    minRequests: integerIn(canary, 'minRequests', 'observability.canary.minRequests', 1, 1_000_000),
    healthyMinutes: integerIn(canary, 'healthyMinutes', 'observability.canary.healthyMinutes', 1, 10_080),
    autoPromote: booleanAt(canary, 'autoPromote', 'observability.canary.autoPromote'),
  };
}

const DRIFT_THRESHOLD_KEYS = ['pValue', 'psiWarning', 'psiCritical', 'shareWarning', 'shareCritical', 'minRows', 'wassersteinBound'] as const;
/** EventBridge `rate(...)` or `cron(...)`. */
const SCHEDULE_EXPRESSION = /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\))$/;
/** A drift window: 1 minute to 7 days. */
const DRIFT_WINDOW = /^(\d+)([mhd])$/;

function parseDrift(raw: unknown): DriftConfig {
  const drift = objectAt(raw, 'drift', [
    'captureSampleRate',
    'captureRetentionDays',
    'schedule',
    'window',
    'dailySchedule',
    'thresholds',
    'performanceMaxDrop',
    'retrainOnCritical',
  ]);
  const thresholds = objectAt(drift['thresholds'], 'drift.thresholds', DRIFT_THRESHOLD_KEYS);
  const window = drift['window'];
  const match = typeof window === 'string' ? DRIFT_WINDOW.exec(window) : null;
  const minutes = match === null ? 0 : Number(match[1]) * { m: 1, h: 60, d: 1440 }[match[2] as 'm' | 'h' | 'd'];
  if (match === null || minutes < 1 || minutes > 10_080) fail('drift.window', 'must be a duration such as "30m", "1h" or "7d", from 1m to 7d', window);
  const psiWarning = numberIn(thresholds, 'psiWarning', 'drift.thresholds.psiWarning', 0, 10, true);
  const shareWarning = numberIn(thresholds, 'shareWarning', 'drift.thresholds.shareWarning', 0, 1, true);
  const schedule = (key: 'schedule' | 'dailySchedule') =>
    stringMatching(drift, key, `drift.${key}`, SCHEDULE_EXPRESSION, 'an eventbridge schedule expression, rate(...) or cron(...)');
  return {
    captureSampleRate: numberIn(drift, 'captureSampleRate', 'drift.captureSampleRate', 0, 1),
    captureRetentionDays: integerIn(drift, 'captureRetentionDays', 'drift.captureRetentionDays', 1, 3650),
    schedule: schedule('schedule'),
    window: window as string,
    dailySchedule: schedule('dailySchedule'),
    thresholds: {
      pValue: numberIn(thresholds, 'pValue', 'drift.thresholds.pValue', 0, 1, true),
      psiWarning,
      psiCritical: numberIn(thresholds, 'psiCritical', 'drift.thresholds.psiCritical', psiWarning, 10),
      shareWarning,
      shareCritical: numberIn(thresholds, 'shareCritical', 'drift.thresholds.shareCritical', shareWarning, 1),
      minRows: integerIn(thresholds, 'minRows', 'drift.thresholds.minRows', 2, 1_000_000),
      wassersteinBound: numberIn(thresholds, 'wassersteinBound', 'drift.thresholds.wassersteinBound', 0, 100, true),
    },
    performanceMaxDrop: numberIn(drift, 'performanceMaxDrop', 'drift.performanceMaxDrop', 0, 1),
    retrainOnCritical: booleanAt(drift, 'retrainOnCritical', 'drift.retrainOnCritical'),
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
    'explain',
    'registry',
    'artifacts',
    'pipeline',
    'notifications',
    'observability',
    'drift',
    'sagemakerServing',
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
    explain: parseExplain(root['explain']),
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
    pipeline: parsePipeline(root['pipeline']),
    notifications: parseNotifications(root['notifications']),
    observability: parseObservability(root['observability']),
    drift: parseDrift(root['drift']),
    // The predict timeout bounds the endpoint calls' worst case (parsing predict again is pure and cheap).
    sagemakerServing: parseSageMakerServing(root['sagemakerServing'], parsePredict(root['predict']).timeoutSeconds),
  };
}

const ENDPOINT_KEYS = ['model', 'version', 'variant', 'image', ...Object.keys(DEFAULT_ENDPOINT).filter((key) => key !== 'variant')];

function parseEndpoint(raw: unknown, field: string): SageMakerEndpointConfig {
  const endpoint = { ...DEFAULT_ENDPOINT, ...objectAt(raw, field, ENDPOINT_KEYS) };
  const image =
    endpoint['image'] === undefined
      ? undefined
      : stringMatching(endpoint, 'image', `${field}.image`, ECR_IMAGE_URI, 'an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"');
  const minInstances = integerIn(endpoint, 'minInstances', `${field}.minInstances`, 1, 100);
  const maxInstances = integerIn(endpoint, 'maxInstances', `${field}.maxInstances`, minInstances, 100);
  const serverlessMemoryMb = endpoint['serverlessMemoryMb'];
  if (typeof serverlessMemoryMb !== 'number' || ![1024, 2048, 3072, 4096, 5120, 6144].includes(serverlessMemoryMb)) {
    fail(`${field}.serverlessMemoryMb`, 'must be 1024, 2048, 3072, 4096, 5120 or 6144', serverlessMemoryMb);
  }
  return {
    model: stringMatching(endpoint, 'model', `${field}.model`, MODEL_NAME, `a model name matching ${MODEL_NAME.source}`),
    version: integerIn(endpoint, 'version', `${field}.version`, 1, 999_999_999),
    variant: oneOf(endpoint, 'variant', `${field}.variant`, ['instance', 'serverless'] as const),
    ...(image === undefined ? {} : { image }),
    instanceType: stringMatching(endpoint, 'instanceType', `${field}.instanceType`, /^ml\.[a-z0-9]+\.[a-z0-9]+$/, 'a sagemaker instance type like "ml.g5.xlarge"'),
    initialInstanceCount: integerIn(endpoint, 'initialInstanceCount', `${field}.initialInstanceCount`, minInstances, maxInstances),
    minInstances,
    maxInstances,
    targetInvocationsPerInstance: integerIn(endpoint, 'targetInvocationsPerInstance', `${field}.targetInvocationsPerInstance`, 1, 1_000_000),
    dataCapturePercent: integerIn(endpoint, 'dataCapturePercent', `${field}.dataCapturePercent`, 0, 100),
    serverlessMemoryMb,
    serverlessMaxConcurrency: integerIn(endpoint, 'serverlessMaxConcurrency', `${field}.serverlessMaxConcurrency`, 1, 200),
  };
}

function parseSageMakerServing(raw: unknown, predictTimeoutSeconds: number): SageMakerServingConfig {
  const field = 'sagemakerServing';
  const serving = objectAt(raw, field, [
    'lambdaMaxArtifactBytes',
    'invokeTimeoutMs',
    'maxThrottleRetries',
    'retryBaseDelayMs',
    'circuitFailureThreshold',
    'circuitOpenSeconds',
    'alarms',
    'endpoints',
  ]);
  const alarms = objectAt(serving['alarms'], `${field}.alarms`, ['modelLatencyP95Ms', 'serverErrors', 'gpuUtilizationPercent']);
  const invokeTimeoutMs = integerIn(serving, 'invokeTimeoutMs', `${field}.invokeTimeoutMs`, 100, 60_000);
  const maxThrottleRetries = integerIn(serving, 'maxThrottleRetries', `${field}.maxThrottleRetries`, 0, 5);
  const retryBaseDelayMs = integerIn(serving, 'retryBaseDelayMs', `${field}.retryBaseDelayMs`, 0, 5000);
  // The worst case of one predict call: every attempt times out, with the backoffs between them.
  const worstCaseMs = invokeTimeoutMs * (maxThrottleRetries + 1) + retryBaseDelayMs * (2 ** maxThrottleRetries - 1);
  if (worstCaseMs >= predictTimeoutSeconds * 1000) {
    fail(
      `${field}.invokeTimeoutMs`,
      `times (maxThrottleRetries + 1), plus the backoffs, must stay under predict.timeoutSeconds (${predictTimeoutSeconds} s): the worst case is ${worstCaseMs} ms`,
      invokeTimeoutMs,
    );
  }

  const endpointsRaw = serving['endpoints'];
  if (!isPlainObject(endpointsRaw)) fail(`${field}.endpoints`, 'must be an object of endpoints by name', endpointsRaw);
  const endpoints: Record<string, SageMakerEndpointConfig> = {};
  const lowerCase = new Set<string>();
  for (const [name, endpoint] of Object.entries(endpointsRaw)) {
    if (!SAGEMAKER_ENDPOINT_NAME.test(name)) {
      fail(`${field}.endpoints`, 'must have sagemaker endpoint names (letters, digits and dashes, 1 to 63)', name);
    }
    // SageMaker ARNs spell endpoint names in lower case: two names differing only in case would share one ARN.
    if (lowerCase.has(name.toLowerCase())) fail(`${field}.endpoints`, 'must have endpoint names that differ in more than case', name);
    lowerCase.add(name.toLowerCase());
    endpoints[name] = parseEndpoint(endpoint, `${field}.endpoints.${name}`);
  }

  return {
    lambdaMaxArtifactBytes: integerIn(serving, 'lambdaMaxArtifactBytes', `${field}.lambdaMaxArtifactBytes`, 1, 10_737_418_240),
    invokeTimeoutMs,
    maxThrottleRetries,
    retryBaseDelayMs,
    circuitFailureThreshold: integerIn(serving, 'circuitFailureThreshold', `${field}.circuitFailureThreshold`, 1, 1000),
    circuitOpenSeconds: integerIn(serving, 'circuitOpenSeconds', `${field}.circuitOpenSeconds`, 1, 3600),
    alarms: {
      modelLatencyP95Ms: integerIn(alarms, 'modelLatencyP95Ms', `${field}.alarms.modelLatencyP95Ms`, 1, 600_000),
      serverErrors: integerIn(alarms, 'serverErrors', `${field}.alarms.serverErrors`, 1, 1_000_000),
      gpuUtilizationPercent: numberIn(alarms, 'gpuUtilizationPercent', `${field}.alarms.gpuUtilizationPercent`, 0, 800, true),
    },
    endpoints,
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
