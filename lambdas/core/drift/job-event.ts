/**
 * The drift job's invocation: an EventBridge schedule's constant input
 * (`{"kind": "hourly"|"daily", "window": "1h", "time": "<the event's time>"}`), or a manual invoke
 * (`{"model": "credit", "window": "1h"}`, what `mlops drift run` sends).
 */
import { RequestValidationError } from '#core/api/errors.ts';
import type { DriftRunKind } from './job.ts';
import { parseWindow } from './window.ts';

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
  const windowText = raw.window ?? (kind === 'daily' ? '24h' : '1h');
  if (typeof windowText !== 'string') invalid('window', `must be a string such as "1h", got ${JSON.stringify(windowText)}`);
  let windowMs: number;
  try {
    windowMs = parseWindow(windowText);
  } catch (error) {
    invalid('window', (error as Error).message);
  }
  let at = now;
  if (raw.time !== undefined) {
    if (typeof raw.time !== 'string' || Number.isNaN(Date.parse(raw.time))) invalid('time', `must be an ISO 8601 time, got ${JSON.stringify(raw.time)}`);
    at = new Date(raw.time);
  }
  let models: string[] | undefined;
  if (typeof raw.model === 'string' && raw.model !== '') models = [raw.model];
  else if (Array.isArray(raw.models)) models = raw.models.filter((m): m is string => typeof m === 'string' && m !== '');
  return { ...(models === undefined ? {} : { models }), kind, windowMs, now: at };
}
