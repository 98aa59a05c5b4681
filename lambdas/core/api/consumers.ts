/**
 * API consumers (tenants, `api.consumers`): which consumer an API key belongs to, and whether it may call a model.
 * API Gateway puts the id of the key a request came with on the event (`requestContext.identity.apiKeyId`); the
 * directory maps key ids to consumers (env `API_CONSUMERS`). While the deployment has its default key
 * (`api.defaultKey`), a key outside the directory (the default key) is the `default` consumer, which may call every
 * model; without it, such a key is refused.
 */
import { ForbiddenError } from '#core/errors.ts';
import { DEFAULT_CONSUMER_NAME } from '#contracts/api.ts';

/** A consumer as the predict function knows it. */
export interface Consumer {
  readonly name: string;
  /** The models it may call; undefined: every model. */
  readonly models?: readonly string[];
}

/** The consumer of a key that is in no directory entry (the deployment's default key). */
export const DEFAULT_CONSUMER: Consumer = { name: DEFAULT_CONSUMER_NAME };

/** Key id to consumer. */
export type ConsumerLookup = Readonly<Record<string, Consumer>>;

/**
 * The consumer of a request's API key id. No key id (a public route) is the default consumer; so is a key that is no
 * configured consumer's while the default key exists.
 * @param defaultKey whether the deployment has its default key (`API_DEFAULT_KEY`)
 * @throws ForbiddenError `FORBIDDEN` for a key id outside the directory when the default key is off: it is not served
 *   as the unrestricted default consumer
 */
export function consumerOf(directory: ConsumerLookup, apiKeyId: string | null | undefined, defaultKey = true): Consumer {
  if (apiKeyId === null || apiKeyId === undefined) return DEFAULT_CONSUMER;
  const consumer = Object.hasOwn(directory, apiKeyId) ? directory[apiKeyId] : undefined;
  if (consumer !== undefined) return consumer;
  if (defaultKey) return DEFAULT_CONSUMER;
  throw new ForbiddenError('FORBIDDEN', 'this API key belongs to no API consumer, and the deployment has no default key (api.defaultKey)', {});
}

/**
 * @throws ForbiddenError `MODEL_NOT_ALLOWED` when the consumer has an allow-list without `model`
 */
export function assertModelAllowed(consumer: Consumer, model: string): void {
  if (consumer.models === undefined || consumer.models.includes(model)) return;
  throw new ForbiddenError('MODEL_NOT_ALLOWED', `consumer ${consumer.name} may not call model ${model}`, {
    consumer: consumer.name,
    model,
    allowed: consumer.models,
  });
}
