import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { Logger } from '@aws-lambda-powertools/logger';
import { ApiError, MethodNotAllowedError, ModelUnavailableError, NotFoundError, PayloadTooLargeError, RequestValidationError, asError } from '#core/errors.ts';
import { toErrorResponse } from '#core/api/errors.ts';
import { parseJsonBody } from '#core/api/predict-request.ts';
import type { ModelService } from '#core/serving/model-service.ts';
import type { FeedbackSink } from '#core/capture/ports.ts';
import { MAX_FEEDBACK_BYTES, MAX_REQUEST_ID_LENGTH, parseFeedbackRequest } from '#core/capture/feedback-request.ts';
import type { PredictionCapture } from '#core/capture/prediction-capture.ts';
import type { FeatureRow } from '#core/model/metadata.ts';
import { matchRoute, ROUTES, type RouteName } from '#contracts/routes.ts';
import { assertModelAllowed, consumerOf, DEFAULT_CONSUMER, type Consumer, type ConsumerLookup } from '#core/api/consumers.ts';
import { failedVariantOf, type VariantMetrics } from './variant-metrics.ts';
import { API_METRICS, METRIC_DIMENSIONS } from '#contracts/metrics.ts';

export interface ApiHandlerOptions {
  readonly service: ModelService;
  readonly openApi: Record<string, unknown>;
  readonly maxRequestBytes: number;
  /** Origins allowed to call from a browser; empty disables CORS headers. */
  readonly corsAllowOrigins: readonly string[];
  readonly serviceVersion: string;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Per-variant (production, canary) metrics of predict calls. @default - none emitted */
  readonly variantMetrics?: VariantMetrics;
  /** Sends a sample of served predictions to the capture stream; none when capture is off. */
  readonly capture?: PredictionCapture;
  /**
   * The longest an answer waits for its capture to be delivered; past it the answer goes out and the delivery
   * finishes in the background (its failure still logged and counted). @default 50
   */
  readonly captureWaitMs?: number;
  /** Stores feedback labels; without it the feedback route answers 404 FEEDBACK_DISABLED. */
  readonly feedback?: FeedbackSink;
  /**
   * The function version answering (`AWS_LAMBDA_FUNCTION_VERSION`): every answer adds 0 or 1 (5xx) to
   * `VersionServerErrors` with dimension `function_version`, which the CodeDeploy rollback alarm reads for the new
   * version alone. @default - not emitted
   */
  readonly functionVersion?: string;
  /**
   * The API consumers by API key id (`API_CONSUMERS`): a consumer's name goes into the log keys, captured predictions
   * and `ConsumerRequests`; a consumer with a model allow-list gets `403 MODEL_NOT_ALLOWED` for any other model.
   * Read per request (the local platform replaces it on a key rotation). @default - every key is the default consumer
   */
  readonly consumers?: () => ConsumerLookup;
  /**
   * Whether the deployment has its default API key (`API_DEFAULT_KEY`): without it, a key id outside `consumers` is
   * refused (`403 FORBIDDEN`) instead of served as the unrestricted default consumer. @default true
   */
  readonly defaultKey?: boolean;
}

export type ApiHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' } as const;

function lowerCaseHeaders(headers: APIGatewayProxyEvent['headers'] | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) out[name.toLowerCase()] = value;
  return out;
}

/**
 * The key that pins a caller to one side of a canary split: the entity the request is about
 * when the caller names one (`x-entity-key`), else its request id (`x-request-id`).
 */
function routingKeyOf(headers: Record<string, string>): string | undefined {
  const entity = headers['x-entity-key']?.trim();
  if (entity !== undefined && entity !== '') return entity;
  const requestId = headers['x-request-id']?.trim();
  return requestId === undefined || requestId === '' ? undefined : requestId;
}

function decodeBody(event: APIGatewayProxyEvent): string | null {
  if (event.body === null || event.body === undefined) return null;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/** The decoded body, or `PayloadTooLargeError` when it is over `limit` bytes. */
function bodyWithin(event: APIGatewayProxyEvent, limit: number): string | null {
  const text = decodeBody(event);
  const size = text === null ? 0 : Buffer.byteLength(text, 'utf8');
  if (size > limit) {
    throw new PayloadTooLargeError('PAYLOAD_TOO_LARGE', `the body is ${size} bytes; the limit is ${limit}`, { received: size, limit });
  }
  return text;
}

/**
 * The API's request handling, independent of how it is instrumented: route, check size,
 * call the serving core, and turn every failure into the JSON error shape.
 */
export function createApiHandler(options: ApiHandlerOptions): ApiHandler {
  const { service, logger, metrics } = options;
  const routesByResource = new Map(ROUTES.map((route) => [`${route.method} ${route.resource}`, route.name]));
  const openApiBody = JSON.stringify(options.openApi);
  const consumersOf = options.consumers ?? ((): ConsumerLookup => ({}));

  function corsHeaders(origin: string | undefined): Record<string, string> {
    if (options.corsAllowOrigins.length === 0) return {};
    // Vary on every answer once CORS is on, so a shared cache never serves one origin's answer to another.
    if (origin === undefined) return { vary: 'Origin' };
    const wildcard = options.corsAllowOrigins.includes('*');
    const allowed = wildcard || options.corsAllowOrigins.includes(origin);
    return allowed ? { 'access-control-allow-origin': wildcard ? '*' : origin, vary: 'Origin' } : { vary: 'Origin' };
  }

  /** API Gateway fills `resource`; the local gateway does too, but a raw path is accepted as a fallback. */
  function resolveRoute(event: APIGatewayProxyEvent): { name: RouteName; model: string | undefined } {
    const byResource = routesByResource.get(`${event.httpMethod} ${event.resource}`);
    if (byResource !== undefined) return { name: byResource, model: event.pathParameters?.model };
    const match = matchRoute(event.httpMethod, event.path);
    if (match.kind === 'matched') return { name: match.route.name, model: match.pathParameters.model };
    if (match.kind === 'method-not-allowed') {
      throw new MethodNotAllowedError('METHOD_NOT_ALLOWED', `${event.httpMethod} is not allowed on ${event.path}`, {
        allowed: match.allowed,
      });
    }
    throw new NotFoundError('ROUTE_NOT_FOUND', `no route for ${event.httpMethod} ${event.path}`, { path: event.path });
  }

  /**
   * Capture after a successful predict: a capture failure is logged (with the records, so nothing is lost
   * silently) and counted, and never fails the prediction. The answer waits for the delivery at most
   * `captureWaitMs` (counted in `CaptureDeferred` when it had to go without it): capture never holds a request hostage.
   */
  async function capturePrediction(
    requestId: string,
    consumer: Consumer,
    body: unknown,
    response: Awaited<ReturnType<ModelService['predict']>>,
  ): Promise<void> {
    if (options.capture === undefined) return;
    const instances = (body as { instances?: FeatureRow[] }).instances ?? [];
    let delivery: Promise<unknown>;
    try {
      delivery = options.capture.capture({
        requestId,
        model: response.model,
        modelVersion: response.model_version,
        variant: response.variant,
        consumer: consumer.name,
        instances,
        predictions: response.predictions,
      });
    } catch (error) {
      delivery = Promise.reject(error);
    }
    const settled = delivery.then(
      () => true,
      (error: unknown) => {
        const failed = (error as { failed?: unknown[] }).failed;
        logger.error('prediction capture failed', { request_id: requestId, error: asError(error), records: failed });
        const captureMetric = metrics.singleMetric();
        captureMetric.addDimension(METRIC_DIMENSIONS.model, response.model);
        captureMetric.addMetric(API_METRICS.captureFailures, MetricUnit.Count, failed?.length ?? instances.length);
        return true;
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const budget = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), options.captureWaitMs ?? 50);
    });
    const done = await Promise.race([settled, budget]);
    clearTimeout(timer);
    if (!done) {
      const deferredMetric = metrics.singleMetric();
      deferredMetric.addDimension(METRIC_DIMENSIONS.model, response.model);
      deferredMetric.addMetric(API_METRICS.captureDeferred, MetricUnit.Count, 1);
    }
  }

  /** The body's size and the caller's request id, checked alike for predict and explain. */
  function checkScoringRequest(event: APIGatewayProxyEvent, headers: Record<string, string>): { text: string | null; callerRequestId: string | undefined } {
    const text = bodyWithin(event, options.maxRequestBytes);
    const callerRequestId = headers['x-request-id']?.trim();
    // The id is what feedback refers to later: one feedback would refuse must not be accepted here.
    if (callerRequestId !== undefined && callerRequestId.length > MAX_REQUEST_ID_LENGTH) {
      throw new RequestValidationError('INVALID_REQUEST_ID', `the x-request-id header must be at most ${MAX_REQUEST_ID_LENGTH} characters`, {
        field: 'x-request-id',
        received: callerRequestId.length,
        limit: MAX_REQUEST_ID_LENGTH,
      });
    }
    return { text, callerRequestId };
  }

  async function dispatch(event: APIGatewayProxyEvent, headers: Record<string, string>): Promise<unknown> {
    const { name, model } = resolveRoute(event);
    metrics.addDimension(METRIC_DIMENSIONS.route, name);
    metrics.addMetric(API_METRICS.requests, MetricUnit.Count, 1);
    const consumers = consumersOf();
    const consumer = consumerOf(consumers, event.requestContext.identity?.apiKeyId, options.defaultKey ?? true);
    // Only where consumers are configured (a metric per consumer and route costs what a custom metric costs): there
    // every log line of the request names its consumer (`default` for the default key), and `ConsumerRequests` counts it.
    if (consumer !== DEFAULT_CONSUMER || Object.keys(consumers).length > 0) {
      logger.appendKeys({ consumer: consumer.name });
      const consumerMetric = metrics.singleMetric();
      consumerMetric.addDimension(METRIC_DIMENSIONS.consumer, consumer.name);
      consumerMetric.addDimension(METRIC_DIMENSIONS.route, name);
      consumerMetric.addMetric(API_METRICS.consumerRequests, MetricUnit.Count, 1);
    }
    // Before any model lookup: a consumer learns nothing of a model it may not call, not even whether it exists.
    if (model !== undefined) assertModelAllowed(consumer, model);
    switch (name) {
      case 'health':
        return { status: 'ok', service: 'inference-api', version: options.serviceVersion };
      case 'openapi':
        return undefined;
      case 'listModels': {
        const models = await service.listModels();
        const allowed = consumer.models;
        return { models: allowed === undefined ? models : models.filter((summary) => allowed.includes(summary.model)) };
      }
      case 'describeModel':
        return service.describeModel(model ?? '');
      case 'listVersions': {
        const modelName = model ?? '';
        return { model: modelName, versions: await service.listVersions(modelName) };
      }
      case 'predict': {
        const { text, callerRequestId } = checkScoringRequest(event, headers);
        const modelName = model ?? '';
        logger.appendKeys({ model: modelName });
        const started = performance.now();
        const routingKey = routingKeyOf(headers);
        const body = parseJsonBody(text);
        const response = await service.predict(modelName, body, routingKey === undefined ? {} : { routingKey });
        logger.appendKeys({ model_version: response.model_version, variant: response.variant });
        metrics.addDimension(METRIC_DIMENSIONS.model, modelName);
        metrics.addMetadata('model_version', String(response.model_version));
        metrics.addMetadata('variant', response.variant);
        const latencyMs = performance.now() - started;
        metrics.addMetric(API_METRICS.predictLatency, MetricUnit.Milliseconds, latencyMs);
        metrics.addMetric(API_METRICS.predictedRows, MetricUnit.Count, response.predictions.length);
        options.variantMetrics?.served({
          model: modelName,
          version: response.model_version,
          variant: response.variant,
          latencyMs,
          probabilities: response.predictions.map((p) => p.probability),
        });
        // Carries model_version and variant (appended above); the EMF line carries them as metadata too.
        logger.debug('prediction served', { rows: response.predictions.length });
        // The id feedback refers to: the caller's x-request-id, else the gateway's request id.
        const requestId = callerRequestId || event.requestContext.requestId;
        await capturePrediction(requestId, consumer, body, response);
        return { ...response, request_id: requestId };
      }
      case 'explain': {
        // The same body, limits, request id and canary routing as predict; its own batch limit (in the service).
        const { text, callerRequestId } = checkScoringRequest(event, headers);
        const modelName = model ?? '';
        logger.appendKeys({ model: modelName });
        const started = performance.now();
        const routingKey = routingKeyOf(headers);
        const response = await service.explain(modelName, parseJsonBody(text), routingKey === undefined ? {} : { routingKey });
        logger.appendKeys({ model_version: response.model_version, variant: response.variant });
        metrics.addDimension(METRIC_DIMENSIONS.model, modelName);
        metrics.addMetadata('model_version', String(response.model_version));
        metrics.addMetadata('variant', response.variant);
        metrics.addMetadata('method', response.method);
        metrics.addMetric(API_METRICS.explainLatency, MetricUnit.Milliseconds, performance.now() - started);
        metrics.addMetric(API_METRICS.explainedRows, MetricUnit.Count, response.explanations.length);
        logger.debug('explanation served', { rows: response.explanations.length, method: response.method });
        return { ...response, request_id: callerRequestId || event.requestContext.requestId };
      }
      case 'feedback': {
        const modelName = model ?? '';
        if (options.feedback === undefined) {
          throw new NotFoundError('FEEDBACK_DISABLED', 'feedback is not enabled on this deployment (capture is off)', { model: modelName });
        }
        const body = parseJsonBody(bodyWithin(event, MAX_FEEDBACK_BYTES));
        const { output } = await service.describeModel(modelName);
        const record = parseFeedbackRequest(body, modelName, output, new Date());
        try {
          await options.feedback.putFeedback(record);
        } catch (error) {
          // A store outage is not the caller's fault, and a retry may succeed: 503, not 500.
          throw new ModelUnavailableError('FEEDBACK_UNAVAILABLE', 'the label could not be stored now; retry later', { model: modelName }, { cause: error });
        }
        metrics.addDimension(METRIC_DIMENSIONS.model, modelName);
        metrics.addMetric(API_METRICS.feedbackLabels, MetricUnit.Count, 1);
        return { accepted: true, model: modelName, request_id: record.request_id, row: record.row, label: record.label };
      }
    }
  }

  function versionAnswered(status: number): void {
    if (options.functionVersion === undefined) return;
    const versionMetric = metrics.singleMetric();
    versionMetric.addDimension(METRIC_DIMENSIONS.functionVersion, options.functionVersion);
    versionMetric.addMetric(API_METRICS.versionServerErrors, MetricUnit.Count, status >= 500 ? 1 : 0);
  }

  return async (event) => {
    const headers = lowerCaseHeaders(event.headers);
    const cors = corsHeaders(headers.origin);
    try {
      const result = await dispatch(event, headers);
      const body = result === undefined ? openApiBody : JSON.stringify(result);
      versionAnswered(200);
      return { statusCode: 200, headers: { ...JSON_HEADERS, ...cors }, body };
    } catch (error) {
      const { status, body } = toErrorResponse(error);
      if (error instanceof ApiError && status < 500) {
        logger.info('request refused', { status, code: body.error.code, details: body.error.details });
      } else {
        logger.error('request failed', { status, code: body.error.code, error: asError(error) });
      }
      const errorMetric = metrics.singleMetric();
      errorMetric.addDimension(METRIC_DIMENSIONS.code, body.error.code);
      errorMetric.addMetric(status >= 500 ? API_METRICS.serverErrors : API_METRICS.clientErrors, MetricUnit.Count, 1);
      const failedVariant = failedVariantOf(error);
      if (failedVariant !== undefined) options.variantMetrics?.failed(failedVariant);
      versionAnswered(status);
      return { statusCode: status, headers: { ...JSON_HEADERS, ...cors }, body: JSON.stringify(body) };
    } finally {
      logger.removeKeys(['model', 'model_version', 'variant', 'consumer']);
    }
  };
}
