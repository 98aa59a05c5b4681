/** The dashboard, the alarms and the predict function's CodeDeploy rollout (`observability` block). */
import { canaryWatchConfig } from './canary.ts';
import * as z from 'zod';
import { addIssue, integerIn, numberIn, oneOf, stringMatching, strictObject } from './schema.ts';

/** How CodeDeploy shifts traffic to a new version of the predict function (CodeDeploy's predefined Lambda configs). */
export const DEPLOYMENT_STRATEGIES = ['allAtOnce', 'canary10Percent5Minutes', 'canary10Percent10Minutes', 'linear10PercentEvery1Minute'] as const;
export type DeploymentStrategy = (typeof DEPLOYMENT_STRATEGIES)[number];

/** SageMaker endpoint names (CreateEndpoint's rule). */
export const SAGEMAKER_ENDPOINT_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
/** CloudWatch's limit on evaluation periods × period for alarms. */
const MAX_ALARM_WINDOW_SECONDS = 86_400;

const periodError = 'must be a multiple of 60 from 60 to 3600';

/**
 * Thresholds and evaluation of the alarms. The serving alarms (latency, 5xx rate, throttles) evaluate
 * `datapointsToAlarm` of `evaluationPeriods` periods of `periodSeconds`; the pipeline and drift alarms fire on one
 * period holding one event.
 */
export const alarmsConfig = strictObject({
  periodSeconds: z
    .number({ error: periodError })
    .int({ error: periodError })
    .gte(60, { error: periodError })
    .lte(3600, { error: periodError })
    .multipleOf(60, { error: periodError })
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

/** The `observability` block. */
export const observabilityConfig = strictObject({
  alarms: alarmsConfig.prefault({}).meta({ description: 'Alarm thresholds (the SLO) and evaluation.' }),
  deployment: strictObject({
    strategy: oneOf(DEPLOYMENT_STRATEGIES)
      .default('canary10Percent5Minutes')
      .meta({ description: 'How CodeDeploy shifts the predict function\'s `live` alias to a new version (the serving alarms roll it back).' }),
  })
    .prefault({})
    .meta({ description: "Safe rollout of the predict function's code." }),
  sagemakerEndpointNames: z
    .array(stringMatching(SAGEMAKER_ENDPOINT_NAME, 'a sagemaker endpoint name (letters, digits and dashes, 1 to 63)'), {
      error: 'must be an array of endpoint names',
    })
    .default([])
    .meta({ description: 'Endpoints whose health the dashboard shows.' }),
  canary: canaryWatchConfig.prefault({}).meta({ description: "Safe rollout of model versions: the canary watch's thresholds and healthy time." }),
});

export type AlarmsConfig = z.output<typeof alarmsConfig>;
export type DeploymentConfig = z.output<typeof observabilityConfig>['deployment'];
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
