import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { loadConfig, parseConfig } from '../../lib/config.ts';
import { INFERENCE_API_SERVICE_NAME, METRICS_NAMESPACE } from '../../lib/constructs/environment.ts';
import { TRITON_IMAGE_ACCOUNTS } from '../../lib/constructs/gpu-endpoint.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { createPlatform } from '../../lib/serverless-mlops-stack.ts';
import { runCfnLint, templatesIn } from '../../scripts/cfn-lint.ts';
import { CFN_LINT } from '../support/optional-tools.ts';
import { buildStack, cdkJsonFeatureFlags, imported, importedObjects } from './support.ts';

type CfnResource = { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] };

/** A config with one GPU endpoint (all defaults) and one serverless endpoint with its own image. */
const GPU_CONFIG = {
  sagemakerServing: {
    endpoints: {
      'fraud-gpu': { model: 'fraud', version: 3 },
      'credit-spiky': {
        model: 'credit',
        version: 2,
        variant: 'serverless',
        image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/onnx-server:1.4',
        serverlessMemoryMb: 2048,
        serverlessMaxConcurrency: 20,
      },
    },
  },
};

function logicalIds(template: Template, type: string, props: Record<string, unknown> = {}): string[] {
  return Object.keys(template.findResources(type, { Properties: props }));
}

function only(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = logicalIds(template, type, props);
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0] ?? '';
}

/** The IAM statements of the policies attached to the role with this logical id. */
function statementsOfRole(template: Template, roleId: string): Record<string, unknown>[] {
  const policies = Object.values(template.findResources('AWS::IAM::Policy')) as CfnResource[];
  return policies
    .filter((policy) => JSON.stringify(policy.Properties?.['Roles']) === JSON.stringify([{ Ref: roleId }]))
    .flatMap((policy) => (policy.Properties?.['PolicyDocument'] as { Statement: Record<string, unknown>[] }).Statement);
}

/** The dimension set Powertools writes for each metric `emit` flushes (the tests disable metrics output, so flushes are caught). */
function emittedDimensionSets(emit: () => void): Map<string, string[]> {
  const outputs: ReturnType<Metrics['serializeMetrics']>[] = [];
  const publish = vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
    if (this.hasStoredMetrics()) outputs.push(this.serializeMetrics());
    this.clearMetrics();
    this.clearDimensions();
    return this;
  });
  try {
    emit();
  } finally {
    publish.mockRestore();
  }
  const sets = new Map<string, string[]>();
  for (const output of outputs) {
    for (const directive of output._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) sets.set(metric.Name, [...(directive.Dimensions[0] ?? [])].sort());
    }
  }
  return sets;
}

describe('GpuEndpoint in the stack', () => {
  const { template, stack } = buildStack(GPU_CONFIG);
  const fraudModel = only(template, 'AWS::SageMaker::Model', {
    PrimaryContainer: Match.objectLike({ Environment: { SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: 'fraud' } }),
  });
  const fraudConfig = only(template, 'AWS::SageMaker::EndpointConfig', {
    ProductionVariants: [Match.objectLike({ ModelName: { 'Fn::GetAtt': [fraudModel, 'ModelName'] } })],
  });

  it('creates each endpoint\'s log group with the configured retention before the endpoint, deleted with the stack', () => {
    for (const name of ['fraud-gpu', 'credit-spiky']) {
      const groups = template.findResources('AWS::Logs::LogGroup', { Properties: { LogGroupName: `/aws/sagemaker/Endpoints/${name}` } });
      // A fixed name: retained, it would make the next create of the stack fail with "already exists".
      expect(Object.values(groups)).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ RetentionInDays: 30 }), DeletionPolicy: 'Delete' })]);
      const endpoint = Object.values(template.findResources('AWS::SageMaker::Endpoint', { Properties: { EndpointName: name } })) as CfnResource[];
      expect(endpoint).toHaveLength(1);
      expect(endpoint[0]?.DependsOn).toContain(Object.keys(groups)[0]);
    }
  });

  it('creates nothing for SageMaker with the default config', () => {
    const { template: defaults } = buildStack();
    for (const type of ['AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Endpoint', 'AWS::ApplicationAutoScaling::ScalableTarget']) {
      expect(logicalIds(defaults, type)).toEqual([]);
    }
    expect(JSON.stringify(defaults.toJSON())).not.toContain('sagemaker:InvokeEndpoint');
    defaults.hasOutput('LambdaMaxArtifactBytes', { Value: '268435456' });
  });

  it('serves the package from the artifact bucket with the Triton image of the stack region by default', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: {
        Image: {
          'Fn::Join': ['', [{ 'Fn::FindInMap': ['TritonImageAccounts', { Ref: 'AWS::Region' }, 'account'] }, '.dkr.ecr.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/sagemaker-tritonserver:24.09-py3']],
        },
        ModelDataUrl: { 'Fn::Join': ['', ['s3://', imported('ArtifactBucketName'), '/sagemaker/fraud/3/model.tar.gz']] },
        Environment: { SAGEMAKER_TRITON_DEFAULT_MODEL_NAME: 'fraud' },
      },
    });
    const mapping = (template.toJSON() as { Mappings: Record<string, Record<string, { account: string }>> }).Mappings['TritonImageAccounts'];
    expect(mapping?.['us-east-1']).toEqual({ account: '763104351884' });
    expect(Object.keys(mapping ?? {}).sort()).toEqual(Object.keys(TRITON_IMAGE_ACCOUNTS).sort());
  });

  it('configures a GPU instance variant with data capture to S3', () => {
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{ VariantName: 'ml-g5-xlarge', ModelName: { 'Fn::GetAtt': [fraudModel, 'ModelName'] }, InstanceType: 'ml.g5.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 1 }],
      DataCaptureConfig: {
        EnableCapture: true,
        InitialSamplingPercentage: 10,
        DestinationS3Uri: { 'Fn::Join': ['', ['s3://', imported('ArtifactBucketName'), '/data-capture/fraud-gpu/']] },
        CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      },
    });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'fraud-gpu',
      EndpointConfigName: { 'Fn::GetAtt': [fraudConfig, 'EndpointConfigName'] },
    });
  });

  it('updates the GPU endpoint blue/green: a 10 % canary fleet, rolled back by its alarms, keeping the scaled instance count', () => {
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'fraud-gpu',
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
          TerminationWaitInSeconds: 600,
        },
        AutoRollbackConfiguration: { Alarms: [{ AlarmName: 'serverless-mlops-fraud-gpu-model-latency-p95' }, { AlarmName: 'serverless-mlops-fraud-gpu-5xx' }] },
      },
      // Instance count and weights of a variant of the same name survive an update (see the instance type change below).
      RetainAllVariantProperties: true,
      ExcludeRetainedVariantProperties: [{ VariantPropertyType: 'DataCaptureConfig' }],
    });
    // The rollback alarms exist under the names the endpoint reads.
    for (const name of ['serverless-mlops-fraud-gpu-model-latency-p95', 'serverless-mlops-fraud-gpu-5xx']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name });
    }
    // Serverless Inference has no blue/green canary: its endpoint has no deployment config.
    template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'credit-spiky', DeploymentConfig: Match.absent() });
  });

  it('says which SageMaker quota a GPU endpoint needs before the first deploy', () => {
    const outputs = template.findOutputs('*');
    const quota = Object.values(outputs).map((output) => String((output as { Value: unknown }).Value)).find((value) => value.includes('fraud-gpu'));
    expect(quota).toContain('"ml.g5.xlarge for endpoint usage"');
    expect(quota).toContain('at least 2');
    expect(quota).toContain('new accounts often have 0');
  });

  it('refuses a serverless endpoint with the default Triton image, which exceeds the 10 GB image limit', () => {
    expect(() => buildStack({ sagemakerServing: { endpoints: { spiky: { model: 'credit', version: 1, variant: 'serverless' } } } })).toThrow(
      'config field "sagemakerServing.endpoints.spiky.image" must be an image of at most 10 gb for variant "serverless": the triton images (the default) are larger than serverless inference allows, got undefined',
    );
    const triton = '763104351884.dkr.ecr.us-east-1.amazonaws.com/sagemaker-tritonserver:24.09-py3';
    expect(() => buildStack({ sagemakerServing: { endpoints: { spiky: { model: 'credit', version: 1, variant: 'serverless', image: triton } } } })).toThrow(
      /sagemakerServing.endpoints.spiky.image" must be an image of at most 10 gb/,
    );
  });

  it('scales the GPU variant by target tracking on invocations per instance, with the service-linked role', () => {
    const endpoint = only(template, 'AWS::SageMaker::Endpoint', { EndpointName: 'fraud-gpu' });
    const targetId = only(template, 'AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/fraud-gpu/variant/ml-g5-xlarge',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 1,
      MaxCapacity: 2,
      RoleARN: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::', { Ref: 'AWS::AccountId' }, ':role/aws-service-role/sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint']],
      },
    });
    const target = template.toJSON().Resources[targetId] as CfnResource;
    expect(target.DependsOn).toContain(endpoint);
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      ScalingTargetId: { Ref: targetId },
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 100,
        ScaleOutCooldown: 60,
        ScaleInCooldown: 600,
      },
    });
    expect(logicalIds(template, 'AWS::ApplicationAutoScaling::ScalableTarget')).toHaveLength(1); // none for serverless
  });

  it('configures the serverless variant with its image, memory and concurrency, without data capture', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: Match.objectLike({ Image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/onnx-server:1.4' }),
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ VariantName: 'serverless', ServerlessConfig: { MemorySizeInMB: 2048, MaxConcurrency: 20 } })],
      DataCaptureConfig: Match.absent(),
    });
  });

  it("gives each endpoint's execution role only its package, its capture prefix, its logs and its image", () => {
    const roleId = only(template, 'AWS::IAM::Role', { Description: 'Execution role of SageMaker endpoint fraud-gpu' });
    expect(statementsOfRole(template, roleId)).toEqual([
      { Action: 's3:GetObject', Effect: 'Allow', Resource: importedObjects('ArtifactBucketArn', 'sagemaker/fraud/3/model.tar.gz') },
      { Action: 's3:PutObject', Effect: 'Allow', Resource: importedObjects('ArtifactBucketArn', 'data-capture/fraud-gpu/*') },
      {
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:DescribeLogStreams', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':log-group:/aws/sagemaker/Endpoints/fraud-gpu:*']] },
      },
      { Action: 'cloudwatch:PutMetricData', Condition: { StringLike: { 'cloudwatch:namespace': '/aws/sagemaker/*' } }, Effect: 'Allow', Resource: '*' },
      {
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:', { Ref: 'AWS::Region' }, ':', { 'Fn::FindInMap': ['TritonImageAccounts', { Ref: 'AWS::Region' }, 'account'] }, ':repository/sagemaker-tritonserver']] },
      },
      { Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' },
    ]);
    template.hasResourceProperties('AWS::IAM::Role', {
      Description: 'Execution role of SageMaker endpoint fraud-gpu',
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'sagemaker.amazonaws.com' } }] },
      ManagedPolicyArns: Match.absent(),
    });
    const serverlessRole = only(template, 'AWS::IAM::Role', { Description: 'Execution role of SageMaker endpoint credit-spiky' });
    expect(statementsOfRole(template, serverlessRole)).toContainEqual({
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:123456789012:repository/team/onnx-server']] },
    });
    expect(JSON.stringify(statementsOfRole(template, serverlessRole))).not.toContain('data-capture');
  });

  it('lets the predict function invoke exactly the configured endpoints, with its call settings', () => {
    const predictRole = only(template, 'AWS::IAM::Role', { Description: 'Execution role of PredictFunction' });
    const invoke = statementsOfRole(template, predictRole).filter((statement) => JSON.stringify(statement.Action).includes('sagemaker:'));
    const endpointArn = (name: string): unknown => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:endpoint/${name}`]],
    });
    expect(invoke).toEqual([{ Action: 'sagemaker:InvokeEndpoint', Effect: 'Allow', Resource: expect.arrayContaining([endpointArn('fraud-gpu'), endpointArn('credit-spiky')]) }]);
    expect(invoke[0]?.['Resource']).toHaveLength(2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Serverless MLOps inference API (models, predict)',
      Environment: {
        Variables: Match.objectLike({
          SAGEMAKER_INVOKE_TIMEOUT_MS: '3000',
          SAGEMAKER_MAX_THROTTLE_RETRIES: '2',
          SAGEMAKER_RETRY_BASE_DELAY_MS: '100',
          SAGEMAKER_CIRCUIT_FAILURE_THRESHOLD: '5',
          SAGEMAKER_CIRCUIT_OPEN_SECONDS: '30',
        }),
      },
    });
    expect(stack.gpuEndpoints.map((endpoint) => endpoint.endpointName)).toEqual(['fraud-gpu', 'credit-spiky']);
  });

  it('alarms on model latency, 5xx and GPU utilisation, notifying the topic and joining the serving composite', () => {
    const topic = { Ref: Match.stringLikeRegexp('^TrainingPipelineNotificationTopic') };
    const dimensions = [{ Name: 'EndpointName', Value: 'fraud-gpu' }, { Name: 'VariantName', Value: 'ml-g5-xlarge' }];
    const alarm = (name: string, namespace: string, metricName: string, stat: string, threshold: number, operator: string): void =>
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: name,
        AlarmActions: [topic],
        Threshold: threshold,
        ComparisonOperator: operator,
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        Metrics: [Match.objectLike({ MetricStat: { Metric: { Namespace: namespace, MetricName: metricName, Dimensions: dimensions }, Period: 60, Stat: stat } })],
      });
    alarm('serverless-mlops-fraud-gpu-model-latency-p95', 'AWS/SageMaker', 'ModelLatency', 'p95', 1_000_000, 'GreaterThanThreshold');
    alarm('serverless-mlops-fraud-gpu-5xx', 'AWS/SageMaker', 'Invocation5XXErrors', 'Sum', 1, 'GreaterThanOrEqualToThreshold');
    alarm('serverless-mlops-fraud-gpu-gpu-utilization', '/aws/sagemaker/Endpoints', 'GPUUtilization', 'Average', 90, 'GreaterThanThreshold');
    // The serverless endpoint has no GPU.
    expect(logicalIds(template, 'AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-credit-spiky-gpu-utilization' })).toEqual([]);
    only(template, 'AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-credit-spiky-5xx' });

    const composite = Object.values(template.findResources('AWS::CloudWatch::CompositeAlarm'))[0] as CfnResource;
    expect(composite.Properties?.['AlarmDescription']).toMatch(/or a SageMaker endpoint alarm/);
    const rule = JSON.stringify(composite.Properties?.['AlarmRule']);
    for (const name of ['ModelLatencyAlarm', 'ServerErrorAlarm', 'GpuUtilizationAlarm']) expect(rule).toMatch(new RegExp(`GpuEndpointfraudgpu${name}`));
  });

  it('puts each endpoint on the dashboard: invocations and errors, model latency, GPU utilisation', () => {
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as CfnResource;
    const body = JSON.stringify(dashboard.Properties?.['DashboardBody']);
    for (const title of ['SageMaker fraud-gpu: invocations and errors', 'SageMaker fraud-gpu: model latency (µs)', 'SageMaker fraud-gpu: GPU and CPU utilisation (%)', 'SageMaker credit-spiky: model latency (µs)']) {
      expect(body).toContain(title);
    }
    expect(body).not.toContain('SageMaker credit-spiky: GPU');
  });

  it("searches the handler's endpoint metrics with the dimension sets Powertools really emits", () => {
    // The sequences of lambdas/inference-api/handler.ts (single metrics).
    const metrics = new Metrics({ serviceName: INFERENCE_API_SERVICE_NAME, namespace: METRICS_NAMESPACE, defaultDimensions: { environment: 'serverless-mlops' } });
    const sets = emittedDimensionSets(() => {
      const failure = metrics.singleMetric();
      failure.addDimension('endpoint', 'fraud-gpu');
      failure.addDimension('code', 'ENDPOINT_TIMEOUT');
      failure.addMetric('EndpointFailures', MetricUnit.Count, 1);
      const retry = metrics.singleMetric();
      retry.addDimension('endpoint', 'fraud-gpu');
      retry.addMetric('EndpointThrottleRetries', MetricUnit.Count, 1);
      const circuit = metrics.singleMetric();
      circuit.addDimension('endpoint', 'fraud-gpu');
      circuit.addMetric('EndpointCircuitOpened', MetricUnit.Count, 1);
    });
    // The dashboard body with tokens replaced, parsed: its widgets' metrics as JSON text.
    const dashboard = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0] as CfnResource;
    const parts = (dashboard.Properties?.['DashboardBody'] as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
    const widgets = (JSON.parse(parts.map((part) => (typeof part === 'string' ? part : '<token>')).join('')) as { widgets: { properties: Record<string, unknown> }[] }).widgets;
    const calls = JSON.stringify(widgets.find((w) => w.properties['title'] === 'SageMaker fraud-gpu: calls from the predict function')?.properties['metrics']);
    for (const name of ['EndpointFailures', 'EndpointThrottleRetries', 'EndpointCircuitOpened']) {
      expect(calls).toContain(`{${[METRICS_NAMESPACE, ...(sets.get(name) ?? [])].join(',')}} MetricName=\\"${name}\\" environment=\\"serverless-mlops\\" endpoint=\\"fraud-gpu\\"`);
    }
    expect(sets.get('EndpointFailures')).toEqual(['code', 'endpoint', 'environment', 'service']);
  });
});

/** The resources of a template by logical id. */
function resourcesOf(template: Template): Record<string, CfnResource> {
  return (template.toJSON() as { Resources: Record<string, CfnResource> }).Resources;
}

/** Logical ids present in both templates whose definition differs (what CloudFormation updates or replaces). */
function changedIds(before: Template, after: Template): string[] {
  const old = resourcesOf(before);
  return Object.entries(resourcesOf(after))
    .filter(([id, resource]) => old[id] !== undefined && JSON.stringify(old[id]) !== JSON.stringify(resource))
    .map(([id]) => id)
    .sort();
}

/** Every logical id `id` depends on, directly or through others (`DependsOn`, `Ref`, `Fn::GetAtt`). */
function dependenciesOf(template: Template, id: string): Set<string> {
  const resources = resourcesOf(template);
  const direct = (of: string): string[] => {
    const resource = resources[of];
    if (resource === undefined) return [];
    const text = JSON.stringify(resource.Properties ?? {});
    const refs = [...text.matchAll(/"Ref":"([^"]+)"|"Fn::GetAtt":\["([^"]+)"/g)].map((match) => match[1] ?? match[2] ?? '');
    return [...(resource.DependsOn ?? []), ...refs].filter((ref) => resources[ref] !== undefined);
  };
  const seen = new Set<string>();
  const queue = direct(id);
  while (queue.length > 0) {
    const next = queue.pop() ?? '';
    if (seen.has(next)) continue;
    seen.add(next);
    queue.push(...direct(next));
  }
  return seen;
}

describe('GpuEndpoint updates', () => {
  const endpointConfig = (overrides: Record<string, unknown>) => ({ sagemakerServing: { endpoints: { 'fraud-gpu': { model: 'fraud', version: 3, ...overrides } } } });
  const { template: before } = buildStack(endpointConfig({}));
  const { template: newType } = buildStack(endpointConfig({ instanceType: 'ml.g6.xlarge' }));
  const { template: newModel } = buildStack(endpointConfig({ version: 4 }));
  const ids = (template: Template) => ({
    endpoint: only(template, 'AWS::SageMaker::Endpoint', { EndpointName: 'fraud-gpu' }),
    config: only(template, 'AWS::SageMaker::EndpointConfig', {}),
    model: only(template, 'AWS::SageMaker::Model', {}),
    target: only(template, 'AWS::ApplicationAutoScaling::ScalableTarget', {}),
    policy: only(template, 'AWS::ApplicationAutoScaling::ScalingPolicy', {}),
    release: only(template, 'Custom::EndpointScalingRelease', {}),
    alarms: logicalIds(template, 'AWS::CloudWatch::Alarm').filter((id) => id.startsWith('GpuEndpointfraudgpu')).sort(),
    dashboard: only(template, 'AWS::CloudWatch::Dashboard', {}),
  });
  const old = ids(before);

  it('names the variant after its instance type, and releases its scaling before every update of the endpoint', () => {
    before.hasResourceProperties('AWS::SageMaker::EndpointConfig', { ProductionVariants: [Match.objectLike({ VariantName: 'ml-g5-xlarge', InstanceType: 'ml.g5.xlarge' })] });
    before.hasResourceProperties('Custom::EndpointScalingRelease', {
      ServiceToken: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointScalingReleaseFunction'), 'Arn'] },
      EndpointName: 'fraud-gpu',
      VariantName: 'ml-g5-xlarge',
      ServiceTimeout: '300',
    });
    // The endpoint waits for the release; the release waits for nothing of the endpoint's (it runs first).
    expect(resourcesOf(before)[old.endpoint]?.DependsOn).toContain(old.release);
    const releaseNeeds = dependenciesOf(before, old.release);
    for (const id of [old.endpoint, old.config, old.target, old.policy]) expect(releaseNeeds.has(id), id).toBe(false);
    // The scalable target is registered after the endpoint exists (and after its update).
    expect(dependenciesOf(before, old.target).has(old.endpoint)).toBe(true);
  });

  it('deploys a change of instance type: a new variant, its old scalable target deregistered before the endpoint update', () => {
    const next = ids(newType);
    // Same logical ids: the endpoint is updated in place (same name), the rest follows the new variant.
    expect(next).toEqual(old);
    expect(changedIds(before, newType)).toEqual(
      [old.config, old.target, old.release, ...old.alarms, old.dashboard, ...changedIds(before, newType).filter((id) => id.startsWith('EndpointQuota'))].sort(),
    );
    // The endpoint config is replaced (every property of AWS::SageMaker::EndpointConfig requires replacement) with a
    // variant of another name: the endpoint update removes ml-g5-xlarge and adds ml-g6-xlarge at the initial count.
    newType.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [{ VariantName: 'ml-g6-xlarge', InstanceType: 'ml.g6.xlarge', InitialInstanceCount: 1, InitialVariantWeight: 1, ModelName: Match.anyValue() }],
    });
    // SageMaker fails that update while ml-g5-xlarge is a scalable target: the release, updated to the new variant
    // name, deregisters it first, because the endpoint depends on the release.
    newType.hasResourceProperties('Custom::EndpointScalingRelease', { EndpointName: 'fraud-gpu', VariantName: 'ml-g6-xlarge' });
    expect(resourcesOf(newType)[next.endpoint]?.DependsOn).toContain(next.release);
    // The scalable target's ResourceId changed (a replacement): the new one registers ml-g6-xlarge after the endpoint
    // update; the old one is deleted in the cleanup phase (already deregistered by then).
    newType.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ResourceId: 'endpoint/fraud-gpu/variant/ml-g6-xlarge', MinCapacity: 1, MaxCapacity: 2 });
    expect(dependenciesOf(newType, next.target).has(next.endpoint)).toBe(true);
    newType.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', { ScalingTargetId: { Ref: next.target } });
    // The alarms (same names: the endpoint's rollback reads them) and the dashboard watch the new variant.
    for (const id of next.alarms) {
      const metric = JSON.stringify(resourcesOf(newType)[id]?.Properties?.['Metrics']);
      expect(metric).toContain('{"Name":"VariantName","Value":"ml-g6-xlarge"}');
    }
    expect(JSON.stringify(resourcesOf(newType)[next.dashboard])).toContain('ml-g6-xlarge');
    // Nothing names the old variant any more.
    expect(JSON.stringify(newType.toJSON())).not.toContain('ml-g5-xlarge');
    // The model is untouched.
    expect(resourcesOf(newType)[next.model]).toEqual(resourcesOf(before)[old.model]);
  });

  it('keeps the variant, its scalable target and so its scaled instance count across a model change', () => {
    const next = ids(newModel);
    expect(next).toEqual(old);
    const changed = changedIds(before, newModel);
    // The model (new package, a replacement), and so the config that names it by GetAtt (replaced with it), which
    // the endpoint is updated to.
    expect(changed).toContain(old.model);
    expect(resourcesOf(newModel)[old.config]?.Properties?.['ProductionVariants']).toEqual([expect.objectContaining({ ModelName: { 'Fn::GetAtt': [old.model, 'ModelName'] } })]);
    // Not the release (CloudFormation does not invoke it), not the scalable target or its policy, not the alarms.
    for (const id of [old.release, old.target, old.policy, ...old.alarms, old.dashboard]) expect(changed, id).not.toContain(id);
    newModel.hasResourceProperties('AWS::SageMaker::EndpointConfig', { ProductionVariants: [Match.objectLike({ VariantName: 'ml-g5-xlarge' })] });
    // Same variant name + RetainAllVariantProperties: SageMaker keeps the count auto scaling reached.
    newModel.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'fraud-gpu', RetainAllVariantProperties: true });
  });

  it('gives the one scaling-release function of the stack only the listing and deregistration of scalable targets', () => {
    const { template } = buildStack(GPU_CONFIG);
    // Two endpoints, one function.
    expect(logicalIds(template, 'Custom::EndpointScalingRelease')).toHaveLength(2);
    const fn = only(template, 'AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'endpoint-scaling' }) } });
    const roleId = (resourcesOf(template)[fn]?.Properties?.['Role'] as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0] ?? '';
    const statements = statementsOfRole(template, roleId).filter((statement) => JSON.stringify(statement.Action).includes('application-autoscaling'));
    expect(statements).toHaveLength(2);
    expect(statements).toEqual([
      {
        Action: 'application-autoscaling:DeregisterScalableTarget',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':application-autoscaling:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':scalable-target/*']] },
      },
      // In a policy of its own, where cdk-nag's Resource::* finding is acknowledged for this read action alone.
      { Action: 'application-autoscaling:DescribeScalableTargets', Effect: 'Allow', Resource: '*' },
    ]);
    expect(JSON.stringify(statementsOfRole(template, roleId))).not.toMatch(/RegisterScalableTarget"|sagemaker:|PutScalingPolicy/);
  });
});

describe('examples/gpu/sagemaker-config.json', () => {
  it('configures one GPU endpoint with its scaling (what docs/gpu.md synthesizes)', () => {
    const config = loadConfig((key) => (key === 'configFile' ? 'examples/gpu/sagemaker-config.json' : undefined), PROJECT_ROOT);
    const { template } = buildStack({ sagemakerServing: config.sagemakerServing });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', { EndpointName: 'credit-gpu' });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { ResourceId: 'endpoint/credit-gpu/variant/ml-g5-xlarge', MinCapacity: 1, MaxCapacity: 4 });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 200 }),
    });
  });
});

describe('GpuEndpoint template', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'mlops-gpu-synth-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes with a GPU and a serverless endpoint, and passes cfn-lint where it is installed', () => {
    const app = new App({ outdir, context: { ...cdkJsonFeatureFlags(), 'aws:cdk:bundling-stacks': [] } });
    const config = parseConfig(GPU_CONFIG);
    createPlatform(app, config);
    app.synth();
    expect(templatesIn(outdir).length).toBeGreaterThan(0);
    // Without cfn-lint (and without CI) the end-of-run line says this was not checked.
    if (!CFN_LINT.present()) return;
    const lint = runCfnLint(templatesIn(outdir));
    expect(lint.output).not.toMatch(/^E\d{4}/m);
    expect(lint.status, lint.output).toBe(0);
  });
});
