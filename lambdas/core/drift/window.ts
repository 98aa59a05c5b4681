/** Drift windows: durations such as `1h`, `30m`, `7d`, and the rows a window holds. */
import type { CaptureRecord } from '#core/capture/records.ts';
import type { FeatureRow } from '#core/model/metadata.ts';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The longest window: the capture partitions of a week are at most 168 hourly prefixes. */
export const MAX_WINDOW_MS = 7 * UNIT_MS.d;

/** Thrown for a window that is not `<integer><m|h|d>` or is out of range. */
export class WindowFormatError extends Error {
  override readonly name = 'WindowFormatError';
}

/** Parses `15m`, `1h`, `24h`, `7d` into milliseconds (1 minute to 7 days). */
export function parseWindow(text: string): number {
  const match = /^(\d+)([mhd])$/.exec(text.trim());
  if (match === null) throw new WindowFormatError(`window must look like 30m, 1h or 7d, got "${text}"`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms < UNIT_MS.m || ms > MAX_WINDOW_MS) throw new WindowFormatError(`window must be from 1m to 7d, got "${text}"`);
  return ms;
}

/**
 * The window from `since` to `now` in milliseconds (a drift check over one's own traffic: `mlops drift run --since`).
 * @throws WindowFormatError when `since` is not an ISO 8601 time, is not before `now`, or is more than 7 days before it
 */
export function windowSince(since: string, now: Date): number {
  // Trimmed for both checks, as parseWindow trims: Date.parse refuses a time with a space around it.
  const text = since.trim();
  const at = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}T/.test(text) || Number.isNaN(at)) throw new WindowFormatError(`since must be an ISO 8601 time such as 2026-12-01T10:00:00Z, got "${since}"`);
  const ms = now.getTime() - at;
  if (ms <= 0) throw new WindowFormatError(`since must be before the check's time ${now.toISOString()}, got "${since}"`);
  if (ms > MAX_WINDOW_MS) throw new WindowFormatError(`since must be at most 7 days before the check's time ${now.toISOString()}, got "${since}"`);
  return ms;
}

/** The window's rows and prediction scores, from production records of one version, oldest first. */
export interface DriftWindow {
  readonly from: Date;
  readonly to: Date;
  readonly rows: FeatureRow[];
  readonly scores: number[];
  readonly records: CaptureRecord[];
}

/**
 * Assembles a window: records of `version` answered by production in [from, to), deduplicated by
 * (request id, row) since delivery is at least once (Firehose retries, local batch retries).
 */
export function assembleWindow(records: readonly CaptureRecord[], version: number, from: Date, to: Date): DriftWindow {
  const seen = new Set<string>();
  const kept: CaptureRecord[] = [];
  for (const record of records) {
    if (record.model_version !== version || record.variant !== 'production') continue;
    const at = Date.parse(record.captured_at);
    if (!(at >= from.getTime() && at < to.getTime())) continue;
    const key = `${record.request_id}\u0000${record.row}`;
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(record);
  }
  kept.sort((a, b) => a.captured_at.localeCompare(b.captured_at));
  return {
    from,
    to,
    rows: kept.map((r) => r.features),
    scores: kept.map((r) => r.prediction.probability).filter((p) => Number.isFinite(p)),
    records: kept,
  };
}
