import { describe, expect, it } from 'vitest';
import type { CaptureRecord } from '#core/capture/records.ts';
import { MAX_WINDOW_MS, WindowFormatError, assembleWindow, parseWindow, windowSince } from '#core/drift/window.ts';
import { thrown } from '../../support/thrown.ts';

/** Drift windows: the durations a check accepts, and the rows a window holds. */

const NOW = new Date('2026-12-01T10:00:00.000Z');

describe('parseWindow', () => {
  it('reads minutes, hours and days, with surrounding spaces', () => {
    expect(parseWindow('1m')).toBe(60_000);
    expect(parseWindow('15m')).toBe(15 * 60_000);
    expect(parseWindow('1h')).toBe(3_600_000);
    expect(parseWindow(' 24h ')).toBe(86_400_000);
    expect(parseWindow('7d')).toBe(MAX_WINDOW_MS);
    expect(MAX_WINDOW_MS).toBe(7 * 86_400_000);
    expect(parseWindow('168h')).toBe(MAX_WINDOW_MS);
  });

  it.each(['1', 'h', '1s', '1.5h', '-1h', '1h30m', 'x1h', '1hx', '', '1 h'])('refuses the shape %j, quoting it', (text) => {
    const error = thrown(() => parseWindow(text));
    expect(error).toBeInstanceOf(WindowFormatError);
    expect(error.name).toBe('WindowFormatError');
    expect(error.message).toBe(`window must look like 30m, 1h or 7d, got "${text}"`);
  });

  it.each(['0m', '0h', '8d', '169h', '10081m'])('refuses %j, outside 1 minute to 7 days', (text) => {
    const error = thrown(() => parseWindow(text));
    expect(error).toBeInstanceOf(WindowFormatError);
    expect(error.message).toBe(`window must be from 1m to 7d, got "${text}"`);
  });

  it('takes the last minute of the range', () => {
    expect(parseWindow('10080m')).toBe(MAX_WINDOW_MS);
  });
});

describe('windowSince', () => {
  it('gives the milliseconds from since to now, down to one', () => {
    expect(windowSince('2026-12-01T09:00:00Z', NOW)).toBe(3_600_000);
    expect(windowSince('2026-12-01T09:59:59.999Z', NOW)).toBe(1);
    // Spaces around it (a pasted value) are trimmed, as parseWindow trims.
    expect(windowSince(' 2026-12-01T09:00:00Z\n', NOW)).toBe(3_600_000);
  });

  it.each(['2026-12-01', '12/01/2026 09:00', 'yesterday', '2026-12-01T99:00:00Z', '+002026-12-01T09:00:00Z'])('refuses %j, which is no ISO 8601 time', (since) => {
    const error = thrown(() => windowSince(since, NOW));
    expect(error).toBeInstanceOf(WindowFormatError);
    expect(error.message).toBe(`since must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got "${since}"`);
  });

  it('refuses a time one millisecond after now, and one millisecond more than 7 days before it', () => {
    expect(thrown(() => windowSince('2026-12-01T10:00:00.001Z', NOW)).message).toBe(
      'since must be before the check\'s time 2026-12-01T10:00:00.000Z, got "2026-12-01T10:00:00.001Z"',
    );
    expect(thrown(() => windowSince('2026-11-24T09:59:59.999Z', NOW)).message).toBe(
      'since must be at most 7 days before the check\'s time 2026-12-01T10:00:00.000Z, got "2026-11-24T09:59:59.999Z"',
    );
  });
});

describe('assembleWindow', () => {
  const FROM = new Date('2026-12-01T09:00:00.000Z');
  const record = (over: Partial<CaptureRecord> & { at: string; id: string }): CaptureRecord => ({
    request_id: over.id,
    row: over.row ?? 0,
    model: 'credit',
    model_version: over.model_version ?? 3,
    variant: over.variant ?? 'production',
    captured_at: over.at,
    features: over.features ?? { x: 1 },
    prediction: over.prediction ?? { label: 'good', probability: 0.5 },
  });

  it('keeps the production records of the version in [from, to), once per request and row, oldest first', () => {
    const records = [
      record({ id: 'late', at: '2026-12-01T09:30:00.000Z', features: { x: 2 }, prediction: { label: 'bad', probability: 0.9 } }),
      record({ id: 'first', at: '2026-12-01T09:00:00.000Z', features: { x: 1 }, prediction: { label: 'good', probability: 0.1 } }),
      record({ id: 'first', at: '2026-12-01T09:00:00.000Z', features: { x: 1 } }), // a redelivery
      record({ id: 'first', row: 1, at: '2026-12-01T09:10:00.000Z', features: { x: 5 }, prediction: { label: 'good', probability: 0.2 } }),
      record({ id: 'at-to', at: '2026-12-01T10:00:00.000Z' }),
      record({ id: 'before', at: '2026-12-01T08:59:59.999Z' }),
      record({ id: 'canary', at: '2026-12-01T09:20:00.000Z', variant: 'canary' }),
      record({ id: 'old-version', at: '2026-12-01T09:20:00.000Z', model_version: 2 }),
      record({ id: 'garbled', at: 'not a time' }),
      record({ id: 'no-score', at: '2026-12-01T09:40:00.000Z', features: { x: 7 }, prediction: { label: '', probability: Number.NaN } }),
    ];

    const window = assembleWindow(records, 3, FROM, NOW);

    expect(window.from).toBe(FROM);
    expect(window.to).toBe(NOW);
    expect(window.records.map((r) => `${r.request_id}/${r.row}`)).toEqual(['first/0', 'first/1', 'late/0', 'no-score/0']);
    expect(window.rows).toEqual([{ x: 1 }, { x: 5 }, { x: 2 }, { x: 7 }]);
    // A record without a score still counts as a row; its score is left out.
    expect(window.scores).toEqual([0.1, 0.2, 0.9]);
  });

  it('tells apart request ids that only a separator keeps apart', () => {
    const window = assembleWindow(
      [record({ id: 'a1', row: 1, at: '2026-12-01T09:01:00.000Z' }), record({ id: 'a', row: 11, at: '2026-12-01T09:02:00.000Z' })],
      3,
      FROM,
      NOW,
    );
    expect(window.records).toHaveLength(2);
  });

  it('is empty when nothing matches', () => {
    expect(assembleWindow([record({ id: 'x', at: '2026-12-01T09:00:00.000Z' })], 4, FROM, NOW)).toMatchObject({ rows: [], scores: [], records: [] });
  });
});
