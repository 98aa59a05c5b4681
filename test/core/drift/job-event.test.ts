import { describe, expect, it } from 'vitest';
import { RequestValidationError } from '#core/errors.ts';
import { parseDriftJobEvent } from '#core/drift/job-event.ts';
import { windowSince } from '#core/drift/window.ts';

const NOW = new Date('2026-12-01T10:00:00.000Z');

describe('drift job input', () => {
  it('takes a window duration, 1h by default and 24h for the daily schedule', () => {
    expect(parseDriftJobEvent({ model: 'credit', window: '30m' }, NOW)).toEqual({ models: ['credit'], kind: 'manual', windowMs: 30 * 60_000, now: NOW });
    expect(parseDriftJobEvent({}, NOW).windowMs).toBe(3_600_000);
    expect(parseDriftJobEvent({ kind: 'daily' }, NOW).windowMs).toBe(86_400_000);
  });

  it('takes since: the window from that time to the check, which may be shorter than a minute', () => {
    expect(parseDriftJobEvent({ model: 'credit', since: '2026-12-01T09:59:30Z' }, NOW).windowMs).toBe(30_000);
    // Against the event's own time, so a retry checks the same window.
    expect(parseDriftJobEvent({ since: '2026-12-01T08:00:00Z', time: '2026-12-01T09:00:00Z' }, NOW).windowMs).toBe(3_600_000);
  });

  it.each([
    [{ since: '2026-12-01T09:00:00Z', window: '1h' }, 'drift job input "since" and "window" exclude each other: give one'],
    [{ since: 'an hour ago' }, 'drift job input "since" since must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got "an hour ago"'],
    [{ since: 1733047200000 }, 'drift job input "since" must be an ISO 8601 time, got 1733047200000'],
    [{ since: '2026-12-01T10:00:00Z' }, 'drift job input "since" since must be before the check\'s time 2026-12-01T10:00:00.000Z, got "2026-12-01T10:00:00Z"'],
    [{ since: '2026-11-20T10:00:00Z' }, 'drift job input "since" since must be at most 7 days before the check\'s time 2026-12-01T10:00:00.000Z, got "2026-11-20T10:00:00Z"'],
  ])('refuses %j with a 400 naming the field', (event, message) => {
    const error = (() => {
      try {
        parseDriftJobEvent(event, NOW);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(RequestValidationError);
    expect((error as RequestValidationError).message).toBe(message);
    expect((error as RequestValidationError).code).toBe('INVALID_DRIFT_EVENT');
  });

  it('reads the models to check: one model, a list (empty names and non-strings dropped), or every model', () => {
    expect(parseDriftJobEvent({ model: 'credit' }, NOW).models).toEqual(['credit']);
    expect(parseDriftJobEvent({ models: ['a', '', 7, 'b'] }, NOW).models).toEqual(['a', 'b']);
    expect(parseDriftJobEvent({ model: '', models: ['a'] }, NOW).models).toEqual(['a']);
    expect(parseDriftJobEvent({ model: 5 }, NOW)).not.toHaveProperty('models');
    expect(parseDriftJobEvent({ model: '' }, NOW)).not.toHaveProperty('models');
    expect(parseDriftJobEvent({ models: 'credit' }, NOW)).not.toHaveProperty('models');
    expect(parseDriftJobEvent(null, NOW)).toEqual({ kind: 'manual', windowMs: 3_600_000, now: NOW });
    expect(parseDriftJobEvent('hourly', NOW)).toEqual({ kind: 'manual', windowMs: 3_600_000, now: NOW });
  });

  it('takes the schedule\'s kind and its event time as the window end', () => {
    expect(parseDriftJobEvent({ kind: 'hourly', time: '2026-12-01T09:00:00Z' }, NOW)).toEqual({ kind: 'hourly', windowMs: 3_600_000, now: new Date('2026-12-01T09:00:00Z') });
    expect(parseDriftJobEvent({ kind: 'daily', window: '2h' }, NOW)).toMatchObject({ kind: 'daily', windowMs: 7_200_000 });
    expect(parseDriftJobEvent({ kind: 'manual' }, NOW).kind).toBe('manual');
  });

  it.each([
    [{ kind: 'weekly' }, 'kind', 'drift job input "kind" must be hourly, daily or manual, got "weekly"'],
    [{ kind: '' }, 'kind', 'drift job input "kind" must be hourly, daily or manual, got ""'],
    [{ time: 'noon' }, 'time', 'drift job input "time" must be an ISO 8601 time, got "noon"'],
    [{ time: 1733047200000 }, 'time', 'drift job input "time" must be an ISO 8601 time, got 1733047200000'],
    [{ time: ['2026-12-01T09:00:00Z'] }, 'time', 'drift job input "time" must be an ISO 8601 time, got ["2026-12-01T09:00:00Z"]'],
    [{ window: 60 }, 'window', 'drift job input "window" must be a string such as "1h", got 60'],
    [{ window: '1w' }, 'window', 'drift job input "window" window must look like 30m, 1h or 7d, got "1w"'],
    [{ window: '8d' }, 'window', 'drift job input "window" window must be from 1m to 7d, got "8d"'],
  ])('refuses %j, naming the field in the details', (event, field, message) => {
    let error: unknown;
    try {
      parseDriftJobEvent(event, NOW);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RequestValidationError);
    expect(error).toMatchObject({ code: 'INVALID_DRIFT_EVENT', message, details: { field } });
  });

  it('windowSince accepts exactly 7 days and a time with an offset', () => {
    expect(windowSince('2026-11-24T10:00:00Z', NOW)).toBe(7 * 86_400_000);
    expect(windowSince('2026-12-01T11:00:00+02:00', NOW)).toBe(3_600_000);
  });
});
