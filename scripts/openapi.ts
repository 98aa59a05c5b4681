/**
 * Writes lib/constructs/openapi.template.json: the OpenAPI document of the inference API (lambdas/core/api/openapi.ts)
 * with placeholder limits. The CDK serves it from an API Gateway mock integration (no Lambda behind
 * `GET /v1/openapi.json`) with the deployment's limits filled in (lib/constructs/openapi-document.ts);
 * test/infra/inference-api.test.ts checks that the file is current and that the filled document equals the handler's.
 *
 *   npm run openapi
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiDocument } from '#core/api/openapi.ts';
import { OPENAPI_DOCUMENT_PATH, OPENAPI_PLACEHOLDERS, SERVICE_VERSION } from '../lib/constructs/openapi-document.ts';

/** The template's text, as written to the file. */
export function openApiTemplateText(): string {
  return `${JSON.stringify(openApiDocument({ ...OPENAPI_PLACEHOLDERS, version: SERVICE_VERSION }), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(fileURLToPath(new URL(`../${OPENAPI_DOCUMENT_PATH}`, import.meta.url)), openApiTemplateText());
  console.log(`wrote ${OPENAPI_DOCUMENT_PATH}`);
}
