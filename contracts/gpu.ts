/** The GPU path: SageMaker real-time endpoints for models too big for the Lambda or needing a GPU (`sagemakerServing` block). */
import { SAGEMAKER_ENDPOINT_NAME } from './observability.ts';
import { ECR_IMAGE_URI, SAGEMAKER_INSTANCE_TYPE } from './pipeline.ts';
import { MODEL_NAME } from './registry.ts';
import * as z from 'zod';
import { addIssue, integerIn, numberIn, oneOf, stringMatching, strictObject } from './schema.ts';

/** How an endpoint runs: on instances (GPU by default) with auto scaling, or on SageMaker Serverless Inference (CPU). */
export const ENDPOINT_VARIANTS = ['instance', 'serverless'] as const;
export type EndpointVariantKind = (typeof ENDPOINT_VARIANTS)[number];

const SERVERLESS_MEMORY_MB = [1024, 2048, 3072, 4096, 5120, 6144] as const;

/** The defaults of each endpoint; only `model` and `version` must be given. */
export const DEFAULT_ENDPOINT = {
  variant: 'instance',
  instanceType: 'ml.g5.xlarge',
  initialInstanceCount: 1,
  minInstances: 1,
  maxInstances: 2,
  targetInvocationsPerInstance: 100,
  dataCapturePercent: 10,
  serverlessMemoryMb: 4096,
  serverlessMaxConcurrency: 10,
} as const;

/** One SageMaker real-time endpoint serving one packaged model version. */
export const sageMakerEndpointConfig = strictObject({
  model: stringMatching(MODEL_NAME, `a model name matching ${MODEL_NAME.source}`).meta({
    description: 'The registry model the endpoint serves (also the Triton model name inside the package).',
  }),
  version: integerIn(1, 999_999_999).meta({
    description: 'The version whose package (`sagemaker/{model}/{version}/model.tar.gz`, written by `mlops package`) it serves.',
  }),
  variant: oneOf(ENDPOINT_VARIANTS)
    .default(DEFAULT_ENDPOINT.variant)
    .meta({ description: '`instance`: real-time instances with auto scaling; `serverless`: Serverless Inference for CPU models with spiky traffic.' }),
  image: stringMatching(ECR_IMAGE_URI, 'an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"')
    .optional()
    .meta({ description: "ECR image URI of the serving container (default: NVIDIA Triton Inference Server 24.09 of the stack's region)." }),
  instanceType: stringMatching(SAGEMAKER_INSTANCE_TYPE, 'a sagemaker instance type like "ml.g5.xlarge"')
    .default(DEFAULT_ENDPOINT.instanceType)
    .meta({ description: 'Instance type (variant `instance`).' }),
  initialInstanceCount: integerIn(1, 100)
    .default(DEFAULT_ENDPOINT.initialInstanceCount)
    .meta({ description: 'Instances at creation (variant `instance`), from `minInstances` to `maxInstances`.' }),
  minInstances: integerIn(1, 100).default(DEFAULT_ENDPOINT.minInstances).meta({ description: 'Fewest instances auto scaling keeps (variant `instance`).' }),
  maxInstances: integerIn(1, 100).default(DEFAULT_ENDPOINT.maxInstances).meta({ description: 'Most instances auto scaling adds (variant `instance`).' }),
  targetInvocationsPerInstance: integerIn(1, 1_000_000)
    .default(DEFAULT_ENDPOINT.targetInvocationsPerInstance)
    .meta({ description: 'Target of the target-tracking policy: invocations per instance per minute (variant `instance`).' }),
  dataCapturePercent: integerIn(0, 100)
    .default(DEFAULT_ENDPOINT.dataCapturePercent)
    .meta({ description: 'Percent of requests and responses captured to S3 under `data-capture/{endpoint}/` (0 turns capture off; variant `instance`).' }),
  serverlessMemoryMb: z
    .literal(SERVERLESS_MEMORY_MB, { error: 'must be 1024, 2048, 3072, 4096, 5120 or 6144' })
    .default(DEFAULT_ENDPOINT.serverlessMemoryMb)
    .meta({ description: 'Memory of a serverless endpoint in MB (variant `serverless`).' }),
  serverlessMaxConcurrency: integerIn(1, 200)
    .default(DEFAULT_ENDPOINT.serverlessMaxConcurrency)
    .meta({ description: 'Concurrent invocations of a serverless endpoint (variant `serverless`).' }),
}).superRefine((endpoint, ctx) => {
  if (endpoint.maxInstances < endpoint.minInstances) {
    addIssue(ctx, ['maxInstances'], `must be an integer from ${endpoint.minInstances} to 100`, endpoint.maxInstances);
  } else if (endpoint.initialInstanceCount < endpoint.minInstances || endpoint.initialInstanceCount > endpoint.maxInstances) {
    addIssue(ctx, ['initialInstanceCount'], `must be an integer from ${endpoint.minInstances} to ${endpoint.maxInstances}`, endpoint.initialInstanceCount);
  }
});

/** The `sagemakerServing` block. */
export const sageMakerServingConfig = strictObject({
  lambdaMaxArtifactBytes: integerIn(1, 10_737_418_240)
    .default(268_435_456)
    .meta({ description: 'Largest artifact `mlops register` accepts for the Lambda target, in bytes; larger ones must target `sagemaker`.' }),
  invokeTimeoutMs: integerIn(100, 60_000).default(3000).meta({ description: 'Longest wait of the predict function for one InvokeEndpoint call, in milliseconds.' }),
  maxThrottleRetries: integerIn(0, 5)
    .default(2)
    .meta({ description: 'Retries of a throttled InvokeEndpoint call (exponential backoff); other failures are not retried.' }),
  retryBaseDelayMs: integerIn(0, 5000).default(100).meta({ description: 'Backoff before the first retry, in milliseconds (doubled for each next one).' }),
  circuitFailureThreshold: integerIn(1, 1000)
    .default(5)
    .meta({ description: "Consecutive failed calls (5xx, timeouts, invalid answers) that open an endpoint's circuit." }),
  circuitOpenSeconds: integerIn(1, 3600)
    .default(30)
    .meta({ description: 'Seconds an open circuit answers `ENDPOINT_CIRCUIT_OPEN` before it lets a trial call through.' }),
  alarms: strictObject({
    modelLatencyP95Ms: integerIn(1, 600_000).default(1000).meta({ description: 'Model latency p95 above which the latency alarm breaches, in milliseconds.' }),
    serverErrors: integerIn(1, 1_000_000).default(1).meta({ description: '`Invocation5XXErrors` per period at which the 5xx alarm breaches.' }),
    gpuUtilizationPercent: numberIn(0, 800, true)
      .default(90)
      .meta({ description: 'Average GPU utilisation in percent (per GPU summed, as SageMaker reports it) above which the GPU alarm breaches.' }),
  })
    .prefault({})
    .meta({ description: 'Alarm thresholds of the endpoints (evaluated like the serving alarms).' }),
  endpoints: z
    .record(z.string(), sageMakerEndpointConfig, { error: 'must be an object of endpoints by name' })
    .default({})
    .meta({ description: 'The endpoints to create, by endpoint name (what `mlops register --target sagemaker --endpoint NAME` names).' }),
}).superRefine((serving, ctx) => {
  const lowerCase = new Set<string>();
  for (const name of Object.keys(serving.endpoints)) {
    if (!SAGEMAKER_ENDPOINT_NAME.test(name)) {
      addIssue(ctx, ['endpoints'], 'must have sagemaker endpoint names (letters, digits and dashes, 1 to 63)', name);
    } else if (lowerCase.has(name.toLowerCase())) {
      // SageMaker ARNs spell endpoint names in lower case: two names differing only in case would share one ARN.
      addIssue(ctx, ['endpoints'], 'must have endpoint names that differ in more than case', name);
    }
    lowerCase.add(name.toLowerCase());
  }
});

/** The worst case of one predict call to an endpoint: every attempt times out, with the backoffs between them. */
export function worstCaseInvokeMs(serving: Pick<SageMakerServingConfig, 'invokeTimeoutMs' | 'maxThrottleRetries' | 'retryBaseDelayMs'>): number {
  return serving.invokeTimeoutMs * (serving.maxThrottleRetries + 1) + serving.retryBaseDelayMs * (2 ** serving.maxThrottleRetries - 1);
}

export type SageMakerEndpointConfig = z.output<typeof sageMakerEndpointConfig>;
export type EndpointAlarmsConfig = z.output<typeof sageMakerServingConfig>['alarms'];
export type SageMakerServingConfig = z.output<typeof sageMakerServingConfig>;
