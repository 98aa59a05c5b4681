import { CfnOutput, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { MlopsConfig } from './config.ts';
import { DataImports } from './constructs/data-imports.ts';
import { DeadLetters } from './constructs/dead-letters.ts';
import { ENV } from './constructs/environment.ts';
import { GpuEndpoint } from './constructs/gpu-endpoint.ts';
import { InferenceApi } from './constructs/inference-api.ts';
import { ModelRollout } from './constructs/model-rollout.ts';
import { ARTIFACT_PREFIX } from './constructs/model-store.ts';
import { Observability } from './constructs/observability.ts';
import { OnnxRuntimeLayer } from './constructs/onnx-runtime-layer.ts';
import { TrainingPipeline } from './constructs/training-pipeline.ts';
import { BatchScoring } from './constructs/batch-scoring.ts';
import { DriftMonitor } from './constructs/drift-monitor.ts';
import { PredictionCapture } from './constructs/prediction-capture.ts';
import { dataStackIdFor, MlopsDataStack } from './data-stack.ts';
import { PlatformStack, type PlatformStackProps } from './platform-stack.ts';

export interface ServerlessMlopsStackProps extends PlatformStackProps {
  /** The data stack whose buckets and registry table this stack uses (imported by their exports); deployed first. */
  readonly data: MlopsDataStack;
}

/**
 * The serving side of the platform: the inference API, the training pipeline, batch scoring, prediction capture's
 * delivery stream, drift monitoring and their observability (dashboard, alarms, CodeDeploy rollout of the predict
 * function). Everything that holds data (artifacts, registry, captures, batch data) is in the data stack
 * ({@link MlopsDataStack}), imported here: destroying and redeploying this stack loses none of it.
 */
export class ServerlessMlopsStack extends PlatformStack {
  /** The data stack's buckets and registry table, imported. */
  public readonly data: DataImports;
  public readonly inferenceApi: InferenceApi;
  public readonly trainingPipeline: TrainingPipeline;
  public readonly observability: Observability;
  public readonly modelRollout: ModelRollout;
  public readonly predictionCapture: PredictionCapture;
  public readonly driftMonitor: DriftMonitor;
  public readonly batchScoring: BatchScoring;
  /** The dead-letter queue of the scheduled and event-driven work (rule targets, asynchronous functions). */
  public readonly deadLetters: DeadLetters;
  /** The SageMaker endpoints of `sagemakerServing.endpoints` (none by default). */
  public readonly gpuEndpoints: readonly GpuEndpoint[];

  public constructor(scope: Construct, id: string, props: ServerlessMlopsStackProps) {
    const { config, data: dataStack, ...stackProps } = props;
    super(scope, id, {
      description: `${config.appName}: inference API, training pipeline, batch scoring and drift monitoring (serverless-mlops, serving)`,
      config,
      ...stackProps,
    });
    // No automatic cross-stack reference: the imports name the data stack's exports, so the order is explicit.
    this.addStackDependency(dataStack, 'the buckets and the registry table are imported from the data stack');
    this.data = new DataImports(this, 'Data', { dataStackName: dataStack.stackName, registryIndexNames: dataStack.modelStore.registryIndexNames });
    const data = this.data;

    // One ONNX Runtime layer for the predict function and the pipeline (which evaluates with the serving runtime).
    const onnx = new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture: config.architecture });

    this.inferenceApi = new InferenceApi(this, 'InferenceApi', {
      config,
      registry: data,
      artifactBucket: data.artifactBucket,
      artifactPrefix: ARTIFACT_PREFIX,
      onnxLayer: onnx.layer,
    });

    // One dead-letter queue for every rule target and asynchronous function: one alarm, one place to look.
    this.deadLetters = new DeadLetters(this, 'DeadLetters');
    const deadLetterQueue = this.deadLetters.queue;

    this.trainingPipeline = new TrainingPipeline(this, 'TrainingPipeline', {
      config,
      registry: data,
      artifactBucket: data.artifactBucket,
      onnxLayer: onnx.layer,
      deadLetterQueue,
    });

    // Canary model versions: alarms, and the watch that rolls them back or promotes them.
    this.modelRollout = new ModelRollout(this, 'ModelRollout', {
      config,
      registry: data,
      topic: this.trainingPipeline.topic,
      topicKey: this.trainingPipeline.topicKey,
      deadLetterQueue,
    });
    this.gpuEndpoints = this.createGpuEndpoints(config);

    // Before the observability: its alarms watch the drift function.
    this.predictionCapture = new PredictionCapture(this, 'PredictionCapture', {
      bucket: data.captureBucket,
      logRetentionDays: config.logRetentionDays,
      removalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
    });
    this.predictionCapture.bindPredictFunction(this.inferenceApi.predictFunction, config.drift.captureSampleRate);
    this.driftMonitor = new DriftMonitor(this, 'DriftMonitor', {
      config,
      registry: data,
      captureBucket: this.predictionCapture.bucket,
      deadLetterQueue,
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
      registry: data,
      gpuEndpoints: this.gpuEndpoints,
      deadLetterQueue,
      asyncFunctions: { 'drift-job': this.driftMonitor.driftFunction, 'canary-watch': this.modelRollout.watchFunction },
    });

    this.batchScoring = new BatchScoring(this, 'BatchScoring', {
      config,
      registry: data,
      artifactBucket: data.artifactBucket,
      onnxLayer: onnx.layer,
      topic: this.trainingPipeline.topic,
      ...(this.trainingPipeline.topicKey === undefined ? {} : { topicKey: this.trainingPipeline.topicKey }),
      bucket: data.batchBucket,
    });
    this.observability.dashboard.addWidgets(...this.batchScoring.dashboardWidgets(config));
    new CfnOutput(this, 'BatchStateMachineArn', {
      description: 'Batch scoring state machine (mlops batch score starts it)',
      value: this.batchScoring.stateMachine.stateMachineArn,
    });

    new CfnOutput(this, 'DriftJobConfig', {
      description: 'Settings of the drift job (mlops drift run uses them)',
      value: this.driftMonitor.settingsJson,
    });
    new CfnOutput(this, 'DriftFunctionName', { value: this.driftMonitor.driftFunction.functionName });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      description: 'Dead-letter queue of the schedules, rules and asynchronous functions (docs/operations/alarms/dead-letters.md)',
      value: deadLetterQueue.queueUrl,
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the inference API (routes under /v1)',
      value: this.inferenceApi.restApi.url,
    });
    if (this.inferenceApi.apiKey !== undefined) {
      new CfnOutput(this, 'ApiKeyId', {
        description: 'Id of the default API key (aws apigateway get-api-key --api-key <id> --include-value)',
        value: this.inferenceApi.apiKey.keyId,
      });
    }
    // The bucket and table names are the data stack's outputs (an output of an import would only repeat them, cfn-lint
    // W6001): the mlops CLI reads this stack's outputs, then those of the stack this one names.
    new CfnOutput(this, 'DataStackName', { description: 'The data stack: buckets and registry table (its outputs name them)', value: dataStack.stackName });
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
    new CfnOutput(this, 'LambdaMaxArtifactBytes', {
      description: 'Largest artifact mlops register accepts for the Lambda target; larger ones go to a SageMaker endpoint',
      value: String(config.sagemakerServing.lambdaMaxArtifactBytes),
    });
  }

  /**
   * The GPU path: one GpuEndpoint per configured endpoint, and the predict function allowed to invoke exactly those,
   * with its endpoint-call settings (timeout, retries, circuit breaker).
   */
  private createGpuEndpoints(config: MlopsConfig): GpuEndpoint[] {
    const serving = config.sagemakerServing;
    const { alarms } = config.observability;
    const predict = this.inferenceApi.predictFunction;
    const endpoints = Object.entries(serving.endpoints).map(([endpointName, endpoint]) => {
      const gpu = new GpuEndpoint(this, `GpuEndpoint-${endpointName}`, {
        endpointName,
        modelName: endpoint.model,
        modelVersion: endpoint.version,
        artifactBucket: this.data.artifactBucket,
        image: endpoint.image,
        variant: endpoint.variant,
        instanceType: endpoint.instanceType,
        initialInstanceCount: endpoint.initialInstanceCount,
        minInstances: endpoint.minInstances,
        maxInstances: endpoint.maxInstances,
        targetInvocationsPerInstance: endpoint.targetInvocationsPerInstance,
        dataCapturePercent: endpoint.dataCapturePercent,
        serverlessMemoryMb: endpoint.serverlessMemoryMb,
        serverlessMaxConcurrency: endpoint.serverlessMaxConcurrency,
        modelLatencyP95Ms: serving.alarms.modelLatencyP95Ms,
        serverErrors: serving.alarms.serverErrors,
        gpuUtilizationPercent: serving.alarms.gpuUtilizationPercent,
        alarmPeriod: Duration.seconds(alarms.periodSeconds),
        evaluationPeriods: alarms.evaluationPeriods,
        datapointsToAlarm: alarms.datapointsToAlarm,
        alarmNamePrefix: `${config.appName}-${endpointName}`,
        environmentName: config.appName,
        lambdaArchitecture: config.architecture,
        logRetentionDays: config.logRetentionDays,
        logRemovalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      });
      gpu.grantInvoke(predict);
      if (gpu.quotaMessage !== undefined) {
        new CfnOutput(this, `EndpointQuota${endpointName.replace(/[^A-Za-z0-9]/g, '')}`, { description: 'SageMaker quota to check before the first deploy', value: gpu.quotaMessage });
      }
      return gpu;
    });
    if (endpoints.length > 0) {
      predict.addEnvironment(ENV.SAGEMAKER_INVOKE_TIMEOUT_MS, String(serving.invokeTimeoutMs));
      predict.addEnvironment(ENV.SAGEMAKER_MAX_THROTTLE_RETRIES, String(serving.maxThrottleRetries));
      predict.addEnvironment(ENV.SAGEMAKER_RETRY_BASE_DELAY_MS, String(serving.retryBaseDelayMs));
      predict.addEnvironment(ENV.SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD, String(serving.circuitFailureThreshold));
      predict.addEnvironment(ENV.SAGEMAKER_CIRCUIT_OPEN_SECONDS, String(serving.circuitOpenSeconds));
    }
    return endpoints;
  }
}

/** The serving stack's construct id and name for a config: `{appName}` (the name the mlops CLI's `--stack` defaults to). */
export function stackIdFor(config: MlopsConfig): string {
  return config.appName;
}

/** Both stacks of the platform. */
export interface Platform {
  readonly data: MlopsDataStack;
  readonly serving: ServerlessMlopsStack;
}

/** The platform for a config: the data stack, and the serving stack that depends on it (what bin/app.ts deploys). */
export function createPlatform(scope: Construct, config: MlopsConfig): Platform {
  const data = new MlopsDataStack(scope, dataStackIdFor(config), { config });
  const serving = new ServerlessMlopsStack(scope, stackIdFor(config), { config, data });
  return { data, serving };
}
