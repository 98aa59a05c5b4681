/**
 * The drift job's invocation: an EventBridge schedule's constant input
 * (`{"kind": "hourly"|"daily", "window": "1h", "time": "<the event's time>"}`), or a manual invoke
 * (`{"model": "credit", "window": "1h"}`, what `mlops drift run` sends; `{"model": "credit", "since": "<ISO time>"}` for
 * `--since`: the window from that time to the check's).
 */
import { RequestValidationError, asError } from '#core/errors.ts';
import type { DriftRunKind } from './job.ts';
import { parseWindow, windowSince } from './window.ts';

export interface DriftJobInvocation {
  /** Undefined: every model with a production version. */
  readonly models?: string[];
  readonly kind: DriftRunKind;
  readonly windowMs: number;
  readonly now: Date;
}

function invalid(field: string, message: string): never {
  throw new RequestValidationError('INVALID_DRIFT_EVENT', `drift job input "${field}" ${message}`, { field });
}

/** Parses the invocation; `now` is the fallback time when the event carries none. */
export function parseDriftJobEvent(event: unknown, now: Date): DriftJobInvocation {
  const raw = (typeof event === 'object' && event !== null ? event : {}) as Record<string, unknown>;
  const kind = raw.kind ?? 'manual';
  if (kind !== 'hourly' && kind !== 'daily' && kind !== 'manual') invalid('kind', `must be hourly, daily or manual, got ${JSON.stringify(kind)}`);
  let at = now;
  if (raw.time !== undefined) {
    if (typeof raw.time !== 'string' || Number.isNaN(Date.parse(raw.time))) invalid('time', `must be an ISO 8601 time, got ${JSON.stringify(raw.time)}`);
    at = new Date(raw.time);
  }
  let windowMs: number;
  if (raw.since !== undefined) {
    if (raw.window !== undefined) invalid('since', 'and "window" exclude each other: give one');
    if (typeof raw.since !== 'string') invalid('since', `must be an ISO 8601 time, got ${JSON.stringify(raw.since)}`);
    try {
      windowMs = windowSince(raw.since, at);
    } catch (error) {
      invalid('since', asError(error).message);
    }
  } else {
    const windowText = raw.window ?? (kind === 'daily' ? '24h' : '1h');
    if (typeof windowText !== 'string') invalid('window', `must be a string such as "1h", got ${JSON.stringify(windowText)}`);
    try {
      windowMs = parseWindow(windowText);
    } catch (error) {
      invalid('window', asError(error).message);
    }
  }
  let models: string[] | undefined;
  if (typeof raw.model === 'string' && raw.model !== '') models = [raw.model];
  else if (Array.isArray(raw.models)) models = raw.models.filter((m): m is string => typeof m === 'string' && m !== '');
  return { ...(models === undefined ? {} : { models }), kind, windowMs, now: at };
}
