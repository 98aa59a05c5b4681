import type { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import { ModelUnavailableError, RequestValidationError, TooManyRequestsError } from '#core/errors.ts';
import { MAX_SCORE_VALUES, VariantMetrics, failedVariantOf, scoreSample } from '../../lambdas/inference-api/variant-metrics.ts';
import { emfRecords } from '../support/emf-records.ts';

/** The EMF records `emit` publishes (an empty flush is `{ empty: true }`). */
function records(emit: (metrics: Metrics) => void): Record<string, unknown>[] {
  return emfRecords('inference-api', emit, { environment: 'test' });
}

describe('VariantMetrics', () => {
  it('emits one record per answered request: errors 0, latency and the scores, by model and variant, with the version as metadata', () => {
    const [record, ...rest] = records((m) => new VariantMetrics(m).served({ model: 'credit', version: 3, variant: 'canary', latencyMs: 12.5, probabilities: [0.1, 0.9] }));
    expect(rest).toEqual([]);
    expect(record).toMatchObject({ model: 'credit', variant: 'canary', model_version: '3', VariantErrors: 0, VariantLatency: 12.5, VariantScore: [0.1, 0.9] });
    const directive = (record?.['_aws'] as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0];
    expect([...(directive?.Dimensions[0] ?? [])].sort()).toEqual(['environment', 'model', 'service', 'variant']);
    expect(directive?.Metrics.map((m) => m.Name)).toEqual(['VariantErrors', 'VariantLatency', 'VariantScore']);
  });

  it('emits one record for a batch of 100 or more, which Powertools flushes at its 100th score, and no empty flush after it', () => {
    const out = records((m) =>
      new VariantMetrics(m).served({ model: 'credit', version: 1, variant: 'production', latencyMs: 3, probabilities: Array.from({ length: 250 }, (_, i) => i / 250) }),
    );
    expect(out).toHaveLength(1);
    expect(out[0]?.['VariantScore']).toHaveLength(MAX_SCORE_VALUES);
  });

  it('emits errors 1 with the code for a failed request', () => {
    const [record] = records((m) => new VariantMetrics(m).failed({ model: 'credit', version: 2, variant: 'production', code: 'INFERENCE_FAILED' }));
    expect(record).toMatchObject({ model: 'credit', variant: 'production', model_version: '2', code: 'INFERENCE_FAILED', VariantErrors: 1 });
    expect(record).not.toHaveProperty('VariantLatency');
  });
});

describe('scoreSample', () => {
  it('keeps every finite score of a small batch and 100 evenly spread ones of a large batch', () => {
    expect(scoreSample([0.2, Number.NaN, 0.4])).toEqual([0.2, 0.4]);
    const large = Array.from({ length: 1000 }, (_, i) => i / 1000);
    const sample = scoreSample(large);
    expect(sample).toHaveLength(MAX_SCORE_VALUES);
    expect(sample[0]).toBe(0);
    expect(sample[99]).toBe(0.99);
  });
});

describe('failedVariantOf', () => {
  it('names the model, version and variant of a 5xx that carries them, and nothing else', () => {
    const failed = new ModelUnavailableError('INFERENCE_FAILED', 'x', { model: 'credit', model_version: 2, variant: 'canary' });
    expect(failedVariantOf(failed)).toEqual({ model: 'credit', version: 2, variant: 'canary', code: 'INFERENCE_FAILED' });
    expect(failedVariantOf(new ModelUnavailableError('ARTIFACT_UNAVAILABLE', 'x', { model: 'credit', model_version: 2 }))).toBeUndefined();
    expect(failedVariantOf(new ModelUnavailableError('INFERENCE_FAILED', 'x', { model: 'credit', model_version: 2, variant: 'shadow' }))).toBeUndefined();
    expect(failedVariantOf(new RequestValidationError('UNKNOWN_CATEGORY', 'x', { model: 'credit', model_version: 2, variant: 'canary' }))).toBeUndefined();
    expect(failedVariantOf(new Error('boom'))).toBeUndefined();
  });

  it("counts a canary endpoint's failures, throttling included, against the canary", () => {
    const version = { model: 'credit', model_version: 2, variant: 'canary' };
    expect(failedVariantOf(new ModelUnavailableError('ENDPOINT_CIRCUIT_OPEN', 'x', version))).toMatchObject({ variant: 'canary', code: 'ENDPOINT_CIRCUIT_OPEN' });
    expect(failedVariantOf(new TooManyRequestsError('ENDPOINT_THROTTLED', 'x', version))).toMatchObject({ variant: 'canary', code: 'ENDPOINT_THROTTLED' });
  });
});
