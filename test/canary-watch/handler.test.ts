import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRegistry } from '#adapters/dynamodb-registry.ts';
import { RegistryService } from '#core/registry/registry-service.ts';
import { trainCreditModel } from '../../examples/credit/train.ts';
import { startTransactionProxy } from '../../local/dynamodb-transactions.ts';
import { startDynamoDb, type RunningEmulator } from '../../local/emulators.ts';
import { ensureRegistryTable } from '../../local/provision.ts';

/**
 * The canary-watch Lambda's handler over a real registry (dynalite with the transaction proxy). CloudWatch has no
 * local server, so its answer is stubbed with the figures of a failing canary; SNS is stubbed to see the notice.
 */

const TABLE = 'canary-watch-test';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:mlops';

let dataDir: string;
let dynalite: RunningEmulator;
let proxy: RunningEmulator;
let registry: RegistryService;
const cloudWatch = mockClient(CloudWatchClient);
const sns = mockClient(SNSClient);

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'mlops-canary-watch-'));
  dynalite = await startDynamoDb(dataDir);
  proxy = await startTransactionProxy(dynalite);
  const dynamoClient = new DynamoDBClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  await ensureRegistryTable(dynamoClient, TABLE);
  registry = new RegistryService({ store: new DynamoDbRegistry(DynamoDBDocumentClient.from(dynamoClient), TABLE) });
  const { metadata } = await trainCreditModel();
  for (const n of [1, 2]) {
    const sha256 = n.toString(16).padStart(64, '0');
    await registry.register({ model: 'credit', artifact: { key: `models/credit/${sha256}.onnx`, sha256, size_bytes: 10 }, metadata, actor: 'tester' });
  }
  await registry.promote({ model: 'credit', version: 1, actor: 'tester' });
  await registry.setCanary({ model: 'credit', version: 2, share: 0.1, actor: 'tester' });

  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
    REGISTRY_TABLE_NAME: TABLE,
    POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMLOps',
    MLOPS_ENVIRONMENT: 'test-env',
    INFERENCE_SERVICE_NAME: 'inference-api',
    NOTIFICATION_TOPIC_ARN: TOPIC,
    CANARY_THRESHOLDS: JSON.stringify({ maxErrorRatePercent: 1, maxP95LatencyMs: 1000, maxScoreShift: 0.1, minRequests: 50, healthyMinutes: 30, autoPromote: true }),
  });
});

afterAll(async () => {
  cloudWatch.restore();
  sns.restore();
  await proxy?.close();
  await dynalite?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('canary-watch handler', () => {
  it('on a canary alarm, reads the variant figures, clears the failing canary with its reason and notifies the topic', async () => {
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'canary_requests', Values: [200] },
        { Id: 'canary_errors', Values: [30] },
        { Id: 'canary_p95', Values: [120] },
        { Id: 'canary_score', Values: [0.32] },
        { Id: 'production_requests', Values: [1800] },
        { Id: 'production_errors', Values: [1] },
        { Id: 'production_p95', Values: [60] },
        { Id: 'production_score', Values: [0.3] },
      ],
    });
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const { canaryWatchHandler } = await import('../../lambdas/canary-watch/handler.ts');

    const { checks } = await canaryWatchHandler({
      'detail-type': 'CloudWatch Alarm State Change',
      detail: { alarmName: 'serverless-mlops-canary-credit-errors', state: { value: 'ALARM' } },
    });

    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ model: 'credit', canaryVersion: 2, productionVersion: 1, outcome: 'applied', verdict: { action: 'rollback' } });
    const model = await registry.getModel('credit');
    expect(model.canary).toBeNull();
    expect(model.production_version).toBe(1);
    const last = (await registry.history('credit')).at(-1);
    expect(last).toMatchObject({ action: 'canary_clear', actor: 'canary-watch', outcome: 'applied' });
    expect(last?.reason).toBe('automatic rollback of canary version 2: canary error rate 15 % (30 of 200 requests) is above 1 %');
    const dimensions = cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions;
    expect(dimensions).toEqual([
      { Name: 'environment', Value: 'test-env' },
      { Name: 'model', Value: 'credit' },
      { Name: 'service', Value: 'inference-api' },
      { Name: 'variant', Value: 'canary' },
    ]);
    const published = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(published).toMatchObject({ TopicArn: TOPIC, Subject: '[credit] canary version 2 rolled back' });
    expect(published?.Message).toContain('canary: 200 requests, 30 errors, p95 120 ms, mean score 0.32');

    // The next tick finds no canary and changes nothing.
    expect((await canaryWatchHandler({ 'detail-type': 'Scheduled Event' })).checks).toEqual([]);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
  });
});

describe('parseCanaryThresholds', () => {
  it('refuses a missing, malformed or out-of-range CANARY_THRESHOLDS', async () => {
    const { parseCanaryThresholds } = await import('../../lambdas/canary-watch/thresholds.ts');
    expect(() => parseCanaryThresholds(undefined)).toThrow('environment variable CANARY_THRESHOLDS is not set');
    expect(() => parseCanaryThresholds('{maxErrorRatePercent')).toThrow(/^environment variable CANARY_THRESHOLDS: not valid json/);
    // The message synth gives for the same value in cdk.json, after the variable's name.
    expect(() => parseCanaryThresholds('{"maxScoreShift":0}')).toThrow(
      'environment variable CANARY_THRESHOLDS: config field "observability.canary.maxScoreShift" must be a number above 0 and at most 1, got 0',
    );
    expect(parseCanaryThresholds(process.env.CANARY_THRESHOLDS)).toMatchObject({ minRequests: 50, autoPromote: true });
  });
});
