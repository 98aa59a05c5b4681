/**
 * The API's error answers: `toErrorResponse` is the one place that turns any thrown value into a status and the wire
 * shape `{ "error": { "code", "message", "details" } }` (the errors themselves are in core/errors.ts).
 */
import {
  ApiError,
  type ErrorDetails,
  MAX_ECHOED_LIST_ITEMS,
  MAX_ECHOED_STRING_LENGTH,
  MAX_ERROR_MESSAGE_LENGTH,
  truncateText,
} from '#core/errors.ts';

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details: ErrorDetails };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
}

/** Details with every string cut to `MAX_ECHOED_STRING_LENGTH` and every list to `MAX_ECHOED_LIST_ITEMS`, at any depth. */
function boundDetails(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return truncateText(value, MAX_ECHOED_STRING_LENGTH);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 4) return '…';
  if (Array.isArray(value)) return value.slice(0, MAX_ECHOED_LIST_ITEMS).map((item) => boundDetails(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value).slice(0, MAX_ECHOED_LIST_ITEMS)) out[truncateText(key, MAX_ECHOED_STRING_LENGTH)] = boundDetails(item, depth + 1);
  return out;
}

/**
 * Maps any thrown value to a status and body; unexpected errors never leak their message. What an error echoes of
 * the request is bounded (see `MAX_ECHOED_STRING_LENGTH`), so the answer stays small whatever the client sent.
 */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof ApiError) {
    return {
      status: error.status,
      body: {
        error: {
          code: error.code,
          message: truncateText(error.message, MAX_ERROR_MESSAGE_LENGTH),
          details: boundDetails(error.details) as ErrorDetails,
        },
      },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL_ERROR', message: 'the request could not be processed', details: {} } },
  };
}
