import { ArnFormat, Aws, CfnMapping, CustomResource, Duration, Fn, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PredefinedMetric, ScalableTarget, ServiceNamespace } from 'aws-cdk-lib/aws-applicationautoscaling';
import { Alarm, ComparisonOperator, Metric, Stats, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Effect, Grant, type IGrantable, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { CfnEndpoint, CfnEndpointConfig, CfnModel } from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { endpointVariantName } from '#contracts/gpu.ts';
import { ECR_IMAGE_URI, type EndpointVariantKind, type LambdaArchitecture } from '../config.ts';
import { ENDPOINT_SCALING_SERVICE_NAME, ENV } from './environment.ts';
import { nagArnOf } from './logical-id.ts';
import { MlopsFunction, retentionDays } from './mlops-function.ts';

/** Entry of the function behind the endpoints' `Custom::EndpointScalingRelease` resources. */
export const ENDPOINT_SCALING_ENTRY = 'lambdas/endpoint-scaling/handler.ts';

/** Construct id, at the stack level, of the one scaling-release function every endpoint of the stack shares. */
const SCALING_RELEASE_ID = 'EndpointScalingRelease';

/** Key prefix of the SageMaker packages in the artifact bucket (`mlops package` writes `{prefix}{model}/{version}/model.tar.gz`). */
export const SAGEMAKER_PACKAGE_PREFIX = 'sagemaker/';

/** Key prefix of the endpoints' data capture in the artifact bucket. */
export const DATA_CAPTURE_PREFIX = 'data-capture/';

/** The NVIDIA Triton Inference Server image of SageMaker (sagemaker-python-sdk `image_uri_config/sagemaker-tritonserver.json`). */
export const TRITON_REPOSITORY = 'sagemaker-tritonserver';
export const TRITON_TAG = '24.09-py3';

/**
 * SageMaker Serverless Inference's largest container image (10 GB); the Triton images are larger, so a serverless
 * endpoint needs an image of its own (a CPU-only ONNX Runtime server).
 */
export const SERVERLESS_MAX_IMAGE_GB = 10;

/** Why a serverless endpoint cannot use `image` (undefined: it may). */
export function serverlessImageProblem(image: string | undefined): string | undefined {
  if (image === undefined) {
    return `the default triton image (${TRITON_REPOSITORY}:${TRITON_TAG}) is larger than serverless inference's ${SERVERLESS_MAX_IMAGE_GB} gb image limit: set an image of at most ${SERVERLESS_MAX_IMAGE_GB} gb`;
  }
  if (image.includes(`/${TRITON_REPOSITORY}:`) || image.includes(`/${TRITON_REPOSITORY}@`)) {
    return `triton images (${TRITON_REPOSITORY}) are larger than serverless inference's ${SERVERLESS_MAX_IMAGE_GB} gb image limit: use an image of at most ${SERVERLESS_MAX_IMAGE_GB} gb`;
  }
  return undefined;
}

/**
 * What a first deploy of an instance endpoint needs from the account: new accounts often have a quota of 0 for GPU
 * instance types, and CloudFormation then fails with a bare ResourceLimitExceeded.
 */
export function endpointQuotaMessage(instanceType: string, instances: number): string {
  return (
    `needs a service quota of at least ${instances} for "${instanceType} for endpoint usage" (Service Quotas > Amazon SageMaker; ` +
    `new accounts often have 0 for ${instanceType.startsWith('ml.g') || instanceType.startsWith('ml.p') ? 'gpu' : 'some'} instance types): ` +
    `aws service-quotas list-service-quotas --service-code sagemaker --query "Quotas[?QuotaName=='${instanceType} for endpoint usage']"`
  );
}

/** The account that hosts the Triton image in each region (docs/gpu.md lists the resulting URIs). */
export const TRITON_IMAGE_ACCOUNTS: Readonly<Record<string, string>> = {
  'af-south-1': '626614931356',
  'ap-east-1': '871362719292',
  'ap-northeast-1': '763104351884',
  'ap-northeast-2': '763104351884',
  'ap-northeast-3': '364406365360',
  'ap-south-1': '763104351884',
  'ap-southeast-1': '763104351884',
  'ap-southeast-2': '763104351884',
  'ap-southeast-3': '907027046896',
  'ca-central-1': '763104351884',
  'ca-west-1': '204538143572',
  'cn-north-1': '727897471807',
  'cn-northwest-1': '727897471807',
  'eu-central-1': '763104351884',
  'eu-north-1': '763104351884',
  'eu-south-1': '692866216735',
  'eu-west-1': '763104351884',
  'eu-west-2': '763104351884',
  'eu-west-3': '763104351884',
  'il-central-1': '780543022126',
  'me-south-1': '217643126080',
  'sa-east-1': '763104351884',
  'us-east-1': '763104351884',
  'us-east-2': '763104351884',
  'us-west-1': '763104351884',
  'us-west-2': '763104351884',
};

export interface GpuEndpointProps {
  /** Name of the SageMaker endpoint: what version records name in their `sagemaker` serving target. */
  readonly endpointName: string;
  /** The registry model served: the Triton model name inside the package, and part of the package key. */
  readonly modelName: string;
  /** The version whose package (`sagemaker/{model}/{version}/model.tar.gz`) is served. */
  readonly modelVersion: number;
  /** The artifact bucket: the package is read from it and data capture is written to it. */
  readonly artifactBucket: IBucket;
  /**
   * ECR image URI of the serving container.
   * @default - NVIDIA Triton Inference Server 24.09 of the stack's region, looked up at deploy time from {@link TRITON_IMAGE_ACCOUNTS}
   */
  readonly image?: string | undefined;
  /**
   * `instance`: real-time instances with target-tracking auto scaling; `serverless`: SageMaker Serverless Inference
   * (CPU only, no data capture, scales by itself up to its concurrency).
   * @default "instance"
   */
  readonly variant?: EndpointVariantKind;
  /**
   * Instance type of the `instance` variant.
   * @default "ml.g5.xlarge"
   */
  readonly instanceType?: string;
  /**
   * Instances at creation.
   * @default 1
   */
  readonly initialInstanceCount?: number;
  /**
   * Fewest instances auto scaling keeps.
   * @default 1
   */
  readonly minInstances?: number;
  /**
   * Most instances auto scaling adds.
   * @default 2
   */
  readonly maxInstances?: number;
  /**
   * Target invocations per instance per minute of the target-tracking policy.
   * @default 100
   */
  readonly targetInvocationsPerInstance?: number;
  /**
   * Percent of requests and responses captured to `data-capture/{endpoint}/` (0: off). Ignored by the serverless variant.
   * @default 10
   */
  readonly dataCapturePercent?: number;
  /**
   * Memory of the serverless variant in MB.
   * @default 4096
   */
  readonly serverlessMemoryMb?: number;
  /**
   * Concurrent invocations of the serverless variant.
   * @default 10
   */
  readonly serverlessMaxConcurrency?: number;
  /**
   * `ModelLatency` p95 above which the latency alarm breaches, in milliseconds.
   * @default 1000
   */
  readonly modelLatencyP95Ms?: number;
  /**
   * `Invocation5XXErrors` per period at which the 5xx alarm breaches.
   * @default 1
   */
  readonly serverErrors?: number;
  /**
   * Average `GPUUtilization` (percent) above which the GPU alarm breaches (instance variant only).
   * @default 90
   */
  readonly gpuUtilizationPercent?: number;
  /**
   * Period of the alarms.
   * @default Duration.minutes(1)
   */
  readonly alarmPeriod?: Duration;
  /**
   * Periods the alarms look at.
   * @default 5
   */
  readonly evaluationPeriods?: number;
  /**
   * Breaching periods among {@link evaluationPeriods} that put an alarm in ALARM.
   * @default 3
   */
  readonly datapointsToAlarm?: number;
  /**
   * Prefix of the alarm names.
   * @default - the endpoint name
   */
  readonly alarmNamePrefix?: string;
  /**
   * The `environment` metric dimension of the scaling-release function (the platform's `appName`).
   * @default - the stack's name
   */
  readonly environmentName?: string;
  /**
   * Architecture of the scaling-release function (one per stack, created with the stack's first endpoint).
   * @default "x86_64"
   */
  readonly lambdaArchitecture?: LambdaArchitecture;
  /**
   * Log retention, in days, of the endpoint's log group and of the scaling-release function's.
   * @default 30
   */
  readonly logRetentionDays?: number;
  /**
   * Removal policy of the scaling-release function's log group (the endpoint's, of a fixed name, is always deleted).
   * @default RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Share of the instances (percent) the blue/green update shifts to the new fleet first (instance variant).
   * @default 10
   */
  readonly canaryPercent?: number;
  /**
   * How long the canary fleet bakes, and the full fleet after it, before the old fleet goes (instance variant).
   * @default Duration.minutes(10)
   */
  readonly bakeTime?: Duration;
}

/**
 * One SageMaker real-time endpoint serving one packaged model version: the model (container image + the package
 * in S3, with an execution role that can read only that package, write its data capture and its logs, and pull its
 * image), the endpoint config (GPU instances with data capture, or Serverless Inference), the endpoint, auto scaling
 * by target tracking on invocations per instance, and alarms on model latency, 5xx and GPU utilisation (the
 * Observability construct routes them to the notification topic and shows them on the dashboard).
 */
export class GpuEndpoint extends Construct {
  public readonly endpointName: string;
  /**
   * The one production variant (one model per endpoint), named after its instance type (`ml-g5-xlarge`; `serverless`):
   * a change of instance type is a new variant, a change of model or image keeps it (see `endpointVariantName`).
   */
  public readonly variantName: string;
  public readonly variant: EndpointVariantKind;
  /** `arn:...:endpoint/{name}` (SageMaker spells endpoint names in lower case in ARNs). */
  public readonly endpointArn: string;
  public readonly endpoint: CfnEndpoint;
  public readonly endpointConfig: CfnEndpointConfig;
  public readonly model: CfnModel;
  /** The execution role of the model. */
  public readonly role: Role;
  /** Instance auto scaling (instance variant only). */
  public readonly scalableTarget: ScalableTarget | undefined;
  /** `ModelLatency` p95 above the threshold. */
  public readonly latencyAlarm: Alarm;
  /** `Invocation5XXErrors` at or above the threshold. */
  public readonly serverErrorAlarm: Alarm;
  /** `GPUUtilization` above the threshold (instance variant only). */
  public readonly gpuUtilizationAlarm: Alarm | undefined;
  /** Every alarm of the endpoint. */
  public readonly alarms: readonly Alarm[];
  /**
   * `Custom::EndpointScalingRelease`: runs before every create and update of the endpoint and deregisters the scalable
   * targets of its other variants, which SageMaker requires before an update replaces an autoscaled variant.
   */
  public readonly scalingRelease: CustomResource;
  /** The account quota an instance endpoint needs (a stack output and docs/gpu.md say it before the deploy fails). */
  public readonly quotaMessage: string | undefined;

  public constructor(scope: Construct, id: string, props: GpuEndpointProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.endpointName = props.endpointName;
    this.variant = props.variant ?? 'instance';
    const isInstance = this.variant === 'instance';
    this.variantName = endpointVariantName(this.variant, props.instanceType ?? 'ml.g5.xlarge');
    const imageProblem = isInstance ? undefined : serverlessImageProblem(props.image);
    if (imageProblem !== undefined) throw new Error(`endpoint ${props.endpointName} is serverless, and ${imageProblem}`);
    this.quotaMessage = isInstance ? `endpoint ${props.endpointName} ${endpointQuotaMessage(props.instanceType ?? 'ml.g5.xlarge', props.maxInstances ?? 2)}` : undefined;
    const packageKey = `${SAGEMAKER_PACKAGE_PREFIX}${props.modelName}/${props.modelVersion}/model.tar.gz`;
    const capturePrefix = `${DATA_CAPTURE_PREFIX}${props.endpointName}/`;
    const capturePercent = isInstance ? (props.dataCapturePercent ?? 10) : 0;

    this.role = new Role(this, 'ExecutionRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: `Execution role of SageMaker endpoint ${props.endpointName}`,
    });
    // Explicit statements rather than grantRead/grantPut: the one package object, and the capture prefix only.
    this.role.addToPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [props.artifactBucket.arnForObjects(packageKey)] }),
    );
    if (capturePercent > 0) {
      this.role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['s3:PutObject'],
          resources: [props.artifactBucket.arnForObjects(`${capturePrefix}*`)],
        }),
      );
    }
    const logs = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `/aws/sagemaker/Endpoints/${props.endpointName}:*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [logs],
      }),
    );
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    const image = this.imageAndRepository(props.image);
    this.role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
        resources: [image.repositoryArn],
      }),
    );
    this.role.addToPolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
    this.acknowledgeRoleFindings(props, capturePercent > 0 ? capturePrefix : undefined);

    this.model = new CfnModel(this, 'Model', {
      executionRoleArn: this.role.roleArn,
      primaryContainer: {
        image: image.uri,
        modelDataUrl: `s3://${props.artifactBucket.bucketName}/${packageKey}`,
        environment: {
          // Triton serves the one model of the package at every InvokeEndpoint call.
          SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: props.modelName,
        },
      },
    });
    // The role's policy must exist before SageMaker validates the model (it reads the package and pulls the image).
    this.model.node.addDependency(this.role);

    const variant: CfnEndpointConfig.ProductionVariantProperty = isInstance
      ? {
          variantName: this.variantName,
          modelName: this.model.attrModelName,
          instanceType: props.instanceType ?? 'ml.g5.xlarge',
          initialInstanceCount: props.initialInstanceCount ?? 1,
          initialVariantWeight: 1,
        }
      : {
          variantName: this.variantName,
          modelName: this.model.attrModelName,
          serverlessConfig: {
            memorySizeInMb: props.serverlessMemoryMb ?? 4096,
            maxConcurrency: props.serverlessMaxConcurrency ?? 10,
          },
        };
    this.endpointConfig = new CfnEndpointConfig(this, 'EndpointConfig', {
      productionVariants: [variant],
      ...(capturePercent > 0
        ? {
            dataCaptureConfig: {
              enableCapture: true,
              initialSamplingPercentage: capturePercent,
              destinationS3Uri: `s3://${props.artifactBucket.bucketName}/${capturePrefix}`,
              captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
              captureContentTypeHeader: { jsonContentTypes: ['application/json'] },
            },
          }
        : {}),
    });
    // Alarm names are fixed strings: the endpoint's blue/green rollback reads them, and the alarms read the endpoint's
    // metrics by name, so neither references the other.
    const prefix = props.alarmNamePrefix ?? props.endpointName;
    const alarmNames = { latency: `${prefix}-model-latency-p95`, serverErrors: `${prefix}-5xx`, gpu: `${prefix}-gpu-utilization` };
    const bake = (props.bakeTime ?? Duration.minutes(10)).toSeconds();
    // The endpoint's instances write to `/aws/sagemaker/Endpoints/{name}` and SageMaker would create it without
    // retention. Created here first (the endpoint waits for it), with the configured retention. Deleted with the
    // stack whatever `logRemovalPolicy` says: its name is fixed, and a retained group would fail the next create.
    const logGroup = new LogGroup(this, 'EndpointLogs', {
      logGroupName: `/aws/sagemaker/Endpoints/${props.endpointName}`,
      retention: retentionDays(props.logRetentionDays ?? 30),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.endpoint = new CfnEndpoint(this, 'Endpoint', {
      endpointName: props.endpointName,
      endpointConfigName: this.endpointConfig.attrEndpointConfigName,
      ...(isInstance
        ? {
            // Updates go through SageMaker's deployment guardrails: a canary share of the new fleet first, rolled back
            // when an endpoint alarm fires. A variant of the same name (same instance type: a new model or image)
            // keeps the instance count auto scaling reached; a new instance type is a new variant, which starts at the
            // config's initial count (docs/gpu.md#changing-the-instance-type).
            deploymentConfig: {
              blueGreenUpdatePolicy: {
                trafficRoutingConfiguration: {
                  type: 'CANARY',
                  canarySize: { type: 'CAPACITY_PERCENT', value: props.canaryPercent ?? 10 },
                  waitIntervalInSeconds: bake,
                },
                terminationWaitInSeconds: bake,
                maximumExecutionTimeoutInSeconds: Math.max(3600, 4 * bake + 1800),
              },
              autoRollbackConfiguration: { alarms: [{ alarmName: alarmNames.latency }, { alarmName: alarmNames.serverErrors }] },
            },
            retainAllVariantProperties: true,
            excludeRetainedVariantProperties: [{ variantPropertyType: 'DataCaptureConfig' }],
          }
        : {}),
    });
    this.endpoint.node.addDependency(logGroup);
    this.scalingRelease = this.releaseScalingBeforeUpdates(props);
    this.endpointArn = stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: props.endpointName.toLowerCase() });

    if (isInstance) {
      const minInstances = props.minInstances ?? 1;
      // Application Auto Scaling's service-linked role for SageMaker (created by the first RegisterScalableTarget of the
      // account): it holds exactly the SageMaker and CloudWatch permissions scaling needs; a role of ours would not.
      const scalingRole = Role.fromRoleArn(
        this,
        'ScalingRole',
        stack.formatArn({
          service: 'iam',
          region: '',
          resource: 'role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com',
          resourceName: 'AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint',
        }),
      );
      this.scalableTarget = new ScalableTarget(this, 'ScalableTarget', {
        serviceNamespace: ServiceNamespace.SAGEMAKER,
        role: scalingRole,
        resourceId: `endpoint/${props.endpointName}/variant/${this.variantName}`,
        scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
        minCapacity: minInstances,
        maxCapacity: Math.max(minInstances, props.maxInstances ?? 2),
      });
      this.scalableTarget.node.addDependency(this.endpoint);
      this.scalableTarget.scaleToTrackMetric('InvocationsPerInstance', {
        predefinedMetric: PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
        targetValue: props.targetInvocationsPerInstance ?? 100,
        // Out fast (a GPU instance takes minutes to come up), in slowly (so a lull does not remove warm capacity).
        scaleOutCooldown: Duration.minutes(1),
        scaleInCooldown: Duration.minutes(10),
      });
    }

    // --- alarms ---------------------------------------------------------------------------------------------------
    const period = props.alarmPeriod ?? Duration.minutes(1);
    const evaluation = {
      evaluationPeriods: props.evaluationPeriods ?? 5,
      datapointsToAlarm: props.datapointsToAlarm ?? 3,
      // No traffic is not an outage: SageMaker emits nothing without invocations.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    const latencyMs = props.modelLatencyP95Ms ?? 1000;
    this.latencyAlarm = new Alarm(this, 'ModelLatencyAlarm', {
      alarmName: alarmNames.latency,
      alarmDescription: `SageMaker endpoint ${props.endpointName}: model latency p95 above ${latencyMs} ms (runbook: docs/gpu.md#alarms)`,
      // ModelLatency is in microseconds.
      metric: this.metric('AWS/SageMaker', 'ModelLatency', Stats.p(95), period),
      threshold: latencyMs * 1000,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...evaluation,
    });
    const serverErrors = props.serverErrors ?? 1;
    this.serverErrorAlarm = new Alarm(this, 'ServerErrorAlarm', {
      alarmName: alarmNames.serverErrors,
      alarmDescription: `SageMaker endpoint ${props.endpointName}: ${serverErrors} or more 5xx invocation errors per period (runbook: docs/gpu.md#alarms)`,
      metric: this.metric('AWS/SageMaker', 'Invocation5XXErrors', Stats.SUM, period),
      threshold: serverErrors,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...evaluation,
    });
    if (isInstance) {
      const gpuPercent = props.gpuUtilizationPercent ?? 90;
      this.gpuUtilizationAlarm = new Alarm(this, 'GpuUtilizationAlarm', {
        alarmName: alarmNames.gpu,
        alarmDescription: `SageMaker endpoint ${props.endpointName}: GPU utilisation above ${gpuPercent} % (saturated: raise maxInstances or the instance size; runbook: docs/gpu.md#alarms)`,
        metric: this.metric('/aws/sagemaker/Endpoints', 'GPUUtilization', Stats.AVERAGE, period),
        threshold: gpuPercent,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...evaluation,
      });
    }
    this.alarms = [this.latencyAlarm, this.serverErrorAlarm, ...(this.gpuUtilizationAlarm === undefined ? [] : [this.gpuUtilizationAlarm])];
  }

  /** A metric of the endpoint's variant (`AWS/SageMaker` invocation metrics, `/aws/sagemaker/Endpoints` instance metrics). */
  public metric(namespace: string, metricName: string, statistic: string, period: Duration = Duration.minutes(5)): Metric {
    return new Metric({
      namespace,
      metricName,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variantName },
      statistic,
      period,
      label: `${metricName} ${statistic}`,
    });
  }

  /** Allows `sagemaker:InvokeEndpoint` on this endpoint only. */
  public grantInvoke(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({ grantee, actions: ['sagemaker:InvokeEndpoint'], resourceArns: [this.endpointArn] });
  }

  /**
   * The endpoint's `Custom::EndpointScalingRelease`, which the endpoint depends on: CloudFormation updates it (its
   * `VariantName` changed with the instance type) before it updates the endpoint, so the old variant's scalable target
   * is gone when UpdateEndpoint replaces that variant. The replaced ScalableTarget resource itself is removed only in
   * the cleanup phase, after the update, which is too late (and then finds it already deregistered). On a rollback,
   * CloudFormation updates it back to the old variant name first, which releases the new variant's target before the
   * endpoint goes back.
   */
  private releaseScalingBeforeUpdates(props: GpuEndpointProps): CustomResource {
    const release = new CustomResource(this, 'ScalingRelease', {
      serviceToken: this.scalingReleaseFunction(props).functionArn,
      resourceType: 'Custom::EndpointScalingRelease',
      properties: { EndpointName: props.endpointName, VariantName: this.variantName },
      // Application Auto Scaling answers in seconds; a stuck call fails the update in minutes, not CloudFormation's hour.
      serviceTimeout: Duration.minutes(5),
    });
    this.endpoint.node.addDependency(release);
    return release;
  }

  /** The stack's one scaling-release function, created with its first endpoint. */
  private scalingReleaseFunction(props: GpuEndpointProps): MlopsFunction {
    const stack = Stack.of(this);
    const existing = stack.node.tryFindChild(SCALING_RELEASE_ID)?.node.tryFindChild('Function');
    if (existing instanceof MlopsFunction) return existing;
    const scope = new Construct(stack, SCALING_RELEASE_ID);
    const fn = new MlopsFunction(scope, 'Function', {
      entry: ENDPOINT_SCALING_ENTRY,
      description: "Serverless MLOps: deregisters a SageMaker endpoint's replaced variants from auto scaling before CloudFormation updates it",
      serviceName: ENDPOINT_SCALING_SERVICE_NAME,
      architecture: props.lambdaArchitecture ?? 'x86_64',
      memorySize: 256,
      timeout: Duration.minutes(1),
      logRetentionDays: props.logRetentionDays ?? 30,
      logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      environment: { [ENV.MLOPS_ENVIRONMENT]: props.environmentName ?? stack.stackName },
    });
    fn.grantOnAnyResource(
      'DescribeScalableTargetsPolicy',
      ['application-autoscaling:DescribeScalableTargets'],
      'application-autoscaling:DescribeScalableTargets has no resource-level permissions: it lists the SageMaker targets to find the endpoint\'s variants.',
    );
    // Scalable target ARNs end in an id Application Auto Scaling generates (not the endpoint or variant name), so the
    // grant cannot name one endpoint's targets: the function deregisters only those of the endpoint it is given.
    const targets = stack.formatArn({ service: 'application-autoscaling', resource: 'scalable-target', resourceName: '*' });
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['application-autoscaling:DeregisterScalableTarget'], resources: [targets] }));
    if (fn.role !== undefined) {
      Validations.of(fn.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:application-autoscaling:<AWS::Region>:<AWS::AccountId>:scalable-target/*]',
        reason: 'Scalable target ARNs end in an id Application Auto Scaling generates, so DeregisterScalableTarget cannot be granted per endpoint; the function deregisters only the variants of the endpoint its custom resource names.',
      });
    }
    return fn;
  }

  /** The image URI and the ARN of its ECR repository (for the pull permissions). */
  private imageAndRepository(image: string | undefined): { uri: string; repositoryArn: string } {
    const stack = Stack.of(this);
    if (image !== undefined) {
      const match = ECR_IMAGE_URI.exec(image);
      if (match === null) throw new Error(`image must be an ecr image uri, got ${image}`);
      const [, account, region, repository] = match;
      return { uri: image, repositoryArn: `arn:${stack.partition}:ecr:${region}:${account}:repository/${repository}` };
    }
    // One mapping per stack; the stack's region picks the account at deploy time (the stack may be region-agnostic).
    const mappingId = 'TritonImageAccounts';
    const mapping =
      (stack.node.tryFindChild(mappingId) as CfnMapping | undefined) ??
      new CfnMapping(stack, mappingId, {
        mapping: Object.fromEntries(Object.entries(TRITON_IMAGE_ACCOUNTS).map(([region, account]) => [region, { account }])),
      });
    const account = mapping.findInMap(Aws.REGION, 'account');
    return {
      uri: Fn.join('', [account, '.dkr.ecr.', Aws.REGION, '.', Aws.URL_SUFFIX, `/${TRITON_REPOSITORY}:${TRITON_TAG}`]),
      repositoryArn: Fn.join('', ['arn:', Aws.PARTITION, ':ecr:', Aws.REGION, ':', account, `:repository/${TRITON_REPOSITORY}`]),
    };
  }

  private acknowledgeRoleFindings(props: GpuEndpointProps, capturePrefix: string | undefined): void {
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData (limited by condition to the /aws/sagemaker/* namespaces) and ecr:GetAuthorizationToken only accept Resource "*".',
    });
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/${props.endpointName}:*]`,
      reason: `SageMaker writes each instance of endpoint ${props.endpointName} to its own stream of the endpoint's log group.`,
    });
    const nagBucketArn = nagArnOf(Stack.of(this).resolve(props.artifactBucket.bucketArn));
    if (capturePrefix !== undefined && nagBucketArn !== undefined) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${capturePrefix}*]`,
        reason: `Data capture writes one object per captured batch under ${capturePrefix}; SageMaker makes the keys.`,
      });
    }
  }
}
