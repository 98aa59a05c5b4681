/**
 * The platform's domain errors: what the registry, the models, serving, the pipeline and the drift job throw when a
 * request or a state breaks a rule, each with a code, a message and details. They live in the core, not in the API
 * layer, so that no core module imports the HTTP layer to fail; each class still names the HTTP status it is
 * answered with (`status`), and `toErrorResponse` (core/api/errors.ts) is the one place that turns any thrown value
 * into the wire shape `{ "error": { "code", "message", "details" } }`.
 */

export type ErrorDetails = Readonly<Record<string, unknown>>;

/** Base class of the errors a client may see; anything else becomes a 500 with no internals leaked. */
export abstract class ApiError extends Error {
  abstract readonly status: number;

  constructor(
    readonly code: string,
    message: string,
    readonly details: ErrorDetails = {},
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }

  /** The same error (class, code, message) with `extra` merged into its details, this one as the cause. */
  withDetails(extra: ErrorDetails): ApiError {
    const Same = this.constructor as new (code: string, message: string, details: ErrorDetails, options?: ErrorOptions) => ApiError;
    return new Same(this.code, this.message, { ...this.details, ...extra }, { cause: this });
  }
}

/** The request is well-formed HTTP but its content breaks the model's contract (400). */
export class RequestValidationError extends ApiError {
  readonly status = 400;
}

/** The request body is larger than the configured limit (413). */
export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
}

/** No such model, or no such route (404). */
export class NotFoundError extends ApiError {
  readonly status = 404;
}

/** The caller is known but may not do this, e.g. an API consumer calling a model outside its allow-list (403). */
export class ForbiddenError extends ApiError {
  readonly status = 403;
}

/** The route exists but not for this method (405). */
export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
}

/** The change lost to a concurrent one, or breaks a lifecycle rule in the current state (409). */
export class ConflictError extends ApiError {
  readonly status = 409;
}

/** The request is valid but the answering version cannot do what it asks, e.g. explain a graph without an exact method (422). */
export class UnprocessableError extends ApiError {
  readonly status = 422;
}

/**
 * The platform caught itself about to answer something wrong (an explanation whose values do not add up to the
 * prediction): a 500 with a code, never the wrong answer.
 */
export class InternalCheckError extends ApiError {
  readonly status = 500;
}

/** The model exists but cannot serve right now, e.g. its artifact is missing or corrupt (503). */
export class ModelUnavailableError extends ApiError {
  readonly status = 503;
}

/** A downstream service the request depends on is at capacity; the caller should retry with backoff (429). */
export class TooManyRequestsError extends ApiError {
  readonly status = 429;
}

/** A downstream service the request depends on did not answer in time (504). */
export class UpstreamTimeoutError extends ApiError {
  readonly status = 504;
}

/** Narrows an unknown thrown value to an Error, wrapping non-errors so callers can log them. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** The longest string an error echoes back (in its message or a detail): a client's 1 MB key is not answered with 2 MB. */
export const MAX_ECHOED_STRING_LENGTH = 256;
/** The longest message an error carries (messages may name several fields or allowed values). */
export const MAX_ERROR_MESSAGE_LENGTH = 1024;
/** The most items of a list in an error's details (e.g. a model's features or categories). */
export const MAX_ECHOED_LIST_ITEMS = 100;

/** `text` cut to `limit` characters (code points, so no surrogate is split), marked with `…` when cut. */
export function truncateText(text: string, limit: number): string {
  if (text.length <= limit) return text;
  return `${Array.from(text.slice(0, limit + 1)).slice(0, limit - 1).join('')}…`;
}
