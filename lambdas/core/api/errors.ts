/**
 * Every error the API can answer with. Each class fixes its HTTP status; `toErrorResponse`
 * is the one place that turns any thrown value into the wire shape
 * `{ "error": { "code", "message", "details" } }`.
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

/** The route exists but not for this method (405). */
export class MethodNotAllowedError extends ApiError {
  readonly status = 405;
}

/** The change lost to a concurrent one, or breaks a lifecycle rule in the current state (409). */
export class ConflictError extends ApiError {
  readonly status = 409;
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

export interface ErrorBody {
  readonly error: { readonly code: string; readonly message: string; readonly details: ErrorDetails };
}

export interface ErrorResponse {
  readonly status: number;
  readonly body: ErrorBody;
}

/** Narrows an unknown thrown value to an Error, wrapping non-errors so callers can log them. */
export function asError(value: unknown): Error {
  return value instanceof Error ? value : new Error(String(value));
}

/** Maps any thrown value to a status and body; unexpected errors never leak their message. */
export function toErrorResponse(error: unknown): ErrorResponse {
  if (error instanceof ApiError) {
    return {
      status: error.status,
      body: { error: { code: error.code, message: error.message, details: error.details } },
    };
  }
  return {
    status: 500,
    body: { error: { code: 'INTERNAL_ERROR', message: 'the request could not be processed', details: {} } },
  };
}
