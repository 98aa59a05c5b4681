import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EventBus, type IRule, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import { Effect, type IGrantable, type IRole, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { type ITopic, Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { ECR_IMAGE_URI, type MlopsConfig, pipelineConfigJson } from '../config.ts';
import { xgboostDataDistribution } from '#contracts/pipeline.ts';
import { retrainEventPattern } from '#contracts/drift.ts';
import { ENV, TRAINING_PIPELINE_SERVICE_NAME } from './environment.ts';
import { stateMachineLogGroup } from './log-groups.ts';
import { MlopsFunction, PROJECT_ROOT } from './mlops-function.ts';
import { ONNX_RUNTIME_MODULES } from './onnx-runtime-layer.ts';
import { xgboostImageUri } from './sagemaker-xgboost-image.ts';
import { nagArnOf } from './logical-id.ts';
import type { IModelRegistry } from './model-store.ts';

/** Entry of the pipeline Lambda (every Lambda task of the state machine), relative to the repository root. */
export const TRAINING_PIPELINE_ENTRY = 'lambdas/training-pipeline/handler.ts';

/** The state machine definition, relative to the repository root. */
export const TRAINING_PIPELINE_ASL = 'step-functions/training-pipeline.asl.json';

/** The `${...}` placeholders of the ASL file, all filled by `definitionSubstitutions`. */
export const DEFINITION_SUBSTITUTION_KEYS = [
  'PipelineFunctionArn',
  'NotificationTopicArn',
  'EventBusName',
  'SageMakerRoleArn',
  'TrainingImage',
  'TrainingInstanceType',
  'ArtifactBucketName',
  'XgboostImage',
  'XgboostDataDistribution',
] as const;
export type DefinitionSubstitutionKey = (typeof DEFINITION_SUBSTITUTION_KEYS)[number];

/**
 * The `TrainingImage` substitution while `pipeline.sagemaker.trainingImage` is empty (no model trains on SageMaker):
 * a training job asked for anyway fails with this value in its error. Never empty: an empty substitution reads as
 * missing to cfn-lint (E1029).
 */
export const TRAINING_IMAGE_NOT_SET = 'not-configured:pipeline.sagemaker.trainingImage';

/** Memory of the pipeline function: training and ONNX evaluation of a few hundred thousand rows fit, ~1.7 vCPU. */
export const PIPELINE_FUNCTION_MEMORY_MB = 3008;
/** Timeout of the pipeline function: Lambda's maximum (the `Train` task allows the same). */
export const PIPELINE_FUNCTION_TIMEOUT = Duration.minutes(15);

/** The bus the pipeline's events go to and the retrain requests come from. */
export const PIPELINE_EVENT_BUS_NAME = 'default';

/** The event that starts a run (drift monitoring sends it; its `detail` is the run's input). */
export const RETRAIN_EVENT = { source: 'serverless-mlops.drift', detailType: 'RetrainRequested' } as const;

/** Log groups of state machines live under this prefix (Step Functions vended logs). */

/** The managed rule Step Functions creates for `sagemaker:createTrainingJob.sync`. */
export const SAGEMAKER_SYNC_RULE_NAME = 'StepFunctionsGetEventsForSageMakerTrainingJobsRule';

/** Prefixes of the artifact bucket the pipeline function reads (the run's dataset must be under `datasets/`). */
export const PIPELINE_READ_PREFIXES = ['datasets/', 'training-cache/', 'pipeline-runs/', 'models/', 'training-jobs/'] as const;
/**
 * Prefixes it writes: the training cache, each run's reports, registered artifacts, and the `xgboost` trainer's
 * encoded training rows.
 */
export const PIPELINE_WRITE_PREFIXES = ['training-cache/', 'pipeline-runs/', 'models/', 'training-data/'] as const;
/** Where SageMaker training jobs read datasets and write their output (`training-jobs/{model}/{run_id}/`). */
export const SAGEMAKER_INPUT_PREFIX = 'datasets/';
export const SAGEMAKER_OUTPUT_PREFIX = 'training-jobs/';
/** Where the `xgboost` trainer's jobs read their channels (`training-data/{model}/{run_id}/seed-{seed}/{train,validation}/`). */
export const XGBOOST_INPUT_PREFIX = 'training-data/';

export interface TrainingPipelineProps {
  readonly config: MlopsConfig;
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  readonly artifactBucket: IBucket;
  /** The ONNX Runtime layer (shared with the inference API), used to evaluate candidates with the serving runtime. */
  readonly onnxLayer: ILayerVersion;
  /** Where retrain requests and scheduled runs go when EventBridge cannot start the state machine. */
  readonly deadLetterQueue: IQueue;
}

/**
 * The training pipeline: the Step Functions state machine of `step-functions/training-pipeline.asl.json`, the one
 * Lambda that runs its steps, the SNS topic it notifies, the SageMaker training role, and what starts it:
 * `StartExecution` (the CLI), a `RetrainRequested` event on the default bus, and per-model schedules from the config.
 */
export class TrainingPipeline extends Construct {
  public readonly pipelineFunction: MlopsFunction;
  public readonly stateMachine: StateMachine;
  /** Where the pipeline's notifications go (created, or imported from `notifications.topicArn`). */
  public readonly topic: ITopic;
  /** The role SageMaker training jobs run with (created, or imported from `pipeline.sagemaker.roleArn`). */
  public readonly sageMakerRole: IRole;
  /** The key of the created topic; undefined with an imported topic. */
  public readonly topicKey: Key | undefined;
  /** The role EventBridge uses to start executions (rule targets). */
  public readonly startExecutionRole: Role;
  /** Starts a run on a `RetrainRequested` event from drift monitoring. */
  public readonly retrainRule: Rule;
  /** One schedule rule per model with a `schedule`, by model name. */
  public readonly scheduleRules: Readonly<Record<string, IRule>>;

  public constructor(scope: Construct, id: string, props: TrainingPipelineProps) {
    super(scope, id);
    const { config, artifactBucket } = props;
    const stack = Stack.of(this);
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    // --- notifications ----------------------------------------------------------------------------------------
    const { topicArn, emails } = config.notifications;
    if (topicArn === undefined) {
      // A customer managed key rather than aws/sns: AWS services (CloudWatch alarms, EventBridge) cannot publish to
      // topics encrypted with the AWS managed key, and alarms on the pipeline are expected to notify this topic.
      const key = (this.topicKey = new Key(this, 'NotificationKey', {
        description: `${config.appName}: encrypts the training pipeline notification topic`,
        enableKeyRotation: true,
        removalPolicy,
      }));
      this.topic = new Topic(this, 'NotificationTopic', {
        displayName: `${config.appName} training pipeline`,
        masterKey: key,
        enforceSSL: true,
      });
    } else {
      this.topicKey = undefined;
      this.topic = Topic.fromTopicArn(this, 'NotificationTopic', topicArn);
    }
    for (const email of emails) this.topic.addSubscription(new EmailSubscription(email));

    // --- the pipeline function --------------------------------------------------------------------------------
    // Checked against the schema again (size included): the Lambda parses it with the same one at cold start.
    const pipelineConfig = pipelineConfigJson(config.pipeline);
    this.pipelineFunction = new MlopsFunction(this, 'PipelineFunction', {
      entry: TRAINING_PIPELINE_ENTRY,
      description: 'Serverless MLOps training pipeline steps (validate, train, evaluate, gate, register, promote)',
      serviceName: TRAINING_PIPELINE_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: PIPELINE_FUNCTION_MEMORY_MB,
      timeout: PIPELINE_FUNCTION_TIMEOUT,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      layers: [props.onnxLayer],
      externalModules: ONNX_RUNTIME_MODULES,
      environment: {
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.PIPELINE_CONFIG]: pipelineConfig,
        [ENV.RETRAIN_PROMOTION]: JSON.stringify(config.drift.retrainPromotion),
        [ENV.NOTIFICATION_TOPIC_ARN]: this.topic.topicArn,
        // The serving setting, so that the latency measured in evaluation is the latency the API will see.
        [ENV.ONNX_INTRA_OP_THREADS]: String(config.predict.onnxIntraOpThreads),
      },
    });
    const fn = this.pipelineFunction;
    // Reads (model lookups, champion) through the house helper; writes: registrations (transactions of puts and
    // updates with conditions) and approval requests, both in the registry table.
    props.registry.grantRegistryRead(fn).bindArtifactBucket(artifactBucket, 'models/');
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
        resources: [props.registry.registryTable.tableArn],
      }),
    );
    const readOnly = PIPELINE_READ_PREFIXES.filter((prefix) => prefix !== 'models/');
    // With ListBucket on the prefixes, a missing cache entry reads as 404 (not 403).
    fn.grantPrefixRead(artifactBucket, readOnly);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:PutObject'],
        resources: PIPELINE_WRITE_PREFIXES.map((prefix) => artifactBucket.arnForObjects(`${prefix}*`)),
      }),
    );
    this.grantPublish(fn);
    const nagBucketArn = nagArnOf(stack.resolve(artifactBucket.bucketArn));
    if (fn.role !== undefined && nagBucketArn !== undefined) {
      for (const prefix of new Set([...PIPELINE_READ_PREFIXES, ...PIPELINE_WRITE_PREFIXES].filter((p) => p !== 'models/'))) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${prefix}*]`,
          reason: `The pipeline reads and writes run-specific objects under ${prefix} (keys carry the model, run id or a content hash, unknown at deploy time).`,
        });
      }
    }

    // --- SageMaker training role ------------------------------------------------------------------------------
    const { sagemaker } = config.pipeline;
    this.sageMakerRole =
      sagemaker.roleArn === undefined
        ? this.createSageMakerRole(artifactBucket, sagemaker.trainingImage, nagBucketArn)
        : Role.fromRoleArn(this, 'SageMakerRole', sagemaker.roleArn, { mutable: false });

    // --- the state machine ------------------------------------------------------------------------------------
    const substitutions: Record<DefinitionSubstitutionKey, string> = {
      PipelineFunctionArn: fn.functionArn,
      NotificationTopicArn: this.topic.topicArn,
      EventBusName: PIPELINE_EVENT_BUS_NAME,
      SageMakerRoleArn: this.sageMakerRole.roleArn,
      TrainingImage: sagemaker.trainingImage === '' ? TRAINING_IMAGE_NOT_SET : sagemaker.trainingImage,
      TrainingInstanceType: sagemaker.instanceType,
      ArtifactBucketName: artifactBucket.bucketName,
      XgboostImage: xgboostImageUri(this, config.pipeline.xgboost.version),
      // One shard per instance (prepare_xgboost_data writes `instanceCount` objects per channel): each reads its own.
      XgboostDataDistribution: xgboostDataDistribution(sagemaker.instanceCount),
    };
    const logGroup = stateMachineLogGroup(this, 'StateMachineLogs', { name: `${config.appName}-training-pipeline`, logRetentionDays: config.logRetentionDays });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      comment: `${config.appName} training pipeline`,
      stateMachineType: StateMachineType.STANDARD,
      // fromString (not fromFile) keeps the definition inline in the template, where tests can read it.
      definitionBody: DefinitionBody.fromString(readFileSync(join(PROJECT_ROOT, TRAINING_PIPELINE_ASL), 'utf8')),
      definitionSubstitutions: substitutions,
      // Errors only, without execution data: inputs and outputs carry approval task tokens and dataset keys.
      logs: { destination: logGroup, level: LogLevel.ERROR, includeExecutionData: false },
      tracingEnabled: true,
    });
    Validations.of(this.stateMachine).acknowledge({
      id: 'AwsSolutions-SF1',
      reason:
        'Logs ERROR events without execution data on purpose: ALL with data would write approval task tokens (which approve a model to production) and run inputs to the log group. Execution history keeps every step.',
    });
    this.grantTaskResources(this.stateMachine, fn);

    // --- what starts it ---------------------------------------------------------------------------------------
    this.startExecutionRole = new Role(this, 'StartExecutionRole', {
      assumedBy: new ServicePrincipal('events.amazonaws.com'),
      description: 'EventBridge rules starting the training pipeline',
    });
    const retrainPattern = retrainEventPattern(config.appName);
    this.retrainRule = new Rule(this, 'RetrainRule', {
      description: `Starts the training pipeline on a retrain request of ${config.appName}'s drift job; the detail is the run input`,
      // Only this deployment's requests (detail.app), and only drift runs, which the pipeline holds to drift.retrainPromotion.
      eventPattern: { source: [...retrainPattern.source], detailType: [...retrainPattern['detail-type']], detail: retrainPattern.detail },
      targets: [
        new SfnStateMachine(this.stateMachine, {
          input: RuleTargetInput.fromEventPath('$.detail'),
          role: this.startExecutionRole,
          deadLetterQueue: props.deadLetterQueue,
        }),
      ],
    });

    const scheduleRules: Record<string, IRule> = {};
    for (const [name, model] of Object.entries(config.pipeline.models)) {
      if (model.schedule === undefined || model.datasetKey === undefined) continue;
      scheduleRules[name] = new Rule(this, `Schedule-${name}`, {
        description: `Scheduled training of ${name}`,
        schedule: Schedule.expression(model.schedule),
        targets: [
          new SfnStateMachine(this.stateMachine, {
            input: RuleTargetInput.fromObject({
              model: name,
              dataset: { key: model.datasetKey },
              target: model.target,
              positive_label: model.positiveLabel,
              trainer: model.trainer ?? config.pipeline.defaults.trainer,
              requested_by: 'schedule',
            }),
            role: this.startExecutionRole,
            deadLetterQueue: props.deadLetterQueue,
          }),
        ],
      });
    }
    this.scheduleRules = scheduleRules;
  }

  /**
   * sns:Publish on the topic, and with a created topic the two key actions publishing needs (`ITopic.grantPublish`
   * grants `kms:GenerateDataKey*`, a wildcard action).
   */
  public grantPublish(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [this.topic.topicArn] }),
    );
    this.topicKey?.grant(grantee, 'kms:Decrypt', 'kms:GenerateDataKey');
  }

  /**
   * DefinitionBody.fromString adds no IAM: every task resource of the ASL is granted here.
   * Lambda tasks call the unqualified function ARN, so no `:*` (versions, aliases) is granted.
   */
  private grantTaskResources(stateMachine: StateMachine, fn: MlopsFunction): void {
    const stack = Stack.of(this);
    stateMachine.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }),
    );
    this.grantPublish(stateMachine);
    EventBus.fromEventBusName(this, 'DefaultEventBus', PIPELINE_EVENT_BUS_NAME).grantPutEventsTo(stateMachine);

    const trainingJobs = stack.formatArn({ service: 'sagemaker', resource: 'training-job', resourceName: '*' });
    stateMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [
          'sagemaker:CreateTrainingJob',
          'sagemaker:DescribeTrainingJob',
          'sagemaker:StopTrainingJob',
          'sagemaker:ListTags',
        ],
        resources: [trainingJobs],
      }),
    );
    // `createTrainingJob.sync` waits through a managed EventBridge rule that Step Functions creates and reads.
    stateMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: SAGEMAKER_SYNC_RULE_NAME })],
      }),
    );
    stateMachine.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['iam:PassRole'],
        resources: [this.sageMakerRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
      }),
    );

    Validations.of(stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Logging to CloudWatch Logs (logs:CreateLogDelivery and related vended-log actions) and X-Ray tracing only accept Resource "*".',
    });
    Validations.of(stateMachine.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sagemaker:<AWS::Region>:<AWS::AccountId>:training-job/*]',
      reason: 'Training job names are made per run ({model}-{run_id}-{seed}) and are not known at deploy time.',
    });
  }

  /**
   * The SageMaker execution role: datasets (and the xgboost trainer's encoded rows) in, job output out, its own logs
   * and metrics, the user's training image. The built-in XGBoost image is AWS's and needs no ECR grant.
   */
  private createSageMakerRole(bucket: IBucket, trainingImage: string, nagBucketArn: string | undefined): Role {
    const stack = Stack.of(this);
    const role = new Role(this, 'SageMakerRole', {
      assumedBy: new ServicePrincipal('sagemaker.amazonaws.com'),
      description: 'Execution role of the training pipeline SageMaker training jobs',
    });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:GetObject'],
        resources: [bucket.arnForObjects(`${SAGEMAKER_INPUT_PREFIX}*`), bucket.arnForObjects(`${XGBOOST_INPUT_PREFIX}*`)],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:ListBucket'],
        resources: [bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': [`${SAGEMAKER_INPUT_PREFIX}*`, `${XGBOOST_INPUT_PREFIX}*`, `${SAGEMAKER_OUTPUT_PREFIX}*`] } },
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
        resources: [bucket.arnForObjects(`${SAGEMAKER_OUTPUT_PREFIX}*`)],
      }),
    );
    const trainingLogs = stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: '/aws/sagemaker/TrainingJobs:*',
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
        resources: [trainingLogs],
      }),
    );
    role.addToPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } },
      }),
    );
    const image = ECR_IMAGE_URI.exec(trainingImage);
    if (image !== null) {
      const [, account, region, repository] = image;
      role.addToPolicy(
        new PolicyStatement({
          effect: Effect.ALLOW,
          actions: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
          resources: [`arn:${stack.partition}:ecr:${region}:${account}:repository/${repository}`],
        }),
      );
      role.addToPolicy(
        new PolicyStatement({ effect: Effect.ALLOW, actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
      );
    }

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData (limited by condition to the /aws/sagemaker/* namespaces) and ecr:GetAuthorizationToken only accept Resource "*".',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/TrainingJobs:*]',
      reason: 'SageMaker writes each training job to its own stream of the /aws/sagemaker/TrainingJobs log group.',
    });
    if (nagBucketArn !== undefined) {
      for (const prefix of [SAGEMAKER_INPUT_PREFIX, XGBOOST_INPUT_PREFIX, SAGEMAKER_OUTPUT_PREFIX]) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${prefix}*]`,
          reason: `Training jobs read the run's dataset under ${SAGEMAKER_INPUT_PREFIX} (the xgboost trainer's encoded rows under ${XGBOOST_INPUT_PREFIX}{model}/{run_id}/) and write their output under ${SAGEMAKER_OUTPUT_PREFIX}{model}/{run_id}/; keys are per run.`,
        });
      }
    }
    return role;
  }
}
