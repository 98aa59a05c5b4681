import { join } from 'node:path';
import { DEFAULT_CONFIG } from '#contracts/config.ts';
import { retrainTargetsOf } from '#contracts/drift.ts';
import { ENV, SERVICE_NAMES } from '#contracts/env.ts';
import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { S3BatchObjects } from '#adapters/s3-batch-objects.ts';
import { LocalBatchScoring, type LocalBatchScoringOptions } from './batch-scoring.ts';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { startDynamoDb, startS3, type RunningEmulator } from './emulators.ts';
import { startGateway, type RunningGateway } from './gateway.ts';
import { startTransactionProxy } from './dynamodb-transactions.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { createHash, randomUUID } from 'node:crypto';
import { DynamoDbApprovals } from '#adapters/dynamodb-approvals.ts';
import { OnnxArtifactInspector, onnxArtifactVerifier } from '#adapters/onnx-artifact-inspector.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { DEFAULT_PIPELINE_CONFIG, type PipelineConfig } from '#core/pipeline/run.ts';
import { PipelineSteps } from '#core/pipeline/steps.ts';
import type { OutOfRangePolicy } from '#core/serving/range-check.ts';
import { LocalPipeline, type LocalPipelineOptions, type StepOverride } from './pipeline.ts';
import { createPipelineHandler } from '../lambdas/training-pipeline/pipeline-handler.ts';
import { localAdminRoutes } from './admin-routes.ts';
import { ensureRegistryTable } from './provision.ts';
import { seedReferenceModel } from './seed.ts';
import type { CanaryThresholds } from '#core/serving/canary-watch.ts';
import { LocalCanaryWatch, type LocalNotification } from './canary-watch.ts';
import { dashboardPages } from './dashboard.ts';
import { driftVerdictOf, InMemoryDriftVerdicts, LiveFigures, type DriftVerdictStore } from './live-figures.ts';
import { readFileSync } from 'node:fs';
import { S3CaptureStore } from '#adapters/s3-captures.ts';
import type { DriftJobSettings } from '#core/drift/job.ts';
import { datasetKey } from '#core/pipeline/run.ts';
import type { createDriftJobHandler } from '../lambdas/drift-job/drift-job-handler.ts';
import { driftThread } from './drift-thread.ts';
import { LocalEventBus } from './event-bus.ts';
import { startDriftSchedules } from './drift-schedules.ts';
import { startLocalSageMakerRuntime, type EndpointFault, type RunningSageMakerRuntime } from './sagemaker-runtime.ts';
import { DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES } from '#core/registry/registration.ts';
import { defaultKeyEnabled, type ConsumerConfig } from '#contracts/api.ts';
import { LocalApiKeys } from './api-keys.ts';
import { LocalThrottles, type LocalLimitsConfig } from './throttles.ts';
import { localKeyRoutes } from './key-routes.ts';

/**
 * The whole platform on one machine: DynamoDB and S3 emulators, the registry seeded with the
 * reference model, and the inference handler behind a local gateway. The handler is the
 * Lambda's own module; only the SDK endpoints differ.
 */

export const LOCAL_TABLE_NAME = 'mlops-registry';
export const LOCAL_BUCKET_NAME = 'mlops-artifacts';
/** Captured predictions, feedback labels and drift reports (the capture bucket in AWS). */
export const LOCAL_CAPTURE_BUCKET_NAME = 'mlops-captures';
/** Batch scoring's input and output objects (the batch bucket in AWS). */
export const LOCAL_BATCH_BUCKET_NAME = 'mlops-batch';

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalPlatformOptions {
  /** Where the emulators keep their data. */
  readonly dataDir: string;
  readonly apiKey: string;
  /**
   * The API consumers (`api.consumers`): each gets its own key (kept in `<dataDir>/api-keys.json`), and the handler
   * learns key id to consumer as from `API_CONSUMERS` in AWS. @default [] (only the default key)
   */
  readonly consumers?: readonly ConsumerConfig[];
  /**
   * Whether the default key (`apiKey`) calls the `/v1` routes, as `api.defaultKey`: when off, the gateway refuses it
   * there and the handler refuses a key that is no consumer's (`API_DEFAULT_KEY`); it still opens the `/local` routes.
   * @default - on without `consumers`, off with them (`defaultKeyEnabled`)
   */
  readonly defaultKey?: boolean;
  /**
   * The usage plans (per-key throttle and quota, the explain route's per-key throttle) and the stage throttle, applied
   * by the gateway as API Gateway applies them (`local/throttles.ts`); `npm start` passes the config's.
   * @default - none: no request is throttled
   */
  readonly limits?: LocalLimitsConfig;
  /** The clock of key rotation overlaps, token buckets and quotas (tests). @default Date.now */
  readonly now?: () => number;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Seconds a resolved serving config is cached (short, so CLI changes show at once). @default 2 */
  readonly registryCacheTtlSeconds?: number;
  readonly onRequest?: (entry: { method: string; path: string; status: number; ms: number }) => void;
  /** The training pipeline's settings. @default DEFAULT_PIPELINE_CONFIG */
  readonly pipelineConfig?: PipelineConfig;
  /** Options of the local pipeline runner (tests shorten retries and inject faults). */
  readonly pipeline?: Pick<LocalPipelineOptions, 'retryIntervalMs' | 'approvalPollMs' | 'onEvent' | 'trainingJob'> & {
    /** Replaces a step's code inside the pipeline's handler (its errors go through the handler's mapping). */
    readonly stepOverride?: StepOverride;
    /**
     * Fails a call of the pipeline's own S3 client before it is sent (the error is thrown as the SDK would), e.g. a
     * `SlowDown` to show that the handler maps it to `TransientError` and the ASL's `Retry` runs it again.
     */
    readonly s3Fault?: (command: string, input: Record<string, unknown>) => Error | undefined;
  };
  /** The local canary watch: thresholds over the defaults, how often it runs (ms, 0: only `checkNow`), notifications. */
  readonly canaryWatch?: {
    readonly thresholds?: Partial<CanaryThresholds>;
    readonly intervalMs?: number;
    readonly onNotification?: (notification: LocalNotification) => void;
  };
  /** Drift monitoring: the schedules and the job's settings. */
  readonly drift?: LocalDriftOptions;
  /** How the predict handler calls SageMaker endpoints, and faults the local endpoints answer (tests). */
  readonly sagemaker?: LocalSageMakerOptions;
  /**
   * The predict handler's range check (the `OUT_OF_RANGE_*` variables the CDK sets from `predict.outOfRange*`).
   * @default - the config defaults: policy `warn`, tolerance 0.1
   */
  readonly outOfRange?: { readonly policy?: OutOfRangePolicy; readonly tolerance?: number };
  /** The predict handler's out-of-distribution score (the `OUT_OF_DISTRIBUTION_*` variables, `predict.outOfDistribution*`). @default off */
  readonly outOfDistribution?: { readonly policy?: OutOfRangePolicy; readonly pValue?: number };
  /** The local batch scoring runner's options (tests shorten retries). */
  readonly batch?: Pick<LocalBatchScoringOptions, 'maxConcurrency' | 'retryIntervalMs' | 'onEvent'>;
}

/** The handler's SageMaker settings (the `SAGEMAKER_*` variables the CDK sets from `sagemakerServing`). */
export interface LocalSageMakerOptions {
  /** @default 3000 */
  readonly invokeTimeoutMs?: number;
  /** @default 2 */
  readonly maxThrottleRetries?: number;
  /** @default 100 */
  readonly retryBaseDelayMs?: number;
  /** @default 5 */
  readonly circuitFailureThreshold?: number;
  /** @default 30 */
  readonly circuitOpenSeconds?: number;
  /** Makes a local endpoint answer a fault instead of scoring. @default - none */
  readonly faults?: (endpointName: string) => EndpointFault | undefined;
}

export interface LocalDriftOptions {
  /** Seconds between two "hourly" checks; 0 turns the schedules off (tests run the job by hand). @default 0 */
  readonly intervalSeconds?: number;
  /** Window of the scheduled checks. @default '1h' */
  readonly window?: string;
  /** Merged over the defaults (cooldown 60 minutes, retrain on critical drift). */
  readonly settings?: Partial<DriftJobSettings>;
  /** Told about each scheduled run and bus event (npm start prints them). */
  readonly onResult?: Parameters<typeof startDriftSchedules>[0]['onResult'];
  readonly onEvent?: ConstructorParameters<typeof LocalEventBus>[2];
}

/** The local drift job, its bus and the capture bucket. */
export interface LocalDrift {
  /** Flushes the capture buffer, then runs the drift job handler on `input` (as the Lambda is invoked). */
  run(input: Record<string, unknown>): ReturnType<ReturnType<typeof createDriftJobHandler>>;
  /** Writes buffered captures to the capture bucket now. */
  flushCaptures(): Promise<void>;
  readonly bus: LocalEventBus;
  readonly captures: S3CaptureStore;
  /** The drift job's worker thread (undefined before its first run): never the serving event loop's. */
  readonly threadId: number | undefined;
}

export interface LocalPlatform {
  readonly url: string;
  readonly apiKey: string;
  /** The API consumers' keys: list and rotate (also `/local/v1/keys`, `mlops --local keys`). */
  readonly apiKeys: LocalApiKeys;
  readonly dynamoDbEndpoint: string;
  readonly s3Endpoint: string;
  readonly seeded: boolean;
  readonly registry: DynamoDbRegistry;
  readonly registryService: RegistryService;
  readonly artifacts: S3ArtifactStore;
  readonly approvals: DynamoDbApprovals;
  readonly pipeline: LocalPipeline;
  /** Batch scoring jobs: the batch state machine on aws-local-stepfunctions with the local Distributed Map. */
  readonly batch: LocalBatchScoring;
  /** Live figures of the API's answers (what the dashboard draws and the canary watch judges). */
  readonly figures: LiveFigures;
  /** Where drift verdicts go for the dashboard (the drift job records them). */
  readonly driftVerdicts: DriftVerdictStore;
  readonly canaryWatch: LocalCanaryWatch;
  readonly drift: LocalDrift;
  /** The local SageMaker-runtime server (`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` of the handler). */
  readonly sagemakerRuntime: RunningSageMakerRuntime;
  /** The largest artifact registration accepts for the Lambda target locally. */
  readonly lambdaMaxArtifactBytes: number;
  stop(): Promise<void>;
}

/** Points the handler's SageMaker runtime client at the local server, with the settings the CDK would set. */
function configureSageMakerEnvironment(endpoint: string, options: LocalSageMakerOptions): void {
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME: endpoint,
    [ENV.SAGEMAKER_INVOKE_TIMEOUT_MS]: String(options.invokeTimeoutMs ?? 3000),
    [ENV.SAGEMAKER_MAX_THROTTLE_RETRIES]: String(options.maxThrottleRetries ?? 2),
    [ENV.SAGEMAKER_RETRY_BASE_DELAY_MS]: String(options.retryBaseDelayMs ?? 100),
    [ENV.SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD]: String(options.circuitFailureThreshold ?? 5),
    [ENV.SAGEMAKER_CIRCUIT_OPEN_SECONDS]: String(options.circuitOpenSeconds ?? 30),
  });
}

/** Points the AWS SDK and the handler's settings at the local emulators, as the CDK does for Lambda. */
function configureHandlerEnvironment(dynamoDb: string, s3: string, cacheTtlSeconds: number): void {
  Object.assign(process.env, {
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    // s3rver only accepts its own well-known key pair; dynalite accepts any. Never real credentials.
    AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
    AWS_SESSION_TOKEN: '',
    AWS_ENDPOINT_URL_DYNAMODB: dynamoDb,
    AWS_ENDPOINT_URL_S3: s3,
    [ENV.REGISTRY_TABLE_NAME]: LOCAL_TABLE_NAME,
    [ENV.ARTIFACT_BUCKET_NAME]: LOCAL_BUCKET_NAME,
    [ENV.REGISTRY_CACHE_TTL_SECONDS]: String(cacheTtlSeconds),
    [ENV.POWERTOOLS_SERVICE_NAME]: process.env[ENV.POWERTOOLS_SERVICE_NAME] ?? SERVICE_NAMES.inferenceApi,
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    // INFO in one readable line each: shadow comparisons, out-of-range values, refused requests, model loads.
    [ENV.POWERTOOLS_LOG_LEVEL]: process.env[ENV.POWERTOOLS_LOG_LEVEL] ?? 'INFO',
    MLOPS_LOG_FORMAT: process.env.MLOPS_LOG_FORMAT ?? 'text',
    [ENV.MLOPS_ENVIRONMENT]: 'local',
    [ENV.CAPTURE_BUCKET_NAME]: LOCAL_CAPTURE_BUCKET_NAME,
    [ENV.CAPTURE_SAMPLE_RATE]: process.env[ENV.CAPTURE_SAMPLE_RATE] ?? '1',
    CAPTURE_FLUSH_INTERVAL_MS: process.env.CAPTURE_FLUSH_INTERVAL_MS ?? '1000',
    [ENV.BATCH_BUCKET_NAMES]: LOCAL_BATCH_BUCKET_NAME,
  });
}

/** The batch scoring handler module, imported fresh per platform like the API's (its clients keep their endpoints). */
async function importBatchHandler(instance: number): Promise<typeof import('../lambdas/batch-scoring/handler.ts')> {
  if (instance === 0) return import('../lambdas/batch-scoring/handler.ts');
  const specifier = `../lambdas/batch-scoring/handler.ts?instance=${instance}`;
  return (await import(specifier)) as typeof import('../lambdas/batch-scoring/handler.ts');
}

/** Always set, never inherited: a platform started earlier in the same process must not leak its policy. */
function configureRangeCheckEnvironment(
  options: NonNullable<LocalPlatformOptions['outOfRange']>,
  ood: NonNullable<LocalPlatformOptions['outOfDistribution']> = {},
): void {
  Object.assign(process.env, {
    [ENV.OUT_OF_RANGE_POLICY]: options.policy ?? 'warn',
    [ENV.OUT_OF_RANGE_TOLERANCE]: String(options.tolerance ?? 0.1),
    [ENV.OUT_OF_DISTRIBUTION_POLICY]: ood.policy ?? 'off',
    [ENV.OUT_OF_DISTRIBUTION_P_VALUE]: String(ood.pValue ?? 0.01),
  });
}

/** The invocation context Lambda would pass, so the instrumented handler runs exactly as deployed. */
function lambdaContext(requestId: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'inference-api-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:inference-api-local',
    memoryLimitInMB: '1769',
    awsRequestId: requestId,
    logGroupName: '/aws/lambda/inference-api-local',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** How many platforms this process has started: each gets its own instance of the handler module. */
let handlerInstances = 0;

/**
 * The handler module, imported fresh for every platform this process starts: its SDK clients are built at import
 * and keep the endpoints they saw then, so a platform restarted in the same process (new emulator ports) needs a
 * new instance, as a new Lambda container would be. The first start imports the plain path.
 */
async function importHandler(instance: number): Promise<typeof import('../lambdas/inference-api/handler.ts')> {
  if (instance === 0) return import('../lambdas/inference-api/handler.ts');
  const specifier = `../lambdas/inference-api/handler.ts?instance=${instance}`;
  return (await import(specifier)) as typeof import('../lambdas/inference-api/handler.ts');
}

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const started: { close(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    // A copy: a second stop() closes in the same order (the gateway before the emulators it talks to).
    for (const server of [...started].reverse()) await server.close().catch(() => undefined);
  };
  try {
    const dynalite: RunningEmulator = await startDynamoDb(options.dataDir);
    started.push(dynalite);
    // dynalite lacks DynamoDB transactions; the proxy adds them (see dynamodb-transactions.ts).
    const dynamoDb: RunningEmulator = await startTransactionProxy(dynalite, { journalDir: join(options.dataDir, 'dynamodb-journal') });
    started.push(dynamoDb);
    const s3: RunningEmulator = await startS3(options.dataDir, [LOCAL_BUCKET_NAME, LOCAL_CAPTURE_BUCKET_NAME, LOCAL_BATCH_BUCKET_NAME]);
    started.push(s3);
    configureHandlerEnvironment(dynamoDb.endpoint, s3.endpoint, options.registryCacheTtlSeconds ?? 2);

    const credentials = LOCAL_CREDENTIALS;
    const dynamoClient = new DynamoDBClient({ endpoint: dynamoDb.endpoint, region: 'us-east-1', credentials });
    await ensureRegistryTable(dynamoClient, LOCAL_TABLE_NAME);
    const registry = new DynamoDbRegistry(
      DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
      LOCAL_TABLE_NAME,
    );
    const artifacts = new S3ArtifactStore(
      new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true }),
      LOCAL_BUCKET_NAME,
    );
    const registryService = new RegistryService({
      store: registry,
      verifyArtifact: onnxArtifactVerifier((key) => artifacts.getArtifact(key)),
    });
    const { seeded } = await seedReferenceModel(registryService, artifacts);
    const approvals = new DynamoDbApprovals(
      DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
      LOCAL_TABLE_NAME,
    );
    // The pipeline runs the Lambda's own handler factory, with an S3 client of its own as in AWS.
    const pipelineS3 = new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true });
    const s3Fault = options.pipeline?.s3Fault;
    if (s3Fault !== undefined) {
      pipelineS3.middlewareStack.add(
        (next, context) => async (args) => {
          const fault = s3Fault(String(context.commandName), args.input as Record<string, unknown>);
          if (fault !== undefined) throw fault;
          return next(args);
        },
        { step: 'initialize', name: 'localFaultInjection' },
      );
    }
    // As deployed by default (drift.retrainPromotion): a drift-triggered version lands as a canary after a person's approval.
    const retrainPromotion = options.drift?.settings?.retrainPromotion ?? DEFAULT_CONFIG.drift.retrainPromotion;
    const pipelineSteps = new PipelineSteps({
      objects: new S3ArtifactStore(pipelineS3, LOCAL_BUCKET_NAME),
      registry: registryService,
      inspector: new OnnxArtifactInspector(),
      engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
      approvals,
      // Drift runs are held to the policy the drift job asks for (RETRAIN_PROMOTION in AWS), whatever a run input says.
      config: { ...(options.pipelineConfig ?? DEFAULT_PIPELINE_CONFIG), retrainPromotion },
      sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
      newId: randomUUID,
    });
    const stepOverride = options.pipeline?.stepOverride;
    const steps =
      stepOverride === undefined
        ? pipelineSteps
        : { dispatch: (payload: Record<string, unknown>) => stepOverride(String(payload.step), payload, () => pipelineSteps.dispatch(payload)) };
    // Powertools is imported once the environment above (log level, metrics off) is set.
    const powertools = await import('#shared/powertools.ts');
    const pipeline = new LocalPipeline({
      retryIntervalMs: options.pipeline?.retryIntervalMs,
      approvalPollMs: options.pipeline?.approvalPollMs,
      onEvent: options.pipeline?.onEvent,
      trainingJob: options.pipeline?.trainingJob,
      instanceCount: options.pipelineConfig?.sagemaker?.instanceCount ?? 1,
      runsDir: join(options.dataDir, 'pipeline-runs'),
      bucket: LOCAL_BUCKET_NAME,
      approvals,
      // Metrics of their own per invocation, as each Lambda invocation publishes and clears its own (Map iterations run
      // concurrently here); the local platform does not publish them.
      createHandler:
        ({ notifier }) =>
        (event) =>
          createPipelineHandler({ steps, notifier, logger: powertools.logger, metrics: powertools.createMetrics() })(event),
    });
    started.push({ close: async () => pipeline.close() });

    const sagemakerRuntime = await startLocalSageMakerRuntime({
      store: artifacts,
      ...(options.sagemaker?.faults === undefined ? {} : { faults: options.sagemaker.faults }),
    });
    started.push(sagemakerRuntime);
    configureSageMakerEnvironment(sagemakerRuntime.endpoint, options.sagemaker ?? {});
    configureRangeCheckEnvironment(options.outOfRange ?? {}, options.outOfDistribution ?? {});

    // Imported only now: the handler module reads its environment when it loads, as in Lambda.
    const figures = new LiveFigures();
    const driftVerdicts = new InMemoryDriftVerdicts();
    const canaryWatch = new LocalCanaryWatch({
      registry: registryService,
      figures,
      ...options.canaryWatch,
      onError: (error) => console.error('canary watch failed (retried at the next interval):', error),
    });
    started.push({ close: () => canaryWatch.stop() });
    const instance = handlerInstances++;
    const defaultKey = defaultKeyEnabled({ defaultKey: options.defaultKey, consumers: options.consumers ?? [] });
    // Read by the handler module when it loads, as API_DEFAULT_KEY is in AWS.
    process.env[ENV.API_DEFAULT_KEY] = String(defaultKey);
    const { handler, localCaptureSink, shadowListeners, setApiConsumers } = await importHandler(instance);
    const apiKeys = new LocalApiKeys({
      file: join(options.dataDir, 'api-keys.json'),
      defaultKey: options.apiKey,
      defaultKeyEnabled: defaultKey,
      consumers: options.consumers ?? [],
      ...(options.now === undefined ? {} : { now: options.now }),
    });
    /** What `API_CONSUMERS` holds in AWS, refreshed per request so a rotation or an ended overlap shows at once. */
    const refreshConsumers = (): void => setApiConsumers(apiKeys.directory());
    refreshConsumers();
    shadowListeners.push((comparison) => figures.recordShadow(comparison));
    const { batchScoringHandler } = await importBatchHandler(instance);
    const batch = new LocalBatchScoring({
      handler: batchScoringHandler,
      objects: new S3BatchObjects(new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true })),
      ...options.batch,
    });
    // Drift monitoring: the job handler on the local capture bucket, the retrain ledger in the registry table (both in
    // the drift thread), a local bus whose retrain rule starts the local pipeline, and the schedules.
    const creditCsv = readFileSync(new URL('../examples/credit/credit_data.csv', import.meta.url));
    // Retraining reads the production version's data at datasets/{model}/{sha256}.csv, where `mlops train` puts it.
    await artifacts.putBytes(datasetKey('credit', createHash('sha256').update(creditCsv).digest('hex')), creditCsv, 'text/csv');
    const captures = new S3CaptureStore(
      new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', credentials, forcePathStyle: true }),
      LOCAL_CAPTURE_BUCKET_NAME,
    );
    // The drift job's events carry the deployment's app, and the bus's retrain rule matches it, as in AWS.
    const bus = new LocalEventBus(DEFAULT_CONFIG.appName, (input) => void pipeline.start(input), options.drift?.onEvent);
    // The drift Lambda's handler on a thread of its own: its reads and statistics never stall predict's event loop.
    const driftJob = driftThread(
      {
        dynamoDbEndpoint: dynamoDb.endpoint,
        s3Endpoint: s3.endpoint,
        credentials,
        tableName: LOCAL_TABLE_NAME,
        captureBucket: LOCAL_CAPTURE_BUCKET_NAME,
        // The retrain targets as the CDK builds them, from the pipeline config the local pipeline runs with.
        settings: {
          app: DEFAULT_CONFIG.appName,
          cooldownMinutes: 60,
          retrainOnCritical: true,
          retrainPromotion,
          retrainTargets: retrainTargetsOf((options.pipelineConfig ?? DEFAULT_PIPELINE_CONFIG).models),
          ...options.drift?.settings,
        },
      },
      (events) => bus.publish(events),
    );
    started.push({ close: () => driftJob.close() });
    const flushCaptures = async (): Promise<void> => {
      await localCaptureSink?.flush();
    };
    const drift: LocalDrift = {
      run: async (input) => {
        await flushCaptures();
        const outcome = await driftJob.run(input);
        for (const document of outcome.results) driftVerdicts.record(driftVerdictOf(document));
        return outcome;
      },
      flushCaptures,
      bus,
      captures,
      get threadId() {
        return driftJob.threadId;
      },
    };
    const intervalSeconds = options.drift?.intervalSeconds ?? 0;
    if (intervalSeconds > 0) {
      const schedules = startDriftSchedules({
        intervalSeconds,
        window: options.drift?.window ?? '1h',
        run: (input) => drift.run(input),
        ...(options.drift?.onResult === undefined ? {} : { onResult: options.drift.onResult }),
      });
      started.push({ close: async () => schedules.stop() });
    }
    // Flushes what is buffered and stops the sink's timer (it belongs to this platform's handler instance).
    started.push({ close: async () => localCaptureSink?.close() });
    // One invocation at a time, as one Lambda container runs them: the handler's Powertools instances (metrics,
    // log keys) belong to one invocation until the middleware flushes them. Run concurrently, requests mixed each
    // other's dimensions and flushes ("Dimension \"route\" has already been added", "No application metrics").
    let invocations: Promise<unknown> = Promise.resolve();
    const invokeInTurn = <T>(invoke: () => Promise<T>): Promise<T> => {
      const turn = invocations.then(invoke);
      invocations = turn.catch(() => undefined);
      return turn;
    };
    const throttles =
      options.limits === undefined ? undefined : new LocalThrottles(options.limits, (keyId) => apiKeys.consumerOf(keyId), options.now ?? Date.now);
    const gateway: RunningGateway = await startGateway({
      ...(throttles === undefined ? {} : { admit: (request) => throttles.admit(request) }),
      handler: (event) =>
        invokeInTurn(async () => {
          const began = performance.now();
          const result = await handler(event, lambdaContext(event.requestContext.requestId));
          figures.recordAnswer(event, result, performance.now() - began);
          return result;
        }),
      pages: dashboardPages(figures, driftVerdicts),
      apiKey: options.apiKey,
      authenticate: (presented) => {
        const id = apiKeys.authenticate(presented);
        if (id !== undefined) refreshConsumers();
        return id;
      },
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      corsAllowOrigins: (process.env[ENV.CORS_ALLOW_ORIGIN] ?? '').split(',').filter((o) => o !== ''),
      onRequest: options.onRequest,
      localRoutes: localKeyRoutes(apiKeys, localAdminRoutes(pipeline, approvals, drift, batch)),
    });
    started.push(gateway);
    return {
      url: gateway.url,
      apiKey: options.apiKey,
      apiKeys,
      dynamoDbEndpoint: dynamoDb.endpoint,
      s3Endpoint: s3.endpoint,
      seeded,
      registry,
      registryService,
      artifacts,
      approvals,
      pipeline,
      batch,
      figures,
      driftVerdicts,
      canaryWatch,
      drift,
      sagemakerRuntime,
      lambdaMaxArtifactBytes: DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
