import { STAGES } from '#core/registry/records.ts';
import { API_ROUTES } from '#contracts/routes.ts';

/**
 * The OpenAPI 3.1 description of the inference API, served at `GET /v1/openapi.json`
 * and copied into docs/api.md. Error codes listed here are the ones the handlers throw.
 */

export const VALIDATION_ERROR_CODES = [
  'MALFORMED_JSON',
  'INVALID_BODY',
  'EMPTY_BATCH',
  'BATCH_TOO_LARGE',
  'INVALID_INSTANCE',
  'MISSING_FEATURE',
  'UNKNOWN_FEATURE',
  'INVALID_TYPE',
  'NON_FINITE_VALUE',
  'VALUE_BEYOND_FLOAT32',
  'NULL_NOT_ALLOWED',
  'UNKNOWN_CATEGORY',
  'INVALID_REQUEST_ID',
  'INVALID_MODEL_NAME',
  // The model answered a non-number for these (finite, float32) values: never served as a 200.
  'NON_FINITE_PREDICTION',
  // Only where the deployment's `predict.outOfRange` is `reject` (lambdas/core/serving/range-check.ts).
  'OUT_OF_RANGE',
  // Only where the deployment's `predict.outOfDistribution` is `reject` (lambdas/core/serving/ood.ts).
  'OUT_OF_DISTRIBUTION',
] as const;

/** What `POST /v1/models/{model}/feedback` answers 400 with (`lambdas/core/capture/feedback-request.ts`). */
export const FEEDBACK_VALIDATION_ERROR_CODES = ['MALFORMED_JSON', 'INVALID_BODY', 'UNKNOWN_LABEL', 'INVALID_MODEL_NAME'] as const;

export const UNAVAILABLE_ERROR_CODES = [
  'ARTIFACT_UNAVAILABLE',
  'ARTIFACT_INTEGRITY_FAILED',
  'ARTIFACT_INVALID',
  'VERSION_RECORD_MISSING',
  'INFERENCE_FAILED',
  'REGISTRY_UNAVAILABLE',
  // Versions served by a SageMaker endpoint (docs/gpu.md).
  'ENDPOINT_FAILED',
  'ENDPOINT_INVALID_RESPONSE',
  'ENDPOINT_CIRCUIT_OPEN',
  'ENDPOINT_NOT_CONFIGURED',
] as const;

const errorResponse = (description: string, codes: readonly string[]) => ({
  description,
  content: {
    'application/json': {
      schema: { $ref: '#/components/schemas/Error' },
      examples: Object.fromEntries(
        codes.map((code) => [code, { value: { error: { code, message: '…', details: {} } } }]),
      ),
    },
  },
});

/** The 403 of a model route: no valid key (API Gateway), or an API consumer calling a model outside its `models` list. */
const modelForbidden = errorResponse('Missing or invalid API key, or a model this API consumer may not call', ['FORBIDDEN', 'MODEL_NOT_ALLOWED']);

const modelParameter = {
  name: 'model',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-_]{0,62}$' },
};

const routingHeaders = [
  {
    name: 'x-entity-key',
    in: 'header',
    required: false,
    description:
      'The entity the request is about (a customer id, say). While the model has a canary, requests with the same key ' +
      'are always answered by the same version. Takes precedence over `x-request-id`.',
    schema: { type: 'string', maxLength: 256 },
  },
  {
    name: 'x-request-id',
    in: 'header',
    required: false,
    description:
      'The caller\'s request id. Without `x-entity-key` it decides the canary split, so a retry with the same id ' +
      'reaches the same version. Without either header each request is routed at random by the canary share.',
    schema: { type: 'string', maxLength: 256 },
  },
];

/** What `POST /v1/models/{model}/explain` answers 422 and 500 with, besides predict's codes. */
export const EXPLAIN_ERROR_CODES = { unprocessable: ['EXPLAIN_NOT_SUPPORTED'], internal: ['EXPLANATION_CHECK_FAILED', 'INTERNAL_ERROR'] } as const;

export interface OpenApiOptions {
  readonly maxBatchSize: number;
  /** The explain route's own batch limit. @default 10 */
  readonly maxExplainBatchSize?: number;
  readonly maxRequestBytes: number;
  /** Version of the platform, shown as `info.version`. */
  readonly version: string;
}

export function openApiDocument(options: OpenApiOptions): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'serverless-mlops inference API',
      version: options.version,
      description:
        'Predictions from ONNX models held in the serverless-mlops registry. Every error answers ' +
        '`{"error": {"code", "message", "details"}}`; `details.field` names the offending field.',
    },
    servers: [{ url: '/' }],
    security: [{ apiKey: [] }],
    paths: {
      [API_ROUTES.health.resource]: {
        get: {
          operationId: 'health',
          summary: 'Liveness of the API',
          security: [],
          responses: {
            '200': {
              description: 'The API is up',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Health' } } },
            },
          },
        },
      },
      [API_ROUTES.openapi.resource]: {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
        },
      },
      [API_ROUTES.listModels.resource]: {
        get: {
          operationId: 'listModels',
          summary: 'Models in the registry and their production versions',
          responses: {
            '200': {
              description: 'The models',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['models'],
                    properties: { models: { type: 'array', items: { $ref: '#/components/schemas/ModelSummary' } } },
                  },
                },
              },
            },
            '403': errorResponse('Missing or invalid API key', ['FORBIDDEN']),
          },
        },
      },
      [API_ROUTES.describeModel.resource]: {
        get: {
          operationId: 'describeModel',
          summary: 'A model, its production version, input schema and holdout metrics',
          parameters: [modelParameter],
          responses: {
            '200': {
              description: 'The model',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelDescription' } } },
            },
            '400': errorResponse('Not a model name', ['INVALID_MODEL_NAME']),
            '403': modelForbidden,
            '404': errorResponse('Unknown model, or no production version', ['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION']),
          },
        },
      },
      [API_ROUTES.listVersions.resource]: {
        get: {
          operationId: 'listVersions',
          summary: 'The versions of a model, newest first: stage, serving roles, artifact digest and holdout metrics',
          parameters: [modelParameter],
          responses: {
            '200': {
              description: 'The versions (soft-deleted ones are not listed)',
              content: {
                'application/json': {
                  schema: {
                    type: 'object',
                    required: ['model', 'versions'],
                    properties: {
                      model: { type: 'string' },
                      versions: { type: 'array', items: { $ref: '#/components/schemas/VersionSummary' } },
                    },
                  },
                },
              },
            },
            '400': errorResponse('Not a model name', ['INVALID_MODEL_NAME']),
            '403': modelForbidden,
            '404': errorResponse('Unknown model', ['MODEL_NOT_FOUND']),
            '503': errorResponse('The registry cannot be read now; retry later', ['REGISTRY_UNAVAILABLE']),
          },
        },
      },
      [API_ROUTES.predict.resource]: {
        post: {
          operationId: 'predict',
          summary: "Score a batch of instances with the model's production version (or its canary, for the canary's share)",
          description:
            'The production version answers, except for the share of requests the model\'s canary takes; `variant` says ' +
            'which. A shadow version, when set, scores the same instances on the side; its answers are never returned.',
          parameters: [modelParameter, ...routingHeaders],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictRequest' } } },
          },
          responses: {
            '200': {
              description: 'One prediction per instance, in order',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/PredictResponse' } } },
            },
            '400': errorResponse('The body breaks the model contract', VALIDATION_ERROR_CODES),
            '403': modelForbidden,
            '404': errorResponse('Unknown model, or no production version', ['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION']),
            '413': errorResponse(`Body larger than ${options.maxRequestBytes} bytes`, ['PAYLOAD_TOO_LARGE']),
            '429': errorResponse("Rate or quota of the usage plan exceeded, or the model's endpoint is at capacity", [
              'THROTTLED',
              'QUOTA_EXCEEDED',
              'ENDPOINT_THROTTLED',
            ]),
            '503': errorResponse('The model cannot serve now; retry later', UNAVAILABLE_ERROR_CODES),
            '504': errorResponse("The model's endpoint did not answer in time", ['ENDPOINT_TIMEOUT', 'TIMEOUT']),
          },
        },
      },
      [API_ROUTES.explain.resource]: {
        post: {
          operationId: 'explain',
          summary: 'Explain the predictions of a batch of instances with SHAP values of their features',
          description:
            'The same body, validation, API key and canary routing as predict, with its own batch limit and throttle. ' +
            'Per instance: the prediction, the base value (the mean log-odds of a background sample from the version\'s ' +
            'baseline profile), one attribution per input feature (one-hot columns and scaling belong to their feature) in ' +
            'log-odds, and the largest contributions. Attributions plus the base value equal the instance\'s log-odds; the ' +
            'answer is checked for it and is a 500 `EXPLANATION_CHECK_FAILED` rather than a wrong answer. `method` says how ' +
            'the values were computed: `linear_exact` (closed form), `tree_exact` (interventional Tree SHAP), or `sampling` ' +
            '(`approximate: true`; other graphs, where the deployment allows it).',
          parameters: [modelParameter, ...routingHeaders],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/ExplainRequest' } } },
          },
          responses: {
            '200': {
              description: 'One explanation per instance, in order',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ExplainResponse' } } },
            },
            '400': errorResponse('The body breaks the model contract', VALIDATION_ERROR_CODES),
            '403': modelForbidden,
            '404': errorResponse('Unknown model, or no production version', ['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION']),
            '413': errorResponse(`Body larger than ${options.maxRequestBytes} bytes`, ['PAYLOAD_TOO_LARGE']),
            '422': errorResponse(
              'The answering version cannot be explained here: served by a SageMaker endpoint, or a graph without an exact method where sampling is off',
              EXPLAIN_ERROR_CODES.unprocessable,
            ),
            '429': errorResponse('Rate or quota of the usage plan exceeded (explain has its own rate)', ['THROTTLED', 'QUOTA_EXCEEDED']),
            '500': errorResponse('The explanation failed its own check; nothing wrong is returned', EXPLAIN_ERROR_CODES.internal),
            '503': errorResponse('The model cannot serve now; retry later', UNAVAILABLE_ERROR_CODES),
          },
        },
      },
      [API_ROUTES.feedback.resource]: {
        post: {
          operationId: 'feedback',
          summary: 'Send the true label of an earlier prediction',
          description:
            'Names the prediction by the `request_id` its predict answer carried (and `row`, its instance in the batch). ' +
            'The label is stored before the answer; the drift job joins labels to captured predictions and reports live ' +
            'accuracy and ROC AUC against the holdout. Sending a label again for the same prediction replaces it (the latest wins).',
          parameters: [modelParameter],
          requestBody: {
            required: true,
            content: { 'application/json': { schema: { $ref: '#/components/schemas/FeedbackRequest' } } },
          },
          responses: {
            '200': {
              description: 'The label is stored',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/FeedbackResponse' } } },
            },
            '400': errorResponse('The body is not a valid label', FEEDBACK_VALIDATION_ERROR_CODES),
            '403': modelForbidden,
            '413': errorResponse('Body larger than 16 KiB', ['PAYLOAD_TOO_LARGE']),
            '404': errorResponse('Unknown model, no production version, or feedback off (prediction capture is off)', [
              'MODEL_NOT_FOUND',
              'NO_PRODUCTION_VERSION',
              'FEEDBACK_DISABLED',
            ]),
            '429': errorResponse('Rate or quota of the usage plan exceeded', ['THROTTLED', 'QUOTA_EXCEEDED']),
            '503': errorResponse('The registry or the label store cannot be reached now; retry later', ['REGISTRY_UNAVAILABLE', 'FEEDBACK_UNAVAILABLE']),
          },
        },
      },
    },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message', 'details'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                details: { type: 'object', additionalProperties: true },
              },
            },
          },
        },
        Health: {
          type: 'object',
          required: ['status'],
          properties: { status: { const: 'ok' }, service: { type: 'string' }, version: { type: 'string' } },
        },
        ModelSummary: {
          type: 'object',
          required: ['model', 'production_version', 'latest_version'],
          properties: {
            model: { type: 'string' },
            description: { type: 'string' },
            production_version: { type: ['integer', 'null'] },
            latest_version: { type: 'integer' },
            updated_at: { type: 'string', format: 'date-time' },
          },
        },
        ModelDescription: {
          allOf: [
            { $ref: '#/components/schemas/ModelSummary' },
            {
              type: 'object',
              properties: {
                algorithm: { type: 'string' },
                input_schema: { type: 'object' },
                output: { type: 'object' },
                metrics: { type: 'object', additionalProperties: { type: 'number' } },
                artifact_sha256: { type: 'string' },
              },
            },
          ],
        },
        PredictRequest: {
          type: 'object',
          required: ['instances'],
          additionalProperties: false,
          properties: {
            instances: {
              type: 'array',
              minItems: 1,
              maxItems: options.maxBatchSize,
              description:
                "Each instance holds every feature of the model's input schema. A numeric feature takes a finite " +
                'number, a categorical one a known category; `null` is a missing value, imputed where the schema allows it.',
              items: { type: 'object', additionalProperties: { type: ['number', 'string', 'null'] } },
            },
          },
        },
        ExplainRequest: {
          type: 'object',
          required: ['instances'],
          additionalProperties: false,
          properties: {
            instances: {
              type: 'array',
              minItems: 1,
              maxItems: options.maxExplainBatchSize ?? 10,
              description: 'As for predict, with the explain batch limit',
              items: { type: 'object', additionalProperties: { type: ['number', 'string', 'null'] } },
            },
          },
        },
        ExplainResponse: {
          type: 'object',
          required: ['model', 'model_version', 'variant', 'method', 'approximate', 'output_space', 'background', 'explanations', 'request_id'],
          properties: {
            model: { type: 'string' },
            model_version: { type: 'integer', description: 'The version that answered' },
            variant: { enum: ['production', 'canary'] },
            method: { enum: ['linear_exact', 'tree_exact', 'sampling'], description: 'How the values were computed, chosen from the ONNX graph' },
            approximate: { type: 'boolean', description: 'True for `sampling`: the values add up exactly, their split between features is estimated' },
            output_space: { const: 'log_odds' },
            background: {
              type: 'object',
              required: ['source', 'rows'],
              properties: {
                source: { enum: ['baseline_sample', 'baseline_profile'], description: "Sampled training rows, or rows drawn from the baseline profile's per-feature distributions" },
                rows: { type: 'integer', minimum: 1 },
              },
            },
            explanations: {
              type: 'array',
              items: {
                type: 'object',
                required: ['label', 'probability', 'log_odds', 'base_value', 'attributions', 'top_contributions'],
                properties: {
                  label: { type: 'string' },
                  probability: { type: 'number', minimum: 0, maximum: 1, description: 'As predict answers it' },
                  log_odds: { type: 'number', description: 'base_value + Σ attributions' },
                  base_value: { type: 'number', description: 'The mean log-odds of the background' },
                  attributions: { type: 'object', additionalProperties: { type: 'number' }, description: 'One value per input feature, in log-odds' },
                  top_contributions: {
                    type: 'array',
                    description: 'The largest attributions by magnitude, largest first',
                    items: {
                      type: 'object',
                      required: ['feature', 'value', 'attribution'],
                      properties: { feature: { type: 'string' }, value: { type: ['number', 'string', 'null'] }, attribution: { type: 'number' } },
                    },
                  },
                },
              },
            },
            warnings: { type: 'array', maxItems: 100, items: { $ref: '#/components/schemas/OutOfRangeWarning' } },
            request_id: { type: 'string' },
          },
        },
        VersionSummary: {
          type: 'object',
          required: ['version', 'stage', 'roles', 'created_at', 'artifact_sha256'],
          properties: {
            version: { type: 'integer', minimum: 1 },
            stage: { enum: [...STAGES] },
            roles: { type: 'array', items: { enum: ['production', 'canary', 'shadow'] } },
            created_at: { type: 'string', format: 'date-time' },
            created_by: { type: 'string' },
            artifact_sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            artifact_size_bytes: { type: 'integer' },
            algorithm: { type: 'string' },
            schema_version: { type: 'integer' },
            preprocess_version: { type: 'integer' },
            metrics: { type: 'object', additionalProperties: { type: 'number' } },
          },
        },
        PredictResponse: {
          type: 'object',
          required: ['model', 'model_version', 'variant', 'predictions', 'request_id'],
          properties: {
            model: { type: 'string' },
            request_id: {
              type: 'string',
              description:
                'The id of this request, for `POST /v1/models/{model}/feedback`: the caller\'s `x-request-id` when sent, ' +
                "else API Gateway's request id",
            },
            model_version: { type: 'integer', description: 'The version that answered' },
            variant: {
              enum: ['production', 'canary'],
              description: "Whether the production version or the model's canary answered",
            },
            predictions: {
              type: 'array',
              items: {
                type: 'object',
                required: ['label', 'probability'],
                properties: {
                  label: { type: 'string' },
                  probability: { type: 'number', minimum: 0, maximum: 1 },
                  ood_score: {
                    type: 'number',
                    minimum: 0,
                    maximum: 1,
                    description:
                      "How unusual the instance is against the answering version's training values: 1 − the Bonferroni p-value of its " +
                      "features' tail probabilities (0 typical, towards 1 unlike any training row). Present where the deployment's " +
                      '`predict.outOfDistribution` is `warn` or `reject`',
                  },
                },
              },
            },
            warnings: {
              type: 'array',
              maxItems: 200,
              description:
                "Numeric values outside the answering version's training range widened by the tolerance, where the " +
                "deployment's `predict.outOfRange` is `warn` (at most 100 listed), then instances whose out-of-distribution " +
                "p-value is below `predict.outOfDistributionPValue`, where `predict.outOfDistribution` is `warn` (at most 100). " +
                'Absent when there are none',
              items: { oneOf: [{ $ref: '#/components/schemas/OutOfRangeWarning' }, { $ref: '#/components/schemas/OutOfDistributionWarning' }] },
            },
          },
        },
        OutOfRangeWarning: {
          type: 'object',
          required: ['instance', 'feature', 'code', 'value', 'min', 'max'],
          properties: {
            instance: { type: 'integer', minimum: 0, description: 'The instance of the batch, counted from 0' },
            feature: { type: 'string' },
            code: { const: 'OUT_OF_RANGE' },
            value: { type: 'number' },
            min: { type: 'number', description: 'The lowest tolerated value: training min − tolerance × (max − min)' },
            max: { type: 'number', description: 'The highest tolerated value: training max + tolerance × (max − min)' },
          },
        },
        OutOfDistributionWarning: {
          type: 'object',
          required: ['instance', 'feature', 'code', 'ood_score', 'p_value'],
          properties: {
            instance: { type: 'integer', minimum: 0, description: 'The instance of the batch, counted from 0' },
            feature: { type: ['string', 'null'], description: 'Its most unusual feature (the smallest tail probability)' },
            code: { const: 'OUT_OF_DISTRIBUTION' },
            ood_score: { type: 'number', minimum: 0, maximum: 1 },
            p_value: { type: 'number', minimum: 0, maximum: 1, description: "Bonferroni's p-value over the instance's features" },
          },
        },
        FeedbackRequest: {
          type: 'object',
          required: ['request_id', 'label'],
          additionalProperties: false,
          properties: {
            request_id: { type: 'string', minLength: 1, maxLength: 200, description: 'The `request_id` of the predict answer' },
            label: { type: 'string', description: "The true label: the model's positive or negative label (`output` of describe)" },
            row: { type: 'integer', minimum: 0, default: 0, description: 'The instance of the batch, counted from 0' },
          },
        },
        FeedbackResponse: {
          type: 'object',
          required: ['accepted', 'model', 'request_id', 'row', 'label'],
          properties: {
            accepted: { const: true },
            model: { type: 'string' },
            request_id: { type: 'string' },
            row: { type: 'integer', minimum: 0 },
            label: { type: 'string' },
          },
        },
      },
    },
  };
}
