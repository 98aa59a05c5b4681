import { describe, expect, it } from 'vitest';
import { FEEDBACK_VALIDATION_ERROR_CODES, openApiDocument } from '#core/api/openapi.ts';
import { ROUTES } from '../../../contracts/routes.ts';

interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string }; examples?: Record<string, unknown> }> }>;
}

const document = openApiDocument({ maxBatchSize: 100, maxRequestBytes: 65536, version: '9.9.9' }) as {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown>; additionalProperties?: boolean }> };
};

const operation = (path: string, method: string): Operation => {
  const found = document.paths[path]?.[method];
  if (found === undefined) throw new Error(`no ${method} ${path} in the document`);
  return found;
};

const codesOf = (op: Operation, status: string): string[] => Object.keys(op.responses[status]?.content?.['application/json']?.examples ?? {});

describe('openApiDocument', () => {
  it('describes every route the API serves, under the route name as operationId', () => {
    for (const route of ROUTES) {
      expect(operation(route.resource, route.method.toLowerCase()).operationId).toBe(route.name);
    }
  });

  it('describes the feedback route: body, answer and error codes', () => {
    const feedback = operation('/v1/models/{model}/feedback', 'post');
    expect(feedback.requestBody?.content['application/json']?.schema.$ref).toBe('#/components/schemas/FeedbackRequest');
    expect(feedback.responses['200']?.content?.['application/json']?.schema?.$ref).toBe('#/components/schemas/FeedbackResponse');
    expect(codesOf(feedback, '400')).toEqual([...FEEDBACK_VALIDATION_ERROR_CODES]);
    expect(codesOf(feedback, '404')).toEqual(['MODEL_NOT_FOUND', 'NO_PRODUCTION_VERSION', 'FEEDBACK_DISABLED']);
    expect(codesOf(feedback, '503')).toEqual(['REGISTRY_UNAVAILABLE', 'FEEDBACK_UNAVAILABLE']);

    const request = document.components.schemas.FeedbackRequest;
    expect(request?.required).toEqual(['request_id', 'label']);
    expect(Object.keys(request?.properties ?? {})).toEqual(['request_id', 'label', 'row']);
    expect(request?.additionalProperties).toBe(false);
    expect(document.components.schemas.FeedbackResponse?.required).toEqual(['accepted', 'model', 'request_id', 'row', 'label']);
  });

  it('has request_id in the predict answer', () => {
    const response = document.components.schemas.PredictResponse;
    expect(response?.required).toContain('request_id');
    expect(response?.properties).toHaveProperty('request_id');
  });

  it('lists OUT_OF_RANGE among the predict 400s and optional warnings in the predict answer', () => {
    expect(codesOf(operation('/v1/models/{model}/predict', 'post'), '400')).toContain('OUT_OF_RANGE');
    const response = document.components.schemas.PredictResponse;
    expect(response?.required).not.toContain('warnings');
    expect(response?.properties?.['warnings']).toMatchObject({ type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/OutOfRangeWarning' }, { $ref: '#/components/schemas/OutOfDistributionWarning' }] } });
    expect(document.components.schemas.OutOfRangeWarning?.required).toEqual(['instance', 'feature', 'code', 'value', 'min', 'max']);
  });

  it('points every $ref at a schema it defines', () => {
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1] as string);
    for (const name of new Set(refs)) expect(document.components.schemas).toHaveProperty(name);
  });
});
