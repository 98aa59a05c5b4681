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
      .meta({ description: 'Steady-state requests per second allowed per API key (usage plan throttle).' }),
    burstLimit: integerIn(1, 5000).default(defaults.burstLimit).meta({ description: 'Burst capacity (requests) per API key (usage plan throttle).' }),
  });
}

/** Usage plan throttle applied to every API key. */
export const throttleConfig = throttleSchema({ rateLimit: 50, burstLimit: 100 });

/** Usage plan quota applied to every API key. */
export const quotaConfig = strictObject({
  limit: integerIn(1, 2_000_000_000).default(100_000).meta({ description: 'Maximum number of requests per API key in one quota period.' }),
  period: oneOf(['DAY', 'WEEK', 'MONTH']).default('DAY').meta({ description: 'The quota period.' }),
});

/** The `api` block. */
export const apiConfig = strictObject({
  throttle: throttleConfig.prefault({}).meta({ description: 'Usage plan throttle applied to every API key.' }),
  quota: quotaConfig.prefault({}).meta({ description: 'Usage plan quota applied to every API key.' }),
  maxRequestBytes: integerIn(1, 6 * 1024 * 1024)
    .default(1_048_576)
    .meta({ description: "Largest accepted request body in bytes (checked by the handler; Lambda's own limit is 6 MB)." }),
  maxBatchSize: integerIn(1, 10_000).default(1000).meta({ description: 'Largest number of records accepted in one predict request.' }),
  corsAllowOrigins: z
    .array(origin, { error: 'must be an array of origins' })
    .default([])
    .meta({ description: 'Origins allowed by CORS (`"*"` or `https://host[:port]`). Empty disables CORS entirely.' }),
  stageName: stringMatching(/^[A-Za-z0-9_]{1,64}$/, 'letters, digits or underscores (1 to 64)')
    .default('prod')
    .meta({ description: 'API Gateway stage name (first path segment of the API URL).' }),
}).superRefine((api, ctx) => {
  if (api.corsAllowOrigins.includes('*') && api.corsAllowOrigins.length > 1) {
    addIssue(ctx, ['corsAllowOrigins'], 'must not combine "*" with other origins', api.corsAllowOrigins);
  }
});

export type ThrottleConfig = z.output<typeof throttleConfig>;
export type QuotaConfig = z.output<typeof quotaConfig>;
export type QuotaPeriod = QuotaConfig['period'];
export type ApiConfig = z.output<typeof apiConfig>;
