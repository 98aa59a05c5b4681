/**
 * The inference API: its deployment settings (`api` block), the environment variables the predict function reads
 * them from, and its routes.
 */
import * as z from 'zod';
import { addIssue, boolean, integerIn, oneOf, positiveNumber, stringMatching, strictObject } from './schema.ts';
import { MODEL_NAME } from './registry.ts';

/** A CORS origin: `https://host[:port]` (or `http://`). */
const ORIGIN = /^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/;

const origin = z
  .string({ error: 'must be "*" or an origin like "https://example.com"' })
  .refine((value) => value === '*' || ORIGIN.test(value), { error: 'must be "*" or an origin like "https://example.com"' });

/**
 * A throttle with its defaults (the usage plan's per API key, the explain route's, the stage-wide one); `scope` ends
 * its descriptions (`per API key`).
 */
export function throttleSchema(defaults: { readonly rateLimit: number; readonly burstLimit: number }, scope = 'per API key (usage plan)') {
  return strictObject({
    rateLimit: positiveNumber(10_000)
      .default(defaults.rateLimit)
      .meta({ description: `Steady-state requests per second ${scope}.` }),
    burstLimit: integerIn(1, 5000).default(defaults.burstLimit).meta({ description: `Burst ${scope}.` }),
  });
}

/**
 * API Gateway's own `429` answers (its THROTTLED and QUOTA_EXCEEDED gateway responses, in the platform's error shape
 * with empty details); the local gateway answers the same when it applies the usage plans (local/throttles.ts).
 */
export const GATEWAY_LIMIT_ERRORS = {
  throttled: { code: 'THROTTLED', message: 'too many requests, retry with backoff' },
  quotaExceeded: { code: 'QUOTA_EXCEEDED', message: 'usage plan quota exceeded' },
} as const;

/** Usage plan throttle applied to every API key. */
export const throttleConfig = throttleSchema({ rateLimit: 50, burstLimit: 100 });

/**
 * Usage plan quota of an API key. There is none by default: once spent, every client of the key gets 429 until the
 * period ends, so a quota is something to choose, not a default.
 */
export const quotaConfig = strictObject({
  limit: integerIn(1, 2_000_000_000).meta({ description: 'Usage plan requests per key per period.' }),
  period: oneOf(['DAY', 'WEEK', 'MONTH']).default('DAY').meta({ description: 'The quota period.' }),
});

/** Stage-wide throttle over all callers together (method settings of every method of the stage, each method on its own). */
export const stageThrottleConfig = throttleSchema(
  { rateLimit: 500, burstLimit: 1000 },
  "over all callers together, for each method (stage method settings `/*/*`, which API Gateway applies to every method on its own): the ceiling that keeps a flood from using up the predict function's concurrency",
);

/** The optional AWS WAF web ACL of the API stage. */
export const wafConfig = strictObject({
  enabled: boolean()
    .default(false)
    .meta({
      description: 'A WAF web ACL on the stage: AWS managed common rule set and a per-IP rate rule (WAF bills per web ACL, rule and request).',
    }),
  rateLimitPer5Minutes: integerIn(100, 2_000_000_000)
    .default(2000)
    .meta({ description: 'Requests one client IP may send in any 5 minutes before WAF blocks it (`403`).' }),
});

/** An API consumer's name: its usage plan's and API key's name suffix, its log key and metric dimension value. */
export const CONSUMER_NAME = /^[a-z][a-z0-9-]{0,30}[a-z0-9]$/;

/**
 * The consumer of the deployment's default key (not a configured consumer): may call every model. The key exists only
 * while `api.defaultKey` is on ({@link defaultKeyEnabled}).
 */
export const DEFAULT_CONSUMER_NAME = 'default';

/**
 * Whether the deployment has its default API key: `api.defaultKey` when set, else on without consumers (the first
 * hour: one key, every model) and off with consumers, whose allow-lists the default key would otherwise bypass.
 */
export function defaultKeyEnabled(api: { readonly defaultKey?: boolean | undefined; readonly consumers: readonly unknown[] }): boolean {
  return api.defaultKey ?? api.consumers.length === 0;
}

const consumerName = stringMatching(CONSUMER_NAME, 'lowercase letters, digits and dashes, starting with a letter (2 to 32 characters)');

const modelList = z
  .array(stringMatching(MODEL_NAME, `a model name matching ${MODEL_NAME.source}`), { error: 'must be an array of model names' })
  .min(1, { error: 'must name at least one model (leave it out to allow every model)' });

/**
 * One API consumer (a tenant): its own API key and usage plan, and optionally the models it may call. A consumer calling
 * another model gets `403 MODEL_NOT_ALLOWED`. Key rotation: docs/operations/api-key-rotation.md.
 */
export const consumerConfig = strictObject({
  name: consumerName.meta({
    description: 'Unique name: the API key and usage plan are `{appName}-{name}`; the `consumer` key of log lines, metric dimension and captured predictions.',
  }),
  throttle: throttleConfig.optional().meta({ description: "The consumer's usage plan throttle. Default: `api.throttle`." }),
  quota: quotaConfig.optional().meta({ description: "The consumer's usage plan quota. None by default." }),
  models: modelList.optional().meta({ description: 'The models this consumer may call (predict, explain, feedback, describe, versions). Default: every model.' }),
  keyVersion: integerIn(1, 1000)
    .default(1)
    .meta({
      description:
        'Raise it to rotate the key: a deploy creates a new API key in the usage plan, and `retiredKeyVersions` keeps listed older versions valid until the clients have switched.',
    }),
  retiredKeyVersions: z
    .array(integerIn(1, 1000), { error: 'must be an array of key versions' })
    .default([])
    .meta({ description: 'Older key versions still accepted during a rotation (remove them, then deploy, to end the overlap).' }),
}).superRefine((consumer, ctx) => {
  for (const version of consumer.retiredKeyVersions) {
    if (version >= consumer.keyVersion) addIssue(ctx, ['retiredKeyVersions'], `must be below keyVersion (${consumer.keyVersion})`, version);
  }
});

/**
 * What the predict function knows of the consumers (env `API_CONSUMERS`): a JSON list of `{"name", "models"?, "keyIds"}`
 * (a list, as the key ids are CloudFormation references), read as key id to consumer.
 */
export const consumerDirectory = z
  .array(strictObject({ name: consumerName, models: modelList.optional(), keyIds: z.array(z.string().min(1)).min(1) }), {
    error: 'must be an array of consumers with their key ids',
  })
  .transform((consumers) =>
    Object.fromEntries(consumers.flatMap(({ keyIds, ...consumer }) => keyIds.map((keyId) => [keyId, consumer] as const))),
  );

/** Length of an API Gateway API key id (`a1b2c3d4e5`). */
const API_KEY_ID_LENGTH = 10;
/** The most bytes `API_CONSUMERS` may take of the predict function's environment (Lambda allows 4 KB for all variables). */
export const MAX_CONSUMERS_ENV_BYTES = 2048;

/** The bytes `API_CONSUMERS` will take for these consumers (key ids at their real length). */
export function consumersEnvBytes(consumers: readonly z.output<typeof consumerConfig>[]): number {
  const list = consumers.map((consumer) => ({
    name: consumer.name,
    ...(consumer.models === undefined ? {} : { models: consumer.models }),
    keyIds: [consumer.keyVersion, ...consumer.retiredKeyVersions].map(() => 'x'.repeat(API_KEY_ID_LENGTH)),
  }));
  return consumers.length === 0 ? 0 : Buffer.byteLength(JSON.stringify(list));
}

/** The `api` block. */
export const apiConfig = strictObject({
  throttle: throttleConfig.prefault({}).meta({ description: 'Usage plan throttle applied to every API key.' }),
  quota: quotaConfig
    .optional()
    .meta({
      description: 'A usage plan quota per key. None by default: a spent daily quota turns every client away with `429 QUOTA_EXCEEDED` until midnight.',
    }),
  stageThrottle: stageThrottleConfig
    .prefault({})
    .meta({ description: "Stage-wide throttle over all callers together: the ceiling that keeps one flood from using up the predict function's concurrency." }),
  waf: wafConfig.prefault({}).meta({ description: 'The optional WAF web ACL of the API stage.' }),
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
  consumers: z
    .array(consumerConfig, { error: 'must be an array of consumers' })
    .default([])
    .meta({
      description:
        'API consumers (tenants), each with its own API key, usage plan and optional model allow-list (`403 MODEL_NOT_ALLOWED`). Empty: only the default key. Env `API_CONSUMERS` (key id to consumer).',
    }),
  defaultKey: boolean()
    .optional()
    .meta({
      description:
        "Whether the deployment's default API key (usage plan `{appName}-default`, stack output `ApiKeyId`, the key the CLI calls the API with) exists. It is no consumer's and may call every model, so it would bypass the consumers' allow-lists. Default: on without `consumers`, off with them; with it off, the predict function refuses (`403 FORBIDDEN`) a key that is no consumer's. Env `API_DEFAULT_KEY`.",
    }),
}).superRefine((api, ctx) => {
  const names = new Set<string>();
  for (const [index, consumer] of api.consumers.entries()) {
    if (consumer.name === DEFAULT_CONSUMER_NAME) {
      addIssue(ctx, ['consumers', index, 'name'], `must not be "${DEFAULT_CONSUMER_NAME}" (the consumer of the default key)`, consumer.name);
    }
    if (names.has(consumer.name)) addIssue(ctx, ['consumers', index, 'name'], 'must be unique', consumer.name);
    names.add(consumer.name);
  }
  const bytes = consumersEnvBytes(api.consumers);
  if (bytes > MAX_CONSUMERS_ENV_BYTES) {
    addIssue(
      ctx,
      ['consumers'],
      `take ${bytes} bytes of the predict function's environment (API_CONSUMERS), more than ${MAX_CONSUMERS_ENV_BYTES} (Lambda allows 4 KB for all variables): fewer consumers, shorter model lists or fewer retired key versions`,
      `${api.consumers.length} consumers`,
    );
  }
  if (api.corsAllowOrigins.includes('*') && api.corsAllowOrigins.length > 1) {
    addIssue(ctx, ['corsAllowOrigins'], 'must not combine "*" with other origins', api.corsAllowOrigins);
  }
});

export type ThrottleConfig = z.output<typeof throttleConfig>;
export type QuotaConfig = z.output<typeof quotaConfig>;
export type QuotaPeriod = QuotaConfig['period'];
export type WafConfig = z.output<typeof wafConfig>;
export type ApiConfig = z.output<typeof apiConfig>;
export type ConsumerConfig = z.output<typeof consumerConfig>;
export type ConsumerDirectory = z.output<typeof consumerDirectory>;
export type ConsumerKeyList = z.input<typeof consumerDirectory>;
