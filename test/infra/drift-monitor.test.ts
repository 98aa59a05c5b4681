import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { CAPTURE_S3_PREFIX } from '../../lib/constructs/prediction-capture.ts';
import { DRIFT_DETAIL_TYPES, DRIFT_EVENT_SOURCE, RETRAIN_REQUESTER, matchesEventPattern, type ExactEventPattern } from '#contracts/drift.ts';
import { parseDriftJobSettings } from '#core/drift/job-settings.ts';
import { DRIFT_LEASE_KEY } from '#adapters/dynamodb-drift-lease.ts';
import { capturePartitionPrefix } from '#core/capture/records.ts';
import { buildStack, IMPORTED_TABLE_ARN, importedObjects } from './support.ts';

describe('PredictionCapture', () => {
  const { template, dataTemplate } = buildStack();

  it('delivers JSON lines to the capture bucket, partitioned by model, version, date and hour', () => {
    template.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      DeliveryStreamType: 'DirectPut',
      DeliveryStreamEncryptionConfigurationInput: { KeyType: 'AWS_OWNED_CMK' },
      ExtendedS3DestinationConfiguration: Match.objectLike({
        Prefix: CAPTURE_S3_PREFIX,
        ErrorOutputPrefix: Match.stringLikeRegexp('^capture-errors/'),
        DynamicPartitioningConfiguration: { Enabled: true, RetryOptions: { DurationInSeconds: 300 } },
        BufferingHints: { IntervalInSeconds: 60, SizeInMBs: 64 },
      }),
    });
    // The same layout the reader expects (core/capture/records.ts).
    const local = capturePartitionPrefix('credit', 3, new Date('2026-12-01T07:30:00Z'));
    expect(local).toBe('captures/model=credit/version=3/date=2026-12-01/hour=07/');
    expect(CAPTURE_S3_PREFIX.replace(/!\{[^}]+\}/g, 'X')).toBe('captures/model=X/version=X/date=X/hour=X/');
  });

  it('keeps the capture bucket (in the data stack) encrypted, private, TLS only and expiring', () => {
    dataTemplate.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      LoggingConfiguration: { LogFilePrefix: 'capture-bucket/' },
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ ExpirationInDays: 90, Status: 'Enabled' })]) },
    });
  });

  it('lets the predict function put records on the stream and feedback under feedback/', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('PredictFunctionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'firehose:PutRecordBatch', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('DeliveryStream'), 'Arn'] } }),
        ]),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CAPTURE_STREAM_NAME: Match.anyValue(), CAPTURE_SAMPLE_RATE: '1', CAPTURE_BUCKET_NAME: Match.anyValue() }) },
    });
  });
});

describe('DriftMonitor', () => {
  const { template } = buildStack({ drift: { schedule: 'rate(30 minutes)', window: '30m' } });

  it('runs the drift job on the configured schedule and daily at 02:00 UTC, with the event time as input', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(30 minutes)',
      Targets: [Match.objectLike({ InputTransformer: Match.objectLike({ InputPathsMap: { time: '$.time' } }) })],
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'cron(0 2 * * ? *)' });
  });

  it('passes the thresholds, the cooldown of the pipeline and the retrain targets to the job', () => {
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'drift-monitor' } } } });
    const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> }; ReservedConcurrentExecutions: number } }[];
    const settings = JSON.parse(fn?.Properties.Environment.Variables.DRIFT_CONFIG ?? '{}') as Record<string, unknown>;
    expect(settings).toMatchObject({
      thresholds: { pValue: 0.05, psiWarning: 0.1, psiCritical: 0.25, shareWarning: 0.2, shareCritical: 0.3 },
      cooldownMinutes: 60,
      retrainOnCritical: true,
      retrainTargets: { credit: { target: 'Status', positiveLabel: 'bad' } },
      maxWindowRows: 50_000,
    });
    // The model's own training settings (the default credit model's fixed threshold), none of the pipeline-wide defaults:
    // a retrain keeps the production version's trainer and settings unless the model's config gives its own.
    expect((settings['retrainTargets'] as Record<string, unknown>)['credit']).toEqual({
      target: 'Status',
      positiveLabel: 'bad',
      decisionThreshold: { policy: 'fixed', threshold: 0.5 },
    });
    // Single-flight is the lease, not reserved concurrency: reserving fails on accounts at their concurrency minimum.
    expect(fn?.Properties.ReservedConcurrentExecutions).toBeUndefined();
    expect(fn?.Properties.Environment.Variables.DRIFT_LEASE_SECONDS).toBe('960');
    // A drift-triggered retrain lands as a canary waiting for a person.
    expect(settings['retrainPromotion']).toEqual({ mode: 'canary', approvalRequired: true });
    const { template: reserved } = buildStack({ drift: { reservedConcurrency: 3 } });
    reserved.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'drift-monitor' }) },
      ReservedConcurrentExecutions: 3,
    });
  });

  it('writes a DRIFT_CONFIG the drift job accepts (the handler parses it at cold start)', () => {
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'drift-monitor' } } } });
    const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const json = fn?.Properties.Environment.Variables.DRIFT_CONFIG ?? '';
    expect(parseDriftJobSettings(json)).toEqual(JSON.parse(json));
  });

  it('grants reads of captures and feedback, report writes, the cooldown item and PutEvents on the default bus', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('DriftFunctionRole') }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem'], Resource: IMPORTED_TABLE_ARN }),
          Match.objectLike({ Action: 's3:PutObject', Resource: importedObjects('CaptureBucketArn', 'drift-reports/*') }),
          Match.objectLike({ Action: 'events:PutEvents' }),
        ]),
      },
    });
  });

  it('lets the drift function write only its own items of the registry table: the lease and the cooldowns, pk DRIFT#…', () => {
    type Statement = { Action: string | string[]; Effect: string; Resource: unknown; Condition?: unknown };
    const policies = Object.values(template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('DriftFunctionRole') }] } })) as {
      Properties: { PolicyDocument: { Statement: Statement[] } };
    }[];
    const writes = policies
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement)
      .filter((statement) => [statement.Action].flat().some((action) => /^dynamodb:(\w*Write\w*|\w+Item|\*)$/.test(action) && !/^dynamodb:(Get|BatchGet)Item$/.test(action)));
    // The partition key is `pk`, which LeadingKeys reads; a write of any other item (a model, a version) is denied.
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:DeleteItem', 'dynamodb:PutItem'],
        Resource: IMPORTED_TABLE_ARN,
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DRIFT#*'] } },
      },
    ]);
    expect(DRIFT_LEASE_KEY.pk).toMatch(/^DRIFT#/);
  });

  it("sends retrain requests the training pipeline rule of the same deployment listens to (DRIFT_CONFIG's app)", () => {
    const functions = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'drift-monitor' } } } });
    const [fn] = Object.values(functions) as { Properties: { Environment: { Variables: Record<string, string> } } }[];
    const settings = parseDriftJobSettings(fn?.Properties.Environment.Variables.DRIFT_CONFIG ?? '');
    expect(settings.app).toBe('serverless-mlops');
    const rules = template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { 'detail-type': [DRIFT_DETAIL_TYPES.retrainRequested] } } });
    const [rule] = Object.values(rules) as { Properties: { EventPattern: ExactEventPattern } }[];
    const event = { source: DRIFT_EVENT_SOURCE, 'detail-type': DRIFT_DETAIL_TYPES.retrainRequested, detail: { app: settings.app, requested_by: RETRAIN_REQUESTER } };
    expect(matchesEventPattern(rule?.Properties.EventPattern ?? {}, event)).toBe(true);
  });
});
