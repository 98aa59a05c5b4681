import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, parseConfig, pipelineConfigJson } from '../../lib/config.ts';

/** The message synth gives for `raw` in cdk.json's `mlops` block. */
function synthMessage(raw: unknown): string {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error('parseConfig accepted it');
}

const saved = { ...process.env };

beforeEach(() => {
  vi.resetModules();
  // What every handler needs besides the setting under test (never contacted: the cold start fails first).
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    REGISTRY_TABLE_NAME: 'registry',
    ARTIFACT_BUCKET_NAME: 'artifacts',
    CAPTURE_BUCKET_NAME: 'captures',
    EVENT_BUS_NAME: 'bus',
    NOTIFICATION_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:topic',
    POWERTOOLS_METRICS_NAMESPACE: 'ServerlessMLOps',
    MLOPS_ENVIRONMENT: 'test',
    INFERENCE_SERVICE_NAME: 'inference-api',
    POWERTOOLS_METRICS_DISABLED: 'true',
  });
});

afterEach(() => {
  for (const key of Object.keys(process.env)) if (!(key in saved)) Reflect.deleteProperty(process.env, key);
  Object.assign(process.env, saved);
});

describe('a bad setting fails synth and the cold start with the same message', () => {
  it('api.maxBatchSize 0: synth names the field and the range; the predict function says the same about MAX_BATCH_SIZE', async () => {
    // Prepare
    const message = synthMessage({ api: { maxBatchSize: 0 } });
    expect(message).toBe('config field "api.maxBatchSize" must be an integer from 1 to 10000, got 0');
    process.env.MAX_BATCH_SIZE = '0';
    // Act, Assess
    await expect(import('../../lambdas/inference-api/handler.ts')).rejects.toThrow(`environment variable MAX_BATCH_SIZE: ${message}`);
  });

  it('predict.outOfRange "block": the same message from OUT_OF_RANGE_POLICY', async () => {
    const message = synthMessage({ predict: { outOfRange: 'block' } });
    process.env.OUT_OF_RANGE_POLICY = 'block';
    await expect(import('../../lambdas/inference-api/handler.ts')).rejects.toThrow(`environment variable OUT_OF_RANGE_POLICY: ${message}`);
  });

  it('a pipeline block with a bad test fraction: the same message from PIPELINE_CONFIG (no longer cast)', async () => {
    const pipeline = { ...parseConfig({}).pipeline, defaults: { ...parseConfig({}).pipeline.defaults, testFraction: 0.9 } };
    const message = synthMessage({ pipeline: { defaults: { testFraction: 0.9 } } });
    expect(message).toBe('config field "pipeline.defaults.testFraction" must be a number above 0 and at most 0.5, got 0.9');
    process.env.PIPELINE_CONFIG = JSON.stringify(pipeline);
    await expect(import('../../lambdas/training-pipeline/handler.ts')).rejects.toThrow(`environment variable PIPELINE_CONFIG: ${message}`);
  });

  it('an unknown model setting: the same message from PIPELINE_CONFIG', async () => {
    const message = synthMessage({ pipeline: { models: { credit: { target: 'Status', positiveLabel: 'bad', learningRate: 1 } } } });
    expect(message).toMatch(/^config field "pipeline.models.credit.learningRate" is not a known field \(known: target, positiveLabel, /);
    process.env.PIPELINE_CONFIG = JSON.stringify({ models: { credit: { target: 'Status', positiveLabel: 'bad', learningRate: 1 } } });
    await expect(import('../../lambdas/training-pipeline/handler.ts')).rejects.toThrow(`environment variable PIPELINE_CONFIG: ${message}`);
  });

  it('observability.canary.minRequests 0: the same message from CANARY_THRESHOLDS', async () => {
    const message = synthMessage({ observability: { canary: { minRequests: 0 } } });
    process.env.CANARY_THRESHOLDS = JSON.stringify({ ...parseConfig({}).observability.canary, minRequests: 0 });
    await expect(import('../../lambdas/canary-watch/handler.ts')).rejects.toThrow(`environment variable CANARY_THRESHOLDS: ${message}`);
  });

  it('a drift threshold out of range: the same wording from DRIFT_CONFIG', async () => {
    const message = synthMessage({ drift: { thresholds: { pValue: 0 } } });
    expect(message).toBe('config field "drift.thresholds.pValue" must be a number above 0 and at most 1, got 0');
    process.env.DRIFT_CONFIG = JSON.stringify({ app: 'serverless-mlops', cooldownMinutes: 60, retrainOnCritical: true, thresholds: { pValue: 0 } });
    await expect(import('../../lambdas/drift-job/handler.ts')).rejects.toThrow(message.replace('config field "drift.', 'DRIFT_CONFIG field "'));
  });

  it('the pipeline JSON synth writes is what the handler accepts', async () => {
    const config = parseConfig({ pipeline: { models: { fraud: { target: 'y', positiveLabel: '1', thresholds: { minRocAuc: null }, promotion: { mode: 'canary' } } } } });
    process.env.PIPELINE_CONFIG = pipelineConfigJson(config.pipeline);
    const { parsePipelineConfig } = await import('#core/pipeline/run.ts');
    expect(parsePipelineConfig(process.env.PIPELINE_CONFIG)).toEqual(config.pipeline);
  });
});
