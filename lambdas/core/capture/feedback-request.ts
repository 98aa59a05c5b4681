import { RequestValidationError } from '#core/errors.ts';
import type { BinaryOutput } from '#core/model/metadata.ts';
import type { FeedbackRecord } from './records.ts';

/** Longest accepted request id (API Gateway's and our own ids are far shorter). */
export const MAX_REQUEST_ID_LENGTH = 200;

/**
 * Largest accepted feedback body. A valid one is well under 2 KiB (a 200-character id written as `\\uXXXX` escapes, a
 * label, a row); the limit keeps a client from storing megabytes per post.
 */
export const MAX_FEEDBACK_BYTES = 16 * 1024;

/**
 * Validates `POST /v1/models/{model}/feedback`: `{"request_id": string, "label": string, "row"?: integer}`,
 * the label being one of the model's two output labels. `row` (default 0) names the instance of a
 * batch request. Throws `RequestValidationError` (`INVALID_BODY`, `UNKNOWN_LABEL`) naming the field.
 */
export function parseFeedbackRequest(body: unknown, model: string, output: BinaryOutput, now: Date): FeedbackRecord {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new RequestValidationError('INVALID_BODY', 'the body must be a JSON object {"request_id", "label"}', { field: '' });
  }
  const raw = body as Record<string, unknown>;
  const allowed = new Set(['request_id', 'label', 'row']);
  const unknown = Object.keys(raw).find((k) => !allowed.has(k));
  if (unknown !== undefined) throw new RequestValidationError('INVALID_BODY', `unknown field "${unknown}"`, { field: unknown });
  const requestId = raw.request_id;
  if (typeof requestId !== 'string' || requestId.trim() === '' || requestId.length > MAX_REQUEST_ID_LENGTH) {
    throw new RequestValidationError('INVALID_BODY', `"request_id" must be a non-empty string of at most ${MAX_REQUEST_ID_LENGTH} characters`, {
      field: 'request_id',
    });
  }
  const label = raw.label;
  if (typeof label !== 'string') throw new RequestValidationError('INVALID_BODY', '"label" must be a string', { field: 'label' });
  if (label !== output.positive_label && label !== output.negative_label) {
    throw new RequestValidationError('UNKNOWN_LABEL', `"label" must be "${output.positive_label}" or "${output.negative_label}", got "${label}"`, {
      field: 'label',
      received: label,
      allowed: [output.positive_label, output.negative_label],
    });
  }
  const row = raw.row ?? 0;
  if (typeof row !== 'number' || !Number.isInteger(row) || row < 0) {
    throw new RequestValidationError('INVALID_BODY', '"row" must be a non-negative integer', { field: 'row' });
  }
  return { request_id: requestId, row, model, label, received_at: now.toISOString() };
}
