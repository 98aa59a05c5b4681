import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { CloudWatchCanaryFigures } from '#adapters/cloudwatch-canary-figures.ts';

/**
 * The CloudWatch figures of the canary watch. There is no local CloudWatch server to run against, so the client is
 * stubbed: the test checks the GetMetricData request (metrics, dimensions, one period over the window) and how the
 * answer becomes figures.
 */

describe('CloudWatchCanaryFigures', () => {
  const options = { namespace: 'ServerlessMLOps', environment: 'prod-mlops', service: 'inference-api' };

  it('asks for both variants over one period from the minute the canary started, and reads the answer', async () => {
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        { Id: 'canary_requests', Values: [120] },
        { Id: 'canary_errors', Values: [6] },
        { Id: 'canary_p95', Values: [85.5] },
        { Id: 'canary_score', Values: [0.61] },
        { Id: 'production_requests', Values: [1000] },
        { Id: 'production_errors', Values: [0] },
        { Id: 'production_p95', Values: [40] },
        { Id: 'production_score', Values: [0.3] },
      ],
    });
    const figures = new CloudWatchCanaryFigures(new CloudWatchClient({ region: 'eu-west-1' }), options);
    const result = await figures.figures({
      model: 'credit',
      since: new Date('2026-01-01T09:00:30.000Z'),
      until: new Date('2026-01-01T09:10:10.000Z'),
    });
    expect(result).toEqual({
      canary: { requests: 120, errors: 6, p95LatencyMs: 85.5, meanScore: 0.61 },
      production: { requests: 1000, errors: 0, p95LatencyMs: 40, meanScore: 0.3 },
    });
    const input = cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
    expect(input?.StartTime).toEqual(new Date('2026-01-01T09:00:00.000Z'));
    expect(input?.EndTime).toEqual(new Date('2026-01-01T09:10:10.000Z'));
    const queries = input?.MetricDataQueries ?? [];
    expect(queries.map((q) => [q.Id, q.MetricStat?.Metric?.MetricName, q.MetricStat?.Stat])).toEqual([
      ['canary_requests', 'VariantErrors', 'SampleCount'],
      ['canary_errors', 'VariantErrors', 'Sum'],
      ['canary_p95', 'VariantLatency', 'p95'],
      ['canary_score', 'VariantScore', 'Average'],
      ['production_requests', 'VariantErrors', 'SampleCount'],
      ['production_errors', 'VariantErrors', 'Sum'],
      ['production_p95', 'VariantLatency', 'p95'],
      ['production_score', 'VariantScore', 'Average'],
    ]);
    for (const query of queries) {
      expect(query.MetricStat?.Period).toBe(660);
      expect(query.MetricStat?.Metric?.Namespace).toBe('ServerlessMLOps');
      expect(query.MetricStat?.Metric?.Dimensions).toEqual([
        { Name: 'environment', Value: 'prod-mlops' },
        { Name: 'model', Value: 'credit' },
        { Name: 'service', Value: 'inference-api' },
        { Name: 'variant', Value: query.Id?.startsWith('canary') === true ? 'canary' : 'production' },
      ]);
    }
  });

  it('reads no data as no requests and unknown latency and score', async () => {
    const cloudWatch = mockClient(CloudWatchClient);
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'canary_requests', Values: [] }] });
    const figures = new CloudWatchCanaryFigures(new CloudWatchClient({ region: 'eu-west-1' }), options);
    const now = new Date('2026-01-01T09:00:00.000Z');
    const result = await figures.figures({ model: 'credit', since: now, until: now });
    expect(result.canary).toEqual({ requests: 0, errors: 0, p95LatencyMs: null, meanScore: null });
    expect(cloudWatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0]?.MetricStat?.Period).toBe(60);
  });
});
