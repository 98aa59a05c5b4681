import { ArnFormat, type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { RestApi } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  AlarmRule,
  AlarmStatusWidget,
  ComparisonOperator,
  CompositeAlarm,
  Dashboard,
  GraphWidget,
  type HorizontalAnnotation,
  type IAlarm,
  type IMetric,
  type MetricOptions,
  LogQueryVisualizationType,
  LogQueryWidget,
  MathExpression,
  Metric,
  SearchExpression,
  Stats,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { type ILambdaDeploymentConfig, LambdaDeploymentConfig, LambdaDeploymentGroup } from 'aws-cdk-lib/aws-codedeploy';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import type { Alias, IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { DeploymentStrategy, MlopsConfig } from '../config.ts';
import type { GpuEndpoint } from './gpu-endpoint.ts';
import { ENV, INFERENCE_API_SERVICE_NAME, METRICS_NAMESPACE, PRE_TRAFFIC_HOOK_SERVICE_NAME, TRAINING_PIPELINE_SERVICE_NAME } from './environment.ts';
import { MlopsFunction } from './mlops-function.ts';
import {
  API_METRICS,
  DRIFT_METRICS,
  METRIC_DIMENSIONS as EMF_DIMENSIONS,
  PIPELINE_METRICS,
  VARIANT_METRICS,
} from '#contracts/metrics.ts';
import type { IModelRegistry } from './model-store.ts';

/** CodeDeploy's predefined Lambda configs, by config name. */
export const DEPLOYMENT_CONFIGS: Readonly<Record<DeploymentStrategy, ILambdaDeploymentConfig>> = {
  allAtOnce: LambdaDeploymentConfig.ALL_AT_ONCE,
  canary10Percent5Minutes: LambdaDeploymentConfig.CANARY_10PERCENT_5MINUTES,
  canary10Percent10Minutes: LambdaDeploymentConfig.CANARY_10PERCENT_10MINUTES,
  canary10Percent15Minutes: LambdaDeploymentConfig.CANARY_10PERCENT_15MINUTES,
  canary10Percent30Minutes: LambdaDeploymentConfig.CANARY_10PERCENT_30MINUTES,
  linear10PercentEvery3Minutes: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_3MINUTES,
  linear10PercentEvery10Minutes: LambdaDeploymentConfig.LINEAR_10PERCENT_EVERY_10MINUTES,
};

/** Entry of the predict function's CodeDeploy pre-traffic hook, relative to the repository root. */
export const PRE_TRAFFIC_HOOK_ENTRY = 'lambdas/pre-traffic-hook/handler.ts';

/** Period of the dashboard graphs. */
const DASHBOARD_PERIOD = Duration.minutes(5);
/** Period of the pipeline and drift alarms: one event in it is enough. */
const EVENT_ALARM_PERIOD = Duration.minutes(5);

export interface ObservabilityProps {
  /** Alarm thresholds, deployment strategy and SageMaker endpoints come from `config.observability`. */
  readonly config: MlopsConfig;
  /** The inference API; its deployment stage's metrics drive the latency and 5xx alarms. */
  readonly restApi: RestApi;
  /** The predict function (its metrics cover every version and alias). */
  readonly predictFunction: IFunction;
  /** The predict function's log group, queried by the per-version Logs Insights widgets. */
  readonly predictLogGroup: ILogGroup;
  /** The `live` alias API Gateway invokes; CodeDeploy shifts it between versions. */
  readonly predictAlias: Alias;
  /** The training pipeline. */
  readonly stateMachine: IStateMachine;
  /** Where every alarm notifies (the training pipeline's topic: one topic for all operational notifications). */
  readonly topic: ITopic;
  /**
   * The KMS key encrypting {@link topic}; CloudWatch is allowed to use it so that alarms can publish.
   * @default - the topic is not encrypted with a key of this stack; nothing is granted
   */
  readonly topicKey?: IKey | undefined;
  /**
   * The canary model version alarms (ModelRollout), shown in the dashboard's alarm widget.
   * @default [] (no canary alarms shown)
   */
  readonly canaryAlarms?: readonly IAlarm[];
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  /**
   * SageMaker endpoints of the GPU path: their alarms notify the topic, join the "serving unhealthy" composite and
   * the alarm widget, and each gets a dashboard row (invocations and errors, model latency, GPU utilisation).
   * @default [] (none)
   */
  readonly gpuEndpoints?: readonly GpuEndpoint[];
  /** The dead-letter queue of the rule targets and asynchronous functions: a message in it raises `<app>-dead-letters`. */
  readonly deadLetterQueue: IQueue;
  /**
   * The functions EventBridge invokes asynchronously, by name (`drift-job`): one error raises `<app>-<name>-errors`.
   * Their failed events also reach {@link deadLetterQueue}.
   */
  readonly asyncFunctions: Readonly<Record<string, IFunction>>;
}

/**
 * Operations of the platform: one CloudWatch dashboard, the SLO alarms (API p95 latency, API 5xx rate and outage, predict
 * throttles, failed pipeline executions, critical drift) and the composite "serving unhealthy" alarm, all notifying
 * the topic; and the CodeDeploy deployment group that shifts the predict function's `live` alias to each new version
 * (canary by default) and rolls back when a serving alarm fires.
 */
export class Observability extends Construct {
  public readonly dashboard: Dashboard;
  /** API Gateway p95 `Latency` above `observability.alarms.p95LatencyMs`. */
  public readonly latencyAlarm: Alarm;
  /** API 5xx share of requests above `observability.alarms.serverErrorRatePercent`, in periods of `minRequests` or more. */
  public readonly serverErrorAlarm: Alarm;
  /** API 5xx share of requests at or above `observability.alarms.outageErrorRatePercent`, at any traffic. */
  public readonly serverErrorOutageAlarm: Alarm;
  /** Predict function `Throttles` at or above `observability.alarms.throttles`. */
  public readonly throttleAlarm: Alarm;
  /** Failed training pipeline executions at or above `observability.alarms.pipelineFailures`. */
  public readonly pipelineFailureAlarm: Alarm;
  /** `DriftCritical` (all models) at or above `observability.alarms.driftCritical`. */
  public readonly driftAlarm: Alarm;
  /** An earlier production version answers for a model whose production artifact is corrupt or does not load. */
  public readonly productionFallbackAlarm: Alarm;
  /** `ApproximateNumberOfMessagesVisible` of the dead-letter queue at 1 or more: a scheduled or event-driven run was lost. */
  public readonly deadLetterAlarm: Alarm;
  /** `Errors` of each asynchronous function at 1 or more, by the function's name in `asyncFunctions`. */
  public readonly asyncFunctionErrorAlarms: Readonly<Record<string, Alarm>>;
  /** Latency OR 5xx rate OR 5xx outage OR throttles. */
  public readonly servingUnhealthyAlarm: CompositeAlarm;
  /** The SLO alarms (latency, 5xx rate, 5xx outage, throttles): they page, they do not roll back. */
  public readonly servingAlarms: readonly Alarm[];
  /** The alarms that roll a predict deployment back: the new version's 5xx rate and p95 duration. */
  public readonly rollbackAlarms: readonly Alarm[];
  /** CodeDeploy's BeforeAllowTraffic hook: predicts through the new version before it gets traffic. */
  public readonly preTrafficHook: MlopsFunction;
  /** Shifts the `live` alias to new versions of the predict function. */
  public readonly deploymentGroup: LambdaDeploymentGroup;

  public constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    const { config, restApi, predictFunction, stateMachine } = props;
    const { alarms } = config.observability;
    const period = Duration.seconds(alarms.periodSeconds);
    const api = new ApiMetrics(restApi, config.api.stageName);
    // The constructs set MLOPS_ENVIRONMENT (the `environment` dimension) to the app name.
    const environment = config.appName;
    const name = (suffix: string): string => `${config.appName}-${suffix}`;

    // --- alarms -----------------------------------------------------------------------------------------------
    const serving = {
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      // No traffic is not an outage: API Gateway and Lambda emit nothing without requests.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    this.latencyAlarm = new Alarm(this, 'LatencyAlarm', {
      alarmName: name('api-latency-p95'),
      alarmDescription: `API p95 latency above ${alarms.p95LatencyMs} ms (runbook: docs/operations/alarms/api-latency.md)`,
      metric: api.metric('Latency', { statistic: Stats.p(95), period }),
      threshold: alarms.p95LatencyMs,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...serving,
    });
    // The API's 5xx as a percentage of its requests, judged only in periods where `judged` holds (else 0).
    const serverErrorShare = (judged: string, label: string): MathExpression =>
      new MathExpression({
        expression: `IF(${judged}, 100 * FILL(errors, 0) / requests, 0)`,
        usingMetrics: {
          errors: api.metric('5XXError', { statistic: Stats.SUM, period }),
          requests: api.metric('Count', { statistic: Stats.SUM, period }),
        },
        label,
        period,
      });
    this.serverErrorAlarm = new Alarm(this, 'ServerErrorAlarm', {
      alarmName: name('api-5xx-rate'),
      alarmDescription: `API 5xx above ${alarms.serverErrorRatePercent} % of requests (runbook: docs/operations/alarms/api-5xx.md)`,
      // A period with fewer than minRequests is not judged: one error in 50 requests is not a 0.1 % SLO breach.
      metric: serverErrorShare(`requests >= ${alarms.minRequests}`, '5xx % of requests'),
      threshold: alarms.serverErrorRatePercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      ...serving,
    });
    // The rate alarm does not judge periods under minRequests: a full outage at low traffic would go unseen. This one
    // judges any period with requests, and needs a share no sporadic error reaches over datapointsToAlarm periods.
    this.serverErrorOutageAlarm = new Alarm(this, 'ServerErrorOutageAlarm', {
      alarmName: name('api-5xx-outage'),
      alarmDescription: `API 5xx at or above ${alarms.outageErrorRatePercent} % of requests, at any traffic (runbook: docs/operations/alarms/api-5xx.md)`,
      metric: serverErrorShare('requests > 0', '5xx % of requests (any traffic)'),
      threshold: alarms.outageErrorRatePercent,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...serving,
    });
    this.throttleAlarm = new Alarm(this, 'ThrottleAlarm', {
      alarmName: name('predict-throttles'),
      alarmDescription: `Predict function throttled ${alarms.throttles} or more invocations per period (runbook: docs/operations/alarms/predict-throttles.md)`,
      metric: predictFunction.metricThrottles({ statistic: Stats.SUM, period }),
      threshold: alarms.throttles,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...serving,
    });
    this.servingAlarms = [this.latencyAlarm, this.serverErrorAlarm, this.serverErrorOutageAlarm, this.throttleAlarm];

    this.pipelineFailureAlarm = new Alarm(this, 'PipelineFailureAlarm', {
      alarmName: name('pipeline-failed'),
      alarmDescription: 'A training pipeline execution failed (runbook: docs/operations/alarms/pipeline-failed.md)',
      metric: stateMachine.metricFailed({ statistic: Stats.SUM, period: EVENT_ALARM_PERIOD }),
      threshold: alarms.pipelineFailures,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    // A Metrics Insights query, not a metric: it sums DriftCritical over every dimension set the drift job uses
    // (per model), so the alarm needs no deploy when a model is added. SEARCH is not allowed in alarms.
    this.driftAlarm = new Alarm(this, 'DriftAlarm', {
      alarmName: name('drift-critical'),
      alarmDescription: 'Critical drift reported for a model (runbook: docs/operations/alarms/drift-critical.md)',
      metric: new MathExpression({
        expression: `SELECT SUM(${DRIFT_METRICS.critical}) FROM ${METRICS_NAMESPACE} WHERE ${EMF_DIMENSIONS.environment} = '${environment}'`,
        usingMetrics: {},
        label: 'critical drift (all models)',
        period: EVENT_ALARM_PERIOD,
      }),
      threshold: alarms.driftCritical,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // The drift job runs on a schedule: between runs there is no data.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Any fallback is worth a page: production is not what the registry says. Summed over models (Metrics Insights).
    this.productionFallbackAlarm = new Alarm(this, 'ProductionFallbackAlarm', {
      alarmName: name('production-fallback'),
      alarmDescription:
        'A production model artifact failed its sha256 check or its load; an earlier production version answers (runbook: docs/operations/alarms/production-fallback.md)',
      metric: new MathExpression({
        expression: `SELECT SUM(${API_METRICS.productionFallbacks}) FROM ${METRICS_NAMESPACE} WHERE ${EMF_DIMENSIONS.environment} = '${environment}'`,
        usingMetrics: {},
        label: 'production fallbacks (all models)',
        period: EVENT_ALARM_PERIOD,
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // Emitted only while a fallback is in use (once per registry read per container): no data is healthy.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });

    // Asynchronous work: EventBridge runs the drift job and the canary watch and starts the pipeline; nobody waits
    // for the answer, so a failure would go unseen. Any error pages, and so does any message in the dead-letter queue.
    const asyncErrors: Record<string, Alarm> = {};
    for (const [fnName, fn] of Object.entries(props.asyncFunctions)) {
      asyncErrors[fnName] = new Alarm(this, `FunctionErrors-${fnName}`, {
        alarmName: name(`${fnName}-errors`),
        alarmDescription: `The ${fnName} function failed (threw, timed out or ran out of memory); its event is in the dead-letter queue (runbook: docs/operations/alarms/dead-letters.md)`,
        metric: fn.metricErrors({ statistic: Stats.SUM, period: EVENT_ALARM_PERIOD }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        datapointsToAlarm: 1,
        // No run in the period is not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
    }
    this.asyncFunctionErrorAlarms = asyncErrors;
    this.deadLetterAlarm = new Alarm(this, 'DeadLetterAlarm', {
      alarmName: name('dead-letters'),
      alarmDescription: 'A scheduled or event-driven run failed for good: its event is in the dead-letter queue (runbook: docs/operations/alarms/dead-letters.md)',
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: Stats.MAXIMUM, period: EVENT_ALARM_PERIOD }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // SQS stops reporting an idle, empty queue: no data is an empty queue.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const failureAlarms = [...Object.values(asyncErrors), this.deadLetterAlarm];

    // Endpoint alarms are serving alarms too, but not CodeDeploy rollback triggers: a code deploy does not change them.
    const endpointAlarms = (props.gpuEndpoints ?? []).flatMap((endpoint) => endpoint.alarms);
    this.servingUnhealthyAlarm = new CompositeAlarm(this, 'ServingUnhealthyAlarm', {
      compositeAlarmName: name('serving-unhealthy'),
      alarmDescription:
        endpointAlarms.length === 0
          ? 'Serving is unhealthy: p95 latency, 5xx rate or outage, or throttles (runbook: docs/operations/alarms/serving-unhealthy.md)'
          : 'Serving is unhealthy: p95 latency, 5xx rate or outage, throttles or a SageMaker endpoint alarm (runbook: docs/operations/alarms/serving-unhealthy.md)',
      alarmRule: AlarmRule.anyOf(...this.servingAlarms, ...endpointAlarms),
    });

    const action = new SnsAction(props.topic);
    for (const alarm of [...this.servingAlarms, ...endpointAlarms, this.pipelineFailureAlarm, this.driftAlarm, this.productionFallbackAlarm, ...failureAlarms, this.servingUnhealthyAlarm]) {
      alarm.addAlarmAction(action);
    }
    // Recovery is announced once, for serving as a whole.
    this.servingUnhealthyAlarm.addOkAction(action);
    this.allowCloudWatchToPublish(props.topic, props.topicKey);

    // --- safe rollout of the predict function --------------------------------------------------------------------
    this.rollbackAlarms = this.createRollbackAlarms(config, props.predictAlias);
    for (const alarm of this.rollbackAlarms) alarm.addAlarmAction(action);
    this.preTrafficHook = this.createPreTrafficHook(config, props);
    this.deploymentGroup = new LambdaDeploymentGroup(this, 'PredictDeployment', {
      alias: props.predictAlias,
      deploymentConfig: DEPLOYMENT_CONFIGS[config.observability.deployment.strategy],
      alarms: [...this.rollbackAlarms],
      preHook: this.preTrafficHook,
      autoRollback: { failedDeployment: true, stoppedDeployment: true, deploymentInAlarm: true },
    });
    const hookId = Stack.of(this).getLogicalId(this.preTrafficHook.node.defaultChild as CfnElement);
    Validations.of(this.deploymentGroup.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${hookId}.Arn>:*]`,
      reason: 'CodeDeploy invokes the pre-traffic hook function by any version (the grant LambdaDeploymentGroup makes for its hooks); the function is this one only.',
    });
    Validations.of(this.deploymentGroup.role).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSCodeDeployRoleForLambdaLimited]',
      reason:
        'The CodeDeploy service role uses the AWS managed policy made for Lambda deployments (get/update alias, describe alarms, CodeDeploy hook functions only).',
    });

    // --- dashboard ----------------------------------------------------------------------------------------------
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: config.appName,
      defaultInterval: Duration.hours(3),
    });
    const widgets = new DashboardWidgets(environment, props);
    this.dashboard.addWidgets(
      new TextWidget({
        markdown: `# ${config.appName}\nServing SLO: p95 latency ≤ ${alarms.p95LatencyMs} ms, 5xx ≤ ${alarms.serverErrorRatePercent} % of requests, no throttles. Runbooks: docs/operations/. Metrics: docs/metrics.md.`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Alarms',
        alarms: [this.servingUnhealthyAlarm, ...this.servingAlarms, this.pipelineFailureAlarm, this.driftAlarm, this.productionFallbackAlarm, ...failureAlarms, ...endpointAlarms, ...(props.canaryAlarms ?? [])] satisfies IAlarm[],
        width: 24,
        height: 3,
      }),
    );
    for (const row of widgets.rows(config, [this.latencyAlarm, this.serverErrorAlarm])) this.dashboard.addWidgets(...row);
  }

  /**
   * The new version's own figures, from the first minute of the canary: its 5xx rate (the handler's
   * `VersionServerErrors` for `function_version` = the version) and its p95 duration (Lambda's `ExecutedVersion`
   * metrics of the `live` alias), each judged only with `rollback.minRequests` requests in the period. One breaching
   * period rolls back, so the alarm can fire before the canary interval ends (the config checks the timing rule).
   */
  private createRollbackAlarms(config: MlopsConfig, alias: Alias): Alarm[] {
    const { rollback } = config.observability.deployment;
    const period = Duration.seconds(rollback.periodSeconds);
    const version = alias.version.version;
    const answers = (statistic: string): Metric =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName: API_METRICS.versionServerErrors,
        dimensionsMap: {
          [EMF_DIMENSIONS.service]: INFERENCE_API_SERVICE_NAME,
          [EMF_DIMENSIONS.environment]: config.appName,
          [EMF_DIMENSIONS.functionVersion]: version,
        },
        statistic,
        period,
      });
    const executed = (metricName: string, statistic: string): Metric =>
      new Metric({
        namespace: 'AWS/Lambda',
        metricName,
        dimensionsMap: { FunctionName: alias.version.lambda.functionName, Resource: `${alias.version.lambda.functionName}:${alias.aliasName}`, ExecutedVersion: version },
        statistic,
        period,
      });
    const shape = {
      evaluationPeriods: rollback.evaluationPeriods,
      datapointsToAlarm: rollback.evaluationPeriods,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      // No request to the new version is no evidence against it; the pre-traffic hook has called it already.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    };
    const runbook = 'runbook: docs/operations/automatic-rollback.md';
    return [
      new Alarm(this, 'RollbackErrorsAlarm', {
        alarmName: `${config.appName}-predict-rollback-5xx`,
        alarmDescription: `New predict version: more than ${rollback.maxErrorRatePercent} % of its answers are 5xx (with ${rollback.minRequests}+ requests); rolls the deployment back (${runbook})`,
        metric: new MathExpression({
          expression: `IF(requests >= ${rollback.minRequests}, 100 * rate, 0)`,
          usingMetrics: { rate: answers(Stats.AVERAGE), requests: answers(Stats.SAMPLE_COUNT) },
          label: 'new version 5xx %',
          period,
        }),
        threshold: rollback.maxErrorRatePercent,
        ...shape,
      }),
      new Alarm(this, 'RollbackLatencyAlarm', {
        alarmName: `${config.appName}-predict-rollback-p95`,
        alarmDescription: `New predict version: p95 duration above ${rollback.maxP95LatencyMs} ms (with ${rollback.minRequests}+ requests); rolls the deployment back (${runbook})`,
        metric: new MathExpression({
          expression: `IF(requests >= ${rollback.minRequests}, p95, 0)`,
          usingMetrics: { p95: executed('Duration', Stats.p(95)), requests: executed('Invocations', Stats.SUM) },
          label: 'new version p95 ms',
          period,
        }),
        threshold: rollback.maxP95LatencyMs,
        ...shape,
      }),
    ];
  }

  /** The BeforeAllowTraffic hook: may invoke the new version only, read the registry, and report to CodeDeploy. */
  private createPreTrafficHook(config: MlopsConfig, props: ObservabilityProps): MlopsFunction {
    const newVersion = props.predictAlias.version;
    const hook = new MlopsFunction(this, 'PreTrafficHook', {
      entry: PRE_TRAFFIC_HOOK_ENTRY,
      description: 'Serverless MLOps: predicts through a new predict version before CodeDeploy shifts traffic to it',
      serviceName: PRE_TRAFFIC_HOOK_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: 256,
      timeout: Duration.minutes(5),
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      environment: {
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.TARGET_FUNCTION_ARN]: newVersion.functionArn,
      },
    });
    props.registry.grantRegistryRead(hook);
    hook.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['lambda:InvokeFunction'], resources: [newVersion.functionArn] }));
    // LambdaDeploymentGroup grants codedeploy:PutLifecycleEventHookExecutionStatus on the deployment group.
    return hook;
  }

  /**
   * CloudWatch alarms publish as the `cloudwatch.amazonaws.com` service: the created topic's policy (which holds the
   * SSL-only statement) and its key must let it. An imported topic must allow this itself (docs/operations).
   */
  private allowCloudWatchToPublish(topic: ITopic, key: IKey | undefined): void {
    const stack = Stack.of(this);
    const cloudWatch = new ServicePrincipal('cloudwatch.amazonaws.com');
    // Only this account's alarms (confused deputy): CloudWatch acts for whoever owns the alarm.
    const fromOwnAlarms = {
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
    };
    topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarms',
        effect: Effect.ALLOW,
        principals: [cloudWatch],
        actions: ['sns:Publish'],
        resources: [topic.topicArn],
        conditions: fromOwnAlarms,
      }),
    );
    key?.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        effect: Effect.ALLOW,
        principals: [cloudWatch],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: fromOwnAlarms,
      }),
    );
  }
}

/**
 * API Gateway metrics of the deployment stage, with literal dimensions (API name and stage name from the config).
 * `Stage.metric*()` would reference the stage resource, which depends on the methods, which invoke the `live` alias,
 * which CodeDeploy updates with these alarms as rollback triggers: a dependency cycle.
 */
class ApiMetrics {
  private readonly apiName: string;
  private readonly stageName: string;

  public constructor(restApi: RestApi, stageName: string) {
    this.apiName = restApi.restApiName;
    this.stageName = stageName;
  }

  public metric(metricName: string, options: MetricOptions): Metric {
    return new Metric({
      namespace: 'AWS/ApiGateway',
      metricName,
      dimensionsMap: { ApiName: this.apiName, Stage: this.stageName },
      ...options,
    });
  }
}

/** `SEARCH('<query>', '<stat>', <seconds>)`: every metric matching the query, so new models appear without a deploy. */
function search(query: string, stat: string, label?: string): SearchExpression {
  return new SearchExpression({
    expression: `SEARCH('${query}', '${stat}', ${DASHBOARD_PERIOD.toSeconds()})`,
    period: DASHBOARD_PERIOD,
    ...(label === undefined ? {} : { label }),
  });
}

/** A search schema: `{Namespace,dim1,dim2,...}` (only metrics with exactly these dimensions). */
function schema(namespace: string, ...dimensions: string[]): string {
  return `{${[namespace, ...[...dimensions].sort()].join(',')}}`;
}

/** The dashboard's widgets, one row of graphs per concern. */
class DashboardWidgets {
  private readonly env: string;
  private readonly props: ObservabilityProps;

  public constructor(environment: string, props: ObservabilityProps) {
    this.env = environment;
    this.props = props;
  }

  public rows(config: MlopsConfig, alarms: readonly [latency: Alarm, serverErrors: Alarm]): GraphLike[][] {
    return [
      this.api(alarms),
      this.lambda(config),
      this.models(),
      this.versions(),
      this.variants(),
      this.drift(),
      this.pipeline(),
      ...config.observability.sagemakerEndpointNames
        .filter((name) => !(this.props.gpuEndpoints ?? []).some((endpoint) => endpoint.endpointName === name))
        .map((endpoint) => this.sageMaker(endpoint)),
      ...(this.props.gpuEndpoints ?? []).map((endpoint) => this.gpuEndpoint(endpoint)),
    ];
  }

  /** A GPU path endpoint of this stack: invocations and errors, model latency, and GPU utilisation on instances. */
  private gpuEndpoint(endpoint: GpuEndpoint): GraphLike[] {
    const period = DASHBOARD_PERIOD;
    const name = endpoint.endpointName;
    const invocation = (metricName: string, statistic: string): Metric => endpoint.metric('AWS/SageMaker', metricName, statistic, period);
    const row: GraphLike[] = [
      graph(`SageMaker ${name}: invocations and errors`, [
        invocation('Invocations', Stats.SUM),
        invocation('Invocation4XXErrors', Stats.SUM),
        invocation('Invocation5XXErrors', Stats.SUM),
        invocation('ModelSetupTime', Stats.MAXIMUM),
      ], [], 6),
      graph(`SageMaker ${name}: model latency (µs)`, [
        invocation('ModelLatency', Stats.p(50)),
        invocation('ModelLatency', Stats.p(95)),
        invocation('OverheadLatency', Stats.p(95)),
      ], [{ ...endpoint.latencyAlarm.toAnnotation(), label: 'p95 alarm' }], 6),
      // What the predict handler saw: failed calls by code, throttling retries, circuit openings (all containers).
      graph(`SageMaker ${name}: calls from the predict function`, [
        this.emfEndpoint(API_METRICS.endpointFailures, name, [EMF_DIMENSIONS.endpoint, EMF_DIMENSIONS.code]),
        this.emfEndpoint(API_METRICS.endpointThrottleRetries, name, [EMF_DIMENSIONS.endpoint]),
        this.emfEndpoint(API_METRICS.endpointCircuitOpened, name, [EMF_DIMENSIONS.endpoint]),
      ], [], 6),
    ];
    const gpuAlarm = endpoint.gpuUtilizationAlarm;
    if (gpuAlarm !== undefined) {
      const instance = (metricName: string): Metric => endpoint.metric('/aws/sagemaker/Endpoints', metricName, Stats.AVERAGE, period);
      row.push(
        graph(`SageMaker ${name}: GPU and CPU utilisation (%)`, [
          instance('GPUUtilization'),
          instance('GPUMemoryUtilization'),
          instance('CPUUtilization'),
        ], [{ ...gpuAlarm.toAnnotation(), label: 'GPU alarm' }], 6),
      );
    }
    return row;
  }

  /** `SEARCH` over the platform namespace for this environment, with a schema (exact dimension set) or without. */
  private emf(metricName: string, stat: string, dimensions?: string[]): SearchExpression {
    const where = `MetricName="${metricName}" ${EMF_DIMENSIONS.environment}="${this.env}"`;
    const query =
      dimensions === undefined
        ? `Namespace="${METRICS_NAMESPACE}" ${where}`
        : `${schema(METRICS_NAMESPACE, EMF_DIMENSIONS.service, EMF_DIMENSIONS.environment, ...dimensions)} ${where}`;
    // A dynamic label, applied to every series the search returns: the varying dimensions' values (the default label
    // when the dimensions are not known).
    const varying = (dimensions ?? []).filter((name) => name !== EMF_DIMENSIONS.route);
    const suffix = varying.length === 0 ? '${LABEL}' : varying.map((name) => `\${PROP('Dim.${name}')}`).join(' ');
    return search(query, stat, `${metricName} ${stat} ${suffix}`);
  }

  /** A handler metric about one endpoint (`SEARCH` with its exact dimension set, narrowed to the endpoint). */
  private emfEndpoint(metricName: string, endpoint: string, dimensions: string[]): SearchExpression {
    const query = `${schema(METRICS_NAMESPACE, EMF_DIMENSIONS.service, EMF_DIMENSIONS.environment, ...dimensions)} MetricName="${metricName}" ${EMF_DIMENSIONS.environment}="${this.env}" ${EMF_DIMENSIONS.endpoint}="${endpoint}"`;
    const varying = dimensions.filter((dimension) => dimension !== EMF_DIMENSIONS.endpoint);
    const suffix = varying.length === 0 ? '' : ` ${varying.map((dimension) => `\${PROP('Dim.${dimension}')}`).join(' ')}`;
    return search(query, 'Sum', `${metricName}${suffix}`);
  }

  /** A Powertools metric with its exact dimension set (default dimensions + `extra`). */
  private powertools(metricName: string, service: string, extra: Record<string, string>, statistic: string): Metric {
    return new Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { [EMF_DIMENSIONS.service]: service, [EMF_DIMENSIONS.environment]: this.env, ...extra },
      statistic,
      period: DASHBOARD_PERIOD,
      label: metricName,
    });
  }

  private api([latencyAlarm, serverErrorAlarm]: readonly [Alarm, Alarm]): GraphLike[] {
    const stage = new ApiMetrics(this.props.restApi, this.props.config.api.stageName);
    const period = DASHBOARD_PERIOD;
    // One graph: the two expressions need their own ids for their error metrics.
    const rate = (id: string, errors: Metric, label: string): MathExpression =>
      new MathExpression({
        expression: `100 * FILL(${id}, 0) / requests`,
        usingMetrics: { [id]: errors, requests: stage.metric('Count', { statistic: Stats.SUM, period }) },
        label,
        period,
      });
    const threshold = (alarm: Alarm, label: string): HorizontalAnnotation => ({ ...alarm.toAnnotation(), label });
    return [
      graph('API latency (ms)', [
        stage.metric('Latency', { statistic: Stats.p(50), period, label: 'Latency p50' }),
        stage.metric('Latency', { statistic: Stats.p(95), period, label: 'Latency p95' }),
        stage.metric('Latency', { statistic: Stats.p(99), period, label: 'Latency p99' }),
        stage.metric('IntegrationLatency', { statistic: Stats.p(95), period, label: 'IntegrationLatency p95' }),
      ], [threshold(latencyAlarm, 'p95 SLO')]),
      graph('API requests', [stage.metric('Count', { statistic: Stats.SUM, period, label: 'Count' })]),
      graph('API 4xx and 5xx (% of requests)', [
        rate('clientErrors', stage.metric('4XXError', { statistic: Stats.SUM, period }), '4XXError %'),
        rate('serverErrors', stage.metric('5XXError', { statistic: Stats.SUM, period }), '5XXError %'),
      ], [threshold(serverErrorAlarm, '5xx SLO')]),
      graph('Errors answered by the function, by code', [
        this.emf(API_METRICS.serverErrors, 'Sum', [EMF_DIMENSIONS.code]),
        this.emf(API_METRICS.clientErrors, 'Sum', [EMF_DIMENSIONS.code]),
      ]),
    ];
  }

  private lambda(config: MlopsConfig): GraphLike[] {
    const fn = this.props.predictFunction;
    const period = DASHBOARD_PERIOD;
    const concurrency: IMetric[] = [fn.metric('ConcurrentExecutions', { statistic: Stats.MAXIMUM, period, label: 'ConcurrentExecutions max' })];
    if (config.predict.provisionedConcurrency > 0) {
      const alias = this.props.predictAlias;
      concurrency.push(
        alias.metric('ProvisionedConcurrencySpilloverInvocations', { statistic: Stats.SUM, period, label: 'spillover (live)' }),
      );
    }
    return [
      graph('Predict function duration (ms)', [
        fn.metricDuration({ statistic: Stats.p(50), period, label: 'Duration p50' }),
        fn.metricDuration({ statistic: Stats.p(95), period, label: 'Duration p95' }),
        fn.metricDuration({ statistic: Stats.p(99), period, label: 'Duration p99' }),
      ]),
      graph('Predict function errors and throttles', [
        fn.metricErrors({ statistic: Stats.SUM, period, label: 'Errors' }),
        fn.metricThrottles({ statistic: Stats.SUM, period, label: 'Throttles' }),
      ]),
      graph('Predict function concurrency', concurrency),
      graph('Predict function cold starts', [
        this.powertools(API_METRICS.coldStart, INFERENCE_API_SERVICE_NAME, { [EMF_DIMENSIONS.functionName]: fn.functionName }, Stats.SUM),
      ]),
    ];
  }

  private models(): GraphLike[] {
    const perPredict = [EMF_DIMENSIONS.route, EMF_DIMENSIONS.model];
    return [
      graph('Predict latency p95 by model (ms)', [this.emf(API_METRICS.predictLatency, 'p95', perPredict)]),
      graph('Predicted rows by model', [this.emf(API_METRICS.predictedRows, 'Sum', perPredict)]),
      graph('Model load time by model (ms, max)', [this.emf(API_METRICS.modelLoadTime, 'Maximum', [EMF_DIMENSIONS.model])]),
      graph('Shadow and canary', [
        this.emf(API_METRICS.shadowScoredRows, 'Sum', [EMF_DIMENSIONS.model]),
        // Without a schema: matches the metric whatever dimension set carries it.
        this.emf(API_METRICS.shadowDisagreements, 'Sum'),
        this.emf(API_METRICS.shadowFailures, 'Sum', [EMF_DIMENSIONS.model]),
        this.emf(API_METRICS.canaryFallbacks, 'Sum', [EMF_DIMENSIONS.model]),
        this.emf(API_METRICS.productionFallbacks, 'Sum', [EMF_DIMENSIONS.model]),
        this.emf(API_METRICS.staleServingConfig, 'Sum', [EMF_DIMENSIONS.model]),
      ]),
    ];
  }

  /** Per model version and variant (production, canary, shadow): read from the log, where they are EMF metadata. */
  private versions(): GraphLike[] {
    const logGroupNames = [this.props.predictLogGroup.logGroupName];
    return [
      new LogQueryWidget({
        title: 'Traffic and latency by model version (production, canary)',
        logGroupNames,
        view: LogQueryVisualizationType.TABLE,
        queryLines: [
          'filter ispresent(PredictLatency)',
          'stats count(*) as requests, sum(PredictedRows) as rows, pct(PredictLatency, 50) as p50_ms, pct(PredictLatency, 95) as p95_ms by model, model_version, variant',
          'sort model, variant',
        ],
        width: 8,
        height: 6,
      }),
      new LogQueryWidget({
        title: 'Requests by variant',
        logGroupNames,
        view: LogQueryVisualizationType.LINE,
        queryLines: ['filter ispresent(PredictLatency)', 'stats count(*) as requests by bin(5m), variant'],
        width: 8,
        height: 6,
      }),
      new LogQueryWidget({
        title: 'Shadow versions: rows and disagreements',
        logGroupNames,
        view: LogQueryVisualizationType.TABLE,
        queryLines: [
          'filter message = "shadow scored"',
          'stats sum(rows) as rows, sum(disagreements) as disagreements, avg(mean_abs_diff) as mean_abs_diff by model, production_version, shadow_version',
        ],
        width: 8,
        height: 6,
      }),
    ];
  }

  /** Per serving variant of each model (production, canary): the metrics the canary alarms and the canary watch read. */
  private variants(): GraphLike[] {
    const perVariant = [EMF_DIMENSIONS.model, EMF_DIMENSIONS.variant];
    return [
      graph('Requests by model and variant', [this.emf(VARIANT_METRICS.errors, 'SampleCount', perVariant)]),
      graph('Predict latency p95 by variant (ms)', [this.emf(VARIANT_METRICS.latency, 'p95', perVariant)]),
      graph('Error rate by variant (0 to 1)', [this.emf(VARIANT_METRICS.errors, 'Average', perVariant)]),
      graph('Prediction score by variant (mean, p10, p90)', [
        this.emf(VARIANT_METRICS.score, 'Average', perVariant),
        this.emf(VARIANT_METRICS.score, 'p10', perVariant),
        this.emf(VARIANT_METRICS.score, 'p90', perVariant),
      ]),
    ];
  }

  /** Emitted by the drift job (docs/metrics.md): without a schema, whatever dimensions it uses. */
  private drift(): GraphLike[] {
    return [
      graph('Prediction score distribution by model', [
        this.emf(DRIFT_METRICS.predictionScore, 'p10'),
        this.emf(DRIFT_METRICS.predictionScore, 'p50'),
        this.emf(DRIFT_METRICS.predictionScore, 'p90'),
      ]),
      graph('Drift score by model (overall)', [this.emf(DRIFT_METRICS.score, 'Maximum')]),
      graph('Drift by feature', [this.emf(DRIFT_METRICS.feature, 'Maximum')]),
      graph('Critical drift', [this.emf(DRIFT_METRICS.critical, 'Sum')]),
    ];
  }

  private pipeline(): GraphLike[] {
    const sfn = this.props.stateMachine;
    const period = DASHBOARD_PERIOD;
    const step = (value: string): Record<string, string> => ({ [EMF_DIMENSIONS.step]: value });
    return [
      graph('Pipeline executions', [
        sfn.metricStarted({ statistic: Stats.SUM, period, label: 'ExecutionsStarted' }),
        sfn.metricSucceeded({ statistic: Stats.SUM, period, label: 'ExecutionsSucceeded' }),
        sfn.metricFailed({ statistic: Stats.SUM, period, label: 'ExecutionsFailed' }),
        sfn.metricTimedOut({ statistic: Stats.SUM, period, label: 'ExecutionsTimedOut' }),
      ]),
      graph('Gate decisions and promotions', [
        this.powertools(PIPELINE_METRICS.gatePassed, TRAINING_PIPELINE_SERVICE_NAME, step('gate'), Stats.SUM),
        this.powertools(PIPELINE_METRICS.gateFailed, TRAINING_PIPELINE_SERVICE_NAME, step('gate'), Stats.SUM),
        this.powertools(PIPELINE_METRICS.modelsPromoted, TRAINING_PIPELINE_SERVICE_NAME, step('promote'), Stats.SUM),
        this.powertools(PIPELINE_METRICS.failures, TRAINING_PIPELINE_SERVICE_NAME, step('record_failure'), Stats.SUM),
      ]),
      graph('Pipeline step errors by step', [this.emf(PIPELINE_METRICS.stepErrors, 'Sum', [EMF_DIMENSIONS.step])]),
      graph('Pipeline step duration p95 by step (ms)', [this.emf(PIPELINE_METRICS.stepDuration, 'p95', [EMF_DIMENSIONS.step])]),
    ];
  }

  private sageMaker(endpoint: string): GraphLike[] {
    const query = (metricName: string): string =>
      `${schema('AWS/SageMaker', 'EndpointName', 'VariantName')} MetricName="${metricName}" EndpointName="${endpoint}"`;
    return [
      graph(`SageMaker ${endpoint}: invocations and errors`, [
        search(query('Invocations'), 'Sum'),
        search(query('Invocation4XXErrors'), 'Sum'),
        search(query('Invocation5XXErrors'), 'Sum'),
      ], [], 12),
      graph(`SageMaker ${endpoint}: model latency p95 (µs)`, [search(query('ModelLatency'), 'p95')], [], 12),
    ];
  }
}

type GraphLike = GraphWidget | LogQueryWidget;

function graph(title: string, left: IMetric[], leftAnnotations: HorizontalAnnotation[] = [], width = 6): GraphWidget {
  return new GraphWidget({ title, left, leftAnnotations, width, height: 6 });
}
