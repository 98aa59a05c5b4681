import { GetMetricDataCommand, type CloudWatchClient, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import type { CanaryFiguresSource, VariantFigures } from '#core/serving/canary-watch.ts';
import { METRIC_DIMENSIONS, VARIANT_METRICS } from '#contracts/metrics.ts';

/**
 * The canary watch's figures from CloudWatch: the inference API's per-variant metrics (`VariantErrors`,
 * `VariantLatency`, `VariantScore`, dimensions `environment`, `service`, `model`, `variant`; docs/metrics.md) over
 * the canary's time on, read with one `GetMetricData` call and one period covering the whole window.
 */

export interface CloudWatchCanaryFiguresOptions {
  readonly namespace: string;
  /** The `environment` dimension (the deployment's app name). */
  readonly environment: string;
  /** The `service` dimension of the inference API's metrics. */
  readonly service: string;
}

const VARIANTS = ['canary', 'production'] as const;
type Variant = (typeof VARIANTS)[number];

/** CloudWatch keeps one-minute data for 15 days; a longer window would read coarser data. */
const MAX_WINDOW_SECONDS = 15 * 24 * 3600;

export class CloudWatchCanaryFigures implements CanaryFiguresSource {
  constructor(
    private readonly client: CloudWatchClient,
    private readonly options: CloudWatchCanaryFiguresOptions,
  ) {}

  async figures(query: { model: string; since: Date; until: Date }): Promise<{ canary: VariantFigures; production: VariantFigures }> {
    // One period from the minute the canary started to now: one datapoint per query, whole-window statistics.
    const start = Math.floor(query.since.getTime() / 60_000) * 60_000;
    const seconds = Math.min(MAX_WINDOW_SECONDS, Math.max(60, Math.ceil((query.until.getTime() - start) / 60_000) * 60));
    const startTime = new Date(Math.max(start, query.until.getTime() - seconds * 1000));
    const queries: MetricDataQuery[] = [];
    for (const variant of VARIANTS) {
      const stat = (id: string, metricName: string, statistic: string): MetricDataQuery => ({
        Id: `${variant}_${id}`,
        MetricStat: {
          Metric: {
            Namespace: this.options.namespace,
            MetricName: metricName,
            Dimensions: [
              { Name: METRIC_DIMENSIONS.environment, Value: this.options.environment },
              { Name: METRIC_DIMENSIONS.model, Value: query.model },
              { Name: METRIC_DIMENSIONS.service, Value: this.options.service },
              { Name: METRIC_DIMENSIONS.variant, Value: variant },
            ],
          },
          Period: seconds,
          Stat: statistic,
        },
        ReturnData: true,
      });
      queries.push(
        stat('requests', VARIANT_METRICS.errors, 'SampleCount'),
        stat('errors', VARIANT_METRICS.errors, 'Sum'),
        stat('p95', VARIANT_METRICS.latency, 'p95'),
        stat('score', VARIANT_METRICS.score, 'Average'),
      );
    }
    const values = new Map<string, number>();
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(
        new GetMetricDataCommand({ MetricDataQueries: queries, StartTime: startTime, EndTime: query.until, NextToken: nextToken }),
      );
      for (const result of page.MetricDataResults ?? []) {
        const value = result.Values?.[0];
        if (result.Id !== undefined && value !== undefined && Number.isFinite(value)) values.set(result.Id, value);
      }
      nextToken = page.NextToken;
    } while (nextToken !== undefined);

    const figures = (variant: Variant): VariantFigures => ({
      requests: values.get(`${variant}_requests`) ?? 0,
      errors: values.get(`${variant}_errors`) ?? 0,
      p95LatencyMs: values.get(`${variant}_p95`) ?? null,
      meanScore: values.get(`${variant}_score`) ?? null,
    });
    return { canary: figures('canary'), production: figures('production') };
  }
}
