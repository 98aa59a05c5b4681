import { LOCAL_ROUTES } from '#contracts/routes.ts';
import { UnknownConsumerError, type LocalApiKeys } from './api-keys.ts';

type LocalRoutes = (request: { method: string; path: string; body: string }) => Promise<{ status: number; body: unknown } | undefined>;

function refused(status: number, code: string, message: string, details: Record<string, unknown> = {}): { status: number; body: unknown } {
  return { status, body: { error: { code, message, details } } };
}

/** Most seconds an old key may stay valid after a rotation (API Gateway's keys have no such limit; a week is plenty locally). */
export const MAX_OVERLAP_SECONDS = 7 * 24 * 3600;

/**
 * The local platform's key routes (`LOCAL_ROUTES.listApiKeys`, `rotateApiKey`), before the other local routes (`next`).
 * In AWS a rotation is a config change and a deploy (docs/operations/api-key-rotation.md).
 */
export function localKeyRoutes(keys: LocalApiKeys, next: LocalRoutes): LocalRoutes {
  return async (request) => {
    const { method, path, body } = request;
    if (method === LOCAL_ROUTES.listApiKeys.method && path === LOCAL_ROUTES.listApiKeys.resource) {
      return { status: 200, body: { keys: keys.list() } };
    }
    if (method === LOCAL_ROUTES.rotateApiKey.method && path === LOCAL_ROUTES.rotateApiKey.resource) {
      let input: unknown;
      try {
        input = JSON.parse(body === '' ? '{}' : body);
      } catch {
        return refused(400, 'MALFORMED_JSON', 'the body is not valid JSON');
      }
      const { consumer, overlap_seconds: overlap } = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
      if (typeof consumer !== 'string' || consumer === '') {
        return refused(400, 'INVALID_FIELD', 'consumer must be the name of a consumer in api.consumers', { field: 'consumer' });
      }
      if (typeof overlap !== 'number' || !Number.isInteger(overlap) || overlap < 0 || overlap > MAX_OVERLAP_SECONDS) {
        return refused(400, 'INVALID_FIELD', `overlap_seconds must be an integer from 0 to ${MAX_OVERLAP_SECONDS}`, { field: 'overlap_seconds' });
      }
      try {
        return { status: 200, body: keys.rotate(consumer, overlap) };
      } catch (error) {
        if (error instanceof UnknownConsumerError) return refused(404, 'CONSUMER_NOT_FOUND', error.message, { consumer: consumer.slice(0, 64) });
        throw error;
      }
    }
    return next(request);
  };
}
