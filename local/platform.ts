import type { Context } from 'aws-lambda';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { S3ArtifactStore } from '#adapters/s3-artifacts.ts';
import { startDynamoDb, startS3, type RunningEmulator } from './emulators.ts';
import { startGateway, type RunningGateway } from './gateway.ts';
import { startTransactionProxy } from './dynamodb-transactions.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { createHash, randomUUID } from 'node:crypto';
import { DynamoDbApprovals } from '#adapters/dynamodb-approvals.ts';
import { OnnxArtifactInspector } from '#adapters/onnx-artifact-inspector.ts';
import { OnnxScoringEngine } from '#adapters/onnx-scoring-engine.ts';
import { DEFAULT_PIPELINE_CONFIG, type PipelineConfig } from '#core/pipeline/run.ts';
import { PipelineSteps } from '#core/pipeline/steps.ts';
import { LocalPipeline, type LocalPipelineOptions } from './pipeline.ts';
import { localAdminRoutes } from './admin-routes.ts';
import { ensureRegistryTable } from './provision.ts';
import { seedReferenceModel } from './seed.ts';
import { startLocalSageMakerRuntime, type EndpointFault, type RunningSageMakerRuntime } from './sagemaker-runtime.ts';
import { DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES } from '#core/registry/registration.ts';

/**
 * The whole platform on one machine: DynamoDB and S3 emulators, the registry seeded with the
 * reference model, and the inference handler behind a local gateway. The handler is the
 * Lambda's own module; only the SDK endpoints differ.
 */

export const LOCAL_TABLE_NAME = 'mlops-registry';
export const LOCAL_BUCKET_NAME = 'mlops-artifacts';

const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

export interface LocalPlatformOptions {
  /** Where the emulators keep their data. */
  readonly dataDir: string;
  readonly apiKey: string;
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
  readonly pipeline?: Pick<LocalPipelineOptions, 'retryIntervalMs' | 'stepOverride' | 'approvalPollMs' | 'onEvent'>;
  /** How the predict handler calls SageMaker endpoints, and faults the local endpoints answer (tests). */
  readonly sagemaker?: LocalSageMakerOptions;
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

export interface LocalPlatform {
  readonly url: string;
  readonly apiKey: string;
  readonly dynamoDbEndpoint: string;
  readonly s3Endpoint: string;
  readonly seeded: boolean;
  readonly registry: DynamoDbRegistry;
  readonly registryService: RegistryService;
  readonly artifacts: S3ArtifactStore;
  readonly approvals: DynamoDbApprovals;
  readonly pipeline: LocalPipeline;
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
    SAGEMAKER_INVOKE_TIMEOUT_MS: String(options.invokeTimeoutMs ?? 3000),
    SAGEMAKER_MAX_THROTTLE_RETRIES: String(options.maxThrottleRetries ?? 2),
    SAGEMAKER_RETRY_BASE_DELAY_MS: String(options.retryBaseDelayMs ?? 100),
    SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD: String(options.circuitFailureThreshold ?? 5),
    SAGEMAKER_CIRCUIT_OPEN_SECONDS: String(options.circuitOpenSeconds ?? 30),
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
    REGISTRY_TABLE_NAME: LOCAL_TABLE_NAME,
    ARTIFACT_BUCKET_NAME: LOCAL_BUCKET_NAME,
    REGISTRY_CACHE_TTL_SECONDS: String(cacheTtlSeconds),
    POWERTOOLS_SERVICE_NAME: process.env.POWERTOOLS_SERVICE_NAME ?? 'inference-api',
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    MLOPS_ENVIRONMENT: 'local',
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

export async function startLocalPlatform(options: LocalPlatformOptions): Promise<LocalPlatform> {
  const started: { close(): Promise<void> }[] = [];
  const stopAll = async (): Promise<void> => {
    for (const server of started.reverse()) await server.close().catch(() => undefined);
  };
  try {
    const dynalite: RunningEmulator = await startDynamoDb(options.dataDir);
    started.push(dynalite);
    // dynalite lacks DynamoDB transactions; the proxy adds them (see dynamodb-transactions.ts).
    const dynamoDb: RunningEmulator = await startTransactionProxy(dynalite);
    started.push(dynamoDb);
    const s3: RunningEmulator = await startS3(options.dataDir, [LOCAL_BUCKET_NAME]);
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
    const registryService = new RegistryService({ store: registry });
    const { seeded } = await seedReferenceModel(registryService, artifacts);
    const approvals = new DynamoDbApprovals(
      DynamoDBDocumentClient.from(dynamoClient, { marshallOptions: { removeUndefinedValues: true } }),
      LOCAL_TABLE_NAME,
    );
    const pipeline = new LocalPipeline({
      ...options.pipeline,
      bucket: LOCAL_BUCKET_NAME,
      approvals,
      steps: new PipelineSteps({
        objects: artifacts,
        registry: registryService,
        inspector: new OnnxArtifactInspector(),
        engine: new OnnxScoringEngine({ intraOpNumThreads: 1 }),
        approvals,
        config: options.pipelineConfig ?? DEFAULT_PIPELINE_CONFIG,
        sha256: (bytes) => createHash('sha256').update(bytes).digest('hex'),
        newId: randomUUID,
      }),
    });

    const sagemakerRuntime = await startLocalSageMakerRuntime({
      store: artifacts,
      ...(options.sagemaker?.faults === undefined ? {} : { faults: options.sagemaker.faults }),
    });
    started.push(sagemakerRuntime);
    configureSageMakerEnvironment(sagemakerRuntime.endpoint, options.sagemaker ?? {});

    // Imported only now: the handler module reads its environment when it loads, as in Lambda.
    const { handler } = await import('../lambdas/inference-api/handler.ts');
    const gateway: RunningGateway = await startGateway({
      handler: (event) => handler(event, lambdaContext(event.requestContext.requestId)),
      apiKey: options.apiKey,
      port: options.port ?? 0,
      host: options.host ?? '127.0.0.1',
      corsAllowOrigins: (process.env.CORS_ALLOW_ORIGIN ?? '').split(',').filter((o) => o !== ''),
      onRequest: options.onRequest,
      localRoutes: localAdminRoutes(pipeline, approvals),
    });
    started.push(gateway);
    return {
      url: gateway.url,
      apiKey: options.apiKey,
      dynamoDbEndpoint: dynamoDb.endpoint,
      s3Endpoint: s3.endpoint,
      seeded,
      registry,
      registryService,
      artifacts,
      approvals,
      pipeline,
      sagemakerRuntime,
      lambdaMaxArtifactBytes: DEFAULT_LAMBDA_MAX_ARTIFACT_BYTES,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
