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

/** SageMaker Serverless Inference's largest container image, in GB. */
export const SERVERLESS_MAX_IMAGE_GB = 10;
/** The NVIDIA Triton images (the default serving image), which are larger than that. */
const TRITON_IMAGE = /\/sagemaker-tritonserver[:@]/;

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
    description: 'The registry model served; also the Triton model name in the package.',
  }),
  version: integerIn(1, 999_999_999).meta({
    description: 'The version whose package `sagemaker/{model}/{version}/model.tar.gz` is served (write it with `mlops package` before deploying).',
  }),
  variant: oneOf(ENDPOINT_VARIANTS)
    .default(DEFAULT_ENDPOINT.variant)
    .meta({ description: 'Instances with auto scaling and data capture, or Serverless Inference (CPU, scales by itself, no data capture).' }),
  image: stringMatching(ECR_IMAGE_URI, 'an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag"')
    .optional()
    .meta({ description: 'The serving container ([default image per region](gpu.md#the-default-image)).' }),
  instanceType: stringMatching(SAGEMAKER_INSTANCE_TYPE, 'a sagemaker instance type like "ml.g5.xlarge"')
    .default(DEFAULT_ENDPOINT.instanceType)
    .meta({ description: 'Instance type ([choices and cost](gpu.md#instance-choices-and-cost)).' }),
  initialInstanceCount: integerIn(1, 100)
    .default(DEFAULT_ENDPOINT.initialInstanceCount)
    .meta({ description: 'Instances at creation.' }),
  minInstances: integerIn(1, 100).default(DEFAULT_ENDPOINT.minInstances).meta({ description: 'Auto scaling floor (paid for all the time).' }),
  maxInstances: integerIn(1, 100).default(DEFAULT_ENDPOINT.maxInstances).meta({ description: 'Auto scaling ceiling.' }),
  targetInvocationsPerInstance: integerIn(1, 1_000_000)
    .default(DEFAULT_ENDPOINT.targetInvocationsPerInstance)
    .meta({ description: 'Target of the target-tracking policy, per instance per minute.' }),
  dataCapturePercent: integerIn(0, 100)
    .default(DEFAULT_ENDPOINT.dataCapturePercent)
    .meta({ description: 'Share of requests and responses captured to `data-capture/<name>/` in the artifact bucket; 0 turns capture off.' }),
  serverlessMemoryMb: z
    .literal(SERVERLESS_MEMORY_MB, { error: 'must be 1024, 2048, 3072, 4096, 5120 or 6144' })
    .default(DEFAULT_ENDPOINT.serverlessMemoryMb)
    .meta({ description: 'Memory of a serverless endpoint.' }),
  serverlessMaxConcurrency: integerIn(1, 200)
    .default(DEFAULT_ENDPOINT.serverlessMaxConcurrency)
    .meta({ description: 'Concurrent invocations of a serverless endpoint.' }),
}).superRefine((endpoint, ctx) => {
  // Serverless Inference takes images of at most 10 GB; the Triton images (the default) are larger.
  if (endpoint.variant === 'serverless' && (endpoint.image === undefined || TRITON_IMAGE.test(endpoint.image))) {
    addIssue(
      ctx,
      ['image'],
      `must be an image of at most ${SERVERLESS_MAX_IMAGE_GB} gb for variant "serverless": the triton images (the default) are larger than serverless inference allows`,
      endpoint.image,
    );
  }
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
    .meta({ description: 'The largest artifact `mlops register` accepts for the Lambda target (`ARTIFACT_TOO_LARGE_FOR_LAMBDA` above it, pointing to `--target sagemaker`); the stack output `LambdaMaxArtifactBytes`, which the CLI reads.' }),
  invokeTimeoutMs: integerIn(100, 60_000).default(3000).meta({ description: 'Longest wait for one InvokeEndpoint call (`504 ENDPOINT_TIMEOUT`). Env `SAGEMAKER_INVOKE_TIMEOUT_MS`.' }),
  maxThrottleRetries: integerIn(0, 5)
    .default(2)
    .meta({ description: 'More attempts of a throttled call before `429 ENDPOINT_THROTTLED`; nothing else is retried. Env `SAGEMAKER_MAX_THROTTLE_RETRIES`.' }),
  retryBaseDelayMs: integerIn(0, 5000).default(100).meta({ description: 'Backoff before retry n (from 0) is this × 2ⁿ. Env `SAGEMAKER_RETRY_BASE_DELAY_MS`.' }),
  circuitFailureThreshold: integerIn(1, 1000)
    .default(5)
    .meta({ description: 'Consecutive failures (5xx, timeouts, invalid answers) that open an endpoint\'s circuit in a container. Env `SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD`.' }),
  circuitOpenSeconds: integerIn(1, 3600)
    .default(30)
    .meta({ description: 'How long an open circuit answers `503 ENDPOINT_CIRCUIT_OPEN` before one trial call goes through. Env `SAGEMAKER_CIRCUIT_OPEN_SECONDS`.' }),
  alarms: strictObject({
    modelLatencyP95Ms: integerIn(1, 600_000).default(1000).meta({ description: 'Model latency p95 alarm threshold of every endpoint.' }),
    serverErrors: integerIn(1, 1_000_000).default(1).meta({ description: '`Invocation5XXErrors` per period at which an endpoint\'s 5xx alarm breaches.' }),
    gpuUtilizationPercent: numberIn(0, 800, true)
      .default(90)
      .meta({ description: 'GPU utilisation alarm threshold (instance endpoints).' }),
  })
    .prefault({})
    .meta({ description: 'Alarm thresholds of the endpoints (evaluated like the serving alarms).' }),
  endpoints: z
    .record(z.string(), sageMakerEndpointConfig, { error: 'must be an object of endpoints by name' })
    .default({})
    .meta({ description: 'One GpuEndpoint per key; the key is the endpoint name registry records name (`--endpoint`).' }),
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

/**
 * The production variant of an endpoint of this kind and instance type. The name follows the instance type because
 * SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered with Application Auto
 * Scaling: a new instance type is a new variant (the old one's scalable target is deregistered first, see
 * {@link scalingReleaseProperties}), while a new model or image keeps the name, and with it the scaled count.
 * `ml.g5.xlarge` → `ml-g5-xlarge`; a serverless variant (no instance type, no scalable target) is `serverless`.
 */
export function endpointVariantName(kind: EndpointVariantKind, instanceType: string): string {
  return kind === 'serverless' ? 'serverless' : instanceType.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 63);
}

/**
 * The properties of the `Custom::EndpointScalingRelease` resource of each endpoint (lib/constructs/gpu-endpoint.ts
 * sets them; lambdas/endpoint-scaling parses them): before CloudFormation updates the endpoint, every scalable target
 * of the endpoint's variants other than `VariantName` is deregistered.
 */
export const scalingReleaseProperties = z.object({
  EndpointName: z.string().regex(SAGEMAKER_ENDPOINT_NAME),
  VariantName: z.string().regex(/^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/),
});
export type ScalingReleaseProperties = z.output<typeof scalingReleaseProperties>;
