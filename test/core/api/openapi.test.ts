import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FEEDBACK_VALIDATION_ERROR_CODES, openApiDocument } from '#core/api/openapi.ts';
import { ROUTES } from '../../../contracts/routes.ts';

interface Operation {
  operationId: string;
  requestBody?: { content: Record<string, { schema: { $ref: string } }> };
  responses: Record<string, { content?: Record<string, { schema?: { $ref?: string }; examples?: Record<string, unknown> }> }>;
}

interface Document {
  info: { version: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { required?: string[]; properties?: Record<string, unknown>; additionalProperties?: boolean }> };
}

/** Built in each test (not at import), so that each test covers what it reads. */
const build = (): Document => openApiDocument({ maxBatchSize: 100, maxRequestBytes: 65536, version: '9.9.9' }) as unknown as Document;

const operation = (document: Document, path: string, method: string): Operation => {
  const found = document.paths[path]?.[method];
  if (found === undefined) throw new Error(`no ${method} ${path} in the document`);
  return found;
};

const codesOf = (op: Operation, status: string): string[] => Object.keys(op.responses[status]?.content?.['application/json']?.examples ?? {});

describe('openApiDocument', () => {
  it('is the document API Gateway serves: the committed template (npm run openapi), with its own limits', () => {
    // GET /v1/openapi.json is answered in AWS by a mock integration from lib/constructs/openapi.template.json (limits
    // filled in) and locally by the handler from this function: a change to one that the other lacks makes the API's
    // description depend on where it runs. test/infra checks the template against the deployed integration.
    const template = JSON.parse(readFileSync(new URL('../../../lib/constructs/openapi.template.json', import.meta.url), 'utf8')) as Document;
    const limit = (schema: string): number => (template.components.schemas[schema]?.properties?.['instances'] as { maxItems: number }).maxItems;
    const bytes = /Body larger than (\d+) bytes/.exec(JSON.stringify(template.paths['/v1/models/{model}/predict']))?.[1];
    const options = { maxBatchSize: limit('PredictRequest'), maxExplainBatchSize: limit('ExplainRequest'), maxRequestBytes: Number(bytes), version: template.info.version };
    expect(new Set(Object.values(options)).size).toBe(4);
    expect(openApiDocument(options)).toEqual(template);
  });

  it('describes every route the API serves, under the route name as operationId', () => {
    const document = build();
    for (const route of ROUTES) {
      expect(operation(document, route.resource, route.method.toLowerCase()).operationId).toBe(route.name);
    }
  });

  it('describes the feedback route: body, answer and error codes', () => {
    const document = build();
    const feedback = operation(document, '/v1/models/{model}/feedback', 'post');
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

  it('states the deployment\'s batch limits and body size, the explain limit 10 unless given', () => {
    const document = build();
    const instances = (schema: string): unknown => (document.components.schemas[schema]?.properties as Record<string, unknown>)['instances'];
    expect(instances('PredictRequest')).toMatchObject({ type: 'array', minItems: 1, maxItems: 100 });
    expect(instances('ExplainRequest')).toMatchObject({ type: 'array', minItems: 1, maxItems: 10 });
    const explicit = openApiDocument({ maxBatchSize: 7, maxExplainBatchSize: 2, maxRequestBytes: 512, version: '1.2.3' }) as unknown as Document;
    expect(explicit.info.version).toBe('1.2.3');
    expect(explicit.components.schemas.ExplainRequest?.properties?.['instances']).toMatchObject({ maxItems: 2 });
    expect(explicit.components.schemas.PredictRequest?.properties?.['instances']).toMatchObject({ maxItems: 7 });
    expect(JSON.stringify(explicit.paths['/v1/models/{model}/predict'])).toContain('Body larger than 512 bytes');
  });

  it('has request_id in the predict answer', () => {
    const document = build();
    const response = document.components.schemas.PredictResponse;
    expect(response?.required).toContain('request_id');
    expect(response?.properties).toHaveProperty('request_id');
  });

  it('lists OUT_OF_RANGE among the predict 400s and optional warnings in the predict answer', () => {
    const document = build();
    expect(codesOf(operation(document, '/v1/models/{model}/predict', 'post'), '400')).toContain('OUT_OF_RANGE');
    const response = document.components.schemas.PredictResponse;
    expect(response?.required).not.toContain('warnings');
    expect(response?.properties?.['warnings']).toMatchObject({ type: 'array', items: { oneOf: [{ $ref: '#/components/schemas/OutOfRangeWarning' }, { $ref: '#/components/schemas/OutOfDistributionWarning' }] } });
    expect(document.components.schemas.OutOfRangeWarning?.required).toEqual(['instance', 'feature', 'code', 'value', 'min', 'max']);
  });

  it('points every $ref at a schema it defines', () => {
    const document = build();
    const refs = [...JSON.stringify(document).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((m) => m[1] as string);
    for (const name of new Set(refs)) expect(document.components.schemas).toHaveProperty(name);
  });
});
