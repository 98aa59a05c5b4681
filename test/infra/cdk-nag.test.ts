import { Stack } from 'aws-cdk-lib';
import { Bucket } from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { buildStack, unbundledApp } from './support.ts';

/** Runs the AwsSolutions pack over a construct tree; returns "ruleName at path" lines of unacknowledged findings. */
function findings(scope: Parameters<AwsSolutionsChecks['validateScope']>[0]): string[] {
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(scope);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
  );
}

describe('cdk-nag AwsSolutions', () => {
  it('reports findings on a non-compliant resource (the check is live)', () => {
    const stack = new Stack(unbundledApp(), 'Bare');
    new Bucket(stack, 'Bucket');
    expect(findings(stack).some((line) => line.startsWith('AwsSolutions-S1 '))).toBe(true);
  });

  it('checks both stacks of the app: a finding in the data stack is reported', () => {
    const { app, dataStack } = buildStack();
    new Bucket(dataStack, 'Unlogged');
    expect(findings(app).filter((line) => line.startsWith('AwsSolutions-S1 ')).map((line) => line.split(':')[0])).toEqual([`AwsSolutions-S1 at ${dataStack.stackName}/Unlogged/Resource`]);
  });

  it.each([
    ['the default config', undefined],
    [
      'a dev config (destroy, CORS, arm64, provisioned concurrency)',
      {
        removalPolicy: 'destroy',
        architecture: 'arm64',
        api: { corsAllowOrigins: ['https://a.example.com', 'https://b.example.com'] },
        predict: { reservedConcurrency: 5, provisionedConcurrency: 1 },
      },
    ],
    [
      'a pipeline with emails, a schedule and a SageMaker image',
      {
        notifications: { emails: ['ml-team@example.com'] },
        pipeline: {
          sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer:1' },
          models: { fraud: { target: 'y', positiveLabel: '1', trainer: 'sagemaker', datasetKey: 'datasets/f.csv', schedule: 'rate(7 days)' } },
        },
      },
    ],
    [
      'a pipeline with an existing topic and SageMaker role',
      {
        notifications: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' },
        pipeline: { sagemaker: { roleArn: 'arn:aws:iam::123456789012:role/sagemaker-training' } },
      },
    ],
    [
      'the GPU path: a Triton GPU endpoint, a serverless endpoint with its own image, and a dashboard-only endpoint',
      {
        sagemakerServing: {
          endpoints: {
            'fraud-gpu': { model: 'fraud', version: 3, maxInstances: 4 },
            'credit-spiky': { model: 'credit', version: 2, variant: 'serverless', image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnx:1' },
            'no-capture': { model: 'credit', version: 1, dataCapturePercent: 0 },
          },
        },
        observability: { sagemakerEndpointNames: ['fraud-gpu', 'external-endpoint'] },
      },
    ],
    [
      'API consumers, one with a quota and a key rotation in progress',
      { api: { consumers: [{ name: 'bank-a', models: ['credit'], quota: { limit: 1000, period: 'DAY' }, keyVersion: 2, retiredKeyVersions: [1] }, { name: 'bank-b' }] } },
    ],
    [
      'observability with a SageMaker endpoint and a linear rollout',
      { observability: { sagemakerEndpointNames: ['credit-endpoint'], deployment: { strategy: 'linear10PercentEvery3Minutes' } } },
    ],
  ])('has zero unacknowledged findings for %s', (_name, overrides) => {
    const { app } = buildStack(overrides);
    expect(findings(app)).toEqual([]);
  });
});
