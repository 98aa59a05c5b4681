import { Match, type Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiDocument } from '../../lambdas/core/api/openapi.ts';
import { ROUTES } from '../../contracts/routes.ts';
import { consumerDirectory } from '../../contracts/api.ts';
import { DEFAULT_CONFIG } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { OPENAPI_DOCUMENT_PATH, SERVICE_VERSION } from '../../lib/constructs/openapi-document.ts';
import { openApiTemplateText } from '../../scripts/openapi.ts';
import { buildStack, imported, IMPORTED_GSI1_ARN, IMPORTED_TABLE_ARN, importedObjects } from './support.ts';

type CfnResource = { Type?: string; Properties?: Record<string, unknown> };

function refOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null && 'Ref' in value && typeof value.Ref === 'string'
    ? value.Ref
    : undefined;
}

/** `"GET /v1/health"` → the method's properties, resolved through the resource tree (no logical ids). */
function methodsByRoute(template: Template): Map<string, Record<string, unknown>> {
  const resources: Record<string, CfnResource> = template.findResources('AWS::ApiGateway::Resource');
  const pathOf = (id: string | undefined): string => {
    if (id === undefined) return '';
    const resource = resources[id];
    if (resource === undefined) return ''; // the API root
    return `${pathOf(refOf(resource.Properties?.['ParentId']))}/${String(resource.Properties?.['PathPart'])}`;
  };
  const methods: Record<string, CfnResource> = template.findResources('AWS::ApiGateway::Method');
  const routes = new Map<string, Record<string, unknown>>();
  for (const method of Object.values(methods)) {
    const props = method.Properties ?? {};
    routes.set(`${String(props['HttpMethod'])} ${pathOf(refOf(props['ResourceId'])) || '/'}`, props);
  }
  return routes;
}

describe('InferenceApi', () => {
  const { template } = buildStack();

  it('runs the predict function on nodejs24.x with tracing, the layer and its env vars', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['x86_64'],
      Handler: 'index.handler',
      MemorySize: 1769,
      Timeout: 10,
      TracingConfig: { Mode: 'Active' },
      Layers: [{ Ref: Match.anyValue() }],
      LoggingConfig: { LogGroup: { Ref: Match.anyValue() } },
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'inference-api',
          POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMLOps',
          POWERTOOLS_LOG_LEVEL: 'INFO',
          REGISTRY_TABLE_NAME: imported('RegistryTableName'),
          ARTIFACT_BUCKET_NAME: imported('ArtifactBucketName'),
          MAX_BATCH_SIZE: '1000',
          MAX_REQUEST_BYTES: '1048576',
          REGISTRY_CACHE_TTL_SECONDS: '30',
          REGISTRY_STALE_SERVING_SECONDS: '900',
          CORS_ALLOW_ORIGIN: '',
          ONNX_INTRA_OP_THREADS: '1',
        },
      },
    });
    const predictFunctions = template.findResources('AWS::Lambda::Function', {
      Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'inference-api' } } },
    });
    expect(Object.keys(predictFunctions)).toHaveLength(1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('gives the function role least-privilege statements and no AWS managed policies', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: Match.objectLike({
        Statement: [Match.objectLike({ Principal: { Service: 'lambda.amazonaws.com' } })],
      }),
      ManagedPolicyArns: Match.absent(),
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Allow',
            Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
            Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('PredictFunctionLogGroup'), 'Arn'] },
          },
          {
            Effect: 'Allow',
            Action: ['dynamodb:GetItem', 'dynamodb:Query'],
            Resource: [
              IMPORTED_GSI1_ARN,
              IMPORTED_TABLE_ARN,
            ],
          },
          {
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: importedObjects('ArtifactBucketArn', 'models/*'),
          },
          {
            Effect: 'Allow',
            Action: 's3:ListBucket',
            Condition: { StringLike: { 's3:prefix': ['models/*'] } },
            Resource: imported('ArtifactBucketArn'),
          },
        ]),
      },
    });
    // X-Ray's actions take Resource "*": they sit in a policy of their own, not among the data grants.
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyName: Match.stringLikeRegexp('PredictFunctionTracingPolicy'),
      Roles: [{ Ref: Match.stringLikeRegexp('PredictFunctionRole') }],
      PolicyDocument: { Statement: [{ Effect: 'Allow', Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' }] },
    });
    // No write access to the registry or the artifacts (the training pipeline's role writes); the only writes are
    // captures to the Firehose stream and feedback labels under feedback/ in the capture bucket.
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { Roles: [{ Ref: Match.stringLikeRegexp('PredictFunctionRole') }] } });
    const statements = Object.values(policies).flatMap(
      (p) => (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } }).Properties.PolicyDocument.Statement,
    );
    expect(JSON.stringify(statements)).toMatch(/s3:GetObject/);
    expect(JSON.stringify(statements)).not.toMatch(/dynamodb:(PutItem|UpdateItem|DeleteItem)|s3:DeleteObject/);
    const writes = statements.filter((st) => [st.Action].flat().some((a) => a === 's3:PutObject'));
    expect(writes).toHaveLength(1);
    expect(writes[0]?.Resource).toEqual(importedObjects('CaptureBucketArn', 'feedback/*'));
  });

  it('exposes the eight routes of ROUTES, API key required except health and openapi', () => {
    const routes = methodsByRoute(template);
    expect([...routes.keys()].sort()).toEqual([
      'GET /v1/health',
      'GET /v1/models',
      'GET /v1/models/{model}',
      'GET /v1/models/{model}/versions',
      'GET /v1/openapi.json',
      'POST /v1/models/{model}/explain',
      'POST /v1/models/{model}/feedback',
      'POST /v1/models/{model}/predict',
    ]);
    expect([...routes.keys()].sort()).toEqual(ROUTES.map((route) => `${route.method} ${route.resource}`).sort());
    for (const route of ROUTES) {
      expect(routes.get(`${route.method} ${route.resource}`)?.['ApiKeyRequired'], route.name).toBe(route.requiresApiKey);
    }
    expect(routes.get('GET /v1/health')?.['ApiKeyRequired']).toBe(false);
    expect(routes.get('GET /v1/openapi.json')?.['ApiKeyRequired']).toBe(false);
    for (const key of [
      'GET /v1/models',
      'GET /v1/models/{model}',
      'GET /v1/models/{model}/versions',
      'POST /v1/models/{model}/predict',
      'POST /v1/models/{model}/explain',
    ]) {
      expect(routes.get(key)?.['ApiKeyRequired'], key).toBe(true);
    }
    for (const [key, props] of routes) {
      if (key === 'GET /v1/health' || key === 'GET /v1/openapi.json') continue;
      expect(props['Integration'], key).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      expect(props['RequestValidatorId'], key).toBeDefined();
    }
    for (const key of ['GET /v1/models/{model}', 'GET /v1/models/{model}/versions', 'POST /v1/models/{model}/predict']) {
      expect(routes.get(key)?.['RequestParameters'], key).toEqual({ 'method.request.path.model': true });
    }
    template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
      ValidateRequestParameters: true,
      ValidateRequestBody: true,
    });
    // One API-scoped invoke permission instead of one per method.
    expect(Object.keys(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'apigateway.amazonaws.com' } }))).toHaveLength(1);
  });

  it('answers health and OpenAPI from API Gateway mock integrations, never invoking a Lambda', () => {
    const routes = methodsByRoute(template);
    const bodyOf = (key: string): unknown => {
      const integration = routes.get(key)?.['Integration'] as { Type: string; Uri?: unknown; IntegrationResponses: { ResponseTemplates: Record<string, string> }[] };
      expect(integration.Type, key).toBe('MOCK');
      expect(integration.Uri, key).toBeUndefined();
      const template = integration.IntegrationResponses[0]?.ResponseTemplates['application/json'] ?? '';
      const base64 = /^\$util\.base64Decode\("([A-Za-z0-9+/=]+)"\)$/.exec(template)?.[1];
      expect(base64, key).toBeDefined();
      return JSON.parse(Buffer.from(base64 ?? '', 'base64').toString('utf8'));
    };
    expect(bodyOf('GET /v1/health')).toEqual({ status: 'ok', service: 'inference-api', version: SERVICE_VERSION });
    const { maxBatchSize, maxRequestBytes } = DEFAULT_CONFIG.api;
    expect(bodyOf('GET /v1/openapi.json')).toEqual(
      openApiDocument({ maxBatchSize, maxRequestBytes, maxExplainBatchSize: DEFAULT_CONFIG.explain.maxBatchSize, version: SERVICE_VERSION }),
    );
    // A deployment's own limits are the ones its document states (the same document the handler builds).
    const { template: custom } = buildStack({ api: { maxBatchSize: 25, maxRequestBytes: 4096 }, explain: { maxBatchSize: 3 } });
    const customOpenApi = methodsByRoute(custom).get('GET /v1/openapi.json')?.['Integration'] as { IntegrationResponses: { ResponseTemplates: Record<string, string> }[] };
    const encoded = /"([^"]+)"/.exec(customOpenApi.IntegrationResponses[0]?.ResponseTemplates['application/json'] ?? '')?.[1] ?? '';
    expect(JSON.parse(Buffer.from(encoded, 'base64').toString('utf8'))).toEqual(openApiDocument({ maxBatchSize: 25, maxExplainBatchSize: 3, maxRequestBytes: 4096, version: SERVICE_VERSION }));
  });

  it('keeps the OpenAPI template current (npm run openapi writes it)', () => {
    expect(readFileSync(join(PROJECT_ROOT, OPENAPI_DOCUMENT_PATH), 'utf8')).toBe(openApiTemplateText());
  });

  it('throttles the whole stage, and associates a WAF web ACL only when configured', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 })],
    });
    template.resourceCountIs('AWS::WAFv2::WebACL', 0);
    const { template: guarded } = buildStack({ api: { stageThrottle: { rateLimit: 20, burstLimit: 40 }, waf: { enabled: true, rateLimitPer5Minutes: 300 } } });
    guarded.hasResourceProperties('AWS::ApiGateway::Stage', {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 })],
    });
    guarded.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      Rules: [
        Match.objectLike({ Name: 'AWSManagedRulesCommonRuleSet', Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } } }),
        Match.objectLike({ Name: 'RatePerIp', Action: { Block: {} }, Statement: { RateBasedStatement: { Limit: 300, AggregateKeyType: 'IP' } } }),
      ],
    });
    guarded.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: Match.anyValue(),
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('WebAcl'), 'Arn'] },
    });
  });

  it('binds an API key to a usage plan with the configured throttle and no daily quota by default', () => {
    template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: Match.absent(),
      ApiStages: [{ ApiId: { Ref: Match.anyValue() }, Stage: { Ref: Match.stringLikeRegexp('Stageprod') } }],
    });
    template.hasResourceProperties('AWS::ApiGateway::UsagePlanKey', { KeyType: 'API_KEY' });
    template.hasOutput('ApiKeyId', { Value: { Ref: Match.stringLikeRegexp('ApiKey') } });
    template.hasOutput('ApiUrl', Match.anyValue());
  });

  it('logs access in JSON, traces, and logs execution errors on the stage', () => {
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      StageName: 'prod',
      TracingEnabled: true,
      AccessLogSetting: {
        // logGroupDestinationArnWithoutWildcard: the ARN is built without the trailing ":*".
        DestinationArn: { 'Fn::Join': ['', Match.arrayWith([{ Ref: Match.stringLikeRegexp('AccessLogs') }])] },
        Format: Match.stringLikeRegexp('^\\{"requestId":"\\$context.requestId"'),
      },
      MethodSettings: [
        Match.objectLike({ HttpMethod: '*', ResourcePath: '/*', LoggingLevel: 'ERROR', DataTraceEnabled: false }),
      ],
    });
    const stage = Object.values(template.findResources('AWS::ApiGateway::Stage'))[0] as CfnResource;
    const setting = stage.Properties?.['AccessLogSetting'] as { Format: string };
    expect(JSON.parse(setting.Format)).toMatchObject({ status: '$context.status', apiKeyId: '$context.identity.apiKeyId' });
  });

  it('creates the stage\'s execution log group with the configured retention, before the stage can write to it', () => {
    const { template: custom } = buildStack({ logRetentionDays: 90, api: { stageName: 'v1' } });
    const restApi = Object.keys(custom.findResources('AWS::ApiGateway::RestApi'));
    expect(restApi).toHaveLength(1);
    // The name API Gateway writes to: its own group would have no retention.
    const groups = custom.findResources('AWS::Logs::LogGroup', {
      Properties: { LogGroupName: { 'Fn::Join': ['', ['API-Gateway-Execution-Logs_', { Ref: restApi[0] }, '/v1']] } },
    });
    expect(Object.values(groups)).toEqual([expect.objectContaining({ Properties: expect.objectContaining({ RetentionInDays: 90 }), DeletionPolicy: 'Retain' })]);
    const [group] = Object.keys(groups);
    const stages = Object.values(custom.findResources('AWS::ApiGateway::Stage', { Properties: { StageName: 'v1' } })) as { DependsOn?: string[] }[];
    expect(stages).toHaveLength(1);
    expect(stages[0]?.DependsOn).toContain(group);
  });

  it.each([
    ['DEFAULT_4XX', undefined, 'BAD_REQUEST'],
    ['DEFAULT_5XX', undefined, 'INTERNAL_ERROR'],
    ['ACCESS_DENIED', '403', 'FORBIDDEN'],
    ['INVALID_API_KEY', '403', 'FORBIDDEN'],
    ['MISSING_AUTHENTICATION_TOKEN', '404', 'ROUTE_NOT_FOUND'],
    ['THROTTLED', '429', 'THROTTLED'],
    ['QUOTA_EXCEEDED', '429', 'QUOTA_EXCEEDED'],
    ['REQUEST_TOO_LARGE', '413', 'PAYLOAD_TOO_LARGE'],
  ])('answers %s with the JSON error shape', (type, statusCode, code) => {
    const responses: Record<string, CfnResource> = template.findResources('AWS::ApiGateway::GatewayResponse', {
      Properties: { ResponseType: type },
    });
    const [response] = Object.values(responses);
    expect(response).toBeDefined();
    const props = response?.Properties ?? {};
    expect(props['StatusCode']).toBe(statusCode);
    expect(props['ResponseParameters']).toMatchObject({ 'gatewayresponse.header.Content-Type': "'application/json'" });
    const body = (props['ResponseTemplates'] as Record<string, string>)['application/json'] ?? '';
    expect(body).toMatch(new RegExp(`^\\{"error":\\{"code":"${code}","message":.+,"details":\\{\\}\\}\\}$`));
    // With the $context variable standing in for a JSON string, the template is valid JSON.
    expect(() => JSON.parse(body.replace('$context.error.messageString', '"x"'))).not.toThrow();
  });

  it('keeps each published version of the predict function, which the live alias points to, for a manual rollback', () => {
    const versions: Record<string, CfnResource & { DeletionPolicy?: string; UpdateReplacePolicy?: string }> = template.findResources('AWS::Lambda::Version');
    expect(Object.keys(versions)).toEqual([expect.stringMatching(/^InferenceApiPredictFunctionCurrentVersion/)]);
    const [id, version] = Object.entries(versions)[0] ?? [];
    // A deploy publishes the next version under a new logical id; the old one stays for `update-alias --function-version`.
    expect(version).toMatchObject({ DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::Lambda::Alias', { Name: 'live', FunctionVersion: { 'Fn::GetAtt': [id, 'Version'] } });
  });

  it('has no CORS preflight without origins', () => {
    expect([...methodsByRoute(template).keys()].some((key) => key.startsWith('OPTIONS'))).toBe(false);
  });

  it('adds CORS preflight and the CORS env var when origins are configured', () => {
    const { template: withCors } = buildStack({ api: { corsAllowOrigins: ['https://app.example.com'] } });
    const routes = methodsByRoute(withCors);
    expect(routes.has('OPTIONS /v1/models/{model}/predict')).toBe(true);
    expect(routes.get('OPTIONS /v1/models/{model}/predict')?.['ApiKeyRequired']).not.toBe(true);
    withCors.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CORS_ALLOW_ORIGIN: 'https://app.example.com' }) },
    });
    withCors.hasResourceProperties('AWS::ApiGateway::GatewayResponse', {
      ResponseType: 'DEFAULT_4XX',
      ResponseParameters: Match.objectLike({
        'gatewayresponse.header.Access-Control-Allow-Origin': "'https://app.example.com'",
      }),
    });
  });

  it('applies config: arm64, reserved and provisioned concurrency on a live alias', () => {
    const { template: custom } = buildStack({
      architecture: 'arm64',
      api: { throttle: { rateLimit: 7, burstLimit: 9 }, quota: { limit: 500, period: 'MONTH' }, stageName: 'v1' },
      predict: { reservedConcurrency: 10, provisionedConcurrency: 2, memorySize: 3008 },
    });
    custom.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['arm64'],
      ReservedConcurrentExecutions: 10,
      MemorySize: 3008,
    });
    custom.hasResourceProperties('AWS::Lambda::LayerVersion', { CompatibleArchitectures: ['arm64'] });
    custom.hasResourceProperties('AWS::Lambda::Alias', {
      Name: 'live',
      ProvisionedConcurrencyConfig: { ProvisionedConcurrentExecutions: 2 },
    });
    custom.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 9 },
      Quota: { Limit: 500, Period: 'MONTH' },
    });
    custom.hasResourceProperties('AWS::ApiGateway::Stage', { StageName: 'v1' });
  });

  it('gives explain its own per-key throttle in the usage plan, and its settings to the function', () => {
    const explainThrottle = (t: Template) =>
      t.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
        ApiStages: [Match.objectLike({ Throttle: { '/v1/models/{model}/explain/POST': { RateLimit: 5, BurstLimit: 10 } } })],
      });
    explainThrottle(template);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          EXPLAIN_MAX_BATCH_SIZE: '10',
          EXPLAIN_BACKGROUND_SIZE: '100',
          EXPLAIN_APPROXIMATION: 'sampling',
          EXPLAIN_SAMPLING_BUDGET: '2000',
          EXPLAIN_TOP_CONTRIBUTIONS: '5',
        }),
      },
    });
    const { template: custom } = buildStack({ explain: { throttle: { rateLimit: 2, burstLimit: 3 }, approximation: 'refuse' } });
    custom.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      ApiStages: [Match.objectLike({ Throttle: { '/v1/models/{model}/explain/POST': { RateLimit: 2, BurstLimit: 3 } } })],
    });
    custom.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ EXPLAIN_APPROXIMATION: 'refuse' }) } });
  });

  it('passes the out-of-range policy and tolerance to the predict function (warn and 0.1 by default)', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', OUT_OF_RANGE_POLICY: 'warn', OUT_OF_RANGE_TOLERANCE: '0.1' }) },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', OUT_OF_DISTRIBUTION_POLICY: 'off', OUT_OF_DISTRIBUTION_P_VALUE: '0.01' }) },
    });
    const { template: rejecting } = buildStack({ predict: { outOfRange: 'reject', outOfRangeTolerance: 0, outOfDistribution: 'warn', outOfDistributionPValue: 0.001 } });
    rejecting.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ OUT_OF_DISTRIBUTION_POLICY: 'warn', OUT_OF_DISTRIBUTION_P_VALUE: '0.001' }) },
    });
    rejecting.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', OUT_OF_RANGE_POLICY: 'reject', OUT_OF_RANGE_TOLERANCE: '0' }) },
    });
  });

  it('gives each API consumer its usage plan and a key per valid key version, and tells the predict function key id to consumer', () => {
    template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', API_CONSUMERS: Match.absent() }) },
    });
    const { template: tenants } = buildStack({
      api: {
        consumers: [
          { name: 'bank-a', models: ['credit'], quota: { limit: 5000, period: 'MONTH' }, keyVersion: 3, retiredKeyVersions: [2] },
          { name: 'bank-b', throttle: { rateLimit: 5, burstLimit: 10 } },
        ],
      },
    });
    tenants.resourceCountIs('AWS::ApiGateway::UsagePlan', 3);
    // With consumers the default key is off (api.defaultKey): only the consumers' keys, none unrestricted.
    tenants.resourceCountIs('AWS::ApiGateway::ApiKey', 3);
    tenants.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 3);
    tenants.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      UsagePlanName: 'serverless-mlops-bank-a',
      Throttle: { RateLimit: 50, BurstLimit: 100 },
      Quota: { Limit: 5000, Period: 'MONTH' },
      ApiStages: [Match.objectLike({ Stage: { Ref: Match.stringLikeRegexp('Stageprod') }, Throttle: Match.anyValue() })],
    });
    tenants.hasResourceProperties('AWS::ApiGateway::UsagePlan', { UsagePlanName: 'serverless-mlops-bank-b', Throttle: { RateLimit: 5, BurstLimit: 10 }, Quota: Match.absent() });
    for (const name of ['serverless-mlops-bank-a-v3', 'serverless-mlops-bank-a-v2', 'serverless-mlops-bank-b-v1']) {
      tenants.hasResourceProperties('AWS::ApiGateway::ApiKey', { Name: name, Enabled: true });
    }

    // The variable, with each key's Ref replaced by its logical id, is what the handler parses at cold start.
    const keyIds = Object.entries(tenants.findResources('AWS::ApiGateway::ApiKey') as Record<string, CfnResource>).map(([id, key]) => [String(key.Properties?.['Name']), id]);
    const predict = Object.values(tenants.findResources('AWS::Lambda::Function') as Record<string, CfnResource>).find(
      (fn) => (fn.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables['POWERTOOLS_SERVICE_NAME'] === 'inference-api',
    );
    const value = (predict?.Properties?.['Environment'] as { Variables: Record<string, unknown> }).Variables['API_CONSUMERS'] as { 'Fn::Join': [string, unknown[]] };
    const text = value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : String(refOf(part)))).join('');
    const directory = consumerDirectory.parse(JSON.parse(text));
    const idOf = (name: string): string => keyIds.find(([keyName]) => keyName === name)?.[1] ?? '';
    expect(directory).toEqual({
      [idOf('serverless-mlops-bank-a-v3')]: { name: 'bank-a', models: ['credit'] },
      [idOf('serverless-mlops-bank-a-v2')]: { name: 'bank-a', models: ['credit'] },
      [idOf('serverless-mlops-bank-b-v1')]: { name: 'bank-b' },
    });
  });

  it('keeps the default key without consumers, drops it with them unless api.defaultKey says, and tells the predict function', () => {
    const defaultKeyOf = (t: Template) => t.findResources('AWS::ApiGateway::ApiKey', { Properties: { Description: 'Default API key of serverless-mlops' } });
    // No consumers: the quickstart's key, in the default usage plan, and the ApiKeyId output the CLI reads.
    expect(Object.keys(defaultKeyOf(template))).toHaveLength(1);
    template.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1);
    template.hasOutput('ApiKeyId', Match.anyValue());
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', API_DEFAULT_KEY: 'true' }) } });

    const consumers = [{ name: 'bank-a', models: ['credit'] }];
    const { template: tenants } = buildStack({ api: { consumers } });
    expect(Object.keys(defaultKeyOf(tenants))).toHaveLength(0);
    tenants.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 1); // bank-a's
    expect(Object.keys(tenants.findOutputs('ApiKeyId'))).toEqual([]);
    tenants.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', API_DEFAULT_KEY: 'false' }) } });

    const { template: kept } = buildStack({ api: { consumers, defaultKey: true } });
    expect(Object.keys(defaultKeyOf(kept))).toHaveLength(1);
    kept.resourceCountIs('AWS::ApiGateway::UsagePlanKey', 2);
    kept.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'inference-api', API_DEFAULT_KEY: 'true' }) } });
  });
});
