import { CfnOutput, RemovalPolicy, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { MlopsConfig } from './config.ts';
import { InferenceApi } from './constructs/inference-api.ts';
import { ModelRollout } from './constructs/model-rollout.ts';
import { ARTIFACT_PREFIX, ModelStore } from './constructs/model-store.ts';
import { Observability } from './constructs/observability.ts';
import { OnnxRuntimeLayer } from './constructs/onnx-runtime-layer.ts';
import { TrainingPipeline } from './constructs/training-pipeline.ts';
import { DriftMonitor } from './constructs/drift-monitor.ts';
import { PredictionCapture } from './constructs/prediction-capture.ts';

export interface ServerlessMlopsStackProps extends StackProps {
  readonly config: MlopsConfig;
}

/**
 * The platform: model store (artifact bucket + registry table), the inference API, the training pipeline, and their
 * observability (dashboard, alarms, CodeDeploy rollout of the predict function).
 */
export class ServerlessMlopsStack extends Stack {
  public readonly modelStore: ModelStore;
  public readonly inferenceApi: InferenceApi;
  public readonly trainingPipeline: TrainingPipeline;
  public readonly observability: Observability;
  public readonly modelRollout: ModelRollout;
  public readonly predictionCapture: PredictionCapture;
  public readonly driftMonitor: DriftMonitor;

  public constructor(scope: Construct, id: string, props: ServerlessMlopsStackProps) {
    const { config, ...stackProps } = props;
    super(scope, id, {
      description: `${config.appName}: ONNX model registry, artifact store, inference API and training pipeline (serverless-mlops)`,
      ...stackProps,
    });
    // Dashboard tags are newer than cfn-lint's resource schema (E3002 'Tags' unexpected); a dashboard holds no data.
    const tagOptions = { excludeResourceTypes: ['AWS::CloudWatch::Dashboard'] };
    Tags.of(this).add('app', config.appName, tagOptions);
    Tags.of(this).add('managed-by', 'cdk', tagOptions);

    this.modelStore = new ModelStore(this, 'ModelStore', {
      noncurrentVersionExpirationDays: config.artifacts.noncurrentVersionExpirationDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });

    // One ONNX Runtime layer for the predict function and the pipeline (which evaluates with the serving runtime).
    const onnx = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture: config.architecture });

    this.inferenceApi = new InferenceApi(this, 'InferenceApi', {
      config,
      registryTable: this.modelStore.registryTable,
      registryIndexNames: this.modelStore.registryIndexNames,
      artifactBucket: this.modelStore.artifactBucket,
      artifactPrefix: ARTIFACT_PREFIX,
      onnxLayer: onnx.layer,
    });

    this.trainingPipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      config,
      registryTable: this.modelStore.registryTable,
      registryIndexNames: this.modelStore.registryIndexNames,
      artifactBucket: this.modelStore.artifactBucket,
      onnxLayer: onnx.layer,
    });

    // Canary model versions: alarms, and the watch that rolls them back or promotes them.
    this.modelRollout = new ModelRollout(this, 'ModelRollout', {
      config,
      registryTable: this.modelStore.registryTable,
      registryIndexNames: this.modelStore.registryIndexNames,
      topic: this.trainingPipeline.topic,
      topicKey: this.trainingPipeline.topicKey,
    });

    // Alarms notify the pipeline's topic: one topic (and one set of subscriptions) for every operational notification.
    this.observability = new Observability(this, 'Observability', {
      config,
      restApi: this.inferenceApi.restApi,
      predictFunction: this.inferenceApi.predictFunction,
      predictLogGroup: this.inferenceApi.predictFunction.logGroup,
      predictAlias: this.inferenceApi.liveAlias,
      stateMachine: this.trainingPipeline.stateMachine,
      topic: this.trainingPipeline.topic,
      topicKey: this.trainingPipeline.topicKey,
      canaryAlarms: this.modelRollout.allCanaryAlarms(),
    });

    this.predictionCapture = new PredictionCapture(this, 'PredictionCapture', {
      retentionDays: config.drift.captureRetentionDays,
      logRetentionDays: config.logRetentionDays,
      accessLogsBucket: this.modelStore.accessLogsBucket,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.predictionCapture.bindPredictFunction(this.inferenceApi.predictFunction, config.drift.captureSampleRate);
    this.driftMonitor = new DriftMonitor(this, 'DriftMonitor', {
      config,
      registryTable: this.modelStore.registryTable,
      registryIndexNames: this.modelStore.registryIndexNames,
      captureBucket: this.predictionCapture.bucket,
    });
    new CfnOutput(this, 'CaptureBucketName', {
      description: 'Captured predictions, feedback labels and drift reports (drift-reports/{model}/latest.html)',
      value: this.predictionCapture.bucket.bucketName,
    });
    new CfnOutput(this, 'DriftJobConfig', {
      description: 'Settings of the drift job (mlops drift run uses them)',
      value: this.driftMonitor.settingsJson,
    });
    new CfnOutput(this, 'DriftFunctionName', { value: this.driftMonitor.driftFunction.functionName });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the inference API (routes under /v1)',
      value: this.inferenceApi.restApi.url,
    });
    new CfnOutput(this, 'ApiKeyId', {
      description: 'Id of the default API key (aws apigateway get-api-key --api-key <id> --include-value)',
      value: this.inferenceApi.apiKey.keyId,
    });
    new CfnOutput(this, 'ArtifactBucketName', { value: this.modelStore.artifactBucket.bucketName });
    new CfnOutput(this, 'RegistryTableName', { value: this.modelStore.registryTable.tableName });
    new CfnOutput(this, 'StateMachineArn', {
      description: 'Training pipeline state machine (aws stepfunctions start-execution --state-machine-arn <arn>)',
      value: this.trainingPipeline.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'NotificationTopicArn', {
      description: 'SNS topic of the training pipeline notifications (approval requests, outcomes) and of the alarms',
      value: this.trainingPipeline.topic.topicArn,
    });
    new CfnOutput(this, 'DashboardName', {
      description: 'CloudWatch dashboard of the platform',
      value: this.observability.dashboard.dashboardName,
    });
    new CfnOutput(this, 'DeploymentGroupName', {
      description: 'CodeDeploy deployment group of the predict function (aws deploy list-deployments --application-name <app> --deployment-group-name <name>)',
      value: this.observability.deploymentGroup.deploymentGroupName,
    });
    new CfnOutput(this, 'DeploymentApplicationName', {
      description: 'CodeDeploy application of the predict function',
      value: this.observability.deploymentGroup.application.applicationName,
    });
  }
}

/** The stack's construct id and name for a config. */
export function stackIdFor(config: MlopsConfig): string {
  return config.appName;
}
