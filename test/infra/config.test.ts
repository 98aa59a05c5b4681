import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfig, MAX_PIPELINE_CONFIG_BYTES, parseConfig, pipelineConfigJson } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';
import { DEFAULT_DRIFT_THRESHOLDS } from '#core/drift/report.ts';

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('parseConfig', () => {
  it('returns the documented defaults for an empty config', () => {
    const config = parseConfig(undefined);
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config).toMatchObject({
      appName: 'serverless-mlops',
      architecture: 'x86_64',
      logRetentionDays: 30,
      removalPolicy: 'retain',
      api: {
        throttle: { rateLimit: 50, burstLimit: 100 },
        stageThrottle: { rateLimit: 500, burstLimit: 1000 },
        waf: { enabled: false, rateLimitPer5Minutes: 2000 },
        maxRequestBytes: 1048576,
        maxBatchSize: 1000,
        corsAllowOrigins: [],
        stageName: 'prod',
      },
      predict: { memorySize: 1769, timeoutSeconds: 10, provisionedConcurrency: 0, onnxIntraOpThreads: 1 },
      registry: { cacheTtlSeconds: 30, staleServingSeconds: 900 },
      artifacts: { noncurrentVersionExpirationDays: 90 },
    });
    expect(config.predict.reservedConcurrency).toBeUndefined();
    // No daily quota by default: once spent, every client would get 429 until midnight.
    expect(config.api.quota).toBeUndefined();
    expect(config.pipeline).toEqual({
      defaults: {
        trainer: 'logreg',
        seeds: [42],
        testFraction: 0.25,
        thresholds: { minRocAuc: 0.7, minDemographicParityRatio: 0.8, minDisparateImpact: 0.8, maxEqualOpportunityDifference: 0.1 },
        maxRegression: 0.01,
        maxSeedSpread: 0.02,
        protectedAttribute: null,
        favorableOutcome: 'negative',
        approvalRequired: false,
        promotion: { mode: 'production', canaryShare: 0.1 },
        decisionThreshold: { policy: 'maxF1' },
        classWeight: 'none',
        missingTokens: ['NA', 'N/A', 'NaN', 'null', 'None', '?'],
      },
      models: {
        credit: {
          target: 'Status',
          positiveLabel: 'bad',
          protectedAttribute: { feature: 'Age', kind: 'numeric_below', value: 25 },
          decisionThreshold: { policy: 'fixed', threshold: 0.5 },
        },
      },
      sagemaker: { trainingImage: '', instanceType: 'ml.m5.xlarge', instanceCount: 1 },
      xgboost: {
        version: '1.7-1',
        validationFraction: 0.2,
        hyperparameters: {
          numRound: 100,
          maxDepth: 6,
          eta: 0.3,
          minChildWeight: 1,
          subsample: 1,
          colsampleBytree: 1,
          lambda: 1,
          alpha: 0,
          gamma: 0,
          maxBin: 256,
          treeMethod: 'hist',
          earlyStoppingRounds: null,
        },
      },
      cooldownMinutes: 60,
    });
    expect(config.notifications).toEqual({ emails: [] });
    expect(parseConfig({})).toEqual(DEFAULT_CONFIG);
  });

  it('cdk.json carries exactly the defaults', () => {
    const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: { mlops: unknown } };
    expect(parseConfig(cdkJson.context.mlops)).toEqual(DEFAULT_CONFIG);
    expect(cdkJson.context.mlops).toEqual(JSON.parse(JSON.stringify(DEFAULT_CONFIG)));
  });

  it('merges nested overrides over the defaults', () => {
    const config = parseConfig({ architecture: 'arm64', api: { throttle: { rateLimit: 5 } }, predict: { reservedConcurrency: 20 } });
    expect(config.architecture).toBe('arm64');
    expect(config.api.throttle).toEqual({ rateLimit: 5, burstLimit: 100 });
    expect(config.api.quota).toBeUndefined();
    expect(config.predict.reservedConcurrency).toBe(20);
    expect(parseConfig({ api: { quota: { limit: 500, period: 'MONTH' } } }).api.quota).toEqual({ limit: 500, period: 'MONTH' });
  });

  it.each([
    [{ api: { throttle: { rateLimit: -1 } } }, 'config field "api.throttle.rateLimit" must be a positive number, got -1'],
    [{ api: { maxBatchSize: 0 } }, 'config field "api.maxBatchSize" must be an integer from 1 to 10000, got 0'],
    [{ api: { maxBatchSize: 10001 } }, 'config field "api.maxBatchSize" must be an integer from 1 to 10000, got 10001'],
    [{ architecture: 'sparc' }, 'config field "architecture" must be one of "x86_64", "arm64", got "sparc"'],
    [{ api: { quota: { limit: 10, period: 'YEAR' } } }, 'config field "api.quota.period" must be one of "DAY", "WEEK", "MONTH", got "YEAR"'],
    [{ api: { stageThrottle: { burstLimit: 0 } } }, 'config field "api.stageThrottle.burstLimit" must be an integer from 1 to 5000, got 0'],
    [{ api: { waf: { rateLimitPer5Minutes: 10 } } }, 'config field "api.waf.rateLimitPer5Minutes" must be an integer from 100 to 2000000000, got 10'],
    [{ predict: { memorySize: '1769' } }, 'config field "predict.memorySize" must be an integer from 128 to 10240, got "1769"'],
    [{ api: { corsAllowOrigins: ['ftp://x'] } }, 'config field "api.corsAllowOrigins[0]" must be "*" or an origin like "https://example.com", got "ftp://x"'],
    [{ api: 3 }, 'config field "api" must be an object, got 3'],
  ])('rejects %j naming the field and value', (raw, message) => {
    const err = errorOf(() => parseConfig(raw));
    expect(err.message).toBe(message);
    expect(err.message).not.toMatch(/\.$/);
  });

  it.each([
    [{ pipeline: { models: { 'Bad Name': { target: 'y', positiveLabel: '1' } } } }, 'config field "pipeline.models" must have model names matching ^[a-z0-9][a-z0-9-_]{0,62}$, got "Bad Name"'],
    [
      { pipeline: { models: { fraud: { target: 'y', positiveLabel: '1', datasetKey: 'datasets/f.csv', schedule: 'every day' } } } },
      'config field "pipeline.models.fraud.schedule" must be a schedule expression starting with "cron(" or "rate(", got "every day"',
    ],
    [
      { pipeline: { models: { fraud: { target: 'y', positiveLabel: '1', schedule: 'rate(1 day)' } } } },
      'config field "pipeline.models.fraud.datasetKey" is required when a schedule is set, got undefined',
    ],
    [
      { pipeline: { models: { fraud: { target: 'y', positiveLabel: '1', trainer: 'sagemaker' } } } },
      'config field "pipeline.sagemaker.trainingImage" must be set when a model uses the sagemaker trainer (pipeline.models.fraud.trainer), got ""',
    ],
    [
      { pipeline: { defaults: { trainer: 'sagemaker' } } },
      'config field "pipeline.sagemaker.trainingImage" must be set when a model uses the sagemaker trainer (pipeline.defaults.trainer), got ""',
    ],
    [{ pipeline: { defaults: { trainer: 'lightgbm' } } }, 'config field "pipeline.defaults.trainer" must be one of "logreg", "gbdt", "sagemaker", "xgboost", got "lightgbm"'],
    [{ pipeline: { sagemaker: { instanceCount: 0 } } }, 'config field "pipeline.sagemaker.instanceCount" must be an integer from 1 to 100, got 0'],
    [{ pipeline: { xgboost: { version: '2.0-1' } } }, 'config field "pipeline.xgboost.version" must be one of "1.7-1", got "2.0-1"'],
    [{ pipeline: { xgboost: { hyperparameters: { eta: 0 } } } }, 'config field "pipeline.xgboost.hyperparameters.eta" must be a number above 0 and at most 1, got 0'],
    [{ pipeline: { xgboost: { hyperparameters: { num_round: 10 } } } }, 'config field "pipeline.xgboost.hyperparameters.num_round" is not a known field (known: numRound, maxDepth, eta, minChildWeight, subsample, colsampleBytree, lambda, alpha, gamma, maxBin, treeMethod, earlyStoppingRounds), got 10'],
    [{ pipeline: { defaults: { seeds: [] } } }, 'config field "pipeline.defaults.seeds" must be an array of 1 to 10 seeds, got []'],
    [{ pipeline: { defaults: { seeds: [1.5] } } }, 'config field "pipeline.defaults.seeds[0]" must be an integer from 0 to 2147483647, got 1.5'],
    [{ pipeline: { defaults: { testFraction: 0.6 } } }, 'config field "pipeline.defaults.testFraction" must be a number above 0 and at most 0.5, got 0.6'],
    [{ pipeline: { defaults: { testFraction: 0 } } }, 'config field "pipeline.defaults.testFraction" must be a number above 0 and at most 0.5, got 0'],
    [
      { pipeline: { defaults: { promotion: { canaryShare: 1 } } } },
      'config field "pipeline.defaults.promotion.canaryShare" must be a number between 0 and 1 (both excluded), got 1',
    ],
    [{ pipeline: { defaults: { thresholds: { minRocAuc: 1.2 } } } }, 'config field "pipeline.defaults.thresholds.minRocAuc" must be a number from 0 to 1, got 1.2'],
    [
      { pipeline: { defaults: { protectedAttribute: { feature: 'Age', kind: 'category_in', value: 25 } } } },
      'config field "pipeline.defaults.protectedAttribute.value" must be a non-empty array of non-empty strings with kind "category_in", got 25',
    ],
    [
      { pipeline: { models: { credit: { target: 'Status', positiveLabel: 'bad', datasetKey: 'credit.csv' } } } },
      'config field "pipeline.models.credit.datasetKey" must be an s3 key under "datasets/", got "credit.csv"',
    ],
    [{ pipeline: { models: { credit: { target: '', positiveLabel: 'bad' } } } }, 'config field "pipeline.models.credit.target" must be a non-empty string, got ""'],
    [
      { pipeline: { sagemaker: { trainingImage: 'docker.io/me/train' } } },
      'config field "pipeline.sagemaker.trainingImage" must be "" or an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag", got "docker.io/me/train"',
    ],
    [{ pipeline: { sagemaker: { instanceType: 'm5.xlarge' } } }, 'config field "pipeline.sagemaker.instanceType" must be a sagemaker instance type like "ml.m5.xlarge", got "m5.xlarge"'],
    [{ pipeline: { sagemaker: { roleArn: 'role/x' } } }, 'config field "pipeline.sagemaker.roleArn" must be an iam role arn, got "role/x"'],
    [{ pipeline: { cooldownMinutes: -1 } }, 'config field "pipeline.cooldownMinutes" must be an integer from 0 to 10080, got -1'],
    [{ notifications: { emails: ['nope'] } }, 'config field "notifications.emails[0]" must be an email address, got "nope"'],
    [
      { notifications: { topicArn: 'arn:aws:sns:eu-west-1:123456789012:t.fifo' } },
      'config field "notifications.topicArn" must be the arn of a standard (not fifo) sns topic, got "arn:aws:sns:eu-west-1:123456789012:t.fifo"',
    ],
  ])('rejects pipeline and notification config %j naming the field and value', (raw, message) => {
    const err = errorOf(() => parseConfig(raw));
    expect(err.message).toBe(message);
    expect(err.message).not.toMatch(/\.$/);
  });

  it('rejects a pipeline block too big for the PIPELINE_CONFIG variable', () => {
    const models = Object.fromEntries(
      Array.from({ length: 40 }, (_, i) => [`model-${i}`, { target: 'target_column', positiveLabel: 'positive', datasetKey: `datasets/model-${i}/data.csv` }]),
    );
    const err = errorOf(() => parseConfig({ pipeline: { models } }));
    expect(err.message).toMatch(/^config field "pipeline" must be at most 3500 bytes as json \(it becomes the PIPELINE_CONFIG lambda variable\), got \d+ bytes$/);
    expect(pipelineConfigJson(parseConfig({ pipeline: { models: { credit: { target: 'y', positiveLabel: '1' } } } }).pipeline).length).toBeLessThan(
      MAX_PIPELINE_CONFIG_BYTES,
    );
  });

  it('replaces the pipeline models as a whole and fills model overrides from the defaults', () => {
    const config = parseConfig({
      pipeline: {
        defaults: { seeds: [1, 2, 3] },
        models: {
          fraud: {
            target: 'is_fraud',
            positiveLabel: '1',
            thresholds: { minAccuracy: 0.9, minRocAuc: null },
            promotion: { mode: 'canary' },
            protectedAttribute: { feature: 'region', kind: 'category_in', value: ['north'] },
          },
        },
      },
    });
    expect(Object.keys(config.pipeline.models)).toEqual(['fraud']);
    expect(config.pipeline.defaults.seeds).toEqual([1, 2, 3]);
    expect(config.pipeline.defaults.trainer).toBe('logreg');
    expect(config.pipeline.models['fraud']).toEqual({
      target: 'is_fraud',
      positiveLabel: '1',
      thresholds: { minAccuracy: 0.9, minDemographicParityRatio: 0.8, minDisparateImpact: 0.8, maxEqualOpportunityDifference: 0.1 },
      promotion: { mode: 'canary', canaryShare: 0.1 },
      protectedAttribute: { feature: 'region', kind: 'category_in', value: ['north'] },
    });
  });

  it('accepts a SageMaker trainer with an ECR image, a schedule, emails and an existing topic', () => {
    const config = parseConfig({
      pipeline: {
        sagemaker: { trainingImage: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/trainer@sha256:' + 'a'.repeat(64) },
        models: { fraud: { target: 'y', positiveLabel: '1', trainer: 'sagemaker', datasetKey: 'datasets/f.csv', schedule: 'cron(0 3 * * ? *)' } },
      },
      notifications: { emails: ['a@example.com'], topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' },
    });
    expect(config.pipeline.models['fraud']?.schedule).toBe('cron(0 3 * * ? *)');
    expect(config.notifications).toEqual({ emails: ['a@example.com'], topicArn: 'arn:aws:sns:eu-west-1:123456789012:alerts' });
  });

  it('defaults observability to the SLO: p95 1 s, 5xx 0.1 %, any throttle, one failed run, canary 10 % for 5 minutes', () => {
    expect(parseConfig(undefined).observability).toEqual({
      alarms: {
        periodSeconds: 60,
        evaluationPeriods: 5,
        datapointsToAlarm: 3,
        p95LatencyMs: 1000,
        serverErrorRatePercent: 0.1,
        throttles: 1,
        pipelineFailures: 1,
        driftCritical: 1,
        minRequests: 20,
        outageErrorRatePercent: 50,
      },
      // The product's rule: roll back at > 10 % errors or > 5 s, within the canary's 5 minutes.
      deployment: {
        strategy: 'canary10Percent5Minutes',
        rollback: { maxErrorRatePercent: 10, maxP95LatencyMs: 5000, minRequests: 10, periodSeconds: 60, evaluationPeriods: 1 },
      },
      sagemakerEndpointNames: [],
      canary: { maxErrorRatePercent: 1, maxP95LatencyMs: 1000, maxScoreShift: 0.1, minRequests: 50, healthyMinutes: 30, autoPromote: true },
    });
    const config = parseConfig({ observability: { alarms: { p95LatencyMs: 500 }, deployment: { strategy: 'allAtOnce' } } });
    expect(config.observability.alarms).toMatchObject({ p95LatencyMs: 500, serverErrorRatePercent: 0.1, evaluationPeriods: 5 });
    expect(config.observability.deployment.strategy).toBe('allAtOnce');
  });

  it('takes canary thresholds from config over the defaults', () => {
    const config = parseConfig({ observability: { canary: { maxScoreShift: 0.05, healthyMinutes: 60, autoPromote: false } } });
    expect(config.observability.canary).toEqual({
      maxErrorRatePercent: 1,
      maxP95LatencyMs: 1000,
      maxScoreShift: 0.05,
      minRequests: 50,
      healthyMinutes: 60,
      autoPromote: false,
    });
  });

  it.each([
    [
      { pipeline: { defaults: { missingTokens: ['NA', ''] } } },
      'config field "pipeline.defaults.missingTokens[1]" must be an array of at most 20 non-empty strings of at most 20 characters, got ""',
    ],
    [
      { pipeline: { models: { m: { target: 't', positiveLabel: '1', missingTokens: 'NA' } } } },
      'config field "pipeline.models.m.missingTokens" must be an array of at most 20 non-empty strings of at most 20 characters, got "NA"',
    ],
    [{ observability: { alarms: { p95LatencyMs: 0 } } }, 'config field "observability.alarms.p95LatencyMs" must be an integer from 1 to 30000, got 0'],
    [
      { observability: { alarms: { serverErrorRatePercent: 0 } } },
      'config field "observability.alarms.serverErrorRatePercent" must be a number above 0 and at most 100, got 0',
    ],
    [{ batch: { reservedConcurrency: 99 } }, 'config field "batch.reservedConcurrency" must be at least batch.maxConcurrency (100), got 99'],
    [{ batch: { maxConcurrency: 10, reservedConcurrency: 0 } }, 'config field "batch.reservedConcurrency" must be an integer from 1 to 100000, got 0'],
    [
      { observability: { alarms: { outageErrorRatePercent: 101 } } },
      'config field "observability.alarms.outageErrorRatePercent" must be a number above 0 and at most 100, got 101',
    ],
    [{ observability: { alarms: { throttles: 0.5 } } }, 'config field "observability.alarms.throttles" must be an integer from 1 to 1000000, got 0.5'],
    [{ observability: { alarms: { pipelineFailures: 0 } } }, 'config field "observability.alarms.pipelineFailures" must be an integer from 1 to 1000, got 0'],
    [{ observability: { alarms: { driftCritical: '1' } } }, 'config field "observability.alarms.driftCritical" must be an integer from 1 to 1000, got "1"'],
    [{ observability: { alarms: { periodSeconds: 90 } } }, 'config field "observability.alarms.periodSeconds" must be a multiple of 60 from 60 to 3600, got 90'],
    [
      { observability: { alarms: { periodSeconds: 3600, evaluationPeriods: 25 } } },
      'config field "observability.alarms.evaluationPeriods" times observability.alarms.periodSeconds (3600) must be at most 86400 seconds, got 25',
    ],
    [
      { observability: { alarms: { evaluationPeriods: 2, datapointsToAlarm: 3 } } },
      'config field "observability.alarms.datapointsToAlarm" must be an integer from 1 to 2, got 3',
    ],
    [{ observability: { alarms: { p99LatencyMs: 2000 } } }, 'config field "observability.alarms.p99LatencyMs" is not a known field (known: periodSeconds, evaluationPeriods, datapointsToAlarm, p95LatencyMs, serverErrorRatePercent, throttles, pipelineFailures, driftCritical, minRequests, outageErrorRatePercent), got 2000'],
    [
      { observability: { deployment: { strategy: 'canary50Percent' } } },
      'config field "observability.deployment.strategy" must be one of "allAtOnce", "canary10Percent5Minutes", "canary10Percent10Minutes", "canary10Percent15Minutes", "canary10Percent30Minutes", "linear10PercentEvery3Minutes", "linear10PercentEvery10Minutes", got "canary50Percent"',
    ],
    [
      { observability: { deployment: { strategy: 'linear10PercentEvery3Minutes', rollback: { periodSeconds: 120 } } } },
      'config field "observability.deployment.rollback.evaluationPeriods" times observability.deployment.rollback.periodSeconds (120) plus 120 s of metric lag must fit in the 180 s interval of "linear10PercentEvery3Minutes" (needs 240 s), got 1',
    ],
    [{ observability: { sagemakerEndpointNames: 'credit' } }, 'config field "observability.sagemakerEndpointNames" must be an array of endpoint names, got "credit"'],
    [
      { observability: { sagemakerEndpointNames: ['credit_endpoint'] } },
      'config field "observability.sagemakerEndpointNames[0]" must be a sagemaker endpoint name (letters, digits and dashes, 1 to 63), got "credit_endpoint"',
    ],
    [
      { observability: { canary: { maxErrorRatePercent: 101 } } },
      'config field "observability.canary.maxErrorRatePercent" must be a number from 0 to 100, got 101',
    ],
    [{ observability: { canary: { maxScoreShift: 0 } } }, 'config field "observability.canary.maxScoreShift" must be a number above 0 and at most 1, got 0'],
    [{ observability: { canary: { minRequests: 0 } } }, 'config field "observability.canary.minRequests" must be an integer from 1 to 1000000, got 0'],
    [{ observability: { canary: { healthyMinutes: 0.5 } } }, 'config field "observability.canary.healthyMinutes" must be an integer from 1 to 10080, got 0.5'],
    [{ observability: { canary: { autoPromote: 'yes' } } }, 'config field "observability.canary.autoPromote" must be true or false, got "yes"'],
    [
      { observability: { canary: { maxLatency: 1 } } },
      'config field "observability.canary.maxLatency" is not a known field (known: maxErrorRatePercent, maxP95LatencyMs, maxScoreShift, minRequests, healthyMinutes, autoPromote), got 1',
    ],
  ])('rejects observability config %j naming the field and value', (raw, message) => {
    const err = errorOf(() => parseConfig(raw));
    expect(err.message).toBe(message);
    expect(err.message).not.toMatch(/\.$/);
  });

  it('defaults the GPU path to no endpoint, a 256 MiB Lambda limit and calls bounded by the predict timeout', () => {
    expect(parseConfig(undefined).sagemakerServing).toEqual({
      lambdaMaxArtifactBytes: 268_435_456,
      invokeTimeoutMs: 3000,
      maxThrottleRetries: 2,
      retryBaseDelayMs: 100,
      circuitFailureThreshold: 5,
      circuitOpenSeconds: 30,
      alarms: { modelLatencyP95Ms: 1000, serverErrors: 1, gpuUtilizationPercent: 90 },
      endpoints: {},
    });
  });

  it('fills an endpoint from the defaults: a GPU instance variant with auto scaling and data capture', () => {
    const config = parseConfig({ sagemakerServing: { endpoints: { 'fraud-gpu': { model: 'fraud', version: 3 } } } });
    expect(config.sagemakerServing.endpoints['fraud-gpu']).toEqual({
      model: 'fraud',
      version: 3,
      variant: 'instance',
      instanceType: 'ml.g5.xlarge',
      initialInstanceCount: 1,
      minInstances: 1,
      maxInstances: 2,
      targetInvocationsPerInstance: 100,
      dataCapturePercent: 10,
      serverlessMemoryMb: 4096,
      serverlessMaxConcurrency: 10,
    });
  });

  it('accepts a serverless endpoint with its own image', () => {
    const image = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/onnx-server:1';
    const config = parseConfig({
      sagemakerServing: { endpoints: { spiky: { model: 'credit', version: 1, variant: 'serverless', image, serverlessMemoryMb: 2048, serverlessMaxConcurrency: 50 } } },
    });
    expect(config.sagemakerServing.endpoints['spiky']).toMatchObject({ variant: 'serverless', image, serverlessMemoryMb: 2048, serverlessMaxConcurrency: 50 });
  });

  it.each([
    [
      { sagemakerServing: { endpoints: { fraud_gpu: { model: 'fraud', version: 1 } } } },
      'config field "sagemakerServing.endpoints" must have sagemaker endpoint names (letters, digits and dashes, 1 to 63), got "fraud_gpu"',
    ],
    [
      { sagemakerServing: { endpoints: { 'Fraud-GPU': { model: 'fraud', version: 1 }, 'fraud-gpu': { model: 'fraud', version: 2 } } } },
      'config field "sagemakerServing.endpoints" must have endpoint names that differ in more than case, got "fraud-gpu"',
    ],
    [
      { sagemakerServing: { endpoints: { e: { version: 1 } } } },
      'config field "sagemakerServing.endpoints.e.model" must be a model name matching ^[a-z0-9][a-z0-9-_]{0,62}$, got undefined',
    ],
    [{ sagemakerServing: { endpoints: { e: { model: 'm', version: 0 } } } }, 'config field "sagemakerServing.endpoints.e.version" must be an integer from 1 to 999999999, got 0'],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, instanceType: 'g5.xlarge' } } } },
      'config field "sagemakerServing.endpoints.e.instanceType" must be a sagemaker instance type like "ml.g5.xlarge", got "g5.xlarge"',
    ],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, minInstances: 3, maxInstances: 2 } } } },
      'config field "sagemakerServing.endpoints.e.maxInstances" must be an integer from 3 to 100, got 2',
    ],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, initialInstanceCount: 5 } } } },
      'config field "sagemakerServing.endpoints.e.initialInstanceCount" must be an integer from 1 to 2, got 5',
    ],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, variant: 'spot' } } } },
      'config field "sagemakerServing.endpoints.e.variant" must be one of "instance", "serverless", got "spot"',
    ],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, serverlessMemoryMb: 1000 } } } },
      'config field "sagemakerServing.endpoints.e.serverlessMemoryMb" must be 1024, 2048, 3072, 4096, 5120 or 6144, got 1000',
    ],
    [
      { sagemakerServing: { endpoints: { e: { model: 'm', version: 1, image: 'nvcr.io/nvidia/tritonserver:24.09-py3' } } } },
      'config field "sagemakerServing.endpoints.e.image" must be an ecr image uri like "123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo:tag", got "nvcr.io/nvidia/tritonserver:24.09-py3"',
    ],
    [
      { sagemakerServing: { invokeTimeoutMs: 4000 } },
      'config field "sagemakerServing.invokeTimeoutMs" times (maxThrottleRetries + 1), plus the backoffs, must stay under predict.timeoutSeconds (10 s): the worst case is 12300 ms, got 4000',
    ],
    [{ sagemakerServing: { circuitFailureThreshold: 0 } }, 'config field "sagemakerServing.circuitFailureThreshold" must be an integer from 1 to 1000, got 0'],
    [{ sagemakerServing: { endpoints: { e: { model: 'm', version: 1, gpus: 2 } } } }, /^config field "sagemakerServing\.endpoints\.e\.gpus" is not a known field/],
  ])('rejects GPU path config %j naming the field and value', (raw, message) => {
    const err = errorOf(() => parseConfig(raw));
    if (typeof message === 'string') expect(err.message).toBe(message);
    else expect(err.message).toMatch(message);
  });

  it('lets a longer predict timeout allow longer endpoint calls', () => {
    expect(parseConfig({ predict: { timeoutSeconds: 20 }, sagemakerServing: { invokeTimeoutMs: 6000 } }).sagemakerServing.invokeTimeoutMs).toBe(6000);
  });

  it('rejects a log retention CloudWatch does not accept', () => {
    expect(errorOf(() => parseConfig({ logRetentionDays: 31 })).message).toMatch(/^config field "logRetentionDays" must be one of 1, 3, .*, got 31$/);
  });

  it('rejects provisioned concurrency above reserved concurrency', () => {
    expect(errorOf(() => parseConfig({ predict: { reservedConcurrency: 2, provisionedConcurrency: 3 } })).message).toBe(
      'config field "predict.provisionedConcurrency" must not exceed predict.reservedConcurrency (2), got 3',
    );
  });

  it('rejects unknown keys at every level', () => {
    expect(errorOf(() => parseConfig({ colour: 'blue' })).message).toMatch(/^config field "colour" is not a known field/);
    expect(errorOf(() => parseConfig({ api: { throttle: { rate: 1 } } })).message).toMatch(
      /^config field "api\.throttle\.rate" is not a known field/,
    );
  });
});

describe('predict out-of-range settings', () => {
  it('defaults to warn with a tolerance of 10 % of the training range', () => {
    const config = parseConfig(undefined);
    expect(config.predict.outOfRange).toBe('warn');
    expect(config.predict.outOfRangeTolerance).toBe(0.1);
    expect(config.predict.outOfDistribution).toBe('off');
    expect(config.predict.outOfDistributionPValue).toBe(0.01);
  });

  it('accepts each policy and a tolerance of 0', () => {
    for (const policy of ['off', 'warn', 'reject'] as const) {
      expect(parseConfig({ predict: { outOfRange: policy, outOfRangeTolerance: 0 } }).predict).toMatchObject({ outOfRange: policy, outOfRangeTolerance: 0 });
    }
  });

  it.each([
    [{ predict: { outOfRange: 'block' } }, 'config field "predict.outOfRange" must be one of "off", "warn", "reject", got "block"'],
    [{ predict: { outOfRangeTolerance: -0.1 } }, 'config field "predict.outOfRangeTolerance" must be a number from 0 to 100, got -0.1'],
    [{ predict: { outOfRangeTolerance: '0.1' } }, 'config field "predict.outOfRangeTolerance" must be a number from 0 to 100, got "0.1"'],
    [{ predict: { outOfDistribution: 'block' } }, 'config field "predict.outOfDistribution" must be one of "off", "warn", "reject", got "block"'],
    [{ predict: { outOfDistributionPValue: 0 } }, 'config field "predict.outOfDistributionPValue" must be a number above 0 and at most 1, got 0'],
  ])('rejects %j naming the field and value', (raw, message) => {
    expect(errorOf(() => parseConfig(raw)).message).toBe(message);
  });
});

describe('explain settings', () => {
  it('defaults to 10 instances, its own throttle of 5/s (burst 10), 100 background rows and sampling with 2000 evaluations', () => {
    expect(parseConfig(undefined).explain).toEqual({
      maxBatchSize: 10,
      throttle: { rateLimit: 5, burstLimit: 10 },
      backgroundSize: 100,
      approximation: 'sampling',
      samplingBudget: 2000,
      topContributions: 5,
    });
  });

  it.each([
    [{ explain: { maxBatchSize: 0 } }, 'config field "explain.maxBatchSize" must be an integer from 1 to 1000, got 0'],
    [{ explain: { approximation: 'kernel' } }, 'config field "explain.approximation" must be one of "sampling", "refuse", got "kernel"'],
    [{ explain: { samplingBudget: 10 } }, 'config field "explain.samplingBudget" must be an integer from 100 to 100000, got 10'],
    [{ explain: { throttle: { burstLimit: 0 } } }, 'config field "explain.throttle.burstLimit" must be an integer from 1 to 5000, got 0'],
  ])('rejects %j naming the field and value', (raw, message) => {
    expect(errorOf(() => parseConfig(raw)).message).toBe(message);
  });
});

describe('loadConfig', () => {
  it('reads the mlops context of an App', () => {
    const app = new App({ context: { mlops: { appName: 'demo', predict: { memorySize: 2048 } } } });
    const config = loadConfig(app);
    expect(config.appName).toBe('demo');
    expect(config.predict.memorySize).toBe(2048);
  });

  it('accepts the mlops context as a JSON string (-c mlops=...)', () => {
    expect(loadConfig((key) => (key === 'mlops' ? '{"architecture":"arm64"}' : undefined)).architecture).toBe('arm64');
  });

  it('loads a config file named by configFile, merged over the context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-config-'));
    writeFileSync(join(dir, 'my.json'), JSON.stringify({ api: { maxBatchSize: 10 }, removalPolicy: 'destroy' }));
    const context: Record<string, unknown> = { configFile: 'my.json', mlops: { appName: 'from-context', api: { maxBatchSize: 99 } } };
    const config = loadConfig((key) => context[key], dir);
    expect(config.appName).toBe('from-context');
    expect(config.api.maxBatchSize).toBe(10);
    expect(config.removalPolicy).toBe('destroy');
  });

  it('lets a config file replace the models of the context', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-config-'));
    writeFileSync(join(dir, 'models.json'), JSON.stringify({ pipeline: { models: { fraud: { target: 'y', positiveLabel: '1' } } } }));
    const context: Record<string, unknown> = {
      configFile: 'models.json',
      mlops: { pipeline: { cooldownMinutes: 5, models: { churn: { target: 'churned', positiveLabel: 'yes' } } } },
    };
    const config = loadConfig((key) => context[key], dir);
    expect(Object.keys(config.pipeline.models)).toEqual(['fraud']);
    expect(config.pipeline.cooldownMinutes).toBe(5);
  });

  it('reports a bad value in a config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-config-'));
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ api: { throttle: { rateLimit: -1 } } }));
    const err = errorOf(() => loadConfig((key) => (key === 'configFile' ? 'bad.json' : undefined), dir));
    expect(err.message).toBe('config field "api.throttle.rateLimit" must be a positive number, got -1');
  });

  it('reports a missing or malformed config file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mlops-config-'));
    expect(errorOf(() => loadConfig((key) => (key === 'configFile' ? 'nope.json' : undefined), dir)).message).toBe(
      'config file "nope.json" could not be read (ENOENT)',
    );
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(errorOf(() => loadConfig((key) => (key === 'configFile' ? 'broken.json' : undefined), dir)).message).toMatch(
      /^config file "broken\.json" is not valid json/,
    );
  });
});

describe('drift config', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({}).drift).toEqual({
      captureSampleRate: 1,
      captureRetentionDays: 90,
      schedule: 'rate(1 hour)',
      window: '1h',
      dailySchedule: 'cron(0 2 * * ? *)',
      thresholds: { pValue: 0.05, psiWarning: 0.1, psiCritical: 0.25, shareWarning: 0.2, shareCritical: 0.3, minRows: 50, wassersteinBound: 0.1 },
      performanceMaxDrop: 0.05,
      retrainOnCritical: true,
      maxWindowRows: 50_000,
      retrainPromotion: { mode: 'canary', approvalRequired: true },
    });
    expect(parseConfig({}).drift.reservedConcurrency).toBeUndefined();
    expect(parseConfig({ drift: { reservedConcurrency: 2 } }).drift.reservedConcurrency).toBe(2);
  });

  it('rejects bad values with the field and the value received', () => {
    expect(() => parseConfig({ drift: { captureSampleRate: 1.5 } })).toThrow('config field "drift.captureSampleRate" must be a number from 0 to 1');
    expect(() => parseConfig({ drift: { window: '2w' } })).toThrow(/config field "drift.window" must be a duration/);
    expect(() => parseConfig({ drift: { schedule: 'hourly' } })).toThrow(/config field "drift.schedule" must be an eventbridge schedule expression/);
    expect(() => parseConfig({ drift: { thresholds: { psiWarning: 0.3, psiCritical: 0.2 } } })).toThrow(/drift.thresholds.psiCritical/);
    expect(() => parseConfig({ drift: { thresholds: { pValue: 0 } } })).toThrow(/drift.thresholds.pValue/);
    expect(() => parseConfig({ drift: { surprise: 1 } })).toThrow(/drift/);
  });
});

describe('drift threshold defaults', () => {
  it('are the same in the deployment config and in the drift core (both read the one declaration of the contracts)', () => {
    expect(DEFAULT_CONFIG.drift.thresholds).toEqual(DEFAULT_DRIFT_THRESHOLDS);
  });
});
