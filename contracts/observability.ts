/** The dashboard, the alarms and the predict function's CodeDeploy rollout (`observability` block). */
import { canaryWatchConfig } from './canary.ts';
import * as z from 'zod';
import { addIssue, integerIn, numberIn, oneOf, stringMatching, strictObject } from './schema.ts';

/**
 * How CodeDeploy shifts traffic to a new version of the predict function (CodeDeploy's predefined Lambda configs).
 * CodeDeploy's linear 1- and 2-minute configs are left out: no alarm can reach ALARM within them (one period + 2
 * minutes of metric lag).
 */
export const DEPLOYMENT_STRATEGIES = [
  'allAtOnce',
  'canary10Percent5Minutes',
  'canary10Percent10Minutes',
  'canary10Percent15Minutes',
  'canary10Percent30Minutes',
  'linear10PercentEvery3Minutes',
  'linear10PercentEvery10Minutes',
] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/**
 * The interval (seconds) between two traffic shifts of each strategy: what a rollback alarm must fit in (0: all at
 * once, nothing to fit).
 */
export const DEPLOYMENT_STRATEGY_INTERVALS: Readonly<Record<DeploymentStrategy, number>> = {
  allAtOnce: 0,
  canary10Percent5Minutes: 300,
  canary10Percent10Minutes: 600,
  canary10Percent15Minutes: 900,
  canary10Percent30Minutes: 1800,
  linear10PercentEvery3Minutes: 180,
  linear10PercentEvery10Minutes: 600,
};

/** CloudWatch's lag between a datapoint and its evaluation, counted by the canary timing rule. */
export const ALARM_METRIC_LAG_SECONDS = 120;

/** Seconds an alarm of `evaluationPeriods` periods of `periodSeconds` needs to reach ALARM (the canary timing rule). */
export function secondsToAlarm(evaluationPeriods: number, periodSeconds: number): number {
  return evaluationPeriods * periodSeconds + ALARM_METRIC_LAG_SECONDS;
}

/** SageMaker endpoint names (CreateEndpoint's rule). */
export const SAGEMAKER_ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** CloudWatch's limit on evaluation periods × period for alarms. */
const MAX_ALARM_WINDOW_SECONDS = 86_400;

const periodError = 'must be a multiple of 60 from 60 to 3600';

/** An alarm period: a multiple of 60 seconds from 60 to 3600. */
const alarmPeriod = () =>
  z
    .number({ error: periodError })
    .int({ error: periodError })
    .gte(60, { error: periodError })
    .lte(3600, { error: periodError })
    .multipleOf(60, { error: periodError });

/**
 * Thresholds and evaluation of the alarms. The serving alarms (latency, 5xx rate, 5xx outage, throttles) evaluate
 * `datapointsToAlarm` of `evaluationPeriods` periods of `periodSeconds`; the pipeline and drift alarms fire on one
 * period holding one event.
 */
export const alarmsConfig = strictObject({
  periodSeconds: alarmPeriod()
    .default(60)
    .meta({ description: 'Period of the serving and canary alarms.' }),
  evaluationPeriods: integerIn(1, 100)
    .default(5)
    .meta({ description: 'Periods a serving or canary alarm looks at.' }),
  datapointsToAlarm: integerIn(1, 100)
    .default(3)
    .meta({ description: 'Breaching periods (of those) that fire it.' }),
  p95LatencyMs: integerIn(1, 30_000)
    .default(1000)
    .meta({ description: 'API Gateway p95 `Latency` SLO (`<app>-api-latency-p95`).' }),
  serverErrorRatePercent: numberIn(0, 100, true)
    .default(0.1)
    .meta({ description: 'API 5xx share of requests SLO (`<app>-api-5xx-rate`).' }),
  throttles: integerIn(1, 1_000_000)
    .default(1)
    .meta({ description: 'Predict function throttles per period (`<app>-predict-throttles`).' }),
  pipelineFailures: integerIn(1, 1000)
    .default(1)
    .meta({ description: 'Failed pipeline executions in 5 minutes (`<app>-pipeline-failed`).' }),
  driftCritical: integerIn(1, 1000)
    .default(1)
    .meta({ description: 'Critical drift reports in 5 minutes (`<app>-drift-critical`).' }),
  minRequests: integerIn(1, 100_000_000)
    .default(20)
    .meta({
      description:
        'API requests a period must hold before the 5xx SLO alarm judges its rate (fewer: not breaching, so one 5xx among a handful of requests does not page). Below it, `<app>-api-5xx-outage` still catches a full outage.',
    }),
  outageErrorRatePercent: numberIn(0, 100, true)
    .default(50)
    .meta({
      description:
        'API 5xx share of requests that counts as an outage at any traffic, one request a period included (`<app>-api-5xx-outage`, `datapointsToAlarm` of `evaluationPeriods` periods).',
    }),
}).superRefine((alarms, ctx) => {
  if (alarms.evaluationPeriods * alarms.periodSeconds > MAX_ALARM_WINDOW_SECONDS) {
    addIssue(
      ctx,
      ['evaluationPeriods'],
      `times observability.alarms.periodSeconds (${alarms.periodSeconds}) must be at most ${MAX_ALARM_WINDOW_SECONDS} seconds`,
      alarms.evaluationPeriods,
    );
  }
  if (alarms.datapointsToAlarm > alarms.evaluationPeriods) {
    addIssue(ctx, ['datapointsToAlarm'], `must be an integer from 1 to ${alarms.evaluationPeriods}`, alarms.datapointsToAlarm);
  }
});

/**
 * The alarms that roll a code deployment of the predict function back: they watch the new version only (Lambda's
 * `ExecutedVersion` metrics and the handler's per-version `VersionServerErrors`), need `minRequests`, and must reach
 * ALARM within the strategy's interval (evaluation periods × period + 2 minutes of metric lag). The defaults are the
 * product's rule: roll back at more than 10 % errors or a p95 above 5 s.
 */
export const rollbackConfig = strictObject({
  maxErrorRatePercent: numberIn(0, 100, true)
    .default(10)
    .meta({ description: "The new version's share of 5xx answers, in percent (`VersionServerErrors`), above which it is rolled back (`<app>-predict-rollback-5xx`)." }),
  maxP95LatencyMs: integerIn(1, 900_000).default(5000).meta({ description: "The new version's p95 duration in ms (Lambda `ExecutedVersion`) above which it is rolled back (`<app>-predict-rollback-p95`)." }),
  minRequests: integerIn(1, 1_000_000).default(10).meta({ description: 'Requests of the new version in a period before it is judged.' }),
  periodSeconds: alarmPeriod().default(60).meta({ description: 'Period of the rollback alarms in seconds.' }),
  evaluationPeriods: integerIn(1, 100)
    .default(1)
    .meta({
      description:
        "Breaching periods in a row that roll back. Checked at synth: `evaluationPeriods × periodSeconds + 120 s` (CloudWatch's metric lag) must fit in the strategy's interval.",
    }),
});

/** The `observability.deployment` block, with the canary timing rule. */
export const deploymentConfig = strictObject({
  strategy: oneOf(DEPLOYMENT_STRATEGIES)
    .default('canary10Percent5Minutes')
    .meta({
      description:
        "How CodeDeploy shifts the predict function's `live` alias to a new version, after the pre-traffic hook has predicted through it; the rollback alarms roll it back. The 1- and 2-minute linear configs are not offered: no alarm can fire within them.",
    }),
  rollback: rollbackConfig.prefault({}).meta({ description: 'The rollback alarms: thresholds, minimum requests, evaluation.' }),
}).superRefine((deployment, ctx) => {
  // An alarm that cannot reach ALARM before the last shift cannot roll back in time.
  const { strategy, rollback } = deployment;
  const interval = DEPLOYMENT_STRATEGY_INTERVALS[strategy];
  const needed = secondsToAlarm(rollback.evaluationPeriods, rollback.periodSeconds);
  if (interval > 0 && needed > interval) {
    const field = 'observability.deployment.rollback';
    addIssue(
      ctx,
      ['rollback', 'evaluationPeriods'],
      `times ${field}.periodSeconds (${rollback.periodSeconds}) plus ${ALARM_METRIC_LAG_SECONDS} s of metric lag must fit in the ${interval} s interval of "${strategy}" (needs ${needed} s)`,
      rollback.evaluationPeriods,
    );
  }
});

/** The `observability` block. */
export const observabilityConfig = strictObject({
  alarms: alarmsConfig.prefault({}).meta({ description: 'Alarm thresholds (the SLO) and evaluation.' }),
  deployment: deploymentConfig.prefault({}).meta({ description: "Safe rollout of the predict function's code." }),
  sagemakerEndpointNames: z
    .array(stringMatching(SAGEMAKER_ENDPOINT_NAME, 'a sagemaker endpoint name (letters, digits and dashes, 1 to 63)'), {
      error: 'must be an array of endpoint names',
    })
    .default([])
    .meta({ description: 'Endpoints whose health the dashboard shows.' }),
  canary: canaryWatchConfig.prefault({}).meta({ description: "Safe rollout of model versions: the canary watch's thresholds and healthy time." }),
});

export type AlarmsConfig = z.output<typeof alarmsConfig>;
export type RollbackConfig = z.output<typeof rollbackConfig>;
export type DeploymentConfig = z.output<typeof deploymentConfig>;
export type ObservabilityConfig = z.output<typeof observabilityConfig>;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

/** The `notifications` block: where the pipeline's notifications and the alarms go. */
export const notificationsConfig = strictObject({
  emails: z
    .array(stringMatching(EMAIL, 'an email address'), { error: 'must be an array of email addresses' })
    .default([])
    .meta({ description: "Email addresses subscribed to the pipeline's notification topic (each must confirm the subscription)." }),
  topicArn: stringMatching(SNS_TOPIC_ARN, 'the arn of a standard (not fifo) sns topic')
    .optional()
    .meta({ description: 'ARN of an existing (standard, not FIFO) SNS topic to notify instead of creating one.' }),
});

export type NotificationsConfig = z.output<typeof notificationsConfig>;
