import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { EventBus, EventField, type IRule, Rule, RuleTargetInput, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { DRIFT_ITEM_KEY_PREFIX, retrainTargetsOf } from '#contracts/drift.ts';
import type { MlopsConfig } from '../config.ts';
import { DRIFT_MONITOR_SERVICE_NAME, ENV } from './environment.ts';
import { MlopsFunction } from './mlops-function.ts';
import { nagArnOf } from './logical-id.ts';
import type { IModelRegistry } from './model-store.ts';

/** Entry of the drift job Lambda, relative to the repository root. */
export const DRIFT_JOB_ENTRY = 'lambdas/drift-job/handler.ts';

/** Timeout of the drift function; its lease lasts a minute longer, so a crashed run frees it by itself. */
export const DRIFT_FUNCTION_TIMEOUT = Duration.minutes(15);

/** Prefixes of the capture bucket the drift job reads, and the one it writes. */
export const DRIFT_READ_PREFIXES = ['captures/', 'feedback/'] as const;
export const DRIFT_REPORT_PREFIX = 'drift-reports/';

export interface DriftMonitorProps {
  readonly config: MlopsConfig;
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  /** The capture bucket (captures, feedback, reports). */
  readonly captureBucket: IBucket;
  /**
   * Where a failed run goes: the schedules' events EventBridge could not deliver, and the invocations that threw,
   * timed out or ran out of memory (the function's on-failure destination).
   */
  readonly deadLetterQueue: IQueue;
}

/**
 * The drift job: a Lambda run by two EventBridge schedules from the config (the regular check, hourly by default,
 * and the daily full report at 02:00 UTC), and on demand. It reads captures and feedback, writes JSON and HTML
 * reports under `drift-reports/`, emits metrics, and puts `DriftDetected`, `PerformanceDegraded` and
 * `RetrainRequested` on the default bus, where the training pipeline's retrain rule picks the last one up.
 * The retrain cooldown (`pipeline.cooldownMinutes`) and the single-flight lease are conditional writes in the registry
 * table; a retrain lands as `drift.retrainPromotion` says (a canary waiting for approval by default).
 */
export class DriftMonitor extends Construct {
  public readonly driftFunction: MlopsFunction;
  public readonly scheduleRule: IRule;
  public readonly dailyRule: IRule;
  /** The settings the job runs with, as the `DRIFT_CONFIG` JSON (also a stack output, for `mlops drift run`). */
  public readonly settingsJson: string;

  public constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    const { config, captureBucket } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.settingsJson = JSON.stringify({
      app: config.appName,
      thresholds: config.drift.thresholds,
      performance: { maxDrop: config.drift.performanceMaxDrop, minLabels: config.drift.thresholds.minRows },
      cooldownMinutes: config.pipeline.cooldownMinutes,
      retrainOnCritical: config.drift.retrainOnCritical,
      retrainTargets: retrainTargetsOf(config.pipeline.models),
      maxWindowRows: config.drift.maxWindowRows,
      retrainPromotion: config.drift.retrainPromotion,
    });

    this.driftFunction = new MlopsFunction(this, 'DriftFunction', {
      entry: DRIFT_JOB_ENTRY,
      description: 'Serverless MLOps drift job (KS, chi-square, PSI, Wasserstein; reports, events, retraining)',
      serviceName: DRIFT_MONITOR_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: 3008,
      timeout: DRIFT_FUNCTION_TIMEOUT,
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      // One run at a time comes from the lease in the registry table, not from reserved concurrency (which fails the
      // deploy on accounts whose unreserved concurrency is at its minimum); reserve only when the config says so.
      ...(config.drift.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.drift.reservedConcurrency }),
      environment: {
        [ENV.DRIFT_LEASE_SECONDS]: String(DRIFT_FUNCTION_TIMEOUT.toSeconds() + 60),
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.CAPTURE_BUCKET_NAME]: captureBucket.bucketName,
        [ENV.EVENT_BUS_NAME]: 'default',
        [ENV.DRIFT_CONFIG]: this.settingsJson,
      },
    });
    const fn = this.driftFunction;
    props.registry.grantRegistryRead(fn);
    // The retrain cooldown items (pk DRIFT#{model}) and the single-flight lease (pk DRIFT#LEASE), and nothing else of
    // the table: no model, version or audit item, whatever the job's code does.
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [props.registry.registryTable.tableArn],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${DRIFT_ITEM_KEY_PREFIX}*`] } },
      }),
    );
    fn.grantPrefixRead(captureBucket, DRIFT_READ_PREFIXES);
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject'], resources: [captureBucket.arnForObjects(`${DRIFT_REPORT_PREFIX}*`)] }),
    );
    EventBus.fromEventBusName(this, 'DefaultBus', 'default').grantPutEventsTo(fn);
    const nagBucketArn = nagArnOf(Stack.of(this).resolve(captureBucket.bucketArn));
    if (fn.role !== undefined && nagBucketArn !== undefined) {
      for (const prefix of [...DRIFT_READ_PREFIXES, DRIFT_REPORT_PREFIX]) {
        Validations.of(fn.role).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagBucketArn}/${prefix}*]`,
          reason: `The drift job reads or writes per model, version, date and hour under ${prefix}; keys are not known at deploy time.`,
        });
      }
    }

    // No Lambda retry of a failed run: a crash, an out-of-memory or a timeout of a 15-minute, 3 GB job would most
    // likely fail the same way twice more (45 minutes), and the next scheduled run checks again anyway (the lease
    // frees itself a minute after the timeout). The failed event goes to the dead-letter queue, whose alarm pages.
    fn.configureAsyncInvoke({ retryAttempts: 0, onFailure: new SqsDestination(props.deadLetterQueue) });
    // The scheduled event's time goes in the input: a retried invocation checks the same window and sends the
    // same retrain request id. EventBridge's retries are of the delivery (Invoke throttled or failed), not of the run.
    const target = (kind: 'hourly' | 'daily', window: string) =>
      new LambdaFunction(fn, {
        event: RuleTargetInput.fromObject({ kind, window, time: EventField.time }),
        retryAttempts: 2,
        deadLetterQueue: props.deadLetterQueue,
      });
    this.scheduleRule = new Rule(this, 'ScheduleRule', {
      description: `Drift check of every model over ${config.drift.window}`,
      schedule: Schedule.expression(config.drift.schedule),
      targets: [target('hourly', config.drift.window)],
    });
    this.dailyRule = new Rule(this, 'DailyRule', {
      description: 'Daily full drift report of every model over 24 h',
      schedule: Schedule.expression(config.drift.dailySchedule),
      targets: [target('daily', '24h')],
    });
  }
}
