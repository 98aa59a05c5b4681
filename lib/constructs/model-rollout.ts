import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IKey } from 'aws-cdk-lib/aws-kms';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MlopsConfig } from '../config.ts';
import { CANARY_WATCH_SERVICE_NAME, ENV, INFERENCE_API_SERVICE_NAME, METRICS_NAMESPACE } from './environment.ts';
import { MlopsFunction } from './mlops-function.ts';
import { METRIC_DIMENSIONS, VARIANT_METRICS } from '#contracts/metrics.ts';
import type { IModelRegistry } from './model-store.ts';

/** Entry of the canary-watch Lambda, relative to the repository root. */
export const CANARY_WATCH_ENTRY = 'lambdas/canary-watch/handler.ts';

/** How often every canary is judged, besides the alarm-driven runs. */
export const CANARY_WATCH_SCHEDULE = Schedule.rate(Duration.minutes(1));

export interface ModelRolloutProps {
  /**
   * Thresholds and healthy time from `observability.canary`; alarm period and evaluation from
   * `observability.alarms`; one set of canary alarms per model of `pipeline.models`.
   */
  readonly config: MlopsConfig;
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  /** Where the canary alarms and the watch's rollbacks and promotions are announced. */
  readonly topic: ITopic;
  /**
   * The KMS key encrypting {@link topic}; the watch may use it to publish.
   * @default - the topic is not encrypted with a key of this stack; nothing is granted
   */
  readonly topicKey?: IKey | undefined;
  /**
   * Where a failed watch run goes: trigger events EventBridge could not deliver, and invocations that threw or timed
   * out (the function's on-failure destination).
   */
  readonly deadLetterQueue: IQueue;
}

/** The canary alarms of one model. */
export interface CanaryAlarms {
  /** Canary error rate (%) above `observability.canary.maxErrorRatePercent`. */
  readonly errors: Alarm;
  /** Canary p95 latency above `observability.canary.maxP95LatencyMs`. */
  readonly latency: Alarm;
  /** |canary mean score − production mean score| above `observability.canary.maxScoreShift`. */
  readonly scoreShift: Alarm;
}

/**
 * Safe rollout of model versions: the canary-watch Lambda, run every minute and whenever a canary alarm fires,
 * judges every model's canary against production and the thresholds (lambdas/core/serving/canary-watch.ts), clears
 * a failing canary or promotes a healthy one through the registry, and notifies the topic. Per-model canary alarms
 * (error rate, p95 latency, score shift) watch the per-variant metrics of the models known to the config; models
 * registered later are still judged by the schedule.
 */
export class ModelRollout extends Construct {
  public readonly watchFunction: MlopsFunction;
  /** Canary alarms by model name. */
  public readonly canaryAlarms: Readonly<Record<string, CanaryAlarms>>;
  /** Runs the watch every minute. */
  public readonly scheduleRule: Rule;
  /** Runs the watch when a canary alarm goes into ALARM. */
  public readonly alarmRule: Rule | undefined;

  public constructor(scope: Construct, id: string, props: ModelRolloutProps) {
    super(scope, id);
    const { config } = props;
    const { canary, alarms } = config.observability;

    this.watchFunction = new MlopsFunction(this, 'WatchFunction', {
      entry: CANARY_WATCH_ENTRY,
      description: 'Serverless MLOps canary watch: rolls back failing canary model versions, promotes healthy ones',
      serviceName: CANARY_WATCH_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: 256,
      timeout: Duration.seconds(60),
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      environment: {
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.NOTIFICATION_TOPIC_ARN]: props.topic.topicArn,
        [ENV.CANARY_THRESHOLDS]: JSON.stringify(canary),
        [ENV.INFERENCE_SERVICE_NAME]: INFERENCE_API_SERVICE_NAME,
      },
    });
    const fn = this.watchFunction;
    // Reads through the house helper; writes: the registry's change transactions (conditioned put and updates).
    props.registry.grantRegistryRead(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem'],
        resources: [props.registry.registryTable.tableArn],
      }),
    );
    fn.grantOnAnyResource(
      'MetricReadPolicy',
      ['cloudwatch:GetMetricData'],
      'The watch reads the canary and production metrics of the inference service: cloudwatch:GetMetricData has no resource-level permissions, so it takes Resource "*".',
    );
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['sns:Publish'], resources: [props.topic.topicArn] }));
    props.topicKey?.grant(fn, 'kms:Decrypt', 'kms:GenerateDataKey');

    // --- canary alarms, per model known to the config ----------------------------------------------------------
    const period = Duration.seconds(alarms.periodSeconds);
    const variantMetric = (model: string, variant: 'canary' | 'production', metricName: string, statistic: string): Metric =>
      new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: {
          [METRIC_DIMENSIONS.environment]: config.appName,
          [METRIC_DIMENSIONS.service]: INFERENCE_API_SERVICE_NAME,
          [METRIC_DIMENSIONS.model]: model,
          [METRIC_DIMENSIONS.variant]: variant,
        },
        statistic,
        period,
      });
    const shape = {
      evaluationPeriods: alarms.evaluationPeriods,
      datapointsToAlarm: alarms.datapointsToAlarm,
      // No canary (or no traffic on it) is not a breach.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
    };
    const runbook = 'runbook: docs/operations/automatic-rollback.md';
    const action = new SnsAction(props.topic);
    const byModel: Record<string, CanaryAlarms> = {};
    for (const model of Object.keys(config.pipeline.models)) {
      const alarmsOfModel: CanaryAlarms = {
        errors: new Alarm(this, `CanaryErrors-${model}`, {
          alarmName: `${config.appName}-canary-${model}-errors`,
          alarmDescription: `Canary of ${model}: error rate above ${canary.maxErrorRatePercent} % (${runbook})`,
          metric: new MathExpression({
            expression: '100 * rate',
            usingMetrics: { rate: variantMetric(model, 'canary', VARIANT_METRICS.errors, Stats.AVERAGE) },
            label: `canary ${model} error %`,
            period,
          }),
          threshold: canary.maxErrorRatePercent,
          ...shape,
        }),
        latency: new Alarm(this, `CanaryLatency-${model}`, {
          alarmName: `${config.appName}-canary-${model}-latency-p95`,
          alarmDescription: `Canary of ${model}: p95 latency above ${canary.maxP95LatencyMs} ms (${runbook})`,
          metric: variantMetric(model, 'canary', VARIANT_METRICS.latency, Stats.p(95)),
          threshold: canary.maxP95LatencyMs,
          ...shape,
        }),
        scoreShift: new Alarm(this, `CanaryScoreShift-${model}`, {
          alarmName: `${config.appName}-canary-${model}-score-shift`,
          alarmDescription: `Canary of ${model}: mean score differs from production's by more than ${canary.maxScoreShift} (${runbook})`,
          metric: new MathExpression({
            expression: 'ABS(canary - production)',
            usingMetrics: {
              canary: variantMetric(model, 'canary', VARIANT_METRICS.score, Stats.AVERAGE),
              production: variantMetric(model, 'production', VARIANT_METRICS.score, Stats.AVERAGE),
            },
            label: `canary ${model} score shift`,
            period,
          }),
          threshold: canary.maxScoreShift,
          ...shape,
        }),
      };
      for (const alarm of Object.values(alarmsOfModel)) alarm.addAlarmAction(action);
      byModel[model] = alarmsOfModel;
    }
    this.canaryAlarms = byModel;

    // --- triggers ----------------------------------------------------------------------------------------------
    // No Lambda retry of a failed run: the schedule runs the watch again within the minute, over the same window, and
    // its decisions carry client tokens. A failed run goes to the dead-letter queue (alarmed): a watch that keeps
    // failing never rolls a bad canary back, so it must not fail quietly.
    fn.configureAsyncInvoke({ retryAttempts: 0, onFailure: new SqsDestination(props.deadLetterQueue) });
    const target = new LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.minutes(5), deadLetterQueue: props.deadLetterQueue });
    this.scheduleRule = new Rule(this, 'ScheduleRule', {
      description: 'Judges every canary model version each minute (promotion after its healthy time, rollback on breach)',
      schedule: CANARY_WATCH_SCHEDULE,
      targets: [target],
    });
    const alarmArns = Object.values(byModel).flatMap((set) => Object.values(set).map((alarm) => alarm.alarmArn));
    this.alarmRule =
      alarmArns.length === 0
        ? undefined
        : new Rule(this, 'AlarmRule', {
            description: 'Runs the canary watch at once when a canary alarm goes into ALARM',
            eventPattern: {
              source: ['aws.cloudwatch'],
              detailType: ['CloudWatch Alarm State Change'],
              resources: alarmArns,
              detail: { state: { value: ['ALARM'] } },
            },
            targets: [target],
          });
  }

  /** Every canary alarm, model by model. */
  public allCanaryAlarms(): Alarm[] {
    return Object.values(this.canaryAlarms).flatMap((set) => [set.errors, set.latency, set.scoreShift]);
  }
}
