import type { DriftJobResult } from '#core/drift/job.ts';

/**
 * The drift job's two EventBridge schedules, locally: the "hourly" check every `intervalSeconds`
 * (MLOPS_DRIFT_INTERVAL_SECONDS, so a person can watch a drift appear within a minute) over
 * `window`, and the daily full report at 02:00 UTC over 24 h.
 */
export interface DriftSchedulesOptions {
  readonly intervalSeconds: number;
  readonly window: string;
  readonly run: (input: { kind: 'hourly' | 'daily'; window: string; time: string }) => Promise<{ results: DriftJobResult['document'][] }>;
  readonly onResult?: (result: { results: DriftJobResult['document'][] } | Error) => void;
}

/** Milliseconds from `now` to the next 02:00 UTC. */
export function msUntilDailyReport(now: Date): number {
  const next = new Date(now);
  next.setUTCHours(2, 0, 0, 0);
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next.getTime() - now.getTime();
}

export function startDriftSchedules(options: DriftSchedulesOptions): { stop(): void } {
  let running = false;
  const tick = (kind: 'hourly' | 'daily', window: string): void => {
    if (running) return; // one run at a time, as the Lambda's reserved concurrency of 1 does in AWS
    running = true;
    options
      .run({ kind, window, time: new Date().toISOString() })
      .then(
        (result) => options.onResult?.(result),
        (error: unknown) => options.onResult?.(error instanceof Error ? error : new Error(String(error))),
      )
      .finally(() => {
        running = false;
      });
  };
  const interval = setInterval(() => tick('hourly', options.window), options.intervalSeconds * 1000);
  interval.unref();
  let daily: NodeJS.Timeout;
  const scheduleDaily = (): void => {
    daily = setTimeout(() => {
      tick('daily', '24h');
      scheduleDaily();
    }, msUntilDailyReport(new Date()));
    daily.unref();
  };
  scheduleDaily();
  return {
    stop() {
      clearInterval(interval);
      clearTimeout(daily);
    },
  };
}
