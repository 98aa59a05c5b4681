import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { openApiDocument } from '#core/api/openapi.ts';
import { EndpointScoringEngine, type EndpointInvoker, type EndpointObserver } from '#core/serving/endpoint-scoring.ts';
import { ModelService } from '#core/serving/model-service.ts';
import type { ServingObserver, ShadowComparison } from '#core/serving/ports.ts';
import { shadowAgreements } from '#core/serving/shadow-agreement.ts';
import { createDocumentClient, createS3Client } from '#adapters/aws-clients.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { integerEnv, requireEnv } from '#shared/environment.ts';
import { apiConfig, consumerDirectory } from '#contracts/api.ts';
import { driftConfig } from '#contracts/drift.ts';
import { explainConfig } from '#contracts/explain.ts';
import { ENV, configEnv } from '#contracts/env.ts';
import { sageMakerServingConfig } from '#contracts/gpu.ts';
import { predictConfig } from '#contracts/predict.ts';
import { registryConfig } from '#contracts/registry.ts';
import { PredictionCapture } from '#core/capture/prediction-capture.ts';
import type { CaptureSink } from '#core/capture/ports.ts';
import { S3BatchCaptureSink, S3CaptureStore } from '#adapters/s3-captures.ts';
import { createMetrics, logger, metrics, tracer } from '#shared/powertools.ts';
import { createApiHandler } from './api-handler.ts';
import { VariantMetrics } from './variant-metrics.ts';
import { API_METRICS, METRIC_DIMENSIONS } from '#contracts/metrics.ts';
import { asError } from '#core/errors.ts';
import type { ConsumerLookup } from '#core/api/consumers.ts';

/**
 * Lambda entry of the inference API (all routes). Clients, caches and loaded models live
 * at module scope so they survive between invocations of one container.
 */

const SERVICE_VERSION = '0.1.0';
// Each setting is parsed with the schema synth validated it with: a bad value fails the cold start with the same message.
const maxBatchSize = configEnv(ENV.MAX_BATCH_SIZE, apiConfig.shape.maxBatchSize, 'api.maxBatchSize');
const maxRequestBytes = configEnv(ENV.MAX_REQUEST_BYTES, apiConfig.shape.maxRequestBytes, 'api.maxRequestBytes');
const intraOpThreads = configEnv(ENV.ONNX_INTRA_OP_THREADS, predictConfig.shape.onnxIntraOpThreads, 'predict.onnxIntraOpThreads');
const maxExplainBatchSize = configEnv(ENV.EXPLAIN_MAX_BATCH_SIZE, explainConfig.shape.maxBatchSize, 'explain.maxBatchSize');
const serving = sageMakerServingConfig.shape;

const documentClient = tracer.captureAWSv3Client(createDocumentClient());
const s3Client = tracer.captureAWSv3Client(createS3Client());

const variantMetrics = new VariantMetrics(createMetrics());

const observer: ServingObserver = {
  modelLoaded({ model, version, bytes, fetchMs, sessionMs }) {
    logger.info('model loaded', { model, model_version: version, bytes, fetch_ms: fetchMs, session_ms: sessionMs });
    const loadMetric = metrics.singleMetric();
    loadMetric.addDimension(METRIC_DIMENSIONS.model, model);
    loadMetric.addMetric(API_METRICS.modelLoadTime, MetricUnit.Milliseconds, fetchMs + sessionMs);
  },
  modelLoadFailed({ model, version, reason, cause }) {
    logger.error('model load failed', { model, model_version: version, reason, error: asError(cause) });
  },
  productionFallback({ model, production_version, serving_version, reason, cause }) {
    // One line naming both versions (runbook: docs/operations/alarms/production-fallback.md).
    logger.error(`production version ${production_version} of model ${model} cannot serve (${reason}); previous production version ${serving_version} answers`, {
      model,
      production_version,
      serving_version,
      reason,
      error: asError(cause),
    });
    const fallbackMetric = metrics.singleMetric();
    fallbackMetric.addDimension(METRIC_DIMENSIONS.model, model);
    fallbackMetric.addMetadata('production_version', String(production_version));
    fallbackMetric.addMetadata('serving_version', String(serving_version));
    fallbackMetric.addMetric(API_METRICS.productionFallbacks, MetricUnit.Count, 1);
  },
  staleServingConfig({ model, production_version, age_ms, cause }) {
    logger.warn('registry unreadable; serving the last known serving config', { model, production_version, age_ms, error: asError(cause) });
    const staleMetric = metrics.singleMetric();
    staleMetric.addDimension(METRIC_DIMENSIONS.model, model);
    staleMetric.addMetric(API_METRICS.staleServingConfig, MetricUnit.Count, 1);
  },
  canaryFallback({ model, canary_version, production_version, reason, cause }) {
    logger.warn('canary cannot serve; production answered', { model, canary_version, production_version, reason, error: asError(cause) });
    const fallbackMetric = metrics.singleMetric();
    fallbackMetric.addDimension(METRIC_DIMENSIONS.model, model);
    fallbackMetric.addMetric(API_METRICS.canaryFallbacks, MetricUnit.Count, 1);
    // Routed to the canary and not answered by it: a canary failure, whatever production answered.
    variantMetrics.failed({ model, version: canary_version, variant: 'canary', code: reason });
  },
  shadowScored(comparison) {
    const { model, production_version, shadow_version, rows, disagreements, meanAbsDiff } = comparison;
    const [agreement] = shadowAgreements([comparison]);
    logger.info('shadow scored', {
      model,
      production_version,
      shadow_version,
      rows,
      disagreements,
      mean_abs_diff: meanAbsDiff,
      score_diff_p50: agreement?.scoreDiff.p50,
      score_diff_p95: agreement?.scoreDiff.p95,
    });
    for (const listener of shadowListeners) listener(comparison);
    const shadowMetric = metrics.singleMetric();
    shadowMetric.addDimension(METRIC_DIMENSIONS.model, model);
    shadowMetric.addMetadata('production_version', String(production_version));
    shadowMetric.addMetadata('shadow_version', String(shadow_version));
    shadowMetric.addMetric(API_METRICS.shadowScoredRows, MetricUnit.Count, rows);
    shadowMetric.addMetric(API_METRICS.shadowDisagreements, MetricUnit.Count, disagreements);
  },
  shadowFailed({ model, production_version, shadow_version, reason, cause }) {
    logger.warn('shadow failed to score', { model, production_version, shadow_version, reason, error: asError(cause) });
    const shadowMetric = metrics.singleMetric();
    shadowMetric.addDimension(METRIC_DIMENSIONS.model, model);
    shadowMetric.addMetric(API_METRICS.shadowFailures, MetricUnit.Count, 1);
  },
  outOfRange({ model, model_version, variant, count, warnings }) {
    // The first few are enough to see which feature moved; the answer itself lists up to 100.
    logger.warn('out-of-range values served', { model, model_version, variant, count, first: warnings.slice(0, 5) });
    const rangeMetric = metrics.singleMetric();
    rangeMetric.addDimension(METRIC_DIMENSIONS.model, model);
    rangeMetric.addMetadata('model_version', String(model_version));
    rangeMetric.addMetadata('variant', variant);
    rangeMetric.addMetric(API_METRICS.outOfRangeValues, MetricUnit.Count, count);
  },
};

/**
 * Told of every shadow comparison besides the log and the metrics: the local platform keeps them for its dashboard
 * and `mlops --local shadow report` (in AWS nothing listens).
 */
export const shadowListeners: ((comparison: ShadowComparison) => void)[] = [];

/** Versions served by SageMaker endpoints: their calls, retries and circuit changes (docs/gpu.md). */
const endpointObserver: EndpointObserver = {
  endpointRetried({ endpoint, attempt, delayMs }) {
    logger.warn('endpoint throttled; retrying', { endpoint, attempt, delay_ms: delayMs });
    const retryMetric = metrics.singleMetric();
    retryMetric.addDimension(METRIC_DIMENSIONS.endpoint, endpoint);
    retryMetric.addMetric(API_METRICS.endpointThrottleRetries, MetricUnit.Count, 1);
  },
  endpointFailed({ endpoint, code, kind, attempts, cause }) {
    logger.error('endpoint call failed', { endpoint, code, kind, attempts, error: asError(cause) });
    const failureMetric = metrics.singleMetric();
    failureMetric.addDimension(METRIC_DIMENSIONS.endpoint, endpoint);
    failureMetric.addDimension(METRIC_DIMENSIONS.code, code);
    failureMetric.addMetric(API_METRICS.endpointFailures, MetricUnit.Count, 1);
  },
  circuitChanged({ endpoint, from, to }) {
    logger.warn('endpoint circuit changed', { endpoint, from, to });
    if (to === 'open') {
      const circuitMetric = metrics.singleMetric();
      circuitMetric.addDimension(METRIC_DIMENSIONS.endpoint, endpoint);
      circuitMetric.addMetric(API_METRICS.endpointCircuitOpened, MetricUnit.Count, 1);
    }
  },
};

/**
 * The SageMaker runtime client and its invoker load on the first call to a version served by an endpoint: most
 * containers never make one, and the SDK client is a sizeable part of module load (docs/benchmarks.md).
 */
let sageMakerInvoker: Promise<EndpointInvoker> | undefined;
const lazySageMakerInvoker: EndpointInvoker = {
  async invoke(endpointName, body, timeoutMs) {
    sageMakerInvoker ??= import('#adapters/sagemaker-runtime-invoker.ts').then(
      ({ SageMakerRuntimeInvoker, createSageMakerRuntimeClient }) => new SageMakerRuntimeInvoker(tracer.captureAWSv3Client(createSageMakerRuntimeClient())),
    );
    return (await sageMakerInvoker).invoke(endpointName, body, timeoutMs);
  },
};

const remoteEngine = new EndpointScoringEngine({
  invoker: lazySageMakerInvoker,
  timeoutMs: configEnv(ENV.SAGEMAKER_INVOKE_TIMEOUT_MS, serving.invokeTimeoutMs, 'sagemakerServing.invokeTimeoutMs'),
  maxThrottleRetries: configEnv(ENV.SAGEMAKER_MAX_THROTTLE_RETRIES, serving.maxThrottleRetries, 'sagemakerServing.maxThrottleRetries'),
  retryBaseDelayMs: configEnv(ENV.SAGEMAKER_RETRY_BASE_DELAY_MS, serving.retryBaseDelayMs, 'sagemakerServing.retryBaseDelayMs'),
  failureThreshold: configEnv(ENV.SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD, serving.circuitFailureThreshold, 'sagemakerServing.circuitFailureThreshold'),
  openMs: configEnv(ENV.SAGEMAKER_CIRCUIT_OPEN_SECONDS, serving.circuitOpenSeconds, 'sagemakerServing.circuitOpenSeconds') * 1000,
  observer: endpointObserver,
});

const service = new ModelService({
  registry: new DynamoDbRegistry(documentClient, requireEnv(ENV.REGISTRY_TABLE_NAME)),
  artifacts: new S3ArtifactStore(s3Client, requireEnv(ENV.ARTIFACT_BUCKET_NAME)),
  engine: new OnnxScoringEngine({ intraOpNumThreads: intraOpThreads }),
  remoteEngine,
  observer,
  cacheTtlMs: configEnv(ENV.REGISTRY_CACHE_TTL_SECONDS, registryConfig.shape.cacheTtlSeconds, 'registry.cacheTtlSeconds') * 1000,
  staleServingMs: configEnv(ENV.REGISTRY_STALE_SERVING_SECONDS, registryConfig.shape.staleServingSeconds, 'registry.staleServingSeconds') * 1000,
  maxBatchSize,
  outOfRange: {
    policy: configEnv(ENV.OUT_OF_RANGE_POLICY, predictConfig.shape.outOfRange, 'predict.outOfRange'),
    tolerance: configEnv(ENV.OUT_OF_RANGE_TOLERANCE, predictConfig.shape.outOfRangeTolerance, 'predict.outOfRangeTolerance'),
  },
  outOfDistribution: {
    policy: configEnv(ENV.OUT_OF_DISTRIBUTION_POLICY, predictConfig.shape.outOfDistribution, 'predict.outOfDistribution'),
    pValue: configEnv(ENV.OUT_OF_DISTRIBUTION_P_VALUE, predictConfig.shape.outOfDistributionPValue, 'predict.outOfDistributionPValue'),
  },
  explain: {
    maxBatchSize: maxExplainBatchSize,
    backgroundSize: configEnv(ENV.EXPLAIN_BACKGROUND_SIZE, explainConfig.shape.backgroundSize, 'explain.backgroundSize'),
    approximation: configEnv(ENV.EXPLAIN_APPROXIMATION, explainConfig.shape.approximation, 'explain.approximation'),
    samplingBudget: configEnv(ENV.EXPLAIN_SAMPLING_BUDGET, explainConfig.shape.samplingBudget, 'explain.samplingBudget'),
    topContributions: configEnv(ENV.EXPLAIN_TOP_CONTRIBUTIONS, explainConfig.shape.topContributions, 'explain.topContributions'),
  },
});

/**
 * Prediction capture: to the Firehose stream in AWS (`CAPTURE_STREAM_NAME`); locally to the capture bucket in
 * batches (`CAPTURE_BUCKET_NAME` without a stream). Feedback labels go to the capture bucket. Neither set: off.
 */
const captureStreamName = process.env[ENV.CAPTURE_STREAM_NAME] ?? '';
const captureBucketName = process.env[ENV.CAPTURE_BUCKET_NAME] ?? '';
const captureStore = captureBucketName === '' ? undefined : new S3CaptureStore(s3Client, captureBucketName);
/** The local batch sink, exported so the local platform can flush it on demand and at stop. */
export const localCaptureSink =
  captureStreamName === '' && captureStore !== undefined
    ? new S3BatchCaptureSink(captureStore, {
        flushIntervalMs: integerEnv('CAPTURE_FLUSH_INTERVAL_MS', 1000),
        onFlushError: (error, records) => logger.error('capture flush failed; records kept for the next flush', { records, error: asError(error) }),
        onDrop: (records) => {
          logger.warn('capture buffer full; records dropped', { records });
          const dropMetric = metrics.singleMetric();
          dropMetric.addMetric(API_METRICS.captureDropped, MetricUnit.Count, records);
        },
      })
    : undefined;
/** The Firehose client and sink load with the first sampled capture, not at module load (as the SageMaker invoker). */
function lazyFirehoseSink(streamName: string): CaptureSink {
  let sink: Promise<CaptureSink> | undefined;
  return {
    async put(records) {
      sink ??= Promise.all([import('@aws-sdk/client-firehose'), import('#adapters/firehose-capture-sink.ts')]).then(
        ([{ FirehoseClient }, { FirehoseCaptureSink }]) => new FirehoseCaptureSink(tracer.captureAWSv3Client(new FirehoseClient({})), streamName),
      );
      return (await sink).put(records);
    },
  };
}
const captureSink: CaptureSink | undefined = captureStreamName !== '' ? lazyFirehoseSink(captureStreamName) : localCaptureSink;
const capture =
  captureSink === undefined ? undefined : new PredictionCapture({
        sink: captureSink,
        sampleRate: configEnv(ENV.CAPTURE_SAMPLE_RATE, driftConfig.shape.captureSampleRate, 'drift.captureSampleRate'),
      });

/**
 * The API consumers by key id (`API_CONSUMERS`, from `api.consumers`), read at cold start. Exported so the local
 * platform can replace it when it rotates a key (in AWS a rotation is a deploy, hence a new cold start).
 */
let apiConsumers: ConsumerLookup = configEnv(ENV.API_CONSUMERS, consumerDirectory.optional(), 'api.consumers') ?? {};
export function setApiConsumers(directory: ConsumerLookup): void {
  apiConsumers = directory;
}

/** The uninstrumented handler, for tests and the local gateway. */
export const apiHandler = createApiHandler({
  service,
  openApi: openApiDocument({ maxBatchSize, maxExplainBatchSize, maxRequestBytes, version: SERVICE_VERSION }),
  maxRequestBytes,
  corsAllowOrigins: configEnv(ENV.CORS_ALLOW_ORIGIN, apiConfig.shape.corsAllowOrigins, 'api.corsAllowOrigins', { list: true }),
  serviceVersion: SERVICE_VERSION,
  ...(process.env.AWS_LAMBDA_FUNCTION_VERSION === undefined ? {} : { functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION }),
  logger,
  metrics,
  variantMetrics,
  ...(capture === undefined ? {} : { capture }),
  ...(captureStore === undefined ? {} : { feedback: captureStore }),
  consumers: () => apiConsumers,
  // Unset (an older stack): the default key exists, as it always did before api.defaultKey.
  defaultKey: configEnv(ENV.API_DEFAULT_KEY, apiConfig.shape.defaultKey, 'api.defaultKey') ?? true,
});

export const handler = middy(apiHandler)
  .use(captureLambdaHandler(tracer))
  .use(injectLambdaContext(logger))
  .use(logMetrics(metrics, { captureColdStartMetric: true }));
