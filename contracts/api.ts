/**
 * The inference API: its deployment settings (`api` block), the environment variables the predict function reads
 * them from, and its routes.
 */
import * as z from 'zod';
import { addIssue, integerIn, oneOf, positiveNumber, stringMatching, strictObject } from './schema.ts';

/** A CORS origin: `https://host[:port]` (or `http://`). */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

const origin = z
  .string({ error: 'must be "*" or an origin like "https://example.com"' })
  .refine((value) => value === '*' || ORIGIN.test(value), { error: 'must be "*" or an origin like "https://example.com"' });

/** A usage plan throttle with its defaults (the API-wide one, the explain route's). */
export function throttleSchema(defaults: { readonly rateLimit: number; readonly burstLimit: number }) {
  return strictObject({
    rateLimit: positiveNumber(10_000)
      .default(defaults.rateLimit)
      .meta({ description: 'Usage plan steady-state requests per second per API key.' }),
    burstLimit: integerIn(1, 5000).default(defaults.burstLimit).meta({ description: 'Usage plan burst per API key.' }),
  });
}

/** Usage plan throttle applied to every API key. */
export const throttleConfig = throttleSchema({ rateLimit: 50, burstLimit: 100 });

/** Usage plan quota applied to every API key. */
export const quotaConfig = strictObject({
  limit: integerIn(1, 2_000_000_000).default(100_000).meta({ description: 'Usage plan requests per key per period.' }),
  period: oneOf(['DAY', 'WEEK', 'MONTH']).default('DAY').meta({ description: 'The quota period.' }),
});

/** The `api` block. */
export const apiConfig = strictObject({
  throttle: throttleConfig.prefault({}).meta({ description: 'Usage plan throttle applied to every API key.' }),
  quota: quotaConfig.prefault({}).meta({ description: 'Usage plan quota applied to every API key.' }),
  maxRequestBytes: integerIn(1, 6 * 1024 * 1024)
    .default(1_048_576)
    .meta({ description: 'Largest predict body in bytes, checked by the handler (`413 PAYLOAD_TOO_LARGE`); also shown in the OpenAPI document. Env `MAX_REQUEST_BYTES`.' }),
  maxBatchSize: integerIn(1, 10_000).default(1000).meta({ description: 'Most instances per predict request (`400 BATCH_TOO_LARGE`); also `maxItems` in the OpenAPI document. Env `MAX_BATCH_SIZE`.' }),
  corsAllowOrigins: z
    .array(origin, { error: 'must be an array of origins' })
    .default([])
    .meta({ description: 'Empty: no CORS at all. Otherwise API Gateway answers preflight (`GET, POST, OPTIONS`) and the handler adds `access-control-allow-origin` for allowed origins. Env `CORS_ALLOW_ORIGIN`.' }),
  stageName: stringMatching(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits or underscores (1 to 64)')
    .default('prod')
    .meta({ description: 'The API Gateway stage: the first path segment of the API URL.' }),
}).superRefine((api, ctx) => {
  if (api.corsAllowOrigins.includes('*') && api.corsAllowOrigins.length > 1) {
    addIssue(ctx, ['corsAllowOrigins'], 'must not combine "*" with other origins', api.corsAllowOrigins);
  }
});

export type ThrottleConfig = z.output<typeof throttleConfig>;
export type QuotaConfig = z.output<typeof quotaConfig>;
export type QuotaPeriod = QuotaConfig['period'];
export type ApiConfig = z.output<typeof apiConfig>;
