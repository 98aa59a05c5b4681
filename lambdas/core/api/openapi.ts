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
  'NULL_NOT_ALLOWED',
  'UNKNOWN_CATEGORY',
] as const;

export const UNAVAILABLE_ERROR_CODES = [
  'ARTIFACT_UNAVAILABLE',
  'ARTIFACT_INTEGRITY_FAILED',
  'ARTIFACT_INVALID',
  'VERSION_RECORD_MISSING',
  'INFERENCE_FAILED',
  'REGISTRY_UNAVAILABLE',
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

const modelParameter = {
  name: 'model',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9-_]{0,62}$' },
};

export interface OpenApiOptions {
  readonly maxBatchSize: number;
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
      '/v1/health': {
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
      '/v1/openapi.json': {
        get: {
          operationId: 'openapi',
          summary: 'This document',
          security: [],
          responses: { '200': { description: 'OpenAPI 3.1 document', content: { 'application/json': {} } } },
        },
      },
      '/v1/models': {
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
      '/v1/models/{model}': {
        get: {
          operationId: 'describeModel',
          summary: 'A model, its production version, input schema and holdout metrics',
          parameters: [modelParameter],
          responses: {
            '200': {
              description: 'The model',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/ModelDescription' } } },
            },
            '403': errorResponse('Missing or invalid API key', ['FORBIDDEN']),
            '404': errorResponse('Unknown model, or no production version', ['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION']),
          },
        },
      },
      '/v1/models/{model}/predict': {
        post: {
          operationId: 'predict',
          summary: "Score a batch of instances with the model's production version",
          parameters: [modelParameter],
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
            '403': errorResponse('Missing or invalid API key', ['FORBIDDEN']),
            '404': errorResponse('Unknown model, or no production version', ['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION']),
            '413': errorResponse(`Body larger than ${options.maxRequestBytes} bytes`, ['PAYLOAD_TOO_LARGE']),
            '429': errorResponse('Rate or quota of the usage plan exceeded', ['THROTTLED', 'QUOTA_EXCEEDED']),
            '503': errorResponse('The model cannot serve now; retry later', UNAVAILABLE_ERROR_CODES),
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
        PredictResponse: {
          type: 'object',
          required: ['model', 'model_version', 'predictions'],
          properties: {
            model: { type: 'string' },
            model_version: { type: 'integer' },
            predictions: {
              type: 'array',
              items: {
                type: 'object',
                required: ['label', 'probability'],
                properties: {
                  label: { type: 'string' },
                  probability: { type: 'number', minimum: 0, maximum: 1 },
                },
              },
            },
          },
        },
      },
    },
  };
}
