import type { CanaryThresholds } from '#core/serving/canary-watch.ts';
import { MissingEnvironmentError } from '#shared/environment.ts';

const NUMBER_FIELDS = ['maxErrorRatePercent', 'maxP95LatencyMs', 'maxScoreShift', 'minRequests', 'healthyMinutes'] as const;

/** `CANARY_THRESHOLDS`: the `observability.canary` block of the deployment config as JSON (validated at synth). */
export function parseCanaryThresholds(raw: string | undefined): CanaryThresholds {
  if (raw === undefined || raw === '') throw new MissingEnvironmentError('CANARY_THRESHOLDS', 'is not set');
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new MissingEnvironmentError('CANARY_THRESHOLDS', 'is not valid json');
  }
  if (typeof parsed !== 'object' || parsed === null) throw new MissingEnvironmentError('CANARY_THRESHOLDS', 'must be a json object');
  const record = parsed as Record<string, unknown>;
  const numbers = {} as Record<(typeof NUMBER_FIELDS)[number], number>;
  for (const field of NUMBER_FIELDS) {
    const value = record[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new MissingEnvironmentError('CANARY_THRESHOLDS', `needs a non-negative number "${field}", got ${JSON.stringify(value)}`);
    }
    numbers[field] = value;
  }
  if (typeof record['autoPromote'] !== 'boolean') {
    throw new MissingEnvironmentError('CANARY_THRESHOLDS', `needs a boolean "autoPromote", got ${JSON.stringify(record['autoPromote'])}`);
  }
  return { ...numbers, autoPromote: record['autoPromote'] };
}
