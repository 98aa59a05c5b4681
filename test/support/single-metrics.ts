import type { Metrics } from '@aws-lambda-powertools/metrics';
import { vi } from 'vitest';

/** One value a handler added to a `singleMetric()`, with the dimensions that metric carried when it was added. */
export interface RecordedMetric {
  readonly name: string;
  readonly value: number;
  readonly dimensions: Record<string, string>;
}

/**
 * Records every value added through `metrics.singleMetric()` (the per-answer counters: errors, capture, versions,
 * consumers) while still emitting it; `restore()` undoes the spy.
 */
export function recordSingleMetrics(metrics: Metrics): { recorded: RecordedMetric[]; restore: () => void } {
  const recorded: RecordedMetric[] = [];
  const singleMetric = metrics.singleMetric.bind(metrics);
  const spy = vi.spyOn(metrics, 'singleMetric').mockImplementation(() => {
    const metric = singleMetric();
    const dimensions: Record<string, string> = {};
    const addDimension = metric.addDimension.bind(metric);
    metric.addDimension = (name, value) => {
      dimensions[name] = value;
      return addDimension(name, value);
    };
    const addMetric = metric.addMetric.bind(metric);
    metric.addMetric = (name, unit, value, resolution) => {
      recorded.push({ name, value, dimensions: { ...dimensions } });
      return addMetric(name, unit, value, resolution);
    };
    return metric;
  });
  return { recorded, restore: () => spy.mockRestore() };
}
