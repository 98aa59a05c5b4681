import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { buildStack } from './support.ts';

type CfnResource = { Type?: string; Properties?: Record<string, unknown> };
type RuleTarget = { Id: string; Arn: unknown; DeadLetterConfig?: { Arn: unknown } };

function onlyId(template: Template, type: string, props: Record<string, unknown> = {}): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0] ?? '';
}

/** The logical id of the MlopsFunction whose logical id starts with `prefix` (its role and log group excluded). */
function functionId(template: Template, prefix: string): string {
  const ids = Object.keys(template.findResources('AWS::Lambda::Function')).filter((id) => id.startsWith(prefix));
  expect(ids, prefix).toHaveLength(1);
  return ids[0] ?? '';
}

describe('DeadLetters', () => {
  const { template } = buildStack({
    pipeline: { models: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'datasets/credit.csv', schedule: 'cron(0 3 * * ? *)' } } },
  });
  const queue = onlyId(template, 'AWS::SQS::Queue');
  const queueArn = { 'Fn::GetAtt': [queue, 'Arn'] };
  const topic = { Ref: Match.stringLikeRegexp('NotificationTopic') };

  it('is one SQS queue, encrypted with SQS-managed keys, TLS only, keeping messages 14 days', () => {
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queue }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('is the dead-letter queue of every EventBridge rule target: drift schedules, canary watch triggers, retrain and scheduled training', () => {
    const rules = template.findResources('AWS::Events::Rule') as Record<string, CfnResource>;
    const prefixes = ['DriftMonitorScheduleRule', 'DriftMonitorDailyRule', 'ModelRolloutScheduleRule', 'ModelRolloutAlarmRule', 'TrainingPipelineRetrainRule', 'TrainingPipelineSchedulecredit'];
    for (const prefix of prefixes) expect(Object.keys(rules).some((id) => id.startsWith(prefix)), prefix).toBe(true);
    const targets = Object.entries(rules).flatMap(([id, rule]) => (rule.Properties?.['Targets'] as RuleTarget[]).map((target) => ({ id, target })));
    expect(targets.length).toBeGreaterThanOrEqual(prefixes.length);
    for (const { id, target } of targets) expect(target.DeadLetterConfig, id).toEqual({ Arn: queueArn });
    // EventBridge may send there for these rules only.
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')) as CfnResource[];
    const statements = policy.flatMap((p) => (p.Properties?.['PolicyDocument'] as { Statement: { Principal?: unknown; Condition?: unknown }[] }).Statement);
    const fromEvents = statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'events.amazonaws.com' }));
    expect(fromEvents).toHaveLength(Object.keys(rules).length);
    for (const statement of fromEvents) expect(statement.Condition).toMatchObject({ ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } });
  });

  it('receives the drift job and the canary watch when they fail, with no Lambda retry (the schedules run them again)', () => {
    for (const prefix of ['DriftMonitorDriftFunction', 'ModelRolloutWatchFunction']) {
      const fn = functionId(template, prefix);
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fn },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        DestinationConfig: { OnFailure: { Destination: queueArn } },
      });
      // The function's own role sends there, granted on the queue alone.
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp(`^${prefix}Role`) }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: Match.arrayWith(['sqs:SendMessage']), Resource: queueArn })]) },
      });
    }
  });

  it('alarms on any error of the drift job and of the canary watch, and on any message in the queue, notifying the topic', () => {
    const once = { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, DatapointsToAlarm: 1, TreatMissingData: 'notBreaching', AlarmActions: [topic] };
    for (const [name, prefix] of [['drift-job', 'DriftMonitorDriftFunction'], ['canary-watch', 'ModelRolloutWatchFunction']] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `serverless-mlops-${name}-errors`,
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: functionId(template, prefix) } }],
        Statistic: 'Sum',
        Period: 300,
        ...once,
      });
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'serverless-mlops-dead-letters',
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } }],
      Statistic: 'Maximum',
      Period: 300,
      ...once,
    });
  });

  it('names the queue in a stack output, for the runbook', () => {
    template.hasOutput('DeadLetterQueueUrl', { Value: { Ref: queue } });
  });
});
