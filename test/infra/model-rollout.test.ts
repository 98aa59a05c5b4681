import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack, imported } from './support.ts';

type Json = Record<string, unknown>;
type CfnResource = { Properties?: Record<string, unknown> };

const CANARY_DIMENSIONS = (model: string, variant: string) => [
  { Name: 'environment', Value: 'serverless-mlops' },
  { Name: 'model', Value: model },
  { Name: 'service', Value: 'inference-api' },
  { Name: 'variant', Value: variant },
];

describe('ModelRollout', () => {
  const { template } = buildStack();
  const topic = { Ref: Match.stringLikeRegexp('NotificationTopic') };

  function watchFunctionId(): string {
    const ids = Object.keys(
      template.findResources('AWS::Lambda::Function', {
        Properties: { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'canary-watch' }) } },
      }),
    );
    expect(ids).toHaveLength(1);
    return ids[0] ?? '';
  }

  function statementsOfWatchRole(): Json[] {
    return (Object.values(template.findResources('AWS::IAM::Policy')) as CfnResource[])
      .filter((policy) => JSON.stringify(policy.Properties?.['Roles']).includes('WatchFunctionRole'))
      .flatMap((policy) => (policy.Properties?.['PolicyDocument'] as { Statement: Json[] }).Statement);
  }

  it('runs the canary-watch function on Node.js 24 with the canary thresholds, table, topic and metric dimensions', () => {
    watchFunctionId();
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'canary-watch',
          POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMLOps',
          MLOPS_ENVIRONMENT: 'serverless-mlops',
          INFERENCE_SERVICE_NAME: 'inference-api',
          NOTIFICATION_TOPIC_ARN: topic,
          REGISTRY_TABLE_NAME: imported('RegistryTableName'),
          CANARY_THRESHOLDS: JSON.stringify({ maxErrorRatePercent: 1, maxP95LatencyMs: 1000, maxScoreShift: 0.1, minRequests: 50, healthyMinutes: 30, autoPromote: true }),
        }),
      },
    });
  });

  it('grants the watch registry reads and change writes, GetMetricData, publishing and sending its failures to the dead-letter queue, nothing more', () => {
    const statements = statementsOfWatchRole();
    const actions = statements.flatMap((s) => (Array.isArray(s['Action']) ? s['Action'] : [s['Action']])).sort();
    expect(actions).toEqual(
      [
        'cloudwatch:GetMetricData',
        'dynamodb:ConditionCheckItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'sns:Publish',
        'sqs:GetQueueAttributes',
        'sqs:GetQueueUrl',
        'sqs:SendMessage',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    // CDK merges statements with the same resources: find each action's statement.
    const resourceOf = (action: string): string =>
      JSON.stringify(statements.find((s) => (Array.isArray(s['Action']) ? s['Action'] : [s['Action']]).includes(action))?.['Resource']);
    expect(resourceOf('cloudwatch:GetMetricData')).toBe('"*"');
    expect(resourceOf('sns:Publish')).toMatch(/^\{"Ref":"TrainingPipelineNotificationTopic\w+"\}$/);
    expect(resourceOf('sqs:SendMessage')).toMatch(/^\{"Fn::GetAtt":\["DeadLettersQueue\w+","Arn"\]\}$/);
    for (const action of ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:ConditionCheckItem']) {
      // The data stack's table, by its imported name.
      expect(resourceOf(action)).toMatch(/^\{"Fn::Join":\["",\[.*":table\/",\{"Fn::ImportValue":"serverless-mlops-data:RegistryTableName"\}\]\]\}$/);
    }
  });

  it('runs the watch every minute and when a canary alarm goes into ALARM', () => {
    const fn = watchFunctionId();
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 } })],
    });
    const alarmArns = ['errors', 'latency-p95', 'score-shift'].map((name) => {
      const ids = Object.keys(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: `serverless-mlops-canary-credit-${name}` } }));
      expect(ids).toHaveLength(1);
      return { 'Fn::GetAtt': [ids[0], 'Arn'] };
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        resources: alarmArns,
        detail: { state: { value: ['ALARM'] } },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fn, 'Arn'] } })],
    });
    template.hasResourceProperties('AWS::Lambda::Permission', { Principal: 'events.amazonaws.com', FunctionName: { 'Fn::GetAtt': [fn, 'Arn'] } });
  });

  it('alarms on the canary error rate above 1 %, from VariantErrors of the canary variant, notifying the topic', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'serverless-mlops-canary-credit-errors',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * rate', ReturnData: true }),
        Match.objectLike({
          Id: 'rate',
          MetricStat: { Metric: { Namespace: 'ServerlessMLOps', MetricName: 'VariantErrors', Dimensions: CANARY_DIMENSIONS('credit', 'canary') }, Period: 60, Stat: 'Average' },
          ReturnData: false,
        }),
      ]),
      Threshold: 1,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 5,
      DatapointsToAlarm: 3,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
    });
  });

  it('alarms on the canary p95 latency above 1000 ms', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'serverless-mlops-canary-credit-latency-p95',
      Namespace: 'ServerlessMLOps',
      MetricName: 'VariantLatency',
      Dimensions: CANARY_DIMENSIONS('credit', 'canary'),
      ExtendedStatistic: 'p95',
      Threshold: 1000,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topic],
    });
  });

  it('alarms on the canary mean score shifting more than 0.1 from production', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'serverless-mlops-canary-credit-score-shift',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'ABS(canary - production)', ReturnData: true }),
        Match.objectLike({ Id: 'canary', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'VariantScore', Dimensions: CANARY_DIMENSIONS('credit', 'canary') }), Stat: 'Average' }) }),
        Match.objectLike({ Id: 'production', MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'VariantScore', Dimensions: CANARY_DIMENSIONS('credit', 'production') }), Stat: 'Average' }) }),
      ]),
      Threshold: 0.1,
      AlarmActions: [topic],
    });
  });

  it('takes thresholds from config and makes canary alarms for every configured model', () => {
    const { template: custom } = buildStack({
      observability: { canary: { maxErrorRatePercent: 2.5, maxP95LatencyMs: 300, maxScoreShift: 0.05 } },
      pipeline: { models: { credit: { target: 'Status', positiveLabel: 'bad' }, fraud: { target: 'is_fraud', positiveLabel: '1' } } },
    });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-canary-credit-errors', Threshold: 2.5 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-canary-fraud-latency-p95', Threshold: 300 });
    custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-canary-fraud-score-shift', Threshold: 0.05 });
    // 10 platform alarms (serving 4, pipeline, drift, production fallback, drift job and canary watch errors, dead
    // letters), 2 code rollback alarms, 3 per canary model, + 1: batch scoring's failed-jobs alarm.
    custom.resourceCountIs('AWS::CloudWatch::Alarm', 10 + 2 + 6 + 1);
  });

  it('keeps the schedule, and needs no alarm rule, when no model is configured', () => {
    const { template: custom } = buildStack({ pipeline: { models: {} } });
    custom.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    expect(Object.keys(custom.findResources('AWS::Events::Rule', { Properties: { EventPattern: Match.objectLike({ source: ['aws.cloudwatch'] }) } }))).toEqual([]);
  });
});
