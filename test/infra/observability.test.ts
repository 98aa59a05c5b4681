import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it, vi } from 'vitest';
import { INFERENCE_API_SERVICE_NAME, METRICS_NAMESPACE, TRAINING_PIPELINE_SERVICE_NAME } from '../../lib/constructs/environment.ts';
import { VariantMetrics } from '../../lambdas/inference-api/variant-metrics.ts';
import { buildStack } from './support.ts';

type CfnResource = { Type?: string; Properties?: Record<string, unknown>; UpdatePolicy?: Record<string, unknown> };
type Widget = { type: string; properties: Record<string, unknown> };

const ENVIRONMENT = 'serverless-mlops';
const API_DIMENSIONS = ['ApiName', 'serverless-mlops-inference', 'Stage', 'prod'];

/** The dashboard body with every CloudFormation token replaced by `<LogicalId>` (tokens only sit inside strings). */
function dashboardBody(template: Template): { widgets: Widget[] } {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as CfnResource[];
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties?.['DashboardBody'];
  const parts: unknown[] = typeof body === 'string' ? [body] : ((body as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]);
  const text = parts
    .map((part) => {
      if (typeof part === 'string') return part;
      const ref = (part as { Ref?: string }).Ref;
      const getAtt = (part as { 'Fn::GetAtt'?: [string, string] })['Fn::GetAtt'];
      return `<${ref ?? getAtt?.[0] ?? 'token'}>`;
    })
    .join('');
  return JSON.parse(text) as { widgets: Widget[] };
}

function widget(body: { widgets: Widget[] }, title: string): Widget {
  const found = body.widgets.find((w) => w.properties['title'] === title);
  if (found === undefined) throw new Error(`no widget "${title}" (have: ${body.widgets.map((w) => String(w.properties['title'])).join(', ')})`);
  return found;
}

/** The `metrics` array of a graph widget, as JSON text (for `toContain` checks). */
function metricsOf(body: { widgets: Widget[] }, title: string): string {
  return JSON.stringify(widget(body, title).properties['metrics']);
}

function logicalIdOf(template: Template, type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids, `${type} ${JSON.stringify(props)}`).toHaveLength(1);
  return ids[0] ?? '';
}

function alarmId(template: Template, name: string): string {
  return logicalIdOf(template, 'AWS::CloudWatch::Alarm', { AlarmName: name });
}

/**
 * What Powertools emits while `emit` runs: metric name → its dimension set, sorted. The tests disable metrics output
 * (vitest.config.ts), so each flush is serialized here instead of printed.
 */
function emittedDimensionSets(emit: () => void): Map<string, string[]> {
  const outputs: ReturnType<Metrics['serializeMetrics']>[] = [];
  const publish = vi.spyOn(Metrics.prototype, 'publishStoredMetrics').mockImplementation(function (this: Metrics) {
    if (this.hasStoredMetrics()) outputs.push(this.serializeMetrics());
    this.clearMetrics();
    this.clearDimensions();
    this.clearMetadata();
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

describe('Observability', () => {
  const { template } = buildStack();
  const topic = { Ref: Match.stringLikeRegexp('NotificationTopic') };

  describe('alarms', () => {
    it('alarms on API p95 latency above 1 s, 3 of 5 one-minute periods, notifying the topic', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-api-latency-p95',
        Namespace: 'AWS/ApiGateway',
        MetricName: 'Latency',
        ExtendedStatistic: 'p95',
        Dimensions: [
          { Name: 'ApiName', Value: 'serverless-mlops-inference' },
          { Name: 'Stage', Value: 'prod' },
        ],
        Period: 60,
        Threshold: 1000,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('alarms on the API 5xx rate (5XXError / Count * 100) above 0.1 %, judged only with 20 requests in the period', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-api-5xx-rate',
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(requests >= 20, 100 * FILL(errors, 0) / requests, 0)', ReturnData: true }),
          Match.objectLike({
            Id: 'errors',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5XXError', Namespace: 'AWS/ApiGateway' }), Stat: 'Sum', Period: 60 }),
            ReturnData: false,
          }),
          Match.objectLike({
            Id: 'requests',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Count', Namespace: 'AWS/ApiGateway' }), Stat: 'Sum' }),
          }),
        ]),
        Threshold: 0.1,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('alarms on an outage at any traffic: half the requests or more answered 5xx in 3 of 5 periods, one request a period included', () => {
      const outage = {
        AlarmName: 'serverless-mlops-api-5xx-outage',
        Metrics: Match.arrayWith([
          // No request gate but "some requests": 1 request a minute, all failing, still breaches; no traffic gives no data.
          Match.objectLike({ Expression: 'IF(requests > 0, 100 * FILL(errors, 0) / requests, 0)', ReturnData: true }),
          Match.objectLike({
            Id: 'errors',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: '5XXError', Namespace: 'AWS/ApiGateway' }), Stat: 'Sum', Period: 60 }),
          }),
          Match.objectLike({
            Id: 'requests',
            MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'Count', Namespace: 'AWS/ApiGateway' }), Stat: 'Sum', Period: 60 }),
          }),
        ]),
        Threshold: 50,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        // One bad minute (1 error in 3 requests, or the one request failing) does not page: 3 of 5 minutes must.
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      };
      template.hasResourceProperties('AWS::CloudWatch::Alarm', outage);
      const { template: custom } = buildStack({ observability: { alarms: { outageErrorRatePercent: 90, evaluationPeriods: 3, datapointsToAlarm: 3 } } });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { ...outage, Threshold: 90, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    });

    it('alarms on any throttle of the predict function', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-predict-throttles',
        Namespace: 'AWS/Lambda',
        MetricName: 'Throttles',
        Statistic: 'Sum',
        Dimensions: [{ Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('PredictFunction') } }],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 5,
        DatapointsToAlarm: 3,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('alarms on one failed pipeline execution', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-pipeline-failed',
        Namespace: 'AWS/States',
        MetricName: 'ExecutionsFailed',
        Statistic: 'Sum',
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: Match.stringLikeRegexp('StateMachine') } }],
        Period: 300,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('alarms on DriftCritical summed over every model of the environment (a Metrics Insights query)', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-drift-critical',
        Metrics: [
          {
            Id: Match.anyValue(),
            Expression: `SELECT SUM(DriftCritical) FROM ${METRICS_NAMESPACE} WHERE environment = '${ENVIRONMENT}'`,
            Label: Match.anyValue(),
            Period: 300,
            ReturnData: true,
          },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('alarms on ProductionFallbacks summed over every model of the environment: an earlier version answers for a bad artifact', () => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-production-fallback',
        AlarmDescription: Match.stringLikeRegexp('runbook: docs/operations/alarms/production-fallback.md'),
        Metrics: [
          {
            Id: Match.anyValue(),
            Expression: `SELECT SUM(ProductionFallbacks) FROM ${METRICS_NAMESPACE} WHERE environment = '${ENVIRONMENT}'`,
            Label: Match.anyValue(),
            Period: 300,
            ReturnData: true,
          },
        ],
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
      });
    });

    it('combines latency, 5xx rate, 5xx outage and throttles into "serving unhealthy", which also announces recovery', () => {
      const [latency, errors, outage, throttles] = ['api-latency-p95', 'api-5xx-rate', 'api-5xx-outage', 'predict-throttles'].map((n) =>
        alarmId(template, `serverless-mlops-${n}`),
      );
      template.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', {
        AlarmName: 'serverless-mlops-serving-unhealthy',
        AlarmRule: {
          'Fn::Join': [
            '',
            [
              '(ALARM("',
              { 'Fn::GetAtt': [latency, 'Arn'] },
              '") OR ALARM("',
              { 'Fn::GetAtt': [errors, 'Arn'] },
              '") OR ALARM("',
              { 'Fn::GetAtt': [outage, 'Arn'] },
              '") OR ALARM("',
              { 'Fn::GetAtt': [throttles, 'Arn'] },
              '"))',
            ],
          ],
        },
        AlarmActions: [topic],
        OKActions: [topic],
      });
      // The six SLO alarms, the production-fallback alarm, the errors of the drift job and the canary watch and the
      // dead-letter queue (test/infra/dead-letters.test.ts), the two rollback alarms, three canary alarms of the one
      // configured model (test/infra/model-rollout.test.ts), and batch scoring's failed-jobs alarm.
      template.resourceCountIs('AWS::CloudWatch::Alarm', 16);
    });

    it('takes thresholds and evaluation from config', () => {
      const { template: custom } = buildStack({
        observability: {
          alarms: { periodSeconds: 120, evaluationPeriods: 4, datapointsToAlarm: 2, p95LatencyMs: 250, serverErrorRatePercent: 1.5, throttles: 3, pipelineFailures: 2, driftCritical: 4 },
        },
      });
      const shape = { Period: 120, EvaluationPeriods: 4, DatapointsToAlarm: 2 };
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-api-latency-p95', Threshold: 250, ...shape });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-api-5xx-rate', Threshold: 1.5, EvaluationPeriods: 4, DatapointsToAlarm: 2 });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-predict-throttles', Threshold: 3, ...shape });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-pipeline-failed', Threshold: 2, Period: 300 });
      custom.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'serverless-mlops-drift-critical', Threshold: 4 });
    });

    it('lets CloudWatch publish to the created topic and use its key', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Resource: topic,
              Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
            }),
          ]),
        },
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'] }),
          ]),
        },
      });
    });

    it("lets CloudWatch use the topic's key only for this account's alarms (no confused deputy)", () => {
      const alarmArns = {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']],
      };
      const keys = Object.values(template.findResources('AWS::KMS::Key')) as CfnResource[];
      const statements = keys.flatMap((key) => (key.Properties?.['KeyPolicy'] as { Statement: { Principal?: unknown; Condition?: unknown }[] }).Statement);
      const cloudWatch = statements.filter((statement) => JSON.stringify(statement.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }));
      expect(cloudWatch).toHaveLength(1);
      expect(cloudWatch[0]?.Condition).toEqual({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': alarmArns },
      });
    });

    it('notifies an existing topic given in config', () => {
      const arn = 'arn:aws:sns:eu-west-1:123456789012:alerts';
      const { template: imported } = buildStack({ notifications: { topicArn: arn } });
      for (const alarm of Object.values(imported.findResources('AWS::CloudWatch::Alarm')) as CfnResource[]) {
        expect(alarm.Properties?.['AlarmActions']).toEqual([arn]);
      }
      imported.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmActions: [arn] });
    });
  });

  describe('safe rollout', () => {
    it('always publishes the predict function through the live alias, and API Gateway invokes the alias', () => {
      const aliasId = logicalIdOf(template, 'AWS::Lambda::Alias', { Name: 'live' });
      template.hasResourceProperties('AWS::Lambda::Alias', {
        Name: 'live',
        FunctionVersion: { 'Fn::GetAtt': [Match.stringLikeRegexp('PredictFunctionCurrentVersion'), 'Version'] },
        ProvisionedConcurrencyConfig: Match.absent(),
      });
      // Health and OpenAPI are mock integrations: only the Lambda-backed routes invoke the alias.
      const methods = (Object.values(template.findResources('AWS::ApiGateway::Method')) as CfnResource[]).filter(
        (method) => (method.Properties?.['Integration'] as { Type?: string } | undefined)?.Type === 'AWS_PROXY',
      );
      expect(methods.length).toBeGreaterThan(0);
      for (const method of methods) {
        expect(JSON.stringify((method.Properties?.['Integration'] as { Uri: unknown }).Uri)).toContain(JSON.stringify({ Ref: aliasId }));
      }
      template.hasResourceProperties('AWS::Lambda::Permission', { FunctionName: { Ref: aliasId }, Principal: 'apigateway.amazonaws.com' });
    });

    it('shifts the alias with CodeDeploy, canary 10 % for 5 minutes, rolling back on the new version\'s alarms only', () => {
      const [errors, latency] = ['predict-rollback-5xx', 'predict-rollback-p95'].map((n) => alarmId(template, `serverless-mlops-${n}`));
      template.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
        DeploymentConfigName: 'CodeDeployDefault.LambdaCanary10Percent5Minutes',
        // The SLO alarms (api-latency-p95, api-5xx-rate, predict-throttles) page; they do not roll back.
        AlarmConfiguration: { Enabled: true, Alarms: [{ Name: { Ref: errors } }, { Name: { Ref: latency } }] },
        AutoRollbackConfiguration: {
          Enabled: true,
          Events: Match.arrayWith(['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM']),
        },
        DeploymentStyle: { DeploymentOption: 'WITH_TRAFFIC_CONTROL', DeploymentType: 'BLUE_GREEN' },
      });
      template.hasResourceProperties('AWS::CodeDeploy::Application', { ComputePlatform: 'Lambda' });
      // CloudFormation hands alias updates to CodeDeploy.
      const alias = Object.values(template.findResources('AWS::Lambda::Alias')) as CfnResource[];
      expect(alias[0]?.UpdatePolicy).toEqual({
        CodeDeployLambdaAliasUpdate: {
          ApplicationName: { Ref: logicalIdOf(template, 'AWS::CodeDeploy::Application', {}) },
          DeploymentGroupName: { Ref: logicalIdOf(template, 'AWS::CodeDeploy::DeploymentGroup', {}) },
          BeforeAllowTrafficHook: { Ref: expect.stringMatching(/PreTrafficHook/) },
        },
      });
    });

    it.each([
      ['allAtOnce', 'CodeDeployDefault.LambdaAllAtOnce'],
      ['canary10Percent10Minutes', 'CodeDeployDefault.LambdaCanary10Percent10Minutes'],
      ['linear10PercentEvery3Minutes', 'CodeDeployDefault.LambdaLinear10PercentEvery3Minutes'],
      ['canary10Percent30Minutes', 'CodeDeployDefault.LambdaCanary10Percent30Minutes'],
    ])('uses the %s strategy from config', (strategy, configName) => {
      const { template: custom } = buildStack({ observability: { deployment: { strategy } } });
      custom.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', { DeploymentConfigName: configName });
    });

    it('rolls back on the new version alone: its 5xx share above 10 % and its p95 above 5 s, each with 10+ requests, in one minute', () => {
      const versionRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('PredictFunctionCurrentVersion'), 'Version'] };
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-predict-rollback-5xx',
        Threshold: 10,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(requests >= 10, 100 * rate, 0)' }),
          Match.objectLike({
            Id: 'rate',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({
                MetricName: 'VersionServerErrors',
                Dimensions: Match.arrayWith([{ Name: 'function_version', Value: versionRef }]),
              }),
              Period: 60,
              Stat: 'Average',
            }),
          }),
        ]),
      });
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'serverless-mlops-predict-rollback-p95',
        Threshold: 5000,
        EvaluationPeriods: 1,
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: 'IF(requests >= 10, p95, 0)' }),
          Match.objectLike({
            Id: 'p95',
            MetricStat: Match.objectLike({
              Metric: Match.objectLike({ MetricName: 'Duration', Namespace: 'AWS/Lambda', Dimensions: Match.arrayWith([{ Name: 'ExecutedVersion', Value: versionRef }]) }),
              Stat: 'p95',
            }),
          }),
        ]),
      });
    });

    it('runs a pre-traffic hook that may invoke only the new version, pointed at it by TARGET_FUNCTION_ARN', () => {
      const hook = Object.entries(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'pre-traffic-hook' } } } }));
      expect(hook).toHaveLength(1);
      const [hookId, hookResource] = hook[0] as [string, CfnResource];
      const variables = (hookResource.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables;
      expect(variables['TARGET_FUNCTION_ARN']).toEqual({ Ref: expect.stringMatching(/PredictFunctionCurrentVersion/) });
      const deploymentGroup = Object.values(template.findResources('AWS::CodeDeploy::DeploymentGroup'))[0] as CfnResource;
      expect(JSON.stringify(deploymentGroup)).not.toContain('PreTrafficHook');
      const alias = Object.values(template.findResources('AWS::Lambda::Alias'))[0] as CfnResource;
      expect(alias.UpdatePolicy?.['CodeDeployLambdaAliasUpdate']).toMatchObject({ BeforeAllowTrafficHook: { Ref: hookId } });
      const policies = Object.values(template.findResources('AWS::IAM::Policy')) as CfnResource[];
      const hookPolicy = policies.find((policy) => JSON.stringify(policy.Properties?.['Roles']).includes('PreTrafficHookRole'));
      const invoke = JSON.stringify(hookPolicy?.Properties?.['PolicyDocument']);
      expect(invoke).toContain('lambda:InvokeFunction');
      expect(invoke).toMatch(/PredictFunctionCurrentVersion/);
    });

    it('refuses rollback alarms that cannot reach ALARM within the canary interval', () => {
      expect(() => buildStack({ observability: { deployment: { rollback: { evaluationPeriods: 4 } } } })).toThrow(
        'config field "observability.deployment.rollback.evaluationPeriods" times observability.deployment.rollback.periodSeconds (60) plus 120 s of metric lag must fit in the 300 s interval of "canary10Percent5Minutes" (needs 360 s), got 4',
      );
      // Three one-minute periods and the lag fit exactly.
      expect(() => buildStack({ observability: { deployment: { rollback: { evaluationPeriods: 3 } } } })).not.toThrow();
    });

    it('keeps provisioned concurrency on the live alias when configured', () => {
      const { template: custom } = buildStack({ predict: { provisionedConcurrency: 2 } });
      custom.resourceCountIs('AWS::Lambda::Alias', 1);
      custom.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 } });
      custom.resourceCountIs('AWS::CodeDeploy::DeploymentGroup', 1);
    });
  });

  describe('dashboard', () => {
    const body = dashboardBody(template);

    it('gives every graph at least one metric or expression and every log widget a query on the predict log group', () => {
      const graphs = body.widgets.filter((w) => w.type === 'metric');
      expect(graphs.length).toBeGreaterThan(20);
      for (const graph of graphs) {
        const title = String(graph.properties['title']);
        if (title === 'Alarms') continue;
        expect((graph.properties['metrics'] as unknown[] | undefined)?.length ?? 0, title).toBeGreaterThan(0);
      }
      const logs = body.widgets.filter((w) => w.type === 'log');
      expect(logs.map((w) => w.properties['title'])).toEqual([
        'Traffic and latency by model version (production, canary)',
        'Requests by variant',
        'Shadow versions: rows and disagreements',
      ]);
      for (const log of logs) expect(log.properties['query'], String(log.properties['title'])).toMatch(/^SOURCE '<\w*PredictFunctionLogGroup\w*>' \| filter /);
      expect(widget(body, 'Requests by variant').properties['query']).toContain('stats count(*) as requests by bin(5m), variant');
      expect(metricsOf(body, 'Pipeline step duration p95 by step (ms)')).toContain(
        JSON.stringify(`SEARCH('{${METRICS_NAMESPACE},environment,service,step} MetricName="PipelineStepDuration" environment="${ENVIRONMENT}"', 'p95', 300)`),
      );
    });

    it('is named after the app and shows every alarm', () => {
      template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'serverless-mlops' });
      const alarms = widget(body, 'Alarms').properties['alarms'] as string[];
      const expected = [
        logicalIdOf(template, 'AWS::CloudWatch::CompositeAlarm', {}),
        ...['api-latency-p95', 'api-5xx-rate', 'api-5xx-outage', 'predict-throttles', 'pipeline-failed', 'drift-critical', 'production-fallback', 'drift-job-errors', 'canary-watch-errors', 'dead-letters'].map((n) =>
          alarmId(template, `serverless-mlops-${n}`),
        ),
        ...['errors', 'latency-p95', 'score-shift'].map((n) => alarmId(template, `serverless-mlops-canary-credit-${n}`)),
      ];
      expect(alarms).toEqual(expected.map((id) => `<${id}>`));
    });

    it('graphs API Gateway latency percentiles, integration latency, requests and 4xx/5xx rates of the stage', () => {
      const latency = metricsOf(body, 'API latency (ms)');
      for (const stat of ['p50', 'p95', 'p99']) {
        expect(latency).toContain(JSON.stringify(['AWS/ApiGateway', 'Latency', ...API_DIMENSIONS, { label: `Latency ${stat}`, stat }]));
      }
      expect(latency).toContain(JSON.stringify(['AWS/ApiGateway', 'IntegrationLatency', ...API_DIMENSIONS]).slice(0, -1));
      expect(JSON.stringify(widget(body, 'API latency (ms)').properties['annotations'])).toContain('"value":1000');
      const rates = metricsOf(body, 'API 4xx and 5xx (% of requests)');
      expect(rates).toContain('100 * FILL(clientErrors, 0) / requests');
      expect(rates).toContain('100 * FILL(serverErrors, 0) / requests');
      for (const name of ['4XXError', '5XXError', 'Count']) expect(rates).toContain(JSON.stringify(['AWS/ApiGateway', name, ...API_DIMENSIONS]).slice(0, -1));
      expect(metricsOf(body, 'API requests')).toContain('"Count"');
    });

    it('graphs the predict function: duration percentiles, errors, throttles, concurrency and Powertools cold starts', () => {
      const fn = logicalIdOf(template, 'AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api' }) } });
      const duration = metricsOf(body, 'Predict function duration (ms)');
      for (const stat of ['p50', 'p95', 'p99']) expect(duration).toContain(`"stat":"${stat}"`);
      expect(duration).toContain(JSON.stringify(['AWS/Lambda', 'Duration', 'FunctionName', `<${fn}>`]).slice(0, -1));
      const errors = metricsOf(body, 'Predict function errors and throttles');
      expect(errors).toContain('"Errors"');
      expect(errors).toContain('"Throttles"');
      expect(metricsOf(body, 'Predict function concurrency')).toContain('"ConcurrentExecutions"');
      expect(metricsOf(body, 'Predict function cold starts')).toContain(
        JSON.stringify([METRICS_NAMESPACE, 'ColdStart', 'environment', ENVIRONMENT, 'function_name', `<${fn}>`, 'service', INFERENCE_API_SERVICE_NAME]).slice(0, -1),
      );
    });

    it('searches the per-model metrics so that new models appear without a deploy', () => {
      const schema = `{${METRICS_NAMESPACE},environment,model,route,service}`;
      expect(metricsOf(body, 'Predict latency p95 by model (ms)')).toContain(
        JSON.stringify(`SEARCH('${schema} MetricName="PredictLatency" environment="${ENVIRONMENT}"', 'p95', 300)`),
      );
      expect(metricsOf(body, 'Predicted rows by model')).toContain(
        JSON.stringify(`SEARCH('${schema} MetricName="PredictedRows" environment="${ENVIRONMENT}"', 'Sum', 300)`),
      );
      expect(metricsOf(body, 'Model load time by model (ms, max)')).toContain(
        JSON.stringify(`SEARCH('{${METRICS_NAMESPACE},environment,model,service} MetricName="ModelLoadTime" environment="${ENVIRONMENT}"', 'Maximum', 300)`),
      );
      const shadow = metricsOf(body, 'Shadow and canary');
      expect(shadow).toContain(JSON.stringify(`SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="ShadowDisagreements" environment="${ENVIRONMENT}"', 'Sum', 300)`));
      for (const name of ['ShadowScoredRows', 'ShadowFailures', 'CanaryFallbacks']) expect(shadow).toContain(`MetricName=\\"${name}\\"`);
      const errors = metricsOf(body, 'Errors answered by the function, by code');
      expect(errors).toContain(JSON.stringify(`SEARCH('{${METRICS_NAMESPACE},code,environment,service} MetricName="ServerErrors" environment="${ENVIRONMENT}"', 'Sum', 300)`));
    });

    it('searches the per-variant metrics: requests, p95 latency, error rate and score by model and variant', () => {
      const schema = `{${METRICS_NAMESPACE},environment,model,service,variant}`;
      const search = (name: string, stat: string): string => JSON.stringify(`SEARCH('${schema} MetricName="${name}" environment="${ENVIRONMENT}"', '${stat}', 300)`);
      expect(metricsOf(body, 'Requests by model and variant')).toContain(search('VariantErrors', 'SampleCount'));
      expect(metricsOf(body, 'Predict latency p95 by variant (ms)')).toContain(search('VariantLatency', 'p95'));
      expect(metricsOf(body, 'Error rate by variant (0 to 1)')).toContain(search('VariantErrors', 'Average'));
      const scores = metricsOf(body, 'Prediction score by variant (mean, p10, p90)');
      for (const stat of ['Average', 'p10', 'p90']) expect(scores).toContain(search('VariantScore', stat));
      expect(scores).toContain("${PROP('Dim.model')} ${PROP('Dim.variant')}");
    });

    it('reads traffic and latency per model version and variant from the predict log', () => {
      const versions = widget(body, 'Traffic and latency by model version (production, canary)').properties;
      expect(versions['query']).toMatch(/^SOURCE '<\w*PredictFunctionLogGroup\w*>' \| filter ispresent\(PredictLatency\)/);
      expect(versions['query']).toContain('by model, model_version, variant');
      expect(widget(body, 'Shadow versions: rows and disagreements').properties['query']).toContain('filter message = "shadow scored"');
    });

    it('searches the drift job metrics: score distribution, overall and per-feature drift', () => {
      const search = (name: string, stat: string): string =>
        JSON.stringify(`SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${name}" environment="${ENVIRONMENT}"', '${stat}', 300)`);
      expect(metricsOf(body, 'Drift score by model (overall)')).toContain(search('DriftScore', 'Maximum'));
      expect(metricsOf(body, 'Drift by feature')).toContain(search('FeatureDrift', 'Maximum'));
      expect(metricsOf(body, 'Critical drift')).toContain(search('DriftCritical', 'Sum'));
      const scores = metricsOf(body, 'Prediction score distribution by model');
      for (const stat of ['p10', 'p50', 'p90']) expect(scores).toContain(search('PredictionScore', stat));
    });

    it('graphs pipeline executions, gate decisions and step errors', () => {
      const sfn = logicalIdOf(template, 'AWS::StepFunctions::StateMachine', { StateMachineName: Match.absent() });
      const executions = metricsOf(body, 'Pipeline executions');
      for (const name of ['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut']) {
        expect(executions).toContain(JSON.stringify(['AWS/States', name, 'StateMachineArn', `<${sfn}>`]).slice(0, -1));
      }
      const gate = metricsOf(body, 'Gate decisions and promotions');
      for (const name of ['GatePassed', 'GateFailed']) {
        expect(gate).toContain(
          JSON.stringify([METRICS_NAMESPACE, name, 'environment', ENVIRONMENT, 'service', TRAINING_PIPELINE_SERVICE_NAME, 'step', 'gate']).slice(0, -1),
        );
      }
      expect(metricsOf(body, 'Pipeline step errors by step')).toContain(
        JSON.stringify(`SEARCH('{${METRICS_NAMESPACE},environment,service,step} MetricName="PipelineStepErrors" environment="${ENVIRONMENT}"', 'Sum', 300)`),
      );
    });

    it('shows SageMaker endpoint health only for configured endpoints', () => {
      expect(body.widgets.some((w) => String(w.properties['title']).startsWith('SageMaker'))).toBe(false);
      const { template: custom } = buildStack({ observability: { sagemakerEndpointNames: ['credit-endpoint'] } });
      const withEndpoint = dashboardBody(custom);
      expect(metricsOf(withEndpoint, 'SageMaker credit-endpoint: invocations and errors')).toContain(
        JSON.stringify(`SEARCH('{AWS/SageMaker,EndpointName,VariantName} MetricName="Invocation5XXErrors" EndpointName="credit-endpoint"', 'Sum', 300)`),
      );
      expect(metricsOf(withEndpoint, 'SageMaker credit-endpoint: model latency p95 (µs)')).toContain('MetricName=\\"ModelLatency\\"');
    });

    it('uses the dimension sets Powertools really emits (a search schema must match them exactly)', () => {
      // The handlers' sequences: api-handler (route, then model, flushed together), handler.ts (single metrics).
      const api = new Metrics({ serviceName: INFERENCE_API_SERVICE_NAME, namespace: METRICS_NAMESPACE, defaultDimensions: { environment: ENVIRONMENT } });
      const pipeline = new Metrics({ serviceName: TRAINING_PIPELINE_SERVICE_NAME, namespace: METRICS_NAMESPACE, defaultDimensions: { environment: ENVIRONMENT } });
      const sets = emittedDimensionSets(() => {
        api.addDimension('route', 'predict');
        api.addMetric('Requests', MetricUnit.Count, 1);
        api.addDimension('model', 'credit');
        api.addMetric('PredictLatency', MetricUnit.Milliseconds, 3);
        api.addMetric('PredictedRows', MetricUnit.Count, 1);
        api.publishStoredMetrics();
        const error = api.singleMetric();
        error.addDimension('code', 'INTERNAL_ERROR');
        error.addMetric('ServerErrors', MetricUnit.Count, 1);
        const load = api.singleMetric();
        load.addDimension('model', 'credit');
        load.addMetric('ModelLoadTime', MetricUnit.Milliseconds, 9);
        new VariantMetrics(api).served({ model: 'credit', version: 2, variant: 'canary', latencyMs: 4, probabilities: [0.2, 0.4] });
        pipeline.addDimension('step', 'gate');
        pipeline.addMetric('GatePassed', MetricUnit.Count, 1);
        pipeline.addMetric('PipelineStepErrors', MetricUnit.Count, 1);
        pipeline.publishStoredMetrics();
      });
      const schemaOf = (name: string): string => `{${[METRICS_NAMESPACE, ...(sets.get(name) ?? [])].join(',')}} MetricName=\\"${name}\\"`;
      expect(metricsOf(body, 'Predict latency p95 by model (ms)')).toContain(schemaOf('PredictLatency'));
      expect(metricsOf(body, 'Predicted rows by model')).toContain(schemaOf('PredictedRows'));
      expect(metricsOf(body, 'Errors answered by the function, by code')).toContain(schemaOf('ServerErrors'));
      expect(metricsOf(body, 'Model load time by model (ms, max)')).toContain(schemaOf('ModelLoadTime'));
      expect(metricsOf(body, 'Pipeline step errors by step')).toContain(schemaOf('PipelineStepErrors'));
      expect(metricsOf(body, 'Requests by model and variant')).toContain(schemaOf('VariantErrors'));
      expect(metricsOf(body, 'Predict latency p95 by variant (ms)')).toContain(schemaOf('VariantLatency'));
      expect(metricsOf(body, 'Prediction score by variant (mean, p10, p90)')).toContain(schemaOf('VariantScore'));
      expect(sets.get('GatePassed')).toEqual(['environment', 'service', 'step']);
    });
  });
});
