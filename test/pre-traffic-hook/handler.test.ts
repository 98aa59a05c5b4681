import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { ModelMetadata } from '#core/model/metadata.ts';
import type { ModelRecord, ModelVersionRecord } from '#core/registry/records.ts';
import { type ProxyAnswer, referenceInstance } from '#core/serving/pre-traffic-check.ts';
import { createPreTrafficHookHandler, type HookStatus, lambdaVersionInvoker } from '../../lambdas/pre-traffic-hook/pre-traffic-hook-handler.ts';

const metadata = {
  algorithm: 'logistic_regression',
  input_schema: {
    schema_version: 1,
    features: [
      { name: 'age', type: 'numeric', nullable: false },
      { name: 'home', type: 'categorical', nullable: false, categories: ['owner', 'rent', 'free'] },
      { name: 'income', type: 'numeric', nullable: false },
    ],
  },
  baseline: {
    age: { type: 'numeric', count: 100, missing_rate: 0, min: 18, max: 80, mean: 41, std: 10, quantiles: [18, 22, 25, 30, 33, 37, 42, 50, 60, 70, 80] },
    home: { type: 'categorical', count: 100, missing_rate: 0, frequencies: { owner: 0.3, rent: 0.6, free: 0.1 } },
  },
} as unknown as ModelMetadata;

function model(name: string, production: number | null): ModelRecord {
  return { model: name, production_version: production } as unknown as ModelRecord;
}

const registry = {
  listModels: async () => [model('credit', 3), model('draft', null)],
  getVersion: async (name: string, version: number) => (name === 'credit' && version === 3 ? ({ model: name, version, metadata } as unknown as ModelVersionRecord) : undefined),
};

const EVENT = { DeploymentId: 'd-ABC123', LifecycleEventHookExecutionId: 'exec-1' };

/** A version that answers like the predict function: schema-checked predictions, or what `fault` makes of them. */
function version(fault?: 'predict-500' | 'crash' | 'bad-probability') {
  const seen: Record<string, unknown>[] = [];
  const invoke = async (event: Record<string, unknown>): Promise<ProxyAnswer> => {
    seen.push(event);
    if (fault === 'crash') throw new Error("arn:aws:lambda:eu-west-1:1:function:predict:7 failed (Unhandled): Cannot find module 'onnxruntime-node'");
    if (event.resource === '/v1/health') return { statusCode: 200, body: '{"status":"ok"}' };
    if (fault === 'predict-500') return { statusCode: 500, body: '{"error":{"code":"INFERENCE_FAILED"}}' };
    const { instances } = JSON.parse(String(event.body)) as { instances: Record<string, unknown>[] };
    const valid = instances.every((row) => typeof row.age === 'number' && ['owner', 'rent', 'free'].includes(String(row.home)) && typeof row.income === 'number');
    if (!valid) return { statusCode: 400, body: '{"error":{"code":"INVALID_INSTANCE"}}' };
    return { statusCode: 200, body: JSON.stringify({ predictions: instances.map(() => ({ probability: fault === 'bad-probability' ? 1.7 : 0.3 })) }) };
  };
  return { invoke, seen };
}

function hook(invoke: (event: Record<string, unknown>) => Promise<ProxyAnswer>) {
  const reports: [string, string, HookStatus][] = [];
  const handler = createPreTrafficHookHandler({
    registry,
    invoke,
    report: async (deploymentId, executionId, status) => {
      reports.push([deploymentId, executionId, status]);
    },
    logger: new Logger({ logLevel: 'SILENT' }),
    metrics: new Metrics({ namespace: 'test', serviceName: 'pre-traffic-hook' }),
  });
  return { handler, reports };
}

describe('referenceInstance', () => {
  it('takes the baseline median of numeric features and the most frequent known category, with fallbacks', () => {
    expect(referenceInstance(metadata)).toEqual({ age: 37, home: 'rent', income: 0 });
  });
});

describe('pre-traffic hook', () => {
  it('predicts the reference instance of every production model through the new version and reports Succeeded', async () => {
    const target = version();
    const { handler, reports } = hook(target.invoke);
    const result = await handler(EVENT);
    expect(result.status).toBe('Succeeded');
    expect(reports).toEqual([['d-ABC123', 'exec-1', 'Succeeded']]);
    expect(result.checks.map((check) => check.name)).toEqual(['health', 'registry', 'predict credit v3']);
    const predict = target.seen.find((event) => event.resource === '/v1/models/{model}/predict');
    // The API Gateway proxy shape the predict function reads.
    expect(predict).toMatchObject({ httpMethod: 'POST', path: '/v1/models/credit/predict', pathParameters: { model: 'credit' }, isBase64Encoded: false });
    expect(JSON.parse(String(predict?.body))).toEqual({ instances: [{ age: 37, home: 'rent', income: 0 }] });
  });

  it.each([
    ['predict-500', /predict credit v3.*answered 500/],
    ['crash', /health.*Cannot find module 'onnxruntime-node'/],
    ['bad-probability', /outside \[0, 1\]: 1.7/],
  ] as const)('fails the deployment when the new version %s', async (fault, detail) => {
    const { handler, reports } = hook(version(fault).invoke);
    const result = await handler(EVENT);
    expect(result.status).toBe('Failed');
    expect(reports).toEqual([['d-ABC123', 'exec-1', 'Failed']]);
    expect(JSON.stringify(result.checks.filter((check) => !check.ok))).toMatch(detail);
  });

  it('fails when the registry cannot be read, rather than passing a version it could not check', async () => {
    const reports: HookStatus[] = [];
    const broken = createPreTrafficHookHandler({
      registry: { ...registry, listModels: async () => Promise.reject(new Error('throttled')) },
      invoke: version().invoke,
      report: async (_deployment, _execution, status) => {
        reports.push(status);
      },
      logger: new Logger({ logLevel: 'SILENT' }),
      metrics: new Metrics({ namespace: 'test' }),
    });
    const result = await broken(EVENT);
    expect(result.status).toBe('Failed');
    expect(reports).toEqual(['Failed']);
    expect(result.checks.find((check) => check.name === 'registry')?.detail).toBe('throttled');
  });

  it('refuses an event that is not a CodeDeploy lifecycle event, reporting nothing', async () => {
    const { handler, reports } = hook(version().invoke);
    await expect(handler({ DeploymentId: 'd-1' })).rejects.toThrow(/not a codedeploy lifecycle hook event/);
    expect(reports).toEqual([]);
  });

  it('treats a function error of the invoked version as a failed call, naming the version', async () => {
    const lambda = mockClient(LambdaClient);
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: new TextEncoder().encode('{"errorType":"Runtime.ImportModuleError","errorMessage":"Cannot find module \'onnxruntime-node\'"}') as never,
    });
    const invoke = lambdaVersionInvoker(new LambdaClient({ region: 'eu-west-1' }), 'arn:aws:lambda:eu-west-1:1:function:predict:7');
    await expect(invoke({ resource: '/v1/health' })).rejects.toThrow(/function:predict:7 failed \(Unhandled\).*ImportModuleError/);
    lambda.restore();
  });
});
