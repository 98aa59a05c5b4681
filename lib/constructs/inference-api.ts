import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccessLogField,
  AccessLogFormat,
  ApiKey,
  ApiKeySourceType,
  Cors,
  type CorsOptions,
  EndpointType,
  type IResource,
  type Method,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  MockIntegration,
  PassthroughBehavior,
  Period,
  type RequestValidator,
  ResponseType,
  RestApi,
  UsagePlan,
} from 'aws-cdk-lib/aws-apigateway';
import { Alias, type IFunction, type ILayerVersion } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { MlopsConfig } from '../config.ts';
import { ROUTES, type RouteName } from '#contracts/routes.ts';
import { type ConsumerConfig, type ConsumerKeyList, defaultKeyEnabled, GATEWAY_LIMIT_ERRORS } from '#contracts/api.ts';
import { ENV, INFERENCE_API_SERVICE_NAME } from './environment.ts';
import { MlopsFunction, retentionDays } from './mlops-function.ts';
import { ONNX_RUNTIME_MODULES, OnnxRuntimeLayer } from './onnx-runtime-layer.ts';
import { healthText, openApiDocumentText } from './openapi-document.ts';
import type { IModelRegistry } from './model-store.ts';

/** Entry of the API Lambda, relative to the repository root. */
export const INFERENCE_API_ENTRY = 'lambdas/inference-api/handler.ts';

/** The alias API Gateway invokes; CodeDeploy moves it to each new version of the predict function. */
export const LIVE_ALIAS_NAME = 'live';

export interface InferenceApiProps {
  readonly config: MlopsConfig;
  /** The model registry: read through its `grantRegistryRead`, written (where this construct writes) on its table. */
  readonly registry: IModelRegistry;
  readonly artifactBucket: IBucket;
  /** Key prefix of the artifacts the function may read. */
  readonly artifactPrefix: string;
  /**
   * The ONNX Runtime layer of the predict function (share one with other functions of the stack).
   * @default - a new OnnxRuntimeLayer for `config.architecture` is created
   */
  readonly onnxLayer?: ILayerVersion;
}

/** The error body every non-2xx answer uses: `{"error":{"code","message","details"}}`. */
function errorTemplate(code: string, message: string | null): string {
  // `$context.error.messageString` is already a quoted, escaped JSON string.
  const messageJson = message === null ? '$context.error.messageString' : JSON.stringify(message);
  return `{"error":{"code":"${code}","message":${messageJson},"details":{}}}`;
}

/**
 * Gateway responses produced by API Gateway itself (before or instead of the Lambda). The codes match the ones the
 * handler and its OpenAPI document use (FORBIDDEN for a missing/invalid key, ROUTE_NOT_FOUND, THROTTLED, ...).
 */
const GATEWAY_RESPONSES: ReadonlyArray<{
  readonly id: string;
  readonly type: ResponseType;
  readonly statusCode?: string;
  readonly code: string;
  readonly message: string | null;
}> = [
  { id: 'Default4xx', type: ResponseType.DEFAULT_4XX, code: 'BAD_REQUEST', message: null },
  { id: 'Default5xx', type: ResponseType.DEFAULT_5XX, code: 'INTERNAL_ERROR', message: null },
  { id: 'AccessDenied', type: ResponseType.ACCESS_DENIED, statusCode: '403', code: 'FORBIDDEN', message: 'access denied' },
  { id: 'InvalidApiKey', type: ResponseType.INVALID_API_KEY, statusCode: '403', code: 'FORBIDDEN', message: 'missing or invalid api key (x-api-key header)' },
  // With no authorizers, API Gateway answers this for a path or method that does not exist.
  { id: 'MissingAuthToken', type: ResponseType.MISSING_AUTHENTICATION_TOKEN, statusCode: '404', code: 'ROUTE_NOT_FOUND', message: 'no such route' },
  { id: 'Throttled', type: ResponseType.THROTTLED, statusCode: '429', ...GATEWAY_LIMIT_ERRORS.throttled },
  { id: 'QuotaExceeded', type: ResponseType.QUOTA_EXCEEDED, statusCode: '429', ...GATEWAY_LIMIT_ERRORS.quotaExceeded },
  { id: 'RequestTooLarge', type: ResponseType.REQUEST_TOO_LARGE, statusCode: '413', code: 'PAYLOAD_TOO_LARGE', message: 'request body too large' },
  { id: 'BadRequestParameters', type: ResponseType.BAD_REQUEST_PARAMETERS, statusCode: '400', code: 'BAD_REQUEST', message: null },
  { id: 'IntegrationTimeout', type: ResponseType.INTEGRATION_TIMEOUT, statusCode: '504', code: 'TIMEOUT', message: 'the request timed out' },
];

/**
 * The public inference API: a REST API in front of the predict Lambda (with the ONNX Runtime layer).
 *
 * Routes: those of `contracts/routes.ts` (`ROUTES`). `/v1/health` and `/v1/openapi.json` are open and answered by API
 * Gateway mock integrations (a public route must not spend predict concurrency); the others need an API key and are
 * proxied to the one function. Authentication is API keys + a usage plan (per-key throttle, optional quota); a
 * stage-wide throttle caps all callers together, and an optional WAF web ACL blocks abusive IPs before API Gateway.
 */
export class InferenceApi extends Construct {
  public readonly restApi: RestApi;
  public readonly predictFunction: MlopsFunction;
  /** The `live` alias of the predict function: what API Gateway invokes, and what CodeDeploy shifts. */
  public readonly liveAlias: Alias;
  /** The default API key (no consumer's, every model); undefined when `api.defaultKey` is off (by default with consumers). */
  public readonly apiKey: ApiKey | undefined;
  public readonly usagePlan: UsagePlan;
  /** Per API consumer (`api.consumers`): its usage plan and its keys by key version. */
  public readonly consumers: ReadonlyMap<string, { readonly usagePlan: UsagePlan; readonly keys: ReadonlyMap<number, ApiKey> }>;
  /** The web ACL of the stage (`api.waf.enabled`). */
  public readonly webAcl: CfnWebACL | undefined;

  public constructor(scope: Construct, id: string, props: InferenceApiProps) {
    super(scope, id);
    const { config } = props;
    const removalPolicy = config.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    const onnxLayer = props.onnxLayer ?? new OnnxRuntimeLayer(this, 'OnnxRuntime', { architecture: config.architecture }).layer;

    this.predictFunction = new MlopsFunction(this, 'PredictFunction', {
      entry: INFERENCE_API_ENTRY,
      description: 'Serverless MLOps inference API (models, predict)',
      serviceName: INFERENCE_API_SERVICE_NAME,
      architecture: config.architecture,
      memorySize: config.predict.memorySize,
      timeout: Duration.seconds(config.predict.timeoutSeconds),
      logRetentionDays: config.logRetentionDays,
      logRemovalPolicy: removalPolicy,
      layers: [onnxLayer],
      externalModules: ONNX_RUNTIME_MODULES,
      ...(config.predict.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: config.predict.reservedConcurrency }),
      environment: {
        [ENV.MLOPS_ENVIRONMENT]: config.appName,
        [ENV.MAX_BATCH_SIZE]: String(config.api.maxBatchSize),
        [ENV.MAX_REQUEST_BYTES]: String(config.api.maxRequestBytes),
        [ENV.REGISTRY_CACHE_TTL_SECONDS]: String(config.registry.cacheTtlSeconds),
        [ENV.REGISTRY_STALE_SERVING_SECONDS]: String(config.registry.staleServingSeconds),
        [ENV.CORS_ALLOW_ORIGIN]: config.api.corsAllowOrigins.join(','),
        [ENV.ONNX_INTRA_OP_THREADS]: String(config.predict.onnxIntraOpThreads),
        [ENV.OUT_OF_RANGE_POLICY]: config.predict.outOfRange,
        [ENV.OUT_OF_RANGE_TOLERANCE]: String(config.predict.outOfRangeTolerance),
        [ENV.OUT_OF_DISTRIBUTION_POLICY]: config.predict.outOfDistribution,
        [ENV.OUT_OF_DISTRIBUTION_P_VALUE]: String(config.predict.outOfDistributionPValue),
        [ENV.EXPLAIN_MAX_BATCH_SIZE]: String(config.explain.maxBatchSize),
        [ENV.EXPLAIN_BACKGROUND_SIZE]: String(config.explain.backgroundSize),
        [ENV.EXPLAIN_APPROXIMATION]: config.explain.approximation,
        [ENV.EXPLAIN_SAMPLING_BUDGET]: String(config.explain.samplingBudget),
        [ENV.EXPLAIN_TOP_CONTRIBUTIONS]: String(config.explain.topContributions),
      },
    });
    props.registry
      .grantRegistryRead(this.predictFunction)
      .bindArtifactBucket(props.artifactBucket, props.artifactPrefix);

    // The API always calls the `live` alias: CodeDeploy (the Observability construct) shifts it from one published
    // version to the next, and provisioned concurrency, when configured, lives on it.
    this.liveAlias = new Alias(this, 'LiveAlias', {
      aliasName: LIVE_ALIAS_NAME,
      version: this.predictFunction.currentVersion,
      ...(config.predict.provisionedConcurrency > 0
        ? { provisionedConcurrentExecutions: config.predict.provisionedConcurrency }
        : {}),
    });
    const target: IFunction = this.liveAlias;

    const accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: retentionDays(config.logRetentionDays),
      removalPolicy,
    });

    const origins = config.api.corsAllowOrigins;
    const cors: CorsOptions | undefined =
      origins.length === 0
        ? undefined
        : {
            allowOrigins: origins.includes('*') ? Cors.ALL_ORIGINS : [...origins],
            allowMethods: ['GET', 'POST', 'OPTIONS'],
            allowHeaders: ['Content-Type', 'X-Api-Key', 'X-Amz-Date', 'Authorization', 'X-Amz-Security-Token'],
            maxAge: Duration.hours(1),
          };

    this.restApi = new RestApi(this, 'RestApi', {
      restApiName: `${config.appName}-inference`,
      description: 'Serverless MLOps inference API',
      endpointTypes: [EndpointType.REGIONAL],
      apiKeySourceType: ApiKeySourceType.HEADER,
      // Execution and access logging need the account-level API Gateway CloudWatch role. It is kept on stack
      // deletion because it is shared by every REST API of the account and region.
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      ...(cors === undefined ? {} : { defaultCorsPreflightOptions: cors }),
      deployOptions: {
        stageName: config.api.stageName,
        description: `${config.appName} inference API`,
        tracingEnabled: true,
        metricsEnabled: true,
        // Every method of the stage (`/*/*`): the ceiling over all callers, below the account's regional limit.
        throttlingRateLimit: config.api.stageThrottle.rateLimit,
        throttlingBurstLimit: config.api.stageThrottle.burstLimit,
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        accessLogDestination: new LogGroupLogDestination(accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: AccessLogField.contextRequestId(),
            extendedRequestId: AccessLogField.contextExtendedRequestId(),
            requestTime: AccessLogField.contextRequestTime(),
            ip: AccessLogField.contextIdentitySourceIp(),
            userAgent: AccessLogField.contextIdentityUserAgent(),
            apiKeyId: AccessLogField.contextIdentityApiKeyId(),
            httpMethod: AccessLogField.contextHttpMethod(),
            resourcePath: AccessLogField.contextResourcePath(),
            path: AccessLogField.contextPath(),
            status: AccessLogField.contextStatus(),
            protocol: AccessLogField.contextProtocol(),
            responseLength: AccessLogField.contextResponseLength(),
            responseLatency: AccessLogField.contextResponseLatency(),
            integrationLatency: AccessLogField.contextIntegrationLatency(),
            integrationStatus: AccessLogField.contextIntegrationStatus(),
            errorMessage: AccessLogField.contextErrorMessage(),
            errorType: AccessLogField.contextErrorResponseType(),
            xrayTraceId: AccessLogField.contextXrayTraceId(),
          }),
        ),
      },
    });
    const api = this.restApi;
    // With execution logging on, API Gateway writes to `API-Gateway-Execution-Logs_{restApiId}/{stage}` and creates
    // that group itself, without retention. Created here first (the stage waits for it), it has the stack's retention.
    const executionLogGroup = new LogGroup(this, 'ExecutionLogs', {
      logGroupName: `API-Gateway-Execution-Logs_${api.restApiId}/${config.api.stageName}`,
      retention: retentionDays(config.logRetentionDays),
      removalPolicy,
    });
    api.deploymentStage.node.addDependency(executionLogGroup);

    // Body validation is a no-op without request models: the handler validates bodies against the model's
    // input schema, which API Gateway cannot know. Path parameters are validated here.
    const validator: RequestValidator = api.addRequestValidator('RequestValidator', {
      requestValidatorName: 'params-and-body',
      validateRequestParameters: true,
      validateRequestBody: true,
    });

    const integration = new LambdaIntegration(target, { proxy: true, scopePermissionToMethod: false });
    // Static answers from API Gateway itself: anyone may call them, so they must not invoke (or throttle) predict.
    const mock = (body: string): MockIntegration =>
      new MockIntegration({
        passthroughBehavior: PassthroughBehavior.NEVER,
        requestTemplates: { 'application/json': '{"statusCode": 200}' },
        integrationResponses: [
          {
            statusCode: '200',
            // base64 keeps the JSON away from the template language ($ref, #/components would be VTL syntax).
            responseTemplates: { 'application/json': `$util.base64Decode("${Buffer.from(body, 'utf8').toString('base64')}")` },
            responseParameters: { 'method.response.header.Content-Type': "'application/json'" },
          },
        ],
      });
    const staticBodies: Partial<Record<RouteName, string>> = {
      health: healthText(),
      openapi: openApiDocumentText({ ...config.api, maxExplainBatchSize: config.explain.maxBatchSize }),
    };

    // One resource per path segment and one method per route of contracts/routes.ts, in its order.
    const methods = new Map<RouteName, Method>();
    for (const { name, method, resource, requiresApiKey } of ROUTES) {
      let node: IResource = api.root;
      for (const segment of resource.split('/').filter((part) => part !== '')) node = node.getResource(segment) ?? node.addResource(segment);
      const staticBody = staticBodies[name];
      if (staticBody !== undefined) {
        node.addMethod(method, mock(staticBody), {
          apiKeyRequired: requiresApiKey,
          methodResponses: [{ statusCode: '200', responseParameters: { 'method.response.header.Content-Type': true } }],
        });
        continue;
      }
      const pathParams = [...resource.matchAll(/\{(\w+)\}/g)].map((match) => match[1]);
      methods.set(
        name,
        node.addMethod(method, integration, {
          apiKeyRequired: requiresApiKey,
          requestValidator: validator,
          requestParameters: Object.fromEntries(pathParams.map((param) => [`method.request.path.${param}`, true])),
        }),
      );
    }
    // Explaining costs more than predicting: its own per-key throttle in the usage plan (below).
    const explainMethod = methods.get('explain');
    if (explainMethod === undefined) throw new Error('contracts/routes.ts declares no explain route');

    // Error answers produced by API Gateway use the same JSON error shape as the handler.
    const singleOrigin = origins.length === 1 ? origins[0] : undefined;
    for (const response of GATEWAY_RESPONSES) {
      api.addGatewayResponse(response.id, {
        type: response.type,
        ...(response.statusCode === undefined ? {} : { statusCode: response.statusCode }),
        responseHeaders: {
          'Content-Type': "'application/json'",
          ...(singleOrigin === undefined ? {} : { 'Access-Control-Allow-Origin': `'${singleOrigin}'` }),
        },
        templates: { 'application/json': errorTemplate(response.code, response.message) },
      });
    }

    // The default key belongs to no consumer and may call every model: with consumers it is off unless the config says
    // otherwise (api.defaultKey), so that it cannot bypass their allow-lists.
    const defaultKey = defaultKeyEnabled(config.api);
    this.apiKey = defaultKey ? new ApiKey(this, 'ApiKey', { description: `Default API key of ${config.appName}`, enabled: true }) : undefined;
    this.predictFunction.addEnvironment(ENV.API_DEFAULT_KEY, String(defaultKey));
    this.usagePlan = api.addUsagePlan('UsagePlan', {
      name: `${config.appName}-default`,
      description: 'Default usage plan: per-key throttle (and the quota when one is configured)',
      throttle: { rateLimit: config.api.throttle.rateLimit, burstLimit: config.api.throttle.burstLimit },
      ...(config.api.quota === undefined ? {} : { quota: { limit: config.api.quota.limit, period: Period[config.api.quota.period] } }),
      apiStages: [
        {
          api,
          stage: api.deploymentStage,
          throttle: [{ method: explainMethod, throttle: { rateLimit: config.explain.throttle.rateLimit, burstLimit: config.explain.throttle.burstLimit } }],
        },
      ],
    });
    if (this.apiKey !== undefined) this.usagePlan.addApiKey(this.apiKey);
    this.consumers = this.createConsumers(config, explainMethod);

    Validations.of(api).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason:
        'Callers are identified by API keys bound to a usage plan (throttle + quota); /v1/health and /v1/openapi.json are public by design. An authorizer can be added when a deployment needs per-user identity.',
    });
    Validations.of(api).acknowledge({
      id: 'AwsSolutions-COG4',
      reason: 'Machine-to-machine inference API authenticated by API keys and usage plans; no Cognito user pool.',
    });
    this.webAcl = config.api.waf.enabled ? this.createWebAcl(config) : undefined;
    if (this.webAcl === undefined) {
      Validations.of(api.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason: 'WAF is off in this config (api.waf.enabled: false); the stage-wide and per-key throttles still apply. Turn it on for a public deployment.',
      });
    }
    const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole !== undefined) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason: 'The account-level API Gateway logging role uses the AWS managed policy made for exactly this purpose.',
      });
    }
  }

  /**
   * Per consumer a usage plan (its throttle, optional quota, the explain route's throttle) and an API key per valid key
   * version (`keyVersion` and the `retiredKeyVersions` still in their overlap); the predict function learns key id to
   * consumer from `API_CONSUMERS`. Rotation: docs/operations/api-key-rotation.md.
   */
  private createConsumers(config: MlopsConfig, explainMethod: Method): InferenceApi['consumers'] {
    const consumers = new Map<string, { usagePlan: UsagePlan; keys: Map<number, ApiKey> }>();
    const directory: ConsumerKeyList = [];
    for (const consumer of config.api.consumers) {
      // The name itself in the id (logical ids drop its dashes and add a hash of the path, so names never collide).
      const id = `Consumer-${consumer.name}-`;
      const throttle = consumer.throttle ?? config.api.throttle;
      const usagePlan = new UsagePlan(this, `${id}UsagePlan`, {
        name: `${config.appName}-${consumer.name}`,
        description: `Usage plan of API consumer ${consumer.name}`,
        throttle: { rateLimit: throttle.rateLimit, burstLimit: throttle.burstLimit },
        ...(consumer.quota === undefined ? {} : { quota: { limit: consumer.quota.limit, period: Period[consumer.quota.period] } }),
        apiStages: [
          {
            api: this.restApi,
            stage: this.restApi.deploymentStage,
            throttle: [{ method: explainMethod, throttle: { rateLimit: config.explain.throttle.rateLimit, burstLimit: config.explain.throttle.burstLimit } }],
          },
        ],
      });
      const keys = new Map<number, ApiKey>();
      const keyIds: string[] = [];
      for (const version of keyVersions(consumer)) {
        const key = new ApiKey(this, `${id}KeyV${version}`, {
          apiKeyName: `${config.appName}-${consumer.name}-v${version}`,
          description: `API key version ${version} of consumer ${consumer.name}`,
          enabled: true,
        });
        usagePlan.addApiKey(key);
        keys.set(version, key);
        keyIds.push(key.keyId);
      }
      directory.push({ name: consumer.name, ...(consumer.models === undefined ? {} : { models: [...consumer.models] }), keyIds });
      consumers.set(consumer.name, { usagePlan, keys });
    }
    if (directory.length > 0) this.predictFunction.addEnvironment(ENV.API_CONSUMERS, Stack.of(this).toJsonString(directory));
    return consumers;
  }

  /** AWS managed common rules and a per-IP rate rule, associated with the stage; blocked requests answer 403. */
  private createWebAcl(config: MlopsConfig): CfnWebACL {
    const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true,
      metricName,
      sampledRequestsEnabled: true,
    });
    const webAcl = new CfnWebACL(this, 'WebAcl', {
      name: `${config.appName}-inference`,
      description: `${config.appName} inference API: AWS managed common rules and a per-IP rate limit`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(`${config.appName}-inference`),
      rules: [
        {
          name: 'AWSManagedRulesCommonRuleSet',
          priority: 0,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesCommonRuleSet' } },
          visibilityConfig: visibility('common-rules'),
        },
        {
          name: 'RatePerIp',
          priority: 1,
          action: { block: {} },
          statement: { rateBasedStatement: { limit: config.api.waf.rateLimitPer5Minutes, aggregateKeyType: 'IP' } },
          visibilityConfig: visibility('rate-per-ip'),
        },
      ],
    });
    new CfnWebACLAssociation(this, 'WebAclAssociation', {
      resourceArn: this.restApi.deploymentStage.stageArn,
      webAclArn: webAcl.attrArn,
    });
    return webAcl;
  }
}

/** The key versions of a consumer that are valid now: the current one and the retired ones still in their overlap. */
function keyVersions(consumer: ConsumerConfig): number[] {
  return [consumer.keyVersion, ...consumer.retiredKeyVersions];
}

