import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, GraphWidget, type IWidget, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { Bucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { MlopsConfig } from '../config.ts';
import { BATCH_SCORING_SERVICE_NAME, ENV, METRICS_NAMESPACE } from './environment.ts';
import { stateMachineLogGroup } from './log-groups.ts';
import { MlopsFunction, PROJECT_ROOT } from './mlops-function.ts';
import { ONNX_RUNTIME_MODULES } from './onnx-runtime-layer.ts';
import { BATCH_METRICS } from '#contracts/metrics.ts';
import { nagArnOf } from './logical-id.ts';
import { type IModelRegistry, privateBucketProps } from './model-store.ts';

/** Entry of the batch scoring Lambda (every Lambda task of the batch state machine), relative to the repository root. */
export const BATCH_SCORING_ENTRY = 'lambdas/batch-scoring/handler.ts';
/** The batch state machine's definition, relative to the repository root. */
export const BATCH_SCORING_ASL = 'step-functions/batch-scoring.asl.json';
/** The `${...}` placeholders of the ASL file, all filled by `definitionSubstitutions`. */
export const BATCH_SUBSTITUTION_KEYS = ['BatchFunctionArn', 'NotificationTopicArn', 'EventBusName', 'TransformInstanceType'] as const;
/** The managed rule Step Functions creates for `sagemaker:createTransformJob.sync`. */
export const SAGEMAKER_TRANSFORM_SYNC_RULE_NAME = 'StepFunctionsGetEventsForSageMakerTransformJobsRule';
/** Source of the `BatchScoringSucceeded` / `BatchScoringFailed` events. */
export const BATCH_EVENT_SOURCE = 'serverless-mlops.batch';

export interface BatchScoringProps {
  readonly config: MlopsConfig;
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  /** Where registered artifacts are (read under `models/`). */
  readonly artifactBucket: IBucket;
  /** The ONNX Runtime layer shared with the inference API: batches are scored by the same runtime. */
  readonly onnxLayer: ILayerVersion;
  /** Where job outcomes and the alarm notify (the pipeline's topic). */
  readonly topic: ITopic;
  /** The topic's key, when the topic was created with one. @default - the topic is not encrypted with a key of the stack */
  readonly topicKey?: IKey;
  /** The batch bucket (the data stack's {@link BatchStore}): jobs read their input and write their output there. */
  readonly bucket: IBucket;
}

export interface BatchStoreProps {
  /** Server access logs of the batch bucket go here. */
  readonly accessLogsBucket: IBucket;
  /**
   * Whether the bucket and its objects go with the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * Where batch jobs' inputs and outputs stay: the batch bucket (SSE-S3, TLS only, access-logged). It lives in the data
 * stack: a job's output is the user's data, and outlives a redeploy or a teardown of the serving stack.
 */
export class BatchStore extends Construct {
  public readonly bucket: Bucket;

  public constructor(scope: Construct, id: string, props: BatchStoreProps) {
    super(scope, id);
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    this.bucket = new Bucket(this, 'BatchBucket', {
      ...privateBucketProps(removalPolicy),
      serverAccessLogsBucket: props.accessLogsBucket,
      serverAccessLogsPrefix: 'batch-bucket/',
      lifecycleRules: [{ id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(7) }],
    });
  }
}

/**
 * Batch scoring over the batch bucket of the data stack (jobs read their input and write their output there): the batch function (plan,
 * score a batch, finalize), the Step Functions state machine of `step-functions/batch-scoring.asl.json` with its
 * Distributed Map and SageMaker Batch Transform branch, the failed-jobs alarm and the dashboard row.
 */
export class BatchScoring extends Construct {
  public readonly bucket: IBucket;
  public readonly batchFunction: MlopsFunction;
  public readonly stateMachine: StateMachine;
  /** Breaches when a batch job fails (a mostly wrong input, a model that cannot load, an unreadable object). */
  public readonly failedJobsAlarm: Alarm;

  public constructor(scope: Construct, id: string, props: BatchScoringProps) {
    super(scope, id);
    const { config, artifactBucket, topic } = props;
    const stack = Stack.of(this);
    const destroy = config.removalPolicy === 'destroy';
    const removalPolicy = destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.bucket = props.bucket;
    const bucket = this.bucket;

    this.batchFunction = new MlopsFunction(this, 'BatchFunction', {
      entry: BATCH_SCORING_ENTRY,
      description: 'Serverless MLOps batch scoring (plan a job, score a batch of rows, write the manifest)',
      serviceName: BATCH_SCORING_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: config.batch.memorySize,
      timeout: Duration.minutes(5),
      // Each job fans out to batch.maxConcurrency invocations at once: reserved, they cannot starve predict.
      ...(config.batch.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.batch.reservedConcurrency }),
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      layers: [props.onnxLayer],
      externalModules: ONNX_RUNTIME_MODULES,
      environment: {
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.BATCH_BUCKET_NAMES]: bucket.bucketName,
        [ENV.BATCH_MAX_ITEMS_PER_BATCH]: String(config.batch.maxItemsPerBatch),
        [ENV.BATCH_MAX_CONCURRENCY]: String(config.batch.maxConcurrency),
        [ENV.BATCH_TOLERATED_FAILURE_PERCENTAGE]: String(config.batch.toleratedFailurePercentage),
        [ENV.ONNX_INTRA_OP_THREADS]: String(config.predict.onnxIntraOpThreads),
        [ENV.REGISTRY_CACHE_TTL_SECONDS]: String(config.registry.cacheTtlSeconds),
        // The predict function's range check: a batch refuses what predict would refuse.
        [ENV.OUT_OF_RANGE_POLICY]: config.predict.outOfRange,
        [ENV.OUT_OF_RANGE_TOLERANCE]: String(config.predict.outOfRangeTolerance),
      },
    });
    const fn = this.batchFunction;
    props.registry.grantRegistryRead(fn).bindArtifactBucket(artifactBucket, 'models/');
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject', 's3:PutObject'], resources: [bucket.arnForObjects('*')] }));
    const nagBucketArn = nagArnOf(stack.resolve(bucket.bucketArn));
    const objectsReason = 'Batch jobs read their input and write their output under prefixes each job names; keys are not known at deploy time.';
    if (fn.role !== undefined && nagBucketArn !== undefined) {
      Validations.of(fn.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/*]`, reason: objectsReason });
    }

    // --- the state machine ------------------------------------------------------------------------------------
    const substitutions: Record<(typeof BATCH_SUBSTITUTION_KEYS)[number], string> = {
      BatchFunctionArn: fn.functionArn,
      NotificationTopicArn: topic.topicArn,
      EventBusName: 'default',
      TransformInstanceType: config.batch.transformInstanceType,
    };
    const logGroup = stateMachineLogGroup(this, 'StateMachineLogs', { name: `${config.appName}-batch-scoring`, logRetentionDays: config.logRetentionDays });
    // A fixed name: the Distributed Map starts child executions of this very state machine, and its role names it.
    const stateMachineName = `${config.appName}-batch-scoring`;
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName,
      comment: `${config.appName} batch scoring`,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(readFileSync(join(PROJECT_ROOT, BATCH_SCORING_ASL), 'utf8')),
      definitionSubstitutions: substitutions,
      logs: { destination: logGroup, level: LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: true,
    });
    const sm = this.stateMachine;
    Validations.of(sm).acknowledge({
      id: 'AwsSolutions-SF1',
      reason: 'Log level ERROR without execution data: batch items are the customers\' rows (applicants\' data), which must not be copied into the logs; the manifest, the errors file and the events record each job.',
    });
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    // The Distributed Map: child executions of itself, the ItemReader's reads and the ResultWriter's writes.
    const ownArn = stack.formatArn({ service: 'states', resource: 'stateMachine', resourceName: stateMachineName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const ownExecutions = stack.formatArn({ service: 'states', resource: 'execution', resourceName: `${stateMachineName}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    const ownMapRuns = stack.formatArn({ service: 'states', resource: 'mapRun', resourceName: `${stateMachineName}/*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: [ownArn] }));
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeExecution', 'states:StopExecution'], resources: [ownExecutions] }));
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:DescribeMapRun', 'states:UpdateMapRun'], resources: [ownMapRuns] }));
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject', 's3:PutObject'], resources: [bucket.arnForObjects('*')] }));
    sm.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [topic.topicArn] }));
    props.topicKey?.grant(sm, 'kms:Decrypt', 'kms:GenerateDataKey');
    EventBus.fromEventBusName(this, 'DefaultEventBus', 'default').grantPutEventsTo(sm);
    // SageMaker Batch Transform of endpoint-served versions: the endpoint's model, a transform job, the .sync rule.
    sm.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sagemaker:DescribeEndpoint', 'sagemaker:DescribeEndpointConfig'],
        resources: [
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: '*' }),
          stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: '*' }),
        ],
      }),
    );
    const transformJobs = stack.formatArn({ service: 'sagemaker', resource: 'transform-job', resourceName: 'batch-*' });
    sm.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['sagemaker:CreateTransformJob', 'sagemaker:DescribeTransformJob', 'sagemaker:StopTransformJob', 'sagemaker:AddTags', 'sagemaker:ListTags'],
        resources: [transformJobs],
      }),
    );
    sm.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SAGEMAKER_TRANSFORM_SYNC_RULE_NAME })],
      }),
    );
    const acknowledge = (resource: string, reason: string) => Validations.of(sm.role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    acknowledge('*', 'Logging to CloudWatch Logs (vended-log delivery actions) and X-Ray tracing only accept Resource "*".');
    if (nagBucketArn !== undefined) acknowledge(`${nagBucketArn}/*`, `The Distributed Map's ItemReader and ResultWriter: ${objectsReason}`);
    acknowledge(
      `arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:${stateMachineName}/*`,
      "The Distributed Map's child executions are named by Step Functions at run time.",
    );
    acknowledge(`arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:mapRun:${stateMachineName}/*`, 'Map runs are named by Step Functions at run time.');
    acknowledge('arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint/*', 'The endpoint of an endpoint-served version is read from the registry at run time.');
    acknowledge('arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:endpoint-config/*', 'An endpoint names its current config at run time.');
    acknowledge('arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:transform-job/batch-*', 'Transform jobs are named per batch job (batch-{job id}).');

    // --- alarm and dashboard row ------------------------------------------------------------------------------
    const { alarms } = config.observability;
    this.failedJobsAlarm = new Alarm(this, 'FailedJobsAlarm', {
      alarmDescription: `${config.appName}: a batch scoring job failed (its manifest and the BatchScoringFailed event say why)`,
      metric: sm.metricFailed({ period: Duration.seconds(alarms.periodSeconds), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    this.failedJobsAlarm.addAlarmAction(new SnsAction(topic));
  }

  /** The dashboard row: jobs started, succeeded and failed; rows scored and refused per period. */
  public dashboardWidgets(config: MlopsConfig): IWidget[] {
    const period = Duration.minutes(5);
    const rows = (name: string, label: string) =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: name,
        dimensionsMap: { service: BATCH_SCORING_SERVICE_NAME, environment: config.appName },
        statistic: 'Sum',
        period,
        label,
      });
    return [
      new GraphWidget({
        title: 'Batch scoring jobs',
        width: 12,
        left: [
          this.stateMachine.metricStarted({ period, label: 'started' }),
          this.stateMachine.metricSucceeded({ period, label: 'succeeded' }),
          this.stateMachine.metricFailed({ period, label: 'failed' }),
        ],
      }),
      new GraphWidget({
        title: 'Batch scoring rows',
        width: 12,
        left: [rows(BATCH_METRICS.rowsScored, 'rows scored'), rows(BATCH_METRICS.rowsRefused, 'rows refused')],
      }),
    ];
  }
}
