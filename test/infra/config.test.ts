import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_CONFIG, loadConfig, parseConfig } from '../../lib/config.ts';
import { PROJECT_ROOT } from '../../lib/constructs/mlops-function.ts';

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
        quota: { limit: 100000, period: 'DAY' },
        maxRequestBytes: 1048576,
        maxBatchSize: 1000,
        corsAllowOrigins: [],
        stageName: 'prod',
      },
      predict: { memorySize: 1769, timeoutSeconds: 10, provisionedConcurrency: 0, onnxIntraOpThreads: 1 },
      registry: { cacheTtlSeconds: 30 },
      artifacts: { noncurrentVersionExpirationDays: 90 },
    });
    expect(config.predict.reservedConcurrency).toBeUndefined();
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
    expect(config.api.quota).toEqual(DEFAULT_CONFIG.api.quota);
    expect(config.predict.reservedConcurrency).toBe(20);
  });

  it.each([
    [{ api: { throttle: { rateLimit: -1 } } }, 'config field "api.throttle.rateLimit" must be a positive number, got -1'],
    [{ api: { maxBatchSize: 0 } }, 'config field "api.maxBatchSize" must be an integer from 1 to 10000, got 0'],
    [{ api: { maxBatchSize: 10001 } }, 'config field "api.maxBatchSize" must be an integer from 1 to 10000, got 10001'],
    [{ architecture: 'sparc' }, 'config field "architecture" must be one of "x86_64", "arm64", got "sparc"'],
    [{ api: { quota: { period: 'YEAR' } } }, 'config field "api.quota.period" must be one of "DAY", "WEEK", "MONTH", got "YEAR"'],
    [{ predict: { memorySize: '1769' } }, 'config field "predict.memorySize" must be an integer from 128 to 10240, got "1769"'],
    [{ api: { corsAllowOrigins: ['ftp://x'] } }, 'config field "api.corsAllowOrigins[0]" must be "*" or an origin like "https://example.com", got "ftp://x"'],
    [{ api: 3 }, 'config field "api" must be an object, got 3'],
  ])('rejects %j naming the field and value', (raw, message) => {
    const err = errorOf(() => parseConfig(raw));
    expect(err.message).toBe(message);
    expect(err.message).not.toMatch(/\.$/);
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
