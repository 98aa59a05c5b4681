import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from './mlops-function.ts';

/**
 * The OpenAPI document of the inference API with placeholder limits, written by `npm run openapi` from
 * lambdas/core/api/openapi.ts (lib/ does not import runtime code); the construct fills in the deployment's limits.
 */
export const OPENAPI_DOCUMENT_PATH = 'lib/constructs/openapi.template.json';

/** The platform version the health answer and the document's `info.version` carry (the handler's `SERVICE_VERSION`). */
export const SERVICE_VERSION = '0.1.0';

/** Numbers no real document holds, standing for each limit in the template (as numbers and inside descriptions). */
export const OPENAPI_PLACEHOLDERS = { maxBatchSize: 987_654_301, maxExplainBatchSize: 987_654_302, maxRequestBytes: 987_654_303 } as const;

export interface OpenApiLimits {
  readonly maxBatchSize: number;
  readonly maxExplainBatchSize: number;
  readonly maxRequestBytes: number;
}

/**
 * The document `GET /v1/openapi.json` answers for a deployment's limits: the template with each placeholder replaced
 * (the same document the handler builds, which test/infra/inference-api.test.ts checks).
 */
export function openApiDocumentText(limits: OpenApiLimits): string {
  let text = readFileSync(join(PROJECT_ROOT, OPENAPI_DOCUMENT_PATH), 'utf8');
  for (const [key, placeholder] of Object.entries(OPENAPI_PLACEHOLDERS) as [keyof OpenApiLimits, number][]) {
    text = text.split(String(placeholder)).join(String(limits[key]));
  }
  return JSON.stringify(JSON.parse(text));
}

/** The health answer of the mock integration (what the handler answers on `GET /v1/health`). */
export function healthText(): string {
  return JSON.stringify({ status: 'ok', service: 'inference-api', version: SERVICE_VERSION });
}
