/**
 * API consumers (tenants, `api.consumers`): which consumer an API key belongs to, and whether it may call a model.
 * API Gateway puts the id of the key a request came with on the event (`requestContext.identity.apiKeyId`); the
 * directory maps key ids to consumers (env `API_CONSUMERS`). A key outside the directory (the default key) is the
 * `default` consumer, which may call every model.
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

/** The consumer of a request's API key id (the default consumer when the key is not a configured consumer's). */
export function consumerOf(directory: ConsumerLookup, apiKeyId: string | null | undefined): Consumer {
  if (apiKeyId === null || apiKeyId === undefined || !Object.hasOwn(directory, apiKeyId)) return DEFAULT_CONSUMER;
  return directory[apiKeyId] ?? DEFAULT_CONSUMER;
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
